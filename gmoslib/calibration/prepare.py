"""Per-frame preparation primitives: DQ, VAR, gain, bias and flat correction.

All take and return numpy arrays, never modify their inputs, and state units: ADU before
:func:`adu_to_electrons`, electrons after.
"""

from __future__ import annotations

import math

import numpy as np

from gmoslib.instrument.detectors import HAMAMATSU_DEAD_ROWS
from gmoslib.io import dq as dqbits


class RowPlane:
    """A (ny, nx) DQ plane constant along each row, kept as its (ny,) row values (a bias's
    dead Hamamatsu rows) instead of a full uint16 plane per frame.  A
    :class:`gmoslib.io.frame.LazyPlane`: ``np.asarray`` gives the plane, ``rows(y0, y1)``
    rows y0:y1, still lazy."""

    __slots__ = ("values", "nx")
    ndim = 2
    dtype = property(lambda self: self.values.dtype)
    shape = property(lambda self: (self.values.shape[0], self.nx))
    size = property(lambda self: self.values.shape[0] * self.nx)
    nbytes = property(lambda self: self.values.nbytes)

    def __init__(self, values: np.ndarray, nx: int):
        self.values = np.asarray(values)
        if self.values.ndim != 1:
            raise ValueError(f"row values must be 1-D, got shape {self.values.shape}")
        self.nx = int(nx)

    def max(self):
        return self.values.max()

    def rows(self, y0: int, y1: int) -> RowPlane:
        return RowPlane(self.values[y0:y1], self.nx)

    def __array__(self, dtype=None, copy=None):
        out = np.repeat(self.values[:, None], self.nx, axis=1)
        return out if dtype is None else out.astype(dtype, copy=False)

    def __getitem__(self, key):
        return np.asarray(self)[key]


def any_saturated(raw_data: np.ndarray, saturation_adu: float) -> bool:
    """Whether any raw value (ADU, bias level in) is at or above the saturation level, as
    :func:`make_dq` judges it (integers: the smallest integer at or above the level)."""
    raw_data = np.asarray(raw_data)
    if not raw_data.size:
        return False
    if raw_data.dtype.kind in "iu":
        level = math.ceil(saturation_adu)
        return level <= np.iinfo(raw_data.dtype).max and int(raw_data.max()) >= level
    return bool((raw_data >= saturation_adu).any())


def make_dq(raw_data: np.ndarray, saturation_adu: float, *, bpm: np.ndarray | None = None,
            unilluminated: np.ndarray | None = None, finite: bool = False) -> np.ndarray:
    """DQ plane (uint16) of one amplifier.

    raw_data : (ny, nx) raw counts (ADU, bias level still in) -- saturation is judged on them.
    saturation_adu : pixels >= this get SATURATED (4).
    bpm : (ny, nx), non-zero = static bad pixel -> BAD_PIXEL (1).
    unilluminated : (ny, nx) bool or None -> UNILLUMINATED (64).
    Non-finite values get BAD_PIXEL (not looked for when ``finite``: integer raw data).
    """
    raw_data = np.asarray(raw_data)
    if any_saturated(raw_data, saturation_adu):
        level = math.ceil(saturation_adu) if raw_data.dtype.kind in "iu" else saturation_adu
        dq = np.multiply(raw_data >= level, np.uint16(dqbits.SATURATED), dtype=np.uint16)
    else:
        dq = np.zeros(raw_data.shape, np.uint16)
    for mask, bit in ((bpm, dqbits.BAD_PIXEL), (unilluminated, dqbits.UNILLUMINATED)):
        if mask is not None:
            mask = np.asarray(mask)
            if mask.shape != dq.shape:
                raise ValueError(f"DQ bit {bit} mask shape {mask.shape} differs from data "
                                 f"shape {dq.shape}")
            dq[mask != 0] |= bit
    if not finite and not np.isfinite(np.add.reduce(raw_data, axis=None, dtype=np.float64)):
        dq[~np.isfinite(raw_data)] |= dqbits.BAD_PIXEL  # only when some value is not finite
    return dq


