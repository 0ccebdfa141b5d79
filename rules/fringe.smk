rule make_fringe:
    input:
        raws=fringe_raw_files,
        biases=fringe_biases,
        flats=fringe_flats,
    output:
        FRINGE_PATH,
    log:
        "logs/make_fringe/{name}.log",
    benchmark:
        "benchmarks/make_fringe/{name}.tsv"
    params:
        overscan=step_params("overscanCorrect"),
        fringe=step_params("makeFringeFrame"),
        memory_bytes=STACK_MEMORY_BYTES,
        bpm=config["bpm"],
    threads: 1
    resources:
        mem_mb=lambda wildcards, input: stack_mem_mb(input.raws),
        runtime=lambda wildcards, input: stack_runtime_min(input.raws),
    conda:
        "../envs/gmos.yaml"
    script:
        "../scripts/make_fringe.py"
