"""The workflow's recipes: which steps make each product, in order, and which rule runs them.

This table is the single definition behind ``gmos recipes`` and the API's product names; the
parameters of every step (names, types, defaults, meanings) come from the ``params:`` section
of ``config/schema.yaml``, which is also what the workflow validates and reads through
``step_params("stepName")`` in ``rules/*.smk``; :func:`step_values` fills in the same
defaults for a recipe called from Python with some or none of them.  Step names are
DRAGONS' primitive names, so ``-p stackFrames:hsigma=5`` becomes
``params: {stackFrames: {hsigma: 5}}``.

A test parses ``rules/*.smk`` and checks that every rule reads the parameters of exactly the
steps this table gives it, and that every step listed here has a schema entry.
"""

from __future__ import annotations

import copy
import functools
import os
from dataclasses import dataclass
from pathlib import Path

import yaml

#: What each step does (one line, shown by ``gmos recipes`` and ``gmos params``).
STEPS: dict[str, str] = {
    "addIllumMaskToDQ": "flag pixels outside the illuminated field (DQ 64) from Gemini's "
                        "illumination mask of the camera",
    "overscanCorrect": "subtract the overscan level of every amplifier, then trim the overscan",
    "stackBiases": "combine the prepared biases into the master bias (ADU)",
    "biasCorrect": "subtract the master bias",
    "ADUToElectrons": "multiply by the gain (ADU -> electrons), add Poisson variance",
    "stackFlats": "scale the twilights to a common level and combine them",
    "flagFlatBadPixels": "flag dark regions the mask missed (DQ 64) and pixels departing "
                         "from their neighbours (DQ 1: dead, weak, hot columns)",
    "normalizeFlat": "divide by the median of the central CCD (normalised master flat)",
    "flatCorrect": "divide by the master flat",
    "makeFringeFrame": "sky-subtract, mask sources and combine the frames into a fringe frame",
    "fringeCorrect": "subtract the fringe frame, scaled to each frame's fringe amplitude",
    "QECorrect": "scale CCD1 and CCD3 to CCD2 from the sky levels (Hamamatsu)",
    "mosaicDetectors": "place the CCDs on one mosaic with the known geometry",
    "detectSources": "detect sources and write their catalogue",
    "adjustWCSToReference": "match the catalogues to the first frame and correct the WCS",
    "resampleToCommonFrame": "resample every frame onto the reference frame's pixel grid",
    "flagCosmicRaysByStacking": "flag cosmic rays against the median of the aligned frames",
    "scaleCountsToReference": "scale every frame to the first frame's exposure time",
    "stackFrames": "match backgrounds and combine (mean, sigma clipped) into the stack",
}


@dataclass(frozen=True)
class Product:
    """One product of the workflow and the recipe that makes it.

    name: the product (as given to ``gmos recipes`` and :func:`gmoslib.api.reduce`).
    recipe: DRAGONS' recipe of the same product.
    target: the Snakemake rule that asks for every product of this kind.
    output: where it is written, relative to the working directory.
    steps: (step, rule) pairs in the order they are applied.
    """

    name: str
    recipe: str
    target: str
    output: str
    steps: tuple[tuple[str, str], ...]


def _steps(rule: str, *names: str) -> tuple[tuple[str, str], ...]:
    return tuple((n, rule) for n in names)


_PREPARE = ("addIllumMaskToDQ", "overscanCorrect", "biasCorrect", "ADUToElectrons")

PRODUCTS: dict[str, Product] = {p.name: p for p in (
    Product("bias", "makeProcessedBias", "biases",
            "calibrations/processed_bias/<first>_bias.fits",
            _steps("stack_bias", "overscanCorrect", "stackBiases")),
    Product("flat", "makeProcessedFlat", "flats",
            "calibrations/processed_flat/<first>_flat.fits",
            _steps("stack_flat", *_PREPARE, "stackFlats", "flagFlatBadPixels",
                   "normalizeFlat")),
    Product("fringe", "makeProcessedFringe", "fringes",
            "calibrations/processed_fringe/<first>_fringe.fits",
            _steps("make_fringe", *_PREPARE, "flatCorrect", "makeFringeFrame")),
    Product("science", "reduce", "stacks",
            "results/<first><output_suffix>.fits",
            _steps("reduce_science_frame", *_PREPARE, "flatCorrect", "fringeCorrect",
                   "QECorrect", "mosaicDetectors", "detectSources")
            + _steps("stack_science", "adjustWCSToReference", "resampleToCommonFrame",
                     "flagCosmicRaysByStacking", "scaleCountsToReference", "stackFrames")),
    Product("alignAndStack", "alignAndStack", "aligned",
            "results/aligned/<name><output_suffix>.fits",
            _steps("align_and_stack", "detectSources", "adjustWCSToReference",
                   "resampleToCommonFrame", "scaleCountsToReference", "stackFrames")),
)}


