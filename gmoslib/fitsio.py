"""FITS input/output for raw GMOS files and processed SCI/VAR/DQ products.

* Raw files (``.fits``, ``.fits.gz``, ``.fits.bz2``) are opened read-only; their image
  extensions are unnamed ``uint16`` arrays stored with ``BZERO = 32768``.
* Processed files hold, per amplifier (or per mosaic), ``SCI`` (float32), ``VAR`` (float32)
  and ``DQ`` (uint16) HDUs sharing one ``EXTVER``.
* Every write goes to a temporary file in the target directory which is renamed over the
  target only once complete, so an interrupted job never leaves a half-written product.
"""

from __future__ import annotations

import contextlib
import glob
import hashlib
import mmap
import os
import re
import shutil
import tempfile
import zlib
from collections.abc import Iterator, Mapping, Sequence

import numpy as np

from . import rawcompress
from .errors import FitsReadError
from .fitsheader import Header, add_date_obs, as_header
from .frame import Extension, Frame

BLOCK = 2880
#: Name endings of compressed files (decompressed with bounds: gmoslib.rawcompress).
_COMPRESSED = (".gz", ".bz2", ".fz")


#: SHA-256 of files whose bytes this process has already read, keyed by (path, size,
#: mtime_ns, inode): a raw file read by :func:`read_raw` is not read again for provenance.
_SHA256_SEEN: dict[tuple, str] = {}


def _file_key(path: str, st: os.stat_result) -> tuple:
    return (os.path.abspath(path), st.st_size, st.st_mtime_ns, st.st_ino)


def file_sha256(path: str, chunk: int = 1 << 20) -> str:
    """SHA-256 of a file's bytes (streamed; remembered from an earlier read of the same,
    unchanged file in this process)."""
    key = _file_key(path, os.stat(path))
    if key in _SHA256_SEEN:
        return _SHA256_SEEN[key]
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def remember_sha256(known: Mapping[str, Sequence]) -> list[str]:
    """Take the SHA-256 of files from an earlier reading of them -- the manifest's
    ``{path: (sha256, size_bytes, mtime_ns, inode)}`` -- for every file that is still as it
    was then (same size, modification time and inode: a file replaced by a copy with the
    same time, as ``cp -p`` or ``rsync -a`` make, has a new inode), so that reading it does
    not hash it again.  Returns the paths that changed or are missing (they are hashed when
    read, as usual)."""
    stale = []
    for path, (digest, size, mtime_ns, inode) in known.items():
        try:
            st = os.stat(path)
        except OSError:
            stale.append(path)
            continue
        if (st.st_size, st.st_mtime_ns, st.st_ino) == (int(size), int(mtime_ns),
                                                         int(inode)) and digest:
            _SHA256_SEEN[_file_key(path, st)] = str(digest)
        else:
            stale.append(path)
    return stale


def _check_readable(path: str) -> None:
    if not os.path.exists(path):
        raise FitsReadError(f"{path}: file does not exist")
    if os.path.getsize(path) == 0:
        raise FitsReadError(f"{path}: empty file (0 bytes)")


def read_headers(path: str, *, check_size: bool = True) -> tuple[Header, list[Header]]:
    """Primary header and the image-extension headers, without reading pixel data.

    With ``check_size`` the file length is compared with what the headers declare, so a
    truncated file is reported here rather than when its pixels are first used.  The file
    is memory-mapped (decompressed, with bounds, when .gz/.bz2/.fz: gmoslib.rawcompress) and
    its headers parsed card by card.
    """
    _check_readable(path)
    compressed = path.lower().endswith(_COMPRESSED)
    try:
        data = _read_bytes(path)
    except FitsReadError:
        raise
    except (OSError, EOFError, zlib.error, ValueError) as exc:
        if compressed:
            raise FitsReadError(f"{path}: corrupt compressed file ({exc})") from exc
        raise FitsReadError(f"{path}: not a readable FITS file ({exc})") from exc
    try:
        hdus = _scan_hdus(data, path, check_size=check_size)
    except FitsReadError:
        raise
    except (ValueError, KeyError, TypeError, IndexError) as exc:
        raise FitsReadError(f"{path}: not a readable FITS file ({exc})") from exc
    phu = hdus[0][0]
    exts = [h for k, (h, _, _) in enumerate(hdus)
            if k and str(h.get("XTENSION", "")).strip() == "IMAGE"]
    if any(str(h.get("EXTNAME", "")).upper() == "SCI" for h in exts):
        # a processed file: one SCI header per amplifier (VAR/DQ carry no geometry)
        exts = [h for h in exts if str(h.get("EXTNAME", "")).upper() == "SCI"]
    return phu, exts


