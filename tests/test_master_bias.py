"""Master bias: pixels computed in the stack (raw integers and row levels), in memory and
through scratch files, against frames prepared in full and combined by astropy's sigma_clip."""

from __future__ import annotations

import gzip
import os

import numpy as np
import pytest
from astropy.stats import sigma_clip

from gmoslib.calibration.bias import make_master_bias
from gmoslib.calibration.overscan import RowLevelImage, subtract_rows
from gmoslib.calibration.raw_frame import load_prepared
from gmoslib.io import dq as dqbits
from gmoslib.io.frame import LazyPlane

from ._io_helpers import small_raw


@pytest.fixture(scope="module")
def biases(small_preset, tmp_path_factory):
    raw = tmp_path_factory.mktemp("mbias") / "raw"
    small_raw(small_preset, raw)
    paths = sorted(str(p) for p in raw.glob("N20170613S018*.fits"))
    assert len(paths) >= 3
    return paths


@pytest.fixture(scope="module")
def bias_reference(biases):
    """The reference master bias of ``biases`` (computed once for the module)."""
    return _reference(biases)


def _reference(paths):
    """Each bias prepared in full (float32 SCI), every extension combined here: per pixel
    the inputs of the best DQ class (never NO_DATA), variance clipped by astropy's
    sigma_clip (median centre, sqrt VAR as the spread: one value for all frames of an
    amplifier), then mean, VAR = sum VAR / n^2 and the OR of the kept DQ."""
    frames = [load_prepared(p, overscan={}) for p in paths]
    badness = ((dqbits.COSMIC_RAY, 1), (dqbits.OVERLAP, 2), (dqbits.BAD_PIXEL, 3),
               (dqbits.UNILLUMINATED, 4), (dqbits.NO_DATA, 5))
    out = []
    for i in range(len(frames[0].exts)):
        sci = np.stack([np.asarray(f.exts[i].sci) for f in frames]).astype(np.float64)
        var = np.stack([np.broadcast_to(f.exts[i].var, sci.shape[1:]) for f in frames])
        dq = np.stack([np.asarray(f.exts[i].dq) for f in frames])
        assert var.min() == var.max()  # the read noise of the amplifier
        rank = np.zeros(dq.shape, int)
        for bit, r in badness:
            rank = np.where(dq & bit, r, rank)
        usable = (rank == rank.min(axis=0)) & (rank < 5) & np.isfinite(sci)
        read_noise = np.sqrt(np.float64(var.flat[0]))

        def spread(a, axis=None, sigma=read_noise):
            return np.full(np.delete(a.shape, axis), sigma)

        clipped = sigma_clip(np.ma.masked_array(sci, ~usable), sigma=3.0, maxiters=None,
                             cenfunc="median", stdfunc=spread, axis=0)
        kept = ~np.ma.getmaskarray(clipped)
        n_kept = kept.sum(axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = np.where(kept, sci, 0).sum(axis=0) / n_kept
            out_var = np.where(kept, var, 0).sum(axis=0) / n_kept**2
        out_dq = np.bitwise_or.reduce(np.where(kept, dq, 0), axis=0)
        none = n_kept == 0
        out.append((np.where(none, 0, mean), np.where(none, 0, out_var),
                    np.where(none, dqbits.NO_DATA, out_dq), usable.sum(axis=0) - n_kept))
    return out


@pytest.mark.parametrize("memory_bytes,threads,gzipped", [
    (1 << 28, 1, False), (1 << 28, 2, False), (1 << 16, 2, False), (1 << 16, 1, True)])
def test_master_bias_matches_full_preparation(biases, bias_reference, tmp_path, memory_bytes,
                                              threads, gzipped):
    # 1 << 16: the frames do not fit the budget: their rows are read again from the raw
    # files, or for compressed files from scratch copies of the raw integers; every mode
    # gives the reference's pixels
    paths = biases
    if gzipped:
        raw = tmp_path / "gz"
        raw.mkdir()
        paths = []
        for p in biases:
            out = raw / (os.path.basename(p) + ".gz")
            out.write_bytes(gzip.compress(open(p, "rb").read(), compresslevel=1))
            paths.append(str(out))
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    fds = len(os.listdir("/proc/self/fd")) if os.path.isdir("/proc/self/fd") else None
    master = make_master_bias(paths, overscan={}, stack={"reject_method": "varclip"},
                              memory_bytes=memory_bytes, scratch_dir=str(scratch),
                              threads=threads)
    if fds is not None:
        # raw files read back are closed (<=: an earlier test's file may be collected meanwhile)
        assert len(os.listdir("/proc/self/fd")) <= fds
    reference = bias_reference
    assert len(master.exts) == len(reference)
    for ext, (sci, var, dq, _) in zip(master.exts, reference, strict=True):
        # (the same float32 inputs; float64 sums in another order: last-bit differences)
        np.testing.assert_allclose(ext.sci, sci, rtol=1e-6, atol=1e-6)
        np.testing.assert_allclose(ext.var, var, rtol=1e-6)
        np.testing.assert_array_equal(ext.dq, dq)
    assert list(scratch.iterdir()) == []  # scratch files removed


def test_deferred_preparation_is_the_full_one(biases):
    full = load_prepared(biases[0], overscan={})
    deferred = load_prepared(biases[0], overscan={}, defer_sci=True)
    for a, b in zip(full.exts, deferred.exts, strict=True):
        assert isinstance(b.sci, RowLevelImage) and b.sci.shape == a.sci.shape
        np.testing.assert_array_equal(np.asarray(b.sci), a.sci)
        np.testing.assert_array_equal(b.dq, a.dq)


def test_row_level_image():
    rng = np.random.default_rng(3)
    stored = rng.integers(-32768, 32767, (7, 5)).astype(">i2")  # as in a FITS file
    level = rng.normal(-31000.0, 50.0, 7)
    img = RowLevelImage(stored, level)
    exact = (stored.astype(np.float64) - level[:, None]).astype(np.float32)
    # float32 arithmetic: the float64 difference rounded once, to the last bit near the
    # level, within one unit in the last place far from it
    np.testing.assert_array_max_ulp(np.asarray(img), exact, maxulp=1)
    near = (np.round(level)[:, None] + rng.integers(-40, 40, (7, 5))).astype(">i2")
    np.testing.assert_array_equal(
        np.asarray(RowLevelImage(near, level)),
        (near.astype(np.float64) - level[:, None]).astype(np.float32))
    expected = subtract_rows(stored, level)  # the same arithmetic as a whole frame's
    np.testing.assert_array_equal(np.asarray(img), expected)
    assert img.shape == (7, 5) and img.dtype == np.float32 and img.size == 35
    assert isinstance(img, LazyPlane)
    np.testing.assert_array_equal(img[2:5], expected[2:5])
    np.testing.assert_array_equal(img[2:5, 1:3], expected[2:5, 1:3])
    np.testing.assert_array_equal(img[3], expected[3])
    np.testing.assert_array_equal(np.asarray(img.rows(1, 4)), expected[1:4])
    with pytest.raises(ValueError, match="level shape"):
        RowLevelImage(stored, level[:3])


def test_row_plane_and_saturation_test():
    from gmoslib.calibration.prepare import RowPlane, any_saturated, make_dq

    values = np.array([0, 80, 0, 16], np.uint16)
    plane = RowPlane(values, 3)
    full = np.repeat(values[:, None], 3, axis=1)
    assert plane.shape == (4, 3) and plane.dtype == np.uint16 and plane.max() == 80
    assert isinstance(plane, LazyPlane)
    np.testing.assert_array_equal(np.asarray(plane), full)
    np.testing.assert_array_equal(plane[1:3, :2], full[1:3, :2])
    np.testing.assert_array_equal(np.asarray(plane.rows(1, 3)), full[1:3])
    raw = np.array([[100, 65534], [7, 8]], ">u2")
    # integers: saturated from the smallest integer at or above the level, as make_dq says
    for level in (65533.5, 65534.0, 65534.2, 70000.0):
        assert any_saturated(raw, level) == bool(make_dq(raw, level).any()), level
    assert any_saturated(raw.astype(np.float32), 65534.0)
    assert not any_saturated(raw[:0], 1.0)


@pytest.mark.parametrize("memory_bytes", [1 << 28, 1 << 14])
def test_master_bias_of_a_detector_without_dead_rows(tmp_path, memory_bytes):
    # e2vDD CCDs have no dead rows: a bias's DQ is all zero (kept as nothing at all)
    import datetime as dt

    from gmoslib.instrument.detectors import LAYOUTS
    from gmoslib.sim.core import FrameSpec, make_detector_model, write_raw

    model = make_detector_model(LAYOUTS["GN-e2vDD"], 4, 4, None, seed=1)
    paths = []
    for k in range(4):
        name = f"N20150613S{100 + k:04d}"
        spec = FrameSpec("bias", name, dt.datetime(2015, 6, 13, 19) + dt.timedelta(minutes=k),
                         0.0, datalab=f"NCAL-{k}")
        write_raw(str(tmp_path / f"{name}.fits"), model, spec, seed=k)
        paths.append(str(tmp_path / f"{name}.fits"))
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    master = make_master_bias(paths, overscan={}, stack={"reject_method": "varclip"},
                              memory_bytes=memory_bytes, scratch_dir=str(scratch), threads=2)
    reference = _reference(paths)
    for ext, (sci, var, dq, _) in zip(master.exts, reference, strict=True):
        assert not dq.any()
        np.testing.assert_allclose(ext.sci, sci, rtol=1e-6, atol=1e-6)
        np.testing.assert_allclose(ext.var, var, rtol=1e-6)
        np.testing.assert_array_equal(ext.dq, dq)


def test_a_raw_file_cut_short_while_stacked_is_named(biases, tmp_path):
    # rows read back from a raw file (frames over the budget) that no longer has them
    import shutil

    from gmoslib.calibration.raw_frame import RawRows
    from gmoslib.io.errors import RecipeError

    copy = tmp_path / "b.fits"
    shutil.copy(biases[0], copy)
    frame = load_prepared(str(copy), overscan={}, defer_sci=True)
    image = frame.exts[0].sci
    assert image.source is not None and image.source[0] == str(copy)
    fd = os.open(copy, os.O_RDONLY)
    try:
        rows = RawRows(image, fd)
        np.testing.assert_array_equal(np.asarray(rows.rows(2, 5)), np.asarray(image)[2:5])
        os.truncate(copy, image.source[1])  # (a copy: the raw input itself is never touched)
        with pytest.raises(RecipeError, match=r"b\.fits: the raw file changed"):
            rows.rows(0, 3)
    finally:
        os.close(fd)
