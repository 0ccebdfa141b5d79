"""Processed calibrations on disk (the caldb equivalent): :func:`scan_processed` makes
association candidates of the processed biases, flats and fringes under folders (the
workflow's ``calibration_dirs``; a frame's processed BPM there is found by
:func:`gmoslib.calibration.association.associate_bpm`); ``gmos caldb`` keeps a TSV index to
list, add to and remove from."""

from __future__ import annotations

import logging
import os

import pandas as pd

from gmoslib.calibration.association import fits_under
from gmoslib.instrument.descriptors import DescriptorError
from gmoslib.instrument.manifest_row import describe
from gmoslib.io.errors import FitsReadError
from gmoslib.workflow.manifest import COLUMNS, frame_root

_log = logging.getLogger(__name__)

CALTYPE_OF_TAG = (("BIAS", "processed_bias"), ("FLAT", "processed_flat"),
                  ("FRINGE", "processed_fringe"))
DEFAULT_INDEX = "calibrations/caldb.tsv"


def describe_processed(path: str, problems: list[str] | None = None) -> dict | None:
    """Candidate row of one processed calibration, or None (an unreadable file is also noted
    in ``problems`` as 'PATH: problem')."""
    from gmoslib.io.fitsio import read_headers

    try:
        phu, exts = read_headers(path)
        row = describe(phu, exts, path)
    except (FitsReadError, DescriptorError, OSError) as exc:
        if problems is not None:
            text = str(exc)
            problems.append(text if text.startswith(path) else f"{path}: {text}")
        return None
    tags = set(row["tags"].split(","))
    if "PROCESSED" not in tags or "BPM" in tags:
        return None  # (a DRAGONS BPM has OBSTYPE BIAS: it is associated by associate_bpm)
    for tag, caltype in CALTYPE_OF_TAG:
        if tag in tags:
            row.update(name=frame_root(path).rsplit("_", 1)[0], caltype=caltype,
                       path=os.path.abspath(path), origin="caldb",
                       frame=frame_root(path), usable=True, reason="")
            return row
    return None


def _table(rows: list[dict]) -> pd.DataFrame:
    cols = ["name", "caltype", "path", "origin", *[c for c in COLUMNS if c != "path"]]
    return pd.DataFrame(rows, columns=cols)


def scan_processed(dirs) -> pd.DataFrame:
    """Candidates table of the processed calibrations under ``dirs``; unreadable files in
    ``table.attrs["problems"]`` ('PATH: problem')."""
    problems: list[str] = []
    rows = [r for r in (describe_processed(p, problems) for p in fits_under(dirs))
            if r is not None]
    table = _table(rows)
    table.attrs["problems"] = problems
    return table


def problems_note(table: pd.DataFrame) -> str:
    """'' or one note per calibration file that could not be read (for the run's output)."""
    return "\n".join(f"gmos-snake: note: calibration_dirs: {p} (not used)"
                      for p in table.attrs.get("problems", []))


def caldb_list(index_path: str) -> pd.DataFrame:
    if not os.path.exists(index_path):
        return _table([])
    return pd.read_csv(index_path, sep="\t", keep_default_na=False)


def caldb_add(index_path: str, files) -> pd.DataFrame:
    table = caldb_list(index_path)
    rows = []
    for f in files:
        row = describe_processed(f)
        if row is None:
            raise ValueError(f"{f} is not a processed bias, flat or fringe")
        rows.append(row)
    new = _table(rows)
    table = pd.concat([table[~table["path"].isin(new["path"])], new], ignore_index=True) \
        if not table.empty else new
    _write(index_path, table)
    return table


def caldb_remove(index_path: str, files) -> pd.DataFrame:
    table = caldb_list(index_path)
    gone = {os.path.abspath(f) for f in files}
    table = table[~table["path"].isin(gone)]
    _write(index_path, table)
    return table


def _write(index_path: str, table: pd.DataFrame):
    from gmoslib.io.fitsio import atomic_output

    with atomic_output(index_path) as tmp:
        table.to_csv(tmp, sep="\t", index=False)


def add_subcommand(subparsers) -> None:
    p = subparsers.add_parser("caldb", help="list / add / remove processed calibrations")
    p.add_argument("action", choices=["list", "add", "remove", "scan"])
    p.add_argument("files", nargs="*", help="processed files (add/remove) or folders (scan)")
    p.add_argument("--index", default=DEFAULT_INDEX, help=f"index TSV (default {DEFAULT_INDEX})")
    p.set_defaults(func=_cli)


def _cli(args) -> int:
    if args.action == "add":
        table = caldb_add(args.index, args.files)
    elif args.action == "remove":
        table = caldb_remove(args.index, args.files)
    elif args.action == "scan":
        table = scan_processed(args.files or ["calibrations"])
    else:
        table = caldb_list(args.index)
    cols = ["name", "caltype", "ut_date", "binning", "filter", "path"]
    print(table[cols].to_string(index=False) if not table.empty else "(no calibrations)")
    if problems_note(table):
        print(problems_note(table))
    return 0
