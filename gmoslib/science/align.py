"""Alignment of a frame to the reference frame from their source catalogues (reference 5.16).

From the header shift, a vote over the pairwise offsets of the brightest sources within a
search box finds the shift, and an iterative clipped least-squares fit of the matched pairs
refines it (optionally with rotation and scale).  A transform is a 3x3 affine matrix mapping
a frame pixel (x, y, 1), 0-based, to the reference frame's pixel.
"""

from __future__ import annotations

import math

import numpy as np
from astropy.stats import mad_std
from scipy.ndimage import uniform_filter
from scipy.spatial import cKDTree


def nearest_within(ref_xy, xy, radius: float) -> tuple[np.ndarray, np.ndarray]:
    """(distance, index) of the nearest point of ``ref_xy`` (n, 2) closer than ``radius``
    (pixels) to every point of ``xy`` (m, 2); (inf, n) where there is none."""
    ref = np.asarray(ref_xy, float).reshape(-1, 2)
    pts = np.asarray(xy, float).reshape(-1, 2)
    n, m = len(ref), len(pts)
    best_d = np.full(m, np.inf)
    best_i = np.full(m, n, dtype=np.intp)
    if n == 0 or m == 0 or not radius > 0:
        return best_d, best_i
    finite = np.isfinite(pts).all(axis=1)
    d, i = cKDTree(ref).query(pts[finite], k=1, distance_upper_bound=float(radius))
    close = d < radius
    best_d[finite] = np.where(close, d, np.inf)
    best_i[finite] = np.where(close, i, n)
    return best_d, best_i


def apply_affine(matrix: np.ndarray, x, y):
    """(x', y') = the affine ``matrix`` (3x3) applied to pixel positions x, y."""
    m, x, y = np.asarray(matrix, float), np.asarray(x, float), np.asarray(y, float)
    return m[0, 0] * x + m[0, 1] * y + m[0, 2], m[1, 0] * x + m[1, 1] * y + m[1, 2]


def _brightest(cat) -> np.ndarray:
    """(n, 2) x, y of a catalogue's sources, brightest first."""
    order = np.argsort(-np.nan_to_num(np.asarray(cat["flux"], float), nan=-np.inf))
    return np.column_stack([np.asarray(cat["x"], float)[order],
                            np.asarray(cat["y"], float)[order]])


def vote_shift(ref_xy: np.ndarray, xy: np.ndarray, initial: tuple[float, float],
               search_radius: float, bin_size: float = 1.0) -> tuple[float, float, int]:
    """Shift (ref - frame) with the most pairwise agreements within the search box."""
    d = ref_xy[None, :, :] - xy[:, None, :]
    dx = d[..., 0].ravel() - initial[0]
    dy = d[..., 1].ravel() - initial[1]
    inside = (np.abs(dx) <= search_radius) & (np.abs(dy) <= search_radius)
    if not inside.any():
        return initial[0], initial[1], 0
    nb = max(1, int(math.ceil(2 * search_radius / bin_size)))
    h, xe, ye = np.histogram2d(dx[inside], dy[inside], bins=nb,
                               range=[[-search_radius, search_radius]] * 2)
    # smooth over neighbouring bins so a shift on a bin edge still wins
    hs = uniform_filter(h, size=3, mode="constant") * 9
    i, j = np.unravel_index(np.argmax(hs), hs.shape)
    cx, cy = (xe[i] + xe[i + 1]) / 2, (ye[j] + ye[j + 1]) / 2
    near = inside & (np.abs(dx - cx) <= 1.5 * bin_size) & (np.abs(dy - cy) <= 1.5 * bin_size)
    if not near.any():
        return initial[0], initial[1], 0
    return (float(np.median(dx[near]) + initial[0]), float(np.median(dy[near]) + initial[1]),
            int(near.sum()))


def _shift(dx: float, dy: float) -> np.ndarray:
    """The 3x3 affine matrix of a pure shift (pixels)."""
    return np.array([[1, 0, dx], [0, 1, dy], [0, 0, 1]], float)


def _fit(src: np.ndarray, dst: np.ndarray, rotation: bool, scale: bool) -> np.ndarray:
    """Least-squares transform src -> dst: shift, or similarity (rotation and/or scale)."""
    if not rotation and not scale:
        return _shift(*np.mean(dst - src, axis=0))
    sc, dc = src.mean(axis=0), dst.mean(axis=0)
    s0, d0 = src - sc, dst - dc
    a = np.sum(s0[:, 0] * d0[:, 0] + s0[:, 1] * d0[:, 1])
    b = np.sum(s0[:, 0] * d0[:, 1] - s0[:, 1] * d0[:, 0])
    theta = math.atan2(b, a) if rotation else 0.0
    theta = max(min(theta, math.radians(5)), math.radians(-5))
    c, s = math.cos(theta), math.sin(theta)
    rot = np.array([[c, -s], [s, c]])
    mag = 1.0
    if scale:
        proj = s0 @ rot.T
        mag = float(np.sum(proj * d0) / max(np.sum(proj * proj), 1e-12))
        mag = max(min(mag, 1.05), 0.95)
    lin = mag * rot
    t = dc - lin @ sc
    return np.array([[lin[0, 0], lin[0, 1], t[0]], [lin[1, 0], lin[1, 1], t[1]], [0, 0, 1]])


