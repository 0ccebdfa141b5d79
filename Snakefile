# gmos-snake: GMOS imaging reduction, from a directory of raw files to aligned, stacked images.
#
# Run from any directory (one folder per night); every output is written under the working
# directory:
#     snakemake -s PATH/TO/Snakefile -d NIGHT_DIR --configfile night.yaml --cores 2
#
# Output tree (relative to the working directory):
#     manifest/manifest.tsv                            one row per raw file: tags, descriptors, reason
#     calibrations/processed_bias/<first>_bias.fits    master biases (ADU)
#     calibrations/processed_flat/<first>_flat.fits    master flats (normalised)
#     calibrations/processed_fringe/<first>_fringe.fits  fringe frames (electrons), when needed
#     work/mosaic/<frame>_mosaic.fits, _cat.ecsv       calibrated mosaic and source catalogue per frame
#     results/<first><suffix>.fits, <first>_qa.tsv     aligned stack (electrons), stacking records
#     results/<first>_qa_frames.tsv, _qa_stack.tsv     QA tables per frame and per stack
#     qa/{raw,calibrations,mosaic,stack}/*.png         previews (also in `--report report.html`)
#     logs/<rule>/<name>.log, benchmarks/<rule>/<name>.tsv
#
# Targets: all (default), calibrations, fringes, stacks, qa, manifest.

import os

from snakemake.utils import min_version, validate

min_version("9.0")


configfile: os.path.join(workflow.basedir, "config", "config.yaml")


validate(config, os.path.join(workflow.basedir, "config", "schema.yaml"))


include: "rules/common.smk"


check_config_paths()
check_writable()


include: "rules/manifest.smk"
include: "rules/bias.smk"
include: "rules/flat.smk"
include: "rules/fringe.smk"
include: "rules/science.smk"
include: "rules/report.smk"


report: "report/workflow.rst"


rule all:
    input:
        all_products,
        all_qa,
    default_target: True


rule calibrations:
    input:
        all_calibrations,


rule fringes:
    input:
        all_fringes,


rule stacks:
    input:
        all_stacks,


rule qa:
    input:
        all_qa,


onsuccess:
    print_skipped_summary()


onerror:
    print_skipped_summary()
