"""Calibration groups of bounded span over many nights, association to the nearest group, the
observing night, and the indexed association of gmoslib.workflow.planning (hand-built manifests)."""

from __future__ import annotations

import datetime as dt
import random

import pandas as pd
import pytest

from gmoslib.calibration.association import (
    CalibrationNotFoundError,
    associate,
    candidates_from_groups,
    fringe_groups,
    group_calibrations,
    group_science,
)
from gmoslib.calibration.windows import bounded_windows, median_time, observing_night
from gmoslib.workflow.planning import CandidateIndex, Plan
from tests.test_calib import AREA, row

START = dt.datetime(2018, 1, 1)
PATHS = {"processed_bias": "calibrations/processed_bias/{name}_bias.fits",
         "processed_flat": "calibrations/processed_flat/{name}_flat.fits",
         "processed_fringe": "calibrations/processed_fringe/{name}_fringe.fits"}

# the configuration keys a Plan takes (config/schema.yaml defaults, written here for the tests)
PLAN_CONFIG = {"stack_per_night": False, "fringe_policy": "auto", "min_dither": 5.0,
               "frames_per_job": 6}


def semester(nights: int, bias_nights=None, flat_nights=None, sci_per_night: int = 3):
    """GN frames: 5 biases at 19:00 UT (09:00 HST), 3 twilights at 05:30 UT, science at
    09:00 UT, one night after another; calibrations on the nights given (default all)."""
    rows = []
    for n in range(nights):
        day = START + dt.timedelta(days=n)
        stem = f"N{day:%Y%m%d}S"
        if bias_nights is None or n in bias_nights:
            rows += [row(f"{stem}{k + 1:04d}", "bias",
                         (day + dt.timedelta(hours=19, minutes=2 * k)).isoformat())
                     for k in range(5)]
        if flat_nights is None or n in flat_nights:
            rows += [row(f"{stem}{k + 10:04d}", "flat",
                         (day + dt.timedelta(hours=5, minutes=30 + 3 * k)).isoformat(),
                         object="Twilight") for k in range(3)]
        rows += [row(f"{stem}{k + 20:04d}", "science",
                     (day + dt.timedelta(hours=9, minutes=k)).isoformat())
                 for k in range(sci_per_night)]
    return pd.DataFrame(rows)


def when(m, frame):
    return dt.datetime.fromisoformat(m.set_index("frame").at[frame, "ut_datetime"])


def span_days(m, frames):
    times = [when(m, f) for f in frames]
    return (max(times) - min(times)).total_seconds() / 86400


def test_a_semester_of_nightly_calibrations_is_never_one_master():
    """The issue's failure: 160 nights with biases every night chained into one master,
    named and dated after the first night, which the 90-day window then rejected."""
    m = semester(160, sci_per_night=1)
    for kind in ("bias", "flat"):
        groups = group_calibrations(m, kind, max_gap_days=5.0, max_span_days=3.0)
        assert len(groups) >= 160 // 3
        assert max(span_days(m, g) for g in groups.values()) <= 3.0
        # nights are never cut: every group holds all the frames of each of its nights
        for frames in groups.values():
            assert len(frames) % (5 if kind == "bias" else 3) == 0
    bias_c = candidates_from_groups(m, group_calibrations(m, "bias", max_span_days=3.0),
                                    "processed_bias", PATHS["processed_bias"])
    sci = m[m["kind"] == "science"]
    for _, frame in sci.iterrows():
        chosen = associate(frame, bias_c, "processed_bias")
        # the master that serves a night holds that night's own biases
        assert abs((dt.datetime.fromisoformat(chosen["ut_datetime"])
                    - dt.datetime.fromisoformat(frame["ut_datetime"])).days) <= 2


def test_without_a_span_limit_the_semester_chains_into_one_group():
    """What the span limit prevents (the pre-issue behaviour, max_span_days=None)."""
    m = semester(40, sci_per_night=1)
    assert len(group_calibrations(m, "bias", max_span_days=None)) == 1


def test_tutorial_biases_two_nights_apart_stay_one_master():
    """Reference 6.3: the tutorial's biases of 13 and 15 June make one master; the default
    span (3 days, config/schema.yaml) keeps that."""
    from tests.test_calib import tutorial_manifest

    groups = group_calibrations(tutorial_manifest(), "bias", max_span_days=3.0)
    assert [len(g) for g in groups.values()] == [10]


