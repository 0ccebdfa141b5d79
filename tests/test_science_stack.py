"""Tests for gmoslib.science.final_stack; truth from the injected offsets, scales and cosmic
rays."""

from functools import partial

import numpy as np
import pytest

from gmoslib.io.dq import BAD_PIXEL, COSMIC_RAY
from gmoslib.science import cosmic
from gmoslib.science import final_stack as science_stack
from gmoslib.science.final_stack import background_offsets, exposure_scale_factors

# the tests' step parameters (the primitives have no defaults)
flag_cosmic_rays_by_stacking = partial(cosmic.flag_cosmic_rays_by_stacking, hsigma=7.0, dilation=1)
stack_science = partial(science_stack.stack_aligned, lsigma=3.0, hsigma=3.0)

OFFSETS = np.array([0.0, 12.3, -7.1, 30.0, 5.0])


def stars(shape, seed):
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0 : shape[0], 0 : shape[1]].astype(np.float64)
    img = np.zeros(shape)
    for _ in range(20):
        x, y = rng.uniform(0, shape[1]), rng.uniform(0, shape[0])
        img += rng.uniform(1e3, 1e5) / (2 * np.pi * 4) * np.exp(
            -0.5 * ((xx - x) ** 2 + (yy - y) ** 2) / 4
        )
    return img


def test_offsets_exact_without_noise_and_bad_pixels_ignored():
    shape = (128, 128)
    base = 100.0 + stars(shape, 1)
    scis = [(base + o).astype(np.float32) for o in OFFSETS]
    dqs = [np.zeros(shape, np.uint16) for _ in OFFSETS]
    scis[3][:, :40] = 1e6  # junk flagged bad: must be ignored
    dqs[3][:, :40] = BAD_PIXEL
    off = background_offsets(scis, dqs)
    np.testing.assert_allclose(off, OFFSETS, atol=1e-4)
    assert off[0] == 0.0


def test_offsets_recovered_to_a_tenth_of_an_electron_with_noise():
    shape = (512, 512)
    rng = np.random.default_rng(11)
    base = 100.0 + stars(shape, 2)
    scis = [
        (base + o + rng.normal(0, 1, shape) * np.sqrt(base + 16)).astype(np.float32)
        for o in OFFSETS
    ]
    off = background_offsets(scis, None, stride=1)
    assert np.all(np.abs(off - OFFSETS) < 0.1)


def test_offsets_errors():
    with pytest.raises(ValueError, match="frame 1 has shape"):
        background_offsets([np.zeros((4, 4)), np.zeros((4, 5))])
    with pytest.raises(ValueError, match="method"):
        background_offsets([np.zeros((4, 4))] * 2, method="old")


def test_exposure_scale_factors():
    np.testing.assert_allclose(exposure_scale_factors([60.0, 30.0, 120.0]), [1.0, 2.0, 0.5])
    with pytest.raises(ValueError, match="> 0"):
        exposure_scale_factors([60.0, 0.0])


def noisy_frames(n, shape, sky, sigma, seed):
    rng = np.random.default_rng(seed)
    offsets = np.linspace(-10.0, 20.0, n)
    offsets[0] = 0.0
    frames = []
    for o in offsets:
        sci = (sky + o + rng.normal(0, sigma, shape)).astype(np.float32)
        frames.append((sci, np.full(shape, sigma**2, np.float32), np.zeros(shape, np.uint16)))
    return frames


def test_stack_of_many_frames_clips_cosmic_ray_and_matches_frame0_background():
    # with N values one outlier lies at most (N-1)/sqrt(N) standard deviations from the
    # others, so 3-sigma clipping alone can reject it only for N >= 11
    shape, sky, sigma, n = (50, 60), 200.0, 5.0, 12
    frames = noisy_frames(n, shape, sky, sigma, 21)
    frames[2][0][10, 20] += 5000.0  # unflagged cosmic ray in frame 2
    off = background_offsets([f[0] for f in frames], [f[2] for f in frames], stride=1)
    sci, var, dq, nrej = stack_science(frames, *shape, offsets=off)
    assert abs(sci[10, 20] - sky) < 5 * sigma / np.sqrt(n - 1)
    assert nrej[10, 20] >= 1
    assert abs(np.median(sci) - sky) < 0.2  # frame 0's background
    np.testing.assert_allclose(np.median(var), sigma**2 / n, rtol=0.05)
    assert sci.dtype == np.float32 and dq.dtype == np.uint16


def test_five_frame_stack_excludes_cosmic_ray_flagged_by_stacking():
    shape, sky, sigma = (50, 60), 200.0, 5.0
    frames = noisy_frames(5, shape, sky, sigma, 23)
    frames[2][0][10, 20] += 5000.0
    dqs = flag_cosmic_rays_by_stacking([(s, v, d, None) for s, v, d in frames])
    assert dqs[2][10, 20] & COSMIC_RAY
    flagged = [(s, v, d) for (s, v, _), d in zip(frames, dqs, strict=True)]
    off = background_offsets([f[0] for f in flagged], dqs, stride=1)
    sci, _, dq, _ = stack_science(flagged, *shape, offsets=off)
    assert abs(sci[10, 20] - sky) < 5 * sigma / 2
    assert dq[10, 20] == 0  # combined from the four unflagged frames


def test_stack_uses_dq_scales_and_row_readers():
    shape = (30, 40)
    rng = np.random.default_rng(22)
    exptimes = [60.0, 30.0, 60.0]
    frames = []
    for t in exptimes:
        sci = (t * 2.0 + rng.normal(0, 1, shape)).astype(np.float32)  # 2 e-/s sky
        frames.append((sci, np.ones(shape, np.float32), np.zeros(shape, np.uint16)))
    frames[1][0][5, 5] = 1e5
    frames[1][2][5, 5] = COSMIC_RAY  # flagged: worse DQ class, not used
    scales = exposure_scale_factors(exptimes)

    def reader(f):
        return lambda y0, y1: (f[0][y0:y1], f[1][y0:y1], f[2][y0:y1])

    a = stack_science(frames, *shape, offsets=np.zeros(3), scales=scales)
    b = stack_science([reader(f) for f in frames], *shape, offsets=np.zeros(3), scales=scales,
                      memory_bytes=1)
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x, y)
    assert abs(np.median(a[0]) - 120.0) < 0.2
    assert abs(a[0][5, 5] - 120.0) < 5
    with pytest.raises(ValueError, match="at least 2"):
        stack_science(frames[:1], *shape)
    with pytest.raises(ValueError, match="offsets must have shape"):
        stack_science(frames, *shape, offsets=[0.0, 1.0])
