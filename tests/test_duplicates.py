"""Duplicates: the same exposure under two names (same bytes, or same DATALAB and start time
with other bytes) is used once, and the plan (masters, science groups) is unchanged."""

from __future__ import annotations

import os
import shutil

import pandas as pd
import pytest
from astropy.io import fits

from gmoslib.calibration import association as calib
from gmoslib.workflow.duplicates import datalab_conflicts, mark_duplicates
from gmoslib.workflow.manifest import build_manifest, skipped_summary

from ._io_helpers import small_raw


def _table(rows):
    cols = ("frame", "path", "usable", "reason", "sha256", "data_label", "ut_datetime")
    return pd.DataFrame([dict(zip(cols, r, strict=True)) for r in rows])


def test_first_file_name_wins_for_every_kind_of_copy():
    t = _table([
        ("N1", "/r/N1.fits", True, "", "aa", "L-1", "2020-01-01T01:00:00"),
        ("N1", "/r/N1.fits.bz2", True, "", "bb", "L-1", "2020-01-01T01:00:00"),
        ("N2", "/r/N2.fits", True, "", "cc", "L-2", "2020-01-01T02:00:00"),
        ("N3", "/r/N3.fits", True, "", "aa", "L-1", "2020-01-01T01:00:00"),
        ("N4", "/r/N4.fits", True, "", "dd", "L-2", "2020-01-01T02:00:00"),
        ("N5", "/r/N5.fits", True, "", "ee", "L-2", "2020-01-01T05:00:00"),
        ("N6", "/r/N6.fits", False, "unreadable: x", "cc", "", ""),
    ])
    out = mark_duplicates(t)
    assert list(out["usable"]) == [True, False, True, False, False, True, False]
    reasons = list(out["reason"])
    assert reasons[1] == "duplicate of N1.fits"
    assert reasons[3].startswith("duplicate of N1.fits (same content")
    assert reasons[4].startswith("duplicate of N2.fits (same DATALAB L-2")
    assert reasons[6] == "unreadable: x"  # an unusable row keeps its own reason
    assert list(t["usable"]).count(True) == 6  # the input is not changed
    # the same DATALAB at another time: kept, and reported
    lines = datalab_conflicts(out)
    assert len(lines) == 1 and "L-2" in lines[0] and "N5.fits" in lines[0]


@pytest.fixture(scope="module")
def raw_with_copies(tmp_path_factory, small_preset):
    """(plain manifest, manifest with copies, names of the copies)."""
    plain = tmp_path_factory.mktemp("plain")
    small_raw(small_preset, plain)
    with_copies = tmp_path_factory.mktemp("copies")
    for name in os.listdir(plain):
        if name.endswith(".fits"):
            shutil.copy(plain / name, with_copies / name)
    # a bias under a later name, byte for byte
    shutil.copy(plain / "N20170613S0182.fits", with_copies / "N20170613S0190.fits")
    # a science frame delivered again after a header edit: same DATALAB and time, other bytes
    with fits.open(plain / "N20170614S0202.fits") as hdul:
        hdul[0].header["RAWPIREQ"] = "YES"
        hdul[0].header["HISTORY"] = "re-delivered"
        hdul.writeto(with_copies / "N20170614S0299.fits")
    # a twilight under a later name
    shutil.copy(plain / "N20170702S0179.fits", with_copies / "N20170702S0189.fits")
    copies = {"N20170613S0190.fits": "N20170613S0182.fits",
              "N20170614S0299.fits": "N20170614S0202.fits",
              "N20170702S0189.fits": "N20170702S0179.fits"}
    return build_manifest(str(plain)), build_manifest(str(with_copies)), copies


def test_copies_are_named_and_not_used(raw_with_copies):
    _, table, copies = raw_with_copies
    by_name = {os.path.basename(p): (u, r) for p, u, r in
               zip(table["path"], table["usable"], table["reason"], strict=True)}
    for copy, original in copies.items():
        usable, reason = by_name[copy]
        assert not usable
        assert reason.startswith(f"duplicate of {original}"), reason
        assert by_name[original] == (True, "")
    assert "same DATALAB" in by_name["N20170614S0299.fits"][1]
    assert "same content" in by_name["N20170613S0190.fits"][1]
    line = skipped_summary(table)
    assert line.startswith("gmos-snake: 3 of ")
    for copy, original in copies.items():
        assert f"{copy} ({original} used)" in line


def test_copies_do_not_change_the_plan(raw_with_copies):
    plain, table, _ = raw_with_copies
    for kind in ("bias", "flat"):
        assert calib.group_calibrations(table, kind) == calib.group_calibrations(plain, kind)
    assert calib.group_science(table) == calib.group_science(plain)
    assert len(calib.group_calibrations(table, "bias")["N20170613S0180"]) == 5
    assert len(calib.group_science(table)) == 1
    for kind, build in (("processed_bias", "bias"), ("processed_flat", "flat")):
        groups = calib.group_calibrations(table, build)
        got = calib.candidates_from_groups(table, groups, kind, "x/{name}.fits")
        want = calib.candidates_from_groups(plain, calib.group_calibrations(plain, build),
                                            kind, "x/{name}.fits")
        local = ["mtime_ns", "inode"]  # of the files in each directory
        pd.testing.assert_frame_equal(got.drop(columns=local).reset_index(drop=True),
                                      want.drop(columns=local).reset_index(drop=True))
