"""Snakemake adapter: mosaics, catalogues, stack and its stacking records -> QA tables."""

import logging
import os
import sys

snakemake = globals()["snakemake"]
# Use the gmoslib that sits beside this workflow (also when it is not pip-installed, e.g. in a
# conda environment made by --software-deployment-method conda).
sys.path.insert(0, os.path.dirname(snakemake.scriptdir))

import pandas as pd  # noqa: E402

from gmoslib.fitsio import atomic_output  # noqa: E402
from gmoslib.qa import FRAME_COLUMNS, STACK_COLUMNS, stack_qa  # noqa: E402

logging.basicConfig(filename=snakemake.log[0], level=logging.INFO, force=True)

rows, total = stack_qa(list(snakemake.input.mosaics), list(snakemake.input.catalogues),
                       snakemake.input.stack, snakemake.input.records,
                       detect=dict(snakemake.params.detect))
for out, table, columns in ((snakemake.output.frames, rows, FRAME_COLUMNS),
                            (snakemake.output.stack, [total], STACK_COLUMNS)):
    with atomic_output(out) as tmp:
        pd.DataFrame(table, columns=list(columns)).to_csv(tmp, sep="\t", index=False,
                                                          float_format="%.6g")
logging.info("QA of %s: %s", snakemake.input.stack, total)
