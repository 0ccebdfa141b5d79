"""Fringe primitives (reference 5.12): object masks, sky levels, the fringe scale factor and
the subtraction.

Arrays are per trimmed, flat-fielded amplifier, in electrons: sci/var/dq (ny, nx)
float32/float32/uint16.  Detector positions and DETSECs are 0-based unbinned pixels.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from scipy import ndimage

from gmoslib.instrument.sections import Section
from gmoslib.io import dq as dqbits
from gmoslib.science.detect import detect_sources
from gmoslib.science.mosaic import background_level

#: DQ bits that keep a pixel out of the scale-factor statistics.
SCALE_MASK_BITS = (dqbits.BAD_PIXEL | dqbits.SATURATED | dqbits.COSMIC_RAY | dqbits.NO_DATA
                   | dqbits.UNILLUMINATED)
#: Half-size (unbinned pixels) of the boxes around control points (a 21-pixel box).
CONTROL_BOX_HALF = 10
#: Fewer usable control pairs than this gives a warning in the result.
MIN_GOOD_PAIRS = 6


def sky_level(scis: Sequence[np.ndarray], dqs: Sequence[np.ndarray]) -> float:
    """One robust sky level (electrons) of a whole frame: the sigma-clipped median
    (:func:`gmoslib.science.mosaic.background_level`) of the good pixels of all its extensions."""
    values = np.concatenate([np.asarray(s[(d == 0) & np.isfinite(s)], np.float32)
                             for s, d in zip(scis, dqs, strict=True)])
    level, n = background_level(values, None)
    if n == 0:
        raise ValueError("no good pixels to measure the sky level")
    return level


def ccd_sky_levels(scis: Sequence[np.ndarray], dqs: Sequence[np.ndarray],
                   ccd_index: Sequence[int]) -> list[float]:
    """Per extension, the sky level (electrons, :func:`sky_level`) of its CCD; a CCD without
    a good pixel gets the whole frame's.  (Before QE equalisation the CCDs' skies differ by a
    few per cent: a step left in a fringe frame would bias the later QE factors.)"""
    levels = {}
    for k in dict.fromkeys(ccd_index):
        members = [i for i, c in enumerate(ccd_index) if c == k]
        if any(np.any(dqs[i] == 0) for i in members):
            levels[k] = sky_level([scis[i] for i in members], [dqs[i] for i in members])
    if len(levels) < len(set(ccd_index)):
        whole = sky_level(scis, dqs)
        levels = {k: levels.get(k, whole) for k in ccd_index}
    return [levels[k] for k in ccd_index]


def object_mask(sci: np.ndarray, var: np.ndarray | None, dq: np.ndarray | None, *,
                thresh: float, minarea: int, dilation: int) -> np.ndarray:
    """Bool mask of the sources detected on ``sci`` as given (GMOS-S callers subtract the
    median image first, so fringes are not detected), grown by ``dilation`` pixels."""
    _, mask = detect_sources(sci, var, dq, thresh=thresh, minarea=minarea,
                             min_area_clean=minarea, min_b=0.0)
    if dilation > 0 and mask.any():
        structure = ndimage.generate_binary_structure(2, 1)
        mask = ndimage.binary_dilation(mask, structure=structure, iterations=dilation)
    return mask


def _box_median(sci: np.ndarray, dq: np.ndarray, x: float, y: float, half: int
                ) -> float | None:
    """Median of the good pixels in a (2 half + 1)^2 box centred on binned pixel (x, y), or
    None when the box leaves the array or has too few good pixels."""
    ix, iy = int(round(x)), int(round(y))
    ny, nx = sci.shape
    if ix - half < 0 or iy - half < 0 or ix + half >= nx or iy + half >= ny:
        return None
    box = sci[iy - half:iy + half + 1, ix - half:ix + half + 1]
    good = (dq[iy - half:iy + half + 1, ix - half:ix + half + 1] & SCALE_MASK_BITS) == 0
    good &= np.isfinite(box)
    if good.sum() < max(3, box.size // 2):
        return None
    return float(np.median(box[good]))


def control_pair_scale(
    sci_exts: Sequence[tuple[np.ndarray, np.ndarray]],
    fringe_exts: Sequence[tuple[np.ndarray, np.ndarray]],
    detsecs: Sequence[Section],
    xbin: int,
    ybin: int,
    pairs,
    *,
    box_half: int = CONTROL_BOX_HALF,
) -> tuple[float | None, int, list[float]]:
    """(median ratio or None when no pair is usable, pairs used, the ratios): the fringe
    scale factor from control pairs (Snodgrass & Carry 2013).

    sci_exts / fringe_exts: per extension (sci, dq); pairs: ((x, y) peak, (x, y) trough) in
    unbinned detector pixels.  Each pair whose boxes (``box_half`` unbinned pixels) have
    enough good pixels in both frames gives (S_peak - S_trough) / (F_peak - F_trough)."""
    half = max(1, math.ceil(box_half / max(xbin, ybin)))

    def levels(x, y):  # (science, fringe) box medians at unbinned detector pixel (x, y)
        for i, d in enumerate(detsecs):
            if d.x1 <= x < d.x2 and d.y1 <= y < d.y2:
                bx, by = (x - d.x1) / xbin, (y - d.y1) / ybin
                s = _box_median(*sci_exts[i], bx, by, half)
                f = _box_median(*fringe_exts[i], bx, by, half)
                return None if s is None or f is None else (s, f)
        return None

    ratios = []
    for peak, trough in pairs:
        at_peak, at_trough = levels(*peak), levels(*trough)
        if at_peak is None or at_trough is None:
            continue
        (sp, fp), (st, ft) = at_peak, at_trough
        if fp - ft == 0 or not math.isfinite(fp - ft):
            continue
        ratios.append((sp - st) / (fp - ft))
    if not ratios:
        return None, 0, []
    return float(np.median(ratios)), len(ratios), [float(r) for r in ratios]


def least_squares_scale(
    sci_exts: Sequence[tuple[np.ndarray, np.ndarray, np.ndarray | None]],
    fringe_exts: Sequence[tuple[np.ndarray, np.ndarray]],
) -> float:
    """Fringe scale factor x minimising sum (S - c_i - x F)^2 over pixels good in both frames
    and outside objects, one sky c_i per extension (sky steps between amplifiers stay out
    of x); for one extension the reference's (n sum SF - sum S sum F) / (n sum F^2 -
    (sum F)^2).  sci_exts: per extension (sci, dq, object mask or None)."""
    numerator = denominator = 0.0
    for (s, sdq, objects), (f, fdq) in zip(sci_exts, fringe_exts, strict=True):
        good = ((sdq | fdq) & SCALE_MASK_BITS) == 0
        good &= np.isfinite(s) & np.isfinite(f)
        if objects is not None:
            good &= ~objects
        if good.sum() < 2:
            continue
        sv = np.asarray(s[good], np.float64)
        fv = np.asarray(f[good], np.float64)
        fv = fv - fv.mean()
        numerator += float(np.dot(sv - sv.mean(), fv))
        denominator += float(np.dot(fv, fv))
    if denominator <= 0:
        raise ValueError("the fringe frame has no structure where the science frame is good: "
                         "cannot fit a fringe scale factor")
    return float(numerator / denominator)


def subtract_fringe(sci: np.ndarray, var: np.ndarray, dq: np.ndarray, f_sci: np.ndarray,
                    f_var: np.ndarray, f_dq: np.ndarray, scale: float
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """science - scale * fringe (electrons); VAR + scale^2 VAR_fringe; DQ OR-ed with the
    fringe frame's DQ (pixels the fringe frame could not measure stay flagged)."""
    s = np.float32(scale)
    return ((sci - s * f_sci).astype(np.float32), (var + s * s * f_var).astype(np.float32),
            (dq | f_dq).astype(np.uint16))
