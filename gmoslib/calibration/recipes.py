"""Recipes: the reduction steps chained over whole frames.

Each recipe takes file paths and plain parameters, calls the array primitives extension by
extension, and returns a :class:`~gmoslib.io.frame.Frame`.  They read files but never write the
product (the caller writes it atomically), never read the workflow config and never modify a
raw file.  Stacks are computed in row blocks from prepared frames kept in memory when they
fit in the stacking budget and in plain scratch files otherwise, so peak memory is a prepared
frame or two plus the stacking budget, whatever the number of inputs.
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
from gmoslib.calibration import badpix
from gmoslib.calibration import flat as flatlib
from gmoslib.calibration import overscan as oscan
from gmoslib.calibration import prepare as prep
from gmoslib.config.schema import step_values
from gmoslib.instrument import illum
from gmoslib.instrument.descriptors import Descriptors
from gmoslib.instrument.sections import Section, format_section, parse_section
from gmoslib.io import dq as dqbits
from gmoslib.io.fitsio import Header, _scaled_float32, file_sha256, read_frame, read_raw
from gmoslib.io.frame import Extension, Frame
from gmoslib.io.names import printable
from gmoslib.io.provenance import add_provenance


class RecipeError(ValueError):
    """A recipe cannot proceed; the message names the file and the problem."""


# --------------------------------------------------------------------------- preparation
def _amp_ccd_y_start(header: Header) -> int:
    """0-based unbinned CCD row of the first row of this amplifier's data (from CCDSEC)."""
    return parse_section(header["CCDSEC"]).y1


