"""Bad input, faults and interruptions (issue 8): every case of the bad-input corpus has a
defined outcome, raw files are never changed, and a run killed with SIGKILL in the middle of
stacking finishes, once restarted, with products byte-identical to an uninterrupted run."""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from gmoslib.sim import simulate_preset
from gmoslib.workflow.manifest import build_manifest, read_manifest, write_manifest
from tests import bad_input_corpus_hostile as hostile
from tests.bad_input_corpus import GOOD_FRAMES, SCIENCE
from tests.bad_input_corpus import MANIFEST_CASES as ISSUE8_MANIFEST_CASES
from tests.bad_input_corpus import WORKFLOW_CASES as ISSUE8_WORKFLOW_CASES
from tests.workflow_helpers import SNAKEFILE, jobs_run, run_snakemake

MANIFEST_CASES = ISSUE8_MANIFEST_CASES + hostile.MANIFEST_CASES
WORKFLOW_CASES = ISSUE8_WORKFLOW_CASES + hostile.WORKFLOW_CASES
CALL_CASES = hostile.CALL_CASES
PRODUCT_DIRS = ("calibrations", "work", "results")
CONFIG_CASES = ("unknown_config_key", "wrong_config_type", "misspelt_nested_config_key",
                "config_value_not_allowed")
#: lines Snakemake prints before a workflow error (profile and config notes)
SNAKEMAKE_PREAMBLE = 3


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Path:
    raw = tmp_path_factory.mktemp("base") / "raw"
    simulate_preset("small", str(raw), seed=3)
    return raw


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _products(work: Path) -> list[Path]:
    """Every file under the product folders (hidden temporary files included)."""
    return sorted(p for d in PRODUCT_DIRS for p in (work / d).rglob("*") if p.is_file())


# ------------------------------------------------------------------------- manifest level
@pytest.mark.parametrize("case", MANIFEST_CASES, ids=lambda c: c.name)
def test_manifest_case(case, base, tmp_path):
    name = case.build(base, tmp_path)
    table = build_manifest(str(tmp_path))
    rows = table[table["path"] == str(tmp_path / name)]
    assert len(rows) == 1, name
    row = rows.iloc[0]
    if case.outcome == "use":  # used under a frame name every later step can take
        assert row["usable"], (case.name, row["reason"])
        assert row["frame"].startswith(case.fragment), row["frame"]
        assert re.fullmatch(r"[A-Za-z0-9_+-][A-Za-z0-9._+-]{0,119}", row["frame"]), row["frame"]
    else:
        assert case.outcome == "skip"
        assert not row["usable"], (case.name, row["reason"])
        assert case.fragment in row["reason"], (case.name, row["reason"])
        # the reason names the problem on one line
        assert "\n" not in row["reason"] and "Traceback" not in row["reason"]
    # the manifest is written and read back unchanged (any file name)
    write_manifest(table, str(tmp_path / "m" / "manifest.tsv"))
    back = read_manifest(str(tmp_path / "m" / "manifest.tsv"))
    assert list(back["path"]) == list(table["path"])
    assert list(back["frame"]) == list(table["frame"])
    others = table[table["path"] != str(tmp_path / name)]
    assert others["usable"].all(), others[["path", "reason"]]


def test_corpus_has_every_kind_of_case():
    cases = MANIFEST_CASES + WORKFLOW_CASES + CALL_CASES
    names = {c.name for c in cases}
    assert len(names) == len(cases) >= 20
    outcomes = {"manifest": ("skip", "use"), "workflow": ("fatal", "runs"), "call": ("error",)}
    assert all(c.outcome in outcomes[c.level] for c in cases)


def test_every_case_is_in_the_documentation():
    doc = (Path(__file__).resolve().parents[1] / "docs" / "bad-input.md").read_text()
    missing = [c.name for c in MANIFEST_CASES + WORKFLOW_CASES + CALL_CASES
               if f"`{c.name}`" not in doc]
    assert not missing


# ------------------------------------------------------------------------- call level
@pytest.mark.parametrize("case", CALL_CASES, ids=lambda c: c.name)
def test_call_case(case, base, tmp_path):
    call = case.build(base, tmp_path)
    with pytest.raises((SystemExit, ValueError, RuntimeError)) as info:
        call()
    message = str(info.value.code if isinstance(info.value, SystemExit) else info.value)
    assert case.fragment in message, message
    assert "\n" not in message and "Traceback" not in message


# ------------------------------------------------------------------------- workflow level
def _run_case(case, base: Path, case_dir: Path):
    case_dir.mkdir(parents=True)
    setup = case.build(base, case_dir)
    args = [*setup.targets, *setup.args] + (["--dry-run"] if setup.dry_run else [])
    try:
        proc = run_snakemake(setup.workdir, *args, config=setup.config, check=False)
        if case.outcome == "runs" and proc.returncode == 0:
            # then the whole night is planned (dry run) over the manifest's usable files
            plan = run_snakemake(setup.workdir, "--dry-run", config=setup.config, check=False)
            proc = subprocess.CompletedProcess(plan.args, plan.returncode,
                                               proc.stdout + plan.stdout,
                                               proc.stderr + plan.stderr)
    finally:
        if setup.cleanup:
            setup.cleanup()
    return setup, proc


