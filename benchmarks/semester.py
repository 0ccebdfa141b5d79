"""The ``semester`` benchmark case: thousands of small raw frames over dozens of nights.

    python -m benchmarks --cases semester [--semester-files 2000] [--semester-reduce-files N]

Raw frames: GN Hamamatsu, Central Spectrum ROI (12 amplifiers, 1024 unbinned rows: small
files), 5 targets, 4 filters (g, r, i, z), 2 binnings (4x4, 2x2) and 2 read modes (Normal:
slow/low, Bright: fast/high).  Each target has its binning and read mode; each night three
targets are observed in two filters each, 4 dithered frames per filter; biases (5 per
binning and read mode) are taken on two nights of three, twilights (3 per binning, read
mode and filter of the programme) on one night of four, so association spans nights.
A few template frames per binning and filter are simulated (gmoslib.sim); every raw
file is a template whose header cards (date, time, data label, object, read mode) are
rewritten in place, which makes thousands of files in seconds.

Reported (each step a child process; wall time, peak RSS from wait4):

* ``semester_manifest_first``: ``snakemake manifest`` over all files (every file hashed and
  read); ``semester_manifest_topup``: the same after one more night of 20 files, and the
  manifest job's own time (its Snakemake benchmark file) against ``semester_read_new``, a
  fresh interpreter making the manifest of the 20 new files alone (the time to read them);
* ``semester_dag_<n>``: ``snakemake -n`` (DAG building and planning, the manifest made) for
  nested subsets of about 500, 1,000 and all the files (whole nights), with the number of
  jobs and the peak RSS of the Snakemake process;
* ``semester_reduce``: the whole reduction with ``--cores 2`` of the first
  ``--semester-reduce-files`` files (whole nights; 0 = skipped).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import sys
from pathlib import Path

TARGETS = (  # object, binning, read mode, filters
    ("NGC1000", 4, "Normal", ("g", "r")),
    ("NGC2000", 4, "Normal", ("r", "i")),
    ("NGC3000", 4, "Bright", ("i", "z")),
    ("NGC4000", 2, "Normal", ("g", "z")),
    ("NGC5000", 2, "Bright", ("r", "z")),
)
FILTERS = {"g": "g_G0301", "r": "r_G0303", "i": "i_G0302", "z": "z_G0304"}
DITHERS = ((0.0, 0.0), (10.0, 5.0), (-10.0, 5.0))  # of the science templates
FRAMES_PER_FILTER = 4
FIRST_NIGHT = dt.date(2018, 2, 1)

#: Template simulation, run in a child (this process stays small; see __main__).
_TEMPLATES = """
import json, os, datetime as dt
from gmoslib.sim.cameras import NAMED_ROIS
from gmoslib.sim.core import FrameSpec, make_detector_model, write_raw
from gmoslib.sim.presets import star_field
outdir = {outdir!r}
os.makedirs(outdir, exist_ok=True)
roi = NAMED_ROIS["Hamamatsu"]["Central Spectrum"]
when = dt.datetime(2018, 1, 1, 6)
out = {{}}
for b in (4, 2):
    model = make_detector_model("GN-Ham", b, b, roi, seed=9)
    stars = star_field("GN-Ham", b, b, 285.00429583, 24.98093611, 300, 9)
    specs = [("bias", None, FrameSpec("bias", f"B{{b}}S0001", when, 0.0))]
    for f, name in {filters!r}.items():
        specs.append(("flat", f, FrameSpec("flat", f"T{{b}}{{f}}S0001", when, 20.0, filter2=name,
                                           object="Twilight", sky_e=25000.0)))
        for k, (p, q) in enumerate({dithers!r}):
            specs.append(("science", f, FrameSpec(
                "science", f"S{{b}}{{f}}S{{k + 1:04d}}", when, 30.0, filter2=name,
                object="starfield",
                sky_e=800.0, poffset=p, qoffset=q, cosmic_rays=5,
                program="GN-2018A-Q-1", obsid="GN-2018A-Q-1-1", datalab="GN-2018A-Q-1-1-001")))
    for kind, f, spec in specs:
        path = os.path.join(outdir, spec.name + ".fits")
        if not os.path.exists(path):
            write_raw(path, model, spec, stars if kind == "science" else None, seed=9)
        out.setdefault(str(b), {{}}).setdefault(kind, {{}}).setdefault(f or "", []).append(path)
