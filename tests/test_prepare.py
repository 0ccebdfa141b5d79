"""Tests of gmoslib.calibration.prepare: truth from algebra."""

import numpy as np
import pytest

from gmoslib.calibration.prepare import (
    add_poisson_var,
    adu_to_electrons,
    flat_correct,
    hamamatsu_dead_rows,
    make_dq,
    subtract_bias,
)
from gmoslib.io import dq as dqbits


def test_make_dq_bits():
    sci = np.array([[0, 65534, 65535], [70000, np.nan, 5]], np.float32)
    bpm = np.array([[1, 0, 0], [0, 0, 0]], bool)
    unill = np.array([[0, 0, 0], [0, 0, 1]], bool)
    d = make_dq(sci, 65535, bpm=bpm, unilluminated=unill)
    assert d.dtype == np.uint16
    np.testing.assert_array_equal(d, [[1, 0, 4], [4, 1, 64]])
    d2 = make_dq(sci, 65535, bpm=bpm.astype(np.uint16) * 3)  # non-bool BPM: non-zero = bad
    assert d2[0, 0] & dqbits.BAD_PIXEL and not d2[0, 1] & dqbits.BAD_PIXEL
    with pytest.raises(ValueError, match=r"\(1, 1\)"):
        make_dq(sci, 65535, bpm=np.zeros((1, 1), bool))


@pytest.mark.parametrize("ny,ybin,start,ndead", [
    (2112, 2, 0, 24), (4224, 1, 0, 48), (1056, 4, 0, 12),
    (150, 2, 1986, 0),        # central stamp: far above the dead rows
    (100, 2, 40, 4),          # sub-ROI starting at CCD row 40: rows 40..47 -> 4 binned rows
    (100, 4, 46, 1),          # binned row covering 46..49 contains dead rows
])
def test_hamamatsu_dead_rows(ny, ybin, start, ndead):
    m = hamamatsu_dead_rows(ny, ybin, start)
    assert m.shape == (ny,) and m.dtype == bool
    assert m.sum() == ndead
    assert not m[ndead:].any()


def test_adu_to_electrons_and_poisson():
    sci = np.array([[-2.0, 3.0]], np.float32)
    var = np.array([[1.0, 2.0]], np.float32)
    s, v = adu_to_electrons(sci, var, 2.0)
    np.testing.assert_allclose(s, [[-4, 6]])
    np.testing.assert_allclose(v, [[4, 8]])
    v2 = add_poisson_var(v, s)
    np.testing.assert_allclose(v2, [[4, 14]])
    np.testing.assert_allclose(sci, [[-2, 3]])  # inputs untouched
    np.testing.assert_allclose(v, [[4, 8]])


def test_subtract_bias():
    sci = np.full((2, 2), 10, np.float32)
    var = np.ones((2, 2), np.float32)
    dq = np.array([[0, 1], [0, 0]], np.uint16)
    bdq = np.array([[0, 0], [4, 0]], np.uint16)
    s, v, d = subtract_bias(sci, var, dq, np.full((2, 2), 3.0), np.full((2, 2), 0.5), bdq)
    np.testing.assert_allclose(s, 7)
    np.testing.assert_allclose(v, 1.5)
    np.testing.assert_array_equal(d, [[0, 1], [4, 0]])
    assert dq[1, 0] == 0 and sci[0, 0] == 10
    with pytest.raises(ValueError, match=r"\(3, 2\).*\(2, 2\)"):
        subtract_bias(sci, var, dq, np.zeros((3, 2)), None, None)


def test_flat_correct():
    sci = np.array([[10.0, 10, 10, 10]], np.float32)
    var = np.array([[4.0, 4, 4, 4]], np.float32)
    dq = np.zeros((1, 4), np.uint16)
    flat = np.array([[2.0, 0.0, np.nan, -1]], np.float32)
    fvar = np.array([[0.01, 0, 0, 0]], np.float32)
    fdq = np.array([[0, 0, 0, dqbits.UNILLUMINATED]], np.uint16)
    s, v, d = flat_correct(sci, var, dq, flat, fvar, fdq)
    np.testing.assert_allclose(s, [[5, 10, 10, 10]])
    assert v[0, 0] == pytest.approx(4 / 4 + 100 * 0.01 / 16)
    np.testing.assert_allclose(v[0, 1:], 4)
    np.testing.assert_array_equal(d, [[0, 1, 1, 64]])
    assert not dq.any() and np.isnan(flat[0, 2])
    with pytest.raises(ValueError, match=r"\(1, 3\).*\(1, 4\)"):
        flat_correct(sci, var, dq, flat[:, :3], None, None)