@pytest.fixture(scope="module")
def workflow_outcomes(base, tmp_path_factory, request):
    """Every selected workflow-level case run once (two at a time: most of the time is
    Snakemake starting up)."""
    root = tmp_path_factory.mktemp("wfcases")
    selected = {item.callspec.params["case"].name for item in request.session.items
                if getattr(item, "originalname", "") == "test_workflow_case"}
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = {c.name: pool.submit(_run_case, c, base, root / c.name)
                   for c in WORKFLOW_CASES if c.name in selected}
        return {name: f.result() for name, f in futures.items()}


@pytest.mark.slow
@pytest.mark.parametrize("case", WORKFLOW_CASES, ids=lambda c: c.name)
def test_workflow_case(case, workflow_outcomes):
    setup, proc = workflow_outcomes[case.name]
    text = proc.stdout + proc.stderr
    if case.outcome == "runs":
        assert proc.returncode == 0, text[-5000:]
        table = read_manifest(str(setup.workdir / "manifest/manifest.tsv"))
        # the fragment is a manifest reason or a note of the run
        assert case.fragment in text or any(case.fragment in r for r in table["reason"]), (
            list(table["reason"]), text[-3000:])
        assert sorted(table.loc[table["usable"], "frame"]) == sorted(GOOD_FRAMES)
        if case.name == "products_of_removed_frames_moved":
            assert (setup.workdir / "stale/results/N20170614S0999_stack.fits").exists()
            assert not (setup.workdir / "results/N20170614S0999_stack.fits").exists()
        return
    assert case.outcome == "fatal"
    assert proc.returncode != 0, text[-3000:]
    assert case.fragment in text, text[-5000:]
    # the message is not only a traceback: the fragment sits on a line of its own message
    lines = [ln for ln in text.splitlines() if case.fragment in ln]
    assert any(not ln.lstrip().startswith(("File ", "raise ")) for ln in lines), lines
    # stopped before any processing: no product, no temporary file left behind
    assert _products(setup.workdir) == [], _products(setup.workdir)
    if case.name in CONFIG_CASES:  # the key, what is allowed and an example, in a few lines
        assert len(text.splitlines()) < 20 + SNAKEMAKE_PREAMBLE, text
        assert "example: " in text, text


# ------------------------------------------------------------------------- nothing lost
@pytest.fixture(scope="module")
def messy_raw(base, tmp_path_factory) -> Path:
    """The small preset plus every manifest-level corpus file (copies: their checksums are
    checked after the run)."""
    raw = tmp_path_factory.mktemp("messy") / "raw"
    raw.mkdir()
    for f in GOOD_FRAMES:
        (raw / f"{f}.fits").write_bytes((base / f"{f}.fits").read_bytes())
    for case in MANIFEST_CASES:
        case.build(base, raw)
    return raw


@pytest.fixture(scope="module")
def clean_run(messy_raw, tmp_path_factory):
    before = {p.name: _sha(p) for p in messy_raw.iterdir() if p.is_file()}
    work = tmp_path_factory.mktemp("clean")
    proc = run_snakemake(work, config={"raw_dir": str(messy_raw)}, timeout=900)
    return work, before, proc


@pytest.mark.slow
def test_run_on_messy_directory_skips_junk_and_keeps_raw_files_intact(messy_raw, clean_run,
                                                                      base, tmp_path):
    work, before, proc = clean_run
    after = {p.name: _sha(p) for p in messy_raw.iterdir() if p.is_file()}
    assert after == before  # no raw file changed, none added or removed
    table = read_manifest(str(work / "manifest/manifest.tsv"))
    by_name = {os.path.basename(p): (u, s) for p, u, s in
               zip(table["path"], table["usable"], table["sha256"], strict=True)}
    entries = sorted(n for n in os.listdir(messy_raw))
    assert sorted(by_name) == entries  # every entry has one row
    # checksums in the manifest (entries set aside unread have none)
    assert {n: s for n, (_, s) in by_name.items() if s} == {
        n: s for n, s in before.items() if by_name[n][1]}
    used = [f"{f}.fits" for f in GOOD_FRAMES] + [
        c.build(base, tmp_path) for c in MANIFEST_CASES if c.outcome == "use"]
    assert sorted(n for n, (u, _) in by_name.items() if u) == sorted(used)
    assert (work / f"results/{SCIENCE}_stack.fits").exists()
    n_bad = len(entries) - len(used)
    summary = [ln for ln in (proc.stdout + proc.stderr).splitlines()
               if ln.startswith("gmos-snake: ")]
    assert len(summary) == 1, summary
    assert summary[0].startswith(f"gmos-snake: {n_bad} of {len(entries)} raw files skipped "
                                 "(reasons in manifest/manifest.tsv, column reason): ")
    assert "N20170614S0301.fits (unreadable)" in summary[0]


