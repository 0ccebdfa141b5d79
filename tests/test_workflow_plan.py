"""The workflow's planning policy without Snakemake: target paths, the messages that stop a run
before any job, the start-up checks, resource requests, where the workflow files are, and
that no Snakemake private name is used."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from gmoslib.config import files as workflow_files
from gmoslib.workflow import checks as workflow_checks
from gmoslib.workflow.api import validated_config
from gmoslib.workflow.plan import (
    PlanningError,
    WorkflowPlan,
    aligned_inputs,
    existing_raw,
    step_params,
)
from tests.test_calib import tutorial_manifest
from tests.workflow_helpers import REPO


def config(**keys):
    return validated_config(REPO / "Snakefile", {"raw_dir": "raw", **keys})


def manifest(**extra):
    table = tutorial_manifest()
    table["filter"], table["detector"] = "i", "EEV"
    for column, value in {"sha256": None, "size_bytes": None, "mtime_ns": None,
                          "inode": None, "reason": ""}.items():
        table[column] = value
    return table


def test_validated_config_fills_the_schema_defaults_and_types_params():
    cfg = config(params={"stackFrames": {"hsigma": "5"}})
    assert cfg["raw_dir"] == "raw" and cfg["output_suffix"] == "_stack"
    assert repr(cfg["params"]["stackFrames"]["hsigma"]) == "5.0"
    assert cfg["params"]["stackBiases"]  # a step not named: its defaults


def test_targets_are_the_products_of_each_rule():
    plan = WorkflowPlan(config(fringe="never"), manifest())
    assert plan.target("flats") == ["calibrations/processed_flat/N20170702S0178_flat.fits"]
    assert plan.target("stacks") == ["results/N20170614S0201_stack.fits"]
    assert plan.target("biases")[0] == "calibrations/processed_bias/N20170613S0180_bias.fits"
    assert plan.target("fringes") == []
    assert plan.target("calibrations") == plan.target("biases") + plan.target("flats")
    assert plan.qa_tables(plan.target("stacks")) == [
        "results/N20170614S0201_stack_qa_frames.tsv", "results/N20170614S0201_stack_qa_stack.tsv"]
    assert plan.qa_tables(plan.target("flats")) == []
    every = plan.target("all")
    assert every[0] == "manifest/manifest.tsv"
    assert "qa/mosaic/N20170614S0203_mosaic.png" in every
    with pytest.raises(PlanningError, match="no target rule 'stack'.*stacks"):
        plan.target("stack")


def test_suffix_names_stacks_and_their_qa_tables():
    plan = WorkflowPlan(config(fringe="never", output_suffix="_hs5"), manifest())
    assert plan.target("stacks") == ["results/N20170614S0201_hs5.fits"]
    assert "results/N20170614S0201_hs5_qa_stack.tsv" in plan.target("qa")


def test_missing_calibration_says_what_to_do_and_names_skipped_files():
    table = manifest()
    table = table[table["kind"] != "flat"]
    plan = WorkflowPlan(config(fringe="never"), table, skipped_note="\n(Note: 2 skipped)")
    with pytest.raises(PlanningError) as err:
        plan.calibration_for("N20170614S0202", "processed_flat")
    text = str(err.value)
    assert "What to do: add matching raw flat frames to raw_dir" in text
    assert "or move N20170614S0202 out of raw_dir" in text and text.endswith("(Note: 2 skipped)")
    with pytest.raises(PlanningError, match="no usable raw GMOS imaging file"):
        WorkflowPlan(config(), table.assign(usable=False)).target("stacks")


def test_frame_needing_a_fringe_it_cannot_have_stops_the_plan():
    table = manifest()
    plan = WorkflowPlan(config(fringe="always"), table[table["frame"] <= "N20170614S0202"])
    with pytest.raises(PlanningError) as err:
        plan.fringe_for("N20170614S0201")
    text = str(err.value)
    assert "N20170614S0201 (i on EEV) needs fringe correction (config fringe: always)" in text
    assert "set fringe: never" in text
    assert WorkflowPlan(config(fringe="never"), table).fringe_for("N20170614S0201") == []


def test_raw_checksums_come_from_the_manifest(tmp_path):
    raw = tmp_path / "a.fits"
    raw.write_bytes(b"x")
    table = manifest()
    table.loc[0, ["path", "sha256", "size_bytes", "mtime_ns", "inode"]] = [
        str(raw), "ab" * 32, 1, 7, 9]
    plan = WorkflowPlan(config(fringe="never"), table)
    assert plan.raw_checksums([str(raw), "/raw/other.fits"]) == {str(raw): ["ab" * 32, 1, 7, 9]}


def test_group_and_config_errors_name_what_is_wrong(tmp_path):
    plan = WorkflowPlan(config(fringe="never"), manifest())
    with pytest.raises(PlanningError, match="no calibration group named 'X'"):
        plan.group_raw_files("bias", "X")
    with pytest.raises(PlanningError, match="/raw/N20170614S0201.fits is listed in manifest/"
                                            "manifest.tsv but no longer exists"):
        plan.frames_paths(["N20170614S0201"])
    with pytest.raises(PlanningError, match="0180.fits, .*0538.fits are listed in manifest/"):
        plan.group_raw_files("bias", "N20170613S0180")
    assert existing_raw([str(tmp_path)]) == [str(tmp_path)]
    with pytest.raises(PlanningError, match="not a step of gmoslib.workflow.recipes"):
        step_params(config(), "stackEverything")
    with pytest.raises(PlanningError, match="groups: deep"):
        aligned_inputs(config(align_and_stack={"deep": ["a.fits", "b.fits"]}), "shallow")


def test_config_paths_are_checked(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "cals").mkdir()
    cfg = config(bpm="cals", calibration_dirs=["nowhere"],
                 user_cal={"processed_bias": "gone_bias.fits"},
                 align_and_stack={"deep": ["cals", "b.fits"]})
    problems = workflow_checks.config_path_problems(cfg)
    assert problems == [
        "bpm: cals is a folder, not a file: name the file itself (folders of processed "
        "calibrations go in calibration_dirs)",
        "calibration_dirs: nowhere is not a directory",
        "align_and_stack.deep: cals is not a regular file (a folder or a device): name "
        "reduced stacks or mosaics",
        "user_cal.processed_bias: gone_bias.fits does not exist"]
    with pytest.raises(PlanningError, match=f"working directory {tmp_path}"):
        workflow_checks.check_config_paths(cfg)
    workflow_checks.check_config_paths(config())


def test_unwritable_output_folder_is_named(tmp_path, monkeypatch):
    (tmp_path / "results" / "aligned").mkdir(parents=True)
    workflow_checks.check_writable(str(tmp_path))
    real = workflow_checks.tempfile.mkstemp

    def mkstemp(prefix, dir):  # (root writes anywhere: refuse one folder instead)
        if dir.endswith("aligned"):
            raise PermissionError(13, "Permission denied")
        return real(prefix=prefix, dir=dir)

    monkeypatch.setattr(workflow_checks.tempfile, "mkstemp", mkstemp)
    with pytest.raises(PlanningError, match=f"output folder {tmp_path}/results/aligned is "
                                            r"not writable \(Permission denied\)"):
        workflow_checks.check_writable(str(tmp_path))


def test_resource_requests_follow_the_input_sizes(tmp_path):
    small, big = tmp_path / "a.fits", tmp_path / "b.fits.bz2"
    small.write_bytes(b"\0" * 2_000_000)
    big.write_bytes(b"\0" * 4_000_000)
    # 300 MB + 10 x the largest frame (MB) + the stacking budget; compressed: x4
    assert workflow_checks.stack_mem_mb([str(small)], 1000) == 300 + 20 + 1000
    assert workflow_checks.stack_mem_mb([str(small), str(big)], 0) == 300 + 160
    assert workflow_checks.frame_mem_mb(str(small)) == 400 + 24
    assert workflow_checks.frame_mem_mb(str(big)) == 400 + 192
    assert workflow_checks.stack_runtime_min([str(small)] * 50) == 5 + 2


def test_end_of_run_notes_need_a_manifest(tmp_path):
    assert workflow_checks.skipped_line(str(tmp_path / "manifest.tsv")) == ""
    assert workflow_checks.stale_line(lambda: set(), move=False, workdir=str(tmp_path)) == ""


def test_workflow_is_found_beside_the_package_or_installed(tmp_path, monkeypatch):
    assert workflow_files.snakefile() == REPO / "Snakefile"
    assert workflow_files.schema_path().is_file()
    share = tmp_path / "share" / "gmos-snake"
    (share / "rules").mkdir(parents=True)
    (share / "Snakefile").write_text("")
    monkeypatch.setattr(workflow_files, "candidates", lambda: [tmp_path / "site", share])
    assert workflow_files.snakefile() == share / "Snakefile"
    monkeypatch.setattr(workflow_files, "candidates", lambda: [tmp_path / "site"])
    with pytest.raises(FileNotFoundError, match="searched .*site"):
        workflow_files.workflow_dir()


def test_pyproject_installs_every_workflow_file():
    """Each file of the workflow's folders matches a data-files entry of pyproject.toml, in
    the folder of the same name under share/gmos-snake (what workflow_files looks for)."""
    import glob
    import tomllib

    table = tomllib.loads((REPO / "pyproject.toml").read_text())
    data_files = table["tool"]["setuptools"]["data-files"]
    installed = {}
    for target, patterns in data_files.items():
        for pattern in patterns:
            for f in glob.glob(str(REPO / pattern)):
                installed[os.path.relpath(f, REPO)] = target
    tracked = ["Snakefile"] + [os.path.relpath(p, REPO) for d in
                               ("rules", "scripts", "config", "report", "envs")
                               for p in (REPO / d).iterdir() if p.is_file()]
    for rel in tracked:
        assert installed.get(rel) == str(Path("share/gmos-snake") / os.path.dirname(rel)
                                         ).rstrip("/."), rel


#: Attribute access to a private name (`x._name`, dunders aside).
PRIVATE = re.compile(r"\b(?:workflow|dag|api|snakemake|job|rule|rules|checkpoints|[a-z_]*api)"
                     r"\._[A-Za-z]\w*")


def test_no_snakemake_private_name_is_used():
    files = [REPO / "Snakefile", *sorted((REPO / "rules").glob("*.smk")),
             *sorted((REPO / "scripts").glob("*.py")), *sorted((REPO / "gmoslib").rglob("*.py"))]
    found = []
    for path in files:
        text = path.read_text()
        for pattern in (PRIVATE, re.compile(r"\._workflow\b|\._dag\b|workflow\.dag\b")):
            found += [f"{path.relative_to(REPO)}: {m.group(0)}" for m in pattern.finditer(text)]
        found += [f"{path.relative_to(REPO)}: {m.group(0)}"
                  for m in re.finditer(r"from snakemake[\w.]*\._\w+|import snakemake\._", text)]
    assert not found, found


@pytest.mark.slow
def test_an_installed_gmoslib_finds_its_installed_workflow(tmp_path):
    """setuptools installs the workflow under <prefix>/share/gmos-snake, and the installed
    gmoslib (no checkout beside it) finds the Snakefile, the rules and the schema there."""
    import shutil
    import subprocess
    import sys

    src = tmp_path / "src"
    tracked = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True,
                             check=True).stdout.split()
    for rel in tracked:
        if (rel.startswith(("gmoslib/", "rules/", "scripts/", "config/", "report/", "envs/",
                            "profiles/")) or rel in ("Snakefile", "pyproject.toml",
                                                     "README.md")) and (REPO / rel).is_file():
            (src / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(REPO / rel, src / rel)
    root = tmp_path / "root"
    subprocess.run([sys.executable, "-c", "from setuptools import setup; setup()", "install",
                    "--root", str(root), "--prefix", "/p", "--single-version-externally-managed",
                    "--record", str(tmp_path / "record.txt")], cwd=src, check=True,
                   capture_output=True)
    site = next(root.glob("p/lib/python*/site-packages"))
    probe = ("import sys; sys.prefix = sys.base_prefix = sys.argv[1]; "
             "sys.path.insert(0, sys.argv[2]); "
             "from gmoslib.config import files as w, schema as r; "
             "print(w.snakefile()); print(r.default_schema_path()); print(w.__file__)")
    out = subprocess.run([sys.executable, "-I", "-c", probe, str(root / "p"), str(site)],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    share = root / "p" / "share" / "gmos-snake"
    assert out.stdout.split() == [str(share / "Snakefile"), str(share / "config/schema.yaml"),
                                  str(site / "gmoslib" / "config" / "files.py")]
    assert (share / "rules" / "common.smk").is_file() and (share / "scripts/manifest.py").is_file()
