rule reduce_science_frame:
    input:
        raw=science_raw,
        bias=science_bias,
        flat=science_flat,
        fringe=science_fringe,
    output:
        mosaic="work/mosaic/{frame}_mosaic.fits",
        catalogue="work/mosaic/{frame}_cat.ecsv",
    log:
        "logs/reduce_science_frame/{frame}.log",
    benchmark:
        "benchmarks/reduce_science_frame/{frame}.tsv"
    params:
        overscan=step_params("overscanCorrect"),
        fringe=step_params("fringeCorrect"),
        qe=step_params("QECorrect"),
        mosaic=step_params("mosaicDetectors"),
        detect=step_params("detectSources"),
        bpm=config["bpm"],
    threads: 1
    resources:
        mem_mb=lambda wildcards, input: frame_mem_mb(input.raw),
        runtime=lambda wildcards, input: frame_runtime_min(input.raw),
    group:
        "science_frames"
    conda:
        "../envs/gmos.yaml"
    script:
        "../scripts/reduce_science_frame.py"


rule stack_science:
    input:
        mosaics=lambda wildcards: [
            f"work/mosaic/{f}_mosaic.fits" for f in science_groups()[wildcards.name]
        ],
        catalogues=lambda wildcards: [
            f"work/mosaic/{f}_cat.ecsv" for f in science_groups()[wildcards.name]
        ],
    output:
        stack=STACK_PATH,
        qa="results/{name}_qa.tsv",
    log:
        "logs/stack_science/{name}.log",
    benchmark:
        "benchmarks/stack_science/{name}.tsv"
    params:
        align=step_params("adjustWCSToReference"),
        resample=step_params("resampleToCommonFrame"),
        cosmic=step_params("flagCosmicRaysByStacking"),
        stack=step_params("stackFrames"),
        memory_bytes=STACK_MEMORY_BYTES,
    threads: 2
    resources:
        mem_mb=lambda wildcards, input: stack_mem_mb(input.mosaics),
        runtime=lambda wildcards, input: stack_runtime_min(input.mosaics),
    conda:
        "../envs/gmos.yaml"
    script:
        "../scripts/stack_science.py"
