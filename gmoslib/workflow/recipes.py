"""The workflow's recipes: the steps that make each product, in order, and the rule running
them; the one definition behind ``gmos recipes`` and the API's product names (step parameters:
:mod:`gmoslib.config.schema`; tests/test_recipes_params.py checks ``rules/*.smk`` against it).
"""

from __future__ import annotations

from dataclasses import dataclass

import yaml

from gmoslib.config.schema import BOUNDS, ParamsError, param_types, step_parameters

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
    """One product and its recipe: DRAGONS' recipe name, the Snakemake target rule of every
    product of this kind, the output path (relative to the working directory) and the (step,
    rule) pairs in order."""

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


#: Steps whose parameters a rule reads to measure, not make, its product (a stack's QA).
QA_RULE_STEPS: dict[str, tuple[str, ...]] = {"stack_science": ("detectSources",)}


def rules_of_step(step: str) -> list[str]:
    """The rules that perform ``step`` (a step can serve several products)."""
    return sorted({rule for p in PRODUCTS.values() for s, rule in p.steps if s == step})


def products_of_step(step: str) -> list[str]:
    return [p.name for p in PRODUCTS.values() if any(s == step for s, _ in p.steps)]


def format_recipes(products: list[str] | None = None) -> str:
    """The ``gmos recipes`` listing."""
    names = products or list(PRODUCTS)
    unknown = [n for n in names if n not in PRODUCTS]
    if unknown:
        raise ParamsError(f"unknown product {unknown[0]!r}; products: {', '.join(PRODUCTS)}")
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
    text = "|".join(param_types(prop))
    if "enum" in prop:
        text += " in {" + ", ".join(map(str, prop["enum"])) + "}"
    for key, sym in BOUNDS:
        if key in prop:
            text += f" {sym} {prop[key]}"
    return text


def format_params(step: str, schema: dict) -> str:
    """The ``gmos params STEP`` listing: default, type and meaning of each parameter."""
    params = step_parameters(schema, step)
    rules = rules_of_step(step)
    head = f"{step}: {STEPS.get(step, '')}"
    where = (f"run by rule{'s' if len(rules) > 1 else ''} {', '.join(rules)} "
             f"(products: {', '.join(products_of_step(step))})" if rules
             else "not used by any product")
    lines = [head, f"  {where}"]
    if not params:
        return "\n".join([*lines, "  (no parameters)"])
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
