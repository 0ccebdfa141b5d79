# Thin wrappers around gmoslib: manifest loading and calibration association as Snakemake
# input functions.  The logic lives in gmoslib.calib / gmoslib.caldb (tested without Snakemake);
# this file only turns its answers into paths.

import functools
import os
import sys
import tempfile

from gmoslib import calib, caldb, planning, rawdir, recipes_table
from gmoslib.errors import DescriptorError, FitsReadError
from gmoslib.manifest import read_manifest, skipped_summary

RAW_DIR = config["raw_dir"]
# The raw files the manifest reads are its input, so adding or removing one reruns the
# manifest (Snakemake's input-set rerun trigger) and, through it, only what association
# changes.  Entries the manifest sets aside without reading (dangling links, folders, pipes,
# unreadable files) are not inputs -- Snakemake would fail on them -- but their names are a
# parameter, so that they too remake the manifest (gmoslib.rawdir).
RAW_FILES = rawdir.workflow_inputs(RAW_DIR)
RAW_LISTING = rawdir.listing_signature(RAW_DIR)
# A missing raw_dir is reported by the manifest rule (so that --lint and --dry-run of the
# bare workflow still parse).

MANIFEST = "manifest/manifest.tsv"
MANIFEST_REUSE = "manifest/manifest.reuse.tsv"
BIAS_PATH = "calibrations/processed_bias/{name}_bias.fits"
FLAT_PATH = "calibrations/processed_flat/{name}_flat.fits"
FRINGE_PATH = "calibrations/processed_fringe/{name}_fringe.fits"
STACK_PATH = f"results/{{name}}{config['output_suffix']}.fits"
BATCH_PATH = "work/batches/{name}.txt"
GAP_DAYS = config["calibration_group_max_gap_days"]
SPAN_DAYS = config["calibration_group_max_span_days"]
STACK_MEMORY_BYTES = config["stack_memory_mb"] * 1024 * 1024


wildcard_constraints:
    name=r"[^/]+",
    frame=r"[^/]+",


OUTPUT_DIRS = ("manifest", "calibrations", "work", "results", "logs", "benchmarks")


def check_config_paths():
    """Files and folders named in the config exist (checked before any job runs)."""
    problems = []
    folder = ("is a folder, not a file: name the file itself (folders of processed "
              "calibrations go in calibration_dirs)")
    if config["bpm"] and not os.path.isfile(config["bpm"]):
        problems.append(f"bpm: {config['bpm']} "
                        + (folder if os.path.isdir(config["bpm"]) else "does not exist"))
    for d in config["calibration_dirs"]:
        if not os.path.isdir(d):
            problems.append(f"calibration_dirs: {d} is not a directory")
    for name, paths in sorted(config["align_and_stack"].items()):
        for p in paths:  # (may be products of this run: only what exists is checked)
            if os.path.exists(p) and not os.path.isfile(p):
                problems.append(f"align_and_stack.{name}: {p} is not a regular file "
                                "(a folder or a device): name reduced stacks or mosaics")
    for caltype, path in sorted(config["user_cal"].items()):
        if path and not os.path.isfile(path):
            problems.append(f"user_cal.{caltype}: {path} "
                            + (folder if os.path.isdir(path) else "does not exist"))
    if problems:
        raise WorkflowError(
            "the configuration names files or folders that are not there (paths are relative "
            f"to the working directory {os.getcwd()}):\n  " + "\n  ".join(problems)
            + "\nCorrect or remove these keys (--config or --configfile).")


def check_writable():
    """The working directory and the output folders that already exist can be written to
    (tried with a temporary file: permission bits alone say nothing for root)."""
    dirs = ["."]
    for top in OUTPUT_DIRS:
        if os.path.isdir(top):
            dirs.append(top)
            dirs += sorted(e.path for e in os.scandir(top) if e.is_dir())
    for d in dirs:
        try:
            fd, tmp = tempfile.mkstemp(prefix=".gmos-snake-write-test-", dir=d)
            os.close(fd)
            os.remove(tmp)
        except OSError as exc:
            raise WorkflowError(
                f"output folder {os.path.abspath(d)} is not writable ({exc.strerror}): every "
                "product is written under the working directory (snakemake -d NIGHT_DIR); "
                "make it writable or choose another working directory") from None