def _stored_images(path: str):
    """(structure, stored array or None) of every image extension, from the file's bytes
    (memory-mapped when uncompressed): stored values, BZERO/BSCALE not applied."""
    _check_readable(path)
    data = _read_bytes(path)
    out = []
    for k, (h, off, _) in enumerate(_scan_hdus(data, path, full=lambda k, s: False)):
        if k == 0 or str(h.get("XTENSION", "")).strip() != "IMAGE":
            continue
        out.append((h, _stored(data, h, off) if int(h.get("NAXIS", 0)) == 2 else None))
    return out


def nonfinite_counts(path: str) -> list[int]:
    """Number of NaN/inf pixels in every image extension (0 for integer data)."""
    out = []
    try:
        for _, stored in _stored_images(path):
            if stored is None or stored.dtype.kind != "f":
                out.append(0)
            else:
                out.append(int(stored.size - np.count_nonzero(np.isfinite(stored))))
    except FitsReadError:
        raise
    except (OSError, EOFError, zlib.error, ValueError, TypeError, KeyError) as exc:
        raise FitsReadError(f"{path}: cannot read pixel data ({exc})") from exc
    return out


def saturated_fraction(path: str, sections, levels, stride: int = 4) -> float:
    """Fraction of raw pixels at or above the saturation level, over every image extension.

    sections : the data section (:class:`~gmoslib.sections.Section`) of each image extension;
    levels : saturation level of each extension (ADU, raw values with the bias level in);
    only every ``stride``-th row and column is looked at (a deterministic sample).
    """
    n_sat = n_all = 0
    try:
        images = _stored_images(path)
        for (h, stored), sec, level in zip(images, sections, levels, strict=True):
            if stored is None:
                continue
            sample = stored[sec.slice][::stride, ::stride]
            # stored values: physical = stored * BSCALE + BZERO
            zero = float(h.get("BZERO", 0.0))
            scale = float(h.get("BSCALE", 1.0))
            n_sat += int(np.count_nonzero(sample * scale + zero >= level))
            n_all += sample.size
    except FitsReadError:
        raise
    except (OSError, EOFError, zlib.error, ValueError, TypeError, KeyError) as exc:
        raise FitsReadError(f"{path}: cannot read pixel data ({exc})") from exc
    return n_sat / n_all if n_all else 0.0


_BITPIX_DTYPES = {8: "u1", 16: ">i2", 32: ">i4", 64: ">i8", -32: ">f4", -64: ">f8"}


#: Keywords that :func:`_structure` reads: enough to locate, name and scale an HDU's data.
_STRUCTURE_KEYS = frozenset({"XTENSION", "BITPIX", "NAXIS", "NAXIS1", "NAXIS2", "NAXIS3",
                             "PCOUNT", "GCOUNT", "EXTNAME", "EXTVER", "BZERO", "BSCALE"})


def _structure(raw: bytes) -> dict:
    """The structural keywords of a header (a plain dict; strings unquoted, numbers as int
    or float), read from its 80-character cards without parsing the rest."""
    out: dict = {}
    for i in range(0, len(raw), 80):
        key = raw[i:i + 8].rstrip().decode("ascii", "replace")
        if key not in _STRUCTURE_KEYS or raw[i + 8:i + 10] != b"= ":
            continue
        text = raw[i + 10:i + 80].decode("ascii", "replace").strip()
        if text.startswith("'"):
            out[key] = text[1:].split("'", 1)[0].rstrip()
            continue
        text = text.split("/", 1)[0].strip()
        try:
            out[key] = int(text)
        except ValueError:
            out[key] = float(text.replace("D", "E"))
    return out


