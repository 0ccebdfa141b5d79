"""Foundation: lookups, tags, descriptors, simulator headers, manifest and selection.

Expected values are the reference's numbers (shared/reference/gmos-imaging.md) or real
headers from tests/data/real, never outputs of the code under test.
"""

from __future__ import annotations

import bz2
import datetime as dt
import gzip
import shutil
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits

from gmoslib.instrument import amplifiers, detectors
from gmoslib.instrument.descriptors import DescriptorError, Descriptors, pretty_filter_name
from gmoslib.instrument.detectors import LAYOUTS, raw_amp_sections
from gmoslib.instrument.tags import tags
from gmoslib.io.fitsio import FitsReadError, read_headers, read_raw
from gmoslib.sim import FrameSpec, make_detector_model, simulate_preset, write_raw
from gmoslib.workflow.manifest import build_manifest, read_manifest, write_manifest
from gmoslib.workflow.select import ExpressionError, parse_expression, select_data

from ._descriptors_helpers import BEST_RAW, REAL
from ._io_helpers import small_raw


# ----------------------------------------------------------------------------- lookups
@pytest.mark.parametrize("amp, mode, date, expected", [
    ("BI13-20-4k-1, 1", ("slow", "low"), dt.date(2017, 6, 14), (1.568, 3.99, 446)),
    ("BI13-18-4k-2, 4", ("fast", "high"), dt.date(2020, 1, 1), (5.03, 8.13, 501)),
    ("BI5-36-4k-2, 1", ("slow", "low"), dt.date(2014, 9, 1), (1.652, 4.24, 3218)),
    ("BI5-36-4k-2, 1", ("slow", "low"), dt.date(2016, 1, 1), (1.852, 4.21, 500)),
    ("BI11-41-4k-2, 1", ("slow", "low"), dt.date(2024, 2, 2), (2.038, 4.22, 331)),
    ("e2v 10031-23-05, right", ("slow", "low"), dt.date(2014, 5, 1), (2.31, 3.17, 1176)),
    ("EEV 9273-16-03, right", ("fast", "low"), dt.date(2008, 1, 1), (2.302, 4.9, 645)),
    ("EEV 8194-19-04, left", ("slow", "low"), dt.date(2005, 1, 1), (2.076, 3.69, 579)),
    ("EEV 8194-19-04, left", ("slow", "low"), dt.date(2010, 1, 1), (2.076, 3.85, 667)),
])
def test_amp_lookup_tables(amp, mode, date, expected):
    assert amplifiers.amp_parameters(amp, *mode, date) == pytest.approx(expected)


def test_read_noise_boundary_dates_use_older_table():
    # on 2023-12-14 exactly, gain comes from the new GS table, read noise from the old one
    day = dt.date(2023, 12, 14)
    amp = "BI12-34-4k-1, 1"  # present in both eras with different values
    gain, read_noise, _ = amplifiers.amp_parameters(amp, "slow", "low", day)
    assert (gain, read_noise) == pytest.approx((1.594, 3.53))
    assert amplifiers.amp_parameters(amp, "slow", "low", day + dt.timedelta(1))[1] == \
        pytest.approx(3.39)


@pytest.mark.parametrize("key, xbin, naxis, data, bias", [
    ("GN-Ham", 1, (544, 4224), ["[1:512,1:4224]", "[33:544,1:4224]"],
     ["[513:544,1:4224]", "[1:32,1:4224]"]),
    ("GN-Ham", 2, (288, 2112), ["[1:256,1:2112]", "[33:288,1:2112]"],
     ["[257:288,1:2112]", "[1:32,1:2112]"]),
    ("GN-Ham", 4, (160, 1056), ["[1:128,1:1056]", "[33:160,1:1056]"],
     ["[129:160,1:1056]", "[1:32,1:1056]"]),
    ("GN-EEV", 2, (1056, 2304), ["[33:1056,1:2304]", "[33:1056,1:2304]"],
     ["[1:32,1:2304]", "[1:32,1:2304]"]),
    ("GN-e2vDD", 2, (544, 2304), ["[33:544,1:2304]", "[1:512,1:2304]"],
     ["[1:32,1:2304]", "[513:544,1:2304]"]),
])
def test_raw_sections_match_reference(key, xbin, naxis, data, bias):
    amps = raw_amp_sections(LAYOUTS[key], xbin, xbin)
    for amp, d, b in zip(amps[:2], data, bias, strict=True):
        assert (amp["naxis1"], amp["naxis2"]) == naxis
        assert amp["datasec"].to_string() == d
        assert amp["biassec"].to_string() == b


