"""Stacking in row blocks, so that memory is set by a budget, not by the number of frames."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from .combine import combine_block

#: Input values per block at most (8 MB as float64): the working arrays stay in the CPU
#: cache (a third less CPU time for a master bias than larger blocks).
BLOCK_VALUES = 1 << 20
#: Bytes per input pixel while stacking a block: the sci/var/dq block read (10) plus the
#: float64 copies of :func:`combine_block`, <= 55 by tracemalloc in the worst modes (wtmean
#: with varclip, minmax); 80 leaves room.  Peak ~memory_bytes plus 12 bytes per output pixel.
BYTES_PER_PIXEL = 80


def block_rows(n_frames: int, nx: int, memory_bytes: int,
               bytes_per_pixel: int = BYTES_PER_PIXEL) -> int:
    """Rows per block so that n_frames x rows x nx pixels fit in memory_bytes and are at
    most :data:`BLOCK_VALUES` (>= 1)."""
    values = min(memory_bytes // bytes_per_pixel, BLOCK_VALUES)
    return max(1, int(values // max(1, n_frames * nx)))


def stack_frames(
    readers: Sequence[Callable[[int, int], tuple]],
    ny: int,
    nx: int,
    *,
    memory_bytes: int = 256 * 1024 * 1024,
    block_rows_override: int | None = None,
    threads: int = 1,
    **combine_kwargs,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Stack N frames in row blocks with :func:`combine_block` (its keyword arguments).

    readers : one thread-safe callable per frame, ``read(y0, y1) -> (sci, var or None, dq or
    None)``, each plane (y1 - y0, nx), anything ``np.asarray`` takes (array, broadcast
    constant, :class:`gmoslib.io.frame.LazyPlane`) or a number (a constant plane).  threads :
    blocks combined at once, each with memory_bytes / threads.  Returns (sci float32, var
    float32, dq uint16, nrejected int16), each (ny, nx).
    """
    n = len(readers)
    if n == 0:
        raise ValueError("nothing to stack")
    nothing = np.empty((n, 0, nx), np.float32)
    combine_block(nothing, nothing, None, **combine_kwargs)  # (the options checked first)
    threads = max(1, int(threads))
    rows = block_rows_override or block_rows(n, nx, memory_bytes // threads)
    outputs = tuple(np.empty((ny, nx), t) for t in (np.float32, np.float32, np.uint16, np.int16))

    local = threading.local()  # each thread's (sci, dq) block arrays, filled for each block

    def stack_block(y0: int) -> None:
        y1 = min(ny, y0 + rows)
        if not hasattr(local, "block"):
            local.block = [np.empty((n, rows, nx), t) for t in (np.float32, np.uint16)]
        combined = combine_block(*read_block(readers, y0, y1, nx, local.block), **combine_kwargs)
        for out, part in zip(outputs, combined, strict=True):
            out[y0:y1] = part

    starts = range(0, ny, rows)
    if threads == 1 or len(starts) == 1:
        for y0 in starts:
            stack_block(y0)
    else:
        with ThreadPoolExecutor(max_workers=threads) as pool:
            list(pool.map(stack_block, starts))
    return outputs


def read_block(readers, y0: int, y1: int, nx: int, block):
    """Rows y0:y1 of every frame: sci (N, rows, nx) float32, var float32, dq uint16 (None
    when a frame has none); var a broadcast of N values when every frame's VAR is constant.
    block: (sci, dq) (N, >= rows, nx) to fill (not new arrays each block: page faults)."""
    sci, dq = (b[:, :y1 - y0] for b in block)
    var = None
    have_var = have_dq = True
    constants = []  # each frame's VAR value, while they are all constants
    for k, read in enumerate(readers):
        s, v, d = read(y0, y1)
        sci[k] = s  # (np.asarray of a lazy plane computes its rows here)
        have_var = have_var and v is not None
        if have_var and constants is not None and (np.ndim(v) == 0 or isinstance(
                v, np.ndarray) and v.size and not any(v.strides)):
            constants.append(np.asarray(v).flat[0])
        elif have_var:
            var = np.empty_like(sci) if var is None else var
            if constants:
                var[:k] = np.asarray(constants, np.float32)[:, None, None]
            constants = None
            var[k] = v
        have_dq = have_dq and d is not None
        if have_dq:
            dq[k] = d
    if have_var and constants is not None:
        var = np.broadcast_to(np.asarray(constants, np.float32)[:, None, None], sci.shape)
    return sci, var if have_var else None, dq if have_dq else None
