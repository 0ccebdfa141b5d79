"""Planning many nights at once: every frame associated once, in time linear in the number of
frames (nights and calibration windows: :mod:`gmoslib.calibration.windows`).

Snakemake's input functions ask the same questions for every frame of a semester: :class:`Plan`
answers each once per manifest, :class:`CandidateIndex` by bisection over the candidates.
"""

from __future__ import annotations

import bisect
from dataclasses import KW_ONLY, dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

from gmoslib.calibration import association as calib
from gmoslib.calibration.windows import observing_night

if TYPE_CHECKING:
    import pandas as pd


def night_batches(frames: list[str], nights: list, size: int) -> list[list[str]]:
    """Frames (time order) in batches of at most ``size`` frames of one night each (nights:
    each frame's night label); a new night only ever adds batches."""
    if size < 1:
        raise ValueError(f"batch size must be at least 1, not {size}")
    out: list[list[str]] = []
    for i, frame in enumerate(frames):
        if not out or nights[i] != nights[i - 1] or len(out[-1]) >= size:
            out.append([])
        out[-1].append(frame)
    return out


class CandidateIndex:
    """The candidates of one calibration type by association key, sorted by time: :meth:`find`
    answers as :func:`gmoslib.calibration.association.associate`, in O(log n)."""

    def __init__(self, candidates: pd.DataFrame, caltype: str):
        if caltype not in calib.RULES:
            raise ValueError(f"unknown calibration type {caltype!r}")
        self.candidates = candidates
        self.caltype = caltype
        self.keys, self.window = calib.RULES[caltype]
        self._by_key: dict[tuple, tuple[list[float], list[tuple]]] = {}
        self._rows: dict = {}  # label -> row (a Series made once: pandas rows are slow)
        if candidates is None or candidates.empty:
            return
        usable = candidates
        if "qa_state" in candidates:
            usable = candidates[candidates["qa_state"] != "Fail"]
        entries: dict[tuple, list[tuple]] = {}
        columns = [*self.keys, "ut_datetime", "origin", "name", "amp_read_area"]
        for order, (label, values) in enumerate(zip(
                usable.index, zip(*(usable[c] for c in columns), strict=True), strict=True)):
            key = tuple(str(v) for v in values[:len(self.keys)])
            when, origin, name, area = values[len(self.keys):]
            t = calib.as_datetime(when).timestamp()
            entries.setdefault(key, []).append(
                (t, 0 if origin != "workflow" else 1, str(name), str(area), order, label))
        for key, items in entries.items():
            items.sort()
            self._by_key[key] = ([it[0] for it in items], items)

    def find(self, target) -> pd.Series:
        """The best candidate for one frame (a manifest row or dict); raises
        CalibrationNotFoundError as ``associate`` does."""
        key = tuple(str(target[k]) for k in self.keys)
        found = self._by_key.get(key)
        if found is not None:
            times, items = found
            when = calib.as_datetime(target["ut_datetime"])
            t0 = when.timestamp()
            best = None
            right = bisect.bisect_left(times, t0)
            left = right - 1
            # walk outwards from the frame's time until no closer candidate can follow
            while left >= 0 or right < len(items):
                dl = (t0 - times[left]) if left >= 0 else float("inf")
                dr = (times[right] - t0) if right < len(items) else float("inf")
                if dl <= dr:
                    item, left = items[left], left - 1
                else:
                    item, right = items[right], right + 1
                # days as associate() computes them, so that ties are the same ties
                days = abs(item[0] - t0) / 86400.0
                if best is not None and days > best[0]:
                    break
                if days >= self.window:
                    break
                if not calib.roi_compatible(target, {"amp_read_area": item[3]}):
                    continue
                # full ties go to the earlier candidate, as associate()'s stable sort does
                rank = (days, item[1], item[2], item[4])
                if best is None or rank < best[:4]:
                    best = (*rank, item[5])
            if best is not None:
                label = best[4]
                if label not in self._rows:
                    self._rows[label] = self.candidates.loc[label]
                return self._rows[label]
        # nothing fits: associate() explains why
        return calib.associate(target, self.candidates, self.caltype)


