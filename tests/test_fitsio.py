"""fitsio: header reading without pixels, raw/processed reading as astropy reads them, atomic
writes, checksums, deterministic products."""

from __future__ import annotations

import bz2
import gzip
import hashlib
import os
import warnings

import numpy as np
import pytest
from astropy.io import fits

from gmoslib.instrument.sections import Section
from gmoslib.io import fitsio
from gmoslib.io.fitsio import (
    FitsReadError,
    file_sha256,
    read_frame,
    read_headers,
    read_raw,
    write_frame,
)
from gmoslib.io.frame import Extension, Frame

from ._descriptors_helpers import real_files
from ._io_helpers import small_raw


@pytest.fixture(scope="module")
def raw(small_preset, tmp_path_factory):
    d = tmp_path_factory.mktemp("raw")
    return small_raw(small_preset, d)


def _frame(rng, n_ext=3, shape=(20, 7)):
    exts = []
    for i in range(n_ext):
        h = fits.Header({"AMPNAME": f"amp{i}", "BUNIT": "electron"})
        exts.append(Extension(rng.normal(100, 5, shape).astype(np.float32),
                              rng.random(shape).astype(np.float32),
                              rng.integers(0, 2**16, shape).astype(np.uint16), h))
    return Frame(fits.Header({"OBJECT": "x", "GEMPRGID": "GN-1"}), exts, "")


def test_read_headers_raw_and_compressed(raw, tmp_path):
    path = raw[0]
    phu, exts = read_headers(path)
    with fits.open(path, do_not_scale_image_data=True) as hdul:
        n = len(hdul) - 1
        assert hdul[1].header["BZERO"] == 32768 and hdul[1].data.dtype.str == ">i2"
    assert phu["INSTRUME"] == "GMOS-N" and len(exts) == n
    good = open(path, "rb").read()
    for suffix, pack in ((".fits.gz", gzip.compress), (".fits.bz2", bz2.compress)):
        p = tmp_path / ("c" + suffix)
        p.write_bytes(pack(good, 1))
        phu2, exts2 = read_headers(str(p))
        assert phu2 == phu and [h["DATASEC"] for h in exts2] == [h["DATASEC"] for h in exts]
        frame = read_raw(str(p))
        assert len(frame.exts) == n and frame.exts[0].sci.dtype == np.float32


def test_read_raw_values(raw):
    frame = read_raw(raw[0])
    with fits.open(raw[0]) as hdul:
        expect = hdul[1].data.astype(np.float32)
    assert np.array_equal(frame.exts[0].sci, expect)
    assert frame.exts[0].var is None and frame.exts[0].dq is None
    assert expect.min() >= 0 and expect.max() <= 65535


def test_raw_file_not_modified(raw):
    before = file_sha256(raw[1])
    read_headers(raw[1])
    read_raw(raw[1])
    assert file_sha256(raw[1]) == before