def prepare_raw_frame(
    frame: Frame,
    desc: Descriptors,
    *,
    overscan: dict,
    bpm: Frame | None = None,
    copy_headers: bool = True,
    update_headers: bool = True,
    defer_sci: bool = False,
    illum_mask: bool = True,
) -> Frame:
    """Overscan-correct, trim, and attach DQ and read-noise VAR to every amplifier.

    Input: a raw frame (sci = raw counts, float32 ADU).  Output: per amplifier SCI (ADU, bias
    level removed, trimmed to DATASEC), VAR = (read noise / gain)^2 in ADU^2, DQ with
    saturated pixels (raw value >= saturation level), the static BPM if given, and the 48
    dead bottom rows of Hamamatsu CCDs flagged unilluminated.  VAR is a read-only view of
    one value per amplifier.  With ``copy_headers=False`` the raw frame's headers are
    updated and reused (for a raw frame read only to be prepared); with
    ``update_headers=False`` they are left as they are (for the pixels of a frame whose
    headers nothing reads, e.g. the second and later inputs of a master bias).  With
    ``defer_sci`` (raw integers without BSCALE) SCI is a
    :class:`~gmoslib.calibration.overscan.RowLevelImage`: the raw integers and the row levels,
    computed
    where they are read (for a frame that only goes into a stack), and a DQ whose only
    flags are whole rows is a :class:`~gmoslib.calibration.prepare.RowPlane`.
    """
    overscan = step_values("overscanCorrect", overscan)
    datasecs = desc.data_section()
    biassecs = desc.overscan_section()
    gains = desc.gain()
    read_noises = desc.read_noise()
    saturation = desc.saturation_level()
    xbin, ybin = desc.detector_x_bin(), desc.detector_y_bin()
    nbiascontam = overscan.get("nbiascontam")
    if nbiascontam is None:
        nbiascontam = desc.nbiascontam()
    hamamatsu = desc.detector_name(pretty=True).startswith("Hamamatsu")
    gain_setting = desc.gain_setting()
    illum_masks, illum_label = None, None
    if illum_mask and desc.observation_type().upper() not in ("BIAS", "DARK"):
        try:
            illum_masks, illum_label = illum.frame_illumination_masks(
                desc, [d.shape for d in datasecs], frame.filename)
        except illum.IllumMaskError as exc:
            raise RecipeError(str(exc)) from exc

    exts = []
    for i, ext in enumerate(frame.exts):
        datasec, biassec = datasecs[i], biassecs[i]
        gain, rn = float(gains[i]), float(read_noises[i])
        # integer pixels as stored (read_raw(scaled=False)): ADU = stored + BZERO.  The
        # overscan level is measured and subtracted in stored units (BZERO cancels), so the
        # data are converted once, in the subtraction.
        stored = np.asarray(ext.sci)
        bzero = 0.0
        if stored.dtype.kind in "iu":
            if float(ext.header.get("BSCALE", 1.0)) != 1.0:  # scaled integers: values first
                stored = _scaled_float32(stored, ext.header)
            else:
                bzero = float(ext.header.get("BZERO", 0.0))
        try:
            level, info = oscan.measure_overscan(
                stored, datasec, biassec,
                nbiascontam=nbiascontam,
                read_noise_adu=rn / gain,
                gain=gain,
                function=overscan["function"],
                order=overscan["order"],
                lsigma=overscan["lsigma"],
                hsigma=overscan["hsigma"],
                niter=overscan["niter"],
            )
        except ValueError as exc:
            raise RecipeError(f"{frame.filename} extension {i + 1}: {exc}") from exc
        if info.get("OVERSCAN") is not None:
            info["OVERSCAN"] = float(info["OVERSCAN"]) + bzero
        raw_data = stored[datasec.slice]  # a view: only the data section is converted
        if defer_sci and raw_data.dtype.kind in "iu":
            source = None
            if ext.source is not None and stored is ext.sci:
                path, offset = ext.source
                row_bytes = stored.strides[0]
                source = (path, offset + datasec.y1 * row_bytes
                          + datasec.x1 * stored.strides[1], row_bytes)
            sci = oscan.RowLevelImage(raw_data, level[datasec.y1:datasec.y2], source)
        else:
            sci = oscan.subtract_rows(raw_data, level[datasec.y1:datasec.y2])
        bpm_amp = _bpm_for_amp(bpm, ext.header, datasec.shape, xbin, ybin) if bpm else None
        # saturation judged on the raw values (bias level in): stored >= level - BZERO;
        # integer pixels are finite (no need to look for NaN/inf)
        dead = (prep.hamamatsu_dead_rows(sci.shape[0], ybin, _amp_ccd_y_start(ext.header))
                if hamamatsu else None)
        unillum = illum_masks[i] if illum_masks is not None else None
        if unillum is not None and not unillum.any():
            unillum = None
        if (defer_sci and bpm_amp is None and unillum is None and raw_data.dtype.kind in "iu"
                and not prep.any_saturated(raw_data, float(saturation[i]) - bzero)):
            # nothing flagged but whole rows: the DQ as its row values
            row_bits = np.zeros(sci.shape[0], np.uint16)
            if dead is not None:
                row_bits[dead] = dqbits.UNILLUMINATED | dqbits.NO_DATA
            dq = prep.RowPlane(row_bits, sci.shape[1])
        else:
            dq = prep.make_dq(raw_data, float(saturation[i]) - bzero, bpm=bpm_amp,
                              unilluminated=unillum, finite=raw_data.dtype.kind in "iu")
            if dead is not None and dead.any():
                # Hamamatsu's dead bottom rows: no data, and outside the illuminated field
                dq[dead, :] |= np.uint16(dqbits.UNILLUMINATED | dqbits.NO_DATA)
        # constant per amplifier: a read-only broadcast of one value (no array to fill);
        # every later step makes new arrays from it
        var = np.broadcast_to(np.float32((rn / gain) ** 2), sci.shape)

        hdr = ext.header.copy() if copy_headers else ext.header
        if not update_headers:
            exts.append(Extension(sci, var, dq, hdr))
            continue
        ny, nx = sci.shape
        hdr["TRIMSEC"] = (format_section(datasec), "Raw data section before trimming")
        # the WCS reference pixel moves with the trimmed origin
        if "CRPIX1" in hdr and "CRPIX2" in hdr:
            hdr["CRPIX1"] = float(hdr["CRPIX1"]) - datasec.x1
            hdr["CRPIX2"] = float(hdr["CRPIX2"]) - datasec.y1
        hdr["DATASEC"] = f"[1:{nx},1:{ny}]"
        hdr.remove("BIASSEC", ignore_missing=True)
        for key in ("OVERSEC", "OVERSCAN", "OVERRMS", "OVERRDNS"):
            if key in info and info[key] is not None:
                hdr[key] = info[key]
        hdr["GAIN"] = (gain, "Gain (e-/ADU), lookup table")
        hdr["RDNOISE"] = (rn, "Read noise (e-), lookup table")
        hdr["GAINSET"] = (gain_setting, "Gain setting")
        overscan_level = float(info.get("OVERSCAN") or 0.0)
        hdr["SATLEVEL"] = (float(saturation[i]) - overscan_level, "Saturation level (ADU)")
        hdr["BUNIT"] = "adu"
        exts.append(Extension(sci, var, dq, hdr))

    phu = frame.phu.copy() if copy_headers else frame.phu
    if not update_headers:
        return Frame(phu, exts, frame.filename)
    phu["PREPARE"] = ("gmos-snake", "Frame prepared")
    phu["SUBOVER"] = ("gmos-snake", "Overscan subtracted")
    phu["TRIMOVER"] = ("gmos-snake", "Overscan trimmed")
    phu["TRIMMED"] = "yes"
    if illum_label is not None:
        # the comment only where the card has room for it (astropy would truncate it, warning)
        comment = "Illumination mask (addIllumMaskToDQ)"
        phu["ILLUMMSK"] = (illum_label[:68], comment if len(illum_label) <= 28 else "")
    return Frame(phu, exts, frame.filename)


