"""Manifest top-up: rows of unchanged files are reused, only new or changed files are read."""

from __future__ import annotations

import os
import shutil

import pandas as pd
import pytest

import gmoslib.workflow.manifest as manifest_module
from gmoslib.sim import simulate_preset
from gmoslib.workflow import manifest_reuse
from gmoslib.workflow.manifest import build_manifest, write_manifest


@pytest.fixture(scope="module")
def raw_night(tmp_path_factory):
    d = tmp_path_factory.mktemp("reuse") / "raw"
    simulate_preset("small", str(d), seed=4)
    return d


@pytest.fixture
def counted(monkeypatch):
    """The files describe_file reads (hashes, headers, pixel checks), in call order."""
    calls: list[str] = []
    real = manifest_module.describe_file

    def describe(path):
        calls.append(os.path.basename(path))
        return real(path)

    monkeypatch.setattr(manifest_module, "describe_file", describe)
    return calls


def test_top_up_reads_only_the_new_file(raw_night, tmp_path, counted):
    raw = tmp_path / "raw"
    shutil.copytree(raw_night, raw, ignore=shutil.ignore_patterns("truth"))
    first = build_manifest(str(raw), threads=2)
    assert len(counted) == 11
    reuse = tmp_path / "manifest.reuse.tsv"
    write_manifest(first, str(tmp_path / "manifest.tsv"))
    manifest_reuse.write_reuse_file(str(tmp_path / "manifest.tsv"), str(reuse))
    shutil.copy(raw / "N20170614S0203.fits", raw / "N20170615S0001.fits")
    counted.clear()
    topped = build_manifest(str(raw), threads=2,
                            previous=manifest_reuse.read_reuse_file(str(reuse)))
    assert counted == ["N20170615S0001.fits"]
    counted.clear()
    fresh = build_manifest(str(raw))
    assert len(counted) == 12
    pd.testing.assert_frame_equal(topped, fresh)


def test_changed_or_duplicate_files_are_read_again(raw_night, tmp_path, counted):
    raw = tmp_path / "raw"
    shutil.copytree(raw_night, raw, ignore=shutil.ignore_patterns("truth"))
    first = build_manifest(str(raw))
    os.utime(raw / "N20170613S0180.fits", ns=(1, 1))  # touched: hashed again
    first.loc[first["frame"] == "N20170613S0181", "reason"] = "duplicate of X.fits.bz2"
    counted.clear()
    build_manifest(str(raw), previous=first)
    assert sorted(counted) == ["N20170613S0180.fits", "N20170613S0181.fits"]


def test_reuse_file_of_other_code_is_not_used(raw_night, tmp_path, monkeypatch):
    table = build_manifest([str(raw_night / "N20170613S0180.fits")])
    path = str(tmp_path / "reuse.tsv")
    write_manifest(table, str(tmp_path / "manifest.tsv"))
    manifest_reuse.write_reuse_file(str(tmp_path / "manifest.tsv"), path)
    back = manifest_reuse.read_reuse_file(path)
    pd.testing.assert_frame_equal(back, table)
    monkeypatch.setattr(manifest_reuse, "describer_digest", lambda: "0123456789abcdef")
    assert manifest_reuse.read_reuse_file(path) is None
    assert manifest_reuse.read_reuse_file(str(tmp_path / "none.tsv")) is None


def test_reuse_file_keeps_names_that_are_not_utf8(tmp_path):
    """A raw file name that is not UTF-8 (kept byte for byte by the manifest) survives the
    reuse file: written and read back, not a crash of the manifest job."""
    from gmoslib.workflow.manifest import read_manifest
    from gmoslib.workflow.manifest_reuse import read_reuse_file, write_reuse_file

    name = os.fsdecode(b"N20170614S0371_\xff.fits")
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / name).write_bytes(b"not FITS")
    (raw / "N20170614S0372.fits").write_bytes(b"not FITS either")
    write_manifest(build_manifest(str(raw)), str(tmp_path / "manifest.tsv"))
    write_reuse_file(str(tmp_path / "manifest.tsv"), str(tmp_path / "reuse.tsv"))
    back = read_reuse_file(str(tmp_path / "reuse.tsv"))
    assert back is not None
    assert sorted(back["path"]) == sorted(read_manifest(str(tmp_path / "manifest.tsv"))["path"])
    assert any(p.endswith(name) for p in back["path"])
