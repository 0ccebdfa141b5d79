"""Fixtures shared by several test modules (session scope: each costs a workflow run)."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from gmoslib.sim import simulate_preset
from tests import workflow_helpers
from tests.workflow_helpers import run_snakemake


@pytest.fixture(scope="session")
def small_preset(tmp_path_factory) -> Path:
    """The `small` simulated night (seed 1), simulated once per test run and shared by the
    pytest-xdist workers: a folder with ``raw/`` (11 files and truth/) and ``files.txt``
    (the paths simulate_preset returned, in its order, relative to raw/).  Read only: a test
    takes a copy (tests._io_helpers.small_raw)."""
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent  # the run's folder, above every worker's own
    done = root / "small_preset_seed1"
    if not done.is_dir():
        build = Path(tempfile.mkdtemp(prefix=".small_preset.", dir=root))
        paths = simulate_preset("small", str(build / "raw"), seed=1)
        (build / "files.txt").write_text(
            "".join(os.path.relpath(p, build / "raw") + "\n" for p in paths))
        try:
            os.rename(build, done)  # atomic: a worker sees all of it or nothing
        except OSError:  # another worker finished first: use its copy
            shutil.rmtree(build)
    return done


@pytest.fixture(scope="session")
def small_night(tmp_path_factory):
    """The `small` simulated night (seed 11) reduced once through Snakemake's command line:
    (raw_dir, working directory).  Tests only read it."""
    raw = tmp_path_factory.mktemp("sci") / "raw"
    simulate_preset("small", str(raw), seed=11)
    work = tmp_path_factory.mktemp("scinight")
    run_snakemake(work, config={"raw_dir": str(raw)}, timeout=900)
    return raw, work


def pytest_collection_modifyitems(config, items):
    """Run the Slurm test last.  Once it has installed Slurm and stopped its daemons, every
    Snakemake start pays several seconds: the Slurm executor plugin asks the (stopped)
    controller for its configuration when it is loaded."""
    items.sort(key=lambda item: item.path.name == "test_slurm.py")  # stable: order kept


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    """Before the test's fixtures are set up: only a test marked ``slow`` may run Snakemake
    (``run_snakemake`` checks), so the unit tier of ``make test`` stays fast."""
    workflow_helpers.SLOW_TEST_RUNNING = item.get_closest_marker("slow") is not None
