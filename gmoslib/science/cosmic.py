"""Cosmic-ray flagging against the median of aligned frames (reference 5.18).

For N >= 2 frames on one grid (SCI electrons, VAR electrons**2, DQ uint16):

1. The frames' background offsets (:func:`gmoslib.science.final_stack.background_offsets`)
   are removed and the median M formed from good pixels (DQ without bits 1, 4, 8, 16, 64);
   its variance is ``(pi/2) * sum(VAR_i) / k**2`` over the k frames used.
2. Per frame, ``D = frame - offset - M`` and its background ``b`` is the median of D over
   good pixels outside the object mask (strided subsample).
3. A cosmic ray has ``D > b + hsigma * sqrt(VAR_frame + VAR_M) + source_tolerance *
   max(M - sky_M, 0)`` and ``frame - offset - sky_M > hsigma * sqrt(VAR_frame)``, is not bad
   (1), saturated (4) or no-data (16), not in the object mask, and M is defined there.

Beyond the reference: VAR_M is in the threshold (the noise of the difference);
``source_tolerance`` (0.5) lets through the cores of stars in frames of better seeing, which
exceed the median by ~(s_med/s_frame)**2 - 1 of their peak (+23 % for 10 % better seeing);
saturated cores, left out of the median, are never flagged; without VAR the noise is
1.4826 x MAD of D over the background sample.  The flags are dilated by a disc of radius
``dilation`` px and OR-ed into DQ as bit 8.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import bottleneck as bn
import numpy as np
from scipy import ndimage

from gmoslib.io.dq import BAD_PIXEL, COSMIC_RAY, DQ_DTYPE, NO_DATA, SATURATED, UNILLUMINATED
from gmoslib.science.final_stack import background_offsets
from gmoslib.stacking import median_rows

__all__ = ["flag_cosmic_rays_by_stacking"]

_MEDIAN_BAD = BAD_PIXEL | SATURATED | COSMIC_RAY | NO_DATA | UNILLUMINATED
_NEVER_FLAG = BAD_PIXEL | SATURATED | NO_DATA
_ROWS_PER_BLOCK = 256


def _disc(radius: int) -> np.ndarray:
    r = int(radius)
    yy, xx = np.mgrid[-r : r + 1, -r : r + 1]
    return (xx * xx + yy * yy) <= r * r


def nan_median(blk: np.ndarray) -> np.ndarray:
    """``bottleneck.nanmedian`` along axis 0 of (n, ...) float32 values, faster: pixels
    without a NaN by the sorting network :func:`gmoslib.stacking.median_rows`, the rest
    (NaN in the network) again by bottleneck."""
    n = blk.shape[0]
    flat = blk.reshape(n, -1)
    out = median_rows(flat).astype(np.float32)
    rest = np.flatnonzero(np.isnan(flat).any(axis=0))
    if rest.size:
        with np.errstate(invalid="ignore"):
            out[rest] = bn.nanmedian(flat[:, rest], axis=0)
    return out.reshape(blk.shape[1:])


def flag_cosmic_rays_by_stacking(
    frames,
    *,
    hsigma: float,
    dilation: int,
    source_tolerance: float = 0.5,
    stride: int = 4,
    threads: int = 1,
):
    """N new uint16 DQ arrays with bit 8 on the cosmic rays of N aligned frames (rules in the
    module docstring; inputs unchanged).

    frames: N tuples (sci, var, dq, objmask) of (ny, nx) arrays, var, dq and objmask (bool,
    True = source, never flagged) possibly None; stride: of the background subsample;
    threads: frames tested at once (numpy releases the GIL)."""
    n = len(frames)
    if n < 2:
        raise ValueError(f"flag_cosmic_rays_by_stacking: need at least 2 frames, got {n}")
    if dilation < 0:
        raise ValueError(f"flag_cosmic_rays_by_stacking: dilation must be >= 0, got {dilation}")
    shape = np.shape(frames[0][0])
    if len(shape) != 2:
        raise ValueError(f"flag_cosmic_rays_by_stacking: sci arrays must be 2-D, got {shape}")
    scis, vars_, dqs, masks = [], [], [], []
    for i, (sci, var, dq, om) in enumerate(frames):
        for name, arr in (("sci", sci), ("var", var), ("dq", dq), ("objmask", om)):
            if arr is not None and np.shape(arr) != shape:
                raise ValueError(f"flag_cosmic_rays_by_stacking: frame {i} {name} shape "
                                 f"{np.shape(arr)}, expected {shape}")
        scis.append(np.asarray(sci))
        vars_.append(None if var is None else np.asarray(var))
        dqs.append(np.zeros(shape, DQ_DTYPE) if dq is None else np.asarray(dq, DQ_DTYPE))
        masks.append(np.zeros(shape, bool) if om is None else np.asarray(om, bool))
    have_var = all(v is not None for v in vars_)

    # python floats: arithmetic with the float32 frames stays float32 (no float64 copies)
    offsets = [float(o) for o in background_offsets(scis, dqs, stride=stride)]

    ny, nx = shape
    med = np.empty(shape, np.float32)
    med_var = np.zeros(shape, np.float32)
    for r0 in range(0, ny, _ROWS_PER_BLOCK):
        r1 = min(ny, r0 + _ROWS_PER_BLOCK)
        # float32: the median is one of the values (or the mean of two), exact enough
        blk = np.empty((n, r1 - r0, nx), np.float32)
        for i in range(n):
            np.subtract(scis[i][r0:r1], np.float32(offsets[i]), out=blk[i])
            blk[i][(dqs[i][r0:r1] & _MEDIAN_BAD) != 0] = np.nan
        med[r0:r1] = nan_median(blk)
        if have_var:
            good = ~np.isnan(blk)
            k = good.sum(axis=0, dtype=np.int32)
            vsum = np.zeros((r1 - r0, nx), np.float64)
            for i in range(n):
                np.add(vsum, vars_[i][r0:r1], out=vsum, where=good[i])
            with np.errstate(invalid="ignore", divide="ignore"):
                med_var[r0:r1] = np.where(k > 0, (np.pi / 2) * vsum / np.maximum(k, 1) ** 2, 0)
        del blk

    med_ok = np.isfinite(med)
    sub = (slice(None, None, stride), slice(None, None, stride))
    sky_med = float(np.median(med[sub][med_ok[sub]])) if med_ok[sub].any() else 0.0
    with np.errstate(invalid="ignore"):
        src = np.where(med_ok, np.maximum(med - sky_med, 0.0), 0.0).astype(np.float32)

    structure = _disc(dilation) if dilation > 0 else None
    rows = _ROWS_PER_BLOCK // 2  # blocks of a few MB: the temporaries stay in cache
    h, tol, sky = np.float32(hsigma), np.float32(source_tolerance), np.float32(sky_med)

    def flag(i):
        off = np.float32(offsets[i])
        # additive background of frame - offset - median, from the strided subsample
        diff_s = (scis[i][sub] - off) - med[sub]
        bg_ok = med_ok[sub] & ((dqs[i][sub] & _MEDIAN_BAD) == 0) & ~masks[i][sub]
        sample = diff_s[bg_ok]
        if sample.size == 0:
            return dqs[i].copy()
        b = np.float32(np.median(sample))
        if not have_var:
            mad_noise = np.float32(1.4826 * np.median(np.abs(sample - b)))
        cr = np.empty(shape, bool)
        for r0 in range(0, ny, rows):
            r1 = min(ny, r0 + rows)
            level = np.subtract(scis[i][r0:r1], off, dtype=np.float32)  # frame - offset
            diff = level - med[r0:r1]
            if have_var:
                v = np.maximum(vars_[i][r0:r1], np.float32(0))
                noise = np.sqrt(v + med_var[r0:r1])
                own_noise = np.sqrt(v)
            else:
                noise = own_noise = mad_noise
            thresh = b + h * noise + tol * src[r0:r1]
            # also above the frame's own sky: with two frames the median is their mean, and
            # the ringing around a cosmic ray in one would flag the other too
            with np.errstate(invalid="ignore"):
                c = (diff > thresh) & (level - sky > h * own_noise)
            c &= med_ok[r0:r1]
            c &= (dqs[i][r0:r1] & _NEVER_FLAG) == 0
            c &= ~masks[i][r0:r1]
            cr[r0:r1] = c
        if structure is not None and cr.any():
            cr = ndimage.binary_dilation(cr, structure=structure)
        new = dqs[i].copy()
        new[cr] |= COSMIC_RAY
        return new

    with ThreadPoolExecutor(max_workers=max(1, int(threads))) as pool:
        return list(pool.map(flag, range(n)))
