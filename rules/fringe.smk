rule make_fringe:
    input:
        raws=group_raw_files("fringe"),
        biases=fringe_calibrations("processed_bias"),
        flats=fringe_calibrations("processed_flat"),
    output:
        fringe=FRINGE_PATH,
        preview=report(
            FRINGE_PNG,
            caption="../report/fringe.rst",
            category="2. Calibrations",
            labels={"product": "fringe frame", "name": "{name}"},
        ),
    log:
        "logs/make_fringe/{name}.log",
    benchmark:
        "benchmarks/make_fringe/{name}.tsv"
    conda:
        "../envs/gmos.yaml"
    threads: 1
    resources:
        mem_mb=lambda wildcards, input: stack_mem_mb(input.raws),
        runtime=lambda wildcards, input: stack_runtime_min(input.raws),
    params:
        checksums=lambda wildcards, input: raw_checksums(input.raws),
        overscan=step_params("overscanCorrect"),
        fringe=step_params("makeFringeFrame"),
        memory_bytes=STACK_MEMORY_BYTES,
        bpm=config["bpm"],
        calibration_dirs=config["calibration_dirs"],
        preview_title=lambda wildcards: f"{wildcards.name}_fringe: fringe frame (electrons)",
        max_width=PREVIEW_MAX_WIDTH,
    script:
        "../scripts/make_fringe.py"
