"""Python API for notebooks: select files, then reduce them with the workflow.

The equivalent of DRAGONS' ``dataselect.select_data`` and ``Reduce()``::

    from glob import glob
    from gmoslib.workflow.api import reduce, select_data

    files = sorted(glob("night/raw/*.fits"))
    biases = select_data(files, tags=["BIAS"])
    flats = select_data(files, tags=["FLAT"], expression='filter_name=="i"')
    science = select_data(files, xtags=["CAL"], expression='object=="starfield"')
    bias = reduce(biases, "bias", workdir="night")        # -> [".../N20170613S0180_bias.fits"]
    flat = reduce(flats, "flat", workdir="night")         # finds the bias made above
    stack = reduce(science, "science", workdir="night",
                   params={"stackFrames": {"hsigma": 5}}, suffix="_hs5")
    stack.qa                                              # the stack's QA table (pandas)

:func:`reduce` runs the workflow's Snakefile through Snakemake's Python API in ``workdir`` on
exactly the files given, linked in ``workdir/inputs/``; ``workdir/calibrations/`` is the caldb.
Products are those of ``gmos reduce`` (this function), byte for byte.
"""

from __future__ import annotations

import contextlib
import copy
import logging
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from gmoslib.config import files as workflow_files
from gmoslib.config.schema import ParamsError, check_params, load_schema
from gmoslib.workflow.recipes import PRODUCTS
from gmoslib.workflow.select import select_data as _select_data

#: Folder (inside the working directory) of links to the files of the latest reduce() call.
INPUTS = "inputs"

log = logging.getLogger("gmoslib.workflow.api")
_HANDLER_NAME = "gmoslib.workflow.api"


class ReductionError(RuntimeError):
    """A reduction could not be run or did not complete; the message says why and where."""


class Reduction(list):
    """The absolute paths of a reduction's products (a list).  qa: one row per science stack
    (its ``*_qa_stack.tsv``) or None (calibrations); qa_frames: one row per input frame
    (``*_qa_frames.tsv``) or None; qa_paths: the QA tables read."""

    def __init__(self, products: Sequence[str], qa_paths: Sequence[str] = ()):
        super().__init__(products)
        self.qa_paths = list(qa_paths)
        self.qa = _read_tables(p for p in self.qa_paths if p.endswith("_qa_stack.tsv"))
        self.qa_frames = _read_tables(p for p in self.qa_paths if p.endswith("_qa_frames.tsv"))

    @property
    def products(self) -> list[str]:
        return list(self)


def _read_tables(paths):
    import pandas as pd

    tables = [pd.read_csv(p, sep="\t") for p in paths]
    return pd.concat(tables, ignore_index=True) if tables else None


def select_data(files, tags: Sequence[str] = (), xtags: Sequence[str] = (),
                expression: str | None = None) -> list[str]:
    """Paths of the usable files among ``files`` (paths, a directory or a manifest DataFrame)
    with every tag in ``tags``, none in ``xtags``, satisfying ``expression``
    (:mod:`gmoslib.workflow.select`); same answer as ``gmos select``."""
    if isinstance(tags, str) or isinstance(xtags, str):
        raise TypeError("tags and xtags are lists of tags, e.g. tags=['BIAS']")
    return _select_data(files, tags=tags, xtags=xtags, expression=expression)


class _StderrHandler(logging.StreamHandler):
    """Writes to ``sys.stderr`` as it is at each message (notebooks and test runners
    replace it)."""

    stream = property(lambda self: sys.stderr, lambda self, value: None)


def configure_logging(level: int = logging.INFO, stream=None) -> logging.Logger:
    """Send this module's messages to ``stream`` (default stderr) once; calling it again only
    changes the level.  Returns the ``gmoslib.workflow.api`` logger."""
    if not any(h.get_name() == _HANDLER_NAME for h in log.handlers):
        handler = logging.StreamHandler(stream) if stream is not None else _StderrHandler()
        handler.set_name(_HANDLER_NAME)
        handler.setFormatter(logging.Formatter("%(message)s"))
        log.addHandler(handler)
        log.propagate = False
    log.setLevel(level)
    # Snakemake adds its own handlers at every run: propagating to a notebook's root logger
    # would print every message twice
    logging.getLogger("snakemake.logging").propagate = False
    return log


