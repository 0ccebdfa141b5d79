"""The benchmark runner works end to end on tiny data (no timings are checked)."""

import json
import sys

import pytest

from benchmarks.__main__ import main


@pytest.mark.slow
def test_runner_quick_prints_every_case_and_ratio(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(sys, "argv", ["benchmarks"])
    # e2e is left out here: the workflow tests run Snakemake end to end already
    assert main(["--quick", "--workdir", str(tmp_path), "--cases",
                 "bias,flat,science,stack50"]) == 0
    out = capsys.readouterr().out
    for case in ("io_floor_bias_2x2", "master_bias_2x2", "master_bias_1x1",
                 "master_bias_1x1_50", "master_flat", "science_chain"):
        assert case in out
    assert "master bias 2x2 / I/O floor (wall)" in out
    assert "50-frame 1x1 stack / 10-frame peak RSS" in out
    results = json.loads((tmp_path / "benchmark.json").read_text())["results"]
    for name in ("master_bias_2x2", "master_flat", "science_chain", "master_bias_1x1_50"):
        r = results[name]
        assert r["wall_s"] > 0 and r["cpu_s"] > 0 and r["peak_rss_mb"] > 0
    for name in ("io_floor_bias_2x2", "master_bias_2x2", "master_flat"):
        # the time after the imports, reported by the child, within its wall time
        assert 0 < results[name]["work_s"] < results[name]["wall_s"]
    assert "master bias 2x2 / I/O floor (work)" in out
    assert (tmp_path / "products" / "bias_2x2.fits").exists()
    assert (tmp_path / "products" / "science" / "stack.fits").exists()


def test_unknown_case_is_refused(tmp_path):
    with pytest.raises(SystemExit):
        main(["--quick", "--workdir", str(tmp_path), "--cases", "nonsense"])
