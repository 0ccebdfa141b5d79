"""``gmos simulate``: write a simulated raw GMOS data set."""

from __future__ import annotations

import argparse
import time

from .presets import PRESETS, simulate_preset


def add_subcommand(subparsers) -> None:
    p = subparsers.add_parser("simulate", help="write simulated raw GMOS files with truth")
    p.add_argument("outdir", help="directory for the raw files (truth goes to OUTDIR/truth)")
    p.add_argument("--preset", default="tutorial", choices=sorted(PRESETS))
    p.add_argument("--seed", type=int, default=1)
    p.set_defaults(func=run)


def run(args) -> int:
    t0 = time.perf_counter()
    paths = simulate_preset(args.preset, args.outdir, seed=args.seed)
    print(f"wrote {len(paths)} raw files to {args.outdir} "
          f"({time.perf_counter() - t0:.1f} s, preset {args.preset}, seed {args.seed})")
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gmoslib.sim")
    sub = parser.add_subparsers(dest="command")
    add_subcommand(sub)
    args = parser.parse_args(["simulate", *(argv or [])] if argv is not None else None)
    return args.func(args)
