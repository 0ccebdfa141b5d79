"""Errors of the FITS reader, descriptors, recipes and workflow; free of astropy and numpy so
the Snakemake process can catch them without importing the pixel stack."""

from __future__ import annotations


class FitsReadError(ValueError):
    """A file cannot be read as FITS; the message names the file and the problem."""


class DescriptorError(ValueError):
    """A header lacks a keyword a descriptor needs, or holds a malformed value."""


class RecipeError(ValueError):
    """A reduction step cannot proceed; the message names the file and the problem."""
