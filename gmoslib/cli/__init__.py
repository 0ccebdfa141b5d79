"""The ``gmos`` command: look at data before reducing it, and manage calibrations.

    gmos simulate [--preset tutorial] OUTDIR       simulated raw data with truth
    gmos manifest RAW_DIR [-o manifest.tsv]        tags and descriptors of every file
    gmos select (FILES... | --manifest M) [--tags T,T] [--xtags T,T] [--expr E] [-o LIST]
    gmos showd -d DESC[,DESC...] FILES...          descriptor values (as --expr compares them)
    gmos reduce FILES|@LIST [-r RECIPE] [-p STEP:PARAM=VALUE ...] [--suffix S] [--user_cal ...]
    gmos caldb list|add|remove ...                 processed-calibration index
    gmos provenance FILE...                        processing history of a product
    gmos download (--program ID | --data-label L ...) -o RAW_DIR   raw files from the archive
    gmos preview FILE... [-o DIR]                  PNG previews of raw files and products
    gmos recipes [PRODUCT...]                      steps of each product, in order, and their rules
    gmos params [STEP]                             the steps, or a step's parameters
    gmos --version

`gmos COMMAND --help` describes a command, with an example.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import sys

SUBCOMMAND_MODULES = ("gmoslib.sim.cli", "gmoslib.workflow.caldb", "gmoslib.io.provenance",
                      "gmoslib.io.archive", "gmoslib.qa.preview", "gmoslib.cli.reduce")

#: An example for every subcommand's --help that has no epilog of its own.
EXAMPLES = {
    "manifest": "gmos manifest night/raw -o manifest.tsv",
    "select": "gmos select --tags FLAT --expr 'filter_name==\"i\"' night/raw/*.fits -o flats.txt",
    "showd": "gmos showd -d object,filter_name,raw_filter_name,exposure_time night/raw/*.fits",
    "recipes": "gmos recipes science",
    "params": "gmos params stackFrames",
    "simulate": "gmos simulate --preset tutorial night/raw",
    "caldb": "gmos caldb scan night/calibrations",
    "provenance": "gmos provenance night/results/N20170614S0201_stack.fits",
    "download": "gmos download --program GN-2017A-LP-1 -o night/raw",
    "preview": "gmos preview night/results/N20170614S0201_stack.fits -o pictures",
}

SHOWD_HELP = """Descriptor values, in the form `gmos select --expr` compares them: filter_name and
detector_name print DRAGONS' short (pretty) names, e.g. `i` and `Hamamatsu-N`;
raw_filter_name and raw_detector_name the header's form, e.g. `open1-6&i_G0302`. Any other
descriptor (exposure_time, binning, object, gain, ...) prints its one value."""


def _cmd_manifest(args) -> int:
    import pandas as pd

    from gmoslib.workflow.manifest import build_manifest, write_manifest

    table = build_manifest(args.raw_dir)
    if args.output:
        write_manifest(table, args.output)
    cols = ["frame", "usable", "kind", "tags", "filter", "exposure_time", "binning",
            "ut_datetime", "reason"]
    with pd.option_context("display.max_rows", None, "display.max_colwidth", 70,
                           "display.width", 250):
        print(table[cols].to_string(index=False))
    return 0


def _cmd_select(args) -> int:
    from gmoslib.workflow.manifest import build_manifest, read_manifest
    from gmoslib.workflow.select import select_data, split_tags

    if not (args.manifest or args.files):
        raise ValueError("give files or --manifest")
    table = read_manifest(args.manifest) if args.manifest else build_manifest(args.files)
    paths = select_data(table, tags=split_tags(args.tags), xtags=split_tags(args.xtags),
                        expression=args.expr)
    with open(args.output, "w") if args.output else contextlib.nullcontext(sys.stdout) as fh:
        fh.write("".join(f"{p}\n" for p in paths))
    return 0


def _cmd_showd(args) -> int:
    from gmoslib.instrument.descriptors import Descriptors
    from gmoslib.io.fitsio import read_headers
    from gmoslib.workflow.select import descriptor_value

    names = [d.strip() for d in args.descriptors.split(",") if d.strip()]
    print("filename\t" + "\t".join(names))
    for path in args.files:
        phu, exts = read_headers(path)
        d = Descriptors(phu, exts, path)
        print("\t".join([path, *(str(descriptor_value(d, name)) for name in names)]))
    return 0


def _cmd_recipes(args) -> int:
    from gmoslib.workflow.recipes import format_recipes

    print(format_recipes(args.products or None))
    return 0


def _cmd_params(args) -> int:
    from gmoslib.config.schema import load_schema, step_schemas
    from gmoslib.workflow.recipes import STEPS, format_params

    schema = load_schema(args.schema)
    if args.step:
        print(format_params(args.step, schema))
        return 0
    steps = list(step_schemas(schema))
    width = max(len(s) for s in steps)
    print("steps with parameters (gmos params STEP lists them):")
    for step in steps:
        print(f"  {step:<{width}}  {STEPS.get(step, '')}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    from gmoslib import __version__

    parser = argparse.ArgumentParser(prog="gmos", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"gmos {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("manifest", help="tags and descriptors of every file in a directory")
    p.add_argument("raw_dir")
    p.add_argument("-o", "--output", help="write the manifest TSV here")
    p.set_defaults(func=_cmd_manifest)

    p = sub.add_parser("select", help="select files by tags and descriptor expression")
    p.add_argument("files", nargs="*", help="FITS files (or use --manifest)")
    p.add_argument("--manifest", help="a manifest.tsv written by the workflow or gmos manifest")
    p.add_argument("--tags", action="append", default=[], metavar="T,T",
                   help="tags every file must have, comma-separated (e.g. BIAS or FLAT,TWILIGHT)")
    p.add_argument("--xtags", action="append", default=[], metavar="T,T",
                   help="tags no file may have, comma-separated (e.g. CAL)")
    p.add_argument("--expr", help="descriptor expression, e.g. 'filter_name==\"i\"' (the "
                                  "values gmos showd prints)")
    p.add_argument("-o", "--output", help="write the list here (one path per line)")
    p.set_defaults(func=_cmd_select)

    p = sub.add_parser("showd", help="show descriptor values of files", description=SHOWD_HELP)
    p.add_argument("-d", "--descriptors", required=True,
                   help="comma-separated names, e.g. filter_name,raw_filter_name")
    p.add_argument("files", nargs="+")
    p.set_defaults(func=_cmd_showd)

    p = sub.add_parser("recipes", help="the steps of each product, in order, and their rules")
    p.add_argument("products", nargs="*",
                   help="bias, flat, fringe, science, alignAndStack (default: all)")
    p.set_defaults(func=_cmd_recipes)

    p = sub.add_parser("params", help="a step's parameters, defaults and meanings")
    p.add_argument("step", nargs="?", help="a step name from gmos recipes, e.g. stackFrames "
                                           "(without: the list of steps)")
    p.add_argument("--schema", help="workflow schema (default: config/schema.yaml of this "
                                    "repository)")
    p.set_defaults(func=_cmd_params)

    for name in SUBCOMMAND_MODULES:
        importlib.import_module(name).add_subcommand(sub)
    for name, p in sub.choices.items():
        if not p.epilog and name in EXAMPLES:
            p.epilog = f"example:\n  {EXAMPLES[name]}"
            p.formatter_class = argparse.RawDescriptionHelpFormatter
    return parser


def main(argv=None) -> int:
    """Run one command: exit status 2 for bad arguments or input, 1 when a download or a
    reduction fails (the message, not a traceback, on stderr)."""
    from gmoslib.io.archive import ArchiveError
    from gmoslib.workflow.api import ReductionError

    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (ValueError, OSError, KeyError, ArchiveError, ReductionError) as exc:
        print(f"gmos {args.command}: error: {exc}", file=sys.stderr)
        return 1 if isinstance(exc, ArchiveError | ReductionError) else 2


if __name__ == "__main__":
    sys.exit(main())
