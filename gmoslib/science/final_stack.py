"""Array primitives of the final stack on frames resampled onto one grid: background offsets
(reference 5.8, ``optimal_normalization``), exposure scaling (5.19, scaleCountsToReference
``tolerance=0``), the combination (5.20, ``stackFrames(zero=True)``).  SCI in electrons, VAR
in electrons**2, DQ uint16; the recipe is :func:`gmoslib.science.stack.stack_science`.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Sequence

import numpy as np

from gmoslib.stacking import stack_frames

__all__ = ["background_offsets", "exposure_scale_factors", "frame_planes", "row_reader",
           "stack_aligned"]


def background_offsets(scis, dqs=None, *, method: str = "optimal", stride: int = 4):
    """Offsets (N,) float64 such that ``sci_i - offsets[i]`` has frame 0's background (the
    ``zero`` of :func:`gmoslib.stacking.combine_block`).

    scis: N (ny, nx) arrays on one grid (electrons), already scaled if they are to be.
    'optimal' (reference 5.8): d_ij = median(sci_i - sci_j) over the n_ij pixels finite with
    DQ == 0 in both, and c_i - c_j = d_ij solved by least squares with weights n_ij, c_0 = 0.
    Every ``stride``-th row and column is used."""
    if method != "optimal":
        raise ValueError(f"background_offsets: method must be 'optimal', got {method!r}")
    n = len(scis)
    if n == 0:
        raise ValueError("background_offsets: no frames given")
    dqs = [None] * n if dqs is None else dqs
    if len(dqs) != n:
        raise ValueError(f"background_offsets: {n} sci arrays but {len(dqs)} dq arrays")
    if stride < 1:
        raise ValueError(f"background_offsets: stride must be >= 1, got {stride}")
    shape = np.shape(scis[0])
    sub, good = [], []
    for i, (s, d) in enumerate(zip(scis, dqs, strict=True)):
        if np.shape(s) != shape:
            raise ValueError(f"background_offsets: frame {i} has shape {np.shape(s)}, "
                             f"expected {shape}")
        s = np.asarray(s)[::stride, ::stride].astype(np.float64).ravel()
        g = np.isfinite(s)
        if d is not None:
            g &= np.asarray(d)[::stride, ::stride].ravel() == 0
        sub.append(s)
        good.append(g)
    if n == 1:
        return np.zeros(1)
    rows, rhs, weights = [], [], []
    for i, j in itertools.combinations(range(n), 2):
        both = good[i] & good[j]
        if both.any():
            rows.append(np.zeros(n))
            rows[-1][i], rows[-1][j] = 1.0, -1.0
            rhs.append(np.median(sub[i][both] - sub[j][both]))
            weights.append(float(both.sum()))
    if not rows:
        raise ValueError("background_offsets: no pair of frames has pixels good in both")
    a = np.array(rows)[:, 1:]  # c_0 = 0 is fixed
    w = np.sqrt(np.array(weights))
    sol, _, rank, _ = np.linalg.lstsq(a * w[:, None], np.array(rhs) * w, rcond=None)
    if rank < n - 1:
        raise ValueError("background_offsets: offsets are undetermined (some frame shares no "
                         "good pixels with the others)")
    return np.concatenate([[0.0], sol])


def exposure_scale_factors(exptimes) -> np.ndarray:
    """Scale factors t_ref / t_i (reference 5.19, tolerance=0), t_ref = exptimes[0] (s)."""
    t = np.asarray(exptimes, dtype=np.float64)
    if t.ndim != 1 or t.size == 0:
        raise ValueError(f"exposure_scale_factors: need a 1-D list of exposure times, got {t!r}")
    if not np.all(np.isfinite(t) & (t > 0)):
        raise ValueError(f"exposure_scale_factors: exposure times must be > 0, got {t.tolist()}")
    return t[0] / t


def row_reader(sci, var=None, dq=None) -> Callable[[int, int], tuple]:
    """``read(y0, y1) -> (sci, var, dq)`` rows y0:y1 of one frame's (ny, nx) planes (var and
    dq may be None), as :func:`gmoslib.stacking.stack_frames` reads frames."""
    return lambda y0, y1: tuple(None if a is None else a[y0:y1] for a in (sci, var, dq))


def frame_planes(n: int, shape: tuple[int, int], directory: str | None = None,
                 prefix: str = "") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Empty (n, ny, nx) sci float32, var float32 and dq uint16 planes of n frames: in memory,
    or memory maps ``{prefix}sci.npy``... in ``directory`` (which the caller removes)."""
    def plane(name, dtype):
        if directory is None:
            return np.empty((n, *shape), dtype)
        return np.lib.format.open_memmap(os.path.join(directory, f"{prefix}{name}.npy"), "w+",
                                         dtype, (n, *shape))

    return plane("sci", np.float32), plane("var", np.float32), plane("dq", np.uint16)


def stack_aligned(
    frames: Sequence,
    ny: int,
    nx: int,
    *,
    offsets=None,
    scales=None,
    memory_bytes: int = 256 * 1024 * 1024,
    lsigma: float,
    hsigma: float,
    threads: int = 1,
):
    """(sci float32, var float32, dq uint16, nrejected int16), each (ny, nx): frames on one
    grid stacked (reference 5.20) by :func:`gmoslib.stacking.stack_frames`, mean of the best
    DQ class sigma-clipped around the median to convergence.

    frames: per frame a ``read(y0, y1) -> (sci, var, dq)`` or a tuple of (ny, nx) arrays
    (sci, var, dq; var, dq may be None); scales (N,) multiply, then offsets (N,)
    (:func:`background_offsets`) are subtracted; None: none."""
    readers = [f if callable(f) else row_reader(*f) for f in frames]
    n = len(readers)
    if n < 2:
        raise ValueError(f"stack_aligned: need at least 2 frames, got {n}")
    for name, arr in (("offsets", offsets), ("scales", scales)):
        if arr is not None and np.shape(arr) != (n,):
            raise ValueError(f"stack_aligned: {name} must have shape ({n},), got {np.shape(arr)}")
    return stack_frames(readers, ny, nx, memory_bytes=memory_bytes, operation="mean",
                        reject="sigclip", lsigma=lsigma, hsigma=hsigma, mclip=True,
                        max_iters=None, zero=offsets, scale=scales, apply_dq=True,
                        threads=threads)
