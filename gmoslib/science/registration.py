"""Which frames of a stack are placed where: WCS checks, source alignment, frames set aside.

Each frame's sources are matched to the reference's (the first frame), starting from the
shift its header WCS implies or, when the WCS fails :mod:`gmoslib.science.wcscheck`, from its
telescope offsets.  A frame is set aside (named, with the reason, in the log, the stacking
records and the QA table) when its WCS fails and its offsets cannot be tied to pixels, when
fewer than ``min_sources`` sources match, or when its alignment residual is far above the
others' (:data:`RESIDUAL_FACTOR`, :data:`RESIDUAL_FLOOR_PX`).  A reference frame with an
unusable WCS stops the stack (the stack inherits its WCS).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence

import numpy as np
from astropy.io import fits
from astropy.wcs import WCS

from gmoslib.io.errors import RecipeError
from gmoslib.science import align as alignlib
from gmoslib.science import wcscheck

log = logging.getLogger(__name__)

#: A frame whose alignment rms exceeds this many times the median of the other frames'...
RESIDUAL_FACTOR = 3.0
#: ... and exceeds it by more than this (pixels) is set aside.
RESIDUAL_FLOOR_PX = 0.05

SET_ASIDE = "set aside"


def _initial_shift(ref_wcs: WCS, wcs: WCS, shape: tuple[int, int]) -> tuple[float, float]:
    """Pixel shift (frame -> reference) implied by the two header WCSs at the frame centre."""
    ny, nx = shape
    x, y = (nx - 1) / 2.0, (ny - 1) / 2.0
    sky = wcs.pixel_to_world(x, y)
    rx, ry = ref_wcs.world_to_pixel(sky)
    return float(rx - x), float(ry - y)


def _record(name, result=None, *, reason="") -> dict:
    if result is None:
        return {"frame": name, "method": SET_ASIDE, "reason": reason, "dx": float("nan"),
                "dy": float("nan"), "n_matched": 0, "rms": float("nan")}
    return {"frame": name, "method": result["method"], "reason": reason or result["reason"],
            "dx": float(result["transform"][0][2]), "dy": float(result["transform"][1][2]),
            "n_matched": int(result.get("n_matched", 0)),
            "rms": float(result.get("rms", np.nan) or np.nan)}


def register_frames(names: Sequence[str], catalogues: Sequence, phus: Sequence[fits.Header],
                    scis: Sequence[fits.Header], *, align: dict
                    ) -> tuple[list[np.ndarray | None], list[dict]]:
    """Per mosaic of ``names`` (the first is the reference; with catalogues, PHUs and SCI
    headers): its 3x3 transform (frame pixel -> reference pixel; None when set aside) and a
    record (frame, method, reason, dx, dy, n_matched, rms).  ``align``: every
    adjustWCSToReference parameter (first_pass and match_radius in arcsec).  Raises
    RecipeError when the reference's WCS is unusable."""
    n = len(names)
    names = [os.path.basename(p) for p in names]
    problems, reference_note = wcscheck.check_frames(phus, scis)
    if problems[0]:
        raise RecipeError(
            f"{names[0]}: the reference frame of the stack (its first frame) has an unusable "
            f"WCS: {problems[0]}; the stack would inherit it.  Remove the frame from the raw "
            "directory (or fix its header) to stack the others")
    wcss = [WCS(s) if not problems[k] else None for k, s in enumerate(scis)]
    shapes = [(int(s["NAXIS2"]), int(s["NAXIS1"])) for s in scis]
    pixscale = float(abs(wcss[0].proj_plane_pixel_scales()[1].to_value("arcsec")))
    kwargs = dict(search_radius=align["first_pass"] / pixscale,
                  match_radius=align["match_radius"] / pixscale,
                  min_sources=align["min_sources"],
                  allow_rotation=align["rotate"], allow_scale=align["scale"])
    transforms: list[np.ndarray | None] = [np.eye(3)] + [None] * (n - 1)
    records: list[dict] = [{"frame": names[0], "method": "reference", "reason": reference_note,
                            "dx": 0.0, "dy": 0.0, "n_matched": len(catalogues[0]),
                            "rms": 0.0}] + [{} for _ in range(n - 1)]

    def place(k, shift, note=""):
        result = alignlib.align_to_reference(catalogues[0], catalogues[k],
                                             header_shift=shift, **kwargs)
        if result["method"] != "sources":
            records[k] = _record(names[k], reason=(
                f"{note + '; ' if note else ''}not aligned: {result['reason']}"))
            return
        transforms[k] = np.asarray(result["transform"], float)
        records[k] = _record(names[k], result, reason=note)

    for k in range(1, n):
        if not problems[k]:
            place(k, _initial_shift(wcss[0], wcss[k], shapes[k]))
    bad = [k for k in range(1, n) if problems[k]]
    model = _offsets_model(phus, transforms, scis[0]) if bad else None
    for k in bad:
        offsets = wcscheck.telescope_offsets(phus[k])
        if model is None or offsets is None:
            records[k] = _record(names[k], reason=(
                f"WCS not usable ({problems[k]}) and its telescope offsets cannot be "
                "tied to pixels (fewer than two other aligned frames with offsets in two "
                "directions, or POFFSET/QOFFSET missing)"))
            continue
        dx, dy = model @ np.subtract(offsets, wcscheck.telescope_offsets(phus[0]))
        place(k, (float(dx), float(dy)),
              f"WCS not used ({problems[k]}): first guess from POFFSET/QOFFSET")
    _set_aside_outliers(records, transforms)
    for rec in records:
        if rec["method"] == SET_ASIDE:
            log.warning("%s set aside from the stack of %s: %s", rec["frame"], names[0],
                        rec["reason"])
        elif rec.get("reason"):
            log.warning("%s: %s", rec["frame"], rec["reason"])
    return transforms, records


def _offsets_model(phus, transforms, ref_sci):
    """:func:`wcscheck.offsets_model` of the frames aligned so far (None without the
    reference's offsets or nominal pixel scale)."""
    ref = wcscheck.telescope_offsets(phus[0])
    nominal = wcscheck.nominal_pixel_scale(phus[0], ref_sci)
    if ref is None or nominal is None:
        return None
    known = [(off, t) for off, t in zip(map(wcscheck.telescope_offsets, phus[1:]),
                                        transforms[1:], strict=True)
             if off is not None and t is not None]
    return wcscheck.offsets_model([np.subtract(off, ref) for off, _ in known],
                                  [(t[0, 2], t[1, 2]) for _, t in known], nominal)


def _set_aside_outliers(records: list[dict], transforms: list) -> None:
    aligned = [k for k in range(1, len(records)) if transforms[k] is not None
               and np.isfinite(records[k]["rms"])]
    if len(aligned) < 3:
        return
    rms = {k: records[k]["rms"] for k in aligned}
    for k in aligned:
        others = float(np.median([rms[j] for j in aligned if j != k]))
        if rms[k] > RESIDUAL_FACTOR * others and rms[k] > others + RESIDUAL_FLOOR_PX:
            records[k] = dict(records[k], method=SET_ASIDE, reason=(
                f"alignment residual {rms[k]:.3f} px, far above the other frames' "
                f"{others:.3f} px"))
            transforms[k] = None
