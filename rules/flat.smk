rule stack_flat:
    input:
        raw=group_raw_files("flat"),
        bias=flat_bias,
    output:
        master=FLAT_PATH,
        preview=report(
            FLAT_PNG,
            caption="../report/flat.rst",
            category="2. Calibrations",
            labels={"product": "master flat", "name": "{name}"},
        ),
    log:
        "logs/stack_flat/{name}.log",
    benchmark:
        "benchmarks/stack_flat/{name}.tsv"
    conda:
        "../envs/gmos.yaml"
    threads: 2
    resources:
        mem_mb=lambda wildcards, input: stack_mem_mb(input.raw),
        runtime=lambda wildcards, input: stack_runtime_min(input.raw),
    params:
        checksums=lambda wildcards, input: raw_checksums(input.raw),
        overscan=step_params("overscanCorrect"),
        stack=step_params("stackFlats"),
        memory_bytes=STACK_MEMORY_BYTES,
        bpm=config["bpm"],
        calibration_dirs=config["calibration_dirs"],
        preview_title=lambda wildcards: f"{wildcards.name}_flat: master flat (normalised)",
        max_width=PREVIEW_MAX_WIDTH,
    script:
        "../scripts/stack_flat.py"
