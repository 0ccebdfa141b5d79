"""Snakemake adapter: already-reduced stacks -> aligned stack and its QA table (alignAndStack)."""

import logging
import os
import sys

snakemake = globals()["snakemake"]
sys.path.insert(0, os.path.dirname(snakemake.scriptdir))  # the gmoslib beside this workflow

import pandas as pd  # noqa: E402

from gmoslib.io.fitsio import atomic_output, write_frame  # noqa: E402
from gmoslib.qa.preview import preview_frame  # noqa: E402
from gmoslib.science.align_and_stack import align_and_stack  # noqa: E402
from gmoslib.workflow.joberrors import job  # noqa: E402

out = snakemake.output.stack
params = {k: dict(snakemake.params[k]) for k in ("detect", "align", "resample", "stack")}
with job(snakemake, out):
    stack, records = align_and_stack(
        list(snakemake.input),
        detect=params["detect"],
        align=params["align"],
        resample_order=params["resample"]["order"],
        stack=params["stack"],
        memory_bytes=snakemake.params.memory_bytes,
        scratch_dir=os.path.dirname(os.path.abspath(out)),
        provenance=params,
    )
    write_frame(out, stack)
    preview_frame(stack, snakemake.output.preview, title=snakemake.params.preview_title,
                  max_width=snakemake.params.max_width)
    with atomic_output(snakemake.output.qa) as tmp:
        pd.DataFrame(records).to_csv(tmp, sep="\t", index=False)
logging.info("wrote %s from %d stacks", out, len(snakemake.input))
