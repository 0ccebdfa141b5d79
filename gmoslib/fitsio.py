"""FITS input/output for raw GMOS files and processed SCI/VAR/DQ products.

* Raw files (``.fits``, ``.fits.gz``, ``.fits.bz2``) are opened read-only; their image
  extensions are unnamed ``uint16`` arrays stored with ``BZERO = 32768``.
* Processed files hold, per amplifier (or per mosaic), ``SCI`` (float32), ``VAR`` (float32)
  and ``DQ`` (uint16) HDUs sharing one ``EXTVER``.
* Every write goes to a temporary file in the target directory which is renamed over the
  target only once complete, so an interrupted job never leaves a half-written product.
"""

from __future__ import annotations

import bz2
import contextlib
import gzip
import hashlib
import os
import tempfile
import warnings
import zlib
from collections.abc import Iterator

import numpy as np
from astropy.io import fits
from astropy.utils.exceptions import AstropyUserWarning

from .frame import Extension, Frame

BLOCK = 2880


class FitsReadError(ValueError):
    """A file cannot be read as FITS; the message names the file and the problem."""


def file_sha256(path: str, chunk: int = 1 << 20) -> str:
    """SHA-256 of a file's bytes (streamed)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def _open_stream(path: str):
    lower = path.lower()
    if lower.endswith(".gz"):
        return gzip.open(path, "rb")
    if lower.endswith(".bz2"):
        return bz2.open(path, "rb")
    return open(path, "rb")


def _check_readable(path: str) -> None:
    if not os.path.exists(path):
        raise FitsReadError(f"{path}: file does not exist")
    if os.path.getsize(path) == 0:
        raise FitsReadError(f"{path}: empty file (0 bytes)")


def _decompressed_size(path: str) -> int:
    """Size of the decompressed byte stream; raises FitsReadError on a corrupt archive."""
    total = 0
    try:
        with _open_stream(path) as fh:
            while block := fh.read(1 << 22):
                total += len(block)
    except (OSError, EOFError, zlib.error, ValueError) as exc:
        raise FitsReadError(f"{path}: corrupt compressed file ({exc})") from exc
    return total


def _expected_size(hdul: fits.HDUList) -> int:
    """Bytes the headers declare: headers plus data padded to 2880-byte blocks."""
    total = 0
    for hdu in hdul:
        hdr = hdu.header
        total += len(hdr.tostring()) if hdr else BLOCK
        naxis = int(hdr.get("NAXIS", 0))
        if naxis:
            n = abs(int(hdr.get("BITPIX", 8))) // 8
            for k in range(1, naxis + 1):
                n *= int(hdr.get(f"NAXIS{k}", 0))
            n = (n + int(hdr.get("PCOUNT", 0))) * int(hdr.get("GCOUNT", 1))
            total += -(-n // BLOCK) * BLOCK
    return total


def read_headers(path: str, *, check_size: bool = True) -> tuple[fits.Header, list[fits.Header]]:
    """Primary header and the image-extension headers, without reading pixel data.

    With ``check_size`` the file length is compared with what the headers declare, so a
    truncated file is reported here rather than when its pixels are first used.
    """
    _check_readable(path)
    try:
        with warnings.catch_warnings():
            # truncation is diagnosed below, with the file name, instead of astropy's warning
            warnings.simplefilter("ignore", AstropyUserWarning)
            hdul = fits.open(path, mode="readonly", lazy_load_hdus=False, memmap=False,
                             do_not_scale_image_data=True)
        with hdul:
            phu = hdul[0].header.copy()
            exts = [h.header.copy() for h in hdul[1:] if h.is_image]
            if any(str(h.get("EXTNAME", "")).upper() == "SCI" for h in exts):
                # a processed file: one SCI header per amplifier (VAR/DQ carry no geometry)
                exts = [h for h in exts if str(h.get("EXTNAME", "")).upper() == "SCI"]
            expected = _expected_size(hdul) if check_size else 0
    except FitsReadError:
        raise
    except (OSError, EOFError, zlib.error, ValueError, IndexError, TypeError) as exc:
        raise FitsReadError(f"{path}: not a readable FITS file ({exc})") from exc
    if check_size:
        actual = (_decompressed_size(path) if path.lower().endswith((".gz", ".bz2"))
                  else os.path.getsize(path))
        if actual < expected:
            raise FitsReadError(
                f"{path}: truncated: {actual} bytes, headers declare {expected} "
                "(incomplete download?)"
            )
    return phu, exts


def read_raw(path: str) -> Frame:
    """A raw GMOS file as a :class:`Frame`: sci = raw counts as float32 (ADU), no VAR/DQ."""
    _check_readable(path)
    try:
        with fits.open(path, mode="readonly", memmap=False) as hdul:
            phu = hdul[0].header.copy()
            exts = []
            for hdu in hdul[1:]:
                if not hdu.is_image or hdu.data is None:
                    continue
                exts.append(Extension(np.asarray(hdu.data, dtype=np.float32), None, None,
                                      hdu.header.copy()))
    except (OSError, EOFError, zlib.error, ValueError, TypeError) as exc:
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
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp",
                               dir=directory)
    os.close(fd)
    try:
        yield tmp
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        raise


def frame_to_hdulist(frame: Frame) -> fits.HDUList:
    """PHU plus SCI/VAR/DQ image HDUs per extension, EXTVER = 1..N."""
    hdus: list = [fits.PrimaryHDU(header=_clean_phu(frame.phu))]
    for i, ext in enumerate(frame.exts, start=1):
        hdr = _clean_ext(ext.header)
        sci = fits.ImageHDU(np.asarray(ext.sci, dtype=np.float32), header=hdr, name="SCI")
        sci.header["EXTVER"] = i
        hdus.append(sci)
        if ext.var is not None:
            var = fits.ImageHDU(np.asarray(ext.var, dtype=np.float32), name="VAR")
            var.header["EXTVER"] = i
            if "BUNIT" in hdr and hdr["BUNIT"]:
                var.header["BUNIT"] = f"({hdr['BUNIT']})**2"
            hdus.append(var)
        if ext.dq is not None:
            dq = fits.ImageHDU(np.asarray(ext.dq, dtype=np.uint16), name="DQ")
            dq.header["EXTVER"] = i
            hdus.append(dq)
    return fits.HDUList(hdus)


_STRUCTURAL = ("SIMPLE", "XTENSION", "BITPIX", "NAXIS", "NAXIS1", "NAXIS2", "EXTEND",
               "PCOUNT", "GCOUNT", "BZERO", "BSCALE", "EXTNAME", "EXTVER", "NEXTEND")


def _clean_phu(header: fits.Header) -> fits.Header:
    h = header.copy()
    for key in _STRUCTURAL:
        h.remove(key, ignore_missing=True, remove_all=True)
    return h


def _clean_ext(header: fits.Header) -> fits.Header:
    h = header.copy()
    for key in _STRUCTURAL:
        h.remove(key, ignore_missing=True, remove_all=True)
    return h


def write_frame(path: str, frame: Frame) -> None:
    """Write a processed frame atomically (temp file + rename)."""
    hdul = frame_to_hdulist(frame)
    with atomic_output(path) as tmp:
        hdul.writeto(tmp, overwrite=True, output_verify="silentfix")


def read_frame(path: str) -> Frame:
    """Read a processed SCI/VAR/DQ file written by :func:`write_frame`."""
    _check_readable(path)
    try:
        with fits.open(path, mode="readonly", memmap=False) as hdul:
            phu = hdul[0].header.copy()
            by_ver: dict[int, dict] = {}
            for hdu in hdul[1:]:
                name = str(hdu.header.get("EXTNAME", "")).upper()
                if name not in ("SCI", "VAR", "DQ"):
                    continue
                ver = int(hdu.header.get("EXTVER", 1))
                by_ver.setdefault(ver, {})[name] = hdu
            exts = []
            for ver in sorted(by_ver):
                d = by_ver[ver]
                if "SCI" not in d:
                    raise FitsReadError(f"{path}: EXTVER {ver} has no SCI extension")
                exts.append(Extension(
                    np.asarray(d["SCI"].data, dtype=np.float32),
                    np.asarray(d["VAR"].data, dtype=np.float32) if "VAR" in d else None,
                    np.asarray(d["DQ"].data, dtype=np.uint16) if "DQ" in d else None,
                    d["SCI"].header.copy(),
                ))
    except FitsReadError:
        raise
    except (OSError, EOFError, zlib.error, ValueError, TypeError) as exc:
        raise FitsReadError(f"{path}: cannot read processed file ({exc})") from exc
    if not exts:
        raise FitsReadError(f"{path}: no SCI extensions (not a processed gmos-snake file?)")
    return Frame(phu, exts, path)
