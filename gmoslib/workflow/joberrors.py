"""The adapter every workflow script runs in (:func:`job`): a problem with the inputs, or an
``OSError`` (full disk, quota, read-only or vanished folder), ends the job with one line naming
the rule, the file and the cause on stderr and in the job's log (which also keeps an OSError's
traceback), not a traceback."""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import sys
from collections.abc import Iterator

from gmoslib.calibration.association import CalibrationNotFoundError
from gmoslib.instrument.descriptors import DescriptorError
from gmoslib.io.errors import RecipeError
from gmoslib.io.fitsio import FitsReadError


class JobInputError(ValueError):
    """A problem a job found with its inputs; the message names the file and the problem."""


#: Errors whose message already names the file and the problem.
INPUT_ERRORS = (RecipeError, FitsReadError, DescriptorError, CalibrationNotFoundError,
                JobInputError)


def os_error_line(rule: str, product: str | None, exc: OSError) -> str:
    """'rule RULE: PRODUCT not made: cause (ENAME): PATH' for a system error (PATH: the file
    the error names, else the product's folder, where the job was writing)."""
    cause = exc.strerror or str(exc) or type(exc).__name__
    name = errno.errorcode.get(exc.errno, "") if exc.errno else ""
    if exc.filename is not None:
        path = str(exc.filename)
        if exc.filename2 is not None:
            path = f"{path} -> {exc.filename2}"
    elif product:
        path = f"while writing in {os.path.abspath(os.path.dirname(product) or '.')}"
    else:
        path = "(no path given)"
    hint = ("; free some space (or raise the quota) and run again"
            if exc.errno in (errno.ENOSPC, errno.EDQUOT) else "")
    made = f"{product} not made: " if product else ""
    return f"rule {rule}: {made}{cause}{f' ({name})' if name else ''}: {path}{hint}"


@contextlib.contextmanager
def reported_errors(rule: str, product: str | None = None) -> Iterator[None]:
    """Turn an input error or OSError inside the block into ``sys.exit('rule RULE: message')``
    (status 1), logged too; ``product``: the file the job makes.  Others propagate."""
    try:
        yield
    except INPUT_ERRORS as exc:
        message = f"rule {rule}: {exc}"
        logging.error(message)
        sys.exit(message)
    except OSError as exc:
        message = os_error_line(rule, product, exc)
        logging.error(message, exc_info=True)
        for handler in logging.getLogger().handlers:
            handler.flush()
        sys.exit(message)


@contextlib.contextmanager
def job(snakemake, product: str | None = None) -> Iterator[None]:
    """The frame of a workflow script (``snakemake``: Snakemake's object): logging to
    ``snakemake.log[0]``, the raw inputs' SHA-256 from ``params.checksums`` if given, and
    :func:`reported_errors` under the job's rule name."""
    logging.basicConfig(filename=snakemake.log[0], level=logging.INFO, force=True)
    checksums = getattr(snakemake.params, "checksums", None)
    if checksums:
        from gmoslib.io.fitsio import remember_sha256

        remember_sha256(dict(checksums))
    with reported_errors(snakemake.rule, product):
        yield
