"""Calibration grouping and association (reference 6), on hand-built manifest tables."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from gmoslib.calibration.association import (
    CalibrationNotFoundError,
    associate,
    associate_path,
    candidates_from_groups,
    fringe_wanted,
    group_calibrations,
    group_science,
    merge_candidates,
)
from gmoslib.io.fitsio import write_frame
from gmoslib.io.frame import Extension, Frame

AREA = "+".join(f"'BI13-20-4k-1, {a}':[{1 + 512 * i}:{512 * (i + 1)},1:4224]"
                for i, a in enumerate((4, 3, 2, 1)))


def row(frame, kind, when, **kw):
    base = {"frame": frame, "path": f"/raw/{frame}.fits", "usable": True, "kind": kind,
            "instrument": "GMOS-N", "detector_name": "BI13-20-4k-1,BI12-09-4k-2,BI13-18-4k-2",
            "detector_x_bin": 2, "detector_y_bin": 2, "binning": "2x2",
            "read_speed_setting": "slow", "gain_setting": "low", "amp_read_area": AREA,
            "roi": "Full Frame", "filter_name": "open1-6&i_G0302", "object": "starfield",
            "qa_state": "Undefined", "ut_datetime": when, "origin": "workflow"}
    if kind == "bias":
        base["filter_name"] = "open1-6&open2-8"
    base.update(kw)
    return base


def tutorial_manifest(**extra):
    rows = [row(f"N20170613S{n:04d}", "bias", f"2017-06-13T19:{n - 170:02d}:00")
            for n in range(180, 185)]
    rows += [row(f"N20170615S{n:04d}", "bias", f"2017-06-15T19:{n - 520:02d}:00")
             for n in range(534, 539)]
    rows += [row(f"N20170702S{n:04d}", "flat", f"2017-07-02T05:{n - 150:02d}:00",
                 object="Twilight") for n in range(178, 183)]
    rows += [row(f"N20170614S{n:04d}", "science", f"2017-06-14T09:{n - 190:02d}:00")
             for n in range(201, 206)]
    return pd.DataFrame(rows)


def candidates(manifest, kind, caltype, gap=5.0):
    groups = group_calibrations(manifest, kind, max_gap_days=gap)
    return candidates_from_groups(manifest, groups, caltype,
                                  "calibrations/" + caltype + "/{name}_" + kind + ".fits")


def target(manifest, frame):
    return manifest.set_index("frame", drop=False).loc[frame]


def test_tutorial_grouping_and_association():
    m = tutorial_manifest()
    biases = group_calibrations(m, "bias")
    assert list(biases) == ["N20170613S0180"] and len(biases["N20170613S0180"]) == 10
    assert list(group_calibrations(m, "flat")) == ["N20170702S0178"]
    assert list(group_science(m)) == ["N20170614S0201"]
    bias_c = candidates(m, "bias", "processed_bias")
    flat_c = candidates(m, "flat", "processed_flat")
    for frame in ("N20170614S0201", "N20170702S0178"):
        assert associate(target(m, frame), bias_c, "processed_bias")["name"] == \
            "N20170613S0180"
    chosen = associate(target(m, "N20170614S0201"), flat_c, "processed_flat")
    assert chosen["path"] == "calibrations/processed_flat/N20170702S0178_flat.fits"


def test_science_sets_of_other_read_modes_are_stacked_apart():
    """The same field and filter read slow and fast: two stacks (reference: the science
    group_id includes the read mode), each named after its own first frame."""
    m = tutorial_manifest()
    fast = [row(f"N20170616S{n:04d}", "science", f"2017-06-16T09:{n - 190:02d}:00",
                read_speed_setting="fast") for n in range(201, 204)]
    m = pd.concat([m, pd.DataFrame(fast)], ignore_index=True)
    groups = group_science(m)
    assert sorted(groups) == ["N20170614S0201", "N20170616S0201"]
    assert len(groups["N20170614S0201"]) == 5 and len(groups["N20170616S0201"]) == 3


def test_two_bias_groups_closest_in_time_wins():
    m = tutorial_manifest()
    groups = group_calibrations(m, "bias", max_gap_days=1.0)
    assert list(groups) == ["N20170613S0180", "N20170615S0534"]
    bias_c = candidates(m, "bias", "processed_bias", gap=1.0)
    assert associate(target(m, "N20170614S0201"), bias_c, "processed_bias")["name"] == \
        "N20170613S0180"  # 14 h before vs 34 h after
    assert associate(target(m, "N20170702S0178"), bias_c, "processed_bias")["name"] == \
        "N20170615S0534"


@pytest.mark.parametrize("change, message", [
    ({"detector_x_bin": 1, "detector_y_bin": 1, "binning": "1x1"}, "detector_x_bin"),
    ({"read_speed_setting": "fast"}, "read_speed_setting=slow"),
    ({"gain_setting": "high"}, "gain_setting=low"),
])
def test_key_mismatch_is_a_named_error(change, message):
    m = tutorial_manifest()
    biases = m[m["kind"] == "bias"].copy()
    for k, v in change.items():
        biases[k] = v
    m2 = pd.concat([biases, m[m["kind"] != "bias"]], ignore_index=True)
    bias_c = candidates(m2, "bias", "processed_bias")
    with pytest.raises(CalibrationNotFoundError, match="no processed_bias for N20170614S0201"):
        associate(target(m2, "N20170614S0201"), bias_c, "processed_bias")
    with pytest.raises(CalibrationNotFoundError, match=message):
        associate(target(m2, "N20170614S0201"), bias_c, "processed_bias")


def test_roi_rules():
    m = tutorial_manifest()
    sci = target(m, "N20170614S0201").copy()
    bias_c = candidates(m, "bias", "processed_bias")
    # full-frame science needs an equal amp_read_area
    sci["amp_read_area"] = AREA.split("+")[0]
    with pytest.raises(CalibrationNotFoundError, match="within 90 days"):
        associate(sci, bias_c, "processed_bias")
    # a sub-ROI science frame is served by a calibration that contains its amplifiers
    sci["roi"] = "Central Stamp"
    assert associate(sci, bias_c, "processed_bias")["name"] == "N20170613S0180"


@pytest.mark.parametrize("caltype, kind, days, ok", [
    ("processed_bias", "bias", 89.99, True), ("processed_bias", "bias", 90.0, False),
    ("processed_flat", "flat", 179.9, True), ("processed_flat", "flat", 180.0, False),
    ("processed_fringe", "fringe", 364.0, True), ("processed_fringe", "fringe", 365.0, False),
])
def test_time_window_edges(caltype, kind, days, ok):
    sci = row("N20170614S0201", "science", "2017-06-14T09:00:00")
    when = dt.datetime(2017, 6, 14, 9) - dt.timedelta(days=days)
    cal = row("CAL", kind, when.isoformat())
    cal.update(name="CAL", caltype=caltype)
    cands = pd.DataFrame([cal])
    if ok:
        assert associate(sci, cands, caltype)["name"] == "CAL"
    else:
        with pytest.raises(CalibrationNotFoundError, match=f"nearest in time with matching "
                                                            f"keys: CAL, {days:.1f} days"):
            associate(sci, cands, caltype)


def test_ties_prefer_processed_on_disk_then_name():
    sci = row("S", "science", "2017-06-14T09:00:00")
    a = {**row("A", "bias", "2017-06-13T09:00:00"), "name": "B1", "caltype": "processed_bias"}
    b = {**row("B", "bias", "2017-06-15T09:00:00"), "name": "A1", "caltype": "processed_bias"}
    assert associate(sci, pd.DataFrame([a, b]), "processed_bias")["name"] == "A1"
    b["origin"] = "workflow"
    a["origin"] = "caldb"
    assert associate(sci, pd.DataFrame([a, b]), "processed_bias")["name"] == "B1"


def test_qa_failed_calibration_never_used():
    m = tutorial_manifest()
    m.loc[m["frame"].str.startswith("N20170613"), "qa_state"] = "Fail"
    groups = group_calibrations(m, "bias")
    assert list(groups) == ["N20170615S0534"]


def test_processed_calibration_on_disk_is_preferred_when_closer():
    m = tutorial_manifest()
    built = candidates(m, "bias", "processed_bias")
    on_disk = pd.DataFrame([{**row("X", "bias", "2017-06-14T08:00:00"), "name": "X",
                             "caltype": "processed_bias", "path": "/old/X_bias.fits",
                             "origin": "caldb"}])
    merged = merge_candidates(built, on_disk, "processed_bias")
    assert associate(target(m, "N20170614S0201"), merged, "processed_bias")["path"] == \
        "/old/X_bias.fits"


def test_workflow_master_found_on_disk_counts_once(tmp_path, monkeypatch):
    """calibration_dirs pointing at the working directory's own calibrations (the Python API
    does that) find the workflow's masters as files: they stay the workflow's products."""
    monkeypatch.chdir(tmp_path)
    m = tutorial_manifest()
    built = candidates(m, "bias", "processed_bias")
    own = built.iloc[0].to_dict()
    own.update(path=str(tmp_path / own["path"]), origin="caldb")
    merged = merge_candidates(built, pd.DataFrame([own]), "processed_bias")
    assert len(merged) == len(built)
    chosen = associate(target(m, "N20170614S0201"), merged, "processed_bias")
    assert chosen["path"] == "calibrations/processed_bias/N20170613S0180_bias.fits"
    assert chosen["origin"] == "workflow"


def test_user_cal_overrides_and_is_checked(tmp_path):
    from astropy.io import fits

    m = tutorial_manifest()
    sci = target(m, "N20170614S0201")
    with pytest.raises(CalibrationNotFoundError, match="does not exist"):
        associate_path(sci, pd.DataFrame(), "processed_bias",
                       {"processed_bias": str(tmp_path / "none.fits")})
    phu = fits.Header()
    for k, v in {"INSTRUME": "GMOS-N", "OBSTYPE": "BIAS", "DETTYPE": "S10892-N",
                 "FILTER1": "open1-6", "FILTER2": "open2-8", "PROCBIAS": "test"}.items():
        phu[k] = v
    hdr = fits.Header()
    hdr["CCDSUM"] = "4 4"
    import numpy as np

    path = tmp_path / "user_bias.fits"
    write_frame(str(path), Frame(phu, [Extension(np.zeros((2, 2), np.float32), None, None,
                                                 hdr)]))
    with pytest.raises(CalibrationNotFoundError, match="binning 4x4 but N20170614S0201 is 2x2"):
        associate_path(sci, pd.DataFrame(), "processed_bias", {"processed_bias": str(path)})
    hdr["CCDSUM"] = "2 2"
    write_frame(str(path), Frame(phu, [Extension(np.zeros((2, 2), np.float32), None, None,
                                                 hdr)]))
    assert associate_path(sci, pd.DataFrame(), "processed_bias",
                          {"processed_bias": str(path)}) == str(path)


def test_no_calibration_at_all_message():
    m = tutorial_manifest()
    with pytest.raises(CalibrationNotFoundError, match="no bias calibration at all"):
        associate(target(m, "N20170614S0201"), pd.DataFrame(), "processed_bias")


def test_fringe_policy():
    assert fringe_wanted("auto", "z", "Hamamatsu-N")
    assert not fringe_wanted("auto", "i", "Hamamatsu-N")
    assert fringe_wanted("always", "g", "Hamamatsu-N")
    assert not fringe_wanted("never", "z", "EEV")
    with pytest.raises(ValueError, match="auto, always or never"):
        fringe_wanted("sometimes", "z", "EEV")
