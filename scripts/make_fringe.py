"""Snakemake adapter: dithered raw science frames + their master bias/flat -> processed fringe
(gmoslib.science.fringe_frame.make_fringe_frame)."""

import logging
import os
import sys

snakemake = globals()["snakemake"]
sys.path.insert(0, os.path.dirname(snakemake.scriptdir))  # the gmoslib beside this workflow

from gmoslib.calibration.association import read_bpm  # noqa: E402
from gmoslib.io.fitsio import write_frame  # noqa: E402
from gmoslib.qa.preview import preview_frame  # noqa: E402
from gmoslib.science.fringe_frame import make_fringe_frame  # noqa: E402
from gmoslib.workflow.joberrors import job  # noqa: E402

out = snakemake.output.fringe
with job(snakemake, out):
    # the user's bpm: file, else a processed BPM found in calibration_dirs
    bpm = read_bpm(snakemake.params.bpm, snakemake.params.calibration_dirs, snakemake.input.raws[0])
    fringe = make_fringe_frame(
        list(snakemake.input.raws),
        list(snakemake.input.biases),
        list(snakemake.input.flats),
        overscan=snakemake.params.overscan,
        params=snakemake.params.fringe,
        memory_bytes=snakemake.params.memory_bytes,
        scratch_dir=os.path.dirname(os.path.abspath(out)),
        bpm=bpm,
    )
    write_frame(out, fringe)
    preview_frame(fringe, snakemake.output.preview, title=snakemake.params.preview_title,
                  max_width=snakemake.params.max_width)
logging.info("wrote %s from %d science frames", out, len(snakemake.input.raws))
