"""A system error in a job (issue 17): one line naming the product, the cause and the path;
the job log keeps the traceback."""

from __future__ import annotations

import errno
import logging

import pytest

from gmoslib.joberrors import reported_errors


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
