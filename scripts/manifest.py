"""Snakemake adapter: raw directory -> manifest.tsv (gmoslib.workflow.manifest)."""

import logging
import os
import sys

snakemake = globals()["snakemake"]
sys.path.insert(0, os.path.dirname(snakemake.scriptdir))  # the gmoslib beside this workflow

from gmoslib.workflow.duplicates import datalab_conflicts  # noqa: E402
from gmoslib.workflow.joberrors import JobInputError, job  # noqa: E402
from gmoslib.workflow.manifest import build_manifest, summarize_unusable, write_manifest  # noqa: E402
from gmoslib.workflow.manifest_reuse import read_reuse_file, write_reuse_file  # noqa: E402

raw_dir = snakemake.params.raw_dir
with job(snakemake, snakemake.output.tsv):
    if not os.path.isdir(raw_dir):
        raise JobInputError(
            f"raw_dir {raw_dir!r} (config key raw_dir) is not a directory (working directory "
            f"{os.getcwd()}): set raw_dir to the folder of raw GMOS files")
    # rows of files unchanged since the previous manifest are reused (a top-up reads new files)
    table = build_manifest(raw_dir, threads=snakemake.threads,
                           previous=read_reuse_file(snakemake.params.reuse))
    if table.empty:
        raise JobInputError(f"raw_dir {raw_dir!r} holds no *.fits, *.fits.gz, *.fits.bz2 or "
                            "*.fits.fz files")
    write_manifest(table, snakemake.output.tsv)
    write_reuse_file(snakemake.output.tsv, snakemake.params.reuse)
for line in summarize_unusable(table) + datalab_conflicts(table):
    logging.warning(line)
logging.info("manifest: %d files, %d usable", len(table), int(table["usable"].sum()))
