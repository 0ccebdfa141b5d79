"""Calibration grouping and association over the manifest (reference section 6): which raw
frames make each master, and which master (built, on disk, or the user's) serves each frame.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
from typing import TYPE_CHECKING

from gmoslib.calibration.windows import bounded_windows, median_time, observing_night
from gmoslib.instrument.descriptors import DescriptorError, Descriptors
from gmoslib.instrument.detectors import needs_fringe
from gmoslib.io.errors import FitsReadError
from gmoslib.io.fitsio import read_frame, read_headers

if TYPE_CHECKING:  # pandas is imported where it is used: job scripts need only the errors
    import pandas as pd

_log = logging.getLogger(__name__)

BIAS_KEYS = ("instrument", "detector_name", "detector_x_bin", "detector_y_bin",
             "read_speed_setting", "gain_setting", "amp_read_area")
FLAT_KEYS = (*BIAS_KEYS, "filter_name")
SCIENCE_KEYS = (*FLAT_KEYS, "object")

#: Association rules of reference 6.2: keys that must match and the strict time window.
RULES = {
    "processed_bias": (("instrument", "detector_x_bin", "detector_y_bin",
                        "read_speed_setting", "gain_setting"), 90.0),
    "processed_flat": (("instrument", "detector_x_bin", "detector_y_bin", "filter_name",
                        "read_speed_setting", "gain_setting"), 180.0),
    "processed_fringe": (("instrument", "detector_x_bin", "detector_y_bin", "filter_name"),
                         365.0),
}
KIND_OF = {"processed_bias": "bias", "processed_flat": "flat", "processed_fringe": "fringe"}

#: Columns of a candidates table (besides the manifest descriptor columns).
CANDIDATE_COLUMNS = ("name", "caltype", "path", "origin")


class CalibrationNotFoundError(LookupError):
    """No calibration satisfies the association rules; the message says why."""


def as_datetime(value) -> dt.datetime:
    """A manifest ``ut_datetime`` (ISO text or datetime) as a datetime."""
    return dt.datetime.fromisoformat(str(value))


def _usable_kind(manifest: pd.DataFrame, kind: str) -> pd.DataFrame:
    rows = manifest[(manifest["usable"]) & (manifest["kind"] == kind)]
    return rows[rows["qa_state"] != "Fail"]


def _chain(rows: pd.DataFrame, keys, max_gap_days: float | None,
           max_span_days: float | None = None, per_night: bool = False
           ) -> dict[str, list[str]]:
    """Frames with equal keys in time order, split at gaps over max_gap_days, then into
    :func:`~gmoslib.calibration.windows.bounded_windows` of max_span_days, or per night."""
    groups: dict[str, list[str]] = {}
    if rows.empty:
        return groups
    gap = None if max_gap_days is None else dt.timedelta(days=float(max_gap_days))
    for _, sub in rows.groupby(list(keys), sort=True, dropna=False):
        sub = sub.assign(_t=[as_datetime(t) for t in sub["ut_datetime"]]).sort_values(
            ["_t", "frame"])
        frames, times = list(sub["frame"]), list(sub["_t"])
        nights = [observing_night(t, i) for t, i in zip(times, sub["instrument"], strict=True)]
        runs, start = [], 0
        for k in range(1, len(frames) + 1):
            if k == len(frames) or (gap is not None and times[k] - times[k - 1] > gap) or \
                    (per_night and nights[k] != nights[k - 1]):
                runs.append(range(start, k))
                start = k
        for run in runs:
            windows = [list(run)] if max_span_days is None else [
                [run[i] for i in w] for w in bounded_windows(
                    [times[i] for i in run], [nights[i] for i in run], max_span_days)]
            for w in windows:
                groups[frames[w[0]]] = [frames[i] for i in w]
    return dict(sorted(groups.items()))


def group_calibrations(manifest: pd.DataFrame, kind: str, *, max_gap_days: float = 5.0,
                       max_span_days: float | None = None) -> dict[str, list[str]]:
    """Raw frames stacked into each master: name (first frame) -> frames in time order.

    Frames with equal association keys, chained in time, split at gaps over max_gap_days,
    then cut into windows of at most max_span_days (None: no limit) of whole observing
    nights.  Unusable and QA-failed (RAWGEMQA=BAD) frames never enter a master.
    """
    if kind not in ("bias", "flat"):
        raise ValueError(f"kind must be 'bias' or 'flat', not {kind!r}")
    keys = BIAS_KEYS if kind == "bias" else FLAT_KEYS
    return _chain(_usable_kind(manifest, kind), keys, max_gap_days, max_span_days)


def group_science(manifest: pd.DataFrame, *, per_night: bool = False
                  ) -> dict[str, list[str]]:
    """Science frames stacked together: same detector, binning, ROI, filter and object
    (and, with per_night, the same observing night, gmoslib.calibration.windows.observing_night)."""
    return _chain(_usable_kind(manifest, "science"), SCIENCE_KEYS, None, per_night=per_night)


def candidates_from_groups(manifest: pd.DataFrame, groups: dict[str, list[str]],
                           caltype: str, path_template: str) -> pd.DataFrame:
    """Candidates for the masters the workflow builds: each group's first frame's
    descriptors (a master has its header), dated by the group's median UT time."""
    # unusable rows may repeat a frame name (a duplicate .fits.bz2): never look them up
    table = manifest[manifest["usable"]].set_index("frame", drop=False)
    rows = []
    for name, frames in groups.items():
        row = table.loc[name].to_dict()
        when = median_time([as_datetime(table.at[f, "ut_datetime"]) for f in frames])
        row.update(name=name, caltype=caltype, path=path_template.format(name=name),
                   origin="workflow", ut_datetime=when.isoformat())
        rows.append(row)
    columns = list(dict.fromkeys([*CANDIDATE_COLUMNS, *manifest.columns]))
    import pandas as pd

    return pd.DataFrame(rows, columns=columns)


