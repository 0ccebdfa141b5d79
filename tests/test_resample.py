"""Tests for gmoslib.science.resample; truth from algebra (shifted/rotated analytic stars)."""

import numpy as np
import pytest

from gmoslib.io.dq import BAD_PIXEL, NO_DATA
from gmoslib.science.resample import output_frame, resample_to_frame


def shift_matrix(dx, dy):
    return np.array([[1.0, 0.0, dx], [0.0, 1.0, dy], [0.0, 0.0, 1.0]])


def gaussian(shape, x0, y0, sigma, flux=1.0e5):
    ny, nx = shape
    yy, xx = np.mgrid[0:ny, 0:nx].astype(np.float64)
    r2 = (xx - x0) ** 2 + (yy - y0) ** 2
    return flux / (2 * np.pi * sigma**2) * np.exp(-0.5 * r2 / sigma**2)


def centroid(img):
    yy, xx = np.mgrid[0 : img.shape[0], 0 : img.shape[1]]
    tot = img.sum(dtype=np.float64)
    return (img * xx).sum(dtype=np.float64) / tot, (img * yy).sum(dtype=np.float64) / tot


def clean(shape):
    return np.zeros(shape, np.float32), np.zeros(shape, np.uint16)


def test_output_frame_union_of_known_shifts():
    shapes = [(100, 80)] * 3
    transforms = [np.eye(3), shift_matrix(10.5, -3.2), shift_matrix(-4, 7)]
    # x: min(0, 10.5, -4) = -4; max(79, 89.5, 75) -> 90.  y: min(0, -3.2, 7) -> -4; max 106.
    assert output_frame(shapes, transforms) == (95, 111, (-4, -4))
    assert output_frame(shapes, transforms, footprint="reference") == (80, 100, (0, 0))


def test_output_frame_rejects_bad_input():
    with pytest.raises(ValueError, match="3x3"):
        output_frame([(10, 10)], [np.eye(2)])
    with pytest.raises(ValueError, match="one transform per shape"):
        output_frame([(10, 10), (10, 10)], [np.eye(3)])


def test_integer_shift_is_exact_copy():
    rng = np.random.default_rng(1)
    sci = rng.normal(100, 10, (60, 50)).astype(np.float32)
    var = rng.uniform(50, 150, (60, 50)).astype(np.float32)
    dq = (rng.random((60, 50)) < 0.05).astype(np.uint16) * BAD_PIXEL
    t = shift_matrix(5, -3)
    nx, ny, off = output_frame([sci.shape, sci.shape], [np.eye(3), t])
    assert (nx, ny, off) == (55, 63, (0, -3))
    s, v, d = resample_to_frame(sci, var, dq, t, (ny, nx), off, order=3)
    # frame pixel (x, y) lands at output (x + 5, y - 3 + 3)
    np.testing.assert_array_equal(s[0:60, 5:55], sci)
    np.testing.assert_array_equal(v[0:60, 5:55], var)
    np.testing.assert_array_equal(d[0:60, 5:55], dq)
    assert np.all(d[:, :5] == NO_DATA) and np.all(s[:, :5] == 0) and np.all(v[:, :5] == 0)
    assert np.all(d[60:, :] == NO_DATA)
    assert s.dtype == np.float32 and v.dtype == np.float32 and d.dtype == np.uint16


@pytest.mark.parametrize("order", [1, 3])
def test_subpixel_shift_conserves_flux_and_moves_centroid(order):
    shape = (100, 100)
    x0, y0, dx, dy = 50.3, 40.7, 3.37, -2.61
    sci = gaussian(shape, x0, y0, 2.0).astype(np.float32)
    var, dq = clean(shape)
    s, _, d = resample_to_frame(sci, var, dq, shift_matrix(dx, dy), shape, (0, 0), order=order)
    assert abs(s.sum(dtype=np.float64) / sci.sum(dtype=np.float64) - 1) < 1e-3
    cx, cy = centroid(s)
    assert abs(cx - (x0 + dx)) < 0.01 and abs(cy - (y0 + dy)) < 0.01
    # uncovered edges: output X < dx and Y > ny - 1 + dy have no input
    assert np.all(d[:, :3] == NO_DATA) and np.all(d[-2:, :] == NO_DATA)
    assert np.all(d[5:90, 5:90] == 0)


def test_small_rotation_with_scale_conserves_flux():
    shape = (120, 120)
    ang, zoom = np.deg2rad(2.0), 1.1
    c, s_ = np.cos(ang), np.sin(ang)
    t = np.array([[zoom * c, -zoom * s_, 4.2], [zoom * s_, zoom * c, -3.1], [0, 0, 1.0]])
    x0, y0 = 52.4, 47.9
    sci = gaussian(shape, x0, y0, 2.0).astype(np.float32)
    var, dq = clean(shape)
    out_shape = (140, 140)
    s, _, _ = resample_to_frame(sci, var, dq, t, out_shape, (0, 0), order=3)
    expect = t @ [x0, y0, 1.0]
    cx, cy = centroid(s)
    assert abs(cx - expect[0]) < 0.01 and abs(cy - expect[1]) < 0.01
    assert abs(s.sum(dtype=np.float64) / sci.sum(dtype=np.float64) - 1) < 1e-3
    # without flux conservation the total grows by the pixel-area ratio zoom**2
    s2, _, _ = resample_to_frame(sci, var, dq, t, out_shape, (0, 0), order=3, conserve=False)
    assert abs(s2.sum(dtype=np.float64) / sci.sum(dtype=np.float64) - zoom**2) < 2e-3


