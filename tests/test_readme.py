"""The README and docs tell the truth: every command and config example in README.md and
docs/*.md is run or validated, so a renamed step, parameter, option or target fails here.

* ``gmos ...`` lines parse with the real ``gmos`` parser; the looking commands (manifest,
  showd, select, recipes, params) run on a small simulated night laid out as the README's;
* ``snakemake``/``$SM`` lines name real targets, and their ``--config`` items (and the YAML
  configs in comments) pass the parameter table and ``config/schema.yaml``;
* ``-p STEP:PARAM=VALUE`` anywhere in the text names a real step and parameter;
* Python examples compile, import names that exist and call :func:`gmoslib.workflow.api.reduce` with
  its real keywords.
"""

from __future__ import annotations

import ast
import copy
import importlib
import inspect
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml

from gmoslib.cli import build_parser
from gmoslib.config.schema import check_params, load_schema, step_schemas
from tests.workflow_helpers import REPO

DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.M | re.S)


def _blocks(kind: str) -> list[tuple[str, str]]:
    out = []
    for doc in DOCS:
        for lang, body in FENCE.findall(doc.read_text()):
            if lang == kind:
                out.append((doc.name, body))
    return out


def _strip_comment(line: str) -> str:
    """The line without its trailing ``# comment`` (a # outside quotes after a blank)."""
    quote = None
    for k, c in enumerate(line):
        if quote:
            quote = None if c == quote else quote
        elif c in "'\"":
            quote = c
        elif c == "#" and (k == 0 or line[k - 1].isspace()):
            return line[:k].rstrip()
    return line.rstrip()


def _commands() -> list[tuple[str, str]]:
    """Shell commands of the bash blocks: continuation lines joined, comments dropped,
    ``; ``-separated commands split (as written: globs stay for the shell)."""
    out = []
    for doc, body in _blocks("bash"):
        for line in body.replace("\\\n", " ").splitlines():
            line = _strip_comment(line.strip())
            if not line:
                continue
            parts = [line] if "'" in line or '"' in line else re.split(r";\s*", line)
            out += [(doc, " ".join(part.split())) for part in parts if part.strip()]
    return out


COMMANDS = _commands()
SCHEMA = load_schema()


def test_the_docs_have_commands():
    names = {shlex.split(c)[0] for _, c in COMMANDS}
    assert {"gmos", "snakemake", "$SM"} <= names, names
    assert sum(shlex.split(c)[:2] == ["gmos", "reduce"] for _, c in COMMANDS) >= 5


@pytest.mark.parametrize("doc,command", [c for c in COMMANDS if c[1].startswith("gmos ")],
                         ids=lambda v: v if " " in str(v) else "")
def test_gmos_commands_parse(doc, command):
    words = shlex.split(command)[1:]
    try:
        args = build_parser().parse_args(words)
    except SystemExit as exc:
        raise AssertionError(f"{doc}: `{command}` does not parse") from exc
    if args.command == "reduce":  # the -p and --user_cal forms are checked before running
        from gmoslib.cli import reduce as cli_reduce

        params = cli_reduce.parse_params(args.params)
        check_params(params, SCHEMA)
        cli_reduce.parse_user_cal(args.user_cal)
        if args.recipe:
            cli_reduce.product_of(args.recipe, [])


def _rules() -> set[str]:
    text = (REPO / "Snakefile").read_text()
    text += "".join(p.read_text() for p in (REPO / "rules").glob("*.smk"))
    return set(re.findall(r"^(?:rule|checkpoint) (\w+):", text, re.M))


def _validate_config(config: dict, where: str) -> None:
    config = copy.deepcopy(config)
    config.setdefault("raw_dir", "raw")
    config["params"] = check_params(config.get("params"), SCHEMA)
    try:
        jsonschema.validate(config, SCHEMA)
    except jsonschema.ValidationError as exc:
        raise AssertionError(f"{where}: {exc.message}") from None


def _config_items(words: list[str]) -> dict:
    """The ``--config KEY=VALUE ...`` items of a snakemake command, as Snakemake reads them
    (values are YAML)."""
    if "--config" not in words:
        return {}
    config = {}
    for item in words[words.index("--config") + 1:]:
        if item.startswith("-"):
            break
        key, eq, value = item.partition("=")
        assert eq, f"--config item {item!r} is not KEY=VALUE"
        config[key] = yaml.safe_load(value)
    return config


SNAKEMAKE_COMMANDS = [c for c in COMMANDS if shlex.split(c[1])[0] in ("snakemake", "$SM")]


@pytest.mark.parametrize("doc,command", SNAKEMAKE_COMMANDS, ids=lambda v: v if " " in str(v)
                         else "")
