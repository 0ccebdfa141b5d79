"""Two-pass near-identity affine resampling (gmoslib.science.interp) against analytic values and
against scipy's direct 2-D evaluation of the same spline."""

import math

import numpy as np
import pytest
from scipy import ndimage

from gmoslib.science.interp import affine_separable, separable_ok


def _rotation(deg: float) -> np.ndarray:
    t = math.radians(deg)
    return np.array([[math.cos(t), -math.sin(t)], [math.sin(t), math.cos(t)]])


def _star_field(ny=300, nx=200, seed=0):
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:ny, 0:nx]
    img = np.full((ny, nx), 100.0)
    for _ in range(40):
        y0, x0, s = rng.uniform(0, ny), rng.uniform(0, nx), rng.uniform(1.5, 4.0)
        img += 1000.0 * np.exp(-((yy - y0) ** 2 + (xx - x0) ** 2) / (2 * s * s))
    return img.astype(np.float32)


@pytest.mark.parametrize("order", [1, 3])
@pytest.mark.parametrize("deg", [0.0, -0.004, 0.046])
def test_linear_ramp_is_exact(order, deg):
    """Linear and cubic splines reproduce a plane exactly, and the two passes are exact for a
    plane: the value at every interior output pixel is the plane at its mapped position."""
    ny, nx = 120, 90
    yy, xx = np.mgrid[0:ny, 0:nx].astype(np.float64)
    plane = (3.0 + 0.7 * yy - 1.3 * xx).astype(np.float32)
    m = _rotation(deg)
    off = np.array([1.37, -2.61])
    out = affine_separable(plane, m, off, (ny, nx), order=order)
    r, c = np.mgrid[0:ny, 0:nx].astype(np.float64)
    v = m[0, 0] * r + m[0, 1] * c + off[0]
    u = m[1, 0] * r + m[1, 1] * c + off[1]
    truth = 3.0 + 0.7 * v - 1.3 * u
    inner = (v > 3) & (v < ny - 4) & (u > 3) & (u < nx - 4)
    assert inner.sum() > 0.8 * ny * nx
    np.testing.assert_allclose(out[inner], truth[inner], atol=2e-4 * np.abs(truth).max())


@pytest.mark.parametrize("order", [1, 3])
@pytest.mark.parametrize("deg", [0.0, -0.00537, 0.046])
def test_matches_scipy_affine_transform(order, deg):
    """The same spline as scipy's mode='nearest' affine_transform: differences far below the
    noise of any real image (1e-4 of the peak) inside, edges included."""
    img = _star_field()
    m = _rotation(deg)
    off = np.array([-0.41, 2.83])
    shape = (305, 198)
    ref = ndimage.affine_transform(img, m, off, output_shape=shape, order=order,
                                   mode="nearest", prefilter=order > 1, output=np.float32)
    out = affine_separable(img, m, off, shape, order=order)
    assert out.dtype == np.float32 and out.shape == shape
    assert np.abs(out - ref).max() <= 1e-4 * img.max()


def test_far_from_identity_is_refused():
    assert separable_ok(_rotation(0.05), 3)
    assert not separable_ok(_rotation(1.0), 3)  # cross terms too large for two passes
    assert not separable_ok(np.diag([1.1, 1.0]), 1)  # a scale change
    assert not separable_ok(_rotation(0.0), 0)  # only orders 1 and 3
    assert not separable_ok(_rotation(0.0), 5)
    with pytest.raises(ValueError, match="not close enough"):
        affine_separable(np.zeros((10, 10), np.float32), _rotation(2.0), (0, 0), (10, 10),
                         order=3)
