"""Bounded decompression of raw files and fpack reading (issue 17)."""

from __future__ import annotations

import bz2
import gzip
import tracemalloc

import numpy as np
import pytest
from astropy.io import fits

from gmoslib.io.errors import FitsReadError
from gmoslib.io.fitsio import read_headers, read_raw


def _raw(path, values):
    """A small raw-like file: uint16 images stored as int16 + BZERO 32768."""
    hdus = [fits.PrimaryHDU()]
    hdus[0].header["INSTRUME"] = "GMOS-N"
    for v in values:
        hdus.append(fits.ImageHDU(np.asarray(v, dtype=np.uint16)))
    fits.HDUList(hdus).writeto(path)
    return path


def test_bomb_after_the_hdus_is_refused_without_holding_it(tmp_path):
    good = _raw(tmp_path / "g.fits", [np.arange(64).reshape(8, 8)])
    path = tmp_path / "N1.fits.bz2"
    path.write_bytes(bz2.compress(good.read_bytes()) + bz2.compress(bytes(1 << 20)) * 64)
    tracemalloc.start()
    try:
        with pytest.raises(FitsReadError, match="decompresses to more than its headers"):
            read_headers(str(path))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 << 20  # the 64 MB of zeros were never held


def test_declared_size_over_the_limit_is_refused_before_reading(tmp_path, monkeypatch):
    from gmoslib.io import rawcompress

    monkeypatch.setattr(rawcompress, "MAX_DECOMPRESSED_BYTES", 10_000)
    path = tmp_path / "N1.fits.gz"
    path.write_bytes(gzip.compress(_raw(tmp_path / "g.fits",
                                        [np.zeros((100, 100))]).read_bytes()))
    with pytest.raises(FitsReadError, match=r"headers declare 0 MB of data, more than 0 MB"):
        read_headers(str(path))


def test_compressed_frames_read_like_the_plain_file(tmp_path):
    values = [np.arange(120).reshape(10, 12) * 500, np.full((10, 12), 65535)]
    plain = _raw(tmp_path / "N1.fits", values)
    (tmp_path / "N1.fits.gz").write_bytes(gzip.compress(plain.read_bytes()))
    (tmp_path / "N1.fits.bz2").write_bytes(bz2.compress(plain.read_bytes()))
    with fits.open(plain) as hdul:
        fits.HDUList([fits.PrimaryHDU(header=hdul[0].header)] + [
            fits.CompImageHDU(h.data, h.header, compression_type="RICE_1")
            for h in hdul[1:]]).writeto(tmp_path / "N1.fits.fz")
    for name in ("N1.fits.gz", "N1.fits.bz2", "N1.fits.fz"):
        frame = read_raw(str(tmp_path / name))
        assert len(frame.exts) == 2, name
        for ext, v in zip(frame.exts, values, strict=True):
            np.testing.assert_array_equal(ext.sci, v.astype(np.float32))


def test_gzip_with_a_damaged_crc_is_still_reported(tmp_path):
    packed = bytearray(gzip.compress(_raw(tmp_path / "g.fits", [np.ones((8, 8))]).read_bytes()))
    packed[-8] ^= 0xFF  # the CRC32 of the gzip member
    (tmp_path / "N1.fits.gz").write_bytes(bytes(packed))
    with pytest.raises(FitsReadError, match="corrupt compressed file"):
        read_headers(str(tmp_path / "N1.fits.gz"))
