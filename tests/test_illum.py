"""addIllumMaskToDQ (gmoslib.instrument.illum) with Gemini's real illumination masks from package
data
and hand-made raw headers; the flat check; bit 64 through mosaic, resampling, previews and
the statistics that must ignore it.  Truth: the mask files' own pixels (read with astropy),
the reference (5.3: the GN Hamamatsu mask covers the two outer amplifiers of CCD1 and CCD3)
and algebra."""

from __future__ import annotations

import bz2
import gzip
import io
import logging
import os

import numpy as np
import pytest
from astropy.io import fits

from gmoslib.calibration.flat import flat_normalisation
from gmoslib.calibration.raw_frame import prepare_raw_frame
from gmoslib.instrument import geometry, illum
from gmoslib.instrument.descriptors import Descriptors
from gmoslib.instrument.detectors import LAYOUTS, raw_amp_sections
from gmoslib.instrument.sections import Section, format_section, parse_section
from gmoslib.io import dq as dqbits
from gmoslib.io.frame import Extension, Frame
from gmoslib.qa.preview import MASK_BITS, frame_image
from gmoslib.science.mosaic import background_level, mosaic_detectors
from gmoslib.science.resample import resample_to_frame
from tests._descriptors_helpers import LAYOUT_PHU, headers


def _file_data(name):
    """{DETSEC string: bool data} of a shipped mask file, read directly."""
    with open(os.path.join(illum.MASK_DIR, name), "rb") as fh:
        content = gzip.decompress(fh.read())
    with fits.open(io.BytesIO(content)) as hdul:
        return {h.header["DETSEC"]: np.asarray(h.data) != 0 for h in hdul[1:]}


def _masks(layout_key, xbin, ybin, roi=None):
    phu, exts = headers(layout_key, xbin, ybin, roi=roi)
    desc = Descriptors(phu, exts, "raw.fits")
    shapes = [d.shape for d in desc.data_section()]
    return illum.frame_illumination_masks(desc, shapes, "raw.fits"), exts


def test_every_shipped_file_is_in_the_package_and_mapped():
    on_disk = {f for f in os.listdir(illum.MASK_DIR) if f.endswith(".fits.gz")}
    mapped = {f for files in illum.MASK_FILES.values() for f in files.values()}
    assert mapped <= on_disk
    assert {"README.md", "NOTICE"} <= set(os.listdir(illum.MASK_DIR))


REAL = os.path.join(os.path.dirname(__file__), "data", "real")


@pytest.mark.parametrize("name", sorted(f[:-len(".fits.bz2")] for f in os.listdir(REAL)
                                        if f.startswith("gmos-") and "_illum_" in f
                                        and "__" not in f))
def test_shipped_files_are_geminis_bytes_recompressed(name):
    # tests/data/real keeps Gemini's .fits.bz2 as DRAGONS distributes them: the shipped
    # .fits.gz holds the same FITS bytes
    with open(os.path.join(REAL, f"{name}.fits.bz2"), "rb") as fh:
        original = bz2.decompress(fh.read())
    with open(os.path.join(illum.MASK_DIR, f"{name}.fits.gz"), "rb") as fh:
        assert gzip.decompress(fh.read()) == original


def test_gn_hamamatsu_2x2_is_the_file_amplifier_by_amplifier():
    (masks, label), exts = _masks("GN-Ham", 2, 2)
    assert label == "gmos-n_illum_HAM_22_12amp_v1.fits.gz"
    data = _file_data(label)
    assert len(masks) == 12
    for m, h in zip(masks, exts, strict=True):
        np.testing.assert_array_equal(m, data[h["DETSEC"]])
    # reference 5.3: amplifiers 4 and 3 of CCD1 and 2 and 1 of CCD3 are outside the field
    for k in (0, 1, 10, 11):
        assert masks[k].all()
    for k in range(2, 10):
        assert 0.01 < masks[k].mean() < 0.3


def test_e2v_file_order_differs_from_raw_order_matched_by_detsec():
    (masks, label), exts = _masks("GN-e2vDD", 2, 2)
    data = _file_data(label)
    for m, h in zip(masks, exts, strict=True):
        np.testing.assert_array_equal(m, data[h["DETSEC"]])
    # CCD1's left amplifier (DETSEC x from 1) is mostly outside the field, its right one not
    left = [m for m, h in zip(masks, exts, strict=True) if h["DETSEC"].startswith("[1:1024")]
    assert left and left[0].mean() > 0.8


