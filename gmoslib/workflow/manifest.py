"""The manifest: one row per file of a raw directory, with tags, descriptors and checksum.

A file that cannot be used is listed with ``usable=False`` and the reason, never dropped or
raised.  Written as TSV, read back with the dtypes of :data:`COLUMNS` (no pyarrow needed).
"""

from __future__ import annotations

import os

import pandas as pd

from gmoslib.instrument.descriptors import DescriptorError, Descriptors
from gmoslib.instrument.manifest_row import DESCRIBED_COLUMNS, describe
from gmoslib.instrument.sections import parse_section
from gmoslib.instrument.validate import header_value_problem
from gmoslib.io.errors import FitsReadError
from gmoslib.io.names import printable, safe_frame_name
from gmoslib.io.rawdir import READ_SUFFIXES, entry_problem, list_entries
from gmoslib.workflow.duplicates import duplicate_rows, mark_duplicates

# gmoslib.io.fitsio is imported where files are read: Snakemake only reads the manifest back

ALLOWED_EXTENSIONS = (1, 2, 3, 4, 6, 12)
NOT_IMAGING_TAGS = ("SPECT", "LS", "MOS", "IFU", "ARC", "THRUSLIT", "MASK", "DARK")
#: Image extensions of a read over the whole detector width, per detector (pretty name).
FULL_WIDTH_EXTENSIONS = {"Hamamatsu-N": (12,), "Hamamatsu-S": (12,), "e2vDD": (6,),
                         "EEV": (3, 6)}
#: A frame with more than this fraction of its data pixels saturated is not used.
MAX_SATURATED_FRACTION = 0.5

#: Column -> pandas dtype of the manifest, in order.
COLUMNS: dict[str, str] = {
    "frame": "string", "path": "string", "usable": "bool", "reason": "string",
    "sha256": "string", "size_bytes": "Int64", "mtime_ns": "Int64", "inode": "Int64",
    "tags": "string", "kind": "string", "instrument": "string", "observation_type": "string",
    "observation_class": "string", "object": "string", "data_label": "string",
    "observation_id": "string", "program_id": "string", "filter_name": "string",
    "filter": "string", "exposure_time": "Float64", "ut_datetime": "string",
    "ut_date": "string", "detector_name": "string", "detector": "string",
    "detector_x_bin": "Int64", "detector_y_bin": "Int64", "binning": "string",
    "read_speed_setting": "string", "gain_setting": "string", "read_mode": "string",
    "roi": "string", "amp_read_area": "string", "array_name": "string", "n_ext": "Int64",
    "qa_state": "string", "poffset": "Float64", "qoffset": "Float64", "pa": "Float64",
    "ra": "Float64", "dec": "Float64", "group_id": "string",
}
assert tuple(COLUMNS)[8:] == DESCRIBED_COLUMNS
#: Columns an older manifest may lack (read as empty).
_ADDED_COLUMNS = ("mtime_ns", "inode")


def frame_root(path: str) -> str:
    """File name without directory and without .fits/.fits.gz/.fits.bz2."""
    name = os.path.basename(path)
    for suffix in READ_SUFFIXES:
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return name


def _check_structure(phu, exts, detector: str, roi: str) -> str:
    """'' when the extension structure is consistent, else the reason.  detector, roi: pretty
    detector name and ROI setting (a full-width read has all the detector's amplifiers)."""
    if len(exts) not in ALLOWED_EXTENSIONS:
        return (f"{len(exts)} image extensions; GMOS raw files have "
                f"{', '.join(map(str, ALLOWED_EXTENSIONS))}")
    expected = FULL_WIDTH_EXTENSIONS.get(detector)
    if roi in ("Full Frame", "Central Spectrum") and expected and len(exts) not in expected:
        return (f"{len(exts)} image extensions; {detector} {roi.lower()} reads have "
                f"{' or '.join(map(str, expected))} (amplifiers missing?)")
    for i, h in enumerate(exts, start=1):
        missing = [k for k in ("NAXIS1", "NAXIS2", "DATASEC") if k not in h]
        if missing:
            return f"extension {i}: keyword {', '.join(missing)} missing"
        if int(h.get("BITPIX", 0)) != 16:
            return (f"extension {i}: BITPIX={h.get('BITPIX')}; raw GMOS pixels are 16-bit "
                    "integers (BITPIX=16): a converted or processed file?")
        try:
            nx, ny = int(h["NAXIS1"]), int(h["NAXIS2"])
            data = parse_section(str(h["DATASEC"]))
            bias = parse_section(str(h["BIASSEC"])) if "BIASSEC" in h else None
        except ValueError as exc:
            return f"extension {i}: {exc}"
        for name, sec in (("DATASEC", data), ("BIASSEC", bias)):
            if sec is not None and (sec.x2 > nx or sec.y2 > ny):
                return (f"extension {i}: {name} {h[name]} does not fit the "
                        f"{nx}x{ny} array")
    return ""


