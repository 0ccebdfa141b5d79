"""Raw files that hold the same exposure: each exposure is used once.

Copies among usable manifest rows: the same frame name (``X.fits`` and ``X.fits.bz2``), the
same bytes (SHA-256), or the same PHU ``DATALAB`` and ``ut_datetime``.  A DATALAB alone is not
enough (merged sets may repeat one): :func:`datalab_conflicts` reports those.  In the
manifest's order the first row of an exposure is kept; later copies become ``usable=False``
with the reason ``"duplicate of NAME (why)"``, NAME the file name of the row kept.
"""

from __future__ import annotations

import os

import pandas as pd


def _key_text(value) -> str:
    return "" if value is None or value is pd.NA else str(value).strip()


def mark_duplicates(table: pd.DataFrame) -> pd.DataFrame:
    """A copy of a manifest (sorted by ``build_manifest``) with later copies made unusable."""
    out = table.copy()
    by_frame: dict[str, str] = {}
    by_sha: dict[str, str] = {}
    by_label: dict[tuple[str, str], str] = {}
    for i in out.index:
        if not bool(out.at[i, "usable"]):
            continue
        name = os.path.basename(str(out.at[i, "path"]))
        frame = _key_text(out.at[i, "frame"])
        sha = _key_text(out.at[i, "sha256"])
        label = (_key_text(out.at[i, "data_label"]), _key_text(out.at[i, "ut_datetime"]))
        reason = ""
        if frame in by_frame:
            reason = f"duplicate of {by_frame[frame]}"
        elif sha and sha in by_sha:
            reason = f"duplicate of {by_sha[sha]} (same content, SHA-256 {sha[:12]}...)"
        elif all(label) and label in by_label:
            reason = (f"duplicate of {by_label[label]} (same DATALAB {label[0]} and start "
                      f"time {label[1]}, other bytes)")
        if reason:
            out.at[i, "usable"] = False
            out.at[i, "reason"] = reason
            continue
        by_frame[frame] = name
        if sha:
            by_sha[sha] = name
        if all(label):
            by_label[label] = name
    return out


def datalab_conflicts(table: pd.DataFrame) -> list[str]:
    """A warning line per DATALAB shared by usable rows with different start times (kept as
    different exposures)."""
    usable = table[table["usable"] & (table["data_label"].fillna("").str.strip() != "")]
    lines = []
    for label, rows in usable.groupby("data_label", sort=True):
        if len(rows) > 1:
            names = ", ".join(os.path.basename(str(p)) for p in rows["path"])
            lines.append(f"DATALAB {label} is shared by {len(rows)} files with different "
                         f"start times ({names}): all are used as different exposures")
    return lines


def duplicate_rows(table: pd.DataFrame) -> pd.DataFrame:
    """The rows made unusable as duplicates."""
    reason = table["reason"].fillna("").astype(str)
    return table[~table["usable"].astype(bool) & reason.str.startswith("duplicate of ")]
