# The QA tables of each stack, tagged for `snakemake --report report.html` with captions from
# report/*.rst (numbers by gmoslib.qa).  The previews (PNG, gmoslib.preview) of raw science
# frames and of every product are drawn by the jobs that make those products, from the data
# they hold in memory: one job per product instead of one more process per picture.

rule qa_stack:
    input:
        mosaics=lambda wildcards: [
            f"work/mosaic/{f}_mosaic.fits" for f in science_groups()[wildcards.name]
        ],
        catalogues=lambda wildcards: [
            f"work/mosaic/{f}_cat.ecsv" for f in science_groups()[wildcards.name]
        ],
        stack=STACK_PATH,
        records="results/{name}_qa.tsv",
    output:
        frames=report(
            QA_FRAMES,
            caption="../report/qa_frames.rst",
            category="4. Stacks",
            labels={"stack": "{name}", "product": "QA per frame"},
        ),
        stack=report(
            QA_STACK,
            caption="../report/qa_stack.rst",
            category="4. Stacks",
            labels={"stack": "{name}", "product": "QA of the stack"},
        ),
    log:
        "logs/qa_stack/{name}.log",
    benchmark:
        "benchmarks/qa_stack/{name}.tsv"
    params:
        detect=step_params("detectSources"),
    resources:
        mem_mb=lambda wildcards, input: frame_mem_mb(input.stack),
        runtime=lambda wildcards, input: stack_runtime_min(input.mosaics),
    conda:
        "../envs/gmos.yaml"
    script:
        "../scripts/qa_stack.py"