def _scan_hdus(buf, path: str, full=None, check_size: bool = True) -> list[tuple]:
    """(header, data offset, data bytes) of every HDU of a FITS byte buffer, in file order.

    Headers are parsed card by card (:meth:`gmoslib.fitsheader.Header.fromstring`) -- or,
    where ``full(index,
    structure)`` says False, only their structural keywords (:func:`_structure`, a dict);
    the data are only located (their size from BITPIX, NAXISn, PCOUNT and GCOUNT), so the
    caller reads just what it needs.  A header without END or data cut short raises
    FitsReadError naming the file (unless ``check_size`` is False: then the HDUs whose
    headers are complete are returned).  Bytes after the last HDU that do not start an
    extension are ignored, as astropy does.
    """
    hdus = []
    pos, n = 0, len(buf)
    end_card = b"END" + b" " * 77
    if bytes(buf[0:9]) != b"SIMPLE  =":
        raise FitsReadError(f"{path}: not a readable FITS file (no SIMPLE card)")
    while pos < n:
        start = pos
        if hdus and bytes(buf[pos:pos + 8]) != b"XTENSION":
            return hdus  # trailing padding or junk after the last HDU
        while True:
            if pos + BLOCK > n:
                if not hdus:
                    raise FitsReadError(f"{path}: not a readable FITS file (the primary "
                                        "header has no END card)")
                if not check_size:
                    return hdus
                raise FitsReadError(f"{path}: truncated: {n} bytes, header {len(hdus)} has "
                                    "no END card (incomplete download?)")
            block = bytes(buf[pos:pos + BLOCK])
            pos += BLOCK
            if any(block[i:i + 80] == end_card for i in range(0, BLOCK, 80)):
                break
        raw = bytes(buf[start:pos])
        if full is None:  # (its values are parsed when used: the structure's few first)
            header = Header.fromstring(raw.decode("ascii", "replace"))
        else:
            header = _structure(raw)
            if full(len(hdus), header):
                header = Header.fromstring(raw.decode("ascii", "replace"))
        naxis = int(header.get("NAXIS", 0))
        size = 0
        if naxis:
            size = abs(int(header["BITPIX"])) // 8
            for k in range(1, naxis + 1):
                size *= int(header[f"NAXIS{k}"])
            size = (size + int(header.get("PCOUNT", 0))) * int(header.get("GCOUNT", 1))
        if pos + size > n:
            if not check_size:
                hdus.append((header, pos, size))
                return hdus
            padded = pos + -(-size // BLOCK) * BLOCK
            raise FitsReadError(f"{path}: truncated: {n} bytes, headers declare at least "
                                f"{padded} (incomplete download?)")
        hdus.append((header, pos, size))
        pos += -(-size // BLOCK) * BLOCK
    return hdus


def _is_image(header: Header, index: int) -> bool:
    return (int(header.get("NAXIS", 0)) == 2
            and (index == 0 or str(header.get("XTENSION", "")).strip() == "IMAGE"))


def _stored(buf, header: Header, offset: int) -> np.ndarray:
    """The stored (big-endian, unscaled) 2-D array of an image HDU, a view of buf."""
    dtype = np.dtype(_BITPIX_DTYPES[int(header["BITPIX"])])
    ny, nx = int(header["NAXIS2"]), int(header["NAXIS1"])
    return np.frombuffer(buf, dtype=dtype, count=ny * nx, offset=offset).reshape(ny, nx)


def _scaled_float32(stored: np.ndarray, header: Header) -> np.ndarray:
    """Physical values (stored * BSCALE + BZERO) of an image as float32 (one pass)."""
    bzero = float(header.get("BZERO", 0.0))
    bscale = float(header.get("BSCALE", 1.0))
    if bscale == 1.0:
        return np.add(stored, np.float32(bzero), dtype=np.float32)
    return (stored * bscale + bzero).astype(np.float32)


def _read_bytes(path: str):
    """The file's (decompressed) bytes: a read-only memory map of an uncompressed file (no
    copy; pages come from the page cache), else the decompressed stream in memory."""
    if path.lower().endswith(".fz"):
        return rawcompress.read_fpack(path)
    if path.lower().endswith(_COMPRESSED):
        return rawcompress.read_compressed(path)
    with open(path, "rb") as fh:
        # (MAP_POPULATE was tried: a few ms faster per file, but every page of the frames in
        # flight counts in the process's peak memory at once: +90 MB for 50 unbinned frames)
        return mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)


def read_raw(path: str, *, scaled: bool = True) -> Frame:
    """A raw GMOS file as a :class:`Frame`: sci = raw counts as float32 (ADU), no VAR/DQ.

    With ``scaled=False`` sci is the stored integer array as it is in the file (for GMOS,
    big-endian int16 with BZERO = 32768 in the header: ADU = stored * BSCALE + BZERO),
    read-only, so that a caller can scale only the pixels it uses, in the same pass as its
    own arithmetic; stored floating-point pixels are returned scaled either way.
    """
    _check_readable(path)
    try:
        # The file is read once: its bytes are hashed (for provenance, see file_sha256) and
        # its headers parsed from memory; the stored integers are scaled in one float32 pass.
        st = os.stat(path)
        data = _read_bytes(path)
        key = _file_key(path, st)
        if key not in _SHA256_SEEN and not path.lower().endswith(_COMPRESSED):
            _SHA256_SEEN[key] = hashlib.sha256(data).hexdigest()
        hdus = _scan_hdus(data, path)
        phu = hdus[0][0]
        exts = []
        for k, (h, off, _) in enumerate(hdus):
            if k and _is_image(h, k):
                stored = _stored(data, h, off)
                keep = not scaled and stored.dtype.kind in "iu"
                source = (path, off) if keep and isinstance(data, mmap.mmap) else None
                exts.append(Extension(stored if keep else _scaled_float32(stored, h), None,
                                      None, h, source))
        if not exts and any(bool(h.get("ZIMAGE", False)) for h, _, _ in hdus[1:]):
            raise FitsReadError(f"{path}: tile-compressed (fpack) images are not read: "
                                "uncompress the file first (funpack)")
    except FitsReadError:
        raise
    except (OSError, EOFError, zlib.error, ValueError, TypeError, KeyError) as exc:
        raise FitsReadError(f"{path}: cannot read pixel data ({exc})") from exc
    if not exts:
        raise FitsReadError(f"{path}: no image extensions")
    return Frame(phu, exts, path)


@contextlib.contextmanager
def atomic_output(path: str) -> Iterator[str]:
    """Yield a temporary path beside ``path``; on success it is renamed to ``path``,
    on error it is removed and ``path`` is left untouched."""
    directory = os.path.dirname(os.path.abspath(path)) or "."
    os.makedirs(directory, exist_ok=True)
    prefix = f".{os.path.basename(path)}."
    # temporary files of an earlier writer of this same path that was killed (SIGKILL leaves
    # no chance to clean up): only one job writes a given product at a time
    for stale in glob.glob(os.path.join(glob.escape(directory),
                                        glob.escape(prefix) + "?" * 8 + ".tmp")):
        with contextlib.suppress(OSError):
            os.remove(stale)
    fd, tmp = tempfile.mkstemp(prefix=prefix, suffix=".tmp", dir=directory)
    os.close(fd)
    try:
        yield tmp
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        # mkstemp makes the file private (0600); a product gets the usual permissions
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        raise


@contextlib.contextmanager
def scratch_dir_for(path: str) -> Iterator[str]:
    """A private scratch folder beside the product ``path`` (``.NAME.scratch``), removed on
    exit.  Left-overs of an earlier job writing the same product that was killed before it
    could clean up are removed first, so an interrupted run leaves nothing behind once rerun."""
    directory = os.path.dirname(os.path.abspath(path)) or "."
    scratch = os.path.join(directory, f".{os.path.basename(path)}.scratch")
    shutil.rmtree(scratch, ignore_errors=True)
    os.makedirs(scratch)
    try:
        yield scratch
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


_STRUCTURAL = ("SIMPLE", "XTENSION", "BITPIX", "NAXIS", "NAXIS1", "NAXIS2", "EXTEND",
               "PCOUNT", "GCOUNT", "BZERO", "BSCALE", "EXTNAME", "EXTVER", "NEXTEND")


def _clean(header) -> Header:
    """A copy of a header without the cards that describe an HDU's data layout."""
    h = as_header(header).copy()
    for key in _STRUCTURAL:
        h.remove(key, ignore_missing=True, remove_all=True)
    return h


def _variance_unit(unit, ext: int) -> str | None:
    """BUNIT of a VAR HDU: the square of the SCI unit as astropy.units writes it
    ('electron' -> 'electron2', 'adu' -> 'adu2'); None for a unitless SCI."""
    if not unit:
        return None
    if not re.fullmatch(r"[A-Za-z]+", str(unit)):
        raise ValueError(f"extension {ext}: SCI BUNIT {unit!r} is not a single unit name "
                         "(adu, electron): cannot write the VAR unit")
    return f"{unit}2"


def _image_hdus(frame: Frame) -> list[tuple[Header, np.ndarray | None]]:
    """(header, data) of every HDU of a processed file: the PHU, then SCI, VAR and DQ per
    extension with EXTVER = 1..N (SCI and VAR float32, DQ uint16 stored with BZERO 32768)."""
    phu = Header()
    phu.append("SIMPLE", True, "conforms to FITS standard")
    phu.append("BITPIX", 8, "array data type")
    phu.append("NAXIS", 0, "number of array dimensions")
    phu.append("EXTEND", True)
    phu.extend(_clean(frame.phu))
    hdus: list[tuple[Header, np.ndarray | None]] = [(phu, None)]

    def image(data, base, name, ver, bunit=None, utype=None):
        h = Header()
        h.append("XTENSION", "IMAGE", "Image extension")
        h.append("BITPIX", 16 if data.dtype == np.uint16 else -32, "array data type")
        h.append("NAXIS", 2, "number of array dimensions")
        h.append("NAXIS1", int(data.shape[1]))
        h.append("NAXIS2", int(data.shape[0]))
        h.append("PCOUNT", 0, "number of parameters")
        h.append("GCOUNT", 1, "number of groups")
        if data.dtype == np.uint16:
            h.append("BSCALE", 1)
            h.append("BZERO", 32768)
        if base is not None:
            h.extend(base)
        h["EXTNAME"] = (name, "extension name")
        h["EXTVER"] = (ver, "extension value")
        if bunit:
            h["BUNIT"] = bunit
        if utype:  # astropy's CCDData.read(..., hdu_uncertainty="VAR") reads the type here
            h["UTYPE"] = (utype, "astropy.nddata uncertainty class")
        return h, data

    for i, ext in enumerate(frame.exts, start=1):
        hdr = _clean(ext.header)
        add_date_obs(hdr)
        if np.ndim(ext.sci) != 2:
            raise ValueError(f"extension {i}: SCI must be 2-D, got shape {np.shape(ext.sci)}")
        hdus.append(image(np.asarray(ext.sci, np.float32), hdr, "SCI", i))
        if ext.var is not None:
            hdus.append(image(np.broadcast_to(np.asarray(ext.var, np.float32),
                                              np.shape(ext.sci)), None, "VAR", i,
                              _variance_unit(hdr.get("BUNIT"), i), "VarianceUncertainty"))
        if ext.dq is not None:
            hdus.append(image(np.broadcast_to(np.asarray(ext.dq).astype(np.uint16, copy=False),
                                              np.shape(ext.sci)), None, "DQ", i))
    return hdus


def _write_data(fh, data: np.ndarray, rows: int = 512) -> None:
    """Big-endian pixels, converted a few rows at a time into one reused buffer (no
    whole-array copy), then zero padding to the 2880-byte block."""
    unsigned = data.dtype == np.uint16
    out = np.dtype(">u2") if unsigned else np.dtype(">f4")
    ny = data.shape[0]
    buf = np.empty((min(rows, ny),) + data.shape[1:], out)
    for y0 in range(0, ny, rows):
        block = buf[:min(rows, ny - y0)]
        np.copyto(block, data[y0:y0 + rows], casting="unsafe")
        if unsigned:
            block ^= np.uint16(0x8000)  # stored = value - 32768 (BZERO): flip the top bit
        fh.write(block.data)
    fh.write(b"\0" * (-data.size * out.itemsize % BLOCK))


def write_fits(path: str, hdus: list[tuple[Header, np.ndarray | None]]) -> None:
    """Write (header, 2-D data or None) HDUs as a FITS file at ``path`` (not atomic: see
    :func:`write_frame`).  Every header is formatted before the file is opened, so a value
    that cannot be written raises without leaving a file behind."""
    texts = [header.tostring().encode("ascii") for header, _ in hdus]
    with open(path, "wb") as fh:
        for text, (_, data) in zip(texts, hdus, strict=True):
            fh.write(text)
            if data is not None:
                _write_data(fh, data)


def write_frame(path: str, frame: Frame) -> None:
    """Write a processed frame atomically (temp file + rename)."""
    hdus = _image_hdus(frame)
    with atomic_output(path) as tmp:
        write_fits(tmp, hdus)


def read_frame(path: str) -> Frame:
    """Read a processed SCI/VAR/DQ file written by :func:`write_frame` (native byte order:
    SCI and VAR float32, DQ uint16).  As :func:`read_raw`, the bytes of an uncompressed
    file are hashed while they are in memory, for the provenance of what is made from it."""
    _check_readable(path)
    try:
        st = os.stat(path)
        data = _read_bytes(path)
        key = _file_key(path, st)
        if key not in _SHA256_SEEN and not path.lower().endswith(_COMPRESSED):
            _SHA256_SEEN[key] = hashlib.sha256(data).hexdigest()
        # full headers for the PHU and SCI; VAR and DQ only need their structure
        hdus = _scan_hdus(data, path, full=lambda k, s: k == 0 or str(
            s.get("EXTNAME", "")).upper() not in ("VAR", "DQ"))
        phu = hdus[0][0]
        by_ver: dict[int, dict] = {}
        for k, (h, off, _) in enumerate(hdus[1:], start=1):
            name = str(h.get("EXTNAME", "")).upper()
            if name not in ("SCI", "VAR", "DQ") or not _is_image(h, k):
                continue
            by_ver.setdefault(int(h.get("EXTVER", 1)), {})[name] = (h, off)

        def array(entry, dtype):
            h, off = entry
            return _scaled_float32(_stored(data, h, off), h) if dtype == np.float32 else \
                _scaled_uint16(_stored(data, h, off), h, path)

        exts = []
        for ver in sorted(by_ver):
            d = by_ver[ver]
            if "SCI" not in d:
                raise FitsReadError(f"{path}: EXTVER {ver} has no SCI extension")
            exts.append(Extension(
                array(d["SCI"], np.float32),
                array(d["VAR"], np.float32) if "VAR" in d else None,
                array(d["DQ"], np.uint16) if "DQ" in d else None,
                d["SCI"][0],
            ))
    except FitsReadError:
        raise
    except (OSError, EOFError, zlib.error, ValueError, TypeError, KeyError) as exc:
        raise FitsReadError(f"{path}: cannot read processed file ({exc})") from exc
    if not exts:
        raise FitsReadError(f"{path}: no SCI extensions (not a processed gmos-snake file?)")
    return Frame(phu, exts, path)


def _scaled_uint16(stored: np.ndarray, header: Header, path: str) -> np.ndarray:
    """A DQ plane as native uint16: stored unsigned (BZERO 32768) or as small integers."""
    bzero = float(header.get("BZERO", 0.0))
    bscale = float(header.get("BSCALE", 1.0))
    if stored.dtype.kind in "iu" and stored.itemsize == 2 and bscale == 1.0 and bzero == 32768:
        out = stored.view(">u2").astype(np.uint16)  # stored = value - 32768: flip the top bit
        out ^= np.uint16(0x8000)
        return out
    values = stored * bscale + bzero if (bscale, bzero) != (1.0, 0.0) else stored
    if values.size and (np.min(values) < 0 or np.max(values) > 65535):
        raise FitsReadError(f"{path}: DQ values outside 0..65535")
    return np.asarray(values).astype(np.uint16)


def _hdu_layout(path: str) -> dict[tuple[str, int], tuple]:
    """(EXTNAME, EXTVER) -> (data offset in bytes, ny, nx, big-endian dtype, BZERO=32768
    uint16 flag) of a processed
    file, from its headers alone."""
    if path.lower().endswith(_COMPRESSED):
        raise FitsReadError(f"{path}: row-block reading needs an uncompressed processed file")
    _check_readable(path)
    layout = {}
    try:
        with open(path, "rb") as fh:
            buf = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
        try:
            hdus = _scan_hdus(buf, path, full=lambda k, st: False)
        finally:
            buf.close()
        for k, (hdr, offset, _) in enumerate(hdus):
            if k == 0:
                continue
            name = str(hdr.get("EXTNAME", "")).upper()
            if name not in ("SCI", "VAR", "DQ") or int(hdr.get("NAXIS", 0)) != 2:
                continue
            bitpix = int(hdr["BITPIX"])
            dtype = np.dtype({8: "u1", 16: ">i2", 32: ">i4", 64: ">i8",
                              -32: ">f4", -64: ">f8"}[bitpix])
            scale = (float(hdr.get("BZERO", 0)), float(hdr.get("BSCALE", 1)))
            unsigned16 = scale == (32768.0, 1.0) and bitpix == 16
            if unsigned16:
                dtype = np.dtype(">u2")  # stored value = value - 32768: flip the top bit
            elif scale != (0.0, 1.0):
                raise FitsReadError(f"{path}: {name} extension is scaled (BZERO/BSCALE); "
                                    "expected a processed gmos-snake file")
            layout[(name, int(hdr.get("EXTVER", 1)))] = (
                offset, int(hdr["NAXIS2"]), int(hdr["NAXIS1"]), dtype, unsigned16)
    except FitsReadError:
        raise
    except (OSError, EOFError, ValueError, KeyError, TypeError) as exc:
        raise FitsReadError(f"{path}: cannot read processed file ({exc})") from exc
    return layout


class StackInput:
    """Row-block access to the SCI/VAR/DQ arrays of one uncompressed processed file.

    Arrays are numpy memmaps of the file (read-only), so reading rows y0:y1 touches only
    those bytes; many frames can be combined block by block with bounded memory."""

    def __init__(self, path: str):
        self.path = path
        self.layout = _hdu_layout(path)
        self.n_ext = len({ver for (name, ver) in self.layout if name == "SCI"})
        if self.n_ext == 0:
            raise FitsReadError(f"{path}: no SCI extensions (not a processed gmos-snake file?)")
        self._maps: dict[tuple[str, int], np.memmap] = {}

    def shape(self, ext_index: int) -> tuple[int, int]:
        """(ny, nx) of extension ext_index (0-based)."""
        _, ny, nx, _, _ = self._entry("SCI", ext_index + 1)
        return ny, nx

    def _entry(self, name: str, ver: int):
        try:
            return self.layout[(name, ver)]
        except KeyError:
            raise FitsReadError(f"{self.path}: no {name} extension with EXTVER {ver}") from None

    def _map(self, name: str, ver: int) -> np.memmap | None:
        if (name, ver) not in self.layout:
            return None
        if (name, ver) not in self._maps:
            offset, ny, nx, dtype, _ = self.layout[(name, ver)]
            self._maps[(name, ver)] = np.memmap(self.path, dtype=dtype, mode="r",
                                                offset=offset, shape=(ny, nx))
        return self._maps[(name, ver)]

    def read_rows(self, ext_index: int, y0: int, y1: int):
        """(sci, var, dq) rows y0:y1 of extension ext_index (0-based): float32, float32
        (None if absent), uint16 (None if absent), each (y1 - y0, nx), native byte order."""
        ver = ext_index + 1
        ny, _ = self.shape(ext_index)
        if not 0 <= y0 <= y1 <= ny:
            raise ValueError(f"{self.path}: rows {y0}:{y1} outside extension {ver} (ny={ny})")
        sci = self._rows("SCI", ver, y0, y1, np.float32)
        return (sci, self._rows("VAR", ver, y0, y1, np.float32),
                self._rows("DQ", ver, y0, y1, np.uint16))

    def _rows(self, name: str, ver: int, y0: int, y1: int, dtype):
        mm = self._map(name, ver)
        if mm is None:
            return None
        rows = np.array(mm[y0:y1])
        if self.layout[(name, ver)][4]:
            rows ^= np.uint16(0x8000)
        return rows.astype(dtype)

    def close(self) -> None:
        self._maps.clear()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def open_stack_inputs(paths) -> list[StackInput]:
    """StackInput for every path, checking that all have the same extensions and shapes."""
    inputs = [StackInput(str(p)) for p in paths]
    if inputs:
        ref = inputs[0]
        shapes = [ref.shape(i) for i in range(ref.n_ext)]
        for other in inputs[1:]:
            got = [other.shape(i) for i in range(other.n_ext)]
            if got != shapes:
                raise FitsReadError(f"{other.path}: extension shapes {got} differ from "
                                    f"{shapes} of {ref.path}")
    return inputs


def read_rows(path: str, ext_index: int, y0: int, y1: int):
    """(sci, var, dq) rows y0:y1 of extension ext_index of a processed file (memmap read)."""
    with StackInput(path) as s:
        return s.read_rows(ext_index, y0, y1)
