"""Step parameters (``params:``) of ``config/schema.yaml``, the one home of their defaults,
types and meanings; :func:`step_values` gives the same defaults to recipes called from Python.
Steps are DRAGONS' primitive names: ``-p stackFrames:hsigma=5`` is
``params: {stackFrames: {hsigma: 5}}``.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import os
from pathlib import Path

import yaml


class ParamsError(ValueError):
    """A ``params:`` entry names an unknown step or parameter, or has the wrong shape."""


def default_schema_path() -> str:
    """config/schema.yaml of this gmoslib's workflow (:mod:`gmoslib.config.files`)."""
    from gmoslib.config.files import schema_path

    try:
        return str(schema_path())
    except FileNotFoundError:  # (load_schema names the missing file)
        return str(Path(__file__).resolve().parents[2] / "config" / "schema.yaml")


def load_schema(path: str | None = None) -> dict:
    """The workflow's JSON schema (a dict) from ``path`` (default: :func:`default_schema_path`)."""
    path = path or default_schema_path()
    if not os.path.isfile(path):
        raise FileNotFoundError(
            f"workflow schema {path} not found: gmoslib reads the step parameters from the "
            "config/schema.yaml of its repository checkout")
    with open(path) as fh:  # (libyaml's loader when there is one: ~7x faster)
        return yaml.load(fh, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def step_schemas(schema: dict) -> dict[str, dict]:
    """step name -> its JSON schema (``properties`` = its parameters), in schema order."""
    return dict(schema["properties"]["params"]["properties"])


def step_parameters(schema: dict, step: str) -> dict[str, dict]:
    """parameter name -> its JSON schema (type, default, description...) for one step."""
    steps = step_schemas(schema)
    if step not in steps:
        raise ParamsError(f"unknown step {step!r}; valid steps: {', '.join(steps)}")
    return dict(steps[step].get("properties", {}))


#: JSON-schema bounds of a number and their symbols, as the listings print them.
BOUNDS = (("minimum", ">="), ("exclusiveMinimum", ">"), ("maximum", "<="),
          ("exclusiveMaximum", "<"))


def param_types(prop: dict) -> list[str]:
    """The JSON types a parameter's schema allows, as a list."""
    t = prop.get("type", [])
    return [t] if isinstance(t, str) else list(t)


def _coerce(value, prop: dict):
    """A ``--config`` string (Snakemake passes nested values as text) as the schema's type,
    an integer for a number as a float (one value in HISTORY, whatever the source); anything
    else unchanged, for the schema to judge."""
    types = param_types(prop)
    if (isinstance(value, int) and not isinstance(value, bool) and "number" in types
            and "integer" not in types):
        return float(value)
    if not isinstance(value, str) or "string" in types:
        return value
    text = value.strip()
    if "null" in types and text in ("None", "null", "~", ""):
        return None
    if "boolean" in types and text.lower() in ("true", "false"):
        return text.lower() == "true"
    for kind, cast in (("integer", int), ("number", float)):
        if kind in types:
            with contextlib.suppress(ValueError):
                return cast(text)
    return value


def check_params(params, schema: dict) -> dict:
    """A new ``params:`` section: an unknown step or parameter raises :class:`ParamsError`
    naming the valid ones; command-line strings get the parameter's type (:func:`_coerce`).
    Types, ranges and enums are left to the schema validation."""
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
        if not isinstance(values, dict | None):
            raise ParamsError(
                f"config params.{step} must be a mapping of parameter -> value, got {values!r}")
        checked = {}
        for name, value in (values or {}).items():
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
    """Every parameter of ``step``: the schema's defaults (default schema: :func:`load_schema`,
    read once) overridden by ``given`` (:func:`check_params`)."""
    schema = schema or _workflow_schema()
    checked = check_params({step: dict(given or {})}, schema)[step]
    return {**defaults(schema)[step], **checked}


def defaults(schema: dict) -> dict[str, dict]:
    """step -> parameter -> default value, from the schema."""
    return {step: {name: copy.deepcopy(prop.get("default"))
                   for name, prop in s.get("properties", {}).items()}
            for step, s in step_schemas(schema).items()}

