checkpoint manifest:
    input:
        RAW_FILES,
    output:
        tsv=MANIFEST,
    log:
        "logs/manifest/manifest.log",
    benchmark:
        "benchmarks/manifest/manifest.tsv"
    conda:
        "../envs/gmos.yaml"
    threads: 2
    resources:
        mem_mb=500,
        runtime=10,
    params:
        raw_dir=RAW_DIR,
        listing=lambda wildcards: RAW_LISTING,  # (a function: names may hold braces)
        # the previous manifest, kept for the next run to reuse the rows of unchanged files
        reuse=MANIFEST_REUSE,
    script:
        "../scripts/manifest.py"