print(json.dumps(out))
"""


# ----------------------------------------------------------------------------- raw files
def _header_cards(data: bytes) -> list[dict[str, list[int]]]:
    """Byte offsets of the header cards of every HDU: [{keyword: [offsets]}]."""
    hdus, pos = [], 0
    while pos < len(data):
        cards: dict[str, list[int]] = {}
        values: dict[str, str] = {}
        end = None
        p = pos
        while end is None:
            for k in range(36):
                card = data[p + 80 * k: p + 80 * (k + 1)].decode("ascii")
                key = card[:8].strip()
                if key == "END":
                    end = p + 2880
                    break
                cards.setdefault(key, []).append(p + 80 * k)
                if card[8:10] == "= ":
                    values[key] = card[10:].split("/")[0].strip()
            p += 2880
        size = abs(int(values["BITPIX"])) // 8 if int(values.get("NAXIS", 0)) else 0
        for i in range(1, int(values.get("NAXIS", 0)) + 1):
            size *= int(values[f"NAXIS{i}"])
        hdus.append(cards)
        pos = end + (size + 2879) // 2880 * 2880
    return hdus


def _card(key: str, value) -> bytes:
    """One 80-character FITS card (fixed format; no astropy in this process: its children's
    peak RSS would start from ours)."""
    if isinstance(value, str):
        text = ("'" + value.replace("'", "''").ljust(8) + "'").ljust(20)
    elif isinstance(value, float):
        text = repr(value).upper().rjust(20)
    else:
        text = str(int(value)).rjust(20)
    card = f"{key:<8}= {text}"
    if len(card) > 80:
        raise ValueError(f"card {key}={value!r} longer than 80 characters")
    return card.ljust(80).encode("ascii")


class Template:
    """A raw file and the positions of its cards: copies with new cards are byte edits."""

    def __init__(self, path: str):
        self.data = Path(path).read_bytes()
        self.hdus = _header_cards(self.data)

    def write(self, path: str, phu: dict, ext: dict) -> None:
        buf = bytearray(self.data)
        for i, cards in enumerate(self.hdus):
            for key, value in (phu if i == 0 else ext).items():
                for off in cards.get(key, []):
                    buf[off: off + 80] = _card(key, value)
        tmp = path + ".tmp"
        with open(tmp, "wb") as fh:
            fh.write(buf)
        os.replace(tmp, path)


def _ut(when: dt.datetime) -> str:
    return when.strftime("%H:%M:%S.") + f"{when.microsecond // 100000}"


def _cards(when: dt.datetime, datalab: str, mode: str, obj: str | None):
    phu = {"DATE-OBS": when.strftime("%Y-%m-%d"), "UT": _ut(when), "TIME-OBS": _ut(when),
           "UTSTART": when.strftime("%H:%M:%S.%f")[:13], "DATALAB": datalab,
           "AMPINTEG": 11880 if mode == "Normal" else 5000}
    if obj:
        phu["OBJECT"] = obj
    mjd = (when - dt.datetime(1858, 11, 17)).total_seconds() / 86400.0
    ext = {"MJD-OBS": mjd}
    if mode == "Bright":
        ext["GAIN"] = 5.0  # a high-gain read (gmoslib reads the gain setting from GAIN)
    return phu, ext


def night_plan(i: int) -> list[tuple]:
    """Frames of night i: (kind, binning, mode, filter, object, minutes after its start)."""
    frames = []
    observed = [TARGETS[(i + k) % len(TARGETS)] for k in range(3)]
    if i % 3 != 2:  # biases of every binning and read mode of the programme
        setups = sorted({(b, m) for _, b, m, _ in TARGETS})
        frames += [("bias", b, m, "", None) for b, m in setups for _ in range(5)]
    if i % 4 == 0:  # twilights of every binning, read mode and filter of the programme
        pairs = sorted({(b, m, f) for _, b, m, fs in TARGETS for f in fs})
        frames += [("flat", b, m, f, None) for b, m, f in pairs for _ in range(3)]
    for obj, b, m, fs in observed:
        for f in fs:
            frames += [("science", b, m, f, obj)] * FRAMES_PER_FILTER
    return frames


def write_night(templates: dict, raw: Path, i: int, limit: int | None = None) -> list[str]:
    """Write night i's raw files (the first ``limit`` of them); return their paths."""
    day = dt.datetime.combine(FIRST_NIGHT + dt.timedelta(days=i), dt.time())
    starts = {"bias": day + dt.timedelta(hours=19), "flat": day + dt.timedelta(hours=5),
              "science": day + dt.timedelta(hours=6, minutes=30)}
    step = {"bias": 1, "flat": 1, "science": 2}
    counts: dict[str, int] = {}
    seen: dict[tuple, int] = {}
    paths = []
    frames = night_plan(i)[:limit]
    for n, (kind, b, mode, f, obj) in enumerate(frames):
        k = counts.get(kind, 0)
        counts[kind] = k + 1
        when = starts[kind] + dt.timedelta(minutes=step[kind] * k)
        setup = (kind, b, mode, f, obj)
        j = seen.get(setup, 0)
        seen[setup] = j + 1
        source = templates[str(b)][kind][f][j % len(templates[str(b)][kind][f])]
        name = f"N{day:%Y%m%d}S{n + 1:04d}"
        phu, ext = _cards(when, f"GN-2018A-Q-1-{i + 1}{n:03d}-{j + 1:03d}", mode, obj)
        path = str(raw / f"{name}.fits")
        source.write(path, phu, ext)
        paths.append(path)
    return paths


