# Input functions: wildcards -> paths.  What the workflow makes from what (groups, association,
# the messages that stop a run, resources, checksums, start-up checks) is gmoslib's, tested
# without Snakemake: gmoslib.workflow.plan, gmoslib.workflow.checks, gmoslib.workflow.planning.

import functools
import os
import sys

from gmoslib.workflow import caldb, checks as workflow_checks, plan as workflow_plan

from gmoslib.io import rawdir
from gmoslib.workflow.checks import frame_mem_mb, frame_runtime_min, stack_runtime_min
from gmoslib.workflow.manifest import read_manifest, skipped_summary
from gmoslib.workflow.plan import (
    BATCH_PATH,
    BIAS_PATH,
    BIAS_PNG,
    CATALOGUE_PATH,
    FLAT_PATH,
    FLAT_PNG,
    FRINGE_PATH,
    FRINGE_PNG,
    MANIFEST,
    MANIFEST_REUSE,
    MOSAIC_PATH,
    MOSAIC_PNG,
    RAW_PNG,
    PlanningError,
    WorkflowPlan,
    aligned_inputs,
    aligned_products,
    suffixed_paths,
)

RAW_DIR = config["raw_dir"]
# The raw files the manifest reads are its input, so adding or removing one reruns the
# manifest and, through it, only what association changes; entries it sets aside unread
# (dangling links, folders, pipes) are a parameter (gmoslib.io.rawdir).  A missing raw_dir is
# reported by the manifest rule (so that --lint and --dry-run of the bare workflow parse).
RAW_FILES = rawdir.workflow_inputs(RAW_DIR)
RAW_LISTING = rawdir.listing_signature(RAW_DIR)
PATHS = suffixed_paths(config["output_suffix"])
STACK_MEMORY_BYTES = config["stack_memory_mb"] * 1024 * 1024
PREVIEW_MAX_WIDTH = 640  # a report picture stays under 300 kB


wildcard_constraints:
    name=r"[^/]+",
    frame=r"[^/]+",


def stops(fn):
    """fn, with gmoslib's PlanningError shown by Snakemake as a plain message."""

    @functools.wraps(fn)
    def inner(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except PlanningError as exc:
            raise WorkflowError(str(exc)) from None

    return inner


@functools.cache
def _processed_candidates(dirs):
    table = caldb.scan_processed(list(dirs))
    note = caldb.problems_note(table)  # (once per run: the scan is cached)
    if note:
        print(note, file=sys.stderr)
    return table


@functools.cache
def _plan(path, mtime, dirs):
    table = read_manifest(path)
    line = skipped_summary(table, MANIFEST)
    note = f"\n(Note: {line.removeprefix('gmos-snake: ')})" if line else ""
    return WorkflowPlan(config, table, _processed_candidates(dirs), skipped_note=note)


def plan():
    """The WorkflowPlan of the manifest, available once the manifest checkpoint has run."""
    path = checkpoints.manifest.get().output.tsv
    return _plan(path, os.path.getmtime(path), tuple(config["calibration_dirs"]))


def groups(kind):
    return getattr(plan().plan, f"{kind}_groups")


def mosaics(frames, template=MOSAIC_PATH):
    return [template.format(frame=f) for f in frames]


# Input, parameter and resource functions (w: the job's wildcards); a PlanningError stops the
# run before any job, with gmoslib's message.
step_params = stops(functools.partial(workflow_plan.step_params, config))
group_raw_files = lambda kind: stops(lambda w: plan().group_raw_files(kind, w.name))
raw_checksums = lambda paths: plan().raw_checksums(paths)
flat_bias = stops(lambda w: plan().calibration_for(w.name, "processed_bias"))
science_raw = stops(lambda w: plan().frames_paths([w.frame])[0])
science_bias = stops(lambda w: plan().calibration_for(w.frame, "processed_bias"))
science_flat = stops(lambda w: plan().calibration_for(w.frame, "processed_flat"))
science_fringe = stops(lambda w: plan().fringe_for(w.frame))
fringe_calibrations = lambda caltype: stops(
    lambda w: [plan().calibration_for(f, caltype) for f in groups("fringe")[w.name]]
)
stack_batches = lambda w: [
    BATCH_PATH.format(name=b) for b in plan().plan.batches_of_stack[w.name]
]
batch_frames = lambda name: plan().plan.science_batches[name]
aligned_files = stops(lambda w: aligned_inputs(config, w.name))
target = lambda rule: stops(lambda w: plan().target(rule))
stack_mem_mb = lambda paths: workflow_checks.stack_mem_mb(
    paths, config["stack_memory_mb"]
)

# Start-up checks: the config's files and folders are there, the outputs can be written.
stops(workflow_checks.check_config_paths)(config)
stops(workflow_checks.check_writable)()


def end_of_run_notes(success):
    """One line on the raw files the manifest skipped; after a success, products of frames no
    longer in the raw directory (moved to stale/ with config stale_products: move)."""
    lines = [workflow_checks.skipped_line(MANIFEST)]
    if success:
        move = config["stale_products"] == "move"
        lines.append(workflow_checks.stale_line(lambda: plan().current_names(), move))
    # (notes go to stderr: stdout is for products, e.g. gmos reduce)
    for line in filter(None, lines):
        print(line, file=sys.stderr)