def test_layouts_match_real_headers():
    cases = {"GN-Ham": "gmos-n_illum_HAM_22_12amp_v1", "GS-Ham": "gmos-s_illum_HAM_22_12amp_v1",
             "GN-e2vDD": "gmos-n_illum_e2v_22_6amp_v1", "GN-EEV": "gmos-n_illum_EEV_22_3amp_v1",
             "GS-EEV": "gmos-s_illum_EEV_22_3amp_v1"}
    for key, name in cases.items():
        path = REAL / f"{name}.fits.bz2"
        phu, exts = read_headers(str(path), check_size=False)
        lay = LAYOUTS[key]
        assert phu["DETID"] == lay.detid
        assert [h["AMPNAME"] for h in exts] == [a.ampname for a in lay.amps]
        assert [h["DETSEC"] for h in exts] == [a.detsec.to_string() for a in lay.amps]
        assert [h["CCDSEC"] for h in exts] == [a.ccdsec.to_string() for a in lay.amps]
        # overscan side: the raw data section is revealed by TRIMSEC
        sections = raw_amp_sections(lay, 2, 2)
        assert [h["TRIMSEC"] for h in exts] == [s["datasec"].to_string() for s in sections]


# ----------------------------------------------------------------------------- tags
def _phu(**cards):
    h = fits.Header()
    base = {"INSTRUME": "GMOS-N", "OBSERVAT": "Gemini-North", "OBSTYPE": "OBJECT",
            "OBJECT": "starfield", "GRATING": "MIRROR", "MASKTYP": 0, "MASKNAME": "None",
            "FRAME": "FK5", "RATRACK": 0.0, "DECTRACK": 0.0, "OBSCLASS": "science"}
    base.update(cards)
    for k, v in base.items():
        h[k] = v
    return h


def test_tags_of_tutorial_frames():
    assert tags(_phu()) == {"GEMINI", "GMOS", "IMAGE", "NORTH", "RAW", "SIDEREAL", "UNPREPARED"}
    assert tags(_phu(OBJECT="Twilight", OBSCLASS="dayCal")) == {
        "CAL", "FLAT", "GEMINI", "GMOS", "IMAGE", "NORTH", "RAW", "SIDEREAL", "TWILIGHT",
        "UNPREPARED"}
    assert tags(_phu(OBSTYPE="BIAS", OBJECT="Bias", FRAME="AZEL_TOPO", AIRMASS=1.0)) == {
        "AT_ZENITH", "AZEL_TARGET", "BIAS", "CAL", "GEMINI", "GMOS", "NORTH", "RAW",
        "UNPREPARED"}


@pytest.mark.parametrize("cards, expected", [
    ({"GRATING": "B600+_G5307", "MASKTYP": 1, "MASKNAME": "1.0arcsec"}, {"SPECT", "LS"}),
    ({"GRATING": "R400+_G5305", "MASKTYP": 1, "MASKNAME": "GN2017A-Q-1-1"}, {"SPECT", "MOS"}),
    ({"GRATING": "B600+_G5307", "MASKTYP": -1, "MASKNAME": "IFU-R"}, {"SPECT", "IFU"}),
    ({"OBSTYPE": "ARC", "GRATING": "B600+_G5307"}, {"ARC", "CAL", "SPECT"}),
    ({"MASKTYP": 1, "MASKNAME": "1.0arcsec"}, {"IMAGE", "THRUSLIT"}),
    ({"PROCBIAS": "x", "OBSTYPE": "BIAS"}, {"BIAS", "PROCESSED"}),
    ({"PROCFRNG": "x"}, {"FRINGE", "PROCESSED"}),
    ({"PREPARE": "x", "GEM-TLM": "x"}, {"PREPARED"}),
])
def test_tags_exclusion_cases(cards, expected):
    t = tags(_phu(**cards))
    assert expected <= t
    if "SPECT" in expected or "ARC" in expected:
        assert "IMAGE" not in t or "THRUSLIT" in t


