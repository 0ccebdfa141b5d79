"""Twilight-flat primitives (reference 5.8, 5.9): scaling, rejection choice, normalisation."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

#: Histogram bins are 0.1 wide as in DRAGONS, but at most this many (electron-scale flats
#: would otherwise need hundreds of thousands of bins; the mode only seeds a +-3 sigma window).
MAX_HISTOGRAM_BINS = 20000


def ccd2_stat_region(shape: tuple[int, int], *, min_border: int = 20,
                     fraction: float = 0.05) -> tuple[slice, slice]:
    """Slices of a (ny, nx) CCD image without a border of max(5% of the size, 20 px)."""
    ny, nx = shape
    by = max(int(fraction * ny), min_border)
    bx = max(int(fraction * nx), min_border)
    if 2 * by >= ny or 2 * bx >= nx:
        by, bx = min(by, ny // 4), min(bx, nx // 4)
    return slice(by, ny - by), slice(bx, nx - bx)


def flat_scale_factors(regions: Sequence[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    """Factors bringing each flat to the level of the first: mean(ref)/mean(flat) over the
    pixels good (DQ == 0, finite) in both.  regions: (sci, dq) of the statistics region."""
    ref_sci, ref_dq = regions[0]
    factors = [1.0]
    for sci, dq in regions[1:]:
        good = (ref_dq == 0) & (dq == 0) & np.isfinite(ref_sci) & np.isfinite(sci)
        if not good.any():
            raise ValueError("no pixel is good in both flats' statistics regions")
        factors.append(float(np.mean(ref_sci[good], dtype=np.float64)
                             / np.mean(sci[good], dtype=np.float64)))
    return np.asarray(factors)


def flat_rejection_for_count(n: int) -> tuple[str, int, int]:
    """(reject, nlow, nhigh) used to stack n twilight flats."""
    if n <= 2:
        return "none", 0, 0
    if n <= 5:
        return "minmax", 1, 1
    if n <= 10:
        return "minmax", 2, 2
    return "minmax", 2, 3


def flat_normalisation(sci: np.ndarray, dq: np.ndarray) -> float:
    """Median of the good positive pixels within +-3 sigma of the histogram mode."""
    good = (dq == 0) & np.isfinite(sci) & (sci > 0)
    values = np.asarray(sci[good], np.float64)
    if values.size == 0:
        raise ValueError("no good pixel to normalise the flat")
    top = float(values.max())
    nbins = int(min(max(top / 0.1, 1), MAX_HISTOGRAM_BINS))
    counts, edges = np.histogram(values, bins=nbins)  # range (min, max), as numpy's default
    mode = edges[int(np.argmax(counts))]
    sigma = float(values.std())
    window = values[(values >= mode - 3 * sigma) & (values <= mode + 3 * sigma)]
    return float(np.median(window if window.size else values))


def normalize_flat(scis, vars_, dqs, factor: float):
    """Divide every extension by factor (VAR by factor^2); SCI = 1 where DQ > 0."""
    out_sci, out_var, out_dq = [], [], []
    for s, v, d in zip(scis, vars_, dqs, strict=True):
        s2 = (np.asarray(s, np.float64) / factor).astype(np.float32)
        s2[d > 0] = 1.0
        out_sci.append(s2)
        out_var.append(None if v is None else (v / factor**2).astype(np.float32))
        out_dq.append(d.copy())
    return out_sci, out_var, out_dq
