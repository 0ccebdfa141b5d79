"""Topping up a manifest: rows of files unchanged since the previous manifest are reused, so
that adding a night to a raw directory of thousands of files hashes and reads only the new
files.

A row is reused when its file has the same path, size, modification time (ns) and inode as
when it was hashed, the row holds a checksum, and the previous manifest was made by the same
gmoslib code (:func:`describer_digest`); a row marked as a duplicate is always made again
(the duplicate it named may be gone).  The workflow keeps the previous manifest beside the
new one (``manifest/manifest.reuse.tsv``): Snakemake removes a job's declared output before
the job runs.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pandas as pd

#: First line of a reuse file: this tag and the digest of the code that made its rows.
DIGEST_TAG = "# gmos-snake manifest rows made by gmoslib "


def describer_digest() -> str:
    """SHA-256 (16 hex digits) of gmoslib's Python sources: rows made by other code (whose
    descriptors or checks may differ) are never reused."""
    h = hashlib.sha256()
    root = Path(__file__).resolve().parent
    for path in sorted(root.glob("*.py")):
        h.update(path.name.encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:16]


def reusable_rows(previous: pd.DataFrame | None, paths: list[str]) -> dict[str, dict]:
    """{absolute path: previous row} for the files of ``paths`` unchanged since ``previous``
    (a manifest table) hashed them."""
    if previous is None or previous.empty:
        return {}
    wanted = {os.path.abspath(p) for p in paths}
    out: dict[str, dict] = {}
    for rec in previous.to_dict("records"):
        path = str(rec["path"])
        if path not in wanted or str(rec["reason"]).startswith("duplicate of"):
            continue
        if any(pd.isna(rec[c]) for c in ("sha256", "size_bytes", "mtime_ns", "inode")) or \
                not str(rec["sha256"]):
            continue
        try:
            st = os.stat(path)
        except OSError:
            continue
        if (st.st_size, st.st_mtime_ns, st.st_ino) == (int(rec["size_bytes"]),
                                                       int(rec["mtime_ns"]),
                                                       int(rec["inode"])):
            if not rec["usable"] and str(rec["reason"]).startswith("unreadable"):
                continue  # may have been a passing read error: read it again
            out[path] = rec
    return out


def write_reuse_file(table: pd.DataFrame, path: str) -> None:
    """Keep a manifest table for the next top-up, tagged with the code's digest (atomic)."""
    from .fitsio import atomic_output

    with atomic_output(path) as tmp, open(tmp, "w") as fh:
        fh.write(f"{DIGEST_TAG}{describer_digest()}\n")
        table.to_csv(fh, sep="\t", index=False, na_rep="")


def read_reuse_file(path: str) -> pd.DataFrame | None:
    """The table kept by :func:`write_reuse_file`, or None when there is none, it cannot be
    read, or other code made it."""
    from .manifest import read_manifest

    try:
        with open(path) as fh:
            first = fh.readline()
    except OSError:
        return None
    if first.strip() != f"{DIGEST_TAG}{describer_digest()}":
        return None
    try:
        import io

        with open(path) as fh:
            fh.readline()
            return read_manifest(io.StringIO(fh.read()))
    except (ValueError, OSError, pd.errors.ParserError):
        return None
