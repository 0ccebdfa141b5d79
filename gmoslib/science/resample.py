"""Resample frames onto a common pixel grid (reference 5.17, resampleToCommonFrame).

Pixels are 0-based, centres at integers, x = column.  A *transform* is a 3x3 affine matrix
mapping a frame pixel (x, y, 1) to the reference frame's pixel (identity for the reference).
An output grid is a shape (ny, nx) and an integer ``offset = (x0, y0)``: output pixel (X, Y)
is reference pixel (X + x0, Y + y0).  An output pixel is covered when its centre maps inside
the frame's pixel-centre box (1e-6 px tolerance); uncovered pixels get SCI 0, VAR 0, DQ NO_DATA.

* SCI is interpolated (order 0 nearest, 1 bilinear, 3 cubic spline as
  :func:`scipy.ndimage.affine_transform`) and, with ``conserve``, multiplied by J = |det| of
  the output -> input map; VAR by J**2.
* VAR: order 0 copies it, order 1 gives the exact ``sum(w_i**2 var_i)``, order 3 interpolates
  it linearly (the reference's intent: non-negative weights never undershoot next to a bright
  or flagged pixel).  That over-estimates one pixel's variance (up to 1.75x at half-pixel
  shifts) but keeps the noise of sums over many pixels.
* DQ, order 3 (reference): each bit plane is spline-interpolated and the bit set where
  ``|value| > dq_threshold`` (0.001).  A pure translation uses the single-pixel form, all bits
  at once: set when one input pixel with the bit has ``|spline weight| > dq_threshold``
  (~1 % of pixels differ at the fringe of dense masks).  Orders 0 and 1 use the single-pixel
  rule with their own weights.  Edges and chip gaps thus never leak into good pixels.
* Pure integer shifts are copied exactly.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from gmoslib.io.dq import DQ_DTYPE, NO_DATA

__all__ = ["output_frame", "resample_to_frame"]

_EPS = 1e-6
_ROWS_PER_BLOCK = 256
_K = 10  # half-width of the sampled cubic-spline kernel (eta(10) ~ 2e-6)


def _check_transform(transform, name="transform") -> np.ndarray:
    t = np.asarray(transform, dtype=np.float64)
    if t.shape != (3, 3):
        raise ValueError(f"{name}: expected a 3x3 affine matrix, got shape {t.shape}")
    if not np.allclose(t[2], [0.0, 0.0, 1.0]):
        raise ValueError(f"{name}: last row must be [0, 0, 1] for an affine matrix, got {t[2]}")
    if abs(np.linalg.det(t[:2, :2])) < 1e-12:
        raise ValueError(f"{name}: singular linear part {t[:2, :2].tolist()}")
    return t


def _footprint(shape, t) -> tuple[float, float, float, float]:
    ny, nx = shape
    corners = np.array([[0, 0, 1], [nx - 1, 0, 1], [0, ny - 1, 1], [nx - 1, ny - 1, 1]], float)
    mapped = corners @ t.T
    return mapped[:, 0].min(), mapped[:, 0].max(), mapped[:, 1].min(), mapped[:, 1].max()


def output_frame(shapes, transforms, *, footprint: str = "union", reference: int = 0):
    """``(nx, ny, (x0, y0))`` of the grid holding frames of (ny, nx) ``shapes`` mapped by
    ``transforms`` into the reference frame: the bounding box of every frame's pixel-centre
    footprint ('union') or of frame ``reference``'s only ('reference').  Box edges within
    1e-6 px of an integer are rounded."""
    shapes = [tuple(int(v) for v in s) for s in shapes]
    if len(shapes) == 0 or len(shapes) != len(transforms):
        raise ValueError(f"output_frame: need one transform per shape, got {len(shapes)} "
                         f"shapes and {len(transforms)} transforms")
    if footprint not in ("union", "reference"):
        raise ValueError(f"output_frame: footprint must be 'union' or 'reference', got "
                         f"{footprint!r}")
    mats = [_check_transform(t, f"transforms[{i}]") for i, t in enumerate(transforms)]
    idx = range(len(shapes)) if footprint == "union" else [reference]
    boxes = np.array([_footprint(shapes[i], mats[i]) for i in idx])
    x0 = int(np.floor(boxes[:, 0].min() + _EPS))
    x1 = int(np.ceil(boxes[:, 1].max() - _EPS))
    y0 = int(np.floor(boxes[:, 2].min() + _EPS))
    y1 = int(np.ceil(boxes[:, 3].max() - _EPS))
    return x1 - x0 + 1, y1 - y0 + 1, (x0, y0)


def _coords(m, x_out, y_rows):
    """Input (x, y) float64 for output columns x_out and output rows y_rows (2-D arrays)."""
    yy = y_rows[:, None].astype(np.float64)
    xx = x_out[None, :].astype(np.float64)
    return m[0, 0] * xx + m[0, 1] * yy + m[0, 2], m[1, 0] * xx + m[1, 1] * yy + m[1, 2]


def _covered(x, y, nx, ny):
    return (x >= -_EPS) & (x <= nx - 1 + _EPS) & (y >= -_EPS) & (y <= ny - 1 + _EPS)


def _integer_shift(sci, var, dq, dx, dy, out_shape):
    """Output (Y, X) copied from input (Y + dy, X + dx); NO_DATA outside the input."""
    ny_o, nx_o = out_shape
    ny, nx = sci.shape
    outputs = (np.zeros(out_shape, np.float32), np.zeros(out_shape, np.float32),
               np.full(out_shape, NO_DATA, DQ_DTYPE))
    xs, xe = max(0, -dx), min(nx_o, nx - dx)
    ys, ye = max(0, -dy), min(ny_o, ny - dy)
    if xs < xe and ys < ye:
        for out, arr in zip(outputs, (sci, var, dq), strict=True):
            out[ys:ye, xs:xe] = arr[ys + dy:ye + dy, xs + dx:xe + dx]
    return outputs


def _linear_block(sci, var, dq, x, y, order, dq_threshold):
    """Order 0/1 interpolation at input positions (x, y) (all covered or masked later)."""
    ny, nx = sci.shape
    if order == 0:
        ix = np.clip(np.floor(x + 0.5).astype(np.intp), 0, nx - 1)
        iy = np.clip(np.floor(y + 0.5).astype(np.intp), 0, ny - 1)
        return sci[iy, ix], var[iy, ix], dq[iy, ix]
    ix = np.clip(np.floor(x).astype(np.intp), 0, max(nx - 2, 0))
    iy = np.clip(np.floor(y).astype(np.intp), 0, max(ny - 2, 0))
    fx = np.clip(x - ix, 0.0, 1.0) if nx > 1 else np.zeros_like(x)
    fy = np.clip(y - iy, 0.0, 1.0) if ny > 1 else np.zeros_like(y)
    ix1 = np.minimum(ix + 1, nx - 1)
    iy1 = np.minimum(iy + 1, ny - 1)
    o_sci = np.zeros(x.shape, np.float64)
    o_var = np.zeros(x.shape, np.float64)
    o_dq = np.zeros(x.shape, DQ_DTYPE)
    for jy, wy in ((iy, 1.0 - fy), (iy1, fy)):
        for jx, wx in ((ix, 1.0 - fx), (ix1, fx)):
            w = wy * wx
            o_sci += w * sci[jy, jx]
            o_var += w * w * var[jy, jx]
            o_dq |= np.where(w > dq_threshold, dq[jy, jx], 0).astype(DQ_DTYPE)
    return o_sci, o_var, o_dq


def _cardinal_cubic_weights(frac: float) -> np.ndarray:
    """Weights eta(frac - k), k = -K..K, of the interpolating cubic spline (sampled exactly)."""
    delta = np.zeros(2 * _K + 1)
    delta[_K] = 1.0
    pos = _K + frac - np.arange(-_K, _K + 1)
    return ndimage.map_coordinates(delta, [pos], order=3, mode="nearest")


def _translated_dq_cubic(dq, ty, tx, out_shape, threshold):
    """DQ of a pure translation (output (Y, X) samples input (Y + ty, X + tx)), all bits at
    once: a bit is set when an input pixel carrying it has |eta(fy-ky) eta(fx-kx)| > threshold.

    Separably: the columns kx passing for kernel row ky grow with |wy|, so rows are visited by
    increasing |wy| while ``cols`` accumulates the OR of the column shifts so far (~2 x 21
    passes instead of one per kernel element)."""
    iy, ix = int(np.floor(ty)), int(np.floor(tx))
    wy = _cardinal_cubic_weights(ty - iy)
    wx = _cardinal_cubic_weights(tx - ix)
    ny_o, nx_o = out_shape
    ny, nx = dq.shape
    padded = np.pad(dq, _K, mode="edge")
    out = np.zeros(out_shape, DQ_DTYPE)
    cols = np.zeros((ny + 2 * _K, nx_o), DQ_DTYPE)  # OR of the column shifts added so far
    added: set[int] = set()
    for ky in sorted(range(-_K, _K + 1), key=lambda k: abs(wy[k + _K])):
        wanted = [kx for kx in range(-_K, _K + 1)
                  if abs(wy[ky + _K] * wx[kx + _K]) > threshold]
        if not wanted:
            continue
        for kx in sorted(set(wanted) - added):
            added.add(kx)
            sx = ix + kx + _K  # cols[:, X] |= padded[:, X + sx]
            x0, x1 = max(0, -sx), min(nx_o, nx + 2 * _K - sx)
            if x0 < x1:
                cols[:, x0:x1] |= padded[:, x0 + sx : x1 + sx]
        sy = iy + ky + _K  # out[Y] |= cols[Y + sy]
        y0, y1 = max(0, -sy), min(ny_o, ny + 2 * _K - sy)
        if y0 < y1:
            out[y0:y1] |= cols[y0 + sy : y1 + sy]
    return out


_PAD = 12  # edge padding before the spline prefilter, as scipy does for mode="nearest"


def _bspline3_weights(frac: float) -> np.ndarray:
    """Cubic B-spline weights of the taps floor-1 .. floor+2 at fractional position frac."""
    f = float(frac)
    return np.array([(1 - f) ** 3, 3 * f**3 - 6 * f**2 + 4, -3 * f**3 + 3 * f**2 + 3 * f + 1,
                     f**3]) / 6.0


def _translate_cubic(arr: np.ndarray, ty: float, tx: float, out_shape) -> np.ndarray:
    """Float32 ``out_shape`` array of arr at (Y + ty, X + tx): scipy's
    affine_transform(order=3, mode="nearest") for a pure translation, as two 1-D passes of 4
    taps.  Pixels whose taps leave the padded input are 0 (the caller masks them)."""
    # float32 coefficients: half the memory traffic; rounding ~1e-7 of the values
    coef = np.pad(np.asarray(arr, np.float32), _PAD, mode="edge")
    for axis in (0, 1):
        ndimage.spline_filter1d(coef, 3, axis=axis, output=coef, mode="mirror")
    out = coef
    for axis, t, n_out in ((0, ty, out_shape[0]), (1, tx, out_shape[1])):
        i = int(np.floor(t))
        corr = ndimage.correlate1d(out, _bspline3_weights(t - i), axis=axis, mode="nearest",
                                   output=np.float32)
        # corr[p] = sum_k w_k coef[p + k - 2]; output Y needs coef[Y + i + PAD - 1 + k]
        start = i + _PAD + 1
        lo, hi = max(0, -start), min(n_out, corr.shape[axis] - start)
        out = np.zeros((n_out, corr.shape[1]) if axis == 0 else (corr.shape[0], n_out),
                       np.float32)
        if lo < hi:
            np.moveaxis(out, axis, 0)[lo:hi] = np.moveaxis(corr, axis, 0)[start + lo:start + hi]
    return out


def _translate_linear(arr: np.ndarray, ty: float, tx: float, out_shape) -> np.ndarray:
    """Float32 ``out_shape`` array of arr linearly interpolated at (Y + ty, X + tx), edge
    values beyond the input (scipy's mode="nearest")."""
    out = np.asarray(arr, np.float32)
    for axis, t, n_out in ((0, ty, out_shape[0]), (1, tx, out_shape[1])):
        i = int(np.floor(t))
        f = np.float32(t - i)
        n_in = out.shape[axis]
        idx = np.arange(n_out) + i
        lo = np.take(out, np.clip(idx, 0, n_in - 1), axis=axis)
        if f == 0:
            out = lo
            continue
        hi = np.take(out, np.clip(idx + 1, 0, n_in - 1), axis=axis)
        lo *= np.float32(1) - f
        hi *= f
        lo += hi
        out = lo
    return out


def resample_to_frame(
    sci,
    var,
    dq,
    transform,
    out_shape,
    out_offset,
    *,
    order: int,
    conserve: bool = True,
    dq_threshold: float = 0.001,
):
    """(sci, var, dq) float32/float32/uint16 of shape ``out_shape``: one frame resampled onto
    the grid of :func:`output_frame` (rules in the module docstring).

    sci, var: (ny, nx) electrons and electrons**2 (var None: zeros); dq: uint16 or None;
    transform: frame pixel -> reference pixel; order 0, 1 or 3."""
    sci = np.asarray(sci)
    if sci.ndim != 2:
        raise ValueError(f"resample_to_frame: sci must be 2-D (ny, nx), got shape {sci.shape}")
    var = np.zeros(sci.shape, np.float32) if var is None else np.asarray(var)
    dq = np.zeros(sci.shape, DQ_DTYPE) if dq is None else np.asarray(dq).astype(DQ_DTYPE)
    for name, arr in (("var", var), ("dq", dq)):
        if arr.shape != sci.shape:
            raise ValueError(f"resample_to_frame: {name} shape {arr.shape} differs from sci "
                             f"shape {sci.shape}")
    if order not in (0, 1, 3):
        raise ValueError(f"resample_to_frame: order must be 0, 1 or 3, got {order}")
    t = _check_transform(transform)
    ny_o, nx_o = (int(v) for v in out_shape)
    x0, y0 = (int(v) for v in out_offset)
    shift = np.array([[1.0, 0.0, x0], [0.0, 1.0, y0], [0.0, 0.0, 1.0]])
    m = np.linalg.inv(t) @ shift  # output pixel -> input pixel
    jac = abs(np.linalg.det(m[:2, :2])) if conserve else 1.0

    lin_identity = np.allclose(m[:2, :2], np.eye(2), rtol=0, atol=1e-12)
    trans = m[:2, 2]
    if lin_identity and np.allclose(trans, np.round(trans), rtol=0, atol=1e-9):
        dx, dy = (int(v) for v in np.round(trans))
        return _integer_shift(sci, var, dq, dx, dy, (ny_o, nx_o))

    ny, nx = sci.shape
    o_sci = np.zeros((ny_o, nx_o), np.float32)
    o_var = np.zeros((ny_o, nx_o), np.float32)
    o_dq = np.zeros((ny_o, nx_o), DQ_DTYPE)
    x_out = np.arange(nx_o)
    cover = np.zeros((ny_o, nx_o), bool)
    for r0 in range(0, ny_o, _ROWS_PER_BLOCK):
        rows = np.arange(r0, min(ny_o, r0 + _ROWS_PER_BLOCK))
        x, y = _coords(m, x_out, rows)
        block = slice(rows[0], rows[-1] + 1)
        cover[block] = _covered(x, y, nx, ny)
        if order <= 1:
            o_sci[block], o_var[block], o_dq[block] = _linear_block(sci, var, dq, x, y, order,
                                                                    dq_threshold)

    if order == 3:
        # scipy's (row, col) order: input (y, x) = A @ (Y, X) + b
        a = np.array([[m[1, 1], m[1, 0]], [m[0, 1], m[0, 0]]])
        if a[0, 1] == 0.0 and a[1, 0] == 0.0:
            a = np.diag(a)  # diagonal matrix: scipy's faster zoom/shift code path
        b = np.array([m[1, 2], m[0, 2]])
        kw = dict(matrix=a, offset=b, output_shape=(ny_o, nx_o), order=3, mode="nearest")
        present = 0  # DQ bits still to resample one plane at a time
        if a.ndim == 1 and np.allclose(a, 1.0, rtol=0, atol=1e-12):
            # pure translation: the same spline, separably; DQ in one pass
            o_sci[:] = _translate_cubic(sci, b[0], b[1], (ny_o, nx_o))
            o_var[:] = _translate_linear(var, b[0], b[1], (ny_o, nx_o))
            o_dq[:] = _translated_dq_cubic(dq, b[0], b[1], (ny_o, nx_o), dq_threshold)
        else:
            ndimage.affine_transform(sci.astype(np.float32), output=o_sci, **kw)
            ndimage.affine_transform(var.astype(np.float32), output=o_var,
                                     **{**kw, "order": 1})
            present = int(np.bitwise_or.reduce(dq.ravel())) if dq.size else 0
        np.maximum(o_var, 0.0, out=o_var)
        for bit in (1 << k for k in range(16) if present >> k & 1):
            plane = ((dq & bit) != 0).astype(np.float32)
            res = ndimage.affine_transform(plane, output=np.float32, **kw)
            o_dq[np.abs(res) > dq_threshold] |= bit

    if jac != 1.0:
        o_sci *= np.float32(jac)
        o_var *= np.float32(jac * jac)
    o_sci[~cover] = 0.0
    o_var[~cover] = 0.0
    o_dq[~cover] = NO_DATA
    return o_sci, o_var, o_dq
