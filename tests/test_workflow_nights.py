"""Several nights in one raw directory: association across nights follows the rules, and a
new night reruns only its own products and the stack that includes them.

The nights are the `small` preset's night copied onto other dates (new DATE-OBS, UT, data
labels and file names; the pixels are the preset's).  Science dates (UT) and what each night
holds, before the sixth night is added:

    D0 2017-06-13  biases, twilights, 3 science      D3 2017-06-20  biases, twilights, 3 science
    D1 2017-06-14  3 science                         D4 2017-06-21  3 science
    D2 2017-06-15  biases, 3 science                 D5 2017-06-27  biases, twilights, 3 science

(D5 is added by the second test).

Biases are taken at 19:00 UT, twilights at 05:30 UT, science at 09:00 UT.  With the default
span (3 days) and gap (5 days): the biases of D0 and D2 make one master (span 2 days; dated by
its median, D1 19:04), D3's biases another (7 days after D0: past the span), D5's a third
(7 days after D3: past the gap); the twilights of D0, D3 and D5 make one master each.  Each
frame gets the nearest master in time: D0-D2 the first bias and flat, D3-D4 the second (D4 is
1.4 days from D3's and 6.4 days from D5's), D5 its own.
"""

from __future__ import annotations

import datetime as dt
import os
import re

import pytest
from astropy.io import fits

from gmoslib.sim import simulate_preset
from tests.workflow_helpers import REPO, jobs_run, run_snakemake

pytestmark = pytest.mark.slow

DAYS = {"D0": "2017-06-13", "D1": "2017-06-14", "D2": "2017-06-15", "D3": "2017-06-20",
        "D4": "2017-06-21", "D5": "2017-06-27"}
BIAS_NIGHTS, FLAT_NIGHTS = ("D0", "D2", "D3", "D5"), ("D0", "D3", "D5")


def _ut(when: dt.datetime) -> str:
    return when.strftime("%H:%M:%S.") + f"{when.microsecond // 100000}"


def redate(src, dst, when: dt.datetime, datalab: str) -> None:
    """Copy a raw file with a new observing time and data label (pixels unchanged)."""
    with fits.open(src, do_not_scale_image_data=True) as hdul:
        phu = hdul[0].header
        phu["DATE-OBS"] = when.strftime("%Y-%m-%d")
        phu["UT"] = phu["TIME-OBS"] = _ut(when)
        phu["UTSTART"] = when.strftime("%H:%M:%S.%f")[:13]
        phu["DATALAB"] = datalab
        mjd = (when - dt.datetime(1858, 11, 17)).total_seconds() / 86400.0
        for hdu in hdul[1:]:
            hdu.header["MJD-OBS"] = mjd
        hdul.writeto(dst)


def copy_night(templates: dict[str, list[str]], raw_dir, key: str) -> dict[str, list[str]]:
    """The template night's frames of the kinds this night has, on the night's date: frame
    names by kind."""
    day = dt.datetime.fromisoformat(DAYS[key])
    kinds = {"science": (dt.timedelta(hours=9), 1)}
    if key in BIAS_NIGHTS:
        kinds["bias"] = (dt.timedelta(hours=19), 2)
    if key in FLAT_NIGHTS:
        kinds["flat"] = (dt.timedelta(hours=5, minutes=30), 3)
    names: dict[str, list[str]] = {}
    for kind, (at, step) in kinds.items():
        for k, src in enumerate(templates[kind]):
            name = f"N{day:%Y%m%d}S{100 * step + k:04d}"
            when = day + at + dt.timedelta(minutes=step * k)
            redate(src, os.path.join(raw_dir, name + ".fits"), when,
                   f"GN-2017A-Q-1-{key}{step}-{k + 1:03d}")
            names.setdefault(kind, []).append(name)
    return names


@pytest.fixture(scope="module")
def nights(tmp_path_factory):
    base = tmp_path_factory.mktemp("nights")
    template = base / "template"
    simulate_preset("small", str(template), seed=17)
    kind_of = {"N20170613": "bias", "N20170702": "flat", "N20170614": "science"}
    templates: dict[str, list[str]] = {}
    for name in sorted(os.listdir(template)):
        if name.endswith(".fits"):
            templates.setdefault(kind_of[name[:9]], []).append(str(template / name))
    raw = base / "raw"
    raw.mkdir()
    names = {key: copy_night(templates, raw, key) for key in DAYS if key != "D5"}
    work = base / "work"
    work.mkdir()
    run_snakemake(work, config={"raw_dir": str(raw)}, timeout=900)
    return templates, raw, work, names