@dataclass(eq=False)
class Plan:
    """What the workflow derives from one manifest table, each part computed once.  paths:
    calibration type -> path template ("...{name}...") of the masters the workflow builds;
    on_disk: processed calibrations on disk (gmoslib.workflow.caldb.scan_processed) or None;
    the other fields are the configuration keys of the same names."""

    manifest: pd.DataFrame
    _: KW_ONLY
    paths: dict[str, str]
    max_gap_days: float
    max_span_days: float | None
    stack_per_night: bool
    fringe_policy: str
    min_dither: float
    frames_per_job: int
    on_disk: pd.DataFrame | None = None
    _found: dict = field(default_factory=dict, init=False, repr=False)
    _rows: dict = field(default_factory=dict, init=False, repr=False)
    _indexes: dict = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self):
        self.paths = dict(self.paths)

    @cached_property
    def usable(self) -> pd.DataFrame:
        """Usable rows indexed by frame (unique: duplicates are never usable)."""
        return self.manifest[self.manifest["usable"]].set_index("frame", drop=False)

    def row(self, frame: str):
        """The usable manifest row of one frame (a Series, made once); KeyError if none."""
        if frame not in self._rows:
            self._rows[frame] = self.usable.loc[frame]
        return self._rows[frame]

    @cached_property
    def checksums(self) -> dict[str, list]:
        """{absolute path: [sha256, size_bytes, mtime_ns, inode]} of every hashed file."""
        import pandas as pd

        out = {}
        m = self.manifest
        for p, sha, size, mtime, inode in zip(m["path"], m["sha256"], m["size_bytes"],
                                              m["mtime_ns"], m["inode"], strict=True):
            if not any(pd.isna(v) for v in (sha, size, mtime, inode)):
                out[str(p)] = [str(sha), int(size), int(mtime), int(inode)]
        return out

    def _calibration_groups(self, kind: str) -> dict[str, list[str]]:
        return calib.group_calibrations(self.manifest, kind, max_gap_days=self.max_gap_days,
                                        max_span_days=self.max_span_days)

    bias_groups = cached_property(lambda self: self._calibration_groups("bias"))
    flat_groups = cached_property(lambda self: self._calibration_groups("flat"))

    @cached_property
    def science_groups(self) -> dict[str, list[str]]:
        return calib.group_science(self.manifest, per_night=self.stack_per_night)

    @cached_property
    def science_group_of(self) -> dict[str, str]:
        return {f: name for name, frames in self.science_groups.items() for f in frames}

    @cached_property
    def science_batches(self) -> dict[str, list[str]]:
        """Batch name (its first frame) -> the science frames of one stack and one night
        reduced in one cluster job (at most frames_per_job)."""
        out = {}
        for frames in self.science_groups.values():
            nights = [observing_night(calib.as_datetime(self.usable.at[f, "ut_datetime"]),
                                      self.usable.at[f, "instrument"]) for f in frames]
            for batch in night_batches(frames, nights, self.frames_per_job):
                out[batch[0]] = batch
        return dict(sorted(out.items()))

    @cached_property
    def batches_of_stack(self) -> dict[str, list[str]]:
        """Stack name -> names of the batches of its frames."""
        first = {f: name for name, frames in self.science_batches.items() for f in frames[:1]}
        return {stack: [first[f] for f in frames if f in first]
                for stack, frames in self.science_groups.items()}

    @cached_property
    def fringe_wanted(self) -> list[str]:
        """Science frames (in group order) that the fringe policy wants corrected."""
        table = self.usable
        return [f for frames in self.science_groups.values() for f in frames
                if calib.fringe_wanted(self.fringe_policy, table.at[f, "filter"],
                                       table.at[f, "detector"])]

    @cached_property
    def fringe_groups(self) -> dict[str, list[str]]:
        return calib.fringe_groups(self.manifest, self.science_groups, set(self.fringe_wanted),
                                   min_dither=self.min_dither,
                                   max_span_days=self.max_span_days)

    def groups(self, caltype: str) -> dict[str, list[str]]:
        return getattr(self, f"{calib.KIND_OF[caltype]}_groups")

    def candidates(self, caltype: str) -> pd.DataFrame:
        return self._index(caltype).candidates

    def _index(self, caltype: str) -> CandidateIndex:
        cache = self._indexes
        if caltype not in cache:
            built = calib.candidates_from_groups(self.manifest, self.groups(caltype), caltype,
                                                 self.paths[caltype])
            merged = calib.merge_candidates(built, self.on_disk, caltype)
            cache[caltype] = CandidateIndex(merged, caltype)
        return cache[caltype]

    def calibration(self, frame: str, caltype: str):
        """The candidate (a Series) for one usable frame; CalibrationNotFoundError (remembered
        and raised again when asked again)."""
        key = (frame, caltype)
        if key not in self._found:
            try:
                self._found[key] = self._index(caltype).find(self.row(frame))
            except calib.CalibrationNotFoundError as exc:
                self._found[key] = exc
        found = self._found[key]
        if isinstance(found, Exception):
            raise found
        return found

    def finder(self, caltype: str):
        """An ``associate``-like function for ``association.associate_path``."""
        return lambda target, candidates, ct: self.calibration(str(target["frame"]), ct)
