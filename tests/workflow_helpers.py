"""Run the workflow through Snakemake's command line, as a user would, from pytest."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SNAKEFILE = REPO / "Snakefile"

#: Set by conftest before each test: whether the test is marked ``slow``.  The unit tier
#: (``make test-unit``) must stay fast, so a Snakemake run from an unmarked test fails.
SLOW_TEST_RUNNING = True


def _check_tier() -> None:
    if not SLOW_TEST_RUNNING:
        raise AssertionError("a test that runs Snakemake must be marked slow "
                             "(@pytest.mark.slow or pytestmark): the unit tier stays fast")


def run_snakemake(workdir: Path, *args: str, config: dict | None = None,
                  check: bool = True, timeout: int = 600) -> subprocess.CompletedProcess:
    """``snakemake -s REPO/Snakefile -d workdir --cores 2 args... [--quiet host]
    [--config k=v ...]``: the job blocks are shown (``--quiet host`` replaces the quiet
    console of profiles/default) unless ``args`` choose ``--quiet`` or a profile."""
    _check_tier()
    cmd = [sys.executable, "-m", "snakemake", "-s", str(SNAKEFILE), "-d", str(workdir),
           "--cores", "2", "--nolock"]
    cmd += list(args)
    if "--quiet" not in args and "--workflow-profile" not in args:
        # Snakemake's job blocks, which jobs_run() reads (profiles/default hides them)
        cmd += ["--quiet", "host"]
    if config:  # last: --config takes every following word
        cmd += ["--config"] + [f"{k}={v}" for k, v in config.items()]
    env = dict(os.environ)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env,
                          cwd=str(workdir))
    if check and proc.returncode != 0:
        raise AssertionError(
            f"snakemake failed ({proc.returncode}): {' '.join(cmd)}\n"
            f"--- stdout ---\n{proc.stdout[-5000:]}\n--- stderr ---\n{proc.stderr[-8000:]}"
        )
    return proc


def jobs_run(proc: subprocess.CompletedProcess) -> list[str]:
    """Names of the rules that ran (from Snakemake's 'rule NAME:' / 'localrule' lines)."""
    names = []
    for line in (proc.stdout + proc.stderr).splitlines():
        line = line.strip()
        for prefix in ("rule ", "localrule ", "checkpoint ", "localcheckpoint "):
            if line.startswith(prefix) and line.endswith(":"):
                names.append(line[len(prefix):-1])
    return names
