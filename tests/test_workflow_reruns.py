"""Reruns: a changed parameter or a new raw frame reruns only what depends on it, and a
rerun from scratch gives byte-identical arrays."""

from __future__ import annotations

import datetime as dt
import shutil

import numpy as np
import pytest

from gmoslib.instrument.detectors import LAYOUTS
from gmoslib.io.fitsio import read_frame
from gmoslib.sim import FrameSpec, make_detector_model, simulate_preset, star_field, write_raw
from tests.workflow_helpers import jobs_run, run_snakemake

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def raw(tmp_path_factory):
    d = tmp_path_factory.mktemp("rerun") / "raw"
    simulate_preset("small", str(d), seed=21)
    return d


def test_changed_parameter_reruns_only_affected_steps(raw, tmp_path):
    run_snakemake(tmp_path, "calibrations", config={"raw_dir": str(raw)})
    proc = run_snakemake(tmp_path, "calibrations", config={
        "raw_dir": str(raw), "params": "{stackFlats: {reject_method: none}}"})
    ran = set(jobs_run(proc)) - {"calibrations", "manifest"}
    assert ran == {"stack_flat"}, ran


def test_new_science_frame_reruns_only_its_frame_and_the_stack(raw, tmp_path):
    local_raw = tmp_path / "raw"
    shutil.copytree(raw, local_raw)
    work = tmp_path / "work"
    work.mkdir()
    run_snakemake(work, config={"raw_dir": str(local_raw)})
    model = make_detector_model(LAYOUTS["GN-Ham"], 4, 4, None, seed=21)
    stars = star_field("GN-Ham", 4, 4, 285.00429583, 24.98093611, 200, 21)
    program = "GN-2017A-Q-1"
    spec = FrameSpec("science", "N20170614S0204", dt.datetime(2017, 6, 14, 9, 3), 10.0,
                     filter2="i_G0302", object="starfield", sky_e=800.0, poffset=5.0,
                     qoffset=-10.0, cosmic_rays=5, program=program, obsid=f"{program}-5",
                     datalab=f"{program}-5-004")
    write_raw(str(local_raw / "N20170614S0204.fits"), model, spec, stars, seed=21)
    proc = run_snakemake(work, config={"raw_dir": str(local_raw)})
    ran = jobs_run(proc)
    assert ran.count("reduce_science_frame") == 1, ran
    assert "stack_science" in ran
    assert "stack_bias" not in ran and "stack_flat" not in ran


def test_rerun_from_scratch_is_byte_identical(raw, tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    for work in (a, b):
        run_snakemake(work, config={"raw_dir": str(raw)})
    for rel in ("calibrations/processed_bias/N20170613S0180_bias.fits",
                "calibrations/processed_flat/N20170702S0178_flat.fits",
                "results/N20170614S0201_stack.fits"):
        fa, fb = read_frame(str(a / rel)), read_frame(str(b / rel))
        for ea, eb in zip(fa.exts, fb.exts, strict=True):
            assert np.array_equal(ea.sci, eb.sci), rel
            assert np.array_equal(ea.var, eb.var), rel
            assert np.array_equal(ea.dq, eb.dq), rel