def describe_file(path: str) -> dict:
    """One manifest row for one file (never raises for a bad file)."""
    row: dict = {c: pd.NA for c in COLUMNS}
    row.update(frame=safe_frame_name(frame_root(path)), path=os.path.abspath(path),
               usable=False, reason=entry_problem(path))
    if row["reason"]:  # not a readable regular file: never opened for reading
        return row
    try:
        row["reason"] = _describe_into(row, path)
    except (FitsReadError, OSError) as exc:
        row["reason"] = f"unreadable: {exc}"
    except DescriptorError as exc:
        row["reason"] = f"bad header: {exc}"
    row["usable"] = not row["reason"]
    return row


def _describe_into(row: dict, path: str) -> str:
    """Fill the manifest row of a readable file; '' when the file is usable, else why not."""
    from gmoslib.io.fitsio import file_sha256, nonfinite_counts, read_headers, saturated_fraction

    st = os.stat(path)
    row["size_bytes"], row["mtime_ns"], row["inode"] = st.st_size, st.st_mtime_ns, st.st_ino
    row["sha256"] = file_sha256(path)
    phu, exts = read_headers(path)
    instrument = str(phu.get("INSTRUME", "")).strip()
    if instrument.upper() not in ("GMOS-N", "GMOS-S"):
        row["instrument"] = instrument or pd.NA
        return f"not GMOS (INSTRUME={instrument!r})"
    d = Descriptors(phu, exts, path)  # one set for the row, the checks and the saturation
    row.update(describe(phu, exts, path, descriptors=d))
    tags = set(row["tags"].split(","))
    bad_tags = [t for t in NOT_IMAGING_TAGS if t in tags]
    if bad_tags:
        return f"not GMOS imaging: tags {','.join(bad_tags)}"
    if row["kind"] == "other" and "PROCESSED" in tags:
        return ("a processed file, not raw data (tags "
                f"{','.join(sorted(tags & {'PROCESSED', 'BIAS', 'FLAT', 'FRINGE'}))}):"
                " put processed calibrations in a folder of calibration_dirs")
    if row["kind"] == "other":
        return ("not a raw bias, twilight flat or science image "
                f"(OBSTYPE={row['observation_type']}, OBJECT={row['object']!r})")
    floats = any(int(h.get("BITPIX", 16)) < 0 for h in exts)
    nonfinite = nonfinite_counts(path) if floats else [0]
    if any(nonfinite):
        exts_bad = [i for i, n in enumerate(nonfinite, 1) if n]
        return (f"bad pixels: {sum(nonfinite)} NaN/inf pixels in {len(exts_bad)} "
                f"extension(s), the first extension {exts_bad[0]}; raw GMOS "
                "pixels are 16-bit integers and cannot hold them")
    problem = _check_structure(phu, exts, row["detector"], row["roi"])
    if problem:
        return f"bad structure: {problem}"
    problem = header_value_problem(phu, exts, row["kind"], path, d)
    if problem:
        return problem
    levels = d.saturation_level()
    fraction = saturated_fraction(path, d.data_section(), levels)
    if fraction > MAX_SATURATED_FRACTION:
        return (f"saturated: {100 * fraction:.1f}% of the data pixels at or above "
                f"the saturation level ({min(levels):.0f} ADU)")
    return ""


