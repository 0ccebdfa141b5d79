"""The gmos command line: simulate, manifest, select, showd, caldb, provenance, reduce."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from gmoslib.cli import build_parser, main


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
    assert "4x4\ti\t10.0" in capsys.readouterr().out
    assert main(["select", str(raw / "N20170614S0201.fits"), "--expr", "nosuch==1"]) == 2
    assert "unknown descriptor 'nosuch'" in capsys.readouterr().err


def test_caldb_and_provenance(raw, tmp_path, capsys):
    from gmoslib.calibration.bias import make_master_bias
    from gmoslib.io.fitsio import write_frame

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


def test_tags_are_comma_separated_before_or_after_the_files(raw, capsys):
    files = sorted(map(str, raw.glob("*.fits")))
    assert main(["select", "--tags", "BIAS", *files]) == 0
    before = capsys.readouterr().out.split()
    assert main(["select", *files, "--tags", "BIAS"]) == 0
    assert capsys.readouterr().out.split() == before and len(before) == 5
    assert main(["select", "--tags", "FLAT,TWILIGHT", *files, "--xtags", "BIAS,SCIENCE"]) == 0
    assert len(capsys.readouterr().out.split()) == 3
    assert main(["select", "--tags", "BIAS,FLAT", *files]) == 0  # every tag: none has both
    assert capsys.readouterr().out == ""
    assert main(["select", "--xtags", "BIAS", "--xtags", "FLAT", *files]) == 0
    assert len(capsys.readouterr().out.split()) == 3


@pytest.mark.parametrize("name", ["filter_name", "raw_filter_name", "detector_name",
                                  "raw_detector_name", "object", "binning", "exposure_time",
                                  "observation_type"])
def test_showd_prints_what_expr_compares(raw, capsys, name):
    path = str(raw / "N20170614S0201.fits")
    assert main(["showd", "-d", name, path]) == 0
    value = capsys.readouterr().out.splitlines()[1].split("\t")[1]
    assert main(["select", path, "--expr", f'{name}=="{value}"']) == 0
    assert capsys.readouterr().out.split() == [path], (name, value)


def test_showd_short_and_raw_filter_name(raw, capsys):
    assert main(["showd", "-d", "filter_name,raw_filter_name",
                 str(raw / "N20170614S0201.fits")]) == 0
    assert capsys.readouterr().out.splitlines()[1].endswith("\ti\topen1-6&i_G0302")
    with pytest.raises(SystemExit):
        main(["showd", "--help"])
    text = capsys.readouterr().out
    assert "raw_filter_name" in text and "short (pretty)" in text


def test_version_params_list_and_examples(capsys):
    from gmoslib import __version__

    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0 and capsys.readouterr().out.strip() == f"gmos {__version__}"
    assert main(["params"]) == 0
    out = capsys.readouterr().out
    assert "stackFrames" in out and "overscanCorrect" in out
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    assert {"reduce", "select", "showd", "params", "simulate"} <= set(sub.choices)
    for name in sub.choices:
        with pytest.raises(SystemExit):
            main([name, "--help"])
        text = capsys.readouterr().out
        assert "example" in text and f"gmos {name}" in text.split("example")[1], name


def test_reduce_argument_errors(raw, tmp_path, capsys):
    bias = str(raw / "N20170613S0180.fits")
    assert main(["reduce", bias, "-p", "hsigma=5", "-d", str(tmp_path)]) == 2
    assert "STEP:PARAM=VALUE" in capsys.readouterr().err
    assert main(["reduce", bias, "-r", "stack", "-d", str(tmp_path)]) == 2
    assert "unknown recipe" in capsys.readouterr().err
    assert main(["reduce", "@" + str(tmp_path / "none.txt")]) == 2
    assert "none.txt" in capsys.readouterr().err
    assert main(["reduce", bias, str(raw / "N20170614S0201.fits"), "-d", str(tmp_path)]) == 2
    assert "mix calibrations and science" in capsys.readouterr().err
    assert main(["reduce", bias, "--user_cal", "bias:x.fits", "-d", str(tmp_path)]) == 2
    assert "processed_bias" in capsys.readouterr().err


@pytest.mark.slow
def test_reduce_is_the_snakemake_run_and_the_api_reruns_nothing(small_night, tmp_path,
                                                                  capfd, monkeypatch):
    """The tutorial's lines with `reduce` -> `gmos reduce` give the products of the
    snakemake command line byte for byte; the Python API then finds nothing to do in the
    same folder (one plan, one config, parameters written alike)."""
    from gmoslib.workflow.api import reduce, select_data

    raw, night = small_night
    monkeypatch.chdir(tmp_path)
    files = sorted(map(str, raw.glob("*.fits")))
    assert main(["select", *files, "--tags", "BIAS", "-o", "biases.txt"]) == 0
    assert main(["select", *files, "--tags", "FLAT", "--expr", 'filter_name=="i"',
                 "-o", "flats.txt"]) == 0
    assert main(["select", *files, "--xtags", "CAL", "-o", "science.txt"]) == 0
    products = ["calibrations/processed_bias/N20170613S0180_bias.fits",
                "calibrations/processed_flat/N20170702S0178_flat.fits",
                "results/N20170614S0201_stack.fits"]
    for lst, product in zip(("biases", "flats", "science"), products, strict=True):
        assert main(["reduce", f"@{lst}.txt", "--cores", "2"]) == 0
        assert capfd.readouterr().out.split() == [product]
        assert Path(product).read_bytes() == (night / product).read_bytes(), product
    assert main(["reduce", "@science.txt", "-p", "stackFrames:hsigma=5", "--suffix", "_hs5",
                 "--cores", "2"]) == 0
    made = {p: os.stat(p).st_mtime_ns for p in [*products, "results/N20170614S0201_hs5.fits"]}

    kinds = [(["BIAS"], [], None), (["FLAT"], [], 'filter_name=="i"'), ([], ["CAL"], None)]
    for (tags, xtags, expr), product, name in zip(kinds, products, ("bias", "flat", "science"),
                                                  strict=True):
        out = reduce(select_data(files, tags=tags, xtags=xtags, expression=expr), name,
                     workdir=tmp_path, cores=2)
        assert out == [str(tmp_path / product)]
    hs5 = reduce(select_data(files, xtags=["CAL"]), "science", workdir=tmp_path, cores=2,
                 params={"stackFrames": {"hsigma": 5}}, suffix="_hs5")  # an int, as typed
    assert hs5 == [str(tmp_path / "results/N20170614S0201_hs5.fits")]
    assert {p: os.stat(p).st_mtime_ns for p in made} == made  # nothing was made again
    assert list(hs5.qa["stack"]) == ["N20170614S0201_hs5"]
    assert len(hs5.qa_frames) == 3
