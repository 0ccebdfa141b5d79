"""Provenance in every product's PHU: per step, ``HISTORY`` cards ``gmos-snake <version> <step>
<json parameters>`` and one per input file with its SHA-256.  No timestamps: reruns are
byte-identical.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

from gmoslib import __version__
from gmoslib.io.names import printable

if TYPE_CHECKING:
    from astropy.io.fits import Header

SOFTWARE = "gmos-snake"
HISTORY_PREFIX = f"{SOFTWARE} "


def git_commit() -> str | None:
    """Commit of the gmoslib source tree, or None when not in a git checkout."""
    import subprocess  # (here: most jobs never start one)

    here = Path(__file__).resolve().parent
    try:
        out = subprocess.run(
            ["git", "-C", str(here), "rev-parse", "--short=12", "HEAD"],
            capture_output=True, text=True, timeout=5, check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def add_provenance(phu: Header, step: str, params: dict, inputs: list[tuple[str, str]]):
    """Record one step in ``phu`` (in place).  inputs : (file name, sha256 hex) pairs."""
    phu["GMSVER"] = (__version__, f"{SOFTWARE} software version")
    commit = git_commit()
    if commit:
        phu["GMSGIT"] = (commit, f"{SOFTWARE} git commit")
    phu.add_history(f"{HISTORY_PREFIX}{__version__} {step} "
                    + json.dumps(params, sort_keys=True, default=str))
    for name, sha in inputs:
        phu.add_history(f"{HISTORY_PREFIX}input {step} {printable(os.path.basename(name))} "
                        f"sha256:{sha}")


def read_provenance(phu: Header) -> list[str]:
    """The provenance lines written by :func:`add_provenance`, oldest first."""
    entries: list[str] = []
    last = ""  # the previous card of the current entry ("" = no entry open)
    # astropy splits a long HISTORY over 72-character cards: glue them back.  A card read from
    # a file loses its trailing blank: a 71-character card ended with a space (put it back).
    for card in phu.get("HISTORY", []):
        text = str(card)
        if text.startswith(HISTORY_PREFIX):
            entries.append(text)
            last = text
        elif last and len(last) >= 71:
            entries[-1] += " " * (72 - len(last)) + text
            last = text
        else:
            last = ""
    return entries


def add_subcommand(subparsers) -> None:
    """``gmos provenance FILE``: print the processing history recorded in a product."""
    p = subparsers.add_parser("provenance", help="print the processing history of a product")
    p.add_argument("files", nargs="+", help="processed FITS files")
    p.set_defaults(func=_cli_provenance)


def _cli_provenance(args) -> int:
    from gmoslib.io.fitsio import read_headers

    for path in args.files:
        phu, _ = read_headers(path)
        print(f"{path}:")
        print(f"  software: {SOFTWARE} {phu.get('GMSVER', '?')}"
              + (f" (git {phu['GMSGIT']})" if "GMSGIT" in phu else ""))
        for line in read_provenance(phu):
            print("  " + line[len(HISTORY_PREFIX):])
    return 0