def _stage(files: Sequence[str], folder: Path) -> None:
    """Make ``folder`` hold exactly one symbolic link per file, named like it; links are kept
    or made with their target's mtime, so that Snakemake sees unchanged inputs."""
    folder.mkdir(parents=True, exist_ok=True)
    wanted = {}
    for f in files:
        name = os.path.basename(f)
        if name in wanted and wanted[name] != f:
            raise ReductionError(f"two files named {name}: {wanted[name]} and {f}; the "
                                 "workflow names products after file names")
        wanted[name] = f
    for entry in os.listdir(folder):
        path = folder / entry
        if not path.is_symlink():
            raise ReductionError(f"{path} is not a link made by gmoslib.workflow.api; "
                                 f"{folder} must only hold links to the files of the latest "
                                 "reduce() call")
        if wanted.get(entry) != os.readlink(path):
            path.unlink()
    for name, target in wanted.items():
        link = folder / name
        if not link.is_symlink():
            os.symlink(target, link)
            st = os.stat(target)
            os.utime(link, ns=(st.st_atime_ns, st.st_mtime_ns), follow_symlinks=False)


def _absolute_files(files) -> list[str]:
    if isinstance(files, str | os.PathLike):
        files = [files]
    out = []
    for f in files:
        path = os.path.abspath(os.fspath(f))
        if not os.path.isfile(path):
            raise ReductionError(f"{f}: no such file")
        out.append(path)
    if not out:
        raise ReductionError("no files to reduce")
    return out


def reduce(
    files,
    product: str,
    *,
    workdir: str | os.PathLike,
    params: Mapping[str, Mapping] | None = None,
    user_cal: Mapping[str, str] | None = None,
    suffix: str | None = None,
    calibration_dirs: Sequence[str] | None = None,
    name: str | None = None,
    config: Mapping | None = None,
    cores: int | None = None,
    verbose: bool = False,
) -> Reduction:
    """Reduce ``files`` into ``product``: a :class:`Reduction` (the products' absolute paths
    and QA tables).

    files: raw files, or for alignAndStack reduced stacks or mosaics.  Calibrations come from
        these files, ``workdir/calibrations`` (earlier calls), ``calibration_dirs`` and
        ``user_cal``, by the workflow's association rules.
    product: a key of :data:`gmoslib.workflow.recipes.PRODUCTS` (``gmos recipes``).
    workdir: the working directory (created if needed), laid out as a command-line run's.
    params: step parameters, e.g. ``{"stackFrames": {"hsigma": 5}}`` (``gmos params STEP``).
    user_cal: calibration overrides, e.g. ``{"processed_bias": "cals/X_bias.fits"}``.
    suffix: suffix of science and alignAndStack products (``output_suffix``, default _stack).
    name: name of the alignAndStack group (default: the first file's name without .fits).
    config: any other config keys (``config/schema.yaml``).
    cores: CPU cores for the jobs (default: all).
    verbose: Snakemake's own output instead of a progress bar (errors and warnings are
        shown in full either way).
    """
    if product not in PRODUCTS:
        raise ReductionError(f"unknown product {product!r}; products: {', '.join(PRODUCTS)}")
    configure_logging(log.level or logging.INFO)
    try:
        snakefile = workflow_files.snakefile()
    except FileNotFoundError as exc:
        raise ReductionError(str(exc)) from None
    workdir = Path(workdir).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    paths = _absolute_files(files)
    inputs = workdir / INPUTS
    cfg = dict(config or {})
    if product == "alignAndStack":
        from gmoslib.workflow.manifest import frame_root

        inputs.mkdir(exist_ok=True)
        group = name or frame_root(paths[0])
        cfg["align_and_stack"] = {**cfg.get("align_and_stack", {}), group: paths}
    else:
        _stage(paths, inputs)
    cfg["raw_dir"] = str(inputs)
    own = workdir / "calibrations"
    own.mkdir(parents=True, exist_ok=True)
    cfg["calibration_dirs"] = [str(own)] + [os.path.abspath(d) for d in
                                            (calibration_dirs or cfg.get("calibration_dirs", []))]
    if params:
        # the schema's types: 5 and "5" for a number are 5.0
        try:
            schema = load_schema(str(workflow_files.schema_path()))
            cfg["params"] = check_params({step: dict(values) for step, values in
                                          params.items()}, schema)
        except ParamsError as exc:
            raise ReductionError(str(exc)) from None
    if user_cal:
        cfg["user_cal"] = {k: os.path.abspath(v) for k, v in user_cal.items()}
    if suffix is not None:
        cfg["output_suffix"] = suffix
    target = PRODUCTS[product].target
    log.info("gmoslib.workflow.api: %s of %d file(s) in %s (target %s)", product, len(paths),
             workdir, target)
    _run_snakemake(snakefile, workdir, cfg, target, cores or os.cpu_count() or 1,
                   verbose=verbose, label=product)
    outputs, qa_paths = _products(snakefile, workdir, cfg, target)
    log.info("gmoslib.workflow.api: %s", ", ".join(outputs) or "(no products)")
    return Reduction(outputs, qa_paths)


