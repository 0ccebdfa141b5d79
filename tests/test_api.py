"""Python API: the tutorial's notebook steps (select, bias, flat, science, alignAndStack) give
the same products as the command line, and stacking partial stacks gives the full stack."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from astropy.table import Table
from astropy.wcs import WCS

from gmoslib.io.errors import RecipeError
from gmoslib.science.align_and_stack import check_stack_input
from gmoslib.workflow.api import ReductionError, reduce, select_data
from gmoslib.workflow.manifest import read_manifest

pytestmark = pytest.mark.slow

STACK = "results/N20170614S0201_stack.fits"


@pytest.fixture(scope="module")
def api_night(small_night, tmp_path_factory):
    """The small night reduced through the API the way the tutorial's notebook does it: one
    call per product, each finding the calibrations of the previous ones."""
    raw, _ = small_night
    files = sorted(str(p) for p in raw.glob("*.fits"))
    work = tmp_path_factory.mktemp("api")
    biases = select_data(files, tags=["BIAS"])
    flats = select_data(files, tags=["FLAT"], expression='filter_name=="i"')
    science = select_data(files, xtags=["CAL"], expression='object=="starfield"')
    out = {
        "bias": reduce(biases, "bias", workdir=work, cores=2),
        "flat": reduce(flats, "flat", workdir=work, cores=2),
        "science": reduce(science, "science", workdir=work, cores=2),
    }
    return work, science, out


def _sci_bytes(path) -> list[bytes]:
    with fits.open(path) as h:
        return [x.data.tobytes() for x in h if x.name == "SCI"]


def test_select_data_gives_the_tutorial_lists(small_night):
    raw, work = small_night
    files = read_manifest(str(work / "manifest" / "manifest.tsv"))  # or paths, or a folder
    names = [Path(p).stem for p in select_data(files, tags=["BIAS"])]
    assert names == [f"N20170613S{n:04d}" for n in range(180, 185)]
    assert len(select_data(files, tags=["FLAT"], expression='filter_name=="i"')) == 3
    assert len(select_data(files, tags=["FLAT"], expression='filter_name=="g"')) == 0
    sci = select_data(files, xtags=["CAL"], expression='object=="starfield"')
    assert [Path(p).stem for p in sci] == [f"N20170614S{n:04d}" for n in range(201, 204)]
    assert select_data(str(raw), tags=["BIAS"]) == select_data(files, tags=["BIAS"])
    with pytest.raises(TypeError, match="lists of tags"):
        select_data(files, tags="BIAS")


def test_api_products_are_the_command_line_products(small_night, api_night):
    _, cli = small_night
    work, _, out = api_night
    assert out == {
        "bias": [str(work / "calibrations/processed_bias/N20170613S0180_bias.fits")],
        "flat": [str(work / "calibrations/processed_flat/N20170702S0178_flat.fits")],
        "science": [str(work / STACK)],
    }
    for product, (path,) in out.items():
        relative = Path(path).relative_to(work)
        sci = _sci_bytes(path)
        assert sci and sci == _sci_bytes(cli / relative), product
    # the raw files were only linked
    inputs = work / "inputs"
    assert all(p.is_symlink() for p in inputs.iterdir())


def test_second_call_does_nothing_and_prints_each_message_once(api_night, capfd):
    """A notebook that configured the root logger sees every message once, call after call."""
    work, science, out = api_night
    root = logging.getLogger()
    handler = logging.StreamHandler(sys.stderr)
    root.addHandler(handler)
    try:
        reduce(science, "science", workdir=work, cores=2, verbose=True)
        capfd.readouterr()
        again = reduce(science, "science", workdir=work, cores=2, verbose=True)
        err = capfd.readouterr().err
    finally:
        root.removeHandler(handler)
    assert again == out["science"]
    assert err.count("Nothing to be done") == 1, err
    assert err.count("Building DAG of jobs") == 1, err
    assert err.count("gmoslib.workflow.api: science of 3 file(s)") == 1, err


def test_quiet_call_shows_progress_and_returns_the_qa_tables(api_night, capfd):
    """Without verbose, a call prints its progress and nothing of Snakemake's job output,
    and returns the products with their QA tables."""
    work, science, out = api_night
    capfd.readouterr()
    again = reduce(science, "science", workdir=work, cores=2)
    err = capfd.readouterr().err
    assert again == out["science"]
    assert "Building DAG of jobs" not in err and "Nothing to be done" not in err, err
    assert len(err.strip().splitlines()) <= 4, err
    assert list(again.qa["stack"]) == ["N20170614S0201_stack"]
    assert list(again.qa_frames["frame"]) == [f"N20170614S{n:04d}" for n in range(201, 204)]
    assert again.qa_paths == [str(work / "results" / f"N20170614S0201_stack_qa_{t}.tsv")
                              for t in ("frames", "stack")]


def test_params_take_the_schema_types_once():
    """5 typed in Python and "5" from the command line are one value (HISTORY writes 5.0)."""
    from gmoslib.config.schema import check_params, load_schema

    schema = load_schema()
    for value in (5, 5.0, "5"):
        checked = check_params({"stackFrames": {"hsigma": value}}, schema)
        assert repr(checked["stackFrames"]["hsigma"]) == "5.0", value
    # integers stay integers, booleans booleans
    checked = check_params({"stackBiases": {"max_iters": 3, "mclip": True}}, schema)
    assert repr(checked["stackBiases"]) == "{'max_iters': 3, 'mclip': True}"


def test_reduce_errors(small_night, tmp_path):
    raw, _ = small_night
    with pytest.raises(ReductionError, match="unknown product 'stack'.*alignAndStack"):
        reduce([raw / "N20170614S0201.fits"], "stack", workdir=tmp_path)
    with pytest.raises(ReductionError, match="nosuch.fits: no such file"):
        reduce([raw / "nosuch.fits"], "bias", workdir=tmp_path)
    with pytest.raises(ReductionError, match="unknown step 'stackBias' in config params; "
                                             "valid steps: overscanCorrect, stackBiases"):
        reduce([raw / "N20170613S0180.fits"], "bias", workdir=tmp_path,
               params={"stackBias": {"lsigma": 5}})
    with pytest.raises(RecipeError, match="needs one SCI extension"):
        check_stack_input(str(raw / "N20170614S0201.fits"))


def _photometry(path, x, y, r):
    import sep

    with fits.open(path) as h:
        sci = h["SCI"].data.astype(np.float64)
        var = h["VAR"].data.astype(np.float64)
        dq = h["DQ"].data
    flux, err, flag = sep.sum_circle(sci, x, y, r, var=var, mask=dq != 0,
                                     bkgann=(2 * r, 3 * r))
    return flux, err, flag


def test_align_and_stack_of_partial_stacks_is_the_full_stack(small_night, api_night):
    """The tutorial's answer to running out of memory: stack frames 1-2 and 2-3 separately
    (in the same working directory, so the calibrated mosaics are reused), then alignAndStack
    the two stacks.  The result weights the frames 1/4, 1/2, 1/4 instead of 1/3 each, so per
    pixel it differs from the full stack by noise of variance VAR_full / 8 at most (less where
    resampling smooths), with no offset, and the stars have the same fluxes and positions."""
    raw, _ = small_night
    work, science, out = api_night
    part1 = reduce(science[:2], "science", workdir=work, suffix="_part1", cores=2)
    part2 = reduce(science[1:], "science", workdir=work, suffix="_part2", cores=2)
    assert part1 == [str(work / "results/N20170614S0201_part1.fits")]
    assert part2 == [str(work / "results/N20170614S0202_part2.fits")]
    aligned = reduce(part1 + part2, "alignAndStack", workdir=work, name="N20170614S0201",
                     cores=2)
    assert aligned == [str(work / "results/aligned/N20170614S0201_stack.fits")]
    preview = work / "qa/stack/aligned/N20170614S0201_stack.png"  # for the report
    assert 0 < preview.stat().st_size <= 300_000
    full = out["science"][0]

    with fits.open(aligned[0]) as a, fits.open(full) as f:
        assert a[0].header["NCOMBINE"] == 2
        assert a[0].header["IMCMB002"] == "N20170614S0202_part2.fits"
        assert a[0].header["ALGN002"].startswith("sources")
        assert a["SCI"].header["BUNIT"] == "electron"
        wa, wf = WCS(a["SCI"].header), WCS(f["SCI"].header)
        # both on frame 1's pixel grid: a whole-pixel offset between the two arrays
        fx, fy = wf.world_to_pixel(wa.pixel_to_world(100.0, 100.0))
        dx, dy = int(round(float(fx))) - 100, int(round(float(fy))) - 100
        assert abs(float(fx) - 100 - dx) < 0.01 and abs(float(fy) - 100 - dy) < 0.01
        sa, va, da = a["SCI"].data, a["VAR"].data, a["DQ"].data
        sf, vf, df = f["SCI"].data, f["VAR"].data, f["DQ"].data
    ny, nx = sa.shape
    ys = slice(max(0, -dy), min(ny, sf.shape[0] - dy))
    xs = slice(max(0, -dx), min(nx, sf.shape[1] - dx))
    fys = slice(ys.start + dy, ys.stop + dy)
    fxs = slice(xs.start + dx, xs.stop + dx)
    good = (da[ys, xs] == 0) & (df[fys, fxs] == 0) & (vf[fys, fxs] > 0)
    diff = (sa[ys, xs] - sf[fys, fxs])[good]
    z = diff / np.sqrt(vf[fys, fxs][good] / 8)
    robust_std = 1.4826 * np.median(np.abs(z - np.median(z)))
    assert robust_std < 1.1, robust_std
    assert abs(np.median(diff)) < 0.02 * np.sqrt(np.median(vf[fys, fxs][good])), np.median(diff)
    # (of the pixels inside the illuminated field of the full stack)
    assert good.sum() > 0.8 * (df[fys, fxs] == 0).sum()
    # VAR propagated through both stackings: (v/2 + v/2) / 4 against v / 3 per pixel
    var_ratio = np.median(va[ys, xs][good] / vf[fys, fxs][good])
    assert abs(var_ratio - 0.75) < 0.02, var_ratio

    # stars: same fluxes and centroids in both
    stars = Table.read(raw / "truth" / "stars.ecsv")
    x, y = wf.world_to_pixel_values(stars["ra"], stars["dec"])
    r = 3.0 * 0.8 / (0.0807 * 4)
    inside = (x > 3 * r) & (x < sf.shape[1] - 3 * r) & (y > 3 * r) & (y < sf.shape[0] - 3 * r)
    # and inside the illuminated field: aperture and background annulus DQ-good
    k = int(np.ceil(3 * r))
    inside[inside] = [not df[int(round(b)) - k:int(round(b)) + k + 1,
                             int(round(a)) - k:int(round(a)) + k + 1].any()
                      for a, b in zip(x[inside], y[inside], strict=True)]
    x, y = x[inside], y[inside]
    ff, ef, gf = _photometry(full, x, y, r)
    fa, ea, ga = _photometry(aligned[0], x - dx, y - dy, r)
    ok = (gf == 0) & (ga == 0) & (ff / ef > 100)
    assert ok.sum() >= 10
    ratio = fa[ok] / ff[ok]
    assert abs(np.median(ratio) - 1) < 0.002, np.median(ratio)
    assert np.percentile(np.abs(ratio - 1), 90) < 0.01, np.sort(np.abs(ratio - 1))[-5:]


def test_console_drives_a_progress_bar_and_prints_errors(monkeypatch, capfd):
    """Snakemake's progress events move a tqdm bar (a stand-in here), warnings and errors are
    printed in full, everything else is left to the log file."""
    import types

    from snakemake.logging import LogEvent

    from gmoslib.workflow.api import _Console

    bars = []

    class Bar:
        def __init__(self, total, desc, unit, file):
            self.total, self.desc, self.n, self.lines = total, desc, 0, []
            bars.append(self)

        def update(self, k):
            self.n += k

        def write(self, text, file=None):
            self.lines.append(text)

        def close(self):
            self.closed = True

    monkeypatch.setitem(sys.modules, "tqdm.auto", types.SimpleNamespace(tqdm=Bar))

    def record(msg, level=logging.INFO, **extra):
        r = logging.LogRecord("snakemake.logging", level, "x", 1, msg, (), None)
        r.__dict__.update(extra)
        return r

    console = _Console("science")
    console.emit(record("Building DAG of jobs..."))
    console.emit(record(None, event=LogEvent.PROGRESS, done=1, total=2))
    console.emit(record(None, event=LogEvent.PROGRESS, done=2, total=6))
    console.emit(record("a job failed: N20170614S0201.fits unreadable", logging.ERROR))
    console.emit(record(None, event=LogEvent.PROGRESS, done=6, total=6))
    console.close()
    (bar,) = bars
    assert (bar.desc, bar.n, bar.total, bar.closed) == ("science", 6, 6, True)
    assert bar.lines == ["a job failed: N20170614S0201.fits unreadable"]
    assert capfd.readouterr().err == ""