def _master(names, key, kind):
    return f"{names[key][kind][0]}_{kind}.fits"


def _keyword(path, key):
    return fits.getheader(path)[key]


def test_association_across_nights_follows_the_rules(nights):
    _, _, work, names = nights
    bias_files = sorted(os.listdir(work / "calibrations" / "processed_bias"))
    flat_files = sorted(os.listdir(work / "calibrations" / "processed_flat"))
    assert bias_files == [_master(names, "D0", "bias"), _master(names, "D3", "bias")]
    assert flat_files == [_master(names, "D0", "flat"), _master(names, "D3", "flat")]
    bias_d0 = work / "calibrations" / "processed_bias" / _master(names, "D0", "bias")
    inputs = sorted(v for k, v in fits.getheader(bias_d0).items() if k.startswith("IMCMB"))
    assert inputs == sorted(f"{n}.fits" for n in names["D0"]["bias"] + names["D2"]["bias"])
    expected = {"D0": "D0", "D1": "D0", "D2": "D0", "D3": "D3", "D4": "D3"}
    for key, cal in expected.items():
        for frame in names[key]["science"]:
            mosaic = work / "work" / "mosaic" / f"{frame}_mosaic.fits"
            assert _keyword(mosaic, "BIASIM") == _master(names, cal, "bias"), frame
            assert _keyword(mosaic, "FLATIM") == _master(names, cal, "flat"), frame
    for key in ("D0", "D3"):  # each flat's bias: the nearest master to its first twilight
        flat = work / "calibrations" / "processed_flat" / _master(names, key, "flat")
        assert _keyword(flat, "BIASIM") == _master(names, key, "bias")
    # one stack over the nights (target and filter); one per night on request
    stacks = [f for f in os.listdir(work / "results") if f.endswith("_stack.fits")]
    assert stacks == [f"{names['D0']['science'][0]}_stack.fits"]
    proc = run_snakemake(work, "-n", "stacks", config={"raw_dir": str(nights[1]),
                                                       "stack_per_night": "True"})
    assert jobs_run(proc).count("stack_science") == 5


def test_a_new_night_reruns_only_its_products_and_the_stack(nights):
    templates, raw, work, names = nights
    before = {p: p.stat().st_mtime_ns for p in (work / "work" / "mosaic").iterdir()}
    before.update({p: p.stat().st_mtime_ns for p in (work / "calibrations").rglob("*.fits")})
    new = copy_night(templates, raw, "D5")
    run_snakemake(work, "manifest/manifest.tsv", config={"raw_dir": str(raw)})
    plan = run_snakemake(work, "-n", config={"raw_dir": str(raw)})
    planned = jobs_run(plan)
    text = plan.stdout + plan.stderr
    frames = sorted(re.findall(r"wildcards: frame=(\S+)", text))
    assert frames == sorted(new["science"])
    # masters, the batch of its frames (one cluster job) and the stack
    assert sorted(re.findall(r"wildcards: name=(\S+)", text)) == sorted(
        [new["bias"][0], new["flat"][0], new["science"][0], names["D0"]["science"][0]])
    assert sorted(set(planned) - {"all"}) == ["reduce_science_frame", "science_batch",
                                              "stack_bias", "stack_flat", "stack_science"]
    run_snakemake(work, config={"raw_dir": str(raw)}, timeout=900)
    for frame in new["science"]:
        mosaic = work / "work" / "mosaic" / f"{frame}_mosaic.fits"
        assert _keyword(mosaic, "BIASIM") == f"{new['bias'][0]}_bias.fits"
        assert _keyword(mosaic, "FLATIM") == f"{new['flat'][0]}_flat.fits"
    assert {p: p.stat().st_mtime_ns for p in before} == before
    stack = work / "results" / f"{names['D0']['science'][0]}_stack.fits"
    assert fits.getheader(stack)["NCOMBINE"] == 18


def test_slurm_profile_sends_frames_in_batches(nights):
    """The Slurm profile's job groups (planned only: no cluster needed for a dry run): the
    science frames go to the cluster one night to a job (at most frames_per_cluster_job),
    not one job each."""
    _, raw, work, _ = nights
    proc = run_snakemake(work, "-n", "--workflow-profile", str(REPO / "profiles" / "slurm"),
                         "--forcerun", "reduce_science_frame", config={"raw_dir": str(raw)})
    text = proc.stdout + proc.stderr
    assert jobs_run(proc).count("reduce_science_frame") == 18
    assert text.count("Group job science_frames") == 6, text[-3000:]  # one per night
