"""The quiet console of the workflow's default profile (``quiet: [rules, host]``): a filter on
Snakemake's console handler only (``.snakemake/log`` keeps everything) that drops scheduling
and set-up lines, names the product of each finished job, and shows errors and warnings in
full.  No Snakemake import: it reads :mod:`logging` records only.
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
#: Snakemake's event of a job's start (its rule, jobid, input and output files).
JOB_INFO = "job_info"
#: Snakemake's job-failure events: shown in full (its quiet 'rules' setting would hide them).
ERROR_EVENTS = ("job_error", "group_error")


class QuietConsole(logging.Filter):
    """Drops :data:`CHATTER`; rewrites "Finished jobid: N (Rule: R)" as "R: PRODUCT"
    (``products_of_job(N)``, by default the FITS outputs, else the first output, of job N's
    "job_info"; none for a target rule: no line).  ``inner``: the handler's own filters,
    applied first except to :data:`ERROR_EVENTS`."""

    def __init__(self, products_of_job: Callable[[int], list[str]] | None = None, inner=()):
        super().__init__()
        self.outputs: dict[int, list[str]] = {}
        self.products_of_job = products_of_job or self.products_from_job_info
        self.inner = list(inner)

    def products_from_job_info(self, jobid: int) -> list[str]:
        files = self.outputs.get(jobid, [])
        return [f for f in files if f.endswith(".fits")] or files[:1]

    def filter(self, record: logging.LogRecord) -> bool:
        event = getattr(record, "event", None)
        if event == JOB_INFO and getattr(record, "jobid", None) is not None:
            self.outputs[int(record.jobid)] = [str(f) for f in getattr(record, "output", ())]
        if event in ERROR_EVENTS:
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


def install(logger: logging.Logger,
            products_of_job: Callable[[int], list[str]] | None = None) -> bool:
    """Attach a :class:`QuietConsole` to ``logger``'s console handler; False if it has none
    (e.g. a logger plugin writes the console)."""
    for handler in logger.handlers:
        if handler.get_name() == STREAM_HANDLER:
            if not any(isinstance(f, QuietConsole) for f in handler.filters):
                handler.filters = [QuietConsole(products_of_job, handler.filters)]
            return True
    return False
