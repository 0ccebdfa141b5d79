"""The quiet console of the workflow's default profile (``quiet: [rules, host]``).

Snakemake's own ``quiet`` settings hide the job blocks, but its scheduler still prints two
lines per job ("Select jobs to execute...", "Execute 1 jobs...") and a few set-up lines, and
a finished job is a timestamp plus "Finished jobid: 7 (Rule: stack_bias)".  The filter here,
attached to Snakemake's console handler only (its log file under ``.snakemake/log`` keeps
everything), drops those scheduler lines and turns each "Finished" message into one line
naming the product, so that a night shows its progress ("n of m steps done"), one line per
finished product, errors and warnings in full (a failed job's block and log, which the quiet
'rules' setting alone would hide), and nothing else.

No Snakemake import: the filter works on :mod:`logging` records and on a function from job
id to product paths that the Snakefile supplies.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable

#: Snakemake's scheduling and set-up messages that the quiet console leaves to the log file.
CHATTER = re.compile(
    r"^(Select jobs to execute\.\.\.|Execute \d+ jobs\.\.\.|Using shell: |Provided cores: |"
    r"Rules claiming more threads|Conda environments: ignored|Assuming unrestricted shared "
    r"filesystem|Updating checkpoint dependencies|DAG of jobs will be updated|Building DAG "
    r"of jobs|Config file .* is extended by additional config)")
FINISHED = re.compile(r"^Finished jobid: (\d+) \(Rule: ([^)]+)\)$")

#: Name of Snakemake's console handler (the one its LoggerManager adds to its logger).
STREAM_HANDLER = "DefaultStreamHandler"


#: Snakemake's job-failure events: shown in full (its quiet 'rules' setting would hide them).
ERROR_EVENTS = ("job_error", "group_error")


class QuietConsole(logging.Filter):
    """Drops :data:`CHATTER` and rewrites "Finished jobid: N (Rule: R)" as "R: PRODUCT"
    (``products_of_job(N)`` gives the paths; a job without products, a target rule, gets
    no line of its own).  ``inner``: the handler's own filters (Snakemake's quiet settings),
    applied first, except to :data:`ERROR_EVENTS`, which always pass."""

    def __init__(self, products_of_job: Callable[[int], list[str]], inner=()):
        super().__init__()
        self.products_of_job = products_of_job
        self.inner = list(inner)

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "event", None) in ERROR_EVENTS:
            return True
        if not all(f.filter(record) for f in self.inner):
            return False
        if record.levelno >= logging.WARNING or not isinstance(record.msg, str):
            return True
        text = record.getMessage()
        if CHATTER.match(text):
            return False
        finished = FINISHED.match(text)
        if finished:
            products = self.products_of_job(int(finished.group(1)))
            if not products:  # a target rule (all, stacks...): its progress line says it
                return False
            record.msg = f"{finished.group(2)}: {', '.join(products)}"
            record.args = ()
            record.event = None  # printed as a plain message: one line, no timestamp
        return True


def products_of(dag, jobid: int) -> list[str]:
    """The FITS products (else the first output) of job ``jobid`` of a Snakemake DAG (read
    through its ``jobs``, ``jobid`` and ``output`` attributes); [] when there is none."""
    for job in dag.jobs if dag is not None else ():
        if job.jobid == jobid:
            files = [str(f) for f in job.output]
            return [f for f in files if f.endswith(".fits")] or files[:1]
    return []


def install(logger: logging.Logger, products_of_job: Callable[[int], list[str]]) -> bool:
    """Attach a :class:`QuietConsole` to ``logger``'s console handler; False if it has none
    (e.g. a logger plugin writes the console)."""
    for handler in logger.handlers:
        if handler.get_name() == STREAM_HANDLER:
            if not any(isinstance(f, QuietConsole) for f in handler.filters):
                inner = list(handler.filters)
                for f in inner:
                    handler.removeFilter(f)
                handler.addFilter(QuietConsole(products_of_job, inner))
            return True
    return False
