"""Two parameter sets in one folder: every table and report entry of a stack is named by the
output suffix, so a second suffix writes beside the first instead of over it."""

from __future__ import annotations

import pytest

from tests.workflow_helpers import run_snakemake

pytestmark = pytest.mark.slow


def test_qa_tables_are_named_by_the_output_suffix(small_night):
    raw, work = small_night
    for name in ("_qa.tsv", "_qa_frames.tsv", "_qa_stack.tsv"):
        assert (work / "results" / f"N20170614S0201_stack{name}").is_file(), name
    proc = run_snakemake(work, "stacks", "-n", "--quiet", "progress",
                         config={"raw_dir": str(raw), "output_suffix": "_hs5",
                                 "params": "{stackFrames: {hsigma: 5}}"})
    planned = proc.stdout + proc.stderr
    for name in (".fits", "_qa.tsv", "_qa_frames.tsv", "_qa_stack.tsv"):
        assert f"results/N20170614S0201_hs5{name}" in planned, name
    # the first suffix's products are not touched by the second plan
    assert "N20170614S0201_stack" not in planned
