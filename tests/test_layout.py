"""gmoslib's subpackages import each other in one direction only, and no module is too long.

The order (lowest first): config, io, instrument, stacking, calibration, science, qa,
workflow, cli.  A module may import its own subpackage and those before it, never one after
it; ``gmoslib.sim`` (the simulator, a witness) imports nothing of gmoslib's.  Imports inside
functions count too: a lazy import is still a dependency.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

GMOSLIB = Path(__file__).resolve().parents[1] / "gmoslib"
ORDER = ("config", "io", "instrument", "stacking", "calibration", "science", "qa", "workflow",
         "cli")
MAX_LINES = 450


def _modules(root: Path = GMOSLIB) -> dict[str, Path]:
    """module name -> file, for every module of the package at ``root``."""
    out = {}
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(root.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def imported(path: Path, module: str, modules: dict[str, Path]) -> set[str]:
    """Every module or package of ``modules`` that ``path`` (module ``module``) imports."""
    tree = ast.parse(path.read_text(), str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.split(".")[0] == "gmoslib")
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            if source.split(".")[0] != "gmoslib":
                continue
            # "from gmoslib.science import detect": the submodule is what is imported
            subs = {f"{source}.{a.name}" for a in node.names} & set(modules)
            found.update(subs or {source})
    return {name for name in found if name in modules}


def subpackage(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else None


def layering_problems(modules: dict[str, Path]) -> list[str]:
    problems = []
    for module, path in modules.items():
        own = subpackage(module)
        for target in sorted(imported(path, module, modules)):
            theirs = subpackage(target)
            if theirs is None or theirs == own:
                continue  # gmoslib itself (its version) or its own subpackage
            if own == "sim" or theirs == "sim":
                if own != theirs and not (theirs == "sim" and own in (None, "cli")):
                    problems.append(f"{module} imports {target} (the simulator stands apart)")
                continue
            if own not in ORDER or theirs not in ORDER:
                problems.append(f"{module} or {target} is not in a known subpackage")
            elif ORDER.index(theirs) > ORDER.index(own):
                problems.append(f"{module} ({own}) imports {target} ({theirs}), which comes "
                                f"after it")
    return problems


def test_every_module_is_in_a_subpackage():
    top = [m for m in _modules() if subpackage(m) is not None and m.count(".") == 1
           and not GMOSLIB.joinpath(subpackage(m)).is_dir()]
    assert top == [], f"modules outside the subpackages: {top}"
    packages = {p.name for p in GMOSLIB.iterdir() if (p / "__init__.py").is_file()}
    assert packages == set(ORDER) | {"sim"}


def test_subpackages_import_in_one_direction():
    assert layering_problems(_modules()) == []


def test_the_check_sees_a_backward_import(tmp_path):
    """The checker itself: an io module importing workflow (also lazily, also relatively)
    and sim importing instrument are found."""
    pkg = tmp_path / "gmoslib"
    for sub in ("io", "workflow", "instrument", "sim"):
        (pkg / sub).mkdir(parents=True)
        (pkg / sub / "__init__.py").write_text("")
    (pkg / "__init__.py").write_text("")
    (pkg / "workflow" / "plan.py").write_text("X = 1\n")
    (pkg / "instrument" / "tags.py").write_text("from gmoslib.io import fitsio\n")
    (pkg / "io" / "fitsio.py").write_text("def f():\n    from ..workflow.plan import X\n")
    (pkg / "sim" / "core.py").write_text("from gmoslib.instrument import tags\n")
    assert layering_problems(_modules(pkg)) == [
        "gmoslib.io.fitsio (io) imports gmoslib.workflow.plan (workflow), which comes after it",
        "gmoslib.sim.core imports gmoslib.instrument.tags (the simulator stands apart)",
    ]


@pytest.mark.parametrize("module", sorted(_modules()))
def test_no_module_is_too_long(module):
    lines = len(_modules()[module].read_text().splitlines())
    assert lines <= MAX_LINES, f"{module}: {lines} lines (at most {MAX_LINES})"


def test_the_stacker_package_is_small():
    lines = sum(len(p.read_text().splitlines()) for p in (GMOSLIB / "stacking").glob("*.py"))
    assert lines < 500, f"gmoslib/stacking: {lines} lines (under 500 in all)"


#: Job scripts that make pixels and have no table to write: pandas (~0.25 s to import,
#: every job) stays out of them.
PIXEL_JOBS = ("stack_bias", "stack_flat", "make_fringe", "reduce_science_frame")


@pytest.mark.parametrize("script", PIXEL_JOBS)
def test_pixel_jobs_do_not_import_pandas(script):
    import subprocess
    import sys

    source = (GMOSLIB.parent / "scripts" / f"{script}.py").read_text()
    imports = "\n".join(line.split("  #")[0] for line in source.splitlines()
                        if line.startswith(("from gmoslib", "import gmoslib")))
    assert imports, f"scripts/{script}.py imports nothing of gmoslib"
    check = f"import sys\n{imports}\nprint(sorted(m for m in sys.modules if m == 'pandas'))"
    out = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True,
                         cwd=GMOSLIB.parent, check=True).stdout
    assert out.strip() == "[]", f"scripts/{script}.py imports pandas"
