"""Topping up a manifest: adding a night to thousands of raw files reads only the new ones.

A row is reused when its file has the same path, size, mtime (ns) and inode, the row holds a
checksum, and the same gmoslib code made it (:func:`describer_digest`); duplicate rows are
always remade.  The previous manifest is kept as ``manifest/manifest.reuse.tsv`` (Snakemake
removes a job's declared output before the job runs).
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import pandas as pd

#: First line of a reuse file: this tag and the digest of the code that made its rows.
DIGEST_TAG = "# gmos-snake manifest rows made by gmoslib "


def describer_digest() -> str:
    """SHA-256 (16 hex digits) of gmoslib's Python sources: rows made by other code (whose
    descriptors or checks may differ) are never reused."""
    h = hashlib.sha256()
    root = Path(__file__).resolve().parents[1]
    for path in sorted(root.rglob("*.py")):
        if "sim" in path.relative_to(root).parts:
            continue
        h.update(path.relative_to(root).as_posix().encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:16]


def reusable_rows(previous: pd.DataFrame | None, paths: list[str]) -> pd.DataFrame:
    """The rows of ``previous`` (a manifest table) whose files, among ``paths``, are
    unchanged since it hashed them (an empty table when there is none)."""
    if previous is None or previous.empty:
        return previous.iloc[:0] if previous is not None else pd.DataFrame()
    wanted = {os.path.abspath(p) for p in paths}
    keep = []
    for path, reason, usable, sha, size, mtime, inode in zip(
            previous["path"], previous["reason"], previous["usable"], previous["sha256"],
            previous["size_bytes"], previous["mtime_ns"], previous["inode"], strict=True):
        # (an unreadable file may have been a passing read error: it is read again)
        keep.append(path in wanted and not str(reason).startswith("duplicate of")
                    and not (not usable and str(reason).startswith("unreadable"))
                    and not any(pd.isna(v) for v in (sha, size, mtime, inode)) and bool(str(sha))
                    and _stat(path) == (int(size), int(mtime), int(inode)))
    return previous[keep]


def _stat(path: str) -> tuple[int, int, int] | None:
    """(size in bytes, modification time in ns, inode) of a file, or None if it is gone."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_size, st.st_mtime_ns, st.st_ino


def write_reuse_file(manifest_path: str, path: str) -> None:
    """Keep a manifest TSV for the next top-up, tagged with the code's digest (atomic)."""
    from gmoslib.io.fitsio import atomic_output

    # bytes: raw file names that are not UTF-8 are kept as they are (surrogate escapes)
    with open(manifest_path, "rb") as src, atomic_output(path) as tmp, open(tmp, "wb") as fh:
        fh.write(f"{DIGEST_TAG}{describer_digest()}\n".encode())
        shutil.copyfileobj(src, fh)


def read_reuse_file(path: str) -> pd.DataFrame | None:
    """The table kept by :func:`write_reuse_file`, or None when there is none, it cannot be
    read, or other code made it."""
    from gmoslib.workflow.manifest import read_manifest

    try:
        with open(path, errors="surrogateescape") as fh:
            if fh.readline().strip() != f"{DIGEST_TAG}{describer_digest()}":
                return None
            return read_manifest(fh)
    except (ValueError, OSError, pd.errors.ParserError):
        return None
