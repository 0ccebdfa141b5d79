"""QECorrect: bring the sky of CCD1 and CCD3 to CCD2's level (reference 5.13).

Twilight flats and night sky differ in colour, so after flat-fielding the CCDs' skies differ
by a few percent.  The factors are measured on the science frame's sky (illuminated, DQ = 0,
source-free pixels); a factor outside :data:`QE_FACTOR_RANGE` stops the frame, as it was
measured on something other than sky.
"""

from __future__ import annotations

import numpy as np
from astropy.stats import mad_std, sigma_clip
from scipy import ndimage

from gmoslib.io.frame import Extension

#: Pixels sampled per array for a sky level: its median is then known to ~0.006 sigma.
SKY_SAMPLES = 50_000
#: A pixel whose 3x3 box mean is this many (box) sigmas above the sky belongs to a source...
SOURCE_SIGMA = 5.0
#: ... and so do its neighbours within this many pixels (the wings of stars).
SOURCE_GROW = 4

#: Plausible QE factors (CCD2 sky / CCDk sky after flat-fielding) by filter band, else
#: "other".  The reference gives no numbers (5.13: strongest in g); the CCDs of one camera
#: are of one type, so their QE ratios change by a few percent between twilight and night
#: sky colours: these bounds leave 2-3 times that, and catch levels measured on the wrong
#: pixels (0.63 and 2.42 were seen on a mixed night).
QE_FACTOR_RANGE = {
    "u": (0.85, 1.15),
    "g": (0.85, 1.15),
    "other": (0.90, 1.10),
}


class QEFactorError(ValueError):
    """A QE factor outside the plausible range (message: frame, factors, sky levels)."""


def _clipped_median(values: np.ndarray) -> tuple[float, float]:
    """(median, 1.4826 x MAD) of a regular subsample of ~:data:`SKY_SAMPLES` of the 1-D
    values, clipped at 3 sigma."""
    values = np.asarray(values[::max(1, values.size // SKY_SAMPLES)], np.float64)
    kept = sigma_clip(values, sigma=3.0, maxiters=10, stdfunc="mad_std", masked=False)
    return float(np.median(kept)), float(mad_std(kept))


def source_mask(sci: np.ndarray, good: np.ndarray, level: float, sigma: float) -> np.ndarray:
    """(ny, nx) bool, True on sources: pixels whose 3x3 box mean (of good pixels, the sky
    level elsewhere) is more than :data:`SOURCE_SIGMA` box sigmas (sigma / 3) above
    ``level``, grown by :data:`SOURCE_GROW` pixels.  sci, level, sigma: electrons."""
    filled = np.where(good, sci, np.float32(level)).astype(np.float32)
    box = ndimage.uniform_filter(filled, size=3, mode="nearest")
    peaks = box > level + SOURCE_SIGMA * sigma / 3.0
    if not peaks.any():
        return peaks
    return ndimage.binary_dilation(peaks, iterations=SOURCE_GROW)


def sky_level(sci: np.ndarray, dq: np.ndarray | None) -> tuple[float, int]:
    """(sky level in electrons, number of pixels) of an (ny, nx) array, (NaN, 0) when none:
    the clipped median of finite pixels with DQ = 0 outside :func:`source_mask`."""
    sci = np.asarray(sci)
    good = np.isfinite(sci)
    if dq is not None:
        good &= np.asarray(dq) == 0
    if not good.any():
        return float("nan"), 0
    level, sigma = _clipped_median(sci[good])
    if sci.ndim == 2:
        good &= ~source_mask(sci, good, level, sigma)
        if not good.any():
            return float("nan"), 0
        level, _ = _clipped_median(sci[good])
    return float(level), int(good.sum())


def ccd_sky_levels(exts: list[Extension], ccd_index: list[int]) -> dict[int, float]:
    """Sky level of CCD 0, 1, 2 (electrons): the pixel-weighted mean of its amplifiers'."""
    levels = {}
    for k in (0, 1, 2):
        vals = [sky_level(e.sci, e.dq) for e, c in zip(exts, ccd_index, strict=True)
                if c == k]
        vals = [(lv, n) for lv, n in vals if n > 0 and np.isfinite(lv)]
        if not vals:
            raise ValueError(f"CCD {k + 1} has no good, illuminated, source-free pixels to "
                             "measure the sky on")
        lv, n = np.array(vals, float).T
        levels[k] = float(np.average(lv, weights=n))
    if levels[1] <= 0:
        raise ValueError(f"CCD2 sky level {levels[1]:.3g} e- is not positive")
    return levels


def qe_factors(exts: list[Extension], ccd_index: list[int]) -> tuple[float, float]:
    """Factors for CCD1 and CCD3 that bring their sky level to CCD2's (1/r1, 1/r3)."""
    levels = ccd_sky_levels(exts, ccd_index)
    return levels[1] / levels[0], levels[1] / levels[2]


def check_factors(factors: tuple[float, float], levels: dict[int, float] | None, *,
                  frame: str, filter_band: str) -> None:
    """Raise :class:`QEFactorError` when a factor is not finite or outside the
    :data:`QE_FACTOR_RANGE` of ``filter_band`` (pretty name, e.g. 'r')."""
    low, high = QE_FACTOR_RANGE.get(str(filter_band), QE_FACTOR_RANGE["other"])
    bad = [(name, f) for name, f in (("CCD1", factors[0]), ("CCD3", factors[1]))
           if not (np.isfinite(f) and low <= f <= high)]
    if not bad:
        return
    measured = ("" if levels is None else
                "; sky levels CCD1/CCD2/CCD3 " + "/".join(f"{levels[k]:.1f}" for k in (0, 1, 2))
                + " e-")
    raise QEFactorError(
        f"{frame}: QE factor {', '.join(f'{n} {f:.4f}' for n, f in bad)} outside the range "
        f"{low:g}-{high:g} plausible in {filter_band} (gmoslib.science.qecorrect.QE_FACTOR_RANGE)"
        f"{measured}: the sky was not measured on sky (unilluminated or bad pixels not "
        "flagged in DQ?) or the flat does not match; check the master flat and the frame, "
        "or turn QECorrect off (config params: QECorrect: enabled: false)")


def measure_factors(exts: list[Extension], ccd_index: list[int], *, frame: str,
                    filter_band: str) -> tuple[tuple[float, float], dict[int, float]]:
    """((f1, f3), sky level per CCD index) of a flat-fielded frame (electrons), checked
    with :func:`check_factors` (raises :class:`QEFactorError`)."""
    try:
        levels = ccd_sky_levels(exts, ccd_index)
    except ValueError as exc:
        raise QEFactorError(f"{frame}: QE factors not measured: {exc}") from None
    factors = (levels[1] / levels[0], levels[1] / levels[2])
    check_factors(factors, levels, frame=frame, filter_band=filter_band)
    return factors, levels


def qe_correct(exts: list[Extension], ccd_index: list[int], factors=None):
    """(new extensions, (f1, f3)): CCD1 and CCD3 multiplied by f1 and f3 (VAR by their
    squares); ``factors`` None: measured by :func:`qe_factors`."""
    f1, f3 = qe_factors(exts, ccd_index) if factors is None else factors
    scale = {0: f1, 1: 1.0, 2: f3}
    return [Extension((e.sci * np.float32(scale[k])).astype(np.float32),
                      None if e.var is None else (e.var * np.float32(scale[k] * scale[k])),
                      e.dq, e.header) for e, k in zip(exts, ccd_index, strict=True)], (f1, f3)
