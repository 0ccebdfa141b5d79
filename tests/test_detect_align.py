"""Source detection and alignment on synthetic star fields with known truth."""

from __future__ import annotations

import numpy as np
import pytest

from gmoslib.io import dq as dqbits
from gmoslib.science.align import align_to_reference, apply_affine, match_sources
from gmoslib.science.detect import detect_sources, estimate_seeing

SHAPE = (500, 500)
FWHM = 4.0


def field(xs, ys, fluxes, seed=0, sky=200.0):
    rng = np.random.default_rng(seed)
    sigma = FWHM / 2.3548
    yy, xx = np.mgrid[0:SHAPE[0], 0:SHAPE[1]]
    img = np.full(SHAPE, sky)
    for x, y, f in zip(xs, ys, fluxes, strict=True):
        img += f / (2 * np.pi * sigma**2) * np.exp(-0.5 * ((xx - x) ** 2 + (yy - y) ** 2)
                                                  / sigma**2)
    noisy = rng.poisson(img).astype(np.float32)
    return noisy, img.astype(np.float32)


@pytest.fixture(scope="module")
def stars():
    rng = np.random.default_rng(1)
    n = 60
    return rng.uniform(30, 470, n), rng.uniform(30, 470, n), 10 ** rng.uniform(3.5, 5.5, n)


def test_detection_completeness_centroids_and_seeing(stars):
    xs, ys, fl = stars
    sci, expected = field(xs, ys, fl)
    cat, mask = detect_sources(sci, expected, thresh=2.0, minarea=8)
    assert mask.dtype == bool and mask.any()
    d = np.hypot(cat["x"][:, None] - xs[None], cat["y"][:, None] - ys[None])
    nearest = d.min(axis=0)
    bright = fl > 2e4  # S/N >> 20
    isolated = np.sort(np.hypot(xs[:, None] - xs, ys[:, None] - ys), axis=1)[:, 1] > 10
    assert np.mean(nearest[bright & isolated] < 1.0) >= 0.95
    j = d.argmin(axis=0)
    good = bright & isolated & (nearest < 1.0)
    err = np.hypot(cat["x"][j[good]] - xs[good], cat["y"][j[good]] - ys[good])
    assert np.sqrt(np.mean(err**2)) < 0.05
    seeing = estimate_seeing(cat, pixel_scale=0.1)
    assert seeing == pytest.approx(FWHM * 0.1, rel=0.05)


def test_masked_pixels_give_no_detection(stars):
    xs, ys, fl = stars
    sci, expected = field(xs, ys, fl)
    dq = np.zeros(SHAPE, np.uint16)
    dq[:, :250] = dqbits.NO_DATA
    cat, _ = detect_sources(sci, expected, dq, thresh=2.0, minarea=8)
    assert len(cat) > 0 and np.all(cat["x"] > 245)


@pytest.mark.parametrize("shift, guess", [((3.37, -1.62), (0.0, 0.0)),
                                          ((101.4, 57.9), (100.0, 60.0))])
def test_match_known_shift(stars, shift, guess):
    xs, ys, fl = stars
    ref = np.column_stack([xs, ys])
    rng = np.random.default_rng(2)
    frame = ref - np.array(shift) + rng.normal(0, 0.03, ref.shape)
    keep = rng.random(len(ref)) > 0.3  # 30 % of the sources missing
    extra = rng.uniform(0, 500, (10, 2))  # and spurious ones
    xy = np.vstack([frame[keep], extra])
    t, pairs, rms = match_sources(ref, xy, initial_shift=guess, search_radius=20,
                                  match_radius=1.5)
    assert t[0, 2] == pytest.approx(shift[0], abs=0.02)
    assert t[1, 2] == pytest.approx(shift[1], abs=0.02)
    assert len(pairs) >= keep.sum() - 2 and rms < 0.1


def test_match_rotation():
    rng = np.random.default_rng(3)
    ref = rng.uniform(0, 500, (80, 2))
    theta = np.radians(0.5)
    rot = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
    frame = (ref - 250 - [2.0, -3.0]) @ rot + 250
    t, pairs, rms = match_sources(ref, frame, search_radius=15, match_radius=2,
                                  allow_rotation=True)
    back = np.column_stack(apply_affine(t, frame[:, 0], frame[:, 1]))
    assert np.allclose(back, ref, atol=0.01)


def test_too_few_sources_fall_back_to_header_offsets():
    ref = {"x": np.array([10.0, 50.0]), "y": np.array([10.0, 40.0]),
           "flux": np.array([1.0, 2.0])}
    res = align_to_reference(ref, ref, header_shift=(4.5, -2.0), min_sources=3)
    assert res["method"] == "offsets" and "too few sources" in res["reason"]
    assert res["transform"][0, 2] == 4.5 and res["transform"][1, 2] == -2.0


def test_nearest_within_matches_brute_force():
    """The neighbour search (k-d tree) against all pairwise distances."""
    from gmoslib.science.align import nearest_within

    rng = np.random.default_rng(11)
    for _ in range(10):
        n, m = int(rng.integers(1, 300)), int(rng.integers(1, 300))
        ref = rng.uniform(-40, 2000, (n, 2))
        pts = rng.uniform(-40, 2000, (m, 2))
        k = m // 2
        pts[:k] = ref[rng.integers(0, n, k)] + rng.normal(0, 1.5, (k, 2))  # close pairs
        radius = float(rng.uniform(0.5, 8.0))
        dist, idx = nearest_within(ref, pts, radius)
        all_d = np.hypot(pts[:, None, 0] - ref[None, :, 0], pts[:, None, 1] - ref[None, :, 1])
        nearest = all_d.argmin(axis=1)
        has = all_d.min(axis=1) < radius
        assert np.array_equal(np.isfinite(dist), has)
        assert np.array_equal(idx[has], nearest[has])
        np.testing.assert_allclose(dist[has], all_d.min(axis=1)[has])
        assert np.all(idx[~has] == n) and np.all(np.isinf(dist[~has]))
    d, i = nearest_within(np.zeros((0, 2)), np.ones((3, 2)), 1.0)
    assert np.all(np.isinf(d)) and np.all(i == 0)