def test_bias_with_grating_left_in_is_still_a_bias():
    phu, _ = read_headers(str(BEST_RAW) + ".fits.bz2", check_size=False)
    t = tags(phu)
    assert {"BIAS", "CAL", "NORTH", "GMOS"} <= t
    assert not t & {"SPECT", "LS", "IMAGE"}


# ----------------------------------------------------------------------------- descriptors
def test_descriptors_of_real_bias_header():
    phu, exts = read_headers(str(BEST_RAW) + ".fits.bz2", check_size=False)
    d = Descriptors(phu, exts, "real")
    assert d.instrument() == "GMOS-N"
    assert d.observation_type() == "BIAS"
    assert d.binning() == "4x4"
    assert d.detector_name(pretty=True) == "Hamamatsu-N"
    assert d.read_speed_setting() == "slow"  # AMPINTEG 11880
    assert d.gain_setting() == "low"  # raw GAIN ~1.6 < 3
    assert d.read_mode() == "Normal"
    assert d.detector_roi_setting() == "Full Frame"
    assert d.ut_datetime() == dt.datetime(2020, 3, 9, 19, 0, 40, 900000)
    assert d.pixel_scale() == pytest.approx(0.0807 * 4)
    # 4x4: binning product > 2 -> ADC-limited
    assert d.saturation_level() == [65535.0] * 12
    assert d.nbiascontam() == 4


def _sim_headers(key="GN-Ham", xbin=2, ybin=2, kind="science", when=dt.datetime(2017, 6, 14, 9),
                 filter2="i_G0302", roi=None):
    model = make_detector_model(LAYOUTS[key], xbin, ybin, roi)
    from gmoslib.sim.core import extension_headers, primary_header

    spec = FrameSpec(kind, "N20170614S0201", when, 10.0, filter2=filter2,
                     object="starfield" if kind == "science" else "")
    return primary_header(model, spec), extension_headers(model, spec)


@pytest.mark.parametrize("key, xbin, pretty, scale, nbias", [
    ("GN-Ham", 2, "Hamamatsu-N", 0.1614, 4),
    ("GS-Ham", 2, "Hamamatsu-S", 0.1600, 4),
    ("GS-Ham2023", 4, "Hamamatsu-S", 0.3200, 4),
    ("GN-e2vDD", 2, "e2vDD", 0.14576, 5),
    ("GN-EEV", 1, "EEV", 0.0727, 4),
    ("GS-EEV", 2, "EEV", 0.146, 4),
])
def test_descriptors_every_detector(key, xbin, pretty, scale, nbias):
    phu, exts = _sim_headers(key, xbin, xbin)
    d = Descriptors(phu, exts)
    assert d.detector_name(pretty=True) == pretty
    assert d.pixel_scale() == pytest.approx(scale)
    assert d.nbiascontam() == nbias
    assert d.binning() == f"{xbin}x{xbin}"
    assert d.filter_name() == "open1-6&i_G0302"
    assert d.filter_name(pretty=True) == "i"
    assert len(d.gain()) == len(LAYOUTS[key].amps)


def test_saturation_unbinned_hamamatsu_uses_full_well():
    # GS Hamamatsu after the 2015 boards, 1x1, slow/low (reference 2.2, 2.3):
    # 'BI12-34-4k-1, 1' (last extension): 106966 e- / 1.652 e-/ADU = 64749 ADU < 65535
    # 'BI5-36-4k-2, 4' (first extension): 118871 / 1.834 = 64815 ADU
    phu, exts = _sim_headers("GS-Ham", 1, 1, when=dt.datetime(2016, 1, 1, 3))
    sat = Descriptors(phu, exts).saturation_level()
    assert sat[11] == pytest.approx(106966 / 1.652)
    assert sat[0] == pytest.approx(118871 / 1.834)
    # GN Hamamatsu 1x1: 129000 / 1.568 > 65535 -> ADC limited
    phu, exts = _sim_headers("GN-Ham", 1, 1)
    assert Descriptors(phu, exts).saturation_level()[3] == 65535.0