def _descendants(pid: int) -> list[int]:
    """Processes started, directly or not, by pid (from /proc)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        ppid = int(text.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        for c in children.get(todo.pop(), []):
            found.append(c)
            todo.append(c)
    return found


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


@pytest.mark.slow
def test_sigkill_mid_stack_then_rerun_gives_identical_products(messy_raw, clean_run,
                                                               tmp_path):
    clean, _, _ = clean_run
    # the clean run's night without its stack (mtimes and Snakemake's records kept), so the
    # run below has only the stacking left to do
    work = tmp_path / "killed"
    shutil.copytree(clean, work, symlinks=True,
                    ignore=lambda d, names: ["results"] if Path(d) == clean else [])
    # a stacking budget too small to hold the frames in memory: the job stacks from scratch
    # files, the case to interrupt (the result does not depend on the budget)
    config = {"raw_dir": str(messy_raw), "stack_memory_mb": 16}
    cmd = [sys.executable, "-m", "snakemake", "-s", str(SNAKEFILE), "-d", str(work),
           "--cores", "2", "--config", *(f"{k}={v}" for k, v in config.items())]
    env = dict(os.environ)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env=env, cwd=str(work))
    scratch = work / "results" / f".{SCIENCE}_stack.fits.scratch"
    killed: list[int] = []
    deadline = time.monotonic() + 300
    try:
        # wait until the stack_science job is stacking: its scratch folder holds data
        while time.monotonic() < deadline and proc.poll() is None:
            if scratch.is_dir() and any(scratch.rglob("*.npy")):
                family = _descendants(proc.pid)
                jobs = [p for p in family if ".stack_science.py" in _cmdline(p)]
                if jobs:
                    for p in jobs:  # the job process (and the shell that started it)...
                        os.kill(p, signal.SIGKILL)
                    proc.send_signal(signal.SIGKILL)  # ...and Snakemake itself
                    killed = jobs
                    for p in family:  # nothing of the killed run may live on
                        if p not in jobs:
                            with contextlib.suppress(ProcessLookupError):
                                os.kill(p, signal.SIGKILL)
                    break
            time.sleep(0.02)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
    assert killed, "never saw the stack_science job running"
    assert not (work / f"results/{SCIENCE}_stack.fits").exists()
    # restart: Snakemake reruns the incomplete job; the scratch left behind is cleared
    rerun = run_snakemake(work, config=config, timeout=900)
    assert jobs_run(rerun).count("stack_science") == 1, jobs_run(rerun)
    assert not scratch.exists()
    killed_files = [p.relative_to(work) for p in _products(work)]
    clean_files = [p.relative_to(clean) for p in _products(clean)]
    assert killed_files == clean_files  # no left-over temporary file
    for rel in [Path("manifest/manifest.tsv"), *clean_files]:
        assert (work / rel).read_bytes() == (clean / rel).read_bytes(), rel


# ------------------------------------------------------------------------- atomic writes
def test_atomic_output_clears_a_killed_writers_temporaries(tmp_path):
    from gmoslib.io.fitsio import atomic_output

    target = tmp_path / "x_stack.fits"
    stale = tmp_path / ".x_stack.fits.k1lled_1.tmp"  # what a SIGKILLed writer leaves
    stale.write_bytes(b"half a product")
    other = tmp_path / ".y_stack.fits.abcdefgh.tmp"  # another product's: not ours to remove
    other.write_bytes(b"")
    with atomic_output(str(target)) as tmp:
        Path(tmp).write_bytes(b"complete")
    assert target.read_bytes() == b"complete"
    assert sorted(p.name for p in tmp_path.iterdir()) == [other.name, target.name]
    with pytest.raises(RuntimeError), atomic_output(str(target)) as tmp:
        Path(tmp).write_bytes(b"partial")
        raise RuntimeError("job failed")
    assert target.read_bytes() == b"complete"  # the earlier product is untouched
    assert sorted(p.name for p in tmp_path.iterdir()) == [other.name, target.name]


def test_scratch_dir_for_clears_left_overs(tmp_path):
    from gmoslib.io.fitsio import scratch_dir_for

    target = tmp_path / "N1_bias.fits"
    left = tmp_path / ".N1_bias.fits.scratch" / ".stack-abc"
    left.mkdir(parents=True)
    (left / "sci0.npy").write_bytes(b"x" * 100)
    with scratch_dir_for(str(target)) as scratch:
        assert Path(scratch) == left.parent and list(Path(scratch).iterdir()) == []
    assert list(tmp_path.iterdir()) == []


def test_job_input_errors_end_in_one_line_naming_rule_and_file(tmp_path):
    from gmoslib.io.fitsio import read_raw
    from gmoslib.workflow.joberrors import reported_errors

    gone = tmp_path / "N20170613S0182.fits"
    with pytest.raises(SystemExit) as exit_info, reported_errors("stack_bias"):
        read_raw(str(gone))  # the file vanished after the DAG was built
    assert exit_info.value.code == f"rule stack_bias: {gone}: file does not exist"
    with pytest.raises(ZeroDivisionError), reported_errors("stack_bias"):
        1 / 0  # a bug stays a traceback  # noqa: B018
