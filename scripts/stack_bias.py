"""Snakemake adapter: raw biases -> master bias (gmoslib.calibration.bias)."""

import logging
import os
import sys

snakemake = globals()["snakemake"]
sys.path.insert(0, os.path.dirname(snakemake.scriptdir))  # the gmoslib beside this workflow

from gmoslib.calibration.bias import make_master_bias  # noqa: E402
from gmoslib.io.fitsio import read_frame, scratch_dir_for, write_frame  # noqa: E402
from gmoslib.qa.preview import preview_frame  # noqa: E402
from gmoslib.workflow.joberrors import job  # noqa: E402

out = snakemake.output.master
with job(snakemake, out), scratch_dir_for(out) as scratch:
    bpm = read_frame(snakemake.params.bpm) if snakemake.params.bpm else None
    master = make_master_bias(
        list(snakemake.input),
        overscan=snakemake.params.overscan,
        stack=snakemake.params.stack,
        memory_bytes=snakemake.params.memory_bytes,
        scratch_dir=scratch,
        bpm=bpm,
        threads=snakemake.threads,
    )
    write_frame(out, master)
    preview_frame(master, snakemake.output.preview, title=snakemake.params.preview_title,
                  max_width=snakemake.params.max_width)
    logging.info("wrote %s from %d biases", out, len(snakemake.input))
