"""Where the workflow (Snakefile, rules/, config/, ...) is: beside gmoslib in a checkout, else
in ``<prefix>/share/gmos-snake`` of an installed wheel (``pyproject.toml`` data-files).
"""

from __future__ import annotations

import contextlib
import sys
import sysconfig
from pathlib import Path

#: The workflow's folder under an installation prefix.
SHARE = Path("share") / "gmos-snake"


def candidates() -> list[Path]:
    """Folders searched for the workflow: gmoslib's checkout, then :data:`SHARE` under this
    Python's prefixes (venv, base, --user)."""
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
    """The folder of the workflow's Snakefile (FileNotFoundError naming the folders searched)."""
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
