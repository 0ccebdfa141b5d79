"""Snakemake adapter: raw science frame + master bias/flat -> calibrated mosaic + catalogue."""

import logging
import os
import sys

snakemake = globals()["snakemake"]
sys.path.insert(0, os.path.dirname(snakemake.scriptdir))  # the gmoslib beside this workflow

from gmoslib.calibration.association import read_bpm  # noqa: E402
from gmoslib.io.fitsio import atomic_output, read_raw, write_frame  # noqa: E402
from gmoslib.qa.preview import preview_frame  # noqa: E402
from gmoslib.qa.tables import frame_qa_record  # noqa: E402
from gmoslib.science.reduce import detect_catalogue, frame_seeing, reduce_science_frame  # noqa: E402
from gmoslib.workflow.joberrors import job  # noqa: E402

with job(snakemake, snakemake.output.mosaic):
    # the user's bpm: file, else a processed BPM found in calibration_dirs
    bpm = read_bpm(snakemake.params.bpm, snakemake.params.calibration_dirs, snakemake.input.raw)
    mosaic, info = reduce_science_frame(
        snakemake.input.raw,
        snakemake.input.bias,
        snakemake.input.flat,
        overscan=snakemake.params.overscan,
        # empty when the frame needs no fringe correction
        fringe_path=snakemake.input.fringe or None,
        fringe=snakemake.params.fringe,
        qe_correct=snakemake.params.qe["enabled"],
        mosaic_order=snakemake.params.mosaic["order"],
        bpm=bpm,
    )
    catalogue = detect_catalogue(mosaic.exts[0], **snakemake.params.detect)
    seeing = frame_seeing(mosaic.exts[0], catalogue)
    if seeing is not None:
        mosaic.phu["MEANFWHM"] = (round(seeing, 4), "Seeing FWHM (arcsec) from point sources")
    catalogue.meta["seeing_fwhm_arcsec"] = seeing
    # the frame's QA numbers, for the QA table of its stack (no need to read the mosaic again)
    catalogue.meta["qa"] = frame_qa_record(mosaic.exts[0].sci, mosaic.exts[0].dq)
    write_frame(snakemake.output.mosaic, mosaic)
    preview_frame(mosaic, snakemake.output.preview, title=snakemake.params.preview_title,
                  max_width=snakemake.params.max_width)
    preview_frame(read_raw(snakemake.input.raw), snakemake.output.raw_preview, unit="adu",
                  title=snakemake.params.raw_title, max_width=snakemake.params.max_width)
    with atomic_output(snakemake.output.catalogue) as tmp:
        catalogue.write(tmp, format="ascii.ecsv", overwrite=True)
    logging.info("%s: %s; %d sources; seeing %s arcsec", snakemake.input.raw, info,
                 len(catalogue), seeing)
