"""``gmos reduce``: DRAGONS' ``reduce`` arguments (``@list``, ``-r``, ``-p STEP:PARAM=VALUE``,
``--suffix``, ``--user_cal TYPE:FILE``) turned into those of :func:`gmoslib.workflow.api.reduce`.
"""

from __future__ import annotations

import os

from gmoslib.workflow.recipes import PRODUCTS

EXAMPLE = """\
examples (the DRAGONS tutorial's lines, `reduce` -> `gmos reduce`):
  gmos select night/raw/*.fits --tags BIAS -o biases.txt
  gmos reduce @biases.txt -d night
  gmos reduce @flats.txt -d night
  gmos reduce @science.txt -d night -p stackFrames:hsigma=5 --suffix _hs5
  gmos reduce @science.txt -d night --user_cal processed_bias:night/cals/N20170613S0180_bias.fits
  gmos reduce night/results/a_stack.fits night/results/b_stack.fits -r alignAndStack -d night
"""

#: DRAGONS recipe name -> product name (``-r`` takes either).
RECIPES = {p.recipe: name for name, p in PRODUCTS.items()}
USER_CAL_TYPES = ("processed_bias", "processed_flat", "processed_fringe")


def expand_files(items) -> list[str]:
    """Paths from FILE and @LIST arguments; a list holds one path per line, relative to the
    current directory (``gmos select -o``); blank and ``#`` lines are skipped."""
    out = []
    for item in items:
        if not item.startswith("@"):
            out.append(item)
            continue
        path = item[1:]
        try:
            with open(path) as fh:
                lines = [line.strip() for line in fh]
        except OSError as exc:
            raise ValueError(f"list {path}: cannot read it ({exc.strerror})") from None
        names = [line for line in lines if line and not line.startswith("#")]
        if not names:
            raise ValueError(f"list {path} names no files")
        out.extend(names)
    return out


def parse_params(items) -> dict[str, dict[str, str]]:
    """``["stackFrames:hsigma=5", ...]`` -> ``{"stackFrames": {"hsigma": "5"}}`` (text: the
    workflow gives each value its schema type)."""
    out: dict[str, dict[str, str]] = {}
    for item in items:
        key, eq, value = item.partition("=")
        step, colon, name = key.partition(":")
        if not eq or not colon or not step or not name:
            raise ValueError(f"-p {item!r}: give STEP:PARAM=VALUE, e.g. -p stackFrames:hsigma=5 "
                             "(gmos params lists the steps, gmos params STEP their parameters)")
        out.setdefault(step.strip(), {})[name.strip()] = value.strip()
    return out


def parse_user_cal(items) -> dict[str, str]:
    """``["processed_bias:cals/x_bias.fits"]`` -> ``{"processed_bias": "cals/x_bias.fits"}``."""
    out = {}
    for item in items:
        kind, colon, path = item.partition(":")
        if not colon or kind not in USER_CAL_TYPES or not path:
            raise ValueError(f"--user_cal {item!r}: give TYPE:FILE with TYPE one of "
                             f"{', '.join(USER_CAL_TYPES)}")
        out[kind] = path
    return out


def product_of(recipe: str | None, files: list[str]) -> str:
    """The product of ``-r`` (product or DRAGONS recipe name), else from the files' tags as
    DRAGONS chooses (all BIAS -> bias, all FLAT -> flat, no CAL -> science)."""
    if recipe:
        if recipe in PRODUCTS:
            return recipe
        if recipe in RECIPES:
            return RECIPES[recipe]
        raise ValueError(f"-r {recipe!r}: unknown recipe; give one of "
                         f"{', '.join([*PRODUCTS, *RECIPES])}")
    from gmoslib.workflow.manifest import build_manifest

    table = build_manifest(files)
    bad = table[~table["usable"].astype(bool)]
    if len(bad):
        row = bad.iloc[0]
        raise ValueError(f"{row['path']}: not a usable raw GMOS imaging file ({row['reason']}); "
                         "for reduced stacks give -r alignAndStack")
    tags = [set(str(t).split(",")) for t in table["tags"]]
    for tag, product in (("BIAS", "bias"), ("FLAT", "flat")):
        if all(tag in t for t in tags):
            return product
    if not any("CAL" in t for t in tags):
        return "science"
    raise ValueError("the files mix calibrations and science, or kinds of calibration: "
                     "give one kind per call (gmos select --tags/--xtags), or -r RECIPE")


def add_subcommand(sub) -> None:
    import argparse

    p = sub.add_parser(
        "reduce", help="reduce files as DRAGONS' reduce does (runs the workflow)",
        description="Reduce FILES (and the files of @LIST) into one product with the "
                    "workflow,\nin the working directory -d: products go where a snakemake "
                    "run puts them,\nand calibrations made earlier there are found by "
                    "themselves.",
        epilog=EXAMPLE, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("files", nargs="*", metavar="FILE|@LIST",
                   help="raw files, or @LIST: a file with one path per line")
    p.add_argument("-r", "--recipe",
                   help="product or DRAGONS recipe: " + ", ".join(
                       f"{n} ({q.recipe})" for n, q in PRODUCTS.items())
                   + "; default: from the files' tags")
    p.add_argument("-p", "--param", dest="params", nargs="+", action="extend", default=[],
                   metavar="STEP:PARAM=VALUE", help="step parameters (gmos params STEP)")
    p.add_argument("--suffix", help="suffix of the science or alignAndStack product "
                                    "(default _stack)")
    p.add_argument("--user_cal", nargs="+", action="extend", default=[], metavar="TYPE:FILE",
                   help="calibrations to use, TYPE one of " + ", ".join(USER_CAL_TYPES))
    p.add_argument("--calibration_dirs", nargs="+", action="extend", default=[],
                   metavar="DIR", help="more folders of processed calibrations (the caldb)")
    p.add_argument("-d", "--workdir", default=".",
                   help="working directory of the products (default: the current one)")
    p.add_argument("--name", help="alignAndStack: name of the product (default: first file)")
    p.add_argument("--cores", type=int, help="CPU cores for the jobs (default: all)")
    p.add_argument("--verbose", action="store_true",
                   help="show Snakemake's own output instead of the progress bar")
    p.set_defaults(func=run)


def run(args) -> int:
    from gmoslib.workflow.api import reduce

    # `-p a:b=1 FILE` : nargs="+" took the file as well; give it back
    params = [p for p in args.params if "=" in p]
    user_cal = [u for u in args.user_cal if ":" in u]
    strays = [p for p in args.params if "=" not in p] + [u for u in args.user_cal if ":" not in u]
    files = expand_files([*args.files, *strays])
    if not files:
        raise ValueError("give the files to reduce (FILE... or @LIST)")
    product = product_of(args.recipe, files)
    out = reduce(files, product, workdir=args.workdir, params=parse_params(params) or None,
                 user_cal=parse_user_cal(user_cal) or None, suffix=args.suffix,
                 calibration_dirs=args.calibration_dirs or None, name=args.name,
                 cores=args.cores, verbose=args.verbose)
    for path in out.products:
        print(os.path.relpath(path))
    return 0