def make_semester(work: Path, n_files: int, child) -> tuple[Path, list[list[str]]]:
    """Raw directory of whole nights holding at least n_files files; the files by night."""
    tdir = work / "semester-templates"
    paths = json.loads(child(_TEMPLATES.format(outdir=str(tdir), filters=FILTERS,
                                               dithers=DITHERS))["stdout"].splitlines()[-1])
    cache: dict[str, Template] = {}
    templates = {b: {kind: {f: [cache.setdefault(p, Template(p)) for p in ps]
                            for f, ps in by_f.items()} for kind, by_f in by_kind.items()}
                 for b, by_kind in paths.items()}
    raw = work / f"semester-raw-{n_files}"
    if raw.exists():
        shutil.rmtree(raw)
    raw.mkdir(parents=True)
    nights, total, i = [], 0, 0
    while total < n_files:
        nights.append(write_night(templates, raw, i))
        total += len(nights[-1])
        i += 1
    return raw, nights, templates


# ----------------------------------------------------------------------------- cases
def _snakemake(work: Path, raw: Path, *args: str) -> list[str]:
    snakemake = Path(sys.executable).with_name("snakemake")
    cmd = [str(snakemake)] if snakemake.exists() else [sys.executable, "-m", "snakemake"]
    from . import __main__ as main

    return cmd + ["-s", str(main.REPO / "Snakefile"), "-d", str(work), "--cores", "2",
                  *args, "--config", f"raw_dir={raw}"]


def _jobs(text: str) -> int | None:
    m = re.search(r"^total\s+(\d+)", text, re.M)
    return int(m.group(1)) if m else None


def _subset(raw: Path, nights: list[list[str]], n: int, dest: Path) -> Path:
    """Hard links to the first whole nights holding at least n files."""
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    total = 0
    for night in nights:
        for p in night:
            os.link(p, dest / os.path.basename(p))
        total += len(night)
        if total >= n:
            break
    return dest


