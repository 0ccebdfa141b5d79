rule stack_bias:
    input:
        group_raw_files(bias_groups),
    output:
        BIAS_PATH,
    log:
        "logs/stack_bias/{name}.log",
    benchmark:
        "benchmarks/stack_bias/{name}.tsv"
    params:
        overscan=step_params("overscanCorrect"),
        stack=step_params("stackBiases"),
        memory_bytes=STACK_MEMORY_BYTES,
        bpm=config["bpm"],
    threads: 2
    resources:
        mem_mb=lambda wildcards, input: stack_mem_mb(input),
        runtime=lambda wildcards, input: stack_runtime_min(input),
    conda:
        "../envs/gmos.yaml"
    script:
        "../scripts/stack_bias.py"
