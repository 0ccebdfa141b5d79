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
#     work/batches/<first>.txt                         frames reduced in one cluster job (job group)
#     results/<first><suffix>.fits, <first><suffix>_qa.tsv   aligned stack (electrons), stacking records
#     results/<first><suffix>_qa_frames.tsv, _qa_stack.tsv  QA tables per frame and per stack
#     results/aligned/<name><suffix>.fits, <suffix>_qa.tsv  stacks of earlier stacks (config align_and_stack)
#     qa/{raw,calibrations,mosaic,stack}/*.png         previews (also in `--report report.html`)
#     logs/<rule>/<name>.log, benchmarks/<rule>/<name>.tsv
#
# Targets: all (default), calibrations, biases, flats, fringes, stacks, aligned, qa, manifest.
# The steps each product goes through, and the rule running each step, are listed in
# gmoslib/workflow/recipes.py (`gmos recipes`); step parameters in config/schema.yaml (`gmos params`).

import logging
import os

from snakemake.settings.enums import Quietness
from snakemake.utils import min_version, validate

from gmoslib.workflow import console as quiet_console
from gmoslib.config.check import config_problems
from gmoslib.config.schema import ParamsError, check_params, load_schema

min_version("9.0")


configfile: os.path.join(workflow.basedir, "config", "config.yaml")


SCHEMA = os.path.join(workflow.basedir, "config", "schema.yaml")
# Unknown steps/parameters are reported with the valid names, and values given as strings on
# the command line (--config 'params={stackBiases: {lsigma: 5}}') get the parameter's type,
# before the schema validation fills in the defaults.
try:
    config["params"] = check_params(config.get("params"), load_schema(SCHEMA))
except ParamsError as exc:
    raise WorkflowError(str(exc)) from None


# A bad key or value is reported in a few lines (key, what is allowed, an example) before
# Snakemake's validate, whose message holds the whole schema.
_config_problems = config_problems(config, load_schema(SCHEMA))
if _config_problems:
    raise WorkflowError(_config_problems)
validate(config, SCHEMA)


include: "rules/common.smk"
include: "rules/manifest.smk"
include: "rules/bias.smk"
include: "rules/flat.smk"
include: "rules/fringe.smk"
include: "rules/science.smk"
include: "rules/align_and_stack.smk"


report: "report/workflow.rst"


# A quiet console (profiles/default: quiet [rules, host]): progress, one line per finished
# product, warnings and errors; Snakemake's scheduler lines go to its log file only.
if Quietness.RULES in (workflow.output_settings.quiet or ()):
    quiet_console.install(logging.getLogger("snakemake.logging"))


rule all:
    default_target: True
    input:
        target("all"),


rule calibrations:
    input:
        target("calibrations"),


rule fringes:
    input:
        target("fringes"),


rule biases:
    input:
        target("biases"),


rule flats:
    input:
        target("flats"),


rule stacks:
    input:
        target("stacks"),


rule qa:
    input:
        target("qa"),


onsuccess:
    end_of_run_notes(success=True)


onerror:
    end_of_run_notes(success=False)


rule aligned:
    input:
        lambda wildcards: aligned_products(config),
