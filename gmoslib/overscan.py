"""Overscan correction (reference 5.5).

GMOS amplifiers have a serial overscan strip of 32 binned columns beside the data (left or
right) and no row overscan.  The default correction subtracts, row by row, the mean of the
overscan columns that are neither contaminated by the data (``nbiascontam`` columns next to
the data) nor the far-edge column.  Optionally a smooth function of the row is fitted to
those row means (Chebyshev polynomial or cubic spline, with sigma clipping) and subtracted.
"""

from __future__ import annotations

import numpy as np
from scipy.interpolate import LSQUnivariateSpline

from .sections import Section, format_section


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


def _fit_rows(profile: np.ndarray, sigma: np.ndarray, function: str, order: int | None,
              lsigma: float, hsigma: float, niter: int) -> np.ndarray:
    """Sigma-clipped fit of a 1-D bias profile (ADU) along the rows."""
    y = np.arange(profile.size, dtype=float)
    good = np.isfinite(profile)
    model = profile.copy()
    for _ in range(max(niter, 0) + 1):
        if function == "chebyshev":
            deg = 6 if order is None else order
            coef = np.polynomial.chebyshev.chebfit(y[good], profile[good], deg,
                                                   w=1.0 / sigma[good])
            model = np.polynomial.chebyshev.chebval(y, coef)
        elif function == "spline3":
            pieces = max(1, 6 if order is None else order)
            knots = np.linspace(y[good][0], y[good][-1], pieces + 1)[1:-1]
            spline = LSQUnivariateSpline(y[good], profile[good], knots, w=1.0 / sigma[good],
                                         k=3)
            model = spline(y)
        else:
            raise ValueError(f"unknown overscan function {function!r}")
        resid = (profile - model) / sigma
        new_good = np.isfinite(profile) & (resid > -lsigma) & (resid < hsigma)
        if np.array_equal(new_good, good):
            break
        good = new_good
    return model


def subtract_overscan(
    raw: np.ndarray,
    datasec: Section,
    biassec: Section,
    *,
    nbiascontam: int,
    read_noise_adu: float,
    gain: float = 1.0,
    function: str = "none",
    order: int | None = None,
    lsigma: float = 3.0,
    hsigma: float = 3.0,
    niter: int = 0,
) -> tuple[np.ndarray, dict]:
    """Subtract the overscan level from every row of a raw amplifier.

    raw : (ny, nx) raw counts, ADU (not modified).  Returns the corrected (ny, nx) float32
    array (whole amplifier, overscan included; trim with :func:`trim_to_datasec`) and the
    header values OVERSEC, OVERSCAN (median level, ADU), OVERRMS (ADU) and OVERRDNS (read
    noise measured in the overscan, electrons).
    """
    if function not in ("none", "spline3", "chebyshev"):
        raise ValueError(f"overscan function must be none, spline3 or chebyshev, not "
                         f"{function!r}")
    raw = np.asarray(raw, dtype=np.float32)
    cols = overscan_columns(biassec, datasec, nbiascontam)
    strip = raw[biassec.y1:biassec.y2, cols].astype(np.float64)
    ncols = strip.shape[1]
    profile = strip.mean(axis=1)
    row_std = strip.std(axis=1, ddof=1) if ncols > 1 else np.zeros_like(profile)
    sigma_row = read_noise_adu / np.sqrt(ncols)
    if function == "none":
        model = profile
        rms = sigma_row
    else:
        model = _fit_rows(profile, np.full(profile.size, max(sigma_row, 1e-6)), function,
                          order, lsigma, hsigma, niter)
        rms = float(np.sqrt(np.mean((profile - model) ** 2)))
    bias = np.zeros(raw.shape[0], dtype=np.float64)
    bias[biassec.y1:biassec.y2] = model
    corrected = (raw - bias[:, None]).astype(np.float32)
    inner = row_std[1:-1] if row_std.size > 2 else row_std
    info = {
        "OVERSEC": format_section(Section(cols.start, cols.stop, biassec.y1, biassec.y2)),
        "OVERSCAN": float(np.median(model)),
        "OVERRMS": float(rms),
        "OVERRDNS": float(np.sqrt(np.mean(inner**2)) * gain) if inner.size else 0.0,
    }
    return corrected, info


def trim_to_datasec(array: np.ndarray, datasec: Section) -> np.ndarray:
    """The data region of an amplifier array (a copy)."""
    return np.array(array[datasec.slice])
