"""The workflow's checks before any job (config paths exist, output folders writable; each
raises :class:`gmoslib.workflow.plan.PlanningError` naming the key or folder and what to do),
its jobs' resource requests, and its notes at the end of a run.  No Snakemake import."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterable, Mapping

from gmoslib.workflow.plan import MANIFEST, PlanningError

#: Top-level folders the workflow writes under the working directory.
OUTPUT_DIRS = ("manifest", "calibrations", "work", "results", "logs", "benchmarks")


def config_path_problems(config: Mapping) -> list[str]:
    """One line per file or folder named in the config that is not there."""
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
        for p in paths:  # may be products of this run: only what exists is checked
            if os.path.exists(p) and not os.path.isfile(p):
                problems.append(f"align_and_stack.{name}: {p} is not a regular file "
                                "(a folder or a device): name reduced stacks or mosaics")
    for caltype, path in sorted(config["user_cal"].items()):
        if path and not os.path.isfile(path):
            problems.append(f"user_cal.{caltype}: {path} "
                            + (folder if os.path.isdir(path) else "does not exist"))
    return problems


def check_config_paths(config: Mapping) -> None:
    """PlanningError unless the files and folders named in the config exist."""
    problems = config_path_problems(config)
    if problems:
        raise PlanningError(
            "the configuration names files or folders that are not there (paths are relative "
            f"to the working directory {os.getcwd()}):\n  " + "\n  ".join(problems)
            + "\nCorrect or remove these keys (--config or --configfile).")


def check_writable(workdir: str = ".") -> None:
    """PlanningError unless the working directory and existing output folders are writable
    (tried with a temporary file: permission bits say nothing for root)."""
    dirs = [workdir]
    for top in OUTPUT_DIRS:
        top = os.path.join(workdir, top)
        if os.path.isdir(top):
            dirs.append(top)
            dirs += sorted(e.path for e in os.scandir(top) if e.is_dir())
    for d in dirs:
        try:
            fd, tmp = tempfile.mkstemp(prefix=".gmos-snake-write-test-", dir=d)
            os.close(fd)
            os.remove(tmp)
        except OSError as exc:
            raise PlanningError(
                f"output folder {os.path.abspath(d)} is not writable ({exc.strerror}): every "
                "product is written under the working directory (snakemake -d NIGHT_DIR); "
                "make it writable or choose another working directory") from None


# -- resource requests (MB of memory, minutes of runtime) ---------------------------------
def stack_mem_mb(paths: Iterable[str], stack_memory_mb: float) -> int:
    """Memory request of a stacking job: two prepared frames in flight (2 threads; SCI+VAR+DQ,
    ~5x a raw uint16 frame each) plus the stacking budget, whatever the number of frames."""
    paths = list(paths)
    largest = max((os.path.getsize(p) for p in paths), default=0)
    raw_factor = 1 if all(p.endswith(".fits") for p in paths) else 4
    return int(300 + 10 * raw_factor * largest / 1e6 + stack_memory_mb)


def stack_runtime_min(paths: Iterable[str]) -> int:
    """Runtime request (minutes): grows with the total input size."""
    return int(5 + sum(os.path.getsize(p) for p in paths) / 50e6)


def frame_mem_mb(path: str) -> int:
    """Memory request of a per-frame job: the frame as SCI+VAR+DQ and its mosaic (a compressed
    raw file is ~4x larger decompressed)."""
    return int(400 + 12 * os.path.getsize(path) * (1 if path.endswith(".fits") else 4) / 1e6)


def frame_runtime_min(path: str) -> int:
    return int(5 + os.path.getsize(path) / 20e6)


# -- notes at the end of a run ------------------------------------------------------------
def skipped_line(manifest_path: str = MANIFEST) -> str:
    """'' or the line about the raw files the manifest skipped, and why."""
    if not os.path.exists(manifest_path):
        return ""
    from gmoslib.workflow.manifest import read_manifest, skipped_summary

    return skipped_summary(read_manifest(manifest_path), manifest_path)


def stale_line(current_names: Callable[[], set[str]], move: bool, workdir: str = ".") -> str:
    """'' or the line about products of frames no longer in the raw directory (moved to
    stale/ when ``move``)."""
    if not os.path.exists(os.path.join(workdir, MANIFEST)):
        return ""
    from gmoslib.workflow.stale import find_stale, move_aside, stale_note

    try:
        names = current_names()
    except Exception as exc:  # noqa: BLE001 -- a note at the end must not hide the run's outcome
        return f"gmos-snake: note: old products not checked ({exc})".splitlines()[0]
    paths = find_stale(workdir, names)
    if move and paths:
        move_aside(workdir, paths)
    return stale_note(paths, moved=bool(move))