def merge_candidates(built: pd.DataFrame, on_disk: pd.DataFrame, caltype: str
                     ) -> pd.DataFrame:
    """Workflow masters plus processed calibrations of this type found on disk.

    A file on disk that is a workflow master itself (same real path: a ``calibration_dirs``
    entry in the working directory) is kept once, as the workflow's.  One named like a
    workflow master (made by an earlier run) gets its date, so the tie goes to the file on
    disk and it is not made again."""
    if on_disk is not None and not on_disk.empty:
        on_disk = on_disk[on_disk["caltype"] == caltype]
        if not built.empty:
            own = {os.path.realpath(p) for p in built["path"]}
            on_disk = on_disk[[os.path.realpath(p) not in own for p in on_disk["path"]]]
            dates = dict(zip(built["name"], built["ut_datetime"], strict=True))
            same = on_disk["name"].isin(list(dates))
            if same.any():
                on_disk = on_disk.copy()
                on_disk.loc[same, "ut_datetime"] = on_disk.loc[same, "name"].map(dates)
        import pandas as pd

        built = pd.concat([built, on_disk], ignore_index=True) if not built.empty \
            else on_disk.reset_index(drop=True)
    return built.reset_index(drop=True)


def roi_compatible(target, cand) -> bool:
    """Equal amp_read_area for full frame / central spectrum, else containment."""
    t, c = str(target["amp_read_area"]), str(cand["amp_read_area"])
    if str(target.get("roi", "")) in ("Full Frame", "Central Spectrum"):
        return t == c
    return set(t.split("+")) <= set(c.split("+"))


def associate(target, candidates: pd.DataFrame, caltype: str) -> pd.Series:
    """The best calibration of ``caltype`` for one frame (a manifest row or dict).

    Exact keys and ROI rule, strict time window, never a QA-failed calibration; the closest
    in time wins; ties go to processed files already on disk, then to the name.
    """
    if caltype not in RULES:
        raise ValueError(f"unknown calibration type {caltype!r}")
    keys, window = RULES[caltype]
    frame = target["frame"]
    when = as_datetime(target["ut_datetime"])
    if candidates is None or candidates.empty:
        raise CalibrationNotFoundError(
            f"no {caltype} for {frame}: there is no {KIND_OF[caltype]} calibration at all "
            f"(no raw {KIND_OF[caltype]} frames in raw_dir and none in calibration_dirs)")
    cands = candidates[candidates["qa_state"] != "Fail"] if "qa_state" in candidates else \
        candidates
    ok, too_far = [], []  # (days apart, ...) of the candidates with matching keys and ROI
    for _, cand in cands.iterrows():
        if any(str(cand[k]) != str(target[k]) for k in keys) or not roi_compatible(target, cand):
            continue
        days = abs((as_datetime(cand["ut_datetime"]) - when).total_seconds()) / 86400.0
        if days >= window:
            too_far.append((days, cand["name"]))
        else:
            ok.append((days, 0 if cand["origin"] != "workflow" else 1, str(cand["name"]), cand))
    if not ok:
        wanted = ", ".join(f"{k}={target[k]}" for k in keys)
        nearest = ""
        if too_far:
            days, name = min(too_far)
            nearest = f" (nearest in time with matching keys: {name}, {days:.1f} days apart)"
        raise CalibrationNotFoundError(
            f"no {caltype} for {frame}: none with {wanted} within {window:g} days of "
            f"{when.date().isoformat()}{nearest}")
    ok.sort(key=lambda r: r[:3])
    return ok[0][3]


