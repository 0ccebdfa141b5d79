"""Lookup tables and detector layouts against the reference (shared/reference/gmos-imaging.md
sections 1, 2, 5.12, 5.14, 7; section 2.2 copied to tests/data) and the real GMOS headers in
tests/data/real."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from astropy.io import fits

from gmoslib.instrument import amplifiers, detectors
from gmoslib.instrument.amplifiers import amp_parameters
from gmoslib.instrument.detectors import LAYOUTS, raw_amp_sections
from gmoslib.instrument.sections import Section, parse_section

from ._descriptors_helpers import REFERENCE, real_files

D = dt.date
GN_HAM_DETID = "BI13-20-4k-1,BI12-09-4k-2,BI13-18-4k-2"


# ----------------------------------------------------------------------------- amp tables
@pytest.mark.parametrize("amp, mode, date, expected", [
    # GN Hamamatsu (reference 2.2, first table)
    ("BI13-20-4k-1, 1", ("slow", "low"), D(2017, 6, 14), (1.568, 3.99, 446)),
    ("BI13-20-4k-1, 4", ("fast", "low"), D(2020, 3, 9), (2.01, 8.02, 499)),
    ("BI12-09-4k-2, 3", ("fast", "high"), D(2024, 1, 1), (5.13, 8.91, 500)),
    ("BI13-18-4k-2, 2", ("slow", "high"), D(2019, 1, 1), (1.0, 0.0, 0.0)),
    # GS Hamamatsu original CCDs, 2014 boards
    ("BI11-33-4k-1, 3", ("fast", "low"), D(2014, 9, 1), (1.333, 5.658, 2342)),
    ("BI12-34-4k-1, 4", ("fast", "high"), D(2015, 1, 1), (4.588, 6.574, 1617)),
    # GS Hamamatsu after the 2015 boards
    ("BI5-36-4k-2, 2", ("slow", "low"), D(2019, 5, 27), (1.878, 4.24, 897)),
    ("BI12-34-4k-1, 3", ("fast", "low"), D(2016, 1, 1), (1.478, 7.88, 1445)),
    # GS Hamamatsu 2023 CCDs
    ("BI13-19-4k-3, 2", ("slow", "low"), D(2024, 2, 2), (1.745, 3.68, 108)),
    ("BI12-34-4k-1, 4", ("fast", "low"), D(2024, 2, 2), (1.549, 9.57, 920)),
    # GN e2vDD (in both the 2006-2015 and 2015-2017 dicts)
    ("e2v 10031-01-03, right", ("slow", "high"), D(2012, 1, 1), (4.39, 1.5, 551)),
    ("e2v 10031-18-04, left", ("fast", "high"), D(2016, 6, 1), (5.16, 6.4, 787)),
    # EEV, 2006-2015 and before 2006
    ("EEV 9273-20-04, left", ("fast", "high"), D(2008, 1, 1), (5.275, 11.0, 533)),
    ("EEV 2037-06-03, right", ("slow", "low"), D(2010, 1, 1), (2.403, 4.01, 572)),
    ("EEV 2037-06-03, right", ("slow", "low"), D(2005, 1, 1), (2.403, 4.28, 566)),
    ("EEV 8261-07-04, right", ("fast", "high"), D(2004, 1, 1), (4.833, 6.2, 784)),
])
def test_amp_parameters(amp, mode, date, expected):
    assert amp_parameters(amp, *mode, date) == pytest.approx(expected)


def test_era_boundary_2023_12_14_asymmetry():
    # reference 2.1: on the boundary day gain/bias are new (>=), read noise still old (>)
    amp = "BI12-34-4k-1, 1"  # a GS CCD kept in the 2023 swap: values differ between eras
    assert amp_parameters(amp, "slow", "low", D(2023, 12, 13)) == pytest.approx(
        (1.652, 3.53, 795))
    assert amp_parameters(amp, "slow", "low", D(2023, 12, 14)) == pytest.approx(
        (1.594, 3.53, 514))
    assert amp_parameters(amp, "slow", "low", D(2023, 12, 15)) == pytest.approx(
        (1.594, 3.39, 514))


def test_era_boundary_2017_02_24_is_ge_for_gain_gt_for_read_noise():
    assert amplifiers._tables_for(D(2017, 2, 24), for_read_noise=False) == ("GN_HAM", "GS_HAM_2015")
    assert amplifiers._tables_for(D(2017, 2, 24), for_read_noise=True) == ("GS_HAM_2015", "GN_E2V")
    assert amplifiers._tables_for(D(2017, 2, 25), for_read_noise=True) == ("GN_HAM", "GS_HAM_2015")
    # GN Hamamatsu is only in the newer dict; on the boundary day DRAGONS would find no read
    # noise -- we fall back to the table that knows the amplifier.
    assert amp_parameters("BI13-20-4k-1, 1", "slow", "low", D(2017, 2, 24)) == pytest.approx(
        (1.568, 3.99, 446))


@pytest.mark.parametrize("amp, before, on", [
    # 2015-08-26 and 2006-08-31 are '>=' for gain, read noise and bias alike
    ("BI5-36-4k-2, 1", (1.652, 4.24, 3218), (1.852, 4.21, 500)),
    ("EEV 8194-19-04, left", (2.076, 3.69, 579), (2.076, 3.85, 667)),
])
def test_era_boundaries_2015_and_2006_are_inclusive(amp, before, on):
    day = D(2015, 8, 26) if amp.startswith("BI") else D(2006, 8, 31)
    assert amp_parameters(amp, "slow", "low", day - dt.timedelta(days=1)) == pytest.approx(
        before)
    assert amp_parameters(amp, "slow", "low", day) == pytest.approx(on)


def test_unknown_amp_and_mode_raise():
    with pytest.raises(KeyError, match="BI99-99"):
        amp_parameters("BI99-99-4k-1, 1", "slow", "low", D(2020, 1, 1))
    with pytest.raises(ValueError, match="medium"):
        amp_parameters("BI13-20-4k-1, 1", "medium", "low", D(2020, 1, 1))


_TABLE_TITLES = {
    "**GMOS-N Hamamatsu (UT": "GN_HAM", "**GMOS-S Hamamatsu, original CCDs, 2014": "GS_HAM_2014",
    "**GMOS-S Hamamatsu, original CCDs after": "GS_HAM_2015",
    "**GMOS-S Hamamatsu, 2023": "GS_HAM_2023", "**GMOS-N e2v deep": "GN_E2V",
    "**EEV (GMOS-N and GMOS-S), UT 2006": "EEV_2006",
    "**EEV (GMOS-N and GMOS-S), before": "EEV_PRE2006",
}


def test_every_table_number_matches_the_reference_text():
    """Parse the seven tables of reference 2.2 and compare every number."""
    tables: dict[str, dict] = {}
    current = None
    for line in REFERENCE.read_text().splitlines():
        for title, name in _TABLE_TITLES.items():
            if line.startswith(title):
                current = tables.setdefault(name, {})
        if line.startswith("### 2.3"):
            break
        m = re.match(r"\| `([^`]+)` \|(.*)\|\s*$", line)
        if m and current is not None:
            current[m.group(1)] = [tuple(float(v) for v in cell.split("·"))
                                   for cell in m.group(2).split("|")]
    assert set(tables) == set(amplifiers._AMP_TABLES)
    for name, rows in tables.items():
        assert set(rows) == set(amplifiers._AMP_TABLES[name]), name
        for amp, cells in rows.items():
            # reference column order: slow/low, fast/low, fast/high, slow/high
            assert [tuple(c) for c in amplifiers._AMP_TABLES[name][amp]] == cells, (name, amp)
    assert amplifiers.READ_MODES == (("slow", "low"), ("fast", "low"), ("fast", "high"),
                                  ("slow", "high"))


# ----------------------------------------------------------------------------- other tables
def test_full_well_table():
    fw = amplifiers.FULL_WELL
    assert amplifiers.GMOS_THRESHOLDS is fw
    assert set(fw) == {"GMOS-N + Hamamatsu", "GMOS + Hamamatsu", "GMOS + Hamamatsu_new",
                       "GMOS + Ham-2", "GMOS + e2v DD CCD42-90"}
    assert fw["GMOS-N + Hamamatsu"]["BI13-20-4k-1, 3"] == 129000
    assert [fw["GMOS-N + Hamamatsu"][f"BI12-09-4k-2, {a}"] for a in (1, 2, 3, 4)] == [
        124000, 121000, 123000, 123000]
    assert [fw["GMOS-N + Hamamatsu"][f"BI13-18-4k-2, {a}"] for a in (1, 2, 3, 4)] == [
        123000, 125000, 124000, 126000]
    assert fw["GMOS + Hamamatsu"]["BI12-34-4k-1, 2"] == pytest.approx(98963.6)
    assert fw["GMOS + Hamamatsu"]["BI5-36-4k-2, 4"] == 106558
    assert fw["GMOS + Hamamatsu_new"]["BI11-33-4k-1, 3"] == 125719
    assert fw["GMOS + Hamamatsu_new"]["BI12-34-4k-1, 4"] == 118424
    assert fw["GMOS + Ham-2"]["BI11-41-4k-2, 1"] == 131823
    assert fw["GMOS + Ham-2"]["BI13-19-4k-3, 2"] == 113239
    assert fw["GMOS + e2v DD CCD42-90"]["e2v 10031-18-04, right"] == 109200
    assert fw["GMOS + e2v DD CCD42-90"]["e2v 10031-01-03, left"] == 115500
    assert all(len(v) == 12 for k, v in fw.items() if "e2v" not in k)


def test_small_tables():
    assert detectors.PIXEL_SCALE == {
        ("GMOS-N", "EEV"): 0.0727, ("GMOS-N", "e2vDD"): 0.07288,
        ("GMOS-N", "Hamamatsu-N"): 0.0807, ("GMOS-S", "EEV"): 0.073,
        ("GMOS-S", "Hamamatsu-S"): 0.0800}
    assert detectors.DETTYPE_PRETTY == {"SDSU II CCD": "EEV", "SDSU II e2v DD CCD42-90": "e2vDD",
                                      "S10892": "Hamamatsu-S", "S10892-N": "Hamamatsu-N"}
    assert detectors.NBIASCONTAM == {"EEV": 4, "e2vDD": 5, "Hamamatsu-N": 4, "Hamamatsu-S": 4}
    assert detectors.TILE_GAP == {"Hamamatsu-N": 67, "Hamamatsu-S": 61, "EEV": 37, "e2vDD": 37}
    assert detectors.HAMAMATSU_DEAD_ROWS == 48
    assert detectors.OVERSCAN_COLUMNS == 32


@pytest.mark.parametrize("roi, name", [
    ((0, 4224, 0, 6144), "Full Frame"), ((0, 4608, 0, 6144), "Full Frame"),
    ((0, 4224, 2048, 4096), "CCD2"), ((1624, 2648, 0, 6144), "Central Spectrum"),
    ((1986, 2286, 2922, 3222), "Central Stamp"), ((1986, 2294, 2922, 3222), "Central Stamp"),
    ((0, 4224, 0, 2048), "Custom"), ((1986, 2286, 2920, 3222), "Custom"),
])
def test_roi_names(roi, name):
    assert detectors.roi_name(roi) == name


def test_fringe_control_pairs_gn_hamamatsu():
    pairs = detectors.FRINGE_CONTROL_PAIRS[GN_HAM_DETID]
    assert len(pairs) == 20
    assert pairs[0] == ((1582, 3800), (1615, 3822))
    assert pairs[9] == ((3165, 1560), (3066, 1560))
    assert pairs[-1] == ((4868, 1914), (4928, 1908))
    # 3 pairs on CCD1, 13 on CCD2, 4 on CCD3 (reference 5.12); both points on the same CCD
    ccd = [(p[0] // 2048, t[0] // 2048) for p, t in pairs]
    assert all(a == b for a, b in ccd)
    assert [c[0] for c in ccd].count(0) == 3 and [c[0] for c in ccd].count(2) == 4


@pytest.mark.parametrize("det, fringe", [
    # reference 7 table; filters bluer than i never
    ("EEV", {"i", "CaT", "Z", "z", "Y"}), ("e2vDD", {"i", "CaT", "Z", "z", "Y"}),
    ("Hamamatsu-N", {"z", "Y"}), ("Hamamatsu-S", {"z", "Y"}),
])
def test_needs_fringe(det, fringe):
    for f in ("u", "g", "r", "i", "CaT", "Z", "z", "Y", "open", "Ha", "i&CaT"):
        assert detectors.needs_fringe(f, det) == (f in fringe), (f, det)


# ----------------------------------------------------------------------------- layouts
def test_layout_keys_and_identity():
    expect = {
        "GN-EEV": ("GMOS-N", "SDSU II CCD", "EEV", "GMOS + Red1", 1, 3),
        "GN-e2vDD": ("GMOS-N", "SDSU II e2v DD CCD42-90", "e2vDD", "GMOS + e2v DD CCD42-90", 2, 6),
        "GN-Ham": ("GMOS-N", "S10892-N", "Hamamatsu-N", "GMOS-N + Hamamatsu", 4, 12),
        "GS-EEV": ("GMOS-S", "SDSU II CCD", "EEV", "GMOS + Blue1 + new CCD1", 1, 3),
        "GS-Ham": ("GMOS-S", "S10892", "Hamamatsu-S", "GMOS + Hamamatsu_new", 4, 12),
        "GS-Ham2023": ("GMOS-S", "S10892", "Hamamatsu-S", "GMOS + Ham-2", 4, 12),
    }
    for key, (inst, dettype, pretty, detector, namps, n) in expect.items():
        lay = LAYOUTS[key]
        assert (lay.instrument, lay.dettype, lay.pretty, lay.detector, lay.namps_per_ccd,
                len(lay.amps)) == (inst, dettype, pretty, detector, namps, n), key
        assert lay.pixel_scale == detectors.PIXEL_SCALE[(inst, pretty)]
        assert lay.observatory == ("Gemini-North" if inst == "GMOS-N" else "Gemini-South")
        assert [other for other in LAYOUTS.values() if other.detid == lay.detid] == [lay]
    assert LAYOUTS["GS-EEV-early"].detid == "EEV8056-20-03EEV8194-19-04EEV8261-07-04"
    assert LAYOUTS["GS-EEV"].detid == "EEV2037-06-03EEV8194-19-04EEV8261-07-04"
    assert LAYOUTS["GS-Ham2023"].detid == "BI11-41-4k-2,BI13-19-4k-3,BI12-34-4k-1"


def test_gs_hamamatsu_detector_keyword_by_date():
    lay = LAYOUTS["GS-Ham"]
    assert detectors.detector_keyword(lay, D(2014, 7, 20)) == "GMOS + Hamamatsu"
    assert detectors.detector_keyword(lay, D(2015, 8, 25)) == "GMOS + Hamamatsu"
    assert detectors.detector_keyword(lay, D(2015, 8, 26)) == "GMOS + Hamamatsu_new"
    assert detectors.detector_keyword(LAYOUTS["GN-Ham"], D(2017, 1, 1)) == "GMOS-N + Hamamatsu"


def test_hamamatsu_layout_reference_1_2():
    lay = LAYOUTS["GN-Ham"]
    names = [a.ampname for a in lay.amps]
    assert names[:4] == [f"BI13-20-4k-1, {n}" for n in (4, 3, 2, 1)]
    assert names[4:8] == [f"BI12-09-4k-2, {n}" for n in (4, 3, 2, 1)]
    assert names[8:] == [f"BI13-18-4k-2, {n}" for n in (4, 3, 2, 1)]
    assert [a.overscan_side for a in lay.amps] == ["right", "left"] * 6
    assert [a.ccd_index for a in lay.amps] == [0] * 4 + [1] * 4 + [2] * 4
    assert [a.detsec.to_string() for a in lay.amps][4:] == [
        f"[{x + 1}:{x + 512},1:4224]" for x in range(2048, 6144, 512)]
    assert [a.ccdsec.to_string() for a in lay.amps][:4] == [
        "[1:512,1:4224]", "[513:1024,1:4224]", "[1025:1536,1:4224]", "[1537:2048,1:4224]"]
    assert [a.ccdsec for a in lay.amps][8:] == [a.ccdsec for a in lay.amps][:4]
    gs = [a.ampname for a in LAYOUTS["GS-Ham"].amps]
    assert gs[0] == "BI5-36-4k-2, 4" and gs[5] == "BI11-33-4k-1, 3" and gs[11] == "BI12-34-4k-1, 1"
    assert LAYOUTS["GS-Ham2023"].amps[4].ccdname == "BI13-19-4k-3"


def test_e2v_and_eev_layouts_reference_1_3():
    e2v = LAYOUTS["GN-e2vDD"]
    assert [a.ampname for a in e2v.amps] == [
        "e2v 10031-23-05, right", "e2v 10031-23-05, left", "e2v 10031-01-03, right",
        "e2v 10031-01-03, left", "e2v 10031-18-04, left", "e2v 10031-18-04, right"]
    assert [a.detsec.to_string() for a in e2v.amps] == [
        f"[{a}:{b},1:4608]" for a, b in ((1025, 2048), (1, 1024), (3073, 4096), (2049, 3072),
                                          (4097, 5120), (5121, 6144))]
    assert [a.overscan_side for a in e2v.amps] == ["left", "right", "left", "right", "right",
                                                   "left"]
    assert e2v.amps[0].ccdname == "e2v DD ML2AR CCD42-90-1-F43 10031-23-05"
    gn = LAYOUTS["GN-EEV"]
    assert [a.ampname for a in gn.amps] == ["EEV 9273-16-03, right", "EEV 9273-20-04, right",
                                            "EEV 9273-20-03, left"]
    assert [a.overscan_side for a in gn.amps] == ["left", "left", "right"]
    gs = LAYOUTS["GS-EEV"]
    assert [a.ampname for a in gs.amps] == ["EEV 2037-06-03, left", "EEV 8194-19-04, left",
                                            "EEV 8261-07-04, right"]
    assert [a.overscan_side for a in gs.amps] == ["right", "right", "left"]
    assert LAYOUTS["GS-EEV-early"].amps[0].ampname == "EEV 8056-20-03, left"


# ----------------------------------------------------------------------------- raw sections
@pytest.mark.parametrize("b, naxis, data, bias", [
    # reference 1.2 table: ext 1 (amp 4) / ext 2 (amp 3)
    (1, (544, 4224), ["[1:512,1:4224]", "[33:544,1:4224]"], ["[513:544,1:4224]", "[1:32,1:4224]"]),
    (2, (288, 2112), ["[1:256,1:2112]", "[33:288,1:2112]"], ["[257:288,1:2112]", "[1:32,1:2112]"]),
    (4, (160, 1056), ["[1:128,1:1056]", "[33:160,1:1056]"], ["[129:160,1:1056]", "[1:32,1:1056]"]),
])
def test_hamamatsu_raw_sections(b, naxis, data, bias):
    for key in ("GN-Ham", "GS-Ham", "GS-Ham2023"):
        amps = raw_amp_sections(LAYOUTS[key], b, b)
        assert len(amps) == 12
        for k, amp in enumerate(amps):
            assert (amp["naxis1"], amp["naxis2"]) == naxis
            assert amp["datasec"].to_string() == data[k % 2]
            assert amp["biassec"].to_string() == bias[k % 2]
            assert amp["detsec"] == LAYOUTS[key].amps[k].detsec
            assert amp["ccdsec"] == LAYOUTS[key].amps[k].ccdsec


def test_eev_and_e2v_raw_sections():
    gn = raw_amp_sections(LAYOUTS["GN-EEV"], 2, 2)
    assert [(a["naxis1"], a["naxis2"]) for a in gn] == [(1056, 2304)] * 3
    assert [a["biassec"].to_string() for a in gn] == ["[1:32,1:2304]", "[1:32,1:2304]",
                                                      "[1025:1056,1:2304]"]
    gn1 = raw_amp_sections(LAYOUTS["GN-EEV"], 1, 1)
    assert [a["datasec"].to_string() for a in gn1] == ["[33:2080,1:4608]", "[33:2080,1:4608]",
                                                       "[1:2048,1:4608]"]
    assert gn1[2]["biassec"].to_string() == "[2049:2080,1:4608]"
    e2v1 = raw_amp_sections(LAYOUTS["GN-e2vDD"], 1, 1)
    assert [a["datasec"].to_string()[:8] for a in e2v1] == [
        "[33:1056", "[1:1024,", "[33:1056", "[1:1024,", "[1:1024,", "[33:1056"]
    assert [a["biassec"].to_string() for a in e2v1][:2] == ["[1:32,1:4608]",
                                                           "[1025:1056,1:4608]"]
    e2v2 = raw_amp_sections(LAYOUTS["GN-e2vDD"], 2, 2)
    assert {a["naxis1"] for a in e2v2} == {544} and {a["naxis2"] for a in e2v2} == {2304}
    assert {a["biassec"].to_string() for a in e2v2} == {"[1:32,1:2304]", "[513:544,1:2304]"}


def test_unequal_binning():
    amps = raw_amp_sections(LAYOUTS["GN-Ham"], 1, 2)
    assert (amps[0]["naxis1"], amps[0]["naxis2"]) == (544, 2112)
    assert amps[1]["datasec"] == Section(32, 544, 0, 2112)


def test_central_stamp_roi():
    # GN Hamamatsu Central Stamp (1986, 2294, 2922, 3222): amps 'BI12-09-4k-2, 3' (DETSEC
    # x 2560-3072) and 'BI12-09-4k-2, 2' (3072-3584), 150 unbinned columns each
    y1, y2, x1, x2 = detectors.ROI_SETTINGS["Hamamatsu-N"]["Central Stamp"]
    amps = raw_amp_sections(LAYOUTS["GN-Ham"], 2, 2, Section(x1, x2, y1, y2))
    assert [a["ampname"] for a in amps] == ["BI12-09-4k-2, 3", "BI12-09-4k-2, 2"]
    assert [a["detsec"] for a in amps] == [Section(2922, 3072, 1986, 2294),
                                           Section(3072, 3222, 1986, 2294)]
    assert [a["ccdsec"] for a in amps] == [Section(874, 1024, 1986, 2294),
                                           Section(1024, 1174, 1986, 2294)]
    assert [(a["naxis1"], a["naxis2"]) for a in amps] == [(107, 154), (107, 154)]
    assert amps[0]["datasec"] == Section(32, 107, 0, 154)  # amp 3: overscan on the left
    assert amps[1]["datasec"] == Section(0, 75, 0, 154)  # amp 2: overscan on the right
    assert amps[1]["biassec"] == Section(75, 107, 0, 154)
    assert all(a["ccd_index"] == 1 for a in amps)


def test_roi_errors():
    with pytest.raises(ValueError, match="not a multiple of the binning 4x4"):
        raw_amp_sections(LAYOUTS["GN-Ham"], 4, 4, Section(2922, 3222, 1986, 2294))
    with pytest.raises(ValueError, match="overlaps no amplifier"):
        raw_amp_sections(LAYOUTS["GN-Ham"], 1, 1, Section(7000, 7100, 0, 10))


# ----------------------------------------------------------------------------- real headers
REAL_FILES = real_files()


def _layout_key(phu) -> str:
    for key, lay in LAYOUTS.items():
        if lay.detid == phu["DETID"]:
            return key
    raise AssertionError(phu["DETID"])


@pytest.mark.parametrize("path", REAL_FILES, ids=lambda p: p.name.split(".")[0])
def test_layouts_match_real_headers(path):
    with fits.open(path) as hdul:
        phu = hdul[0].header
        exts = [h.header for h in hdul[1:]]
    lay = LAYOUTS[_layout_key(phu)]
    assert phu["DETTYPE"].strip() == lay.dettype
    assert phu["INSTRUME"].strip() == lay.instrument
    if lay.key != "GS-Ham":
        assert phu["DETECTOR"] == lay.detector
    else:
        date = D.fromisoformat(phu["DATE-OBS"])
        assert phu["DETECTOR"] == detectors.detector_keyword(lay, date)
    assert phu["NAMPS"] == lay.namps_per_ccd
    names = [h["AMPNAME"] for h in exts]
    if path.name.startswith("gmos-s_illum_HAM_44_12amp_v1__e1b89464"):
        # README: a GN bias PHU on top of GS Hamamatsu extension headers
        lay = LAYOUTS["GS-Ham"]
    assert names == [a.ampname for a in lay.amps]
    assert [h["CCDNAME"] for h in exts] == [a.ccdname for a in lay.amps]
    xbin, ybin = (int(v) for v in exts[0]["CCDSUM"].split())
    raw = raw_amp_sections(lay, xbin, ybin)
    for h, a in zip(exts, raw, strict=True):
        if parse_section(h["DETSEC"]).ny != a["detsec"].ny:
            continue  # older masks with the bottom 48 rows cut (README of the data folder)
        assert parse_section(h["DETSEC"]) == a["detsec"]
        assert parse_section(h["CCDSEC"]) == a["ccdsec"]
        bias = parse_section(h.get("BIASSEC", "[1:1,1:1]"))
        if bias.nx == 32:  # one GS EEV 1x1 mask has a hand-narrowed BIASSEC (reference 1.3)
            assert bias == a["biassec"]
        if "TRIMSEC" in h:  # the raw data section (reference 1.2)
            assert parse_section(h["TRIMSEC"]) == a["datasec"]
