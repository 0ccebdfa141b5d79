"""A system error in a job (issue 17): one line naming the product, the cause and the path;
the job log keeps the traceback."""

from __future__ import annotations

import errno
import logging

import pytest

from gmoslib.workflow.joberrors import reported_errors


def test_disk_full_ends_in_one_line_and_the_log_holds_the_traceback(tmp_path):
    log = tmp_path / "job.log"
    logging.basicConfig(filename=str(log), level=logging.INFO, force=True)
    try:
        with pytest.raises(SystemExit) as info, reported_errors("stack_science",
                                                               "results/N1_stack.fits"):
            raise OSError(errno.ENOSPC, "No space left on device",
                          "results/.N1_stack.fits.scratch/sci0.npy")
    finally:
        logging.basicConfig(force=True)  # (closes the file handler)
    assert info.value.code == (
        "rule stack_science: results/N1_stack.fits not made: No space left on device (ENOSPC):"
        " results/.N1_stack.fits.scratch/sci0.npy; free some space (or raise the quota) and "
        "run again")
    text = log.read_text()
    assert info.value.code in text
    assert "Traceback (most recent call last)" in text and "OSError: [Errno 28]" in text


def test_other_exceptions_stay_tracebacks():
    with pytest.raises(KeyError), reported_errors("stack_bias", "x.fits"):
        raise KeyError("a bug")


def test_job_logs_to_the_rule_log_takes_checksums_and_reports_input_errors(tmp_path,
                                                                            monkeypatch):
    """The scripts' adapter: the log file of the job, the manifest's checksums remembered
    (so the provenance does not hash the raw files again), one line per input error."""
    from types import SimpleNamespace

    from gmoslib.io import fitsio
    from gmoslib.workflow.joberrors import JobInputError, job

    remembered = []
    monkeypatch.setattr(fitsio, "remember_sha256", remembered.append)
    log = tmp_path / "job.log"
    checksums = {"/raw/a.fits": ["ab" * 32, 1, 2, 3]}
    snakemake = SimpleNamespace(log=[str(log)], rule="stack_bias",
                                params=SimpleNamespace(checksums=checksums))
    try:
        with job(snakemake, "calibrations/processed_bias/a_bias.fits"):
            logging.info("stacking")
        with pytest.raises(SystemExit) as info, job(snakemake):
            raise JobInputError("/raw/a.fits: no SCI extension")
        without = SimpleNamespace(log=[str(log)], rule="stack_science", params=SimpleNamespace())
        with job(without):
            pass
    finally:
        logging.basicConfig(force=True)  # (closes the file handler)
    assert remembered == [checksums, checksums]
    assert info.value.code == "rule stack_bias: /raw/a.fits: no SCI extension"
    text = log.read_text()
    assert "stacking" in text and info.value.code in text
