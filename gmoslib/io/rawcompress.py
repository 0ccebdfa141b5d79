"""Compressed raw files decompressed with bounds (a 1.6 KB ``.bz2`` can expand to gigabytes).

gzip/bzip2: one HDU at a time, no further than its headers declare; a file declaring more
than :data:`MAX_DECOMPRESSED_BYTES`, or with more than :data:`MAX_TRAILING_BYTES` (plus the
HDUs' size) after its last HDU, raises FitsReadError.  ``.fits.fz`` (fpack, the Gemini
archive's format): read by astropy after the same size check, as plain image HDUs.
"""

from __future__ import annotations

import io

from gmoslib.io.errors import FitsReadError

BLOCK = 2880
#: Largest decompressed file accepted (bytes): an unbinned full-frame GMOS raw file is
#: ~60 MB, a processed unbinned mosaic with SCI, VAR and DQ ~300 MB.
MAX_DECOMPRESSED_BYTES = 1 << 30
#: Bytes a stream may hold after its last HDU (padding some tools add).
MAX_TRAILING_BYTES = 64 * BLOCK
#: Header blocks one HDU may have before its END card.
MAX_HEADER_BLOCKS = 1000
_END = b"END" + b" " * 77
_CHUNK = 1 << 20


def _structure(raw: bytes) -> dict:
    """XTENSION, BITPIX, NAXISn, PCOUNT, GCOUNT (numbers as int or float) of a raw header's
    cards, other cards not parsed: the data size before the data are decompressed."""
    out: dict = {}
    for i in range(0, len(raw), 80):
        key = raw[i:i + 8].rstrip().decode("ascii", "replace")
        structural = key in ("XTENSION", "BITPIX", "PCOUNT", "GCOUNT") or key.startswith("NAXIS")
        if not structural or raw[i + 8:i + 10] != b"= ":
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


def data_bytes(structure) -> int:
    """Bytes of data an HDU's header declares (before padding to 2880)."""
    naxis = int(structure.get("NAXIS", 0))
    if not naxis:
        return 0
    size = abs(int(structure["BITPIX"])) // 8
    for k in range(1, naxis + 1):
        n = int(structure[f"NAXIS{k}"])
        if n < 0:
            raise ValueError(f"NAXIS{k} = {n}")
        size *= n
    return (size + int(structure.get("PCOUNT", 0))) * int(structure.get("GCOUNT", 1))


def _too_big(path: str, declared: int) -> FitsReadError:
    return FitsReadError(
        f"{path}: headers declare {declared / 1e6:.0f} MB of data, more than "
        f"{MAX_DECOMPRESSED_BYTES / 1e6:.0f} MB (no GMOS file is that large): not "
        "decompressed (damaged headers or a decompression bomb?)")


def read_stream(path: str, stream) -> memoryview:
    """The FITS bytes (read-only) of an open gzip/bz2 stream, bounded by what the headers
    declare; truncated data are returned as they are (the caller reports them)."""
    out = bytearray()
    declared = 0
    first = True
    while True:
        block = stream.read(BLOCK)
        if not block:
            break
        if first and not block.startswith(b"SIMPLE  ="):
            out += block  # not FITS: the scan of the bytes says so
            break
        if not first and not block.startswith(b"XTENSION"):
            _drain(path, stream, len(block), MAX_TRAILING_BYTES + declared)
            break
        header = bytearray(block)
        while not any(header[i:i + 80] == _END for i in range(len(header) - BLOCK,
                                                               len(header), 80)):
            if len(header) >= MAX_HEADER_BLOCKS * BLOCK:
                raise FitsReadError(f"{path}: not a readable FITS file (a header of more than "
                                    f"{MAX_HEADER_BLOCKS} blocks without END)")
            block = stream.read(BLOCK)
            if len(block) < BLOCK:
                out += header + block
                return memoryview(out).toreadonly()
            header += block
        first = False
        out += header
        try:
            size = data_bytes(_structure(bytes(header)))
        except (ValueError, KeyError, TypeError) as exc:
            out += stream.read(BLOCK)  # (the scan of the bytes reports the header)
            raise FitsReadError(f"{path}: not a readable FITS file ({exc})") from exc
        padded = -(-size // BLOCK) * BLOCK
        declared += padded
        if declared > MAX_DECOMPRESSED_BYTES:
            raise _too_big(path, declared)
        while padded:
            chunk = stream.read(min(padded, _CHUNK))
            if not chunk:
                return memoryview(out).toreadonly()
            out += chunk
            padded -= len(chunk)
    return memoryview(out).toreadonly()


def _drain(path: str, stream, already: int, limit: int) -> None:
    """Read and drop the bytes after the last HDU (a damaged stream fails its CRC check),
    refusing more than ``limit`` bytes."""
    seen = already
    while chunk := stream.read(_CHUNK):
        seen += len(chunk)
        if seen > limit:
            raise FitsReadError(
                f"{path}: decompresses to more than its headers declare (over {limit} "
                "bytes after the last HDU): not decompressed further (a damaged file or a "
                "decompression bomb?)")


def read_compressed(path: str) -> memoryview:
    """The decompressed bytes of a .gz or .bz2 file (see :func:`read_stream`)."""
    if path.lower().endswith(".gz"):
        import gzip

        opener = gzip.open
    else:
        import bz2

        opener = bz2.open
    with opener(path, "rb") as stream:
        return read_stream(path, stream)


def read_fpack(path: str) -> bytes:
    """The FITS bytes of a .fits.fz file, tile-compressed images as plain image HDUs (uint16
    stored as int16 + BZERO 32768, as in raw GMOS files); other HDUs unchanged."""
    import warnings

    from astropy.io import fits

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with fits.open(path, memmap=False) as hdul:
                declared = sum(data_bytes(h.header) for h in hdul)
                if declared > MAX_DECOMPRESSED_BYTES:
                    raise _too_big(path, declared)
                out = [fits.PrimaryHDU(data=hdul[0].data, header=hdul[0].header.copy())]
                for h in hdul[1:]:
                    if isinstance(h, fits.CompImageHDU):
                        out.append(fits.ImageHDU(data=h.data, header=h.header.copy()))
                    else:
                        out.append(h.copy())
                buf = io.BytesIO()
                fits.HDUList(out).writeto(buf, output_verify="silentfix")
    except FitsReadError:
        raise
    except Exception as exc:  # noqa: BLE001 -- astropy's tile decoder: CfitsioException, ...
        raise FitsReadError(f"{path}: not a readable fpack (.fits.fz) file "
                            f"({type(exc).__name__}: {exc})") from exc
    return buf.getvalue()