#: Matches whose residual lies further than this many robust sigmas (per axis, combined in
#: quadrature) from the fit are outliers: a 2-D Gaussian exceeds it with probability e^-8.
OUTLIER_SIGMA = 4.0


def clip_outlier_matches(src: np.ndarray, dst: np.ndarray, rotation: bool, scale: bool,
                         *, nsigma: float = OUTLIER_SIGMA, max_iterations: int = 20
                         ) -> tuple[np.ndarray, np.ndarray]:
    """(inlier mask, transform fitted on the inliers) of matched pairs src (m, 2) -> dst
    (m, 2), pixels: refitted on the pairs whose residual, in robust sigmas (1.4826 x MAD) per
    axis, is within ``nsigma`` in quadrature, until the inliers stop changing (chance
    matches, blends and cosmic rays lie far above the centroiding noise)."""
    keep = np.ones(len(src), bool)
    transform = _fit(src, dst, rotation, scale)
    for _ in range(max_iterations):
        if keep.sum() < 3:
            break
        px, py = apply_affine(transform, src[:, 0], src[:, 1])
        d = np.column_stack([px, py]) - dst
        centre = np.median(d[keep], axis=0)
        spread = mad_std(d[keep], axis=0)
        spread = np.maximum(spread, 1e-3)  # a floor: perfect positions (tests) need one
        new_keep = np.hypot(*((d - centre) / spread).T) <= nsigma
        if new_keep.sum() < 2 or np.array_equal(new_keep, keep):
            break
        keep = new_keep
        transform = _fit(src[keep], dst[keep], rotation, scale)
    return keep, transform


def match_sources(ref_xy, xy, *, initial_shift=(0.0, 0.0), search_radius: float = 30.0,
                  match_radius: float = 3.0, allow_rotation: bool = False,
                  allow_scale: bool = False, n_brightest: int = 100, iterations: int = 5):
    """(transform frame -> reference, matched (i_frame, i_ref) pairs, rms residual px)."""
    ref_xy = np.asarray(ref_xy, float)
    xy = np.asarray(xy, float)
    if len(ref_xy) == 0 or len(xy) == 0:
        return np.eye(3), np.zeros((0, 2), int), float("nan")
    sx, sy, _ = vote_shift(ref_xy[:n_brightest], xy[:n_brightest], initial_shift, search_radius)
    transform = _shift(sx, sy)
    pairs = np.zeros((0, 2), int)
    rms = float("nan")
    for _ in range(iterations):
        px, py = apply_affine(transform, xy[:, 0], xy[:, 1])
        dist, idx = nearest_within(ref_xy, np.column_stack([px, py]), match_radius)
        ok = np.isfinite(dist)
        # one frame source per reference source: keep the closest
        order = np.argsort(dist[ok])
        fi = np.flatnonzero(ok)[order]
        ri = idx[ok][order]
        _, first = np.unique(ri, return_index=True)
        fi, ri = fi[first], ri[first]
        if len(fi) < 2:
            break
        keep, new = clip_outlier_matches(xy[fi], ref_xy[ri], allow_rotation, allow_scale)
        fi, ri = fi[keep], ri[keep]
        res = np.hypot(*(np.column_stack(apply_affine(new, xy[fi, 0], xy[fi, 1]))
                         - ref_xy[ri]).T)
        pairs = np.column_stack([fi, ri])
        rms = float(np.sqrt(np.mean(res**2)))
        if np.allclose(new, transform, atol=1e-6):
            transform = new
            break
        transform = new
    return transform, pairs, rms


def align_to_reference(ref_cat, cat, *, header_shift=(0.0, 0.0),
                       search_radius: float = 30.0, match_radius: float = 3.0,
                       min_sources: int, allow_rotation: bool = False,
                       allow_scale: bool = False) -> dict:
    """dict(method, transform, n_matched, rms, reason) placing a frame on the reference from
    matched sources, or with fewer than ``min_sources`` matches ('offsets') by
    ``header_shift``, the reference-minus-frame pixel shift of the headers."""
    ref_xy, xy = _brightest(ref_cat), _brightest(cat)
    fallback = {"method": "offsets", "transform": _shift(*header_shift), "n_matched": 0,
                "rms": float("nan")}
    if len(ref_xy) < min_sources or len(xy) < min_sources:
        return {**fallback,
                "reason": f"too few sources ({len(xy)} in frame, {len(ref_xy)} in reference)"}
    transform, pairs, rms = match_sources(
        ref_xy, xy, initial_shift=header_shift, search_radius=search_radius,
        match_radius=match_radius, allow_rotation=allow_rotation, allow_scale=allow_scale)
    if len(pairs) < min_sources:
        return {**fallback, "n_matched": int(len(pairs)),
                "reason": f"only {len(pairs)} matched sources (< {min_sources})"}
    return {"method": "sources", "transform": transform, "n_matched": int(len(pairs)),
            "rms": rms, "reason": ""}
