"""Overscan correction (reference 5.5).

GMOS amplifiers have a serial overscan strip of 32 binned columns beside the data (left or
right) and no row overscan.  The default correction subtracts, row by row, the mean of the
overscan columns that are neither contaminated by the data (``nbiascontam`` columns next to
the data) nor the far-edge column.  Optionally a smooth function of the row is fitted to
those row means (Chebyshev polynomial or cubic spline, with sigma clipping) and subtracted.
"""

from __future__ import annotations

import numpy as np

from gmoslib.instrument.sections import Section, format_section


def overscan_columns(biassec: Section, datasec: Section, nbiascontam: int) -> slice:
    """Columns of the overscan strip kept for the bias estimate (0-based slice)."""
    if biassec.x1 >= datasec.x2:  # strip right of the data
        start, stop = biassec.x1 + nbiascontam, biassec.x2 - 1
    elif biassec.x2 <= datasec.x1:  # strip left of the data
        start, stop = biassec.x1 + 1, biassec.x2 - nbiascontam
    else:
        raise ValueError(f"overscan {format_section(biassec)} overlaps the data "
                         f"{format_section(datasec)}")
    if stop - start < 1:
        raise ValueError(f"overscan {format_section(biassec)} leaves no columns after "
                         f"dropping {nbiascontam} contaminated and 1 edge column")
    return slice(start, stop)


#: Chebyshev degree used when ``order`` is None (a smooth, low-order bias drift).
DEFAULT_CHEBYSHEV_ORDER = 6
#: Rows in the running median used to flag deviant overscan rows (reference 5.5 step 4).
RUNNING_MEDIAN_ROWS = 5


def running_median(profile: np.ndarray, window: int = RUNNING_MEDIAN_ROWS) -> np.ndarray:
    """Running median of a 1-D profile (window rows centred; edges use the nearest rows)."""
    half = window // 2
    padded = np.pad(np.asarray(profile, np.float64), half, mode="edge")
    windows = np.lib.stride_tricks.sliding_window_view(padded, window)
    return np.median(windows, axis=1)


def _fit_rows(profile: np.ndarray, sigma: np.ndarray, good: np.ndarray, function: str,
              order: int | None, lsigma: float, hsigma: float, niter: int) -> np.ndarray:
    """Sigma-clipped, 1/sigma-weighted fit of a 1-D bias profile (ADU) along the rows.

    good : initial row mask.  chebyshev: degree ``order`` (None: DEFAULT_CHEBYSHEV_ORDER);
    spline3: cubic least-squares spline of ``order`` equal pieces, for None a smoothing
    spline with chi^2 = rows used.  Up to ``niter`` clipping passes (fewer if nothing changes).
    """
    from scipy.interpolate import LSQUnivariateSpline, UnivariateSpline  # only for fits

    y = np.arange(profile.size, dtype=float)
    good = good & np.isfinite(profile)
    for _ in range(max(niter, 0) + 1):  # (at least one fit)
        if good.sum() < 4:
            raise ValueError(f"only {good.sum()} overscan rows left to fit")
        w = 1.0 / sigma[good]
        if function == "chebyshev":
            deg = DEFAULT_CHEBYSHEV_ORDER if order is None else int(order)
            deg = min(deg, int(good.sum()) - 1)
            fit = np.polynomial.Chebyshev.fit(y[good], profile[good], deg, w=w,
                                              domain=[0, profile.size - 1])
        elif order is None:  # spline3, smoothing spline
            fit = UnivariateSpline(y[good], profile[good], w=w, k=3, s=float(good.sum()))
        else:  # spline3 with `order` pieces
            yg = y[good]
            knots = np.linspace(yg[0], yg[-1], max(1, int(order)) + 1)[1:-1]
            fit = LSQUnivariateSpline(yg, profile[good], knots, w=w, k=3)
        model = fit(y)
        with np.errstate(invalid="ignore"):
            resid = (profile - model) / sigma
            new_good = good & (resid >= -lsigma) & (resid <= hsigma)
        if np.array_equal(new_good, good):
            break
        good = new_good
    return model