def run(work: Path, run_cmd, child, *, n_files: int = 2000, reduce_files: int = 0,
        sizes=(500, 1000)) -> dict:
    """Every measurement of the case: {name: result} (see the module docstring)."""
    from . import __main__ as main

    results: dict[str, dict] = {}

    def note(name, r):
        results[name] = r
        extra = f", {r['jobs']} jobs" if r.get("jobs") is not None else ""
        print(f"  {name}: {r['wall_s']:.2f} s, {r['peak_rss_mb']:.0f} MB{extra}",
              file=sys.stderr, flush=True)

    t0 = main.time.perf_counter()
    raw, nights, templates = make_semester(work, n_files, child)
    n_all = sum(len(n) for n in nights)
    print(f"  semester: {n_all} raw files over {len(nights)} nights written in "
          f"{main.time.perf_counter() - t0:.1f} s", file=sys.stderr, flush=True)
    # manifest: first run, then one more night of 20 files
    wdir = work / "semester-work"
    shutil.rmtree(wdir, ignore_errors=True)
    wdir.mkdir()
    note("semester_manifest_first", run_cmd(_snakemake(wdir, raw, "manifest", "--quiet")))
    new = write_night(templates, raw, len(nights), limit=20)
    r = run_cmd(_snakemake(wdir, raw, "manifest", "--quiet"))
    with open(wdir / "benchmarks" / "manifest" / "manifest.tsv") as fh:
        fh.readline()
        r["job_s"] = float(fh.readline().split("\t")[0])
    note("semester_manifest_topup", r)
    note("semester_read_new", child(
        main._T0 + "from gmoslib.workflow.manifest import build_manifest\n" + main._START
        + f"build_manifest({new!r}, threads=2)\n" + main._STOP))
    for p in new:  # the DAG cases use the semester without the extra night
        os.remove(p)
    # DAG building at growing sizes (nested: whole nights from the first)
    for n in [*(k for k in sizes if k < n_all), n_all]:
        sub = raw if n == n_all else _subset(raw, nights, n, work / f"semester-raw-sub{n}")
        count = len(os.listdir(sub))
        wd = work / f"semester-dag-{count}"
        shutil.rmtree(wd, ignore_errors=True)
        wd.mkdir()
        run_cmd(_snakemake(wd, sub, "manifest", "--quiet"))
        r = run_cmd(_snakemake(wd, sub, "-n"))
        r["jobs"] = _jobs(r["stdout"])
        r["files"] = count
        r.pop("stdout", None)
        note(f"semester_dag_{count}", r)
    if reduce_files:
        sub = _subset(raw, nights, reduce_files, work / f"semester-raw-red{reduce_files}")
        wd = work / "semester-reduce"
        shutil.rmtree(wd, ignore_errors=True)
        wd.mkdir()
        r = run_cmd(_snakemake(wd, sub, "--quiet"))
        r["files"] = len(os.listdir(sub))
        r.pop("stdout", None)
        note("semester_reduce", r)
    for r in results.values():
        r.pop("stdout", None)
    return results


def report(results: dict) -> str:
    """Lines for the benchmark report: the semester figures and the targets' ratios."""
    lines = ["", "semester (GN Hamamatsu, Central Spectrum ROI, 4x4 and 2x2):"]
    first = results.get("semester_manifest_first")
    topup = results.get("semester_manifest_topup")
    new = results.get("semester_read_new")
    if first:
        lines.append(f"  manifest, first run (snakemake manifest): {first['wall_s']:.1f} s")
    if topup and new:
        lines.append(f"  manifest after one more night of 20 files: {topup['wall_s']:.1f} s "
                     f"(snakemake), manifest job {topup['job_s']:.2f} s; reading the 20 new "
                     f"files alone {new['wall_s']:.2f} s: ratio "
                     f"{topup['job_s'] / new['wall_s']:.2f}")
    dags = sorted((r["files"], r) for k, r in results.items() if k.startswith("semester_dag_"))
    for files, r in dags:
        lines.append(f"  snakemake -n, {files} files: {r['wall_s']:.1f} s, {r['jobs']} jobs, "
                     f"peak RSS {r['peak_rss_mb']:.0f} MB, {1000 * r['wall_s'] / files:.2f} "
                     "ms per file")
    red = results.get("semester_reduce")
    if red:
        lines.append(f"  whole reduction (--cores 2), {red['files']} files: "
                     f"{red['wall_s']:.0f} s, peak RSS {red['peak_rss_mb']:.0f} MB")
    return "\n".join(lines)
