"""Snakemake adapter: one FITS file (raw or processed) -> PNG preview (gmoslib.preview)."""

import logging
import os
import sys

snakemake = globals()["snakemake"]
# Use the gmoslib that sits beside this workflow (also when it is not pip-installed, e.g. in a
# conda environment made by --software-deployment-method conda).
sys.path.insert(0, os.path.dirname(snakemake.scriptdir))

from gmoslib.preview import preview_file  # noqa: E402

logging.basicConfig(filename=snakemake.log[0], level=logging.INFO, force=True)

info = preview_file(snakemake.input[0], snakemake.output[0], title=snakemake.params.title,
                    max_width=snakemake.params.max_width)
logging.info("%s -> %s: %s", snakemake.input[0], snakemake.output[0], info)