def _bpm_for_amp(bpm: Frame, header: Header, shape: tuple[int, int],
                 xbin: int, ybin: int) -> np.ndarray:
    """The part of a static BPM that covers one amplifier's data (boolean, ``shape``)."""
    ampname = header.get("AMPNAME")
    for ext in bpm.exts:
        if ext.header.get("AMPNAME") != ampname:
            continue
        bx, by = (int(v) for v in str(ext.header.get("CCDSUM", "1 1")).split())
        if (bx, by) != (xbin, ybin):
            raise RecipeError(
                f"BPM {bpm.filename} amplifier {ampname!r} has binning {bx}x{by}, "
                f"the data {xbin}x{ybin}"
            )
        mask = ext.dq if ext.dq is not None else ext.sci
        if "DATASEC" in ext.header:
            mask = mask[parse_section(ext.header["DATASEC"]).slice]
        bpm_ccd = parse_section(ext.header["CCDSEC"])
        amp_ccd = parse_section(header["CCDSEC"])
        x0 = (amp_ccd.x1 - bpm_ccd.x1) // xbin
        y0 = (amp_ccd.y1 - bpm_ccd.y1) // ybin
        if x0 < 0 or y0 < 0 or y0 + shape[0] > mask.shape[0] or x0 + shape[1] > mask.shape[1]:
            raise RecipeError(
                f"BPM {bpm.filename} amplifier {ampname!r} covers CCDSEC "
                f"{ext.header['CCDSEC']}, which does not contain the data's {header['CCDSEC']}"
            )
        return np.asarray(mask[y0:y0 + shape[0], x0:x0 + shape[1]]) != 0
    raise RecipeError(f"BPM {bpm.filename} has no amplifier {ampname!r}")


def load_prepared(path: str, *, overscan: dict, bpm: Frame | None = None,
                  update_headers: bool = True, defer_sci: bool = False) -> Frame:
    """Read a raw file and prepare it (:func:`prepare_raw_frame`)."""
    raw = read_raw(path, scaled=False)
    desc = Descriptors(raw.phu, [e.header for e in raw.exts], path)
    return prepare_raw_frame(raw, desc, overscan=overscan, bpm=bpm, copy_headers=False,
                             update_headers=update_headers, defer_sci=defer_sci)


# --------------------------------------------------------------------------- CCD tiling
def ccd_groups(headers: Sequence[Header]) -> list[list[int]]:
    """Extension indices grouped by CCD (left to right on the detector), each group sorted
    by amplifier position (CCDSEC x)."""
    by_ccd: dict[str, list[int]] = {}
    for i, h in enumerate(headers):
        by_ccd.setdefault(h.get("CCDNAME", ""), []).append(i)
    groups = sorted(by_ccd.values(),
                    key=lambda idx: min(parse_section(headers[i]["DETSEC"]).x1 for i in idx))
    return [sorted(g, key=lambda i: parse_section(headers[i]["CCDSEC"]).x1) for g in groups]


