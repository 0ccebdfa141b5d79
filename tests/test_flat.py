"""Tests of gmoslib.calibration.flat: truth from algebra and seeded synthetic flats."""

import numpy as np
import pytest

from gmoslib.calibration.ccds import ccd2_stat_region
from gmoslib.calibration.flat import (
    flat_normalisation,
    flat_rejection_for_count,
    flat_scale_factors,
    normalize_flat,
)


@pytest.mark.parametrize("n,want", [(1, ("none", 0, 0)), (2, ("none", 0, 0)),
                                    (3, ("minmax", 1, 1)), (5, ("minmax", 1, 1)),
                                    (6, ("minmax", 2, 2)), (10, ("minmax", 2, 2)),
                                    (11, ("minmax", 2, 3)), (30, ("minmax", 2, 3))])
def test_rejection_for_count(n, want):
    assert flat_rejection_for_count(n) == want


def test_stat_region_border():
    rows, cols = ccd2_stat_region((2112, 1024))
    assert (rows.start, rows.stop) == (105, 2112 - 105)   # 5 % of 2112
    assert (cols.start, cols.stop) == (51, 1024 - 51)
    rows, cols = ccd2_stat_region((200, 300))
    assert (rows.start, cols.start) == (20, 20)            # 20 px minimum
    rows, cols = ccd2_stat_region((150, 150), min_border=2, fraction=0.0)
    assert rows == slice(2, 148)


def test_scale_factors():
    rng = np.random.default_rng(0)
    ref = rng.uniform(900, 1100, (30, 40)).astype(np.float32)
    dq0 = np.zeros(ref.shape, np.uint16)
    other = (ref * 0.5).astype(np.float32)
    dq1 = dq0.copy()
    other[0, 0] = 1e6  # a bad pixel excluded by DQ
    dq1[0, 0] = 1
    f = flat_scale_factors([(ref, dq0), (other, dq1), (ref, dq0)])
    np.testing.assert_allclose(f, [1, 2, 1], rtol=1e-6)
    with pytest.raises(ValueError, match="good"):
        flat_scale_factors([(ref, dq0), (ref, np.ones(ref.shape, np.uint16))])


def test_normalisation_mode_clipped_median():
    rng = np.random.default_rng(1)
    sci = rng.normal(20000.0, 50.0, (200, 200)).astype(np.float32)
    # a broad bright patch (1000 px): raises sigma to ~1600 but lies outside mode +- 3 sigma
    sci[:5] = rng.normal(30000.0, 1000.0, (5, 200))
    dq = np.zeros(sci.shape, np.uint16)
    sci[10, :] = 1e7
    dq[10, :] = 1  # excluded by DQ
    level = flat_normalisation(sci, dq)
    good = sci[dq == 0]
    sigma = good.std()
    assert abs(level - 20000.0) < 20
    assert level == pytest.approx(np.median(good[np.abs(good - 20000) < 3 * sigma]), abs=5)


def test_normalisation_small_values():
    sci = np.array([[0.9, 1.0, 1.0, 1.05, 1.1, 30.0]], np.float32)
    # bins of 0.1 from 0.9 to 30: mode bin [0.9, 1.0); sigma ~ 10.8 -> window keeps all
    assert flat_normalisation(sci, np.zeros(sci.shape, np.uint16)) == pytest.approx(1.025)


def test_normalize_flat():
    s = [np.full((2, 2), 4.0, np.float32)]
    v = [np.full((2, 2), 8.0, np.float32)]
    d = [np.array([[0, 64], [0, 0]], np.uint16)]
    os_, ov, od = normalize_flat(s, v, d, 2.0)
    np.testing.assert_allclose(os_[0], [[2, 1], [2, 2]])
    np.testing.assert_allclose(ov[0], 2)
    np.testing.assert_array_equal(od[0], d[0])
    assert os_[0].dtype == np.float32 and s[0][0, 1] == 4.0


def test_normalize_flat_rejects_bad_factor():
    with pytest.raises(ValueError, match="not positive"):
        normalize_flat([np.ones((2, 2), np.float32)], [None], [None], 0.0)
