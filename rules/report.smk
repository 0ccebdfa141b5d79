# Previews (PNG) of raw science frames and of every product, and the QA tables of each stack,
# all tagged for `snakemake --report report.html` with captions from report/*.rst.
# The pictures are made by gmoslib.preview, the numbers by gmoslib.qa.

rule preview_raw:
    input:
        lambda wildcards: frames_paths([wildcards.frame])[0],
    output:
        report(
            RAW_PNG,
            caption="../report/raw.rst",
            category="1. Raw science frames",
            labels={"frame": "{frame}", "product": "raw frame"},
        ),
    log:
        "logs/preview_raw/{frame}.log",
    benchmark:
        "benchmarks/preview_raw/{frame}.tsv"
    params:
        title=lambda wildcards: f"{wildcards.frame}: raw frame (ADU, overscan not shown)",
        max_width=PREVIEW_MAX_WIDTH,
    resources:
        mem_mb=lambda wildcards, input: frame_mem_mb(input[0]),
        runtime=5,
    conda:
        "../envs/gmos.yaml"
    script:
        "../scripts/preview.py"


rule preview_bias:
    input:
        BIAS_PATH,
    output:
        report(
            BIAS_PNG,
            caption="../report/bias.rst",
            category="2. Calibrations",
            labels={"product": "master bias", "name": "{name}"},
        ),
    log:
        "logs/preview_bias/{name}.log",
    benchmark:
        "benchmarks/preview_bias/{name}.tsv"
    params:
        title=lambda wildcards: f"{wildcards.name}_bias: master bias (ADU)",
        max_width=PREVIEW_MAX_WIDTH,
    resources:
        mem_mb=lambda wildcards, input: frame_mem_mb(input[0]),
        runtime=5,
    conda:
        "../envs/gmos.yaml"
    script:
        "../scripts/preview.py"


rule preview_flat:
    input:
        FLAT_PATH,
    output:
        report(
            FLAT_PNG,
            caption="../report/flat.rst",
            category="2. Calibrations",
            labels={"product": "master flat", "name": "{name}"},
        ),
    log:
        "logs/preview_flat/{name}.log",
    benchmark:
        "benchmarks/preview_flat/{name}.tsv"
    params:
        title=lambda wildcards: f"{wildcards.name}_flat: master flat (normalised)",
        max_width=PREVIEW_MAX_WIDTH,
    resources:
        mem_mb=lambda wildcards, input: frame_mem_mb(input[0]),
        runtime=5,
    conda:
        "../envs/gmos.yaml"
    script:
        "../scripts/preview.py"


rule preview_fringe:
    input:
        FRINGE_PATH,
    output:
        report(
            FRINGE_PNG,
            caption="../report/fringe.rst",
            category="2. Calibrations",
            labels={"product": "fringe frame", "name": "{name}"},
        ),
    log:
        "logs/preview_fringe/{name}.log",
    benchmark:
        "benchmarks/preview_fringe/{name}.tsv"
    params:
        title=lambda wildcards: f"{wildcards.name}_fringe: fringe frame (electrons)",
        max_width=PREVIEW_MAX_WIDTH,
    resources:
        mem_mb=lambda wildcards, input: frame_mem_mb(input[0]),
        runtime=5,
    conda:
        "../envs/gmos.yaml"
    script:
        "../scripts/preview.py"


rule preview_mosaic:
    input:
        "work/mosaic/{frame}_mosaic.fits",
    output:
        report(
            MOSAIC_PNG,
            caption="../report/mosaic.rst",
            category="3. Calibrated mosaics",
            labels={"frame": "{frame}", "product": "mosaic"},
        ),
    log:
        "logs/preview_mosaic/{frame}.log",
    benchmark:
        "benchmarks/preview_mosaic/{frame}.tsv"
    params:
        title=lambda wildcards: f"{wildcards.frame}: calibrated mosaic (electrons)",
        max_width=PREVIEW_MAX_WIDTH,
    resources:
        mem_mb=lambda wildcards, input: frame_mem_mb(input[0]),
        runtime=5,
    conda:
        "../envs/gmos.yaml"
    script:
        "../scripts/preview.py"


rule preview_stack:
    input:
        STACK_PATH,
    output:
        report(
            STACK_PNG,
            caption="../report/stack.rst",
            category="4. Stacks",
            labels={"stack": "{name}", "product": "stack image"},
        ),
    log:
        "logs/preview_stack/{name}.log",
    benchmark:
        "benchmarks/preview_stack/{name}.tsv"
    params:
        title=lambda wildcards: f"{wildcards.name}{config['output_suffix']}: "
        "aligned stack (electrons)",
        max_width=PREVIEW_MAX_WIDTH,
    resources:
        mem_mb=lambda wildcards, input: frame_mem_mb(input[0]),
        runtime=5,
    conda:
        "../envs/gmos.yaml"
    script:
        "../scripts/preview.py"


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
