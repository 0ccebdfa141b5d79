"""Products of frames no longer in the raw directory (removed, or set aside by the manifest):
reported after a run and, with ``stale_products: move``, moved into ``stale/`` (same relative
path), never deleted.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

from gmoslib.workflow.manifest import first_names

#: Folders of products, relative to the working directory (files named NAME_... or NAME.*).
PRODUCT_FOLDERS = ("calibrations/processed_bias", "calibrations/processed_flat",
                   "calibrations/processed_fringe", "work/mosaic", "results",
                   "results/aligned", "qa/raw", "qa/calibrations", "qa/mosaic", "qa/stack")
STALE_DIR = "stale"


def find_stale(workdir: str, names: Iterable[str]) -> list[str]:
    """Product files (relative paths, sorted) whose name starts with none of ``names``
    (current frames and groups) followed by '_' or '.'; hidden files (temporaries) left out."""
    keys = {n for n in names if n}
    out = []
    for folder in PRODUCT_FOLDERS:
        top = os.path.join(workdir, folder)
        if not os.path.isdir(top):
            continue
        for entry in sorted(os.scandir(top), key=lambda e: e.name):
            name = entry.name
            if name.startswith(".") or not entry.is_file(follow_symlinks=False):
                continue
            cut = [i for i, c in enumerate(name) if c in "_."]
            if not any(name[:i] in keys for i in cut):
                out.append(os.path.join(folder, name))
    return sorted(out)


def move_aside(workdir: str, paths: Iterable[str]) -> list[str]:
    """Move products (relative paths) to ``stale/<same path>`` (replacing any file there);
    returns the new relative paths."""
    moved = []
    for rel in paths:
        dest = os.path.join(STALE_DIR, rel)
        os.makedirs(os.path.join(workdir, os.path.dirname(dest)), exist_ok=True)
        os.replace(os.path.join(workdir, rel), os.path.join(workdir, dest))
        moved.append(dest)
    return moved


def stale_note(paths: list[str], moved: bool, max_names: int = 5) -> str:
    """One line about the stale products ('' when there are none)."""
    if not paths:
        return ""
    what = (f"moved to {STALE_DIR}/" if moved else
            "kept (set stale_products: move to move them to stale/)")
    return (f"gmos-snake: note: {len(paths)} product(s) of frames no longer in the raw "
            f"directory (or no longer usable) {what}: {first_names(paths, max_names)}")
