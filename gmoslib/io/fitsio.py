"""FITS reading and writing of raw GMOS files and SCI/VAR/DQ products (layout:
:mod:`gmoslib.io.frame`; compressed raw files: :mod:`gmoslib.io.rawcompress`).

Headers are parsed by astropy; pixels are a numpy view of the file's bytes (memory-mapped
when uncompressed), scaled to float32 in one pass (BLANK pixels become NaN, as in astropy).
Products get CHECKSUM/DATASUM in every HDU and are written atomically.
"""

from __future__ import annotations

import copy
import datetime
import hashlib
import mmap
import os
import re
import warnings
import zlib
from collections.abc import Mapping, Sequence

import numpy as np
from astropy.io import fits
from astropy.io.fits import Card, Header
from astropy.io.fits.verify import VerifyWarning

from gmoslib.io import rawcompress
from gmoslib.io.atomic import atomic_output, scratch_dir_for  # noqa: F401 (imported from here too)
from gmoslib.io.errors import FitsReadError
from gmoslib.io.frame import Extension, Frame

BLOCK = 2880
_COMPRESSED = (".gz", ".bz2", ".fz")
#: Comment of the CHECKSUM/DATASUM cards: fixed (astropy's default holds the time of writing).
_CHECKSUM_COMMENT = "HDU checksum (FITS checksum convention)"


#: SHA-256 of files already read by this process, keyed by (path, size, mtime_ns, inode).
_SHA256_SEEN: dict[tuple, str] = {}
#: The decompressed bytes of the last compressed file read, keyed as _SHA256_SEEN.
_DECOMPRESSED: dict[tuple, bytes] = {}
#: The last :func:`_scan` (bytes and HDUs), for the pixel statistics that follow a header read.
_LAST_SCAN: dict[tuple, tuple] = {}


def _file_key(path: str, st: os.stat_result) -> tuple:
    return (os.path.abspath(path), st.st_size, st.st_mtime_ns, st.st_ino)


def file_sha256(path: str, chunk: int = 1 << 20) -> str:
    """SHA-256 of a file's bytes (remembered from an earlier read of the unchanged file)."""
    key = _file_key(path, os.stat(path))
    if key in _SHA256_SEEN:
        return _SHA256_SEEN[key]
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def remember_sha256(known: Mapping[str, Sequence]) -> list[str]:
    """Remember the manifest's ``{path: (sha256, size_bytes, mtime_ns, inode)}`` for every
    file still as it was (``cp -p`` keeps the time, not the inode), so it is not hashed again.
    Returns the paths that changed or are missing."""
    stale = []
    for path, (digest, *stamp) in known.items():
        try:
            st = os.stat(path)
        except OSError:
            st = None
        if st and digest and [st.st_size, st.st_mtime_ns, st.st_ino] == [int(v) for v in stamp]:
            _SHA256_SEEN[_file_key(path, st)] = str(digest)
        else:
            stale.append(path)
    return stale


def date_obs_from_mjd(mjd: float) -> str:
    """ISO 8601 date and time (UTC, to the millisecond) of a Modified Julian Date (days)."""
    moment = datetime.datetime(1858, 11, 17) + datetime.timedelta(days=float(mjd))
    return moment.isoformat(timespec="milliseconds")


def add_date_obs(header: Header) -> None:
    """Add ``DATE-OBS`` from ``MJD-OBS`` when missing (else astropy's WCS 'datfix' warns)."""
    if "DATE-OBS" not in header and header.get("MJD-OBS") is not None:
        header["DATE-OBS"] = (date_obs_from_mjd(header["MJD-OBS"]),
                              "UTC start of the exposure (from MJD-OBS)")


def _read_bytes(path: str, key: tuple):
    """A read-only memory map of an uncompressed file, else its decompressed bytes (kept for
    the next read of the same file, ``key`` of :func:`_file_key`)."""
    lower = path.lower()
    if not lower.endswith(_COMPRESSED):
        try:
            with open(path, "rb") as fh:
                return mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
        except (OSError, ValueError) as exc:
            raise FitsReadError(f"{path}: not a readable FITS file ({exc})") from exc
    if key not in _DECOMPRESSED:
        try:
            data = (rawcompress.read_fpack(path) if lower.endswith(".fz")
                    else bytes(rawcompress.read_compressed(path)))
        except FitsReadError:
            raise
        except (OSError, EOFError, zlib.error, ValueError) as exc:
            raise FitsReadError(f"{path}: corrupt compressed file ({exc})") from exc
        _DECOMPRESSED.clear()  # (one file at a time: a scan reads each file's bytes twice)
        _DECOMPRESSED[key] = data
    return _DECOMPRESSED[key]


