"""Where the gmos-snake workflow (Snakefile, rules/, scripts/, config/, report/, envs/,
profiles/) is: beside the gmoslib package in a repository checkout, else in the share folder
an installed wheel puts it in (``pyproject.toml``: ``[tool.setuptools.data-files]``,
``<prefix>/share/gmos-snake``).
"""

from __future__ import annotations

import contextlib
import sys
import sysconfig
from pathlib import Path

#: The folder, under an installation prefix, that holds an installed copy of the workflow.
SHARE = Path("share") / "gmos-snake"


def candidates() -> list[Path]:
    """Folders searched for the workflow, in order: the checkout gmoslib sits in, then the
    share folder of this Python's prefixes (a venv, the base installation, a --user one)."""
    found = [Path(__file__).resolve().parents[2]]
    prefixes = [sys.prefix, sys.base_prefix, sysconfig.get_path("data")]
    with contextlib.suppress(KeyError):  # (no user scheme on this platform)
        prefixes.append(sysconfig.get_path("data", "posix_user"))
    for prefix in prefixes:
        path = Path(prefix) / SHARE
        if path not in found:
            found.append(path)
    return found


def workflow_dir() -> Path:
    """The folder holding the workflow's Snakefile (FileNotFoundError naming the folders
    searched when there is none)."""
    for folder in candidates():
        if (folder / "Snakefile").is_file() and (folder / "rules").is_dir():
            return folder
    raise FileNotFoundError(
        "the gmos-snake workflow (Snakefile and rules/) is neither beside gmoslib nor "
        f"installed; searched {', '.join(str(c) for c in candidates())}: install gmoslib from "
        "the repository (pip install .) or run from a checkout")


def snakefile() -> Path:
    return workflow_dir() / "Snakefile"


def schema_path() -> Path:
    return workflow_dir() / "config" / "schema.yaml"