def test_roi_setting_central_stamp():
    from gmoslib.instrument.sections import Section

    y1, y2, x1, x2 = detectors.ROI_SETTINGS["Hamamatsu-N"]["Central Stamp"]
    phu, exts = _sim_headers(roi=Section(x1, x2, y1, y2))
    d = Descriptors(phu, exts)
    assert d.detector_roi_setting() == "Central Stamp"
    assert len(exts) == 2


@pytest.mark.parametrize("f1, f2, pretty", [
    ("open1-6", "i_G0302", "i"), ("open1-6", "open2-8", "open"),
    ("g_G0301", "open2-8", "g"), ("Z_G0322", "open2-8", "Z"),
    ("HeIIC_G0340", "DS920_G0312", "HeIIC&DS920"),
])
def test_pretty_filter_names(f1, f2, pretty):
    assert pretty_filter_name(f1, f2) == pretty


@pytest.mark.parametrize("key, value, match", [
    ("CCDSUM", "2x2", "CCDSUM"), ("DATASEC", "[1:256", "DATASEC"),
])
def test_malformed_extension_keyword_is_named(key, value, match):
    phu, exts = _sim_headers()
    exts[3][key] = value
    d = Descriptors(phu, exts, "bad.fits")
    with pytest.raises(DescriptorError, match=f"bad.fits: extension 4 keyword {match}"):
        d.binning() if key == "CCDSUM" else d.data_section()


def test_missing_phu_keyword_is_named():
    phu, exts = _sim_headers()
    del phu["FILTER2"]
    with pytest.raises(DescriptorError, match="keyword FILTER2: missing"):
        Descriptors(phu, exts, "x.fits").filter_name()


def test_needs_fringe_tables():
    # reference 7: GN/GS Hamamatsu z' and Y yes, i/CaT/Z no; EEV and e2v: i, CaT, Z, z, Y yes
    for f in ("z", "Y"):
        for d in ("EEV", "e2vDD", "Hamamatsu-N", "Hamamatsu-S"):
            assert detectors.needs_fringe(f, d)
    for f in ("i", "CaT", "Z"):
        assert detectors.needs_fringe(f, "EEV") and detectors.needs_fringe(f, "e2vDD")
        assert not detectors.needs_fringe(f, "Hamamatsu-N")
        assert not detectors.needs_fringe(f, "Hamamatsu-S")
    for f in ("g", "r", "u", "open"):
        assert not detectors.needs_fringe(f, "EEV")


# ----------------------------------------------------------------------------- simulator
def _cards(header: fits.Header) -> list[str]:
    return [k for k in header.keys() if k not in ("COMMENT", "HISTORY", "")]


def _real_cards(hdu_index: int) -> list[str]:
    text = (Path(str(BEST_RAW) + ".headers.txt")).read_text().split("===== HDU ")
    block = text[hdu_index + 1].splitlines()[1:]
    return [line[:8].strip() for line in block if line[:8].strip() not in
            ("COMMENT", "HISTORY", "END", "")]


# added by IRAF / AstroData / DRAGONS processing, not in raw files (reference 1.4, 1.5)
PROCESSING_KEYS = {"ORIGIN", "DATE", "IRAF-TLM", "ORIGNAME", "BPMASK", "EXTVER", "EXTNAME"}


