"""The workflow on a real one-node Slurm cluster (profiles/slurm), compared with a local run:
a night's science frames go to Slurm as one or two grouped jobs (the job group science_frames,
counted in Snakemake's log and in Slurm's own job list), and every product is byte for byte
the local run's.

Opt-in: it runs only with GMOS_SLURM_TEST=1, because tests/slurm/slurm.sh then installs
system packages as root (see INSTALLS), starts the daemons without systemd, and stops them by
PID afterwards.  Otherwise, or without root or apt-get, the test is skipped with the reason --
except that with the variable set in CI (CI=true) it must run.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import subprocess
import time
from pathlib import Path

import pytest

from gmoslib.sim import simulate_preset
from tests.test_workflow_nights import redate
from tests.workflow_helpers import REPO, run_snakemake

pytestmark = pytest.mark.slow
SCRIPT = REPO / "tests" / "slurm" / "slurm.sh"
OPT_IN = "GMOS_SLURM_TEST"
INSTALLS = ("Debian's slurm-wlm and munge with apt-get as root (about 40 packages with their "
            "dependencies), then starts slurmctld, slurmd and munged")
#: The products compared byte for byte between the local and the cluster run.
PRODUCT_DIRS = ("manifest", "calibrations", "work", "results", "qa")
#: "Job ID has been submitted ...": ID is a number, or a UUID for a group job
SUBMITTED = re.compile(r"Job \S+ has been submitted with SLURM jobid (\d+) \(log: (\S+?)\)")
#: A job block of the Snakemake run inside a group job (the group's listing is indented)
REDUCED = re.compile(r"^(?:local)?rule reduce_science_frame:$.*?^    wildcards: frame=(\S+)$",
                     re.MULTILINE | re.DOTALL)


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


def night_of_six(raw: Path) -> list[str]:
    """The small preset, its night's 3 science frames copied 3 minutes later (new names, times
    and data labels; same pixels): one observing night of 6 science frames.  Their names."""
    simulate_preset("small", str(raw), seed=5)
    frames = sorted(p.stem for p in raw.glob("N20170614S*.fits"))
    assert len(frames) == 3, frames
    for k, frame in enumerate(list(frames)):
        name = f"N20170614S{204 + k:04d}"
        redate(raw / f"{frame}.fits", raw / f"{name}.fits",
               dt.datetime(2017, 6, 14, 9, 3 + k), f"GN-2017A-Q-1-5-{4 + k:03d}")
        frames.append(name)
    return frames


def products(workdir: Path) -> dict[str, bytes]:
    """{path relative to workdir: bytes} of every file of PRODUCT_DIRS."""
    return {str(p.relative_to(workdir)): p.read_bytes()
            for d in PRODUCT_DIRS for p in sorted((workdir / d).rglob("*")) if p.is_file()}


def slurm_jobs(run_id: str) -> dict[str, tuple[str, str]]:
    """{Slurm job id: (comment, state)} of the jobs named run_id that slurmctld still holds
    (MinJobAge in tests/slurm/slurm.sh keeps finished ones an hour)."""
    out = subprocess.run(["squeue", "--states=all", f"--name={run_id}", "-h", "-o", "%i|%k|%T"],
                         capture_output=True, text=True, check=True, timeout=60).stdout
    return {i: (c, t) for i, c, t in (line.split("|") for line in out.splitlines())}


def test_night_through_slurm_in_grouped_jobs_equal_local(slurm_cluster, tmp_path):
    """A night of 6 science frames through Slurm: the frames (and their batch list) are one
    or two grouped cluster jobs (job group science_frames, frames_per_cluster_job), not 6,
    and every product is byte for byte the local run's."""
    raw = tmp_path / "raw"
    frames = night_of_six(raw)
    local = tmp_path / "local"
    cluster = tmp_path / "cluster"
    local.mkdir()
    cluster.mkdir()
    t0 = time.monotonic()
    run_snakemake(local, "calibrations", "stacks", config={"raw_dir": str(raw)})
    t1 = time.monotonic()
    proc = run_snakemake(cluster, "--workflow-profile", str(REPO / "profiles" / "slurm"),
                         "--slurm-keep-successful-logs", "calibrations", "stacks",
                         config={"raw_dir": str(raw)}, timeout=1800)
    t2 = time.monotonic()
    text = proc.stdout + proc.stderr
    submitted = {jid: Path(log) for jid, log in SUBMITTED.findall(text)}
    grouped = {jid: log for jid, log in submitted.items()
               if any(part.startswith("group_science_frames") for part in log.parts)}
    # (a) the grouped plan: Slurm saw exactly the submissions of the log, and the night's
    # frames went as at most 2 jobs of the group science_frames (6 + 1 without groups)
    run_id = re.search(r"SLURM run ID: (\S+)", text)
    assert run_id, text[-3000:]
    held = slurm_jobs(run_id.group(1))
    assert set(held) == set(submitted), (held, text[-3000:])
    assert all(state == "COMPLETED" for _, state in held.values()), held
    in_group = {jid for jid, (comment, _) in held.items()
                if comment.startswith("rule_science_frames_")}
    assert in_group == set(grouped), (held, submitted)
    assert 1 <= len(grouped) <= 2, (held, text[-3000:])
    assert not any(c.startswith(("rule_reduce_science_frame", "rule_science_batch"))
                   for c, _ in held.values()), held
    # manifest, bias, flat, the night's group job(s), stack
    assert len(submitted) == 4 + len(grouped), (held, text[-3000:])
    # every frame was reduced once, inside one of the group jobs (their Slurm logs)
    reduced = [f for log in grouped.values() for f in REDUCED.findall(log.read_text())]
    assert sorted(reduced) == sorted(frames), reduced
    # (b) the products, byte for byte
    mine, theirs = products(local), products(cluster)
    assert f"work/mosaic/{frames[-1]}_mosaic.fits" in mine, sorted(mine)
    assert sorted(mine) == sorted(theirs)
    for rel, data in mine.items():
        assert data == theirs[rel], rel
    figures = (f"Slurm jobs submitted: {len(submitted)}, of them science_frames: "
               f"{len(grouped)} for {len(frames)} frames; wall time: local {t1 - t0:.0f} s, "
               f"Slurm {t2 - t1:.0f} s\n")
    (tmp_path / "figures.txt").write_text(figures)
    print(figures)
