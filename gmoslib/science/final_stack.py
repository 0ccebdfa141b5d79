"""Final science stack: background offsets, exposure scaling, the stack itself.

Reference sections 5.8 (``optimal_normalization``), 5.19 (scaleCountsToReference with
``tolerance=0``) and 5.20 (final ``stackFrames(zero=True)``).  Frames are aligned on one grid
(``gmoslib.science.resample``).  SCI is in electrons, VAR in electrons**2, DQ uint16.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from gmoslib.stacking import stack_frames

__all__ = ["background_offsets", "exposure_scale_factors", "stack_science"]


def background_offsets(scis, dqs=None, *, method: str = "optimal", stride: int = 4):
    """Additive background offset of each frame relative to frame 0.

    scis : sequence of N (ny, nx) arrays on one grid (electrons).  If the frames are to be
        scaled (:func:`exposure_scale_factors`), pass them already scaled.
    dqs : sequence of N uint16 arrays or None; only pixels with DQ == 0 in both frames of a pair
        (and finite SCI) are used.
    method : 'optimal' (reference 5.8): for every pair i < j, d_ij = median(sci_i - sci_j) over
        pixels good in both and n_ij = number of such pixels; the offsets c (c_0 = 0) solve the
        weighted least squares c_i - c_j = d_ij with weights n_ij.
    stride : only every ``stride``-th row and column is used (deterministic subsample).
    Returns offsets (N,) float64: ``sci_i - offsets[i]`` has frame 0's background.  This is the
    ``zero`` argument of :func:`gmoslib.stacking.combine_block`.
    """
    if method != "optimal":
        raise ValueError(f"background_offsets: method must be 'optimal', got {method!r}")
    n = len(scis)
    if n == 0:
        raise ValueError("background_offsets: no frames given")
    if dqs is not None and len(dqs) != n:
        raise ValueError(f"background_offsets: {n} sci arrays but {len(dqs)} dq arrays")
    if stride < 1:
        raise ValueError(f"background_offsets: stride must be >= 1, got {stride}")
    shape = np.shape(scis[0])
    sub, good = [], []
    for i in range(n):
        s = np.asarray(scis[i])
        if s.shape != shape:
            raise ValueError(
                f"background_offsets: frame {i} has shape {s.shape}, expected {shape}"
            )
        s = s[::stride, ::stride].astype(np.float64).ravel()
        g = np.isfinite(s)
        if dqs is not None and dqs[i] is not None:
            g &= np.asarray(dqs[i])[::stride, ::stride].ravel() == 0
        sub.append(s)
        good.append(g)
    if n == 1:
        return np.zeros(1)
    rows, rhs, weights = [], [], []
    for i in range(n):
        for j in range(i + 1, n):
            both = good[i] & good[j]
            npix = int(both.sum())
            if npix == 0:
                continue
            row = np.zeros(n)
            row[i], row[j] = 1.0, -1.0
            rows.append(row)
            rhs.append(np.median(sub[i][both] - sub[j][both]))
            weights.append(float(npix))
    if not rows:
        raise ValueError("background_offsets: no pair of frames has pixels good in both")
    a = np.array(rows)[:, 1:]  # c_0 = 0 is fixed
    w = np.sqrt(np.array(weights))
    sol, _, rank, _ = np.linalg.lstsq(a * w[:, None], np.array(rhs) * w, rcond=None)
    if rank < n - 1:
        raise ValueError(
            "background_offsets: offsets are undetermined (some frame shares no good pixels "
            "with the others)"
        )
    return np.concatenate([[0.0], sol])


def exposure_scale_factors(exptimes) -> np.ndarray:
    """Scale factors t_ref / t_i (reference 5.19, tolerance=0), t_ref = exptimes[0] (s)."""
    t = np.asarray(exptimes, dtype=np.float64)
    if t.ndim != 1 or t.size == 0:
        raise ValueError(f"exposure_scale_factors: need a 1-D list of exposure times, got {t!r}")
    if not np.all(np.isfinite(t) & (t > 0)):
        raise ValueError(f"exposure_scale_factors: exposure times must be > 0, got {t.tolist()}")
    return t[0] / t


def _as_reader(frame) -> Callable[[int, int], tuple]:
    if callable(frame):
        return frame
    sci, var, dq = frame

    def read(y0: int, y1: int):
        return (
            sci[y0:y1],
            None if var is None else var[y0:y1],
            None if dq is None else dq[y0:y1],
        )

    return read


def stack_science(
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
    """Stack aligned science frames (reference 5.20).

    frames : per frame either a callable ``read(y0, y1) -> (sci, var, dq)`` giving rows
        y0:y1, or a tuple of (ny, nx) arrays (sci, var or None, dq or None).
    offsets : (N,) additive offsets from :func:`background_offsets` (subtracted after scaling,
        so every frame matches frame 0's background); None = no offsets.
    scales : (N,) multiplicative factors (e.g. :func:`exposure_scale_factors`); None = 1.
    Combination: mean of the pixels of the best DQ class, sigma clipped (lsigma, hsigma)
    around the median (mclip) to convergence, via :func:`gmoslib.stacking.stack_frames`
    (``threads`` row blocks at once).
    Returns (sci float32, var float32, dq uint16, nrejected int16), each (ny, nx).
    """
    readers = [_as_reader(f) for f in frames]
    n = len(readers)
    if n < 2:
        raise ValueError(f"stack_science: need at least 2 frames, got {n}")
    for name, arr in (("offsets", offsets), ("scales", scales)):
        if arr is not None and np.shape(arr) != (n,):
            raise ValueError(f"stack_science: {name} must have shape ({n},), got {np.shape(arr)}")
    return stack_frames(
        readers,
        ny,
        nx,
        memory_bytes=memory_bytes,
        operation="mean",
        reject="sigclip",
        lsigma=lsigma,
        hsigma=hsigma,
        mclip=True,
        max_iters=None,
        zero=offsets,
        scale=scales,
        apply_dq=True,
        threads=threads,
    )