def test_simulated_headers_follow_real_raw_headers():
    phu, exts = _sim_headers("GN-Ham", 4, 4, kind="bias", when=dt.datetime(2020, 3, 9, 19))
    real_phu = [k for k in _real_cards(0) if k not in PROCESSING_KEYS | {
        "SIMPLE", "BITPIX", "NAXIS", "EXTEND", "SEQEXVER"}]
    assert _cards(phu) == real_phu
    real_ext = [k for k in _real_cards(1) if k not in PROCESSING_KEYS | {
        "XTENSION", "BITPIX", "NAXIS", "NAXIS1", "NAXIS2", "PCOUNT", "GCOUNT", "BSCALE",
        "BZERO"}]
    assert _cards(exts[0]) == real_ext
    real_hdr = fits.getheader(str(BEST_RAW) + ".fits.bz2", 1)
    for key in ("CCDSEC", "DETSEC", "DATASEC", "BIASSEC", "CCDSIZE", "AMPNAME", "CCDNAME",
                "FRMNAME"):
        assert exts[0][key] == real_hdr[key], key
    real_phu_hdr = fits.getheader(str(BEST_RAW) + ".fits.bz2", 0)
    for key in ("INSTRUME", "DETECTOR", "DETTYPE", "DETID", "DETSIZE", "NCCDS", "NAMPS",
                "AMPINTEG", "DETRO1X", "DETRO1XS", "DETRO1Y", "DETRO1YS", "OBSTYPE"):
        assert phu[key] == real_phu_hdr[key], key


def test_simulated_file_structure_and_determinism(tmp_path):
    model = make_detector_model(LAYOUTS["GN-Ham"], 4, 4)
    spec = FrameSpec("bias", "N20170613S0180", dt.datetime(2017, 6, 13, 19))
    a, b = tmp_path / "a.fits", tmp_path / "b.fits"
    write_raw(str(a), model, spec, seed=7)
    write_raw(str(b), model, spec, seed=7)
    with fits.open(a, do_not_scale_image_data=True) as h:
        assert len(h) == 13
        for ext in h[1:]:
            assert "EXTNAME" not in ext.header
            assert ext.header["BZERO"] == 32768 and ext.header["BITPIX"] == 16
            ny, nx = ext.data.shape
            assert nx == 160 and ny == 1056
    ra, rb = read_raw(str(a)), read_raw(str(b))
    assert all(np.array_equal(x.sci, y.sci) for x, y in zip(ra.exts, rb.exts, strict=True))


@pytest.mark.slow  # the full-size tutorial night (its time is a benchmark figure)
def test_tutorial_preset_names_and_kinds(tmp_path):
    paths = simulate_preset("tutorial", str(tmp_path / "raw"))
    names = sorted(Path(p).name for p in paths)
    expected = ([f"N20170613S{n:04d}.fits" for n in range(180, 185)]
                + [f"N20170614S{n:04d}.fits" for n in range(201, 206)]
                + [f"N20170615S{n:04d}.fits" for n in range(534, 539)]
                + [f"N20170702S{n:04d}.fits" for n in range(178, 183)])
    assert names == expected
    table = build_manifest(str(tmp_path / "raw"))
    assert list(table["kind"].value_counts().sort_index().items()) == [
        ("bias", 10), ("flat", 5), ("science", 5)]
    sci = table[table["kind"] == "science"].iloc[0]
    assert sci["filter"] == "i" and sci["exposure_time"] == 10.0 and sci["binning"] == "2x2"
    flats = table[table["kind"] == "flat"]
    assert sorted(flats["exposure_time"]) == [16.0, 22.0, 28.0, 34.0, 40.0]


# ----------------------------------------------------------------------------- manifest
@pytest.fixture(scope="module")
def messy_dir(small_preset, tmp_path_factory):
    d = tmp_path_factory.mktemp("messy")
    small_raw(small_preset, d)
    good = d / "N20170614S0201.fits"
    (d / "empty.fits").write_bytes(b"")
    (d / "text.fits").write_text("this is not FITS\n")
    (d / "truncated.fits").write_bytes(good.read_bytes()[: 2880 * 30])
    (d / "corrupt.fits.gz").write_bytes(gzip.compress(good.read_bytes())[:5000])
    with open(good, "rb") as src, bz2.open(d / "N20170614S0201.fits.bz2", "wb") as dst:
        shutil.copyfileobj(src, dst)
    hdr = fits.Header()
    hdr["INSTRUME"] = "NIRI"
    fits.PrimaryHDU(np.zeros((4, 4), np.int16), header=hdr).writeto(d / "niri.fits")
    with fits.open(good) as h:
        h[0].header["GRATING"] = "B600+_G5307"
        h[0].header["MASKTYP"] = 1
        h[0].header["MASKNAME"] = "1.0arcsec"
        h.writeto(d / "longslit.fits")
    return d


