"""The alignAndStack recipe (DRAGONS ``reduce -r alignAndStack``, for science reduced in
parts): single-extension SCI/VAR/DQ files in electrons with a celestial WCS (the workflow's
``results/*_stack.fits`` or ``work/mosaic/*_mosaic.fits``) -> one stack, by
:func:`gmoslib.science.stack.stack_science` without flagCosmicRaysByStacking.
"""

from __future__ import annotations

import math
import os
import re
import stat
import warnings
from collections.abc import Sequence

from astropy.wcs import WCS, FITSFixedWarning

from gmoslib.instrument.descriptors import pretty_filter_name
from gmoslib.io.errors import RecipeError
from gmoslib.io.fitsio import read_frame, read_headers
from gmoslib.io.frame import Frame
from gmoslib.science.reduce import detect_catalogue
from gmoslib.science.stack import stack_science

#: PHU keywords stack_science writes once per input; those of an input stack's own inputs
#: are dropped from the new stack (its provenance keeps their history).
_PER_INPUT_KEY = re.compile(r"^(IMCMB|ALGN|SCAL|BOFF)(\d{3})$")


def check_stack_input(path: str) -> dict:
    """``filter`` (pretty name or None), ``binning`` ('XxY' or None), ``pixel_scale``
    (arcsec) of a regular file (a device or pipe would be read without end) holding one
    image in electrons with a sky WCS and an EXPTIME; else RecipeError (or FitsReadError).
    Only headers are read."""
    try:
        mode = os.stat(path).st_mode
    except OSError as exc:
        raise RecipeError(f"{path}: {exc.strerror or exc}") from None
    if not stat.S_ISREG(mode):
        raise RecipeError(f"{path}: not a regular file (mode {stat.filemode(mode)}): "
                          "alignAndStack reads FITS files made by the science recipe")
    phu, sci = read_headers(path)
    sci = [h for h in sci if str(h.get("EXTNAME", "")).upper() == "SCI"]
    if len(sci) != 1:
        raise RecipeError(
            f"{path}: alignAndStack needs one SCI extension (a stack or a mosaic), found "
            f"{len(sci)}; reduce raw or per-amplifier files with the science recipe first")
    header = sci[0]
    unit = str(header.get("BUNIT", "")).strip().lower()
    if unit not in ("electron", "electrons"):
        raise RecipeError(f"{path}: SCI BUNIT is {header.get('BUNIT')!r}, alignAndStack "
                          "stacks images in electrons")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FITSFixedWarning)
        try:
            wcs = WCS(header)
            scale = (float(wcs.celestial.proj_plane_pixel_scales()[1].to_value("arcsec"))
                     if wcs.has_celestial else None)
        except (ValueError, KeyError, TypeError, MemoryError) as exc:
            raise RecipeError(f"{path}: the SCI extension's WCS cannot be used ({exc})") from None
    if scale is None:
        raise RecipeError(f"{path}: the SCI extension has no celestial WCS to align on")
    if not math.isfinite(scale) or scale <= 0:
        raise RecipeError(f"{path}: the SCI extension's WCS has pixel scale {scale} arcsec")
    if "EXPTIME" not in phu:
        raise RecipeError(f"{path}: no EXPTIME in the primary header (needed to scale "
                          "counts to the first input)")
    try:
        exptime = float(phu["EXPTIME"])
    except (TypeError, ValueError):
        exptime = math.nan
    if not math.isfinite(exptime) or exptime <= 0:
        raise RecipeError(f"{path}: primary header keyword EXPTIME: {phu['EXPTIME']!r}; "
                          "alignAndStack scales each input by an exposure time > 0")
    filt = None
    if "FILTER1" in phu or "FILTER2" in phu:
        filt = pretty_filter_name(str(phu.get("FILTER1", "")), str(phu.get("FILTER2", "")))
    ccdsum = header.get("CCDSUM", phu.get("CCDSUM"))
    binning = "x".join(str(ccdsum).split()) if ccdsum is not None else None
    return {"filter": filt, "binning": binning, "pixel_scale": scale}


#: Pixel scales of inputs may differ by this fraction (a resampled stack keeps its scale).
PIXEL_SCALE_TOLERANCE = 0.01


def check_stack_inputs(paths: Sequence[str]) -> None:
    """Every input passes :func:`check_stack_input`, and all share one filter, binning and
    pixel scale (RecipeError naming the two files that differ); only headers are read."""
    facts = [check_stack_input(p) for p in paths]
    first, ref = paths[0], facts[0]
    for path, f in zip(paths[1:], facts[1:], strict=True):
        for key, what in (("filter", "filter"), ("binning", "binning (CCDSUM)")):
            if ref[key] is not None and f[key] is not None and f[key] != ref[key]:
                raise RecipeError(
                    f"{path}: {what} {f[key]} but the first input {first} has {ref[key]}: "
                    f"alignAndStack combines images of one {what.split()[0]}")
        if abs(f["pixel_scale"] / ref["pixel_scale"] - 1) > PIXEL_SCALE_TOLERANCE:
            raise RecipeError(
                f"{path}: pixel scale {f['pixel_scale']:.4f} arcsec but the first input "
                f"{first} has {ref['pixel_scale']:.4f} arcsec (another binning?): "
                "alignAndStack combines images of one pixel scale")


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
    """The stack (electrons, one SCI/VAR/DQ on the first input's grid extended to the union
    footprint) and one QA record per input; ``detect``, ``align``, ``stack``: detectSources,
    adjustWCSToReference and stackFrames parameters."""
    if len(paths) < 2:
        raise RecipeError(f"alignAndStack needs at least 2 inputs, got {len(paths)}: "
                          f"{', '.join(paths)}")
    check_stack_inputs(paths)  # headers only: no pixel read before every input passes
    catalogues = [detect_catalogue(read_frame(path).exts[0], **detect) for path in paths]
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