#: Steps whose parameters a rule reads to measure a product rather than make it: the QA of a
#: stack (made by the job that makes the stack) detects its sources with the science
#: detection parameters.
QA_RULE_STEPS: dict[str, tuple[str, ...]] = {"stack_science": ("detectSources",)}


class ParamsError(ValueError):
    """A ``params:`` entry names an unknown step or parameter, or has the wrong shape."""


def default_schema_path() -> str:
    """config/schema.yaml of the workflow this gmoslib belongs to (gmoslib.workflow_files)."""
    from .workflow_files import schema_path

    try:
        return str(schema_path())
    except FileNotFoundError:  # (load_schema names the missing file)
        return str(Path(__file__).resolve().parents[1] / "config" / "schema.yaml")


def load_schema(path: str | None = None) -> dict:
    """The workflow's JSON schema (a dict) from ``path`` (default: :func:`default_schema_path`)."""
    path = path or default_schema_path()
    if not os.path.isfile(path):
        raise FileNotFoundError(
            f"workflow schema {path} not found: gmoslib reads the step parameters from the "
            "config/schema.yaml of its repository checkout")
    with open(path) as fh:
        return yaml.safe_load(fh)


def step_schemas(schema: dict) -> dict[str, dict]:
    """step name -> its JSON schema (``properties`` = its parameters), in schema order."""
    return dict(schema["properties"]["params"]["properties"])


def step_parameters(schema: dict, step: str) -> dict[str, dict]:
    """parameter name -> its JSON schema (type, default, description...) for one step."""
    steps = step_schemas(schema)
    if step not in steps:
        raise ParamsError(f"unknown step {step!r}; valid steps: {', '.join(steps)}")
    return dict(steps[step].get("properties", {}))


def rules_of_step(step: str) -> list[str]:
    """The rules that perform ``step`` (a step can serve several products)."""
    return sorted({rule for p in PRODUCTS.values() for s, rule in p.steps if s == step})


def products_of_step(step: str) -> list[str]:
    return [p.name for p in PRODUCTS.values() if any(s == step for s, _ in p.steps)]


def _types(prop: dict) -> list[str]:
    t = prop.get("type", [])
    return [t] if isinstance(t, str) else list(t)


def _coerce(value, prop: dict):
    """A string from ``--config`` (Snakemake passes nested values as strings) turned into the
    type the schema asks for, and an integer given for a number parameter into a float (so a
    config file, ``--config`` and the Python API record the same value); anything else is
    returned unchanged for the schema to judge."""
    types = _types(prop)
    if (isinstance(value, int) and not isinstance(value, bool) and "number" in types
            and "integer" not in types):
        return float(value)  # 5 and 5.0 are one value: one form in HISTORY, whatever the source
    if not isinstance(value, str) or "string" in types:
        return value
    text = value.strip()
    if "null" in types and text in ("None", "null", "~", ""):
        return None
    if "boolean" in types and text.lower() in ("true", "false"):
        return text.lower() == "true"
    if "integer" in types:
        try:
            return int(text)
        except ValueError:
            pass
    if "number" in types:
        try:
            return float(text)
        except ValueError:
            pass
    return value


def check_params(params, schema: dict) -> dict:
    """Check a ``params:`` config section against the schema's steps and parameters.

    Unknown steps or parameters raise :class:`ParamsError` naming the key and listing the
    valid ones (the schema validator only says that a key "was unexpected").  String values
    given on the command line (``--config 'params={stackBiases: {lsigma: 5}}'`` arrives as
    ``'5'``) are converted to the parameter's type.  Returns a new dict; types, ranges and
    enums are left to the schema validation that follows.
    """
    if params is None:
        return {}
    if not isinstance(params, dict):
        raise ParamsError(
            f"config params must be a mapping of step -> parameter -> value, got {params!r}; "
            "e.g. --config 'params={stackBiases: {lsigma: 5}}'")
    steps = step_schemas(schema)
    out = {}
    for step, values in params.items():
        if step not in steps:
            raise ParamsError(
                f"unknown step {step!r} in config params; valid steps: {', '.join(steps)}")
        known = steps[step].get("properties", {})
        if values is None:
            values = {}
        if not isinstance(values, dict):
            raise ParamsError(
                f"config params.{step} must be a mapping of parameter -> value, got {values!r}")
        checked = {}
        for name, value in values.items():
            if name not in known:
                valid = ", ".join(known) if known else "(this step has no parameters)"
                raise ParamsError(
                    f"unknown parameter {name!r} of step {step} in config params; valid "
                    f"parameters of {step}: {valid}")
            checked[name] = _coerce(value, known[name])
        out[step] = checked
    return out