@functools.cache
def _load_manifest(path, mtime):
    return read_manifest(path)


def manifest():
    """The manifest table, available once the manifest checkpoint has run."""
    path = checkpoints.manifest.get().output.tsv
    return _load_manifest(path, os.path.getmtime(path))


@functools.cache
def _processed_candidates(dirs):
    table = caldb.scan_processed(list(dirs))
    note = caldb.problems_note(table)  # (once per run: the scan is cached)
    if note:
        print(note, file=sys.stderr)
    return table


@functools.cache
def _plan(path, mtime, dirs):
    return planning.Plan(
        _load_manifest(path, mtime),
        paths={"processed_bias": BIAS_PATH, "processed_flat": FLAT_PATH,
               "processed_fringe": FRINGE_PATH},
        max_gap_days=GAP_DAYS, max_span_days=SPAN_DAYS,
        stack_per_night=config["stack_per_night"], fringe_policy=config["fringe"],
        min_dither=step_params("makeFringeFrame")["min_dither"],
        on_disk=_processed_candidates(dirs),
        frames_per_job=config["frames_per_cluster_job"])


def plan():
    """Groups and associations of the manifest (gmoslib.planning.Plan), each made once."""
    path = checkpoints.manifest.get().output.tsv
    return _plan(path, os.path.getmtime(path), tuple(config["calibration_dirs"]))


def bias_groups():
    return plan().bias_groups


def flat_groups():
    return plan().flat_groups


def candidates(caltype):
    """Masters the workflow can build plus processed calibrations found on disk."""
    return plan().candidates(caltype)


def skipped_note():
    """'' or a sentence about the raw files the manifest skipped (for error messages)."""
    path = checkpoints.manifest.get().output.tsv
    line = skipped_summary(_load_manifest(path, os.path.getmtime(path)), MANIFEST)
    return f"\n(Note: {line.removeprefix('gmos-snake: ')})" if line else ""


def require_usable():
    """Stop when the manifest holds no usable file: nothing could be reduced."""
    table = manifest()
    if not table["usable"].any():
        raise WorkflowError(
            f"raw_dir {RAW_DIR!r} holds {len(table)} FITS files but no usable raw GMOS "
            f"imaging file (bias, twilight flat or science): see the reasons in {MANIFEST}"
            + skipped_note())


def existing_raw(paths):
    """The raw paths, after checking they still exist (the manifest may be older)."""
    missing = [p for p in paths if not os.path.exists(p)]
    if missing:
        verb = "is" if len(missing) == 1 else "are"
        raise WorkflowError(
            f"{', '.join(missing)} {verb} listed in {MANIFEST} but no longer exist"
            f"{'s' if verb == 'is' else ''} (moved or deleted after the manifest was made): "
            "put the file back, or run again so that the manifest is remade without it "
            f"(delete {MANIFEST} if the run does not remake it)")
    return paths


def usable_rows():
    """The usable manifest rows indexed by frame (unique: duplicates are never usable)."""
    return plan().usable


def frames_paths(frames):
    table = usable_rows()
    return existing_raw([table.at[f, "path"] for f in frames])


def raw_checksums(paths):
    """{path: [sha256, size_bytes, mtime_ns, inode]} of raw input files from the manifest, which
    hashed every raw file: a job takes them for its provenance instead of hashing its
    inputs again (gmoslib.fitsio.remember_sha256 checks that each file is unchanged)."""
    known = plan().checksums
    return {p: known[os.path.abspath(p)] for p in paths if os.path.abspath(p) in known}


def group_raw_files(groups_fn):
    def inner(wildcards):
        groups = groups_fn()
        if wildcards.name not in groups:
            raise WorkflowError(f"no calibration group named {wildcards.name!r} in {MANIFEST}")
        return frames_paths(groups[wildcards.name])

    return inner


def calibration_for(frame, caltype):
    """Path of the calibration of type caltype associated with one manifest frame."""
    p = plan()
    try:
        return calib.associate_path(
            p.row(frame), p.candidates(caltype), caltype, config["user_cal"],
            find=p.finder(caltype),
        )
    except (calib.CalibrationNotFoundError, FitsReadError, DescriptorError) as exc:
        kind = calib.KIND_OF[caltype]
        if config["user_cal"].get(caltype):
            todo = f"correct or remove user_cal.{caltype}"
        else:
            todo = (f"add matching raw {kind} frames to raw_dir, a processed {kind} to a "
                    f"folder of calibration_dirs, or name one with user_cal.{caltype}; "
                    f"or move {frame} out of raw_dir")
        raise WorkflowError(f"{exc}\nWhat to do: {todo}.{skipped_note()}") from None


