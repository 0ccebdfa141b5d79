"""Snakemake adapter: calibrated mosaics + catalogues -> aligned stack and its QA table."""

import logging
import os
import sys

snakemake = globals()["snakemake"]
sys.path.insert(0, os.path.dirname(snakemake.scriptdir))  # the gmoslib beside this workflow

import pandas as pd  # noqa: E402
from astropy.table import Table  # noqa: E402

from gmoslib.io.fitsio import atomic_output, scratch_dir_for, write_frame  # noqa: E402
from gmoslib.qa.preview import preview_frame  # noqa: E402
from gmoslib.qa.tables import FRAME_COLUMNS, STACK_COLUMNS, stack_qa  # noqa: E402
from gmoslib.science.stack import stack_science  # noqa: E402
from gmoslib.workflow.joberrors import job  # noqa: E402

out = snakemake.output.stack
with job(snakemake, out), scratch_dir_for(out) as scratch:
    params = {k: dict(snakemake.params[k]) for k in ("align", "resample", "cosmic", "stack")}
    stack, records = stack_science(
        list(snakemake.input.mosaics),
        [Table.read(p, format="ascii.ecsv") for p in snakemake.input.catalogues],
        align=params["align"],
        resample_order=params["resample"]["order"],
        cosmic=params["cosmic"],
        stack=params["stack"],
        memory_bytes=snakemake.params.memory_bytes,
        scratch_dir=scratch,
        provenance=params,
        threads=snakemake.threads,
    )
    write_frame(out, stack)
    preview_frame(stack, snakemake.output.preview, title=snakemake.params.preview_title,
                  max_width=snakemake.params.max_width)
    with atomic_output(snakemake.output.qa) as tmp:
        pd.DataFrame(records).to_csv(tmp, sep="\t", index=False)
    logging.info("wrote %s from %d frames", out, len(snakemake.input.mosaics))
    # QA tables: each frame and the stack, from the products just written
    rows, total = stack_qa(list(snakemake.input.mosaics), list(snakemake.input.catalogues),
                           out, snakemake.output.qa, detect=dict(snakemake.params.detect))
    for path, table, columns in ((snakemake.output.qa_frames, rows, FRAME_COLUMNS),
                                 (snakemake.output.qa_stack, [total], STACK_COLUMNS)):
        with atomic_output(path) as tmp:
            pd.DataFrame(table, columns=list(columns)).to_csv(tmp, sep="\t", index=False,
                                                              float_format="%.6g")
    logging.info("QA of %s: %s", out, total)