def test_snakemake_commands_name_real_targets_and_config(doc, command):
    words = shlex.split(command)
    rules = _rules()
    config_at = words.index("--config") if "--config" in words else len(words)
    options_with_value = {"-s", "-d", "--cores", "--configfile", "--workflow-profile",
                          "--report", "--default-resources", "--quiet"}
    targets = []
    k = 1
    while k < config_at:
        w = words[k]
        if w in options_with_value:
            k += 2
            continue
        if not w.startswith("-") and "/" not in w:
            targets.append(w)
        k += 1
    for target in targets:
        assert target in rules, f"{doc}: `{command}`: no rule {target!r}"
    for option in (w for w in words if w.startswith("--")):
        assert option in options_with_value | {"--config", "--cores"}, (doc, option)
    if "--workflow-profile" in words:
        profile = words[words.index("--workflow-profile") + 1]
        assert (REPO / profile / "config.yaml").is_file(), profile
    _validate_config(_config_items(words), f"{doc}: `{command}`")


def test_yaml_configs_in_the_docs_are_valid():
    """Configs given inline in comments (``# night.yaml: {raw_dir: raw, params: ...}``)."""
    found = 0
    for doc in DOCS:
        for m in re.finditer(r"\w+\.yaml: (\{.*\})", doc.read_text()):
            _validate_config(yaml.safe_load(m.group(1)), f"{doc.name}: {m.group(1)}")
            found += 1
    for doc, body in _blocks("yaml"):
        _validate_config(yaml.safe_load(body), f"{doc}: yaml block")
        found += 1
    assert found >= 1


def test_step_parameter_overrides_in_the_text_exist():
    steps = step_schemas(SCHEMA)
    seen = 0
    for doc in DOCS:
        for step, name in re.findall(r"-p (\w+):(\w+)=", doc.read_text()):
            if (step.lower(), name.lower()) == ("step", "param"):  # the form itself
                continue
            assert step in steps, f"{doc.name}: -p {step}:{name}: no step {step!r}"
            assert name in steps[step].get("properties", {}), \
                f"{doc.name}: -p {step}:{name}: step {step} has no parameter {name!r}"
            seen += 1
        text = doc.read_text()
        for m in re.finditer(r"params(=|: )\{", text):
            start = depth = m.end() - 1
            for end in range(start, len(text)):
                depth += {"{": 1, "}": -1}.get(text[end], 0)
                if depth == start:
                    break
            check_params(yaml.safe_load(text[start:end + 1]), SCHEMA)
            seen += 1
    assert seen >= 3


def test_python_examples_import_real_names_and_call_reduce_right():
    from gmoslib.workflow.api import reduce

    keywords = set(inspect.signature(reduce).parameters)
    blocks = _blocks("python")
    assert len(blocks) >= 3
    for doc, body in blocks:
        tree = ast.parse(body, filename=doc)
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                module = importlib.import_module(node.module)
                for alias in node.names:
                    assert hasattr(module, alias.name), f"{doc}: {node.module}.{alias.name}"
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "reduce":
                for kw in node.keywords:
                    assert kw.arg in keywords, f"{doc}: reduce(..., {kw.arg}=...)"
    # the inline signature of reduce() in the README is the real one
    readme = (REPO / "README.md").read_text()
    shown = re.search(r"`reduce\(files, product, \*, (.*?)\)`", readme, re.S).group(1)
    assert {p.split("=")[0].strip() for p in shown.split(",")} | {"files", "product"} \
        == keywords


@pytest.fixture(scope="module")
def night(tmp_path_factory):
    """A small simulated night laid out as the README's (night/raw/)."""
    from gmoslib.sim import simulate_preset

    top = tmp_path_factory.mktemp("readme")
    simulate_preset("small", str(top / "night" / "raw"), seed=11)
    return top


LOOKING = ("manifest", "showd", "select", "recipes", "params")


@pytest.mark.slow
@pytest.mark.parametrize("doc,command", [c for c in COMMANDS if c[1].startswith("gmos ")
                                         and shlex.split(c[1])[1] in LOOKING],
                         ids=lambda v: v if " " in str(v) else "")
def test_looking_commands_run(night, doc, command):
    env = dict(os.environ, PATH=str(Path(sys.executable).parent) + os.pathsep
               + os.environ.get("PATH", ""), PYTHONPATH=str(REPO))
    proc = subprocess.run(["bash", "-c", command], cwd=night, capture_output=True, text=True,
                          env=env, timeout=120)
    assert proc.returncode == 0, f"{doc}: `{command}`\n{proc.stderr}"
    assert proc.stdout.strip() or "-o" in shlex.split(command), command