def build_manifest(source, *, threads: int = 1, previous: pd.DataFrame | None = None
                   ) -> pd.DataFrame:
    """Manifest of a raw directory (str) or a list of paths, ``threads`` files read at once
    (hashing and pixel checks release the GIL).  previous: an earlier manifest whose rows of
    unchanged files are reused (gmoslib.workflow.manifest_reuse)."""
    from gmoslib.workflow.manifest_reuse import reusable_rows

    # a directory: every entry named like FITS, whatever it is (gmoslib.io.rawdir)
    paths = list_entries(source) if isinstance(source, str | os.PathLike) else list(source)
    reused = reusable_rows(previous, paths)
    done = set(reused["path"]) if len(reused) else set()
    todo = [p for p in paths if os.path.abspath(p) not in done]
    if threads > 1 and len(todo) > 1:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=int(threads)) as pool:
            rows = list(pool.map(describe_file, todo))
    else:
        rows = [describe_file(p) for p in todo]
    table = pd.DataFrame(rows, columns=list(COLUMNS)).astype(COLUMNS)
    if len(reused):
        kept = reused[list(COLUMNS)].astype(COLUMNS)
        table = pd.concat([kept, table], ignore_index=True) if rows else \
            kept.reset_index(drop=True)
    for c, t in COLUMNS.items():
        if t == "string":
            table[c] = table[c].fillna("")
    # sorted so that the earliest file name of an exposure is kept (gmoslib.workflow.duplicates)
    order = sorted(range(len(table)), key=lambda i: (table["frame"].iat[i],
                                                      not bool(table["usable"].iat[i]),
                                                      table["path"].iat[i]))
    table = table.iloc[order].reset_index(drop=True)
    return mark_duplicates(table)


def write_manifest(table: pd.DataFrame, path: str) -> None:
    """Write the manifest as TSV, atomically."""
    from gmoslib.io.fitsio import atomic_output

    with atomic_output(path) as tmp:
        # a file name that is not UTF-8 is kept byte for byte
        table.to_csv(tmp, sep="\t", index=False, na_rep="", errors="surrogateescape")


def read_manifest(path: str) -> pd.DataFrame:
    """Read a manifest TSV with the declared dtypes."""
    table = pd.read_csv(path, sep="\t", dtype={c: ("string" if t == "bool" else t)
                                               for c, t in COLUMNS.items()},
                        encoding_errors="surrogateescape",
                        keep_default_na=False, na_values={c: [""] for c in COLUMNS
                                                          if COLUMNS[c] != "string"})
    missing = [c for c in COLUMNS if c not in table.columns and c not in _ADDED_COLUMNS]
    if missing:
        raise ValueError(f"{path}: not a gmos-snake manifest (missing columns {missing})")
    for c in _ADDED_COLUMNS:
        if c not in table.columns:
            table[c] = pd.Series(pd.NA, index=table.index, dtype=COLUMNS[c])
    table = table[list(COLUMNS)]
    table["usable"] = table["usable"].map({"True": True, "False": False}).astype(bool)
    return table


def first_names(items: list[str], max_names: int = 5) -> str:
    """'a, b, c and 4 more': the first ``max_names`` items and how many are left out."""
    more = f" and {len(items) - max_names} more" if len(items) > max_names else ""
    return ", ".join(items[:max_names]) + more


def summarize_unusable(table: pd.DataFrame) -> list[str]:
    """One line per unusable file: 'NAME: reason'."""
    bad = table[~table["usable"]]
    return [f"{os.path.basename(p)}: {r}" for p, r in zip(bad["path"], bad["reason"],
                                                           strict=True)]


def skipped_summary(table: pd.DataFrame, manifest_path: str = "manifest/manifest.tsv",
                    max_names: int = 5) -> str:
    """One line saying how many raw files were skipped and why ('' when none was)."""
    bad = table[~table["usable"]]
    if bad.empty:
        return ""
    items = [f"{printable(os.path.basename(p))} "
             f"({'duplicate' if r.startswith('duplicate of ') else r.split(':', 1)[0]})"
             for p, r in zip(bad["path"], bad["reason"], strict=True)]
    line = (f"gmos-snake: {len(bad)} of {len(table)} raw files skipped (reasons in "
            f"{manifest_path}, column reason): {first_names(items, max_names)}")
    dups = duplicate_rows(table)
    if len(dups):  # every duplicate, by name, with the copy used instead
        line += ("; duplicates not used: " + ", ".join(
            f"{os.path.basename(p)} ({r.removeprefix('duplicate of ').split(' (')[0]} used)"
            for p, r in zip(dups["path"], dups["reason"], strict=True)))
    return line