def tile_ccd(exts: Sequence[Extension], indices: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    """Place the trimmed amplifiers of one CCD side by side by CCDSEC: (sci, dq) of the
    covered area; uncovered pixels get DQ NO_DATA."""
    secs = []
    for i in indices:
        h = exts[i].header
        xbin, ybin = (int(v) for v in str(h["CCDSUM"]).split())
        c = parse_section(h["CCDSEC"])
        secs.append(Section(c.x1 // xbin, c.x1 // xbin + exts[i].sci.shape[1],
                            c.y1 // ybin, c.y1 // ybin + exts[i].sci.shape[0]))
    x0 = min(s.x1 for s in secs)
    y0 = min(s.y1 for s in secs)
    nx = max(s.x2 for s in secs) - x0
    ny = max(s.y2 for s in secs) - y0
    sci = np.zeros((ny, nx), np.float32)
    dq = np.full((ny, nx), dqbits.NO_DATA, np.uint16)
    for i, s in zip(indices, secs, strict=True):
        sl = (slice(s.y1 - y0, s.y2 - y0), slice(s.x1 - x0, s.x2 - x0))
        sci[sl] = exts[i].sci
        dq[sl] = exts[i].dq if exts[i].dq is not None else 0
    return sci, dq


def ccd2_statistics_region(frame: Frame) -> tuple[np.ndarray, np.ndarray]:
    """(sci, dq) of the central CCD (the whole frame if it has a single CCD) without the
    border used for flat scaling and normalisation (reference 5.8)."""
    groups = ccd_groups([e.header for e in frame.exts])
    central = groups[len(groups) // 2] if len(groups) > 1 else groups[0]
    sci, dq = tile_ccd(frame.exts, central)
    region = flatlib.ccd2_stat_region(sci.shape)
    return sci[region], dq[region]


# --------------------------------------------------------------------------- stacking
class _RawRows:
    """The raw integers of a prepared amplifier (a RowLevelImage with a file source), read
    back from their uncompressed file a few rows at a time (``os.pread``: nothing mapped,
    nothing copied to scratch files), with the amplifier's row levels."""

    __slots__ = ("path", "fd", "offset", "row_bytes", "dtype", "nx", "level")

    def __init__(self, image: oscan.RowLevelImage, fd: int):
        self.path, self.offset, self.row_bytes = image.source
        self.fd = fd
        self.dtype = image.stored.dtype
        self.nx = image.stored.shape[1]
        self.level = image.level

    def rows(self, y0: int, y1: int) -> oscan.RowLevelImage:
        width = self.nx * self.dtype.itemsize
        size = (y1 - y0 - 1) * self.row_bytes + width if y1 > y0 else 0
        buf = os.pread(self.fd, size, self.offset + y0 * self.row_bytes)
        if len(buf) != size:
            raise RecipeError(f"{self.path}: the raw file changed while it was read (got "
                              f"{len(buf)} of {size} bytes at offset "
                              f"{self.offset + y0 * self.row_bytes})")
        stored = np.ndarray((y1 - y0, self.nx), self.dtype, buffer=buf,
                            strides=(self.row_bytes, self.dtype.itemsize))
        return oscan.RowLevelImage(stored, self.level[y0:y1])


class _FrameStore:
    """Prepared frames held for row-block stacking.

    Per frame and extension: SCI (float32, or the raw integers and row levels of a
    :class:`~gmoslib.calibration.overscan.RowLevelImage`, computed where the stack reads them); VAR
    as
    one number when it is constant (a bias's read noise) and as float32 otherwise; DQ as
    None when it is all zero (in scratch files as uint8 when no bit above 128 is set).  The
    arrays stay in memory when the whole set fits in ``keep_bytes``; otherwise each is
    written to a plain scratch file and rows are read back with ``np.fromfile`` at an offset,
    so the stored frames sit in the page cache, not in this process's memory (a memory map
    would count every page written in the process's resident set).
    """

    def __init__(self, directory: str, n: int, keep_bytes: int):
        self.directory = directory
        self.n = n
        self.keep_bytes = keep_bytes
        self.in_memory: bool | None = None  # decided from the first frame
        self.items: list[list[tuple]] = []  # [frame][ext] -> (sci, var, dq)
        self.shapes: list[tuple[int, int]] = []
        self.memory_used = 0
        self.files: dict[str, int] = {}  # raw files read back from (see _RawRows)

    @staticmethod
    def _compact(ext: Extension):
        sci = ext.sci if isinstance(ext.sci, oscan.RowLevelImage) else \
            np.asarray(ext.sci, np.float32)
        var = ext.var
        if var is not None and var.size and (
                all(st == 0 for st in var.strides) or float(var.min()) == float(var.max())):
            var = np.float32(var.flat[0])
        dq = ext.dq  # an array or a prep.RowPlane
        if dq is not None and (not dq.size or int(dq.max()) == 0):
            dq = None
        return sci, var, dq

    @staticmethod
    def _nbytes(parts) -> int:
        return sum(a.nbytes for p in parts for a in p
                   if isinstance(a, (np.ndarray, oscan.RowLevelImage, prep.RowPlane)))

    def store(self, k: int, frame: Frame) -> None:
        parts = [self._compact(e) for e in frame.exts]
        if self.in_memory is None:
            self.shapes = [e.sci.shape for e in frame.exts]
            self.in_memory = self._nbytes(parts) * self.n <= self.keep_bytes
        if self.in_memory:
            self.memory_used += self._nbytes(parts)
            self.items.append(parts)
            return
        stored = []
        for i, (sci, var, dq) in enumerate(parts):
            entry = []
            for name, arr in (("sci", sci), ("var", var), ("dq", dq)):
                level = None
                if isinstance(arr, oscan.RowLevelImage) and arr.source is not None:
                    # raw integers still in their (uncompressed) file: read back from there
                    entry.append(_RawRows(arr, self._fd(arr.source[0])))
                    continue
                if isinstance(arr, oscan.RowLevelImage):
                    # the raw integers (half the bytes of float32) and the row levels
                    arr, level = arr.stored, arr.level
                elif name == "dq" and isinstance(arr, np.ndarray) and int(arr.max()) < 256:
                    arr = arr.astype(np.uint8)  # half the bytes to write and read back
                if isinstance(arr, np.ndarray) and arr.ndim == 2:
                    path = os.path.join(self.directory, f"{name}{i}_{k}.bin")
                    np.ascontiguousarray(arr).tofile(path)
                    entry.append((path, arr.dtype, level))
                else:
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

    def _rows(self, item, i: int, y0: int, y1: int, dtype):
        ny, nx = self.shapes[i]
        if item is None:
            return np.broadcast_to(dtype(0), (y1 - y0, nx))
        if isinstance(item, _RawRows):
            return item.rows(y0, y1)
        if isinstance(item, np.ndarray) and item.ndim == 2:
            return item[y0:y1]  # the caller casts (uint8 DQ -> uint16) while copying
        if isinstance(item, (oscan.RowLevelImage, prep.RowPlane)):
            return item.rows(y0, y1)
        if isinstance(item, tuple):
            path, dt, level = item
            rows = np.fromfile(path, dtype=dt, count=(y1 - y0) * nx,
                               offset=y0 * nx * dt.itemsize).reshape(y1 - y0, nx)
            return rows if level is None else oscan.RowLevelImage(rows, level[y0:y1])
        return np.broadcast_to(dtype(item), (y1 - y0, nx))  # a constant

    def readers(self, i: int) -> list[Callable]:
        def reader(k):
            sci, var, dq = self.items[k][i]
            return lambda y0, y1: (self._rows(sci, i, y0, y1, np.float32),
                                   self._rows(var, i, y0, y1, np.float32),
                                   self._rows(dq, i, y0, y1, np.uint16))

        return [reader(k) for k in range(self.n)]


def _check_compatible(first: Frame, other: Frame, what: str = "") -> None:
    """Same number of extensions and shapes; the message names both files."""
    label = f"{what} {other.filename}" if what else other.filename
    if len(other.exts) != len(first.exts):
        raise RecipeError(
            f"{label} has {len(other.exts)} extensions but {first.filename} has "
            f"{len(first.exts)}: they do not fit together"
        )
    for i, (a, b) in enumerate(zip(first.exts, other.exts, strict=True)):
        if a.sci.shape != b.sci.shape:
            raise RecipeError(
                f"{label} extension {i + 1} has shape {b.sci.shape}, "
                f"{first.filename} has {a.sci.shape}: they do not fit together"
            )


def _stack_prepared(
    frames: Callable[[int], Frame],
    n: int,
    *,
    combine: dict,
    memory_bytes: int,
    scratch_dir: str,
    on_frame: Callable[[int, Frame], None] | None = None,
    scale: np.ndarray | Callable[[], np.ndarray] | None = None,
    threads: int = 1,
) -> tuple[Frame, list[str]]:
    """Prepare n frames into a :class:`_FrameStore`, then stack each extension in row
    blocks.  Returns the stacked frame (headers of frame 0) and the input file names.

    With ``threads`` > 1, up to ``threads`` frames are prepared at once and extensions are
    stacked side by side (numpy releases the GIL in the array work), each with its share of
    the block budget, so the peak stays within ``memory_bytes`` plus ``threads`` prepared
    frames.
    """
    threads = max(1, int(threads))
    # (exits in reverse order: the pool's threads have stopped before the raw files they
    # read rows from are closed, also when an extension fails)
    with tempfile.TemporaryDirectory(prefix=".stack-", dir=scratch_dir) as tmp, \
            contextlib.ExitStack() as stack, ThreadPoolExecutor(max_workers=threads) as pool:
        pending: deque = deque()
        submitted = 0

        def submit():
            nonlocal submitted
            if submitted < n:
                pending.append(pool.submit(frames, submitted))
                submitted += 1

        for _ in range(threads):  # at most `threads` prepared frames alive at once
            submit()
        f = pending.popleft().result()
        # frames kept in memory may use 3/4 of the budget, the row blocks the rest
        scratch = _FrameStore(tmp, n, memory_bytes * 3 // 4)
        stack.callback(scratch.close)  # (raw files it reads rows from)
        names = [f.filename]
        scratch.store(0, f)
        if on_frame:
            on_frame(0, f)
        # frame 0's headers and shapes only (its arrays are in the store)
        first = Frame(f.phu, [Extension(np.broadcast_to(np.float32(0), e.sci.shape), None,
                                        None, e.header) for e in f.exts], f.filename)
        del f
        submit()
        for k in range(1, n):
            f = pending.popleft().result()
            _check_compatible(first, f)
            scratch.store(k, f)
            names.append(f.filename)
            if on_frame:
                on_frame(k, f)
            del f
            submit()
        factors = scale() if callable(scale) else scale
        block_budget = max(memory_bytes - scratch.memory_used, memory_bytes // 4) // threads

        def stack_ext(i):
            ny, nx = first.exts[i].sci.shape
            return stacklib.stack_frames(scratch.readers(i), ny, nx, memory_bytes=block_budget,
                                         scale=factors, **combine)

        stacked = list(pool.map(stack_ext, range(len(first.exts))))
        exts = [Extension(sci, var, dq, ext.header.copy())
                for (sci, var, dq, _), ext in zip(stacked, first.exts, strict=True)]
        del stacked
    return Frame(first.phu.copy(), exts, first.filename), names


def _combine_kwargs(params: dict) -> dict:
    """Stacking keywords from a step's resolved parameters (stackBiases or stackFlats; only
    stackBiases has max_iters)."""
    return {
        "operation": params["operation"],
        "reject": params["reject_method"],
        **{k: params[k] for k in ("lsigma", "hsigma", "mclip", "max_iters") if k in params},
        "nlow": params.get("nlow") or 0,
        "nhigh": params.get("nhigh") or 0,
    }


def _stack_header(phu: Header, names: list[str], step: str, params: dict,
                  paths: Sequence[str]):
    phu["NCOMBINE"] = (len(names), "Number of frames combined")
    for k, name in enumerate(names, start=1):
        phu[f"IMCMB{k:03d}"] = printable(os.path.basename(name))  # (raw names: any text)
    add_provenance(phu, step, params, [(p, file_sha256(p)) for p in paths])


def make_master_bias(
    paths: Sequence[str],
    *,
    overscan: dict,
    stack: dict,
    memory_bytes: int,
    scratch_dir: str,
    bpm: Frame | None = None,
    threads: int = 1,
) -> Frame:
    """Master bias (ADU) from raw bias files: prepare each, stack with rejection
    (``threads``: see :func:`_stack_prepared`).

    Output per amplifier: SCI (ADU), VAR (ADU^2), DQ; PHU of the first input plus PROCBIAS,
    NCOMBINE, IMCMBnnn and provenance.
    """
    paths = list(paths)
    if len(paths) < 1:
        raise RecipeError("a master bias needs at least one bias frame")
    combine = _combine_kwargs(step_values("stackBiases", stack))
    if len(paths) < 3 and combine["reject"] != "none":
        combine["reject"] = "none"  # too few frames to reject anything

    def frame(k):
        # only the first frame's headers go into the master: the others keep their raw ones
        # only the stack reads the pixels: computed there, rows at a time
        f = load_prepared(paths[k], overscan=overscan, bpm=bpm, update_headers=k == 0,
                          defer_sci=True)
        if "BIAS" not in Descriptors(f.phu, [e.header for e in f.exts], paths[k]).tags():
            raise RecipeError(f"{paths[k]} is not a bias (OBSTYPE={f.phu.get('OBSTYPE')!r})")
        return f

    out, names = _stack_prepared(frame, len(paths), combine=combine,
                                 memory_bytes=memory_bytes, scratch_dir=scratch_dir,
                                 threads=threads)
    out.phu["PROCBIAS"] = ("gmos-snake", "Processed bias")
    _stack_header(out.phu, names, "makeProcessedBias",
                  {"overscanCorrect": overscan, "stackBiases": combine}, paths)
    return out


def _apply_calibration(frame: Frame, cal: Frame, kind: str, primitive, keyword: str,
                       comment: str) -> Frame:
    """Apply a per-extension calibration primitive (sci, var, dq, cal_sci, cal_var, cal_dq)
    to every extension after checking that the calibration fits; record it in the PHU."""
    _check_compatible(frame, cal, kind)
    exts = []
    for e, c in zip(frame.exts, cal.exts, strict=True):
        sci, var, dq = primitive(e.sci, e.var, e.dq, c.sci, c.var, c.dq)
        exts.append(Extension(sci, var, dq, e.header))
    phu = frame.phu.copy()
    phu[keyword] = (os.path.basename(cal.filename), comment)
    return Frame(phu, exts, frame.filename)


def subtract_master(frame: Frame, master: Frame, kind: str) -> Frame:
    """Subtract a master bias (same units) from every extension; checks shapes."""
    return _apply_calibration(frame, master, kind, prep.subtract_bias, "BIASIM",
                              "Master bias used")


def to_electrons(frame: Frame) -> Frame:
    """ADU -> electrons with each amplifier's GAIN keyword, then add Poisson VAR."""
    exts = []
    for e in frame.exts:
        gain = float(e.header["GAIN"])
        sci, var = prep.adu_to_electrons(e.sci, e.var, gain)
        var = prep.add_poisson_var(var, sci)
        hdr = e.header.copy()
        hdr["BUNIT"] = "electron"
        hdr["GAIN"] = (1.0, "Data in electrons")
        hdr["GAINORIG"] = (gain, "Gain applied (e-/ADU)")
        if "SATLEVEL" in hdr:
            hdr["SATLEVEL"] = round(float(hdr["SATLEVEL"]) * gain, 3)
        exts.append(Extension(sci, var, e.dq, hdr))
    phu = frame.phu.copy()
    phu["ADUTOELE"] = ("gmos-snake", "Converted to electrons")
    return Frame(phu, exts, frame.filename)


def make_master_flat(
    paths: Sequence[str],
    bias_path: str,
    *,
    overscan: dict,
    stack: dict,
    memory_bytes: int,
    scratch_dir: str,
    bpm: Frame | None = None,
    threads: int = 1,
) -> Frame:
    """Master twilight flat: prepare, subtract the master bias, convert to electrons, add
    Poisson VAR, scale each flat to the first on the central CCD, stack (minmax rejection
    chosen from the number of flats unless given), check it against the illumination mask
    and find its bad pixels (:func:`gmoslib.calibration.badpix.flat_dq_checks`), normalise by the
    mode-clipped median of the central CCD; SCI = 1 where DQ is set.
    """
    paths = list(paths)
    if not paths:
        raise RecipeError("a master flat needs at least one twilight frame")
    bias = read_frame(bias_path)
    stack = step_values("stackFlats", stack)
    combine = _combine_kwargs(stack)
    if stack["reject_method"] == "auto":
        reject, nlow, nhigh = flatlib.flat_rejection_for_count(len(paths))
        combine["reject"] = reject
        combine["nlow"] = nlow if stack["nlow"] is None else stack["nlow"]
        combine["nhigh"] = nhigh if stack["nhigh"] is None else stack["nhigh"]
    regions: list[tuple[np.ndarray, np.ndarray]] = []

    def frame(k):
        f = load_prepared(paths[k], overscan=overscan, bpm=bpm)
        return to_electrons(subtract_master(f, bias, "master bias"))

    def remember_region(k, f):
        regions.append(ccd2_statistics_region(f))

    def factors():
        return np.asarray(flatlib.flat_scale_factors(regions), dtype=np.float64)

    out, names = _stack_prepared(frame, len(paths), combine=combine,
                                 memory_bytes=memory_bytes, scratch_dir=scratch_dir,
                                 on_frame=remember_region, scale=factors, threads=threads)
    scale_factors = factors()
    ccd2_sci, ccd2_dq = ccd2_statistics_region(out)
    norm = float(flatlib.flat_normalisation(ccd2_sci, ccd2_dq))
    if not np.isfinite(norm) or norm <= 0:
        raise RecipeError(f"flat from {paths[0]}: normalisation level {norm} is not positive")
    # the flat checks itself: illumination against the mask, then bad pixels (DQ 64, 1)
    dqs, counts = badpix.flat_dq_checks(
        [e.sci for e in out.exts], [e.var for e in out.exts], [e.dq for e in out.exts],
        [str(e.header.get("AMPNAME", k + 1)) for k, e in enumerate(out.exts)], norm,
        os.path.basename(paths[0]))
    sci, var, dqs = flatlib.normalize_flat(
        [e.sci for e in out.exts], [e.var for e in out.exts], dqs, norm)
    exts = []
    for e, s, v, d in zip(out.exts, sci, var, dqs, strict=True):
        hdr = e.header.copy()
        hdr["BUNIT"] = ""
        exts.append(Extension(s, v, d, hdr))
    phu = out.phu
    phu["BIASIM"] = (os.path.basename(bias_path), "Master bias used")
    phu["FLATNORM"] = (norm, "Normalisation level (electrons)")
    for key, comment in (("ILLUMLOW", "Pixels dark in the flat, flagged unilluminated"),
                         ("ILLUMHI", "Masked unilluminated, bright in the flat"),
                         ("FLATBAD", "Bad pixels found in the flat (DQ 1)")):
        phu[key] = (counts[key], comment)
    for k, f in enumerate(scale_factors, start=1):
        phu[f"RELINT{k:02d}"] = (float(f), f"Scale factor of input {k}")
    phu["PROCFLAT"] = ("gmos-snake", "Processed flat")
    _stack_header(phu, names, "makeProcessedFlat",
                  {"overscanCorrect": overscan, "stackFlats": combine}, [*paths, bias_path])
    return Frame(phu, exts, out.filename)


# --------------------------------------------------------------------------- science frames
def flat_correct_frame(frame: Frame, flat: Frame) -> Frame:
    """Divide every extension by the master flat (VAR propagated, DQ OR-ed)."""
    return _apply_calibration(frame, flat, "master flat", prep.flat_correct, "FLATIM",
                              "Master flat used")


def ccd_index_of_extensions(frame: Frame) -> list[int]:
    """CCD index (0, 1, 2 from left to right) of every extension, in file order."""
    index = [0] * len(frame.exts)
    for k, group in enumerate(ccd_groups([e.header for e in frame.exts])):
        for i in group:
            index[i] = k
    return index