def test_windows_pack_whole_nights_and_cut_only_a_night_longer_than_the_span():
    day = dt.timedelta(days=1)
    times = [START + k * day + dt.timedelta(minutes=m) for k in range(7) for m in (0, 4, 8)]
    nights = [t.date() for t in times]
    windows = bounded_windows(times, nights, 3.0)
    assert [len(w) for w in windows] == [9, 9, 3]  # nights 0-2, 3-5, 6: 3 days 8 min > 3
    long_night = [START + dt.timedelta(hours=h) for h in range(10)]
    cut = bounded_windows(long_night, [0] * 10, 0.125)  # 3 hours
    assert [len(w) for w in cut] == [4, 4, 2]
    assert bounded_windows([], [], 3.0) == []


def test_groups_are_dated_by_their_median_and_the_nearest_group_wins():
    """Group A: biases on day 0 and day 2.9 (median day 1.45); group B: day 8.  A frame on
    day 4.5 is 3.05 days from A's median and 3.5 days from B: A serves it (dated by its
    first frame, A would be 4.5 days away and B would win)."""
    rows = [row("A1", "bias", START.isoformat()),
            row("A2", "bias", (START + dt.timedelta(days=2.9)).isoformat()),
            row("B1", "bias", (START + dt.timedelta(days=8)).isoformat()),
            row("S1", "science", (START + dt.timedelta(days=4.5)).isoformat())]
    m = pd.DataFrame(rows)
    groups = group_calibrations(m, "bias", max_gap_days=5.0, max_span_days=3.0)
    assert groups == {"A1": ["A1", "A2"], "B1": ["B1"]}
    cands = candidates_from_groups(m, groups, "processed_bias", PATHS["processed_bias"])
    assert cands.set_index("name").at["A1", "ut_datetime"] == \
        (START + dt.timedelta(days=1.45)).isoformat()
    assert associate(m.iloc[3], cands, "processed_bias")["name"] == "A1"


def test_median_time():
    t = [START + dt.timedelta(hours=h) for h in (5, 1, 3)]
    assert median_time(t) == START + dt.timedelta(hours=3)
    assert median_time(t + [START]) == START + dt.timedelta(hours=2)
    with pytest.raises(ValueError, match="no times"):
        median_time([])


@pytest.mark.parametrize("instrument, ut, night", [
    ("GMOS-N", "2017-06-14T09:00", "2017-06-13"),  # 23:00 HST on the 13th
    ("GMOS-N", "2017-06-14T01:00", "2017-06-13"),  # 15:00 HST: the afternoon before
    ("GMOS-N", "2017-06-14T23:00", "2017-06-14"),  # 13:00 HST on the 14th
    ("GMOS-N", "2017-06-14T21:00", "2017-06-13"),  # 11:00 HST: the morning after
    ("GMOS-S", "2024-02-01T23:30", "2024-02-01"),  # 19:30 in Chile
    ("GMOS-S", "2024-02-02T08:00", "2024-02-01"),  # 04:00 in Chile, same night
    ("GMOS-S", "2024-02-02T17:00", "2024-02-02"),  # 13:00 in Chile, the next day
])
def test_observing_night(instrument, ut, night):
    assert observing_night(dt.datetime.fromisoformat(ut), instrument).isoformat() == night


def test_science_stacks_per_night_only_when_asked():
    m = semester(3, bias_nights=(), flat_nights=())
    assert len(group_science(m)) == 1
    per_night = group_science(m, per_night=True)
    assert len(per_night) == 3 and all(len(g) == 3 for g in per_night.values())


def test_fringe_groups_are_bounded_by_the_span_too():
    m = semester(12, bias_nights=(), flat_nights=())
    m["poffset"] = [0.0, 10.0, -10.0] * 12
    m["qoffset"] = [0.0, 5.0, 5.0] * 12
    sci = group_science(m)
    wanted = set(m["frame"])
    assert len(fringe_groups(m, sci, wanted, min_dither=5.0)) == 1
    bounded = fringe_groups(m, sci, wanted, min_dither=5.0, max_span_days=3.0)
    assert len(bounded) == 4
    assert max(span_days(m, g) for g in bounded.values()) <= 3.0


