"""Combining N frames pixel by pixel (reference 5.8): choose, reject, combine."""

from __future__ import annotations

import math
from collections.abc import Sequence

import bottleneck as bn
import numpy as np

from ..io import dq as dqbits
from . import clean
from .reject import minmax_reject, set_nan, sigma_clip, usable_values

OPERATIONS = ("mean", "median", "lmedian", "wtmean")
REJECTIONS = ("none", "minmax", "sigclip", "varclip")
#: Passes of sigma clipping when max_iters is None ("until nothing changes").
MAX_ITERS = 100


def combine_block(
    sci: np.ndarray,
    var: np.ndarray | None = None,
    dq: np.ndarray | None = None,
    *,
    operation: str,
    reject: str = "sigclip",
    lsigma: float | None = None,
    hsigma: float | None = None,
    mclip: bool | None = None,
    max_iters: int | None = None,
    nlow: int = 0,
    nhigh: int = 0,
    zero: Sequence[float] | None = None,
    scale: Sequence[float] | None = None,
    apply_dq: bool = True,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Combine N frames pixel by pixel (reference 5.8).

    sci : (N, ny, nx) values (ADU or electrons); var : same shape (unit^2) or None;
    dq : (N, ny, nx) uint16 or None.  Inputs are not modified.
    scale : (N,) factors applied first (sci * s, var * s^2); zero : (N,) offsets subtracted
    after scaling (each frame is brought to frame 0's background).
    apply_dq : per output pixel use only the inputs of the best DQ class
        ({good, non-linear, saturated} < cosmic ray < overlap < bad < unilluminated);
        NO_DATA and non-finite inputs are never used.
    reject : 'none'; 'minmax' (drop floor(n*nlow/N + 0.001) lowest and floor(n*nhigh/N +
        0.001) highest of the n usable values); 'sigclip' (iterate: centre = median (mclip,
        else mean after the first pass), spread = population std of the survivors, reject
        outside [centre - lsigma*spread, centre + hsigma*spread]) until no change or
        max_iters (None = 100); 'varclip' (spread = each pixel's sqrt(VAR); falls back to
        sigclip without VAR).  A pass never rejects the last surviving value of a pixel.
        lsigma, hsigma, mclip have no default: sigclip and varclip need them (the step's
        parameters); the other rejections ignore them.
    operation : 'mean' (VAR = sum VAR / n^2; without VAR sample variance / n), 'median'
        and 'lmedian' (lower middle value; VAR = (pi/2) mean(VAR) / n), 'wtmean'
        (inverse-variance weights; VAR = 1 / sum(1/VAR); needs var).
    Returns sci (ny, nx) float32, var float32, dq uint16 (OR of the combined inputs' DQ;
    NO_DATA with sci = var = 0 where nothing was usable), nrejected int16 (usable inputs
    removed by the rejection).
    """
    check_options(operation, reject, lsigma=lsigma, hsigma=hsigma, mclip=mclip)
    sci = np.asarray(sci)
    if sci.ndim < 2:
        raise ValueError(f"sci must be (N, ny, nx), got shape {sci.shape}")
    n, shape = sci.shape[0], sci.shape[1:]
    for name, arr, want in (("var", var, sci.shape), ("dq", dq, sci.shape), ("zero", zero, (n,)),
                            ("scale", scale, (n,))):
        if arr is not None and np.shape(arr) != want:
            raise ValueError(f"{name} must have shape {want}, got {np.shape(arr)} (sci has "
                             f"{sci.shape})")
    if reject == "varclip" and var is None:
        reject = "sigclip"
    iters = MAX_ITERS if max_iters is None else max(1, min(int(max_iters), MAX_ITERS))

    # (N, m): the values (unscaled float32 as they are, else a float64 copy, scaled), the
    # VARs as float64 (one column when each frame's VAR is one value, a broadcast), the DQ
    x = sci.reshape(n, -1)
    v = None if var is None else np.asarray(var).reshape(n, -1)
    if v is not None:
        v = (v[:, :1] if v.shape[1] and not v.strides[1] else v).astype(np.float64)
    d = None if dq is None else np.asarray(dq).reshape(n, -1)
    if scale is not None or zero is not None or x.dtype != np.float32:
        x = x.astype(np.float64)
        if scale is not None:
            s = np.asarray(scale, np.float64)[:, None]
            x *= s
            if v is not None:
                v *= s * s
        if zero is not None:
            x -= np.asarray(zero, np.float64)[:, None]

    types = (np.float32, np.float32, np.uint16, np.int16)
    out = [np.empty(x.shape[1], t) for t in types]
    rest = slice(None)  # the pixels for the plain path
    if operation == "mean" and reject in ("sigclip", "varclip"):
        # the one fast path: pixels whose first clipping pass rejects nothing
        done, parts = clean.mean_of_clean_pixels(x, v, d, reject == "varclip", lsigma,
                                                 hsigma, apply_dq)
        out = [p.astype(t, copy=False) for p, t in zip(parts, types, strict=True)]
        rest = np.flatnonzero(~done)
        x = x[:, rest]
        v = v if v is None or v.shape[1] == 1 else v[:, rest]
        d = None if d is None else d[:, rest]
    x = x.astype(np.float64, copy=False)  # (float64 x is a copy already: overwritten)
    parts = _plain(x, v, d, operation=operation, reject=reject, lsigma=lsigma, hsigma=hsigma,
                   mclip=mclip, iters=iters, nlow=nlow, nhigh=nhigh, apply_dq=apply_dq)
    for o, p in zip(out, parts, strict=True):
        o[rest] = p
    return tuple(o.reshape(shape) for o in out)


def check_options(operation: str, reject: str, **clipping) -> None:
    """ValueError for an unknown operation or rejection, or sigclip/varclip without lsigma,
    hsigma or mclip (None: not given)."""
    if operation not in OPERATIONS:
        raise ValueError(f"operation must be one of {OPERATIONS}, not {operation!r}")
    if reject not in REJECTIONS:
        raise ValueError(f"rejection must be one of {REJECTIONS}, not {reject!r}")
    missing = [name for name, value in clipping.items() if value is None]
    if reject in ("sigclip", "varclip") and missing:
        raise ValueError(f"{reject} rejection needs {', '.join(missing)} (the step's "
                         "parameters; no default here)")


def _plain(x, v, d, *, operation, reject, lsigma, hsigma, mclip, iters, nlow, nhigh,
           apply_dq):
    """Every pixel of x (N, m) float64 (scaled, overwritten), v (N, m) or (N, 1) float64 or
    None (overwritten), d (N, m) or None, with NaN-masked arithmetic: the values not used are
    NaN.  Returns (sci, var, dq, nrejected), each (m,)."""
    sigma = np.sqrt(v) if reject == "varclip" else None  # ((N, 1) when one VAR per frame)
    if v is not None and v.shape != x.shape:
        v = np.broadcast_to(v, x.shape).copy()
    usable = usable_values(x, d, apply_dq)
    x[~usable] = np.nan
    n_usable = usable.sum(axis=0)
    del usable
    if reject == "minmax" and (nlow or nhigh):
        minmax_reject(x, n_usable, nlow, nhigh)
    elif reject in ("sigclip", "varclip"):
        sigma_clip(x, sigma, lsigma, hsigma, mclip, iters)
    kept = ~np.isnan(x)
    n_kept = kept.sum(axis=0)
    if v is not None:
        set_nan(v, ~kept)
    with np.errstate(invalid="ignore", divide="ignore"):
        sci, var = _combined(x, v, n_kept, operation)
    out_dq = (np.zeros(x.shape[1], np.uint16) if d is None else
              np.bitwise_or.reduce(d * kept, axis=0).astype(np.uint16))
    none_left = n_kept == 0
    sci[none_left] = 0.0
    var[none_left | ~np.isfinite(var)] = 0.0
    out_dq[none_left] |= dqbits.NO_DATA
    return sci, var, out_dq, n_usable - n_kept


def _combined(x, v, n_kept, operation):
    """(value, VAR) of each pixel from its non-NaN values x (N, m) and VARs v (or None)."""
    if operation == "mean":
        if v is None:
            return bn.nanmean(x, axis=0), bn.nanvar(x, axis=0, ddof=1) / n_kept
        return bn.nanmean(x, axis=0), bn.nansum(v, axis=0) / n_kept**2
    if operation in ("median", "lmedian"):
        if operation == "median":
            sci = bn.nanmedian(x, axis=0)
        else:  # the lower of the two middle values (NaNs sort last)
            middle = np.maximum((n_kept - 1) // 2, 0)
            sci = np.take_along_axis(np.sort(x, axis=0), middle[None], axis=0)[0]
        var = bn.nanvar(x, axis=0, ddof=1) if v is None else bn.nanmean(v, axis=0)
        return sci, (math.pi / 2) * var / n_kept
    if v is None:
        raise ValueError("wtmean needs input variances")
    w = 1.0 / v
    weight = bn.nansum(w, axis=0)
    return bn.nansum(x * w, axis=0) / weight, 1.0 / weight
