# Thin wrappers around gmoslib: manifest loading and calibration association as Snakemake
# input functions.  The logic lives in gmoslib.calib / gmoslib.caldb (tested without Snakemake);
# this file only turns its answers into paths.

import functools
import glob
import os

from gmoslib import calib, caldb
from gmoslib.manifest import read_manifest

RAW_DIR = config["raw_dir"]
RAW_SUFFIXES = (".fits", ".fits.gz", ".fits.bz2")
# The raw files are the manifest's input, so adding or removing one reruns the manifest
# (Snakemake's input-set rerun trigger) and, through it, only what association changes.
RAW_FILES = sorted(
    p for p in glob.glob(os.path.join(RAW_DIR, "*")) if p.lower().endswith(RAW_SUFFIXES)
)
# A missing raw_dir is reported by the manifest rule (so that --lint and --dry-run of the
# bare workflow still parse).

MANIFEST = "manifest/manifest.tsv"
BIAS_PATH = "calibrations/processed_bias/{name}_bias.fits"
FLAT_PATH = "calibrations/processed_flat/{name}_flat.fits"
STACK_PATH = f"results/{{name}}{config['output_suffix']}.fits"
GAP_DAYS = config["calibration_group_max_gap_days"]
STACK_MEMORY_BYTES = config["stack_memory_mb"] * 1024 * 1024


wildcard_constraints:
    name=r"[^/]+",
    frame=r"[^/]+",


@functools.cache
def _load_manifest(path, mtime):
    return read_manifest(path)


def manifest():
    """The manifest table, available once the manifest checkpoint has run."""
    path = checkpoints.manifest.get().output.tsv
    return _load_manifest(path, os.path.getmtime(path))


@functools.cache
def _processed_candidates(dirs):
    return caldb.scan_processed(list(dirs))


def bias_groups():
    return calib.group_calibrations(manifest(), "bias", max_gap_days=GAP_DAYS)


def flat_groups():
    return calib.group_calibrations(manifest(), "flat", max_gap_days=GAP_DAYS)


def candidates(caltype):
    """Masters the workflow can build plus processed calibrations found on disk."""
    if caltype == "processed_bias":
        built = calib.candidates_from_groups(manifest(), bias_groups(), caltype, BIAS_PATH)
    elif caltype == "processed_flat":
        built = calib.candidates_from_groups(manifest(), flat_groups(), caltype, FLAT_PATH)
    else:
        raise ValueError(f"unknown calibration type {caltype!r}")
    on_disk = _processed_candidates(tuple(config["calibration_dirs"]))
    return calib.merge_candidates(built, on_disk, caltype)


def frames_paths(frames):
    table = manifest().set_index("frame")
    return [table.at[f, "path"] for f in frames]


def group_raw_files(groups_fn):
    def inner(wildcards):
        groups = groups_fn()
        if wildcards.name not in groups:
            raise WorkflowError(f"no calibration group named {wildcards.name!r} in {MANIFEST}")
        return frames_paths(groups[wildcards.name])

    return inner


def calibration_for(frame, caltype):
    """Path of the calibration of type caltype associated with one manifest frame."""
    table = manifest().set_index("frame", drop=False)
    return calib.associate_path(
        table.loc[frame], candidates(caltype), caltype, config["user_cal"]
    )


def flat_bias(wildcards):
    """The master bias that serves a twilight group (associated from its first frame)."""
    return calibration_for(wildcards.name, "processed_bias")


def all_calibrations(wildcards):
    paths = [BIAS_PATH.format(name=n) for n in bias_groups()]
    paths += [FLAT_PATH.format(name=n) for n in flat_groups()]
    return paths


def science_groups():
    return calib.group_science(manifest())


def science_raw(wildcards):
    row = manifest().set_index("frame", drop=False).loc[wildcards.frame]
    if calib.fringe_wanted(config["fringe"], row["filter"], row["detector"]):
        raise WorkflowError(
            f"{wildcards.frame} ({row['filter']} on {row['detector']}) needs fringe correction "
            f"(config fringe: {config['fringe']}), which this version of the workflow cannot "
            "do yet; set fringe: never to reduce it without fringe correction"
        )
    return row["path"]


def science_bias(wildcards):
    return calibration_for(wildcards.frame, "processed_bias")


def science_flat(wildcards):
    return calibration_for(wildcards.frame, "processed_flat")


def all_stacks(wildcards):
    return [STACK_PATH.format(name=n) for n in science_groups()]


def all_products(wildcards):
    return [MANIFEST] + all_calibrations(wildcards) + all_stacks(wildcards)


def step_params(step):
    """Parameters of one step, from the validated config (defaults filled in by the schema)."""
    return dict(config["params"][step])


def stack_mem_mb(paths):
    """Memory request of a stacking job: two prepared frames in flight (its 2 threads; SCI+VAR
    +DQ, ~5x a raw uint16 frame each) plus the stacking budget, so it follows the binning, not
    the number of frames."""
    largest = max((os.path.getsize(p) for p in paths), default=0)
    raw_factor = 1 if all(p.endswith(".fits") for p in paths) else 4
    return int(300 + 10 * raw_factor * largest / 1e6 + config["stack_memory_mb"])


def stack_runtime_min(paths):
    """Runtime request (minutes): grows with the total input size."""
    total = sum(os.path.getsize(p) for p in paths)
    return int(5 + total / 50e6)


def frame_mem_mb(path):
    """Memory request of a per-frame job: the raw frame decoded to SCI+VAR+DQ and its mosaic."""
    size = os.path.getsize(path) * (1 if path.endswith(".fits") else 4)
    return int(400 + 12 * size / 1e6)


def frame_runtime_min(path):
    return int(5 + os.path.getsize(path) / 20e6)
