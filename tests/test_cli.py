"""The gmos command line: simulate, manifest, select, showd, caldb, provenance."""

from __future__ import annotations

import pytest

from gmoslib.cli import main


@pytest.fixture(scope="module")
def raw(tmp_path_factory):
    d = tmp_path_factory.mktemp("cli") / "raw"
    assert main(["simulate", "--preset", "small", str(d)]) == 0
    return d


def test_manifest_and_select(raw, tmp_path, capsys):
    out = tmp_path / "manifest.tsv"
    assert main(["manifest", str(raw), "-o", str(out)]) == 0
    text = capsys.readouterr().out
    assert "N20170613S0180" in text and "bias" in text
    lst = tmp_path / "flats.txt"
    assert main(["select", "--manifest", str(out), "--tags", "FLAT", "--expr",
                 'filter_name=="i"', "-o", str(lst)]) == 0
    assert len(lst.read_text().split()) == 3
    assert main(["select", *map(str, sorted(raw.glob("*.fits"))), "--xtags", "CAL"]) == 0
    assert len(capsys.readouterr().out.split()) == 3


def test_showd_and_errors(raw, capsys):
    assert main(["showd", "-d", "binning,filter_name,exposure_time",
                 str(raw / "N20170614S0201.fits")]) == 0
    assert "4x4\topen1-6&i_G0302\t10.0" in capsys.readouterr().out
    assert main(["select", str(raw / "N20170614S0201.fits"), "--expr", "nosuch==1"]) == 2
    assert "unknown descriptor 'nosuch'" in capsys.readouterr().err


def test_caldb_and_provenance(raw, tmp_path, capsys):
    from gmoslib.fitsio import write_frame
    from gmoslib.recipes import make_master_bias

    bias = make_master_bias(sorted(str(p) for p in raw.glob("N20170613*.fits")),
                            overscan={}, stack={"reject_method": "varclip"},
                            memory_bytes=2**24, scratch_dir=str(tmp_path))
    path = tmp_path / "N20170613S0180_bias.fits"
    write_frame(str(path), bias)
    index = tmp_path / "caldb.tsv"
    assert main(["caldb", "add", str(path), "--index", str(index)]) == 0
    assert main(["caldb", "list", "--index", str(index)]) == 0
    out = capsys.readouterr().out
    assert "processed_bias" in out and "N20170613S0180" in out
    assert main(["caldb", "remove", str(path), "--index", str(index)]) == 0
    assert "(no calibrations)" in capsys.readouterr().out
    assert main(["provenance", str(path)]) == 0
    out = capsys.readouterr().out
    assert "makeProcessedBias" in out and "N20170613S0184.fits sha256:" in out


def test_errors_are_one_line(raw, tmp_path, capsys):
    assert main(["select"]) == 2
    err = capsys.readouterr().err
    assert err.strip().count("\n") == 0 and "give files or --manifest" in err
    bad = tmp_path / "bad.fits"
    bad.write_text("not fits\n" * 100)
    assert main(["showd", "-d", "binning", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.strip().count("\n") == 0 and "bad.fits" in err and "Traceback" not in err
    assert main(["select", str(raw / "N20170614S0201.fits"), "--expr", "binning=="]) == 2
    assert "position 9" in capsys.readouterr().err
