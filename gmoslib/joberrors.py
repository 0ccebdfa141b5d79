"""How a workflow job reports a problem with its inputs: one line naming the rule, the file and
the problem (in the job's log and on stderr, where Snakemake shows it), not a traceback."""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Iterator

from .calib import CalibrationNotFoundError
from .descriptors import DescriptorError
from .fitsio import FitsReadError
from .recipes import RecipeError

#: Errors whose message already names the file and the problem.
INPUT_ERRORS = (RecipeError, FitsReadError, DescriptorError, CalibrationNotFoundError)


@contextlib.contextmanager
def reported_errors(rule: str) -> Iterator[None]:
    """Turn an input error raised inside the block into ``sys.exit('rule RULE: message')``
    (exit status 1), logging the same line; other exceptions propagate unchanged."""
    try:
        yield
    except INPUT_ERRORS as exc:
        message = f"rule {rule}: {exc}"
        logging.error(message)
        sys.exit(message)
