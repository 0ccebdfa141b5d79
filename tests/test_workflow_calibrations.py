"""End-to-end: the Snakemake workflow builds master bias and flat from simulated raw data."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from gmoslib.instrument.detectors import LAYOUTS
from gmoslib.io.fitsio import read_frame
from gmoslib.sim import simulate_preset
from gmoslib.sim.core import FrameSpec, make_detector_model, write_raw
from tests.workflow_helpers import jobs_run, run_snakemake

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def small_raw(tmp_path_factory) -> Path:
    raw = tmp_path_factory.mktemp("small") / "raw"
    simulate_preset("small", str(raw), seed=3)
    return raw


@pytest.fixture(scope="module")
def night(small_raw, tmp_path_factory) -> Path:
    """A night directory elsewhere than the raw data and the pipeline, run once."""
    work = tmp_path_factory.mktemp("night")
    run_snakemake(work, "calibrations", config={"raw_dir": str(small_raw)})
    return work


def test_calibrations_are_built_and_named_after_first_file(night):
    bias = night / "calibrations/processed_bias/N20170613S0180_bias.fits"
    flat = night / "calibrations/processed_flat/N20170702S0178_flat.fits"
    assert bias.exists() and flat.exists()
    assert (night / "manifest/manifest.tsv").exists()
    assert (night / "logs/stack_bias/N20170613S0180.log").exists()
    assert (night / "benchmarks/stack_bias/N20170613S0180.tsv").exists()


def test_master_bias_matches_truth(night, small_raw):
    truth = json.loads((small_raw / "truth/frames.json").read_text())
    det = np.load(small_raw / "truth/detector.npz")
    master = read_frame(str(night / "calibrations/processed_bias/N20170613S0180_bias.fits"))
    assert master.phu["NCOMBINE"] == 5
    assert master.phu["IMCMB001"] == "N20170613S0180.fits"
    n = master.phu["NCOMBINE"]
    first = truth["frames"]["N20170613S0180"]["amps"]
    for i, ext in enumerate(master.exts):
        nd = first[i]["dead_rows"]
        sci = ext.sci[nd:]
        # level: the data-minus-overscan offset the simulator put in, within 0.1 ADU
        assert abs(float(sci.mean()) - first[i]["bias_offset"]) < 0.1, i
        # pixel noise about the fixed pattern: read noise / sqrt(N) within 10 %
        resid = sci - det[f"pattern_{i}"][nd:]
        expected = first[i]["read_noise"] / first[i]["gain"] / np.sqrt(n)
        assert abs(float(resid.std()) / expected - 1) < 0.1, (i, resid.std(), expected)
        # VAR agrees with the measured scatter (to 15 %: VAR ignores the overscan term)
        assert abs(np.sqrt(float(ext.var[nd:].mean())) / float(resid.std()) - 1) < 0.15
        # dead Hamamatsu rows are flagged as no data
        assert np.all(ext.dq[:nd] & 16)


def test_master_flat_recovers_pixel_response(night, small_raw):
    truth = json.loads((small_raw / "truth/frames.json").read_text())
    det = np.load(small_raw / "truth/detector.npz")
    flat = read_frame(str(night / "calibrations/processed_flat/N20170702S0178_flat.fits"))
    assert flat.phu["BIASIM"] == "N20170613S0180_bias.fits"
    qe = truth["qe_twilight"]
    ratios = []
    for i, ext in enumerate(flat.exts):
        good = ext.dq == 0
        expected = det[f"response_{i}"] * det[f"illumination_{i}"] * qe[i // 4]
        ratios.append(ext.sci[good] / expected[good])
        assert np.all(ext.sci[~good] == 1.0)
    r = np.concatenate(ratios)
    r /= np.median(r)
    assert float(np.std(r)) < 0.005
    # VAR against the scatter of the flat about the truth.  With 3 flats, minmax keeps the
    # middle value, whose scatter is ~0.7x a single frame's, while VAR follows the reference's
    # rule (mean VAR of the survivors / n): an upper bound, at most ~1.5x the scatter.
    ext = flat.exts[5]
    good = ext.dq == 0
    expected = det["response_5"] * det["illumination_5"] * qe[1]
    ratio = ext.sci[good] / expected[good]
    scatter = float(np.std(ratio / np.median(ratio))) * float(np.median(ext.sci[good]))
    sigma = float(np.sqrt(np.median(ext.var[good])))
    assert scatter < sigma < 1.6 * scatter, (sigma, scatter)


def test_rerun_does_nothing(night, small_raw):
    proc = run_snakemake(night, "calibrations", config={"raw_dir": str(small_raw)})
    assert "Nothing to be done" in proc.stdout + proc.stderr


def test_new_bias_rebuilds_only_affected(small_raw, tmp_path):
    raw = tmp_path / "raw"
    shutil.copytree(small_raw, raw)
    work = tmp_path / "work"
    work.mkdir()
    run_snakemake(work, "calibrations", config={"raw_dir": str(raw)})
    flat_path = work / "calibrations/processed_flat/N20170702S0178_flat.fits"
    flat_mtime = flat_path.stat().st_mtime
    # a bias taken 300 days later forms its own master; nothing it can serve changes
    model = make_detector_model(LAYOUTS["GN-Ham"], 4, 4, None, seed=3)
    import datetime as dt

    when = dt.datetime(2018, 4, 9, 19)
    write_raw(str(raw / "N20180409S0001.fits"), model,
              FrameSpec("bias", "N20180409S0001", when), seed=3)
    proc = run_snakemake(work, "calibrations", config={"raw_dir": str(raw)})
    ran = jobs_run(proc)
    assert "stack_bias" in ran and "stack_flat" not in ran, ran
    assert (work / "calibrations/processed_bias/N20180409S0001_bias.fits").exists()
    assert flat_path.stat().st_mtime == flat_mtime


def test_missing_bias_is_a_clear_error(small_raw, tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    for p in small_raw.glob("N20170702*.fits"):  # twilights only, no bias
        shutil.copy(p, raw)
    proc = run_snakemake(tmp_path, "calibrations", config={"raw_dir": str(raw)}, check=False)
    assert proc.returncode != 0
    text = proc.stdout + proc.stderr
    assert "no processed_bias for N20170702S0178" in text
    assert not list(tmp_path.glob("calibrations/processed_flat/*.fits"))


def test_processed_bias_from_calibration_dirs_is_used(night, small_raw, tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    for p in small_raw.glob("N20170702*.fits"):  # twilights only
        shutil.copy(p, raw)
    work = tmp_path / "work"
    work.mkdir()
    caldir = night / "calibrations"
    proc = run_snakemake(work, "calibrations", config={
        "raw_dir": str(raw), "calibration_dirs": f"[{caldir}]"})
    ran = jobs_run(proc)
    assert "stack_flat" in ran and "stack_bias" not in ran, ran
    flat = read_frame(str(work / "calibrations/processed_flat/N20170702S0178_flat.fits"))
    assert flat.phu["BIASIM"] == "N20170613S0180_bias.fits"


def test_user_cal_override_and_bad_user_cal(night, small_raw, tmp_path):
    bias = night / "calibrations/processed_bias/N20170613S0180_bias.fits"
    good = tmp_path / "good"
    good.mkdir()
    proc = run_snakemake(good, "calibrations", config={
        "raw_dir": str(small_raw), "user_cal": f"{{processed_bias: {bias}}}"})
    assert "stack_flat" in jobs_run(proc)
    flat = read_frame(str(good / "calibrations/processed_flat/N20170702S0178_flat.fits"))
    assert flat.phu["BIASIM"] == bias.name
    bad = run_snakemake(tmp_path, "calibrations", config={
        "raw_dir": str(small_raw), "user_cal": f"{{processed_bias: {tmp_path}/nope.fits}}"},
        check=False)
    assert bad.returncode != 0
    assert "does not exist" in bad.stdout + bad.stderr


def test_unknown_config_key_is_rejected(small_raw, tmp_path):
    proc = run_snakemake(tmp_path, "calibrations", config={"raw_dir": str(small_raw),
                                                           "bias_frames": 3}, check=False)
    assert proc.returncode != 0
    assert "bias_frames" in proc.stdout + proc.stderr