def flat_bias(wildcards):
    """The master bias that serves a twilight group (associated from its first frame)."""
    return calibration_for(wildcards.name, "processed_bias")


def all_calibrations(wildcards):
    require_usable()
    paths = [BIAS_PATH.format(name=n) for n in bias_groups()]
    paths += [FLAT_PATH.format(name=n) for n in flat_groups()]
    return paths + all_fringes(wildcards)


def science_groups():
    return plan().science_groups


def science_batches():
    return plan().science_batches


def stack_batches(wildcards):
    """The batch lists of a stack's frames (they join each night's frames in one group job)."""
    return [BATCH_PATH.format(name=b) for b in plan().batches_of_stack[wildcards.name]]


def science_raw(wildcards):
    return existing_raw([usable_rows().at[wildcards.frame, "path"]])[0]


def fringe_groups():
    """Science groups from which the workflow can build a fringe frame (name -> frames)."""
    return plan().fringe_groups


def fringe_raw_files(wildcards):
    groups = fringe_groups()
    if wildcards.name not in groups:
        raise WorkflowError(
            f"no science group named {wildcards.name!r} can make a fringe frame "
            f"(see {MANIFEST}; 3 dithered frames needing fringe correction are required)")
    return frames_paths(groups[wildcards.name])


def fringe_biases(wildcards):
    return [calibration_for(f, "processed_bias") for f in fringe_groups()[wildcards.name]]


def fringe_flats(wildcards):
    return [calibration_for(f, "processed_flat") for f in fringe_groups()[wildcards.name]]


def science_fringe(wildcards):
    return fringe_for(wildcards.frame)


def fringe_for(frame):
    """The processed fringe of one science frame, or nothing when none is wanted.  A frame
    that needs one and cannot have one stops the workflow before any processing."""
    row = plan().row(frame)
    if not calib.fringe_wanted(config["fringe"], row["filter"], row["detector"]):
        return []
    p = plan()
    try:
        return calib.associate_path(
            row, p.candidates("processed_fringe"), "processed_fringe", config["user_cal"],
            find=p.finder("processed_fringe"),
        )
    except (calib.CalibrationNotFoundError, FitsReadError, DescriptorError) as exc:
        if config["user_cal"].get("processed_fringe"):
            raise WorkflowError(
                f"{exc}\nWhat to do: correct or remove user_cal.processed_fringe."
            ) from None
        group = p.science_group_of[frame]
        why = calib.fringe_group_problem(
            manifest(), science_groups()[group],
            min_dither=step_params("makeFringeFrame")["min_dither"])
        raise WorkflowError(
            f"{frame} ({row['filter']} on {row['detector']}) needs fringe correction "
            f"(config fringe: {config['fringe']}) but there is no processed fringe for it: "
            f"{exc}; and its science group {group} cannot make one: {why}. Put a processed "
            "fringe in a folder of calibration_dirs, name one in user_cal.processed_fringe, "
            "or set fringe: never to reduce without fringe correction."
        ) from None


def all_fringes(wildcards):
    """The fringe frames the workflow builds that some science frame uses."""
    paths = set()
    for frame in plan().fringe_wanted:
        path = fringe_for(frame)
        if path and path.startswith("calibrations/processed_fringe/"):
            paths.add(path)
    return sorted(paths)


def science_bias(wildcards):
    return calibration_for(wildcards.frame, "processed_bias")


def science_flat(wildcards):
    return calibration_for(wildcards.frame, "processed_flat")


def all_stacks(wildcards):
    require_usable()
    return [STACK_PATH.format(name=n) for n in science_groups()]


def all_products(wildcards):
    return (
        [MANIFEST] + all_calibrations(wildcards) + all_stacks(wildcards) + all_aligned(wildcards)
    )


