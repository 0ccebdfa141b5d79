"""Recipes and step parameters: the listing is the workflow's own definition, overrides are
checked (unknown names fail naming the valid ones) and change what the workflow does."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import yaml
from astropy.io import fits

from gmoslib.cli import main
from gmoslib.config import schema
from gmoslib.io.provenance import read_provenance
from gmoslib.workflow import recipes as rt
from tests.workflow_helpers import REPO, run_snakemake

SCHEMA = yaml.safe_load((REPO / "config" / "schema.yaml").read_text())
STEP_SCHEMAS = SCHEMA["properties"]["params"]["properties"]
RULE_FILES = [REPO / "Snakefile", *sorted((REPO / "rules").glob("*.smk"))]


def parse_rules() -> dict[str, set[str]]:
    """rule name -> steps whose parameters it reads through step_params("..."), parsed from
    the Snakefile and rules/*.smk (not from the table under test)."""
    rules: dict[str, set[str]] = {}
    for path in RULE_FILES:
        current = None
        for line in path.read_text().splitlines():
            m = re.match(r"^(?:rule|checkpoint)\s+(\w+)\s*:", line)
            if m:
                current = m.group(1)
                rules[current] = set()
            elif line and not line[0].isspace():
                current = None
            elif current is not None:
                rules[current] |= set(re.findall(r'step_params\("(\w+)"\)', line))
    return rules


RULES = parse_rules()


def expected_steps(rule: str) -> set[str]:
    """Steps the table gives ``rule`` that have parameters in the schema."""
    steps = {step for p in rt.PRODUCTS.values() for step, r in p.steps if r == rule}
    steps |= set(rt.QA_RULE_STEPS.get(rule, ()))
    return {step for step in steps if STEP_SCHEMAS[step].get("properties")}


def test_products_and_steps_are_the_tutorial_recipes():
    assert list(rt.PRODUCTS) == ["bias", "flat", "fringe", "science", "alignAndStack"]
    steps = {name: [s for s, _ in p.steps] for name, p in rt.PRODUCTS.items()}
    assert steps["bias"] == ["overscanCorrect", "stackBiases"]
    assert steps["flat"] == ["addIllumMaskToDQ", "overscanCorrect", "biasCorrect",
                             "ADUToElectrons", "stackFlats", "flagFlatBadPixels",
                             "normalizeFlat"]
    assert steps["fringe"] == ["addIllumMaskToDQ", "overscanCorrect", "biasCorrect",
                               "ADUToElectrons", "flatCorrect", "makeFringeFrame"]
    assert steps["science"] == [
        "addIllumMaskToDQ", "overscanCorrect", "biasCorrect", "ADUToElectrons", "flatCorrect",
        "fringeCorrect", "QECorrect", "mosaicDetectors", "detectSources", "adjustWCSToReference",
        "resampleToCommonFrame", "flagCosmicRaysByStacking", "scaleCountsToReference",
        "stackFrames"]
    assert steps["alignAndStack"] == ["detectSources", "adjustWCSToReference",
                                      "resampleToCommonFrame", "scaleCountsToReference",
                                      "stackFrames"]


def test_every_step_has_a_schema_entry_and_a_meaning():
    listed = {s for p in rt.PRODUCTS.values() for s, _ in p.steps}
    assert listed == set(rt.STEPS)
    assert listed <= set(STEP_SCHEMAS), listed - set(STEP_SCHEMAS)
    # and the schema has no step that no product uses
    assert set(STEP_SCHEMAS) <= listed, set(STEP_SCHEMAS) - listed
    for step, s in STEP_SCHEMAS.items():
        assert s["additionalProperties"] is False and s["default"] == {}, step
        for name, prop in s.get("properties", {}).items():
            assert "default" in prop and prop.get("description"), (step, name)


@pytest.mark.parametrize("rule", [r for r in sorted(
    {r for p in rt.PRODUCTS.values() for _, r in p.steps} | set(RULES))])
def test_rules_read_the_parameters_of_exactly_their_listed_steps(rule):
    assert rule in RULES, f"rule {rule} of the recipes table is not defined"
    assert RULES[rule] == expected_steps(rule)


@pytest.mark.parametrize("product", [p.target for p in rt.PRODUCTS.values()])
def test_product_targets_are_rules(product):
    assert product in RULES


def test_check_params_names_the_valid_steps_and_parameters():
    with pytest.raises(schema.ParamsError, match=r"unknown step 'stackBias'.*valid steps: .*"
                                             r"stackBiases.*stackFrames"):
        schema.check_params({"stackBias": {"lsigma": 5}}, SCHEMA)
    valid = ", ".join(STEP_SCHEMAS["stackBiases"]["properties"])
    with pytest.raises(schema.ParamsError, match=re.escape(f"unknown parameter 'lsgma' of step "
                                                       f"stackBiases in config params; valid "
                                                       f"parameters of stackBiases: {valid}")):
        schema.check_params({"stackBiases": {"lsgma": 5}}, SCHEMA)
    with pytest.raises(schema.ParamsError, match="biasCorrect.*has no parameters"):
        schema.check_params({"biasCorrect": {"x": 1}}, SCHEMA)
    with pytest.raises(schema.ParamsError, match="must be a mapping"):
        schema.check_params("stackBiases:lsigma=5", SCHEMA)


def test_check_params_types_command_line_strings():
    got = schema.check_params({"stackBiases": {"lsigma": "5", "mclip": "False", "max_iters": "None",
                                           "operation": "median"},
                           "mosaicDetectors": {"order": "1"},
                           "QECorrect": {"enabled": "true"}}, SCHEMA)
    assert got == {"stackBiases": {"lsigma": 5.0, "mclip": False, "max_iters": None,
                                   "operation": "median"},
                   "mosaicDetectors": {"order": 1}, "QECorrect": {"enabled": True}}
    assert isinstance(got["mosaicDetectors"]["order"], int)
    # values that are not numbers stay strings, for the schema to reject with its message
    assert schema.check_params({"stackFrames": {"hsigma": "high"}}, SCHEMA) == {
        "stackFrames": {"hsigma": "high"}}
    assert schema.check_params(None, SCHEMA) == {}


def test_gmos_recipes_lists_the_table_in_order(capsys):
    assert main(["recipes"]) == 0
    out = capsys.readouterr().out
    blocks = out.split("\n\n")
    for product, block in zip(rt.PRODUCTS.values(), blocks, strict=False):
        assert block.startswith(f"{product.name}:"), block
        assert f"target rule '{product.target}'" in block
        rows = [line.split()[1:3] for line in block.splitlines()[1:]]
        assert rows == [[s, r] for s, r in product.steps]
    assert main(["recipes", "bias"]) == 0
    assert "stackBiases" in capsys.readouterr().out
    assert main(["recipes", "nosuch"]) == 2
    assert "products: bias, flat, fringe, science, alignAndStack" in capsys.readouterr().err


@pytest.mark.parametrize("step", ["stackBiases", "overscanCorrect", "stackFrames",
                                  "detectSources"])
def test_gmos_params_lists_the_schema(step, capsys):
    assert main(["params", step]) == 0
    out = capsys.readouterr().out
    props = STEP_SCHEMAS[step]["properties"]
    rows = {line.split()[0]: line.split()[1] for line in out.splitlines()[3:-1]}
    assert list(rows) == list(props)
    for name, prop in props.items():
        assert yaml.safe_load(rows[name]) == prop["default"], name
        assert prop["description"] in out
    for rule in rt.rules_of_step(step):
        assert rule in out.splitlines()[1]


def test_gmos_params_errors(capsys):
    assert main(["params", "stackFrame"]) == 2
    err = capsys.readouterr().err
    assert "unknown step 'stackFrame'" in err and "stackFrames" in err
    assert main(["params", "biasCorrect"]) == 0
    assert "(no parameters)" in capsys.readouterr().out


@pytest.mark.slow  # Snakemake starts (a dry run)
@pytest.mark.parametrize("override, message", [
    ("{stackBias: {lsigma: 5}}", "unknown step 'stackBias' in config params; valid steps: "
                                 "overscanCorrect, stackBiases"),
    ("{stackBiases: {lsgma: 5}}", "unknown parameter 'lsgma' of step stackBiases in config "
                                  "params; valid parameters of stackBiases: operation, "
                                  "reject_method, lsigma"),
])
def test_snakemake_stops_on_a_bad_override(tmp_path, override, message):
    proc = run_snakemake(tmp_path, "--dry-run", config={"raw_dir": str(tmp_path),
                                                        "params": override}, check=False)
    assert proc.returncode != 0
    assert message in proc.stdout + proc.stderr


def _sci(path: Path) -> list[bytes]:
    with fits.open(path) as h:
        return [x.data.tobytes() for x in h if x.name == "SCI"]


@pytest.mark.slow
def test_override_changes_the_master_bias(small_night, tmp_path):
    """stackBiases operation=median from --config (numbers typed from the command-line
    strings): the master bias is the median, whose variance is pi/2 times that of the mean of
    the same frames (clipping at 50 sigma rejects nothing); the API's params= makes the same
    file as the command line."""
    from gmoslib.workflow.api import reduce

    raw, work = small_night
    biases = sorted(raw.glob("N20170613S01*.fits"))
    assert len(biases) == 5
    bias_raw = tmp_path / "raw"
    bias_raw.mkdir()
    for p in biases:
        (bias_raw / p.name).symlink_to(p)
    cli = tmp_path / "cli"
    cli.mkdir()
    run_snakemake(cli, "biases", config={
        "raw_dir": str(bias_raw),
        "params": "{stackBiases: {operation: median, reject_method: sigclip, lsigma: 50, "
                  "hsigma: 50, max_iters: 2}}"})
    name = "calibrations/processed_bias/N20170613S0180_bias.fits"
    default, median = work / name, cli / name
    assert _sci(default) != _sci(median)
    with fits.open(default) as d, fits.open(median) as m:
        ratio = np.concatenate([m[k].data[d[k].data > 0] / d[k].data[d[k].data > 0]
                                for k in range(len(d)) if d[k].name == "VAR"])
        assert abs(np.median(ratio) - np.pi / 2) < 0.02, np.median(ratio)
        lines = read_provenance(m[0].header)
    assert any('"stackBiases": {' in line and '"operation": "median"' in line
               for line in lines), lines
    api = reduce(biases, "bias", workdir=tmp_path / "api", cores=2,
                 params={"stackBiases": {"operation": "median", "reject_method": "sigclip",
                                         "lsigma": 50, "hsigma": 50.0, "max_iters": 2}})
    assert api == [str(tmp_path / "api" / name)]
    assert _sci(Path(api[0])) == _sci(median)