@pytest.mark.parametrize("order", [0, 1, 3])
def test_dq_bit_follows_the_shift_and_no_data_at_edges(order):
    shape = (40, 50)
    sci = np.full(shape, 100.0, np.float32)
    var = np.full(shape, 100.0, np.float32)
    dq = np.zeros(shape, np.uint16)
    dq[20, 30] = BAD_PIXEL
    s, v, d = resample_to_frame(sci, var, dq, shift_matrix(2.5, 3.0), shape, (0, 0), order=order)
    bad = np.argwhere(d & BAD_PIXEL)
    # the bad pixel lands at x = 32.5, y = 23: it touches output columns 32 and 33, row 23
    if order == 0:
        assert bad.tolist() in ([[23, 32]], [[23, 33]])
    else:
        assert [23, 32] in bad.tolist() and [23, 33] in bad.tolist()
        assert np.all(bad[:, 0] == 23)  # integer shift in y: no spread along y
        assert np.all(np.abs(bad[:, 1] - 32.5) < 6)
    assert np.all(d[:3, :] == NO_DATA) and np.all(d[:, :2] == NO_DATA)
    assert np.all(s[d == NO_DATA] == 0) and np.all(v[d == NO_DATA] == 0)


def test_no_data_region_does_not_leak_into_good_pixels():
    shape = (60, 60)
    sci = np.full(shape, 100.0, np.float32)
    dq = np.zeros(shape, np.uint16)
    sci[:, 28:33] = 0.0  # a chip gap
    dq[:, 28:33] = NO_DATA
    var = sci.copy()
    for order in (1, 3):
        s, _, d = resample_to_frame(sci, var, dq, shift_matrix(0.4, 0.3), shape, (0, 0),
                                    order=order)
        good = d == 0
        assert good.sum() > 0.7 * good.size
        assert np.all(np.abs(s[good] - 100.0) < 0.5)


def test_linear_variance_matches_empirical_variance_of_white_noise():
    rng = np.random.default_rng(7)
    shape = (400, 400)
    sigma = 10.0
    sci = rng.normal(0, sigma, shape).astype(np.float32)
    var = np.full(shape, sigma**2, np.float32)
    dq = np.zeros(shape, np.uint16)
    fx, fy = 0.3, 0.8
    s, v, d = resample_to_frame(sci, var, dq, shift_matrix(fx, fy), shape, (0, 0), order=1)
    good = d == 0
    # bilinear weights: var = sigma^2 * ((1-fx)^2 + fx^2) * ((1-fy)^2 + fy^2)
    expect = sigma**2 * ((1 - fx) ** 2 + fx**2) * ((1 - fy) ** 2 + fy**2)
    np.testing.assert_allclose(v[good], expect, rtol=1e-5)
    assert abs(s[good].var() / expect - 1) < 0.02
    # order 3: documented conservative approximation (interpolated VAR >= true variance)
    s3, v3, d3 = resample_to_frame(sci, var, dq, shift_matrix(fx, fy), shape, (0, 0), order=3)
    good3 = d3 == 0
    assert np.median(v3[good3]) >= 0.98 * s3[good3].var()


def test_does_not_change_input_and_checks_shapes():
    rng = np.random.default_rng(3)
    sci = rng.normal(size=(20, 20)).astype(np.float32)
    var = np.ones((20, 20), np.float32)
    dq = np.zeros((20, 20), np.uint16)
    dq[5, 5] = 1
    copies = [a.copy() for a in (sci, var, dq)]
    resample_to_frame(sci, var, dq, shift_matrix(0.5, 0.5), (20, 20), (0, 0), order=3)
    for a, b in zip((sci, var, dq), copies, strict=True):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="var shape"):
        resample_to_frame(sci, var[:10], dq, np.eye(3), (20, 20), (0, 0), order=3)
    with pytest.raises(ValueError, match="order must be"):
        resample_to_frame(sci, var, dq, np.eye(3), (20, 20), (0, 0), order=2)


@pytest.mark.parametrize("shift", [(0.3, 0.7), (-2.5, 3.25), (0.0, 0.5)], ids=str)
def test_cubic_dq_of_isolated_pixels_matches_the_bit_plane_rule(shift):
    # reference 5.17 rule: spline-interpolate each 0/1 bit plane, set the bit where |v| > 0.001
    from scipy import ndimage

    shape = (60, 60)
    dq = np.zeros(shape, np.uint16)
    dq[20, 20] = BAD_PIXEL
    dq[40, 35] = NO_DATA
    dx, dy = shift
    _, _, d = resample_to_frame(np.ones(shape, np.float32), np.ones(shape, np.float32), dq,
                                shift_matrix(dx, dy), shape, (0, 0), order=3)
    expect = np.zeros(shape, np.uint16)
    for bit in (BAD_PIXEL, NO_DATA):
        plane = ((dq & bit) != 0).astype(np.float64)
        v = ndimage.affine_transform(plane, np.ones(2), offset=(-dy, -dx), order=3,
                                     mode="nearest")
        expect[np.abs(v) > 0.001] |= bit
    yy, xx = np.mgrid[0:60, 0:60]
    covered = (xx - dx >= 0) & (xx - dx <= 59) & (yy - dy >= 0) & (yy - dy <= 59)
    expect[~covered] = NO_DATA
    np.testing.assert_array_equal(d, expect)