def associate_path(target, candidates: pd.DataFrame, caltype: str,
                   user_cal: dict | None = None, *, find=None) -> str:
    """Path of the calibration for one frame; a user_cal entry overrides association.
    find : a function like :func:`associate` (gmoslib.workflow.planning.Plan.finder gives the
    indexed one); default associate."""
    if user_cal and user_cal.get(caltype):
        path = user_cal[caltype]
        check_user_cal(path, target, caltype)
        return path
    cal = (find or associate)(target, candidates, caltype)
    if str(cal["amp_read_area"]) != str(target["amp_read_area"]):
        raise CalibrationNotFoundError(
            f"no {caltype} for {target['frame']} that can be applied: the closest, "
            f"{cal['name']}, was read over a larger area than the frame's ROI "
            f"({target['roi']}) and cutting calibrations to a sub-ROI is not supported; "
            "add calibrations taken with the same ROI")
    return str(cal["path"])


def check_user_cal(path: str, target, caltype: str) -> None:
    """A user-supplied calibration must exist and fit the frame (binning, filter)."""
    if not os.path.exists(path):
        raise CalibrationNotFoundError(
            f"user_cal {caltype}: {path} does not exist (config key user_cal.{caltype})")
    phu, exts = read_headers(path)
    d = Descriptors(phu, exts, path)
    wanted = KIND_OF[caltype].upper()
    tags = d.tags()
    if "PROCESSED" not in tags or wanted not in tags:
        raise CalibrationNotFoundError(
            f"user_cal {caltype}: {path} is not a processed {KIND_OF[caltype]} (its tags: "
            f"{','.join(sorted(tags))}); name a master {KIND_OF[caltype]} made by gmos-snake")
    problems = []
    if (d.detector_x_bin(), d.detector_y_bin()) != (int(target["detector_x_bin"]),
                                                    int(target["detector_y_bin"])):
        problems.append(f"binning {d.binning()} but {target['frame']} is {target['binning']}")
    if caltype in ("processed_flat", "processed_fringe") and \
            d.filter_name() != str(target["filter_name"]):
        problems.append(f"filter {d.filter_name()} but {target['frame']} has "
                        f"{target['filter_name']}")
    if all("AMPNAME" in h and "DETSEC" in h for h in exts) and \
            "+".join(d.amp_read_area()) != str(target["amp_read_area"]):
        problems.append(f"its amplifiers / ROI differ from those of {target['frame']}")
    if problems:
        raise CalibrationNotFoundError(f"user_cal {caltype} {path} does not fit: "
                                       + "; ".join(problems))


def fringe_wanted(policy: str, filter_pretty: str, detector_pretty: str) -> bool:
    """Fringe policy: 'always', 'never', or 'auto' (the tutorial's tables)."""
    if policy not in ("auto", "always", "never"):
        raise ValueError(f"fringe policy must be auto, always or never, not {policy!r}")
    return policy == "always" or (policy == "auto"
                                  and needs_fringe(filter_pretty, detector_pretty))


#: A fringe frame needs at least this many dithered science frames (reference 5.12).
MIN_FRINGE_FRAMES = 3


def max_dither_arcsec(ra_deg, dec_deg) -> float:
    """Largest angular separation (arcsec) between any two pointings."""
    import numpy as np

    ra = np.radians(np.asarray(ra_deg, float))
    dec = np.radians(np.asarray(dec_deg, float))
    if ra.size < 2:
        return 0.0
    dra = ra[:, None] - ra[None, :]
    ddec = dec[:, None] - dec[None, :]
    a = np.sin(ddec / 2) ** 2 + np.cos(dec[:, None]) * np.cos(dec[None, :]) * np.sin(dra / 2) ** 2
    return float(np.degrees(2 * np.arcsin(np.sqrt(np.clip(a, 0, 1)))).max() * 3600.0)


