"""Near-identity affine resampling in two 1-D passes (CCD1 and CCD3 onto the GMOS mosaic).

The same spline as :func:`scipy.ndimage.affine_transform` with ``mode="nearest"`` (edge
padding, mirror-bounded prefilter, cubic B-spline), but 4 taps per pixel and pass instead of
16 (2 instead of 4 for linear).  Output pixel (r, c) samples the input at (row, col) =
matrix @ (r, c) + offset.  The first pass is evaluated at each tap's input column, not the
exact point: an error <= 2 |matrix[0, 1]| px (4e-3 px at GMOS's largest CCD rotation,
0.046 deg; ~1e-4 px once weighted); holding the slope over blocks of rows adds < 1e-4 px.
Maps further from the identity are refused (:func:`separable_ok`; callers use scipy).
"""

from __future__ import annotations

import math

import numpy as np
from scipy import ndimage

_PAD = 12  # edge padding before the spline prefilter, as scipy does for mode="nearest"
#: Largest |slope - 1| of a pass and largest |cross term| the two-pass form accepts.
MAX_SLOPE_ERROR = 1e-5
MAX_CROSS = 2e-3
_TAPS = {1: (0, 1), 3: (-1, 0, 1, 2)}


def separable_ok(matrix, order: int) -> bool:
    """True when :func:`affine_separable` handles this map and order (1 or 3; nearest
    neighbour is left to scipy: there a position error of 1e-3 px can pick another pixel)."""
    m = np.asarray(matrix, np.float64)
    if order not in _TAPS or m.shape != (2, 2) or not np.all(np.isfinite(m)) or m[1, 1] == 0:
        return False
    slope1 = m[0, 0] - m[0, 1] * m[1, 0] / m[1, 1]
    return (abs(slope1 - 1) <= MAX_SLOPE_ERROR and abs(m[1, 1] - 1) <= MAX_SLOPE_ERROR
            and abs(m[0, 1]) <= MAX_CROSS and abs(m[1, 0]) <= MAX_CROSS)


def _weights(frac: np.ndarray, order: int) -> list[np.ndarray]:
    """Per-column weights (float32) of the taps in ``_TAPS[order]`` at fractional positions."""
    f = frac.astype(np.float64)
    if order == 1:
        w = [1.0 - f, f]
    else:  # cubic B-spline, taps floor-1 .. floor+2
        f2, f3 = f * f, f * f * f
        w = [(1 - f) ** 3 / 6, (3 * f3 - 6 * f2 + 4) / 6, (-3 * f3 + 3 * f2 + 3 * f + 1) / 6,
             f3 / 6]
    return [x.astype(np.float32) for x in w]


def _pass(coef: np.ndarray, axis: int, pad: int, slope: float, cross: float, const: float,
          n_out: int, order: int) -> np.ndarray:
    """One 1-D pass along ``axis`` (0: down the columns): output index r at index j of the
    other axis samples coef at ``slope*r + cross*j + const + pad``.  Float32, n_out along
    ``axis``.  Per block of outputs the integer position changes only between runs of j, so
    each tap is one slice of coef per run."""
    n_other = coef.shape[1 - axis]
    out = np.empty((n_out, n_other) if axis == 0 else (n_other, n_out), np.float32)
    # views with ``axis`` first: [output index r, index j of the other axis]
    src, dst = np.moveaxis(coef, axis, 0), np.moveaxis(out, axis, 0)
    drift = abs(slope - 1.0)
    chunk = 256 if drift == 0 else int(max(8, min(256, 2e-4 / drift)))
    j = np.arange(n_other, dtype=np.float64)
    taps = _TAPS[order]
    for r0 in range(0, n_out, chunk):
        r1 = min(n_out, r0 + chunk)
        mid = 0.5 * (r0 + r1 - 1)
        # padded position of output r in this block: r + s (s per index j of the other axis)
        s = slope * mid + cross * j + const - mid + pad
        k = np.floor(s).astype(np.int64)
        weights = _weights(s - k, order)
        # k is monotonic in j: runs of equal k are read with one slice per tap
        runs = np.flatnonzero(np.diff(k)) + 1
        for a, b in zip(np.r_[0, runs], np.r_[runs, n_other], strict=True):
            kk = int(k[a])
            acc = dst[r0:r1, a:b]
            np.multiply(src[r0 + kk + taps[0]:r1 + kk + taps[0], a:b], weights[0][a:b],
                        out=acc)
            for t, w in zip(taps[1:], weights[1:], strict=True):
                acc += src[r0 + kk + t:r1 + kk + t, a:b] * w[a:b]
    return out


def _padding(lo: float, hi: float, n: int) -> tuple[int, int]:
    """Edge padding (before, after) so that taps of positions in [lo, hi] stay inside."""
    before = max(_PAD, int(math.ceil(-lo)) + 3)
    after = max(_PAD, int(math.ceil(hi - (n - 1))) + 3)
    return before, after


def affine_separable(arr: np.ndarray, matrix, offset, out_shape: tuple[int, int], *,
                     order: int) -> np.ndarray:
    """Float32 ``out_shape`` resampling of a (ny, nx) array by matrix (2, 2) and offset (2,)
    as scipy's ``affine_transform(order=order, mode="nearest")``, order 1 or 3.  Raises
    ValueError for a map :func:`separable_ok` refuses."""
    if not separable_ok(matrix, order):
        raise ValueError(f"map {np.asarray(matrix).tolist()} (order {order}) is not close "
                         "enough to the identity for the two-pass resampling")
    (m00, m01), (m10, m11) = np.asarray(matrix, np.float64)
    o0, o1 = (float(v) for v in offset)
    h, w = out_shape
    ny, nx = arr.shape
    # pass 1 (along input rows) at input column j: row = a1*r + b1*j + c1
    a1, b1, c1 = m00 - m01 * m10 / m11, m01 / m11, o0 - m01 * o1 / m11
    # pass 2 (along input columns): col = m11*c + m10*r + o1
    rows = [a1 * r + b1 * jj + c1 for r in (0, h - 1) for jj in (0, nx - 1)]
    cols = [m11 * c + m10 * r + o1 for c in (0, w - 1) for r in (0, h - 1)]
    py = _padding(min(rows), max(rows), ny)
    px = _padding(min(cols), max(cols), nx)
    coef = np.pad(np.asarray(arr, np.float32), (py, px), mode="edge")
    if order == 3:
        for axis in (0, 1):
            ndimage.spline_filter1d(coef, 3, axis=axis, output=coef, mode="mirror")
    # padded column j_p is input column j_p - px[0]
    tmp = _pass(coef, 0, py[0], a1, b1, c1 - b1 * px[0], h, order)
    del coef
    return _pass(tmp, 1, px[0], m11, m10, o1, w, order)
