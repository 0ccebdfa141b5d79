"""Processed calibrations on disk (the caldb equivalent): :func:`scan_processed` makes
association candidates of the processed biases, flats and fringes under folders (the
workflow's ``calibration_dirs``), :func:`associate_bpm` finds a frame's processed BPM there;
``gmos caldb`` keeps a TSV index to list, add to and remove from."""

from __future__ import annotations

import logging
import os

import pandas as pd

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


def _fits_under(dirs) -> list[str]:
    out = []
    for d in dirs:
        for root, _, files in os.walk(d):
            out.extend(os.path.join(root, f) for f in sorted(files)
                       if f.lower().endswith((".fits", ".fits.gz", ".fits.bz2")))
    return sorted(out)


def _table(rows: list[dict]) -> pd.DataFrame:
    cols = ["name", "caltype", "path", "origin", *[c for c in COLUMNS if c != "path"]]
    return pd.DataFrame(rows, columns=cols)


def scan_processed(dirs) -> pd.DataFrame:
    """Candidates table of the processed calibrations under ``dirs``; unreadable files in
    ``table.attrs["problems"]`` ('PATH: problem')."""
    problems: list[str] = []
    rows = [r for r in (describe_processed(p, problems) for p in _fits_under(dirs))
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


def _bpm_row(path: str) -> dict | None:
    """path, instrument, binning, valid-from date and array names of a processed BPM, or
    None (logged when a BPM's headers lack what association needs)."""
    from gmoslib.instrument.descriptors import Descriptors
    from gmoslib.io.fitsio import read_headers

    try:
        phu, exts = read_headers(path)
    except (FitsReadError, OSError):
        return None
    desc = Descriptors(phu, exts, path)
    try:
        if "BPM" not in desc.tags():
            return None
        return {"path": os.path.abspath(path), "instrument": desc.instrument(),
                "binning": (desc.detector_x_bin(), desc.detector_y_bin()),
                "when": desc.ut_datetime(), "array_name": set(desc.array_name())}
    except DescriptorError as exc:
        _log.warning("processed BPM %s is not usable for association: %s", path, exc)
        return None


def associate_bpm(dirs, frame_desc) -> str | None:
    """Path of the processed BPM under ``dirs`` for a raw frame (its Descriptors) by the
    archive rule of reference 6.2: same instrument and binning, dated no later than the frame,
    its AMPNAMEs including the frame's; the most recent wins (ties: the path).  None if none."""
    want_inst = frame_desc.instrument()
    want_bin = (frame_desc.detector_x_bin(), frame_desc.detector_y_bin())
    when = frame_desc.ut_datetime()
    amps = set(frame_desc.array_name())
    rows = [r for r in (_bpm_row(p) for p in _fits_under(dirs)) if r is not None]
    ok = [r for r in rows if r["instrument"] == want_inst and r["binning"] == want_bin
          and r["when"] <= when and amps <= r["array_name"]]
    if not ok:
        if rows:
            _log.info("no processed BPM for %s among %d in %s (instrument, binning, date or "
                      "amplifiers differ)", frame_desc.filename, len(rows), list(dirs))
        return None
    best = max(ok, key=lambda r: (r["when"], r["path"]))
    _log.info("processed BPM for %s: %s", frame_desc.filename, best["path"])
    return best["path"]


def bpm_for(user_bpm: str | None, dirs, raw_path: str) -> str | None:
    """The static BPM of a job: the user's ``bpm:`` file when given, else the processed BPM
    in ``dirs`` for the raw frame ``raw_path`` (:func:`associate_bpm`), else None."""
    if user_bpm or not dirs:
        return user_bpm or None
    from gmoslib.instrument.descriptors import Descriptors
    from gmoslib.io.fitsio import read_headers

    phu, exts = read_headers(raw_path)
    return associate_bpm(dirs, Descriptors(phu, exts, raw_path))


def read_bpm(user_bpm: str | None, dirs, raw_path: str):
    """The frame of :func:`bpm_for`, read, or None."""
    from gmoslib.io.fitsio import read_frame

    path = bpm_for(user_bpm, dirs, raw_path)
    return read_frame(path) if path else None
