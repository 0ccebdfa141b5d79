"""The workflow on a real one-node Slurm cluster, compared with a local run.

Opt-in: it runs only with GMOS_SLURM_TEST=1, because tests/slurm/slurm.sh then installs
system packages as root (see INSTALLS), starts the daemons without systemd, and stops them by
PID afterwards.  Otherwise, or without root or apt-get, the test is skipped with the reason --
except that with the variable set in CI (CI=true) it must run.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

from gmoslib.io.fitsio import read_frame
from gmoslib.sim import simulate_preset
from tests.workflow_helpers import REPO, run_snakemake

pytestmark = pytest.mark.slow
SCRIPT = REPO / "tests" / "slurm" / "slurm.sh"
OPT_IN = "GMOS_SLURM_TEST"
INSTALLS = ("Debian's slurm-wlm and munge with apt-get as root (about 40 packages with their "
            "dependencies), then starts slurmctld, slurmd and munged")


@pytest.fixture(scope="module")
def slurm_cluster():
    if os.environ.get(OPT_IN) != "1":
        pytest.skip(f"opt-in: {OPT_IN}=1 runs this test, which installs {INSTALLS}")
    proc = subprocess.run(["bash", str(SCRIPT), "start"], capture_output=True, text=True,
                          timeout=600)
    if proc.returncode != 0:
        reason = f"cannot start Slurm here: {proc.stderr.strip() or proc.stdout.strip()}"
        if os.environ.get("CI") and proc.returncode != 3:
            pytest.fail(reason)
        if os.environ.get("CI"):
            pytest.fail(reason + " (CI must run the Slurm test)")
        pytest.skip(reason)
    yield proc.stdout.strip()
    subprocess.run(["bash", str(SCRIPT), "stop"], capture_output=True, text=True, timeout=120)


def _arrays(path: Path):
    f = read_frame(str(path))
    return [(e.sci, e.var, e.dq) for e in f.exts]


def test_calibrations_through_slurm_equal_local(slurm_cluster, tmp_path):
    raw = tmp_path / "raw"
    simulate_preset("small", str(raw), seed=5)
    local = tmp_path / "local"
    cluster = tmp_path / "cluster"
    local.mkdir()
    cluster.mkdir()
    run_snakemake(local, "calibrations", "stacks", config={"raw_dir": str(raw)})
    proc = run_snakemake(cluster, "--workflow-profile", str(REPO / "profiles" / "slurm"),
                         "calibrations", "stacks", config={"raw_dir": str(raw)}, timeout=900)
    text = proc.stdout + proc.stderr
    assert "has been submitted with SLURM jobid" in text, text[-3000:]
    # the job group of the night's frames: the 3 science frames and their batch list are one
    # cluster job (manifest, bias, flat, frames, stack: 5 submissions, not 8)
    assert "Group job science_frames" in text, text[-3000:]
    assert text.count("submitted with SLURM jobid") <= 5, text[-3000:]
    for rel in ("calibrations/processed_bias/N20170613S0180_bias.fits",
                "calibrations/processed_flat/N20170702S0178_flat.fits",
                "work/mosaic/N20170614S0201_mosaic.fits",
                "results/N20170614S0201_stack.fits"):
        for a, b in zip(_arrays(local / rel), _arrays(cluster / rel), strict=True):
            for x, y in zip(a, b, strict=True):
                assert np.array_equal(x, y), rel