def _run_snakemake(snakefile: Path, workdir: Path, cfg: dict, target: str, cores: int, *,
                   verbose: bool = True, label: str = "") -> None:
    """Run the workflow's ``target`` rule in ``workdir``."""
    from snakemake.api import SnakemakeApi
    from snakemake.settings.types import (
        ConfigSettings,
        DAGSettings,
        ExecutionSettings,
        OutputSettings,
        ResourceSettings,
    )

    # unless verbose, Snakemake's console handler gives way to _Console (.snakemake/log/
    # still gets everything)
    snakemake_log = logging.getLogger("snakemake.logging")
    with SnakemakeApi(OutputSettings()) as api:
        console = None
        if not verbose:
            for handler in list(snakemake_log.handlers):
                if handler.get_name() == "DefaultStreamHandler":
                    snakemake_log.removeHandler(handler)
            console = _Console(label)
            snakemake_log.addHandler(console)
        try:
            workflow_api = api.workflow(
                resource_settings=ResourceSettings(cores=cores),
                config_settings=ConfigSettings(config=cfg),
                snakefile=snakefile,
                workdir=workdir,
            )
            dag_api = workflow_api.dag(DAGSettings(targets={target}, force_incomplete=True))
            dag_api.execute_workflow(execution_settings=ExecutionSettings(latency_wait=5))
        except Exception as exc:
            api.print_exception(exc)
            raise ReductionError(f"the {target} reduction in {workdir} failed: {exc} (job "
                                 f"logs under {workdir / 'logs'})") from exc
        finally:
            if console is not None:
                snakemake_log.removeHandler(console)
                console.close()


class _Console(logging.Handler):
    """The quiet console of :func:`reduce`: a tqdm progress bar (or, without tqdm, progress
    lines) and warnings and errors in full; the rest goes to the log file only."""

    def __init__(self, label: str):
        super().__init__(logging.DEBUG)
        from snakemake.logging import DefaultFormatter

        self.setFormatter(DefaultFormatter(quiet=set(), show_failed_logs=True))
        self.label = label
        self.bar = None

    def emit(self, record: logging.LogRecord) -> None:
        from snakemake.logging import LogEvent

        event = getattr(record, "event", None)
        if event == LogEvent.PROGRESS:
            self._progress(int(record.done), int(record.total))
        elif record.levelno >= logging.WARNING:
            text = self.format(record)
            if text:
                self._write(text)

    def _progress(self, done: int, total: int) -> None:
        try:
            from tqdm.auto import tqdm
        except ImportError:  # no bar to draw: Snakemake's own progress line
            self._write(f"{self.label}: {done} of {total} steps done")
            return
        if self.bar is None:
            self.bar = tqdm(total=total, desc=self.label, unit="step", file=sys.stderr)
        self.bar.total = total
        self.bar.update(done - self.bar.n)

    def _write(self, text: str) -> None:
        (print if self.bar is None else self.bar.write)(text, file=sys.stderr)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None
        super().close()


def validated_config(snakefile: Path, cfg: Mapping) -> dict:
    """The config a run of ``snakefile`` with ``--config cfg`` works with: config.yaml
    updated with ``cfg``, typed and with the schema's defaults, as the Snakefile makes it."""
    import yaml
    from snakemake.utils import update_config, validate

    folder = Path(snakefile).parent
    with open(folder / "config" / "config.yaml") as fh:
        config = yaml.safe_load(fh) or {}
    update_config(config, copy.deepcopy(dict(cfg)))
    schema_path = folder / "config" / "schema.yaml"
    try:
        config["params"] = check_params(config.get("params"), load_schema(str(schema_path)))
    except ParamsError as exc:
        raise ReductionError(str(exc)) from None
    validate(config, str(schema_path))
    return config


def _products(snakefile: Path, workdir: Path, cfg: Mapping, target: str
              ) -> tuple[list[str], list[str]]:
    """(absolute paths of the products of ``target`` in ``workdir``, of their QA tables),
    listed from the run's manifest."""
    from gmoslib.workflow.caldb import scan_processed
    from gmoslib.workflow.manifest import read_manifest
    from gmoslib.workflow.plan import MANIFEST, PlanningError, WorkflowPlan, aligned_products

    config = validated_config(snakefile, cfg)
    with contextlib.chdir(workdir):  # the workflow's paths are relative to it
        try:
            if target == "aligned":  # from the config alone: no manifest
                products, qa_paths = aligned_products(config), []
            else:
                plan = WorkflowPlan(config, read_manifest(MANIFEST),
                                    scan_processed(list(config["calibration_dirs"])))
                products = plan.target(target)
                qa_paths = plan.qa_tables(products)
        except (PlanningError, OSError) as exc:
            raise ReductionError(f"the products of {target} in {workdir} cannot be listed: "
                                 f"{exc}") from exc
    return ([str(workdir / p) for p in products], [str(workdir / p) for p in qa_paths])
