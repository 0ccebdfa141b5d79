rule reduce_science_frame:
    input:
        raw=science_raw,
        bias=science_bias,
        flat=science_flat,
        fringe=science_fringe,
    output:
        mosaic=MOSAIC_PATH,
        catalogue=CATALOGUE_PATH,
        raw_preview=report(
            RAW_PNG,
            caption="../report/raw.rst",
            category="1. Raw science frames",
            labels={"frame": "{frame}", "product": "raw frame"},
        ),
        preview=report(
            MOSAIC_PNG,
            caption="../report/mosaic.rst",
            category="3. Calibrated mosaics",
            labels={"frame": "{frame}", "product": "mosaic"},
        ),
    log:
        "logs/reduce_science_frame/{frame}.log",
    benchmark:
        "benchmarks/reduce_science_frame/{frame}.tsv"
    group:
        "science_frames"
    conda:
        "../envs/gmos.yaml"
    threads: 1
    resources:
        mem_mb=lambda wildcards, input: frame_mem_mb(input.raw),
        runtime=lambda wildcards, input: frame_runtime_min(input.raw),
    params:
        checksums=lambda wildcards, input: raw_checksums(input.raw),
        overscan=step_params("overscanCorrect"),
        fringe=step_params("fringeCorrect"),
        qe=step_params("QECorrect"),
        mosaic=step_params("mosaicDetectors"),
        detect=step_params("detectSources"),
        bpm=config["bpm"],
        calibration_dirs=config["calibration_dirs"],
        raw_title=lambda wildcards: f"{wildcards.frame}: raw frame (ADU, overscan not shown)",
        preview_title=lambda wildcards: f"{wildcards.frame}: calibrated mosaic (electrons)",
        max_width=PREVIEW_MAX_WIDTH,
    script:
        "../scripts/reduce_science_frame.py"


# A batch: science frames of one stack and one night (at most config frames_per_cluster_job),
# listed in a small file.  It joins its frames in one connected part of the job group
# science_frames, so that a cluster executor runs them as one job (locally groups are ignored).
rule science_batch:
    input:
        lambda wildcards: mosaics(batch_frames(wildcards.name)),
    output:
        BATCH_PATH,
    log:
        "logs/science_batch/{name}.log",
    group:
        "science_frames"
    conda:
        "../envs/gmos.yaml"
    threads: 1
    resources:
        mem_mb=100,
        runtime=1,
    params:
        frames=lambda wildcards: " ".join(batch_frames(wildcards.name)),
    shell:
        "printf '%s\\n' {params.frames} > {output} 2> {log}"


rule stack_science:
    input:
        batches=stack_batches,
        mosaics=lambda wildcards: mosaics(groups("science")[wildcards.name]),
        catalogues=lambda wildcards: mosaics(
            groups("science")[wildcards.name], CATALOGUE_PATH
        ),
    output:
        stack=PATHS["stack"],
        qa=PATHS["qa_records"],
        preview=report(
            PATHS["stack_png"],
            caption="../report/stack.rst",
            category="4. Stacks",
            labels={
                "stack": f"{{name}}{config['output_suffix']}",
                "product": "stack image",
            },
        ),
        qa_frames=report(
            PATHS["qa_frames"],
            caption="../report/qa_frames.rst",
            category="4. Stacks",
            labels={
                "stack": f"{{name}}{config['output_suffix']}",
                "product": "QA per frame",
            },
        ),
        qa_stack=report(
            PATHS["qa_stack"],
            caption="../report/qa_stack.rst",
            category="4. Stacks",
            labels={
                "stack": f"{{name}}{config['output_suffix']}",
                "product": "QA of the stack",
            },
        ),
    log:
        "logs/stack_science/{name}.log",
    benchmark:
        "benchmarks/stack_science/{name}.tsv"
    conda:
        "../envs/gmos.yaml"
    threads: 2
    resources:
        mem_mb=lambda wildcards, input: stack_mem_mb(input.mosaics),
        runtime=lambda wildcards, input: stack_runtime_min(input.mosaics),
    params:
        align=step_params("adjustWCSToReference"),
        resample=step_params("resampleToCommonFrame"),
        cosmic=step_params("flagCosmicRaysByStacking"),
        stack=step_params("stackFrames"),
        # the QA of the stack detects its sources with the science detection parameters
        detect=step_params("detectSources"),
        memory_bytes=STACK_MEMORY_BYTES,
        preview_title=lambda wildcards: f"{wildcards.name}{config['output_suffix']}: "
        "aligned stack (electrons)",
        max_width=PREVIEW_MAX_WIDTH,
    script:
        "../scripts/stack_science.py"
