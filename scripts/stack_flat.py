"""Snakemake adapter: raw twilights + master bias -> master flat (gmoslib.calibration.flat)."""

import logging
import os
import sys

snakemake = globals()["snakemake"]
sys.path.insert(0, os.path.dirname(snakemake.scriptdir))  # the gmoslib beside this workflow

from gmoslib.calibration.association import read_bpm  # noqa: E402
from gmoslib.calibration.flat import make_master_flat  # noqa: E402
from gmoslib.io.fitsio import scratch_dir_for, write_frame  # noqa: E402
from gmoslib.qa.preview import preview_frame  # noqa: E402
from gmoslib.workflow.joberrors import job  # noqa: E402

out = snakemake.output.master
with job(snakemake, out), scratch_dir_for(out) as scratch:
    # the user's bpm: file, else a processed BPM found in calibration_dirs
    bpm = read_bpm(snakemake.params.bpm, snakemake.params.calibration_dirs, snakemake.input.raw[0])
    master = make_master_flat(
        list(snakemake.input.raw),
        snakemake.input.bias,
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
    logging.info("wrote %s from %d twilights with bias %s", out, len(snakemake.input.raw),
                 snakemake.input.bias)
