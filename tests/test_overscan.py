"""Tests of gmoslib.calibration.overscan with synthetic amplifiers (known bias level and sky)."""

import numpy as np
import pytest

from gmoslib.calibration.overscan import (
    measure_overscan,
    overscan_columns,
    running_median,
    subtract_rows,
)
from gmoslib.instrument.sections import Section, parse_section


def subtract_overscan(raw, datasec, biassec, **options):
    """(whole raw amplifier minus its overscan level per row, float32; header dict)."""
    raw = np.asarray(raw, dtype=np.float32)
    level, info = measure_overscan(raw, datasec, biassec, **options)
    return subtract_rows(raw, level), info


#: the fit's clipping limits (sigma), passed as the recipes pass overscanCorrect's values
CLIP = {"lsigma": 3.0, "hsigma": 3.0}


def _amp(right=True, ny=60, ndata=40, nover=32, seed=0, rn_adu=0.0, slope=0.0):
    """Raw amp with bias = 1000 + slope*row and sky 50 in the data."""
    rng = np.random.default_rng(seed)
    nx = ndata + nover
    rows = np.arange(ny)[:, None]
    raw = np.full((ny, nx), 1000.0) + slope * rows + rng.normal(0, rn_adu or 1e-9, (ny, nx))
    if right:
        data, over = Section(0, ndata, 0, ny), Section(ndata, nx, 0, ny)
    else:
        data, over = Section(nover, nx, 0, ny), Section(0, nover, 0, ny)
    raw[data.slice] += 50.0
    # the columns next to the data are contaminated, the far edge column too
    if right:
        raw[:, ndata:ndata + 4] += 30
        raw[:, -1] += 500
    else:
        raw[:, nover - 4:nover] += 30
        raw[:, 0] += 500
    return raw.astype(np.float32), data, over


def test_overscan_columns_right_and_left():
    assert overscan_columns(Section(40, 72, 0, 5), Section(0, 40, 0, 5), 4) == slice(44, 71)
    assert overscan_columns(Section(0, 32, 0, 5), Section(32, 72, 0, 5), 4) == slice(1, 28)
    # 2x2 Hamamatsu: 32 columns -> 27 kept
    s = overscan_columns(parse_section("[1:32,1:2112]"), parse_section("[33:288,1:2112]"), 4)
    assert s.stop - s.start == 27


def test_overscan_columns_errors():
    with pytest.raises(ValueError, match="overlaps"):
        overscan_columns(Section(10, 40, 0, 5), Section(0, 20, 0, 5), 4)
    with pytest.raises(ValueError, match="no columns"):
        overscan_columns(Section(40, 45, 0, 5), Section(0, 40, 0, 5), 4)


@pytest.mark.parametrize("right", [True, False], ids=["right", "left"])
@pytest.mark.parametrize("function,order", [("none", None), ("chebyshev", 3),
                                            ("chebyshev", None), ("spline3", 3),
                                            ("spline3", None)])
def test_subtract_overscan_level(right, function, order):
    raw, data, over = _amp(right=right, slope=0.1)
    before = raw.copy()
    out, info = subtract_overscan(raw, data, over, nbiascontam=4, read_noise_adu=1.0,
                                  function=function, order=order, **CLIP, niter=0)
    np.testing.assert_array_equal(raw, before)
    assert out.dtype == np.float32 and out.shape == raw.shape
    sci = out[data.slice]
    np.testing.assert_allclose(sci, 50.0, atol=1e-3)
    assert info["OVERSCAN"] == pytest.approx(1000 + 0.1 * 29.5, abs=1e-3)
    kept = overscan_columns(over, data, 4)
    assert info["OVERSEC"] == f"[{kept.start + 1}:{kept.stop},1:60]"


def test_read_noise_measured():
    raw, data, over = _amp(ny=400, rn_adu=3.0, seed=2)
    _, info = subtract_overscan(raw, data, over, nbiascontam=4, read_noise_adu=3.0, gain=2.0,
                                function="none", **CLIP, niter=0)
    assert info["OVERRDNS"] == pytest.approx(6.0, rel=0.03)
    assert info["OVERRMS"] == pytest.approx(3.0 / np.sqrt(27))


def test_running_median():
    np.testing.assert_allclose(running_median(np.array([1.0, 9, 2, 3, 4, 5])),
                               [1, 2, 3, 4, 4, 5])


@pytest.mark.parametrize("function,order,niter", [("chebyshev", 2, 3), ("chebyshev", 2, 0),
                                                  ("spline3", 4, 2), ("spline3", None, 0)])
def test_fit_rejects_outlier_rows(function, order, niter):
    raw, data, over = _amp(ny=200, rn_adu=1.0, seed=3)
    raw[100, over.x1:] += 200  # a hot overscan row
    out, _ = subtract_overscan(raw, data, over, nbiascontam=4, read_noise_adu=1.0,
                               function=function, order=order, **CLIP, niter=niter)
    # the fit ignores the bad row, so that row of the data is corrected by ~1000
    assert out[data.slice][100].mean() == pytest.approx(50, abs=1)


def test_bad_function():
    raw, data, over = _amp()
    with pytest.raises(ValueError, match="poly"):
        subtract_overscan(raw, data, over, nbiascontam=4, read_noise_adu=1, function="poly",
                          **CLIP, niter=0)


def test_row_statistics_of_raw_integers_are_exact():
    from gmoslib.calibration.overscan import _row_stats

    rng = np.random.default_rng(3)
    strip = rng.integers(0, 65535, (50, 28)).astype(">u2")  # as stored, big-endian
    mean, std = _row_stats(strip)
    wide = strip.astype(np.float64)
    np.testing.assert_allclose(mean, wide.mean(axis=1), rtol=0, atol=1e-9)
    np.testing.assert_allclose(std, wide.std(axis=1, ddof=1), rtol=1e-12)
    one_col = _row_stats(strip[:, :1])
    assert (one_col[1] == 0).all() and np.array_equal(one_col[0], wide[:, 0])
    fmean, fstd = _row_stats(wide.astype(np.float32))
    np.testing.assert_allclose(fstd, std, rtol=1e-6)