def _row_stats(strip: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and sample standard deviation (ddof 1; 0 for one column) of every row of
    (ny, ncols) values, as float64.  Integers (raw counts) are summed exactly in int64."""
    ny, ncols = strip.shape
    if strip.dtype.kind in "iu" and strip.dtype.itemsize <= 2:
        wide = strip.astype(np.int64)
        s1 = wide.sum(axis=1)
        profile = s1 / ncols
        if ncols < 2:
            return profile, np.zeros(ny)
        s2 = np.einsum("ij,ij->i", wide, wide)
        return profile, np.sqrt((ncols * s2 - s1 * s1) / (ncols * (ncols - 1.0)))
    strip = np.asarray(strip, np.float64)
    profile = strip.mean(axis=1)
    return profile, (strip.std(axis=1, ddof=1) if ncols > 1 else np.zeros(ny))


def measure_overscan(
    raw: np.ndarray,
    datasec: Section,
    biassec: Section,
    *,
    nbiascontam: int,
    read_noise_adu: float,
    gain: float = 1.0,
    function: str,
    order: int | None = None,
    lsigma: float,
    hsigma: float,
    niter: int,
) -> tuple[np.ndarray, dict]:
    """The overscan level of every row of a raw amplifier.

    raw : (ny, nx) raw counts, ADU (not modified); only the overscan strip is read.
    datasec, biassec : 0-based :class:`Section` of the data and of the overscan strip.
    nbiascontam : overscan columns next to the data to drop (4 EEV/Hamamatsu, 5 e2vDD).
    read_noise_adu : read noise (ADU); the expected per-row noise is read_noise_adu/sqrt(ncols).
    gain : e-/ADU, only used to express OVERRDNS in electrons.
    function : 'none' (each row's overscan mean, the GMOS default), 'chebyshev' or 'spline3'
        (a sigma-clipped fit of the row means; see :func:`_fit_rows`).  Rows deviating from
        a 5-row running median by more than hsigma/lsigma x the expected noise are left out
        of the fit (for spline3 with order None they are replaced by the running median).
    order, lsigma, hsigma, niter : fit order, clipping limits (sigma) and clipping passes.

    Returns the level (ny,) float64 in ADU (0 for rows outside the overscan section) and a
    dict of header values: OVERSEC (1-based section of the overscan pixels used), OVERSCAN
    (median of the row levels, ADU), OVERRMS (fit rms, or the expected per-row noise for
    'none', ADU) and OVERRDNS (rms of the per-row standard deviations excluding the first
    and last row, x gain: electrons).
    """
    if function not in ("none", "spline3", "chebyshev"):
        raise ValueError(f"overscan function must be none, spline3 or chebyshev, not "
                         f"{function!r}")
    cols = overscan_columns(biassec, datasec, nbiascontam)
    strip = np.asarray(raw[biassec.y1:biassec.y2, cols])
    ncols = strip.shape[1]
    profile, row_std = _row_stats(strip)
    sigma_row = read_noise_adu / np.sqrt(ncols)
    if function == "none":  # flagged rows are not replaced in this mode (reference 5.5)
        model = profile
        rms = sigma_row
    else:
        sig = max(sigma_row, 1e-6)
        smooth = running_median(profile)
        flagged = ((profile - smooth) > hsigma * sig) | ((profile - smooth) < -lsigma * sig)
        fit_input = profile
        if function == "spline3" and order is None:
            fit_input = np.where(flagged, smooth, profile)
            flagged = np.zeros_like(flagged)
        model = _fit_rows(fit_input, np.full(profile.size, sig), ~flagged, function, order,
                          lsigma, hsigma, niter)
        rms = float(np.sqrt(np.mean((fit_input - model) ** 2)))
    bias = np.zeros(raw.shape[0], dtype=np.float64)
    bias[biassec.y1:biassec.y2] = model
    inner = row_std[1:-1] if row_std.size > 2 else row_std
    info = {
        "OVERSEC": format_section(Section(cols.start, cols.stop, biassec.y1, biassec.y2)),
        "OVERSCAN": float(np.median(model)),
        "OVERRMS": float(rms),
        "OVERRDNS": float(np.sqrt(np.mean(inner**2)) * gain) if inner.size else 0.0,
    }
    return bias, info


def subtract_rows(data: np.ndarray, level: np.ndarray, rows: int = 256) -> np.ndarray:
    """data (ny, nx) minus a per-row level (ny,) float64, as float32, ``rows`` rows at a time.

    Integers of up to 16 bits and float32 data: the level is subtracted in two float32 parts
    (its float32 value, then the remainder): the float64 difference rounded once near the
    level (bias-dominated pixels), within 1 ulp of it elsewhere, at a third of the cost.
    Wider integers and float64: subtracted in float64, rounded once.
    """
    out = np.empty(data.shape, np.float32)
    level = np.asarray(level, np.float64)[:, None]
    split = (data.dtype.kind in "iu" and data.dtype.itemsize <= 2) or data.dtype == np.float32
    for y0 in range(0, data.shape[0], rows):
        part, lvl, res = data[y0:y0 + rows], level[y0:y0 + rows], out[y0:y0 + rows]
        if split:
            hi = lvl.astype(np.float32)
            np.copyto(res, part, casting="unsafe")
            res -= hi
            res -= (lvl - hi).astype(np.float32)
        else:
            np.subtract(part, lvl, out=res, dtype=np.float64, casting="same_kind")
    return out


class RowLevelImage:
    """Overscan-corrected pixels computed where they are used (a prepared bias, read only by
    the stack a block of rows at a time: half the memory of a float32 copy): ``stored``
    (ny, nx) raw integers (any byte order, a view of the file's bytes) minus a (ny,) float64
    level per row, as float32 (:func:`subtract_rows`).  A :class:`gmoslib.io.frame.LazyPlane`:
    ``np.asarray`` gives the (ny, nx) float32 array, ``rows(y0, y1)`` rows y0:y1, still lazy.
    """

    __slots__ = ("stored", "level", "source")
    dtype = np.dtype(np.float32)
    ndim = 2
    shape = property(lambda self: self.stored.shape)
    size = property(lambda self: self.stored.size)
    nbytes = property(lambda self: self.stored.nbytes + self.level.nbytes)

    def __init__(self, stored: np.ndarray, level: np.ndarray,
                 source: tuple[str, int, int] | None = None):
        level = np.asarray(level, np.float64)
        if stored.ndim != 2 or level.shape != stored.shape[:1]:
            raise ValueError(f"level shape {level.shape} does not match data rows "
                             f"{stored.shape}")
        self.stored = stored
        self.level = level
        #: (file path, byte offset of stored[0, 0], bytes from one row to the next) when
        #: the integers can be read again from an uncompressed file
        self.source = source

    def __len__(self) -> int:
        return self.stored.shape[0]

    def rows(self, y0: int, y1: int) -> RowLevelImage:
        return RowLevelImage(self.stored[y0:y1], self.level[y0:y1])

    def __array__(self, dtype=None, copy=None):
        out = subtract_rows(self.stored, self.level)
        return out if dtype is None else out.astype(dtype, copy=False)

    def __getitem__(self, key):
        """numpy indexing; a first index that is a slice computes only those rows."""
        first, rest = (key[0], key[1:]) if isinstance(key, tuple) and key else (key, ())
        if isinstance(first, slice) and first.step in (None, 1):
            y0, y1, _ = first.indices(self.stored.shape[0])
            rows = np.asarray(self.rows(y0, max(y0, y1)))
            return rows[(slice(None), *rest)] if rest else rows
        return np.asarray(self)[key]
