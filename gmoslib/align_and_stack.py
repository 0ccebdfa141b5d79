"""The alignAndStack recipe: already-reduced stacks (or mosaics) -> one aligned stack.

DRAGONS' answer to running out of memory is to reduce the science frames in parts and then
stack the part stacks with ``reduce -r alignAndStack``.  Here the parts are any
single-extension SCI/VAR/DQ files in electrons with a celestial WCS (the workflow's
``results/*_stack.fits`` or ``work/mosaic/*_mosaic.fits``): sources are detected on each,
the catalogues aligned to the first input, the inputs resampled onto its grid, scaled to its
exposure time, background-matched and combined by :func:`gmoslib.science.stack_science`
(without flagCosmicRaysByStacking, which the alignAndStack recipe does not run).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from astropy.io import fits
from astropy.wcs import WCS

from .fitsio import read_frame
from .frame import Frame
from .recipes import RecipeError
from .science import detect_catalogue, stack_science

#: PHU keywords stack_science writes once per input; those of an input stack's own inputs
#: are dropped from the new stack (its provenance keeps their history).
_PER_INPUT_KEY = re.compile(r"^(IMCMB|ALGN|SCAL|BOFF)(\d{3})$")


def check_stack_input(path: str) -> None:
    """Raise RecipeError unless ``path`` is one reduced image in electrons with a sky WCS."""
    with fits.open(path) as hdul:
        sci = [h for h in hdul[1:] if str(h.header.get("EXTNAME", "")).upper() == "SCI"]
        if len(sci) != 1:
            raise RecipeError(
                f"{path}: alignAndStack needs one SCI extension (a stack or a mosaic), found "
                f"{len(sci)}; reduce raw or per-amplifier files with the science recipe first")
        header = sci[0].header
        unit = str(header.get("BUNIT", "")).strip().lower()
        if unit not in ("electron", "electrons"):
            raise RecipeError(f"{path}: SCI BUNIT is {header.get('BUNIT')!r}, alignAndStack "
                              "stacks images in electrons")
        if not WCS(header).has_celestial:
            raise RecipeError(f"{path}: the SCI extension has no celestial WCS to align on")
        if "EXPTIME" not in hdul[0].header:
            raise RecipeError(f"{path}: no EXPTIME in the primary header (needed to scale "
                              "counts to the first input)")


def align_and_stack(
    paths: Sequence[str],
    *,
    detect: dict,
    align: dict,
    resample_order: int,
    stack: dict,
    memory_bytes: int,
    scratch_dir: str,
    provenance: dict,
) -> tuple[Frame, list[dict]]:
    """Detect sources on every input (detectSources parameters ``detect``), align them to the
    first (``align`` = adjustWCSToReference), resample, scale by exposure time, match
    backgrounds and stack (``stack`` = stackFrames).  Returns the stacked frame (electrons,
    one SCI/VAR/DQ extension on the first input's grid extended to the union footprint) and
    one QA record per input.  Inputs are read one at a time."""
    if len(paths) < 2:
        raise RecipeError(f"alignAndStack needs at least 2 inputs, got {len(paths)}: "
                          f"{', '.join(paths)}")
    catalogues = []
    for path in paths:
        check_stack_input(path)
        frame = read_frame(path)
        catalogues.append(detect_catalogue(frame.exts[0], **detect))
        del frame
    out, records = stack_science(
        list(paths), catalogues, align=align, resample_order=resample_order,
        cosmic={"enabled": False}, stack=stack, memory_bytes=memory_bytes,
        scratch_dir=scratch_dir, provenance=provenance)
    n = len(paths)
    for key in list(out.phu.keys()):
        m = _PER_INPUT_KEY.match(key)
        if m and int(m.group(2)) > n:
            del out.phu[key]
    out.phu["PROCSCI"] = ("gmos-snake", "Processed science (alignAndStack)")
    for rec, cat in zip(records, catalogues, strict=True):
        rec["n_sources"] = len(cat)
    return out, records