@functools.lru_cache(maxsize=1)
def _workflow_schema() -> dict:
    return load_schema()


def step_values(step: str, given: dict | None = None, schema: dict | None = None) -> dict:
    """Every parameter of ``step``: the schema's defaults, overridden by ``given`` (checked
    and converted by :func:`check_params`).  The one place where gmoslib applies defaults:
    recipe entry points call it, so a partial dict (or ``{}``) from the Python API or a test
    gets the same values as the workflow's validated config, and a schema change changes
    behaviour.  ``schema``: default :func:`load_schema` (read once per process)."""
    schema = schema or _workflow_schema()
    checked = check_params({step: dict(given or {})}, schema)[step]
    return {**defaults(schema)[step], **checked}


def defaults(schema: dict) -> dict[str, dict]:
    """step -> parameter -> default value, from the schema."""
    return {step: {name: copy.deepcopy(prop.get("default"))
                   for name, prop in s.get("properties", {}).items()}
            for step, s in step_schemas(schema).items()}


# ------------------------------------------------------------------------- text listings
def format_recipes(products: list[str] | None = None) -> str:
    """The ``gmos recipes`` listing: every product's steps in order with the rule running them."""
    names = products or list(PRODUCTS)
    for n in names:
        if n not in PRODUCTS:
            raise ParamsError(f"unknown product {n!r}; products: {', '.join(PRODUCTS)}")
    lines = []
    for n in names:
        p = PRODUCTS[n]
        lines.append(f"{p.name}: DRAGONS recipe {p.recipe}; target rule '{p.target}'; "
                     f"writes {p.output}")
        width = max(len(s) for s, _ in p.steps)
        rwidth = max(len(r) for _, r in p.steps)
        for k, (step, rule) in enumerate(p.steps, start=1):
            lines.append(f"  {k:2d}. {step:<{width}}  {rule:<{rwidth}}  {STEPS[step]}")
        lines.append("")
    lines.append("Parameters of a step: gmos params STEP")
    return "\n".join(lines)


def _format_type(prop: dict) -> str:
    text = "|".join(_types(prop))
    if "enum" in prop:
        text += " in {" + ", ".join(map(str, prop["enum"])) + "}"
    for key, sym in (("minimum", ">="), ("exclusiveMinimum", ">"), ("maximum", "<="),
                     ("exclusiveMaximum", "<")):
        if key in prop:
            text += f" {sym} {prop[key]}"
    return text


def format_params(step: str, schema: dict) -> str:
    """The ``gmos params STEP`` listing: each parameter's default, type and meaning."""
    params = step_parameters(schema, step)
    rules = rules_of_step(step)
    head = f"{step}: {STEPS.get(step, '')}"
    where = (f"run by rule{'s' if len(rules) > 1 else ''} {', '.join(rules)} "
             f"(products: {', '.join(products_of_step(step))})" if rules
             else "not used by any product")
    lines = [head, f"  {where}"]
    if not params:
        lines.append("  (no parameters)")
        return "\n".join(lines)
    rows = [(name, yaml.safe_dump(prop.get("default"), default_flow_style=True)
             .strip().removesuffix("...").strip(), _format_type(prop),
             prop.get("description", "")) for name, prop in params.items()]
    w = [max(len(r[i]) for r in rows + [("parameter", "default", "type", "")])
         for i in range(3)]
    lines.append(f"  {'parameter':<{w[0]}}  {'default':<{w[1]}}  {'type':<{w[2]}}  meaning")
    for name, default, typ, desc in rows:
        lines.append(f"  {name:<{w[0]}}  {default:<{w[1]}}  {typ:<{w[2]}}  {desc}")
    first = next(iter(params))
    lines.append(f"  set with: params: {{{step}: {{{first}: VALUE}}}} in a config file, or "
                 f"--config 'params={{{step}: {{{first}: VALUE}}}}'")
    return "\n".join(lines)
