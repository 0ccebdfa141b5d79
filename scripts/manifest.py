"""Snakemake adapter: raw directory -> manifest.tsv (gmoslib.manifest)."""

import logging
import os
import sys

snakemake = globals()["snakemake"]
# Use the gmoslib that sits beside this workflow (also when it is not pip-installed, e.g. in a
# conda environment made by --software-deployment-method conda).
sys.path.insert(0, os.path.dirname(snakemake.scriptdir))

from gmoslib.duplicates import datalab_conflicts  # noqa: E402
from gmoslib.joberrors import reported_errors  # noqa: E402
from gmoslib.manifest import build_manifest, summarize_unusable, write_manifest  # noqa: E402
from gmoslib.manifest_reuse import read_reuse_file, write_reuse_file  # noqa: E402

logging.basicConfig(filename=snakemake.log[0], level=logging.INFO, force=True)

raw_dir = snakemake.params.raw_dir
if not os.path.isdir(raw_dir):
    message = (f"raw_dir {raw_dir!r} (config key raw_dir) is not a directory "
               f"(working directory {os.getcwd()}): set raw_dir to the folder of raw GMOS files")
    logging.error(message)
    sys.exit(message)
# rows of files unchanged since the previous manifest are reused (a top-up reads new files only)
previous = read_reuse_file(snakemake.params.reuse)
with reported_errors("manifest", snakemake.output.tsv):  # (a full disk: one line)
    table = build_manifest(raw_dir, threads=snakemake.threads, previous=previous)
    if table.empty:
        message = (f"raw_dir {raw_dir!r} holds no *.fits, *.fits.gz, *.fits.bz2 or "
                   "*.fits.fz files")
        logging.error(message)
        sys.exit(message)
    write_manifest(table, snakemake.output.tsv)
    write_reuse_file(snakemake.output.tsv, snakemake.params.reuse)
for line in summarize_unusable(table) + datalab_conflicts(table):
    logging.warning(line)
logging.info("manifest: %d files, %d usable", len(table), int(table["usable"].sum()))
