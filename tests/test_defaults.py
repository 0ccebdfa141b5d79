"""Step-parameter defaults live once, in config/schema.yaml: gmoslib repeats none of them, and
a changed schema default changes what the recipes do."""

from __future__ import annotations

import ast
import copy
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import yaml

from gmoslib.config import schema as rt
from gmoslib.science.reduce import detect_catalogue

REPO = Path(__file__).resolve().parents[1]
SCHEMA = yaml.safe_load((REPO / "config" / "schema.yaml").read_text())


def schema_defaults() -> dict[str, list]:
    """parameter name -> the defaults the schema gives it (one per step that has it)."""
    out: dict[str, list] = {}
    for step in SCHEMA["properties"]["params"]["properties"].values():
        for name, prop in step.get("properties", {}).items():
            out.setdefault(name, []).append(prop.get("default"))
    return out


def same_value(a, b) -> bool:
    """Equal and of one kind (True is not 1; 3 and 3.0 are one number)."""
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return float(a) == float(b)
    return type(a) is type(b) and a == b


def repeated_defaults(source: str, defaults: dict[str, list]) -> list[tuple[str, str, int]]:
    """(function or ".get", parameter, line) of every keyword default or ``.get(name, value)``
    in ``source`` whose name is a schema parameter and whose literal value is one of its
    schema defaults (None, "not given", is not counted)."""
    found = []

    def check(where, name, node):
        if name in defaults and isinstance(node, ast.Constant) and node.value is not None:
            if any(same_value(node.value, d) for d in defaults[name]):
                found.append((where, name, node.lineno))

    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            a = node.args
            positional = a.posonlyargs + a.args
            for arg, d in zip(positional[len(positional) - len(a.defaults):], a.defaults,
                              strict=True):
                check(node.name, arg.arg, d)
            for arg, d in zip(a.kwonlyargs, a.kw_defaults, strict=True):
                if d is not None:
                    check(node.name, arg.arg, d)
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
              and node.func.attr == "get" and len(node.args) == 2
              and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
            check(".get", node.args[0].value, node.args[1])
    return found


def test_the_scanner_finds_a_repeated_default():
    source = ("def stack(frames, *, hsigma=3.0, lsigma=1.5, order=None):\n"
              "    return params.get('min_sources', 3), params.get('dilation', 7)\n")
    got = repeated_defaults(source, schema_defaults())
    assert [(w, n) for w, n, _ in got] == [("stack", "hsigma"), (".get", "min_sources")]


def test_no_schema_default_is_repeated_in_gmoslib():
    defaults = schema_defaults()
    problems = [f"{path.relative_to(REPO)}:{line} {where} {name}"
                for path in sorted((REPO / "gmoslib").rglob("*.py"))
                for where, name, line in repeated_defaults(path.read_text(), defaults)]
    assert not problems, ("schema defaults repeated as literals (take them from the resolved "
                          "step parameters instead):\n" + "\n".join(problems))


def test_step_values_fill_the_schema_defaults_and_check_the_given_ones():
    got = rt.step_values("stackFrames", {"hsigma": "5"}, SCHEMA)
    assert got == {"lsigma": 3.0, "hsigma": 5.0}
    assert rt.step_values("makeFringeFrame", None, SCHEMA)["min_dither"] == 5.0
    with pytest.raises(rt.ParamsError, match="unknown parameter 'sigma'.*lsigma, hsigma"):
        rt.step_values("stackFrames", {"sigma": 3}, SCHEMA)


def _field_of_sources() -> SimpleNamespace:
    """A 120x120 sky (electrons, noise 1) with nine 5-pixel-sigma Gaussian stars whose peaks
    go from 1 to 40 sigma."""
    rng = np.random.default_rng(3)
    y, x = np.mgrid[:120, :120]
    sci = rng.normal(0.0, 1.0, (120, 120))
    for k, peak in enumerate(np.geomspace(1.0, 40.0, 9)):
        cy, cx = 20 + 40 * (k // 3), 20 + 40 * (k % 3)
        sci += peak * np.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * 2.0**2))
    return SimpleNamespace(sci=sci.astype(np.float32), var=np.ones((120, 120), np.float32),
                           dq=np.zeros((120, 120), np.uint16))


def test_a_changed_schema_default_changes_the_detection(monkeypatch):
    mosaic = _field_of_sources()
    n_default = len(detect_catalogue(mosaic))
    strict = copy.deepcopy(SCHEMA)
    strict["properties"]["params"]["properties"]["detectSources"]["properties"]["thresh"][
        "default"] = 8.0
    monkeypatch.setattr(rt, "_workflow_schema", lambda: strict)
    n_strict = len(detect_catalogue(mosaic))
    assert n_strict < n_default
    assert n_strict == len(detect_catalogue(mosaic, thresh=8.0))
    monkeypatch.undo()
    assert len(detect_catalogue(mosaic)) == n_default
