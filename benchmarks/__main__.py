"""Benchmarks: wall time, CPU time and peak memory of the main steps, with ratios against
baselines measured in the same run (the machines are shared and noisy).

    python -m benchmarks [--quick] [--workdir DIR] [--cases bias,e2e,...]

Each case runs in a child process so that its peak RSS is its own (resource.getrusage of
the child).  Data are generated with the simulator.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _child(code: str) -> dict:
    """Run python code in a fresh interpreter; return wall, cpu and peak RSS (MB)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=str(REPO))
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise RuntimeError(f"benchmark child failed:\n{proc.stderr[-3000:]}")
    return {"wall_s": wall,
            "cpu_s": (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime),
            "peak_rss_mb": after.ru_maxrss / 1024.0, "stdout": proc.stdout.strip()}


def _simulate(preset: str, outdir: Path) -> list[str]:
    from gmoslib.sim import simulate_preset

    if not (outdir / ".complete").exists():
        simulate_preset(preset, str(outdir))
        (outdir / ".complete").touch()
    return sorted(str(p) for p in outdir.glob("*.fits"))


def _kind(paths, kind):
    from gmoslib.manifest import build_manifest

    table = build_manifest(paths)
    return [p for p, k in zip(table["path"], table["kind"], strict=True) if k == kind]


def case_io_floor(paths) -> dict:
    code = ("from astropy.io import fits\nimport numpy as np\n"
            f"for p in {paths!r}:\n"
            "    with fits.open(p, memmap=False) as h:\n"
            "        [np.asarray(x.data, dtype=np.float32) for x in h[1:]]\n")
    return _child(code)


def case_master_bias(paths, scratch) -> dict:
    code = ("from gmoslib.recipes import make_master_bias\n"
            "from gmoslib.fitsio import write_frame\n"
            f"m = make_master_bias({paths!r}, overscan={{}}, stack={{'reject_method': "
            f"'varclip'}}, memory_bytes=256*2**20, scratch_dir={str(scratch)!r})\n"
            f"write_frame({str(scratch / 'bias.fits')!r}, m)\n")
    return _child(code)


def case_ccdproc_bias(paths) -> dict:
    code = ("import ccdproc, numpy as np\nfrom astropy.io import fits\n"
            "from astropy.nddata import CCDData\n"
            f"paths = {paths!r}\n"
            "n = len(fits.open(paths[0])) - 1\n"
            "for e in range(1, n + 1):\n"
            "    frames = [CCDData(fits.getdata(p, e).astype(np.float32), unit='adu')"
            " for p in paths]\n"
            "    ccdproc.combine(frames, method='average', sigma_clip=True,"
            " sigma_clip_low_thresh=3, sigma_clip_high_thresh=3)\n")
    return _child(code)


def case_workflow(raw: Path, work: Path, cores: int = 2) -> dict:
    code = ("import subprocess, sys\n"
            f"r = subprocess.run([sys.executable, '-m', 'snakemake', '-s', "
            f"{str(REPO / 'Snakefile')!r}, '-d', {str(work)!r}, '--cores', '{cores}', "
            f"'--config', 'raw_dir={raw}', '--quiet'], capture_output=True, text=True)\n"
            "sys.exit(r.returncode and print(r.stderr[-3000:], file=sys.stderr) or "
            "r.returncode)\n")
    return _child(code)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks")
    parser.add_argument("--workdir", default=None, help="where data and products go")
    parser.add_argument("--quick", action="store_true", help="tiny 4x4 data (CI check)")
    parser.add_argument("--cases", default="bias,e2e", help="comma-separated: bias,e2e")
    args = parser.parse_args(argv)
    work = Path(args.workdir or tempfile.mkdtemp(prefix="gmos-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    preset = "small" if args.quick else "tutorial"
    raw = work / f"raw-{preset}"
    paths = _simulate(preset, raw)
    cases = args.cases.split(",")
    results = {}
    if "bias" in cases:
        biases = _kind(paths, "bias")
        results["io_floor_bias"] = case_io_floor(biases)
        results["master_bias"] = case_master_bias(biases, work)
        try:
            import ccdproc  # noqa: F401

            results["ccdproc_bias"] = case_ccdproc_bias(biases)
        except ImportError:
            results["ccdproc_bias"] = None
    if "e2e" in cases:
        out = work / f"run-{preset}"
        if out.exists():
            import shutil

            shutil.rmtree(out)
        out.mkdir()
        results["end_to_end"] = case_workflow(raw, out)
    print(f"{'case':<16}{'wall s':>9}{'cpu s':>9}{'peak MB':>10}")
    for name, r in results.items():
        if r is None:
            print(f"{name:<16}{'(not installed)':>28}")
            continue
        print(f"{name:<16}{r['wall_s']:>9.2f}{r['cpu_s']:>9.2f}{r['peak_rss_mb']:>10.0f}")
    if results.get("master_bias") and results.get("io_floor_bias"):
        ratio = results["master_bias"]["wall_s"] / results["io_floor_bias"]["wall_s"]
        print(f"master bias / I/O floor (wall): {ratio:.2f}")
        if results.get("ccdproc_bias"):
            speed = results["ccdproc_bias"]["wall_s"] / results["master_bias"]["wall_s"]
            print(f"ccdproc combine / master bias (wall): {speed:.2f}")
    with open(work / "benchmark.json", "w") as fh:
        json.dump({k: v for k, v in results.items()}, fh, indent=1, default=str)
    print(f"results: {work / 'benchmark.json'}")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    sys.exit(main())
