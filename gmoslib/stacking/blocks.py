"""Stacking in row blocks: the frames' rows are read block by block, so that memory is set by
a budget and not by the number of frames."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from .combine import combine_block

#: At most this many input values per block (8 MB as float64), so that a block's working
#: arrays stay in the CPU cache (a third less CPU time for a master bias than larger blocks).
BLOCK_VALUES = 1 << 20
#: Bytes per input pixel while stacking a block: the float32/float32/uint16 block read (10)
#: plus the float64 working copies of :func:`combine_block`, measured with tracemalloc at
#: <= 55 in the worst modes (wtmean with varclip, minmax); 80 leaves room.  Blocks have at
#: most memory_bytes // (N * nx * 80) rows (at least 1), so the peak is ~memory_bytes
#: whatever N is, plus the (ny, nx) outputs (12 bytes per output pixel).
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
    """Stack N frames read in row blocks with :func:`combine_block` (its keyword arguments).

    readers : one callable per frame, ``read(y0, y1) -> (sci, var or None, dq or None)``,
    each plane (y1 - y0, nx) and anything ``np.asarray`` takes (an array, a broadcast
    constant, a :class:`gmoslib.io.frame.LazyPlane`); safe to call from several threads.
    Peak memory ~ memory_bytes plus the (ny, nx) outputs.  threads : blocks combined at once
    (numpy releases the GIL in the array work), each with memory_bytes / threads.
    Returns (sci float32, var float32, dq uint16, nrejected int16), each (ny, nx).
    """
    n = len(readers)
    if n == 0:
        raise ValueError("nothing to stack")
    nothing = np.empty((n, 0, nx), np.float32)
    combine_block(nothing, nothing, None, **combine_kwargs)  # (the options checked first)
    threads = max(1, int(threads))
    rows = block_rows_override or block_rows(n, nx, memory_bytes // threads)
    outputs = tuple(np.empty((ny, nx), t) for t in (np.float32, np.float32, np.uint16, np.int16))

    def stack_block(y0: int) -> None:
        y1 = min(ny, y0 + rows)
        combined = combine_block(*read_block(readers, y0, y1, nx), **combine_kwargs)
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


def read_block(readers, y0: int, y1: int, nx: int):
    """Rows y0:y1 of every frame: sci (N, rows, nx) float32, var float32 or None (when a
    frame has none), dq uint16 or None (likewise).  When every frame's VAR is one value (a
    broadcast constant, e.g. a bias's read noise) var is a broadcast of those N values."""
    n = len(readers)
    sci = np.empty((n, y1 - y0, nx), np.float32)
    var = np.empty_like(sci)
    dq = np.empty(sci.shape, np.uint16)
    have_var = have_dq = True
    constants = []  # each frame's VAR value, while they are all constants
    for k, read in enumerate(readers):
        s, v, d = read(y0, y1)
        sci[k] = s  # (np.asarray of a lazy plane computes its rows here)
        have_var = have_var and v is not None
        if have_var and constants is not None and isinstance(v, np.ndarray) and (
                v.size and not any(v.strides)):
            constants.append(v.flat[0])
        elif have_var:
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
