# alignAndStack: stacks made earlier (or mosaics) -> one aligned stack, for the groups named in
# config align_and_stack (name -> files).  The input files are only read.


rule align_and_stack:
    input:
        aligned_files,
    output:
        stack=PATHS["aligned"],
        qa=PATHS["aligned_qa"],
        preview=report(
            PATHS["aligned_png"],
            caption="../report/aligned.rst",
            category="4. Stacks",
            labels={
                "stack": f"aligned/{{name}}{config['output_suffix']}",
                "product": "stack image",
            },
        ),
    log:
        "logs/align_and_stack/{name}.log",
    benchmark:
        "benchmarks/align_and_stack/{name}.tsv"
    conda:
        "../envs/gmos.yaml"
    threads: 1
    resources:
        mem_mb=lambda wildcards, input: stack_mem_mb(input),
        runtime=lambda wildcards, input: stack_runtime_min(input),
    params:
        detect=step_params("detectSources"),
        align=step_params("adjustWCSToReference"),
        resample=step_params("resampleToCommonFrame"),
        stack=step_params("stackFrames"),
        memory_bytes=STACK_MEMORY_BYTES,
        preview_title=lambda wildcards: f"{wildcards.name}{config['output_suffix']}: "
        "stack of stacks (electrons)",
        max_width=PREVIEW_MAX_WIDTH,
    script:
        "../scripts/align_and_stack.py"