def hamamatsu_dead_rows(ny: int, ybin: int, ccd_y_start: int) -> np.ndarray:
    """(ny,) bool: the binned rows of an amplifier touching the bottom 48 unbinned rows of a
    Hamamatsu CCD, which hold no data (flagged UNILLUMINATED as in the DRAGONS masks,
    reference 5.3).  ccd_y_start : 0-based unbinned CCD row of its first row (CCDSEC y1 - 1)."""
    ccd_rows = ccd_y_start + np.arange(ny) * ybin
    return ccd_rows < HAMAMATSU_DEAD_ROWS


def adu_to_electrons(sci: np.ndarray, var: np.ndarray | None, gain: float):
    """(sci * gain, var * gain^2) as float32."""
    g = np.float32(gain)
    return (np.multiply(sci, g, dtype=np.float32),
            None if var is None else np.multiply(var, g * g, dtype=np.float32))


def add_poisson_var(var: np.ndarray | None, sci_e: np.ndarray) -> np.ndarray:
    """VAR + max(sci, 0): Poisson variance of a bias-free image in electrons."""
    out = np.maximum(sci_e, np.float32(0), dtype=np.float32)
    if var is not None:
        out += var
    return out


def _check_shape(a: np.ndarray, b: np.ndarray, what: str):
    if a.shape != b.shape:
        raise ValueError(f"{what} shape {b.shape} differs from the data shape {a.shape}")


def _or_dq(dq, cal_dq, shape) -> np.ndarray:
    """New uint16 ``shape`` array: dq (zeros if None) OR the calibration's DQ (if any)."""
    out = np.zeros(shape, np.uint16) if dq is None else np.array(dq, np.uint16)
    if cal_dq is not None:
        out |= np.asarray(cal_dq, np.uint16)
    return out


def subtract_bias(sci, var, dq, bias_sci, bias_var, bias_dq):
    """sci - bias, VAR added, DQ OR-ed; new arrays.

    sci, var, dq : (ny, nx) trimmed science in ADU: float32, float32 or None, uint16 or None.
    bias_sci, bias_var, bias_dq : the master bias, same shape and unit (VAR, DQ may be None).
    Raises ValueError naming both shapes when they differ.
    """
    _check_shape(sci, bias_sci, "bias")
    out_sci = np.subtract(sci, bias_sci, dtype=np.float32)
    out_var = None
    if var is not None:
        out_var = (np.add(var, bias_var, dtype=np.float32) if bias_var is not None
                   else np.array(var, np.float32))
    return out_sci, out_var, None if dq is None else _or_dq(dq, bias_dq, sci.shape)


def flat_correct(sci, var, dq, flat_sci, flat_var, flat_dq):
    """sci / flat, VAR = var / f^2 + sci^2 var_f / f^4, DQ OR-ed; new arrays.

    sci, var, dq : (ny, nx) electrons: float32, float32 or None, uint16 or None.
    flat_sci, flat_var, flat_dq : normalised (dimensionless) master flat, same shape.
    Flat pixels <= 0 or not finite divide by 1 and get BAD_PIXEL, unless the flat's DQ
    already calls them UNILLUMINATED.  float32 throughout (rounding ~1e-7, far below noise).
    """
    _check_shape(sci, flat_sci, "flat")
    f = np.asarray(flat_sci, np.float32)
    with np.errstate(invalid="ignore"):
        bad = ~((f > 0) & (f < np.inf))  # NaN fails both
    any_bad = bad.any()
    if any_bad:
        f = np.where(bad, np.float32(1), f)
    inv = np.divide(np.float32(1), f, dtype=np.float32)
    out_sci = np.multiply(sci, inv, dtype=np.float32)
    out_var = None
    if var is not None:
        inv2 = inv * inv
        out_var = np.multiply(var, inv2, dtype=np.float32)
        if flat_var is not None:  # s^2 var_f / f^4 = (s / f)^2 var_f / f^2
            fv = np.asarray(flat_var, np.float32)
            if any_bad:
                fv = np.where(bad, np.float32(0), fv)
            term = out_sci * out_sci  # (in place: one temporary)
            term *= fv
            term *= inv2
            out_var += term
    out_dq = _or_dq(dq, flat_dq, sci.shape)
    if flat_dq is not None and any_bad:
        bad &= (np.asarray(flat_dq) & dqbits.UNILLUMINATED) == 0
    np.bitwise_or(out_dq, dqbits.BAD_PIXEL, out=out_dq, where=bad)
    return out_sci, out_var, out_dq