def _scan(path: str, *, check_size: bool = True, hash_bytes: bool = False,
          reuse: bool = False):
    """(file bytes, [(header, data offset) of every HDU]), pixels not read; headers by
    ``Header.fromstring`` (fits.open costs 5x more per raw file).  A header without END or
    data cut short raise FitsReadError, unless ``check_size`` is False (complete HDUs are
    returned); trailing bytes that start no extension are ignored, as by astropy.
    ``hash_bytes``: record an uncompressed file's SHA-256 (:func:`file_sha256`); ``reuse``:
    return the last scan of the unchanged file (its headers must not be modified)."""
    if not os.path.exists(path):
        raise FitsReadError(f"{path}: file does not exist")
    st = os.stat(path)
    if st.st_size == 0:
        raise FitsReadError(f"{path}: empty file (0 bytes)")
    key = _file_key(path, st)
    if reuse and key in _LAST_SCAN:
        return _LAST_SCAN[key]
    data = _read_bytes(path, key)
    if hash_bytes and isinstance(data, mmap.mmap) and key not in _SHA256_SEEN:
        _SHA256_SEEN[key] = hashlib.sha256(data).hexdigest()
    if bytes(data[:9]) != b"SIMPLE  =":
        raise FitsReadError(f"{path}: not a readable FITS file (no SIMPLE card)")
    n, pos, end_card = len(data), 0, b"END" + b" " * 77
    hdus: list[tuple[Header, int]] = []
    # A header ends with an END card at a multiple of 80 bytes; data start at the next block.
    while pos < n and (not hdus or bytes(data[pos:pos + 8]) == b"XTENSION"):
        end = data.find(end_card, pos)
        while end >= 0 and (end - pos) % 80:
            end = data.find(end_card, end + 1)
        if end < 0:
            if not hdus:
                raise FitsReadError(f"{path}: not a readable FITS file (the primary header "
                                    "has no END card)")
            if not check_size:
                break
            raise FitsReadError(f"{path}: truncated: {n} bytes, header {len(hdus)} has no "
                                "END card (incomplete download?)")
        offset = pos + -(-(end + 80 - pos) // BLOCK) * BLOCK
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", VerifyWarning)
                header = Header.fromstring(bytes(data[pos:end]).decode("ascii", "replace"))
            size = rawcompress.data_bytes(header)
        except (ValueError, KeyError, TypeError) as exc:
            raise FitsReadError(f"{path}: not a readable FITS file (header {len(hdus)}: "
                                f"{exc})") from exc
        hdus.append((header, offset))
        if offset + size > n:
            if not check_size:
                break
            raise FitsReadError(f"{path}: truncated: {n} bytes, headers declare at least "
                                f"{offset + -(-size // BLOCK) * BLOCK} (incomplete download?)")
        pos = offset + -(-size // BLOCK) * BLOCK
    _LAST_SCAN.clear()
    _LAST_SCAN[key] = (data, hdus)
    return data, hdus


def read_headers(path: str, *, check_size: bool = True) -> tuple[Header, list[Header]]:
    """Primary header and image-extension headers (of a product, SCI only), pixels not read.
    ``check_size``: a file shorter than its headers declare raises FitsReadError here."""
    _, hdus = _scan(path, check_size=check_size)
    exts = [h for k, (h, _) in enumerate(hdus)
            if k and str(h.get("XTENSION", "")).strip() == "IMAGE"]
    if any(str(h.get("EXTNAME", "")).upper() == "SCI" for h in exts):
        exts = [h for h in exts if str(h.get("EXTNAME", "")).upper() == "SCI"]
    return hdus[0][0], exts


_BITPIX_DTYPES = {8: "u1", 16: ">i2", 32: ">i4", 64: ">i8", -32: ">f4", -64: ">f8"}


def _images(path: str, data, hdus) -> list[tuple[int, Header, np.ndarray]]:
    """(data offset in bytes, header, stored (ny, nx) array) of every image extension: a
    read-only big-endian view, BZERO/BSCALE not applied.  Tables are skipped; an image
    that is not 2-D raises FitsReadError."""
    out = []
    for k, (h, offset) in enumerate(hdus):
        if k == 0 or str(h.get("XTENSION", "")).strip() != "IMAGE":
            continue
        naxis = int(h.get("NAXIS", 0))
        if naxis == 0:
            continue
        if naxis != 2:
            raise FitsReadError(f"{path}: extension {k} is a {naxis}-D image (NAXIS = "
                                f"{naxis}): GMOS images are 2-D")
        try:
            _zero_scale(h)  # (numbers: checked here)
            ny, nx = int(h["NAXIS2"]), int(h["NAXIS1"])
            stored = np.frombuffer(data, dtype=_BITPIX_DTYPES[int(h["BITPIX"])],
                                   count=ny * nx, offset=offset).reshape(ny, nx)
        except (ValueError, TypeError, KeyError) as exc:
            raise FitsReadError(f"{path}: cannot read the pixels of extension {k} "
                                f"({exc})") from exc
        out.append((offset, h, stored))
    return out


def _zero_scale(header: Header) -> tuple[float, float]:
    """(BZERO, BSCALE) of an image: physical value = stored * BSCALE + BZERO."""
    return float(header.get("BZERO", 0.0)), float(header.get("BSCALE", 1.0))


def _scaled_float32(stored: np.ndarray, header: Header) -> np.ndarray:
    """Physical values of an image as float32 (one pass); stored BLANK becomes NaN."""
    bzero, bscale = _zero_scale(header)
    if bscale == 1.0:
        out = np.add(stored, np.float32(bzero), dtype=np.float32)
    else:
        out = (stored * bscale + bzero).astype(np.float32)
    if stored.dtype.kind in "iu" and header.get("BLANK") is not None:
        out[stored == int(header["BLANK"])] = np.nan
    return out


def nonfinite_counts(path: str) -> list[int]:
    """Number of NaN/inf pixels in every 2-D image extension (0 for integer data)."""
    data, hdus = _scan(path, reuse=True)
    return [0 if s.dtype.kind != "f" else int(s.size - np.count_nonzero(np.isfinite(s)))
            for _, _, s in _images(path, data, hdus)]


def saturated_fraction(path: str, sections, levels, stride: int = 4) -> float:
    """Fraction of raw pixels at or above saturation, on every ``stride``-th row and column.

    sections : data section (:class:`~gmoslib.instrument.sections.Section`) of each extension
    levels : saturation level of each extension (ADU, raw values with the bias level in)
    """
    data, hdus = _scan(path, reuse=True)
    images = _images(path, data, hdus)
    n_sat = n_all = 0
    try:
        for (_, h, stored), sec, level in zip(images, sections, levels, strict=True):
            sample = stored[sec.slice][::stride, ::stride]
            bzero, bscale = _zero_scale(h)
            physical = sample * bscale + bzero
            n_sat += int(np.count_nonzero(physical >= level))
            n_all += sample.size
    except (ValueError, TypeError, KeyError) as exc:
        raise FitsReadError(f"{path}: cannot read pixel data ({exc})") from exc
    return n_sat / n_all if n_all else 0.0


def read_raw(path: str, *, scaled: bool = True) -> Frame:
    """A raw GMOS file as a :class:`Frame`: sci = raw counts as float32 (ADU), no VAR/DQ.

    ``scaled=False``: sci is the stored read-only integer array (big-endian int16, ADU =
    stored * BSCALE + BZERO; floating-point data are scaled anyway).  The bytes are hashed
    for provenance (:func:`file_sha256`) while in memory.
    """
    data, hdus = _scan(path, hash_bytes=True)
    exts = []
    for offset, h, stored in _images(path, data, hdus):
        keep = not scaled and stored.dtype.kind in "iu"
        source = (path, offset) if keep and isinstance(data, mmap.mmap) else None
        exts.append(Extension(stored if keep else _scaled_float32(stored, h), None, None, h,
                              source))
    if not exts:
        if any(bool(h.get("ZIMAGE", False)) for h, _ in hdus[1:]):
            raise FitsReadError(f"{path}: tile-compressed (fpack) images are not read: "
                                "name the file .fits.fz, or uncompress it first (funpack)")
        raise FitsReadError(f"{path}: no image extensions")
    return Frame(hdus[0][0], exts, path)


def read_frame(path: str) -> Frame:
    """A product of :func:`write_frame` (native SCI, VAR float32, DQ uint16), hashed as by
    :func:`read_raw`."""
    data, hdus = _scan(path, hash_bytes=True)
    by_ver: dict[int, dict] = {}
    for _, h, stored in _images(path, data, hdus):
        name = str(h.get("EXTNAME", "")).upper()
        if name in ("SCI", "VAR", "DQ"):
            try:
                ver = int(h.get("EXTVER", 1))
            except (ValueError, TypeError) as exc:
                raise FitsReadError(f"{path}: {name} EXTVER is not an integer ({exc})") from exc
            by_ver.setdefault(ver, {})[name] = stored, h
    exts = []
    for ver, d in sorted(by_ver.items()):
        if "SCI" not in d:
            raise FitsReadError(f"{path}: EXTVER {ver} has no SCI extension")
        var, dq = d.get("VAR"), d.get("DQ")
        exts.append(Extension(_scaled_float32(*d["SCI"]),
                              None if var is None else _scaled_float32(*var),
                              None if dq is None else _scaled_uint16(*dq, path), d["SCI"][1]))
    if not exts:
        raise FitsReadError(f"{path}: no SCI extensions (not a processed gmos-snake file?)")
    return Frame(hdus[0][0], exts, path)


def _scaled_uint16(stored: np.ndarray, header: Header, path: str) -> np.ndarray:
    """A DQ plane as native uint16: stored unsigned (BZERO 32768) or as small integers."""
    bzero, bscale = _zero_scale(header)
    if stored.dtype.kind in "iu" and stored.itemsize == 2 and bscale == 1.0 and bzero == 32768:
        # stored = value - 32768: flip the top bit
        return np.bitwise_xor(stored.view(">u2"), np.uint16(0x8000), dtype=np.uint16)
    values = stored * bscale + bzero if (bscale, bzero) != (1.0, 0.0) else stored
    if values.size and (np.min(values) < 0 or np.max(values) > 65535):
        raise FitsReadError(f"{path}: DQ values outside 0..65535")
    return np.asarray(values).astype(np.uint16)


#: Cards that describe an HDU's data layout or checksum: astropy writes its own.
_STRUCTURAL = frozenset(("SIMPLE", "XTENSION", "BITPIX", "NAXIS", "NAXIS1", "NAXIS2", "NAXIS3",
                         "EXTEND", "PCOUNT", "GCOUNT", "BZERO", "BSCALE", "BLANK", "EXTNAME",
                         "EXTVER", "NEXTEND", "CHECKSUM", "DATASUM", "GROUPS", "TFIELDS"))


def _clean(header) -> list[Card]:
    """Copies of a header's cards but the :data:`_STRUCTURAL` ones."""
    return [copy.copy(c) for c in header.cards if c.keyword not in _STRUCTURAL]


def _variance_unit(unit, ext: int) -> str | None:
    """VAR BUNIT: the SCI unit squared as astropy.units writes it ('adu2'); None if unitless."""
    if not unit:
        return None
    if not re.fullmatch(r"[A-Za-z]+", str(unit)):
        raise ValueError(f"extension {ext}: SCI BUNIT {unit!r} is not a single unit name "
                         "(adu, electron): cannot write the VAR unit")
    return f"{unit}2"


def _full(plane, dtype, shape) -> np.ndarray:
    """A plane (or a constant broadcast to ``shape``) as an array of ``dtype``."""
    out = np.asarray(plane).astype(dtype, copy=False)
    return out if out.shape == shape else np.array(np.broadcast_to(out, shape))


def _hdu(data, cards: list, name: str = "", ver: int = 0, *, last: bool = False):
    """An HDU of big-endian ``data`` (stored values) whose header is astropy's own cards, then
    ``cards`` (before EXTNAME/EXTVER when ``last``): the header is built once, not card by
    card, and astropy neither swaps nor rescales the pixels (int16 data: BZERO 32768 in
    ``cards``)."""
    hdu = (fits.ImageHDU(data, name=name, ver=ver, do_not_scale_image_data=True) if name
           else fits.PrimaryHDU())
    own = list(hdu.header.cards)
    hdu.header = Header(own[:-2] + cards + own[-2:] if last else own + cards)
    return hdu


def frame_hdus(frame: Frame) -> fits.HDUList:
    """PHU, then SCI, VAR (float32) and DQ (uint16, stored with BZERO 32768) per extension,
    EXTVER = 1..N, each with CHECKSUM/DATASUM."""
    hdus = [_hdu(None, _clean(frame.phu))]
    for i, ext in enumerate(frame.exts, start=1):
        hdr = Header(_clean(ext.header))
        add_date_obs(hdr)
        sci = np.asarray(ext.sci, ">f4")
        if sci.ndim != 2:
            raise ValueError(f"extension {i}: SCI must be 2-D, got shape {sci.shape}")
        hdus.append(_hdu(sci, list(hdr.cards), "SCI", i, last=True))
        if ext.var is not None:
            unit = _variance_unit(hdr.get("BUNIT"), i)
            # read by astropy's CCDData.read(..., hdu_uncertainty="VAR")
            cards = [Card("BUNIT", unit)] if unit else []
            cards.append(Card("UTYPE", "VarianceUncertainty", "astropy.nddata uncertainty class"))
            hdus.append(_hdu(_full(ext.var, ">f4", sci.shape), cards, "VAR", i))
        if ext.dq is not None:
            stored = np.bitwise_xor(_full(ext.dq, np.uint16, sci.shape), np.uint16(0x8000))
            hdus.append(_hdu(stored.view(np.int16).astype(">i2"),
                             [Card("BSCALE", 1), Card("BZERO", 32768)], "DQ", i, last=True))
    out = fits.HDUList(hdus)
    for hdu in out:
        hdu.add_checksum(when=_CHECKSUM_COMMENT)
    return out


def write_frame(path: str, frame: Frame) -> None:
    """Write a product atomically (:func:`frame_hdus`); a card that cannot be written raises
    before the file is opened, leaving no file behind."""
    hdul = frame_hdus(frame)
    with atomic_output(path) as tmp:
        hdul.writeto(tmp, overwrite=True, output_verify="exception")