def step_params(step):
    """Parameters of one step, from the validated config (defaults filled in by the schema).
    Only steps of gmoslib.recipes_table (the `gmos recipes` listing) may be asked for."""
    if step not in recipes_table.STEPS or step not in config["params"]:
        raise WorkflowError(
            f"step_params: {step!r} is not a step of gmoslib.recipes_table with a schema "
            f"entry; steps: {', '.join(recipes_table.STEPS)}"
        )
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


# Previews (drawn by the job that makes each product) and QA tables (made by stack_science).
PREVIEW_MAX_WIDTH = 640  # a report picture stays under 300 kB
# named by the output suffix, like the stack: two parameter sets in one folder keep theirs
QA_RECORDS = f"results/{{name}}{config['output_suffix']}_qa.tsv"
QA_FRAMES = f"results/{{name}}{config['output_suffix']}_qa_frames.tsv"
QA_STACK = f"results/{{name}}{config['output_suffix']}_qa_stack.tsv"
RAW_PNG = "qa/raw/{frame}_raw.png"
BIAS_PNG = "qa/calibrations/{name}_bias.png"
FLAT_PNG = "qa/calibrations/{name}_flat.png"
FRINGE_PNG = "qa/calibrations/{name}_fringe.png"
MOSAIC_PNG = "qa/mosaic/{frame}_mosaic.png"
STACK_PNG = f"qa/stack/{{name}}{config['output_suffix']}.png"


def all_qa(wildcards):
    """Every preview and QA table of the products that `all` builds."""
    groups = science_groups()
    frames = [f for members in groups.values() for f in members]
    paths = [RAW_PNG.format(frame=f) for f in frames]
    paths += [BIAS_PNG.format(name=n) for n in bias_groups()]
    paths += [FLAT_PNG.format(name=n) for n in flat_groups()]
    paths += [
        FRINGE_PNG.format(name=os.path.basename(p)[: -len("_fringe.fits")])
        for p in all_fringes(wildcards)
    ]
    paths += [MOSAIC_PNG.format(frame=f) for f in frames]
    for name in groups:
        paths += [STACK_PNG.format(name=name), QA_FRAMES.format(name=name),
                  QA_STACK.format(name=name)]
    return paths


def print_skipped_summary():
    """One line at the end of the run: raw files the manifest skipped, and why."""
    if os.path.exists(MANIFEST):
        line = skipped_summary(read_manifest(MANIFEST), MANIFEST)
        if line:
            print(line)


def current_names():
    """Frames and groups that products of the current raw directory are named after."""
    table = manifest()
    names = set(table.loc[table["usable"], "frame"])
    for groups in (bias_groups(), flat_groups(), science_groups(), fringe_groups()):
        names.update(groups)
    names.update(config["align_and_stack"])
    return names


def report_stale_products(move):
    """After a run: products of frames no longer in the raw directory, reported (and moved
    to stale/ when move is true: config stale_products: move)."""
    if not os.path.exists(MANIFEST):
        return
    from gmoslib.stale import find_stale, move_aside, stale_note

    try:
        names = current_names()
    except Exception as exc:  # noqa: BLE001 -- a note at the end must not hide the run's outcome
        print(f"gmos-snake: note: old products not checked ({exc})".splitlines()[0],
              file=sys.stderr)
        return
    paths = find_stale(".", names)
    if move and paths:
        move_aside(".", paths)
    line = stale_note(paths, moved=bool(move))
    if line:
        print(line, file=sys.stderr)  # (a note: stdout is for products, e.g. gmos reduce)


def all_biases(wildcards):
    return [BIAS_PATH.format(name=n) for n in bias_groups()]


def all_flats(wildcards):
    return [FLAT_PATH.format(name=n) for n in flat_groups()]


# alignAndStack groups (config align_and_stack: name -> already-reduced stacks)
ALIGNED_PATH = f"results/aligned/{{name}}{config['output_suffix']}.fits"


def aligned_inputs(wildcards):
    groups = config["align_and_stack"]
    if wildcards.name not in groups:
        raise WorkflowError(
            f"no align_and_stack group named {wildcards.name!r} in the config; groups: "
            f"{', '.join(groups) or '(none)'}"
        )
    return list(groups[wildcards.name])


def all_aligned(wildcards):
    return [ALIGNED_PATH.format(name=n) for n in config["align_and_stack"]]
