"""A quiet console: with profiles/default a night prints its progress and one line per
finished product, errors in full, no warning and nothing else."""

from __future__ import annotations

import logging

import pytest

from gmoslib.sim import simulate_preset
from gmoslib.workflow.console import QuietConsole
from tests.workflow_helpers import REPO, run_snakemake


def _record(msg, level=logging.INFO, **extra):
    record = logging.LogRecord("snakemake.logging", level, "x", 1, msg, (), None)
    record.__dict__.update(extra)
    return record


def test_filter_drops_scheduler_lines_and_names_products():
    quiet = QuietConsole(lambda jobid: {7: ["calibrations/processed_bias/B_bias.fits"]}.get(
        jobid, []))
    for chatter in ("Select jobs to execute...", "Execute 2 jobs...", "Using shell: /bin/bash",
                    "Provided cores: 2", "Updating checkpoint dependencies."):
        assert not quiet.filter(_record(chatter)), chatter
    finished = _record("Finished jobid: 7 (Rule: stack_bias)", event="job_finished")
    assert quiet.filter(finished)
    assert finished.getMessage() == "stack_bias: calibrations/processed_bias/B_bias.fits"
    assert finished.event is None
    assert not quiet.filter(_record("Finished jobid: 0 (Rule: all)"))
    assert quiet.filter(_record("3 of 8 steps (38%) done"))
    assert quiet.filter(_record("Execute 2 jobs...", level=logging.WARNING))


def test_products_are_read_from_the_job_info_records():
    """Without a function from the Snakefile, a finished job is named by the outputs of its
    job_info record (no Snakemake object is looked into)."""
    quiet = QuietConsole()
    start = _record(" Rule: stack_flat, Jobid: 4", event="job_info", jobid=4,
                    output=["calibrations/processed_flat/F_flat.fits", "qa/calibrations/F.png"])
    quiet.filter(start)
    quiet.filter(_record("x", event="job_info", jobid=5, output=["work/batches/B.txt"]))
    finished = _record("Finished jobid: 4 (Rule: stack_flat)", event="job_finished")
    assert quiet.filter(finished)
    assert finished.getMessage() == "stack_flat: calibrations/processed_flat/F_flat.fits"
    batch = _record("Finished jobid: 5 (Rule: science_batch)")
    assert quiet.filter(batch) and batch.getMessage() == "science_batch: work/batches/B.txt"
    assert not quiet.filter(_record("Finished jobid: 0 (Rule: all)"))


def test_failed_jobs_are_shown_whatever_snakemake_quiets():
    class QuietRules(logging.Filter):  # Snakemake's filter with quiet: [rules]
        def filter(self, record):
            return getattr(record, "event", None) not in ("job_info", "job_error")

    quiet = QuietConsole(lambda jobid: [], inner=[QuietRules()])
    assert quiet.filter(_record("Error in rule stack_flat", logging.ERROR, event="job_error"))
    assert not quiet.filter(_record("rule stack_flat:", event="job_info"))


@pytest.mark.slow
def test_small_night_console(tmp_path):
    raw = tmp_path / "raw"
    simulate_preset("small", str(raw), seed=11)
    work = tmp_path / "night"
    work.mkdir()
    proc = run_snakemake(work, "--workflow-profile", str(REPO / "profiles" / "default"),
                         config={"raw_dir": str(raw)}, timeout=900)
    lines = (proc.stdout + proc.stderr).splitlines()
    text = "\n".join(lines)
    assert len(lines) < 60, text
    # manifest, bias, flat, 3 frames, their batch, the stack, all
    assert "9 of 9 steps (100%) done" in text, text
    for product in ("stack_bias: calibrations/processed_bias/N20170613S0180_bias.fits",
                    "stack_flat: calibrations/processed_flat/N20170702S0178_flat.fits",
                    "reduce_science_frame: work/mosaic/N20170614S0202_mosaic.fits",
                    "stack_science: results/N20170614S0201_stack.fits"):
        assert lines.count(product) == 1, (product, text)
    for noise in ("Warning", "WARNING", "Shell command", "Select jobs", "localrule"):
        assert noise not in text, (noise, text)