def test_4x4_without_a_file_is_binned_from_1x1():
    (masks, label), exts = _masks("GN-e2vDD", 4, 4)  # (EEV: the same path)
    assert "binned to 4x4" in label and "_11_" in label
    unbinned = _file_data(label.split()[0])
    for m, h in zip(masks, exts, strict=True):
        d = parse_section(h["DETSEC"])
        key = next(k for k in unbinned if parse_section(k).x1 <= d.x1 < parse_section(k).x2)
        full, x0 = unbinned[key], d.x1 - parse_section(key).x1
        ny, nx = m.shape
        for (y, x) in ((0, 0), (ny // 2, nx // 2), (ny - 1, nx - 1), (3, nx // 3)):
            block = full[4 * y:4 * y + 4, x0 + 4 * x:x0 + 4 * x + 4]
            assert m[y, x] == block.any()


def test_roi_is_cut_by_detsec_on_and_off_the_file_grid():
    (full, _), exts = _masks("GN-Ham", 2, 2)
    roi = Section(2048 + 256, 2048 + 1024 + 256, 1800, 2400)  # across two CCD2 amps
    (masks, label), rexts = _masks("GN-Ham", 2, 2, roi=roi)
    assert label == "gmos-n_illum_HAM_22_12amp_v1.fits.gz"
    for m, h in zip(masks, rexts, strict=True):
        d = parse_section(h["DETSEC"])
        k = next(i for i, e in enumerate(exts) if parse_section(e["DETSEC"]).x1 <= d.x1
                 < parse_section(e["DETSEC"]).x2)
        a = parse_section(exts[k]["DETSEC"])
        np.testing.assert_array_equal(
            m, full[k][d.y1 // 2:d.y2 // 2, (d.x1 - a.x1) // 2:(d.x2 - a.x1) // 2])
    # a ROI starting on an odd unbinned row is not on the 2x2 file's grid: from 1x1
    (masks, label), _ = _masks("GN-Ham", 2, 2, roi=Section(0, 6144, 1, 41))
    assert "binned to 2x2" in label
    assert masks[0].shape == (20, 256) and masks[0].all()  # CCD1 amp 4: all unilluminated
    assert masks[4][:23].any()  # the bottom 48 unbinned rows are unilluminated


def test_camera_without_a_mask_is_an_explicit_logged_outcome(caplog):
    phu, exts = headers("GN-e2vDD", 2, 2, INSTRUME="GMOS-S")  # no GMOS-S e2v mask exists
    desc = Descriptors(phu, exts, "S2099.fits")
    shapes = [d.shape for d in desc.data_section()]
    with caplog.at_level(logging.WARNING, logger="gmoslib.instrument.illum"):
        masks, label = illum.frame_illumination_masks(desc, shapes, "S2099.fits")
    assert masks is None and label == illum.NO_MASK
    assert "S2099.fits" in caplog.text and "no illumination mask" in caplog.text


def test_mask_that_does_not_cover_the_frame_names_the_file():
    with pytest.raises(illum.IllumMaskError, match="odd.fits"):
        illum.illumination_masks("GMOS-N", "Hamamatsu-N", 2, 2, [Section(6144, 6400, 0, 100)],
                                 [(50, 128)], "odd.fits")


def _raw_frame(layout_key, xbin, ybin, **cards):
    phu, exts = headers(layout_key, xbin, ybin, **cards)
    out = []
    for h in exts:
        h["BZERO"] = 0
        shape = (int(h["DATASEC"].split(",")[1].split(":")[1].rstrip("]")),
                 parse_section(h["DATASEC"]).nx + 32)
        out.append(Extension(np.full(shape, 1000, np.uint16), None, None, h))
    frame = Frame(phu, out, "N20990101S0001.fits")
    return frame, Descriptors(phu, exts, frame.filename)


def test_prepare_adds_bit_64_to_flats_and_science_not_to_biases():
    frame, desc = _raw_frame("GN-Ham", 4, 4)
    out = prepare_raw_frame(frame, desc, overscan={})
    assert out.phu["ILLUMMSK"] == "gmos-n_illum_HAM_44_12amp_v1.fits.gz"
    data = _file_data(out.phu["ILLUMMSK"])
    for e in out.exts:
        unill = (np.asarray(e.dq) & dqbits.UNILLUMINATED) != 0
        assert (unill >= data[e.header["DETSEC"]]).all()  # every masked pixel carries 64
    assert ((np.asarray(out.exts[0].dq) & 64) != 0).all()
    bias, bdesc = _raw_frame("GN-Ham", 4, 4, OBSTYPE="BIAS", OBJECT="Bias")
    out = prepare_raw_frame(bias, bdesc, overscan={}, defer_sci=True)
    assert "ILLUMMSK" not in out.phu
    # only the 48 dead bottom rows (12 at 4x4) are unilluminated in a bias
    assert not (np.asarray(out.exts[0].dq)[12:] & 64).any()


def test_flat_check_flags_dark_regions_and_counts_bright_masked_ones():
    ny, nx = 120, 100
    rng = np.random.default_rng(1)
    resp = rng.normal(1.0, 0.01, (ny, nx)).astype(np.float32)
    resp[:, 70:] = 0.02          # field stop the mask does not know about
    resp[:, 30] = 0.0            # a dead column: a defect, not a region
    dq = np.zeros((ny, nx), np.uint16)
    dq[:20, :] = dqbits.UNILLUMINATED  # masked, but bright in the flat
    new, n_dark, n_lit = illum.check_flat_illumination(resp, dq)
    assert ((new[20:, 72:] & 64) != 0).all()
    assert not (new[20:, :65] & 64).any()  # the dead column is not a dark region
    assert n_dark == int(((new & 64) != 0).sum() - 20 * nx)
    assert abs(n_lit - 20 * 70) <= 20 * 8
    assert (new & dq == dq).all()


@pytest.mark.parametrize("shape", [(40, 31), (7, 6), (2, 9), (1, 1)])
def test_median_over_half_is_the_thresholded_running_median(shape):
    """Ties, values equal to the threshold, windows longer than the axis, mirrored edges."""
    x = np.random.default_rng(2).choice(np.float32([0.1, 0.3, 0.5, 0.7, 0.9]), size=shape)
    for window in (15, 5, 4, 1):
        for axis in (0, 1):
            smooth = illum.running_median(x, window, axis)
            for t in (0.3, 0.6):
                assert (illum.median_over_half(x < t, window, axis) == (smooth < t)).all()
                assert (illum.median_over_half(x > t, window, axis) == (smooth > t)).all()


@pytest.mark.parametrize("nan", [False, True])
def test_flat_check_equals_its_plain_running_medians(nan):
    rng = np.random.default_rng(3)
    ramp = np.linspace(0, 1, 45) + rng.choice([-0.2, 0, 0.2], size=(60, 45))
    resp = np.round(ramp, 1).astype(np.float32)  # ties and values at the thresholds
    if nan:
        resp[rng.random(resp.shape) < 0.2] = np.nan
    dq = np.where(rng.random(resp.shape) < 0.3, np.uint16(dqbits.UNILLUMINATED), np.uint16(0))
    smooth = illum.running_median(illum.running_median(resp, 15, 1), 15, 0)
    dark = (smooth < illum.LOW_RESPONSE) & (dq == 0)
    lit = (smooth > illum.BRIGHT_RESPONSE) & (dq != 0)
    new, n_dark, n_lit = illum.check_flat_illumination(resp, dq)
    assert (new == (dq | np.where(dark, np.uint16(dqbits.UNILLUMINATED), 0))).all()
    assert (n_dark, n_lit) == (int(dark.sum()), int(lit.sum())) and n_dark and n_lit


def test_flat_statistics_and_qe_sky_ignore_unilluminated_pixels():
    sci = np.full((100, 100), 1000.0, np.float32)
    dq = np.zeros((100, 100), np.uint16)
    sci[:, :40] = 5.0
    dq[:, :40] = dqbits.UNILLUMINATED
    assert flat_normalisation(sci, dq) == pytest.approx(1000.0)
    level, n = background_level(sci, dq)
    assert level == pytest.approx(1000.0) and n > 0


def test_resampled_pixel_fed_mostly_by_unilluminated_input_is_unilluminated():
    ny, nx = 40, 40
    sci = np.ones((ny, nx), np.float32)
    dq = np.zeros((ny, nx), np.uint16)
    dq[:, :20] = dqbits.UNILLUMINATED
    shift = np.array([[1, 0, 0.3], [0, 1, 0.2], [0, 0, 1]], float)  # sub-pixel shift
    for order in (1, 3):
        _, _, out = resample_to_frame(sci, None, dq, shift, (ny, nx), (0, 0), order=order)
        assert ((out[5:-5, 2:20] & 64) != 0).all()  # fed (mostly) by column < 20
        assert not (out[5:-5, 30:-3] & 64).any()  # (cubic ringing spreads it a few px)


def test_mosaic_keeps_unilluminated_amplifiers_and_preview_masks_them():
    lay = LAYOUTS["GN-Ham"]
    exts = []
    for k, amp in enumerate(raw_amp_sections(lay, 4, 4)):
        ny, nx = amp["datasec"].shape
        h = fits.Header()
        h["CCDSEC"] = format_section(amp["ccdsec"])
        h["DETSEC"] = format_section(amp["detsec"])
        h["CCDSUM"] = "4 4"
        h["AMPNAME"] = amp["ampname"]
        dq = np.full((ny, nx), dqbits.UNILLUMINATED if k in (0, 1) else 0, np.uint16)
        exts.append(Extension(np.ones((ny, nx), np.float32), np.ones((ny, nx), np.float32),
                              dq, h))
    m = mosaic_detectors(exts, lay.detid, order=3, xbin=4, ybin=4)
    x0, y0, _, _ = geometry.mosaic_frame(lay.detid, 4, 4)
    X, Y = geometry.ccd_to_mosaic(lay.detid, 0, np.array([10.0, 200.0]), np.array([500.0]),
                                  4, 4)
    for x in X:
        assert m.dq[int(Y[0]) - y0, int(round(float(x))) - x0] & dqbits.UNILLUMINATED
    X, _ = geometry.ccd_to_mosaic(lay.detid, 0, np.array([400.0]), np.array([500.0]), 4, 4)
    assert not m.dq[int(Y[0]) - y0, int(round(float(X[0]))) - x0] & dqbits.UNILLUMINATED
    assert MASK_BITS & dqbits.UNILLUMINATED
    _, mask = frame_image(Frame(fits.Header(), [m], "mosaic.fits"))
    np.testing.assert_array_equal(mask, (m.dq & MASK_BITS) != 0)


def test_master_flat_of_a_simulated_night_carries_the_mask_and_its_checks(tmp_path):
    from gmoslib.calibration.bias import make_master_bias
    from gmoslib.calibration.flat import make_master_flat
    from gmoslib.io.fitsio import write_frame
    from gmoslib.sim import simulate_preset

    paths = sorted(simulate_preset("small", str(tmp_path / "raw"), seed=5))
    biases = [p for p in paths if "20170613" in p]
    flats = [p for p in paths if "20170702" in p]
    bias = make_master_bias(biases, overscan={}, stack={}, memory_bytes=64 << 20,
                            scratch_dir=str(tmp_path))
    assert "ILLUMMSK" not in bias.phu
    write_frame(str(tmp_path / "bias.fits"), bias)
    flat = make_master_flat(flats, str(tmp_path / "bias.fits"), overscan={}, stack={},
                            memory_bytes=64 << 20, scratch_dir=str(tmp_path))
    assert flat.phu["ILLUMMSK"] == "gmos-n_illum_HAM_44_12amp_v1.fits.gz"
    for k in (0, 1, 10, 11):  # outside the square field (reference 5.3); the dead rows,
        # flagged no-data in every input, are no-data only in the stack
        assert ((flat.exts[k].dq & (dqbits.UNILLUMINATED | dqbits.NO_DATA)) != 0).all()
        assert ((flat.exts[k].dq & dqbits.UNILLUMINATED) != 0).mean() > 0.98
        np.testing.assert_array_equal(flat.exts[k].sci, 1.0)
    for key in ("ILLUMLOW", "ILLUMHI", "FLATBAD"):
        assert isinstance(flat.phu[key], int) and flat.phu[key] >= 0
    bad = sum(int(((e.dq & dqbits.BAD_PIXEL) != 0).sum()) for e in flat.exts)
    assert bad >= flat.phu["FLATBAD"]


@pytest.mark.parametrize("layout_key", sorted(LAYOUT_PHU))
def test_every_camera_has_its_mask_at_2x2(layout_key):
    (masks, label), exts = _masks(layout_key, 2, 2)
    assert label.endswith("_22_" + label.split("_22_")[1]) and "binned" not in label
    assert label.startswith("gmos-" + LAYOUTS[layout_key].instrument[-1].lower())
    assert len(masks) == len(exts)
    frac = sum(int(m.sum()) for m in masks) / sum(m.size for m in masks)
    assert 0.15 < frac < 0.5, frac  # the square field on a 3-CCD rectangle
