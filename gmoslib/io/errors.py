"""Error types shared by the FITS reader, the descriptors, the recipes and the workflow.

A module of its own, without astropy or numpy, so that the Snakemake process (which only
reads the manifest and associates calibrations) can catch them without importing the
pixel-processing stack.
"""

from __future__ import annotations


class FitsReadError(ValueError):
    """A file cannot be read as FITS; the message names the file and the problem."""


class DescriptorError(ValueError):
    """A header lacks a keyword a descriptor needs, or holds a malformed value."""


class RecipeError(ValueError):
    """A reduction step cannot proceed; the message names the file and the problem."""