def test_manifest_reports_every_bad_file(messy_dir):
    table = build_manifest(str(messy_dir))
    reasons = dict(zip(table["frame"] + "|" + table["path"].str.rsplit("/", n=1).str[-1],
                       table["reason"], strict=True))
    by_name = {k.split("|")[1]: v for k, v in reasons.items()}
    assert "empty file" in by_name["empty.fits"]
    assert "not a readable FITS" in by_name["text.fits"]
    assert "truncated" in by_name["truncated.fits"]
    assert "corrupt compressed" in by_name["corrupt.fits.gz"] or \
        "unreadable" in by_name["corrupt.fits.gz"]
    assert "not GMOS" in by_name["niri.fits"]
    assert "not GMOS imaging" in by_name["longslit.fits"]
    assert "duplicate of N20170614S0201.fits" in by_name["N20170614S0201.fits.bz2"]
    assert int(table["usable"].sum()) == 11


def test_manifest_tsv_round_trip(messy_dir, tmp_path):
    import pandas as pd

    table = build_manifest(str(messy_dir))
    write_manifest(table, str(tmp_path / "m.tsv"))
    pd.testing.assert_frame_equal(read_manifest(str(tmp_path / "m.tsv")), table)


def test_read_headers_does_not_read_pixels(tmp_path):
    # the last extension's pixels are cut off: a reader that touched every extension's
    # pixels could not succeed, the headers alone are all there
    path = tmp_path / "cut.fits"
    hdus = [fits.PrimaryHDU()] + [fits.ImageHDU(np.zeros((64, 32), np.uint16))
                                  for _ in range(3)]
    hdus[0].header["OBSTYPE"] = "BIAS"
    for k, hdu in enumerate(hdus[1:]):
        hdu.header["AMPNAME"] = f"amp {k + 1}"
    fits.HDUList(hdus).writeto(path)
    with open(path, "r+b") as f:  # 64 x 32 x 2 bytes: two 2880-byte blocks of pixels
        f.truncate(path.stat().st_size - 2 * 2880)
    with pytest.raises(FitsReadError, match="truncated"):
        read_raw(str(path))
    phu, exts = read_headers(str(path), check_size=False)
    assert phu["OBSTYPE"] == "BIAS"
    assert [h["AMPNAME"] for h in exts] == ["amp 1", "amp 2", "amp 3"]
    assert [(h["NAXIS1"], h["NAXIS2"]) for h in exts] == [(32, 64)] * 3
    with pytest.raises(FitsReadError, match="empty file"):
        (tmp_path / "e.fits").write_bytes(b"")
        read_headers(str(tmp_path / "e.fits"))


# ----------------------------------------------------------------------------- selection
def test_tutorial_selections(messy_dir):
    table = build_manifest(str(messy_dir))
    biases = select_data(table, tags=["BIAS"])
    flats = select_data(table, tags=["FLAT"], expression='filter_name=="i"')
    science = select_data(table, xtags=["CAL"], expression='object=="starfield"')
    assert len(biases) == 5 and all("N20170613" in p for p in biases)
    assert len(flats) == 3 and all("N20170702" in p for p in flats)
    assert len(science) == 3 and all("N20170614" in p for p in science)


@pytest.mark.parametrize("expr, n", [
    ("exposure_time==10", 3),
    ("exposure_time > 15 and not observation_type==BIAS", 3),
    ("ut_date < 2017-06-14", 5),
    ('(filter_name=="i" or filter_name=="g") and ut_date >= 2017-06-14', 6),
    ('binning=="4x4" and detector_name=="Hamamatsu-N"', 11),
])
def test_expressions(messy_dir, expr, n):
    table = build_manifest(str(messy_dir))
    assert len(select_data(table, expression=expr)) == n


@pytest.mark.parametrize("expr, match", [
    ('filter_name=="i" and', "position 20"),
    ("nosuch==1", "unknown descriptor 'nosuch'"),
    ("exposure_time 10", "comparison operator"),
    ("(exposure_time==10", r"expected '\)'"),
])
def test_bad_expressions(expr, match):
    with pytest.raises(ExpressionError, match=match):
        parse_expression(expr)
