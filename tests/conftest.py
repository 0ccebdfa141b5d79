"""Fixtures shared by several test modules (session scope: each costs a workflow run)."""

from __future__ import annotations

import pytest

from gmoslib.sim import simulate_preset
from tests import workflow_helpers
from tests.workflow_helpers import run_snakemake


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
