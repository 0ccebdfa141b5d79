"""Stacking prepared frames (the tutorial's stackBiases, stackFlats) in row blocks, held in
memory when they fit the budget, else in scratch files: peak memory is a prepared frame or
two plus the budget, whatever the number of inputs.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from gmoslib import stacking as stacklib
from gmoslib.calibration.correct import check_compatible
from gmoslib.calibration.overscan import RowLevelImage
from gmoslib.calibration.prepare import RowPlane
from gmoslib.calibration.raw_frame import RawRows
from gmoslib.io.fitsio import Header, file_sha256
from gmoslib.io.frame import Extension, Frame
from gmoslib.io.names import printable
from gmoslib.io.provenance import add_provenance


class ScratchRows:
    """A (ny, nx) array written to a plain scratch file and read back a few rows at a time
    (``np.fromfile`` at an offset), with the row levels of a :class:`RowLevelImage`."""

    __slots__ = ("path", "dtype", "nx", "level")

    def __init__(self, path: str, array: np.ndarray, level: np.ndarray | None = None):
        np.ascontiguousarray(array).tofile(path)
        self.path, self.dtype, self.nx, self.level = path, array.dtype, array.shape[1], level

    def rows(self, y0: int, y1: int):
        rows = np.fromfile(self.path, dtype=self.dtype, count=(y1 - y0) * self.nx,
                           offset=y0 * self.nx * self.dtype.itemsize).reshape(y1 - y0, self.nx)
        return rows if self.level is None else RowLevelImage(rows, self.level[y0:y1])


class FrameStore:
    """Prepared frames held for row-block stacking.

    Per frame and extension: SCI float32 or a :class:`RowLevelImage`; VAR one number when
    constant (a bias's read noise), else float32; DQ None when all zero (uint8 in scratch
    files when no bit above 128 is set).  In memory when the set fits ``keep_bytes``, else
    in scratch files read back with ``np.fromfile``: the page cache holds them, not this
    process (a memory map would count every written page in its resident set).
    """

    def __init__(self, directory: str, n: int, keep_bytes: int):
        self.directory = directory
        self.n = n
        self.keep_bytes = keep_bytes
        self.in_memory: bool | None = None  # decided from the first frame
        self.items: list[list[tuple]] = []  # [frame][ext] -> (sci, var, dq)
        self.memory_used = 0
        self.files: dict[str, int] = {}  # raw files read back from (see RawRows)

    @staticmethod
    def _compact(ext: Extension):
        sci = ext.sci if isinstance(ext.sci, RowLevelImage) else np.asarray(ext.sci, np.float32)
        var = ext.var
        if var is not None and var.size and (
                all(st == 0 for st in var.strides) or float(var.min()) == float(var.max())):
            var = np.float32(var.flat[0])
        dq = ext.dq  # an array or a RowPlane
        if dq is not None and (not dq.size or int(dq.max()) == 0):
            dq = None
        return sci, var, dq

    @staticmethod
    def _nbytes(parts) -> int:
        return sum(a.nbytes for p in parts for a in p
                   if isinstance(a, (np.ndarray, RowLevelImage, RowPlane)))

    def store(self, k: int, frame: Frame) -> None:
        parts = [self._compact(e) for e in frame.exts]
        if self.in_memory is None:
            self.in_memory = self._nbytes(parts) * self.n <= self.keep_bytes
        if self.in_memory:
            self.memory_used += self._nbytes(parts)
            self.items.append(parts)
            return
        stored = []
        for i, planes in enumerate(parts):
            entry = []
            for name, arr in zip(("sci", "var", "dq"), planes, strict=True):
                path = os.path.join(self.directory, f"{name}{i}_{k}.bin")
                if isinstance(arr, RowLevelImage) and arr.source is not None:
                    # raw integers still in their (uncompressed) file: read back from there
                    arr = RawRows(arr, self._fd(arr.source[0]))
                elif isinstance(arr, RowLevelImage):
                    # the raw integers (half the bytes of float32) and the row levels
                    arr = ScratchRows(path, arr.stored, arr.level)
                elif isinstance(arr, np.ndarray) and arr.ndim == 2:
                    if name == "dq" and int(arr.max()) < 256:
                        arr = arr.astype(np.uint8)  # half the bytes to write and read back
                    arr = ScratchRows(path, arr)
                entry.append(arr)
            stored.append(tuple(entry))
        self.items.append(stored)

    def _fd(self, path: str) -> int:
        if path not in self.files:
            self.files[path] = os.open(path, os.O_RDONLY)
        return self.files[path]

    def close(self) -> None:
        for fd in self.files.values():
            os.close(fd)
        self.files.clear()

    @staticmethod
    def _rows(item, y0: int, y1: int, dtype):
        if item is None or isinstance(item, np.generic):  # a constant: one number
            return dtype(0 if item is None else item)
        if isinstance(item, np.ndarray):
            return item[y0:y1]  # the caller casts (uint8 DQ -> uint16) while copying
        return item.rows(y0, y1)  # lazy planes, raw and scratch files

    def readers(self, i: int) -> list[Callable]:
        def reader(k):
            sci, var, dq = self.items[k][i]
            return lambda y0, y1: (self._rows(sci, y0, y1, np.float32),
                                   self._rows(var, y0, y1, np.float32),
                                   self._rows(dq, y0, y1, np.uint16))

        return [reader(k) for k in range(self.n)]


def stack_prepared(
    frames: Callable[[int], Frame],
    n: int,
    *,
    combine: dict,
    memory_bytes: int,
    scratch_dir: str,
    on_frame: Callable[[int, Frame], None] | None = None,
    scale: np.ndarray | Callable[[], np.ndarray] | None = None,
    threads: int = 1,
) -> Frame:
    """Prepare ``frames(0)`` .. ``frames(n - 1)`` into a :class:`FrameStore`, then stack each
    extension in row blocks (``combine``: keywords of :func:`gmoslib.stacking.stack_frames`);
    the result has frame 0's headers.  ``threads`` frames are prepared and extensions stacked
    at once, each with its share of the budget: peak ``memory_bytes`` plus ``threads`` frames.
    """
    threads = max(1, int(threads))
    # (exits in reverse order: the pool's threads have stopped before the raw files they
    # read rows from are closed, also when an extension fails)
    with tempfile.TemporaryDirectory(prefix=".stack-", dir=scratch_dir) as tmp, \
            contextlib.ExitStack() as stack, ThreadPoolExecutor(max_workers=threads) as pool:
        store = FrameStore(tmp, n, memory_bytes * 3 // 4)  # the row blocks get the rest
        stack.callback(store.close)  # (raw files it reads rows from)
        pending = deque(pool.submit(frames, k) for k in range(min(threads, n)))
        first = None
        for k in range(n):
            f = pending.popleft().result()
            if first is None:  # frame 0's headers and shapes only (its arrays are stored)
                first = Frame(f.phu, [Extension(np.broadcast_to(np.float32(0), e.sci.shape),
                                                None, None, e.header) for e in f.exts],
                              f.filename)
            else:
                check_compatible(first, f)
            store.store(k, f)
            if on_frame:
                on_frame(k, f)
            del f
            if k + threads < n:
                pending.append(pool.submit(frames, k + threads))
        factors = scale() if callable(scale) else scale
        block_budget = max(memory_bytes - store.memory_used, memory_bytes // 4) // threads

        def stack_ext(i):
            ny, nx = first.exts[i].sci.shape
            return stacklib.stack_frames(store.readers(i), ny, nx, memory_bytes=block_budget,
                                         scale=factors, **combine)

        stacked = list(pool.map(stack_ext, range(len(first.exts))))
        exts = [Extension(sci, var, dq, ext.header.copy())
                for (sci, var, dq, _), ext in zip(stacked, first.exts, strict=True)]
        del stacked
    return Frame(first.phu.copy(), exts, first.filename)


def combine_kwargs(params: dict) -> dict:
    """Stacking keywords from a step's resolved parameters (stackBiases or stackFlats; only
    stackBiases has max_iters)."""
    return {
        "operation": params["operation"],
        "reject": params["reject_method"],
        **{k: params[k] for k in ("lsigma", "hsigma", "mclip", "max_iters") if k in params},
        "nlow": params.get("nlow") or 0,
        "nhigh": params.get("nhigh") or 0,
    }


def stack_header(phu: Header, paths: Sequence[str], step: str, params: dict,
                 inputs: Sequence[str]) -> None:
    """NCOMBINE, IMCMBnnn (the stacked ``paths``) and provenance of ``inputs`` (all files
    read: ``paths`` and the calibrations) in a master's PHU."""
    phu["NCOMBINE"] = (len(paths), "Number of frames combined")
    for k, name in enumerate(paths, start=1):
        phu[f"IMCMB{k:03d}"] = printable(os.path.basename(name))  # (raw names: any text)
    add_provenance(phu, step, params, [(p, file_sha256(p)) for p in inputs])