def _random_candidates(rng: random.Random, n: int) -> pd.DataFrame:
    rows = []
    for k in range(n):
        r = row(f"C{k:03d}", "bias", (START + dt.timedelta(
            days=rng.choice([rng.uniform(-120, 120), rng.randint(-3, 3)]))).isoformat(),
            read_speed_setting=rng.choice(["slow", "fast"]),
            detector_x_bin=rng.choice([2, 4]),
            amp_read_area=rng.choice([AREA, AREA.split("+")[0]]),
            qa_state=rng.choice(["Undefined"] * 5 + ["Fail"]),
            origin=rng.choice(["workflow", "caldb"]))
        r.update(name=rng.choice([f"C{k:03d}", "TIE"]), caltype="processed_bias")
        rows.append(r)
    return pd.DataFrame(rows)


def test_indexed_association_equals_associate():
    rng = random.Random(7)
    for trial in range(30):
        cands = _random_candidates(rng, rng.randint(0, 40))
        index = CandidateIndex(cands, "processed_bias")
        for k in range(15):
            sci = row(f"S{k}", "science", (START + dt.timedelta(
                days=rng.uniform(-100, 100))).isoformat(),
                read_speed_setting=rng.choice(["slow", "fast"]),
                detector_x_bin=rng.choice([2, 4]),
                roi=rng.choice(["Full Frame", "Central Stamp"]),
                amp_read_area=rng.choice([AREA, AREA.split("+")[0]]))
            try:
                expected = associate(sci, cands, "processed_bias")
            except CalibrationNotFoundError as exc:
                with pytest.raises(CalibrationNotFoundError) as got:
                    index.find(sci)
                assert str(got.value) == str(exc)
                continue
            found = index.find(sci)
            assert found.to_dict() == expected.to_dict(), (trial, k)


def test_plan_associates_each_frame_with_its_window():
    m = semester(9)
    plan = Plan(m, paths=PATHS, max_gap_days=5.0, max_span_days=3.0, **PLAN_CONFIG)
    assert len(plan.bias_groups) == 3 and len(plan.flat_groups) == 3
    assert plan.science_groups == group_science(m)
    for f in plan.science_groups[next(iter(plan.science_groups))]:
        bias = plan.calibration(f, "processed_bias")
        assert f[:9] in {g[:9] for g in plan.bias_groups[bias["name"]]}  # its own night
        flat = plan.calibration(f, "processed_flat")
        assert flat["path"] == PATHS["processed_flat"].format(name=flat["name"])
    with pytest.raises(KeyError):
        plan.calibration("N20990101S0001", "processed_bias")


def test_earlier_runs_master_on_disk_is_dated_like_its_group():
    """A master on disk named after a group's first frame (made by an earlier run, its
    header dated by that frame) is dated by the group's median and wins the tie, so it is
    not made again."""
    m = semester(3, flat_nights=(), bias_nights=(0, 1))
    groups = group_calibrations(m, "bias", max_span_days=3.0)
    built = candidates_from_groups(m, groups, "processed_bias", PATHS["processed_bias"])
    first = built.iloc[0].to_dict()
    disk = {**row(first["name"], "bias", m.iloc[0]["ut_datetime"]), "name": first["name"],
            "caltype": "processed_bias", "path": "/old/cals/" + first["name"] + "_bias.fits",
            "origin": "caldb"}
    from gmoslib.calibration.association import merge_candidates

    merged = merge_candidates(built, pd.DataFrame([disk]), "processed_bias")
    late = m[m["kind"] == "science"].iloc[-1]  # nearer the median than the first frame
    assert associate(late, merged, "processed_bias")["path"] == disk["path"]


def test_night_batches_never_mix_nights_and_respect_the_size():
    frames = [f"f{k}" for k in range(9)]
    nights = [0, 0, 0, 0, 0, 1, 1, 2, 2]
    from gmoslib.workflow.planning import night_batches

    assert night_batches(frames, nights, 2) == [["f0", "f1"], ["f2", "f3"], ["f4"],
                                                ["f5", "f6"], ["f7", "f8"]]
    assert night_batches(frames, nights, 6) == [frames[:5], frames[5:7], frames[7:]]
    with pytest.raises(ValueError, match="at least 1"):
        night_batches(frames, nights, 0)


def test_plan_batches_a_stack_per_night():
    m = semester(4, bias_nights=(), flat_nights=(), sci_per_night=5)
    plan = Plan(m, paths=PATHS, max_gap_days=5.0, max_span_days=3.0,
                **{**PLAN_CONFIG, "frames_per_job": 3})
    assert [len(b) for b in plan.science_batches.values()] == [3, 2] * 4
    (stack,) = plan.science_groups
    assert plan.batches_of_stack[stack] == list(plan.science_batches)
    for frames in plan.science_batches.values():
        assert len({f[:9] for f in frames}) == 1  # one night each
