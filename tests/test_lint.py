"""The house style checks of the README's `make lint`, run by the test suite too: ruff on the
Python, snakefmt on the Snakefile and rules (a change that breaks either fails CI)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def _run(*cmd: str) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=300)


def test_ruff_is_clean():
    proc = _run(str(BIN / "ruff"), "check", "--quiet", ".")
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_snakefmt_is_clean():
    proc = _run(str(BIN / "snakefmt"), "--check", "Snakefile", "rules/")
    assert proc.returncode == 0, proc.stdout + proc.stderr