def dither_spread_arcsec(rows: pd.DataFrame) -> float:
    """Largest distance (arcsec) between two frames' pointings: from the telescope p/q
    offsets, or from RA/Dec when the offsets are unknown."""
    import numpy as np

    p = rows["poffset"].astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    q = rows["qoffset"].astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    if len(rows) < 2:
        return 0.0
    if np.isfinite(p).all() and np.isfinite(q).all():
        return float(np.hypot(p[:, None] - p[None, :], q[:, None] - q[None, :]).max())

    ra = rows["ra"].astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    dec = rows["dec"].astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    if not (np.isfinite(ra).all() and np.isfinite(dec).all()):
        return 0.0
    return max_dither_arcsec(ra, dec)


def fringe_group_problem(manifest: pd.DataFrame, frames: list[str], *,
                         min_dither: float) -> str:
    """'' when these science frames can make a fringe frame, otherwise why not
    (min_dither: arcsec, makeFringeFrame's parameter)."""
    return _fringe_problem(manifest.set_index("frame"), frames, min_dither)


def _fringe_problem(by_frame: pd.DataFrame, frames: list[str], min_dither: float) -> str:
    if len(frames) < MIN_FRINGE_FRAMES:
        return (f"it has {len(frames)} frame(s) and a fringe frame needs at least "
                f"{MIN_FRINGE_FRAMES} dithered frames")
    rows = by_frame.loc[list(frames)]
    spread = dither_spread_arcsec(rows)
    if spread < min_dither:
        return (f"its {len(frames)} frames are dithered by at most {spread:.1f} arcsec and "
                f"at least {min_dither:g} arcsec is needed to separate sources from fringes")
    return ""


def fringe_groups(manifest: pd.DataFrame, science_groups: dict[str, list[str]],
                  wanted: set[str], *, min_dither: float,
                  max_span_days: float | None = None) -> dict[str, list[str]]:
    """Fringe frames the workflow can build (name = first frame): each science group's
    ``wanted`` frames, in windows of at most max_span_days (None: no limit) of whole
    nights, kept when enough frames are dithered enough."""
    by_frame = manifest.set_index("frame", drop=False)
    if max_span_days is not None:  # (the unique usable rows: the times are looked up)
        by_frame = manifest[manifest["usable"]].set_index("frame", drop=False)
    out = {}
    for frames in science_groups.values():
        chosen = [f for f in frames if f in wanted]
        if not chosen:
            continue
        windows = [chosen]
        if max_span_days is not None:
            chosen.sort(key=lambda f: (as_datetime(by_frame.at[f, "ut_datetime"]), f))
            times = [as_datetime(by_frame.at[f, "ut_datetime"]) for f in chosen]
            nights = [observing_night(t, by_frame.at[f, "instrument"])
                      for t, f in zip(times, chosen, strict=True)]
            windows = [[chosen[i] for i in w]
                       for w in bounded_windows(times, nights, max_span_days)]
        for w in windows:
            if not _fringe_problem(by_frame, w, min_dither):
                out[w[0]] = w
    return dict(sorted(out.items()))


# ------------------------------------------------------------------ processed BPMs on disk
def fits_under(dirs) -> list[str]:
    """The FITS files (also .gz, .bz2) under the folders ``dirs``, sorted."""
    out = []
    for d in dirs:
        for root, _, files in os.walk(d):
            out.extend(os.path.join(root, f) for f in sorted(files)
                       if f.lower().endswith((".fits", ".fits.gz", ".fits.bz2")))
    return sorted(out)


def _bpm_row(path: str) -> dict | None:
    """path, instrument, binning, valid-from date and array names of a processed BPM, or
    None (logged when a BPM's headers lack what association needs)."""
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
    rows = [r for r in (_bpm_row(p) for p in fits_under(dirs)) if r is not None]
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
    phu, exts = read_headers(raw_path)
    return associate_bpm(dirs, Descriptors(phu, exts, raw_path))


def read_bpm(user_bpm: str | None, dirs, raw_path: str):
    """The frame of :func:`bpm_for`, read, or None."""
    path = bpm_for(user_bpm, dirs, raw_path)
    return read_frame(path) if path else None
