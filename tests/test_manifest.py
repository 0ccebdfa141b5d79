"""manifest: a scan of simulated files plus junk; every junk file reported, nothing raised."""

from __future__ import annotations

import os

import pandas as pd
import pytest

from gmoslib.workflow.manifest import COLUMNS, build_manifest, read_manifest, write_manifest

from ._io_helpers import add_junk, small_raw


@pytest.fixture(scope="module")
def scanned(small_preset, tmp_path_factory):
    d = tmp_path_factory.mktemp("mf")
    good = small_raw(small_preset, d)
    junk = add_junk(d, good[-1])
    return d, good, junk, build_manifest(str(d))


def test_good_files(scanned):
    _, good, _, table = scanned
    assert list(table.columns) == list(COLUMNS)
    ok = table[table["usable"]]
    assert sorted(ok["path"]) == sorted(os.path.abspath(p) for p in good)
    kinds = dict(zip(ok["frame"], ok["kind"], strict=True))
    assert [kinds[f"N20170613S{i:04d}"] for i in range(180, 185)] == ["bias"] * 5
    assert [kinds[f"N20170702S{i:04d}"] for i in range(178, 181)] == ["flat"] * 3
    assert [kinds[f"N20170614S{i:04d}"] for i in range(201, 204)] == ["science"] * 3
    sci = ok[ok["kind"] == "science"].iloc[0]
    assert sci["filter"] == "i" and sci["binning"] == "4x4" and sci["exposure_time"] == 10.0
    assert sci["object"] == "starfield" and sci["reason"] == "" and len(sci["sha256"]) == 64
    assert sci["ut_date"] == "2017-06-14" and sci["instrument"] == "GMOS-N"


def test_junk_reported(scanned):
    d, _, junk, table = scanned
    by_name = {os.path.basename(p): (u, r) for p, u, r in
               zip(table["path"], table["usable"], table["reason"], strict=True)}
    assert "ignored.txt" not in by_name
    for name, word in junk.items():
        usable, reason = by_name[name]
        assert not usable, name
        assert word in reason, (name, reason)
    assert len(table) == len(os.listdir(d)) - 2  # minus truth/ and ignored.txt


def test_sorted_and_deterministic(scanned):
    d, _, _, table = scanned
    assert list(table["frame"]) == sorted(table["frame"])
    again = build_manifest(str(d))
    pd.testing.assert_frame_equal(table, again)


def test_round_trip(scanned, tmp_path):
    _, _, _, table = scanned
    path = str(tmp_path / "m.tsv")
    write_manifest(table, path)
    back = read_manifest(path)
    pd.testing.assert_frame_equal(table, back, check_dtype=True)
    assert os.listdir(tmp_path) == ["m.tsv"]
    for c, t in COLUMNS.items():
        assert str(back[c].dtype) == t, c


def test_list_of_paths_and_empty(scanned, tmp_path):
    _, good, _, _ = scanned
    table = build_manifest(good[:2])
    assert len(table) == 2 and table["usable"].all()
    empty = build_manifest(str(tmp_path))
    assert len(empty) == 0 and list(empty.columns) == list(COLUMNS)


def test_read_manifest_rejects_other_tsv(tmp_path):
    p = tmp_path / "x.tsv"
    p.write_text("a\tb\n1\t2\n")
    with pytest.raises(ValueError, match="x.tsv.*missing columns"):
        read_manifest(str(p))


def test_manifest_records_size_and_time_and_reads_older_manifests(scanned, tmp_path):
    d, good, _, table = scanned
    row = table.set_index("path").loc[os.path.abspath(good[0])]
    st = os.stat(good[0])
    assert (row["size_bytes"], row["mtime_ns"], row["inode"]) == (
        st.st_size, st.st_mtime_ns, st.st_ino)
    # a manifest written before the mtime_ns and inode columns: read, the columns empty
    old = tmp_path / "old.tsv"
    write_manifest(table.drop(columns=["mtime_ns", "inode"]), str(old))
    back = read_manifest(str(old))
    assert list(back.columns) == list(COLUMNS) and back["mtime_ns"].isna().all()
    assert back["inode"].isna().all()