def test_bad_files_named(raw, tmp_path):
    empty = tmp_path / "e.fits"
    empty.write_bytes(b"")
    with pytest.raises(FitsReadError, match=r"e\.fits.*empty"):
        read_headers(str(empty))
    text = tmp_path / "t.fits"
    text.write_text("hello\n" * 1000)
    with pytest.raises(FitsReadError, match=r"t\.fits.*not a readable FITS"):
        read_headers(str(text))
    good = open(raw[0], "rb").read()
    cut = tmp_path / "cut.fits"
    cut.write_bytes(good[: len(good) - 3 * 2880])
    with pytest.raises(FitsReadError, match=r"cut\.fits.*truncated"):
        read_headers(str(cut))
    cutgz = tmp_path / "cut.fits.gz"
    cutgz.write_bytes(gzip.compress(good)[:-5000])
    with pytest.raises(FitsReadError, match=r"cut\.fits\.gz"):
        read_headers(str(cutgz))
    badbz = tmp_path / "bad.fits.bz2"
    packed = bytearray(bz2.compress(good))
    packed[len(packed) // 2: len(packed) // 2 + 100] = b"\x00" * 100
    badbz.write_bytes(bytes(packed))
    with pytest.raises(FitsReadError, match=r"bad\.fits\.bz2"):
        read_headers(str(badbz))
    with pytest.raises(FitsReadError, match="does not exist"):
        read_headers(str(tmp_path / "none.fits"))
    assert issubclass(FitsReadError, ValueError)


def test_write_read_frame_round_trip(tmp_path):
    frame = _frame(np.random.default_rng(3))
    path = str(tmp_path / "p.fits")
    write_frame(path, frame)
    back = read_frame(path)
    assert back.phu["OBJECT"] == "x" and len(back.exts) == 3
    for a, b in zip(frame.exts, back.exts, strict=True):
        assert np.array_equal(a.sci, b.sci) and np.array_equal(a.var, b.var)
        assert np.array_equal(a.dq, b.dq) and b.dq.dtype == np.uint16
        assert b.header["AMPNAME"] == a.header["AMPNAME"]
    with fits.open(path) as hdul:
        names = [(h.header.get("EXTNAME"), h.header.get("EXTVER")) for h in hdul[1:]]
    assert names == [(n, v) for v in (1, 2, 3) for n in ("SCI", "VAR", "DQ")]
    phu, exts = read_headers(path)
    assert len(exts) == 3


def test_atomic_write_failure_leaves_nothing(tmp_path, monkeypatch):
    frame = _frame(np.random.default_rng(4))
    path = tmp_path / "p.fits"

    written = []

    def failing(self, name, **kwargs):
        with open(name, "wb") as fh:
            fh.write(b"\0" * 100)  # part of the file, then the disk is full
        written.append(name)
        raise OSError("disk full")

    monkeypatch.setattr(fits.HDUList, "writeto", failing)
    with pytest.raises(OSError, match="disk full"):
        write_frame(str(path), frame)
    assert written and os.listdir(tmp_path) == []


def test_atomic_write_keeps_old_file_on_failure(tmp_path):
    path = tmp_path / "x.txt"
    path.write_text("old")
    with pytest.raises(RuntimeError), fitsio.atomic_output(str(path)) as tmp:
        with open(tmp, "w") as fh:
            fh.write("new, partial")
        raise RuntimeError("interrupted")
    assert path.read_text() == "old" and os.listdir(tmp_path) == ["x.txt"]


def test_sha256_streaming(tmp_path):
    import hashlib

    p = tmp_path / "b.bin"
    data = np.random.default_rng(1).bytes(3_000_001)
    p.write_bytes(data)
    assert file_sha256(str(p), chunk=4096) == hashlib.sha256(data).hexdigest()


def test_atomic_output_gives_products_the_usual_permissions(tmp_path):
    from gmoslib.io.fitsio import atomic_output

    old = os.umask(0o022)
    try:
        with atomic_output(str(tmp_path / "product.txt")) as tmp:
            with open(tmp, "w") as fh:
                fh.write("x")
    finally:
        os.umask(old)
    assert (tmp_path / "product.txt").stat().st_mode & 0o777 == 0o644


def test_tile_compressed_raw_file_is_refused_by_name(tmp_path):
    path = tmp_path / "N20170614S0201.fits"
    data = np.arange(64 * 32, dtype=np.uint16).reshape(64, 32)
    fits.HDUList([fits.PrimaryHDU(), fits.CompImageHDU(data)]).writeto(path)
    with pytest.raises(FitsReadError, match=r"N20170614S0201\.fits: tile-compressed"):
        read_raw(str(path))


def test_real_gemini_files_read_as_astropy_reads_them():
    """Gemini's own GMOS files (bz2 BPMs with raw-frame headers; every fifth, for time):
    every header card and every pixel as astropy reads them."""
    for path in real_files():
        phu, exts = read_headers(str(path))
        raw = read_raw(str(path))
        with fits.open(path) as hdul:
            assert list(phu.items()) == list(hdul[0].header.items()), path
            images = [h for h in hdul[1:] if h.is_image]
            for mine, ref in zip(raw.exts, images, strict=True):
                assert list(mine.header.items()) == list(ref.header.items()), path
                np.testing.assert_array_equal(mine.sci, np.asarray(ref.data, np.float64))
            # read_headers keeps only the SCI headers of a file that names extensions SCI
            assert len(exts) in (len(images), sum(str(h.header.get("EXTNAME", "")).upper()
                                                  == "SCI" for h in images))


def test_remembered_checksums_are_used_only_for_unchanged_files(tmp_path, monkeypatch):
    # the manifest's SHA-256 of a raw file spares the job hashing it again, but only while
    # the file has the size and modification time the manifest saw
    data = np.arange(64 * 32, dtype=np.int16).reshape(64, 32)
    paths = []
    for k in range(2):
        p = tmp_path / f"r{k}.fits"
        fits.HDUList([fits.PrimaryHDU(), fits.ImageHDU(data + k)]).writeto(p)
        paths.append(str(p))
    st = [os.stat(p) for p in paths]
    true = [hashlib.sha256(open(p, "rb").read()).hexdigest() for p in paths]
    known = {paths[0]: ("a" * 64, st[0].st_size, st[0].st_mtime_ns, st[0].st_ino),  # as seen
             paths[1]: ("b" * 64, st[1].st_size, st[1].st_mtime_ns - 1, st[1].st_ino)}
    assert fitsio.remember_sha256(known) == [paths[1]]  # touched since
    replaced = {paths[1]: ("c" * 64, st[1].st_size, st[1].st_mtime_ns, st[1].st_ino + 1)}
    assert fitsio.remember_sha256(replaced) == [paths[1]]  # another file, same time
    hashed = []
    real = fitsio.hashlib.sha256
    monkeypatch.setattr(fitsio.hashlib, "sha256", lambda b=b"": hashed.append(1) or real(b))
    read_raw(paths[0])
    read_raw(paths[1])
    assert len(hashed) == 1  # only the changed file
    assert file_sha256(paths[0]) == "a" * 64
    assert file_sha256(paths[1]) == true[1]


def test_products_carry_checksums_that_astropy_verifies(tmp_path):
    frame = _frame(np.random.default_rng(6), n_ext=2)
    frame.phu["LONGNOTE"] = ("it's " * 30 + "''", "a long string ending in a quote")
    path = tmp_path / "p.fits"
    write_frame(str(path), frame)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # astropy warns on a checksum that does not match
        with fits.open(path, checksum=True) as hdul:
            hdul.verify("exception")
            assert [h.name for h in hdul] == ["PRIMARY"] + ["SCI", "VAR", "DQ"] * 2
            assert all(h.verify_checksum() == 1 and h.verify_datasum() == 1 for h in hdul)
            assert hdul[2].header["BUNIT"] == "electron2"
            assert hdul[2].header["UTYPE"] == "VarianceUncertainty"
            assert "DATE" not in hdul[0].header
    assert read_frame(str(path)).phu["LONGNOTE"] == "it's " * 30 + "''"
    # a changed pixel breaks the data checksum
    data = bytearray(path.read_bytes())
    with fits.open(path) as hdul:
        data[hdul.fileinfo(1)["datLoc"]] ^= 1
    path.write_bytes(bytes(data))
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        with fits.open(path, checksum=True) as hdul:
            hdul[1].data  # noqa: B018
    assert any("Datasum verification failed" in str(w.message) for w in seen)


def test_products_are_byte_identical_when_written_again(tmp_path):
    frame = _frame(np.random.default_rng(7))
    write_frame(str(tmp_path / "a.fits"), frame)
    write_frame(str(tmp_path / "b.fits"), frame)
    assert (tmp_path / "a.fits").read_bytes() == (tmp_path / "b.fits").read_bytes()


def test_scaled_integers_and_blank_read_as_astropy_reads_them(tmp_path):
    stored = np.array([[-99, 0, 7], [1000, -99, -5]], np.int32)
    hdu = fits.ImageHDU(stored, do_not_scale_image_data=True)
    hdu.header["BSCALE"], hdu.header["BZERO"], hdu.header["BLANK"] = 2.0, 10.0, -99
    path = tmp_path / "blank.fits"
    fits.HDUList([fits.PrimaryHDU(), hdu]).writeto(path)
    expect = fits.getdata(path, 1)
    assert np.isnan(expect[0, 0])  # (astropy: BLANK pixels are NaN)
    np.testing.assert_array_equal(read_raw(str(path)).exts[0].sci, expect.astype(np.float32))


def test_a_3d_image_extension_is_refused_by_name(tmp_path):
    path = tmp_path / "cube.fits"
    fits.HDUList([fits.PrimaryHDU(), fits.ImageHDU(np.zeros((2, 3, 4), np.int16))]).writeto(path)
    with pytest.raises(FitsReadError, match=r"cube\.fits: extension 1 is a 3-D image"):
        read_raw(str(path))


def test_a_compressed_file_is_decompressed_once_per_scan(raw, tmp_path, monkeypatch):
    from gmoslib.io import rawcompress

    path = tmp_path / "c.fits.bz2"
    path.write_bytes(bz2.compress(open(raw[0], "rb").read(), 1))
    calls, parsed = [], []
    real = rawcompress.read_compressed
    monkeypatch.setattr(rawcompress, "read_compressed", lambda p: calls.append(p) or real(p))
    fromstring = fits.Header.fromstring
    monkeypatch.setattr(fits.Header, "fromstring",
                        lambda *a, **k: parsed.append(1) or fromstring(*a, **k))
    _, exts = read_headers(str(path))
    n_parsed = len(parsed)
    assert fitsio.nonfinite_counts(str(path)) == [0] * len(exts)
    assert fitsio.saturated_fraction(str(path), [Section(0, 2, 0, 2)] * len(exts),
                                     [1e9] * len(exts)) == 0.0
    assert len(parsed) == n_parsed == len(exts) + 1  # the headers were parsed once
    read_raw(str(path))
    assert calls == [str(path)]


def _plain_hdus(frame: Frame) -> fits.HDUList:
    """frame_hdus as plain astropy builds it: header copies extended card by card, native
    pixels (astropy swaps and offsets them)."""
    def clean(h):
        h = fits.Header(h, copy=True)
        for key in fitsio._STRUCTURAL:
            h.remove(key, ignore_missing=True, remove_all=True)
        return h

    hdus = [fits.PrimaryHDU(header=clean(frame.phu))]
    for i, ext in enumerate(frame.exts, start=1):
        hdr = clean(ext.header)
        fitsio.add_date_obs(hdr)
        hdus.append(fits.ImageHDU(np.asarray(ext.sci, np.float32), hdr, name="SCI", ver=i))
        var = fits.ImageHDU(np.asarray(ext.var, np.float32), name="VAR", ver=i)
        var.header["BUNIT"] = f"{hdr['BUNIT']}2"
        var.header["UTYPE"] = ("VarianceUncertainty", "astropy.nddata uncertainty class")
        hdus.append(var)
        hdus.append(fits.ImageHDU(np.asarray(ext.dq, np.uint16), name="DQ", ver=i))
    out = fits.HDUList(hdus)
    for hdu in out:
        hdu.add_checksum(when=fitsio._CHECKSUM_COMMENT)
    return out


def test_products_are_the_bytes_plain_astropy_writes(tmp_path):
    frame = _frame(np.random.default_rng(8), n_ext=2)
    frame.phu.add_history("first")
    frame.phu["NAXIS"], frame.phu["EXTEND"], frame.phu["NEXTEND"] = 0, True, 6
    frame.phu.add_comment("a comment")
    frame.phu.append(("AMPNAME", "again", "a duplicate keyword"))
    h = frame.exts[0].header
    h["MJD-OBS"] = (57917.79, "start")  # DATE-OBS added
    h["BZERO"], h["EXTNAME"], h["CHECKSUM"], h["NAXIS1"] = 0, "SCI", "x", 7
    frame.exts[1].header["DATE-OBS"] = "2017-06-13T19:00:00"
    frame.exts[1].sci = frame.exts[1].sci.astype(">f4")
    write_frame(str(tmp_path / "a.fits"), frame)
    _plain_hdus(frame).writeto(tmp_path / "b.fits", output_verify="exception")
    assert (tmp_path / "a.fits").read_bytes() == (tmp_path / "b.fits").read_bytes()
