"""Twilight-flat primitives (reference 5.8, 5.9): scaling, rejection choice, normalisation."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

#: DRAGONS uses int(max/0.1) histogram bins, sized for ADU-scale data near 1.  For
#: electron-scale flats (~20000 e-) that is ~200000 bins of a few counts each, so the fullest
#: bin is decided by Poisson noise; we cap the count at this many (bin width ~(max-min)/20000,
#: still far below the pixel scatter).  The mode only centres the +-3 sigma window whose
#: median is the result, so the cap does not move the answer beyond noise.
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
        f = float(np.mean(ref_sci[good], dtype=np.float64)
                  / np.mean(sci[good], dtype=np.float64))
        if not np.isfinite(f) or f <= 0:
            raise ValueError(f"flat {len(factors) + 1}: scale factor {f} is not positive")
        factors.append(f)
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
    """Normalisation level of a stacked flat (reference 5.9).

    sci, dq : (ny, nx) float32 electrons and uint16 of the statistics region (CCD2 minus its
    border, :func:`ccd2_stat_region`).  Keeps DQ == 0, finite, > 0 pixels; histogram with
    int(max/0.1) bins over (min, max), capped at MAX_HISTOGRAM_BINS; mode = left edge of the
    fullest bin; sigma = std of the kept pixels; returns the median of the kept pixels within
    mode +- 3 sigma (electrons).  Raises ValueError when no pixel is good.
    """
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
    """Divide every extension by factor (VAR by factor^2); SCI = 1 where DQ > 0.

    scis, vars_, dqs : per-extension (ny, nx) float32 (electrons), float32 or None, uint16
    or None.  factor : the normalisation level (electrons, > 0).  Returns new lists of
    arrays (SCI, VAR dimensionless).
    """
    if not np.isfinite(factor) or factor <= 0:
        raise ValueError(f"flat normalisation factor {factor} is not positive")
    out_sci, out_var, out_dq = [], [], []
    for s, v, d in zip(scis, vars_, dqs, strict=True):
        s2 = (np.asarray(s, np.float64) / factor).astype(np.float32)
        if d is not None:
            s2[np.asarray(d) > 0] = 1.0
        out_sci.append(s2)
        out_var.append(None if v is None
                       else (np.asarray(v, np.float64) / factor**2).astype(np.float32))
        out_dq.append(None if d is None else np.array(d, np.uint16))
    return out_sci, out_var, out_dq
