rule stack_bias:
    input:
        group_raw_files("bias"),
    output:
        master=BIAS_PATH,
        preview=report(
            BIAS_PNG,
            caption="../report/bias.rst",
            category="2. Calibrations",
            labels={"product": "master bias", "name": "{name}"},
        ),
    log:
        "logs/stack_bias/{name}.log",
    benchmark:
        "benchmarks/stack_bias/{name}.tsv"
    conda:
        "../envs/gmos.yaml"
    threads: 2
    resources:
        mem_mb=lambda wildcards, input: stack_mem_mb(input),
        runtime=lambda wildcards, input: stack_runtime_min(input),
    params:
        checksums=lambda wildcards, input: raw_checksums(input),
        overscan=step_params("overscanCorrect"),
        stack=step_params("stackBiases"),
        memory_bytes=STACK_MEMORY_BYTES,
        bpm=config["bpm"],
        preview_title=lambda wildcards: f"{wildcards.name}_bias: master bias (ADU)",
        max_width=PREVIEW_MAX_WIDTH,
    script:
        "../scripts/stack_bias.py"
