"""End-to-end: raw frames -> aligned stack in electrons, compared with the simulator's truth."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from astropy.nddata import CCDData
from astropy.table import Table
from astropy.wcs import WCS

from gmoslib.calibration.ccds import ccd2_stat_region
from gmoslib.io.provenance import read_provenance
from tests.workflow_helpers import run_snakemake

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def reduced(small_night):
    """(raw_dir, working directory) of the command-line run shared with test_api.py."""
    return small_night


def test_stack_product(reduced):
    raw, work = reduced
    path = work / "results" / "N20170614S0201_stack.fits"
    assert path.exists()
    with fits.open(path) as h:
        names = [x.name for x in h]
        assert names == ["PRIMARY", "SCI", "VAR", "DQ"]
        assert h["SCI"].header["BUNIT"] == "electron"
        assert h[0].header["NCOMBINE"] == 3
        assert h[0].header["IMCMB001"].startswith("N20170614S0201")
        assert "BIASIM" in h[0].header and "FLATIM" in h[0].header
        assert h[0].header["ALGN001"].startswith("reference")
        assert h[0].header["ALGN002"].startswith("sources")
        assert any(" stackScience " in line for line in read_provenance(h[0].header))
    mosaic = fits.getheader(work / "work" / "mosaic" / "N20170614S0201_mosaic.fits", 0)
    lines = read_provenance(mosaic)
    assert any(" reduceScienceFrame " in line for line in lines)
    assert any("N20170614S0201.fits sha256:" in line for line in lines)
    assert "GMSVER" in mosaic
    # seeing estimated from point sources (simulated 0.8", 0.32" pixels broaden it slightly)
    assert 0.8 <= mosaic["MEANFWHM"] < 0.8 * 1.15
    with fits.open(path) as h:
        assert WCS(h["SCI"].header).has_celestial
    ccd = CCDData.read(path, hdu="SCI", hdu_uncertainty="VAR", hdu_mask="DQ",
                       unit="electron")
    assert ccd.data.ndim == 2
    qa = work / "results" / "N20170614S0201_stack_qa.tsv"
    assert qa.exists()


def _flat_level(raw: Path) -> float:
    """The master flat's normalisation relative to the truth response x illumination: the
    median of the truth over the central CCD's statistics region (reference 5.9)."""
    det = np.load(raw / "truth" / "detector.npz")
    ccd2 = np.hstack([det[f"response_{i}"] * det[f"illumination_{i}"] for i in range(4, 8)])
    return float(np.median(ccd2[ccd2_stat_region(ccd2.shape)]))


def test_stars_match_truth(reduced):
    import sep

    raw, work = reduced
    with fits.open(work / "results" / "N20170614S0201_stack.fits") as h:
        sci = h["SCI"].data.astype(np.float64)
        var = h["VAR"].data.astype(np.float64)
        dq = h["DQ"].data
        wcs = WCS(h["SCI"].header)
    truth = json.loads((raw / "truth" / "frames.json").read_text())
    stars = Table.read(raw / "truth" / "stars.ecsv")
    x, y = wcs.world_to_pixel_values(stars["ra"], stars["dec"])
    ny, nx = sci.shape
    seeing_px = truth["frames"]["N20170614S0201"]["seeing"] / (0.0807 * 4)
    r = 3.0 * seeing_px
    inside = (x > 3 * r) & (x < nx - 3 * r) & (y > 3 * r) & (y < ny - 3 * r)
    # and inside the illuminated field: aperture and background annulus DQ-good
    k = int(np.ceil(3 * r))
    inside[inside] = [not dq[int(round(b)) - k:int(round(b)) + k + 1,
                             int(round(a)) - k:int(round(a)) + k + 1].any()
                      for a, b in zip(x[inside], y[inside], strict=True)]
    xi, yi = x[inside], y[inside]
    flux_true = np.asarray(stars["flux_e"])[inside] * _flat_level(raw)
    # isolated: no other star within 4 r
    others = np.hypot(xi[:, None] - x[None], yi[:, None] - y[None])
    isolated = (np.sort(others, axis=1)[:, 1] > 4 * r)
    mask = dq != 0
    flux, err, flag = sep.sum_circle(np.ascontiguousarray(sci), xi, yi, r,
                                     var=np.ascontiguousarray(var), mask=mask,
                                     bkgann=(2 * r, 3 * r))
    good = isolated & (flag == 0) & (flux / err > 100) & (flux_true < 5e5)
    assert good.sum() >= 10
    ratio = flux[good] / flux_true[good]
    assert abs(np.median(ratio) - 1) < 0.005, np.median(ratio)
    # scatter consistent with the VAR plane (within a factor 1.5)
    pull = (flux[good] - flux_true[good] * np.median(ratio)) / err[good]
    assert np.std(pull) < 1.5
    # positions through the output WCS
    wx, wy, _ = sep.winpos(np.ascontiguousarray(sci), xi[good], yi[good], seeing_px / 2.3548)
    rms = np.sqrt(np.mean((wx - xi[good]) ** 2 + (wy - yi[good]) ** 2))
    assert rms < 0.05, rms


def test_noise_gaps_and_cosmic_rays(reduced):
    raw, work = reduced
    with fits.open(work / "results" / "N20170614S0201_stack.fits") as h:
        sci, var, dq = h["SCI"].data, h["VAR"].data, h["DQ"].data
    ny, nx = sci.shape
    # blank sky: (SCI - local background) / sqrt(VAR) ~ N(0, 1)
    good = (dq == 0) & (var > 0)
    block = (slice(ny // 2 - 100, ny // 2 + 100), slice(nx // 2 - 60, nx // 2 + 60))
    s, v, g = sci[block], var[block], good[block]
    bg = np.median(s[g])
    z = (s[g] - bg) / np.sqrt(v[g])
    z = z[np.abs(z) < 5]  # stars out
    assert abs(np.std(z) - 1) < 0.1, np.std(z)
    # chip gaps are flagged no data in every frame -> DQ 16 in the stack
    assert np.any(np.all(dq[ny // 4: 3 * ny // 4, :] & 16, axis=0))


def test_cosmic_rays_absent_from_stack(reduced):
    """Every injected cosmic ray above 10 sigma leaves no trace in the stack."""
    from gmoslib.instrument import geometry
    from gmoslib.instrument.detectors import LAYOUTS, raw_amp_sections

    raw, work = reduced
    truth = json.loads((raw / "truth" / "frames.json").read_text())
    lay = LAYOUTS[truth["layout"]]
    xbin, ybin = truth["xbin"], truth["ybin"]
    amps = raw_amp_sections(lay, xbin, ybin)
    x0, y0, mnx, mny = geometry.mosaic_frame(lay.detid, xbin, ybin)
    qa = Table.read(work / "results" / "N20170614S0201_stack_qa.tsv", format="ascii.tab")
    margin = float(np.max(np.abs(np.concatenate([qa["dx"], qa["dy"]])))) + 5
    # only where every frame covers the sky (a pixel seen once cannot be compared)
    with fits.open(work / "results" / "N20170614S0201_stack.fits") as h:
        sci, var, dq = h["SCI"].data, h["VAR"].data, h["DQ"].data
        stack_wcs = WCS(h["SCI"].header)
    stars = Table.read(raw / "truth" / "stars.ecsv")
    star_x, star_y = stack_wcs.world_to_pixel_values(stars["ra"], stars["dec"])
    seeing_px = 0.8 / (lay.pixel_scale * ybin)
    checked = 0
    for frame, info in truth["frames"].items():
        if info["kind"] != "science":
            continue
        mosaic_wcs = WCS(fits.getheader(work / "work" / "mosaic" / f"{frame}_mosaic.fits",
                                        ("SCI", 1)))
        gains = {i: a["gain"] for i, a in enumerate(info["amps"])}
        for cr in info["cosmic_rays"]:
            amp = amps[cr["amp"]]
            if cr["electrons"] / gains[cr["amp"]] < 10 * 3:  # below ~10 sigma of the sky
                continue
            cx = amp["ccdsec"].x1 / xbin + cr["x"]
            cy = amp["ccdsec"].y1 / ybin + cr["y"]
            mx, my = geometry.ccd_to_mosaic(lay.detid, amp["ccd_index"], cx, cy, xbin, ybin)
            fx, fy = float(mx) - x0, float(my) - y0
            if not (margin < fx < mnx - margin and margin < fy < mny - margin):
                continue
            sky = mosaic_wcs.pixel_to_world(fx, fy)
            sx, sy = stack_wcs.world_to_pixel(sky)
            ix, iy = int(round(float(sx))), int(round(float(sy)))
            if np.min(np.hypot(star_x - sx, star_y - sy)) < 4 * seeing_px:
                continue  # on a star: judged by the photometry test instead
            if not (2 <= ix < sci.shape[1] - 2 and 2 <= iy < sci.shape[0] - 2):
                continue
            if dq[iy, ix] & 64:
                continue  # outside the illuminated field in every frame: not sky
            box = sci[iy - 1:iy + 2, ix - 1:ix + 2]
            local = np.median(sci[iy - 6:iy + 7, ix - 6:ix + 7])
            sigma = np.sqrt(max(float(var[iy, ix]), 1e-6))
            assert (box.max() - local) / sigma < 8, (frame, cr)
            checked += 1
    assert checked >= 10


def test_previews_qa_tables_and_report(reduced):
    """`all` makes a PNG per raw science frame and product and the QA tables; `--report`
    embeds them all."""
    import base64
    import re

    import pandas as pd
    from PIL import Image

    from gmoslib.qa.preview import MASK_COLOR
    from gmoslib.qa.tables import FRAME_COLUMNS, STACK_COLUMNS

    raw, work = reduced
    truth = json.loads((raw / "truth" / "frames.json").read_text())
    science = sorted(f for f, i in truth["frames"].items() if i["kind"] == "science")
    expected = ([f"qa/raw/{f}_raw.png" for f in science]
                + ["qa/calibrations/N20170613S0180_bias.png",
                   "qa/calibrations/N20170702S0178_flat.png"]
                + [f"qa/mosaic/{f}_mosaic.png" for f in science]
                + ["qa/stack/N20170614S0201_stack.png"])
    assert sorted(str(p.relative_to(work)) for p in (work / "qa").rglob("*.png")) == \
        sorted(expected)
    colour = np.round(np.array(MASK_COLOR) * 255).astype(int)
    for rel in expected:
        rgb = np.asarray(Image.open(work / rel).convert("RGB")).astype(int)
        assert rgb.shape[1] <= 1600 + 200, rel
        grey = rgb[(rgb[..., 0] == rgb[..., 1]) & (rgb[..., 1] == rgb[..., 2])][:, 0]
        # a picture, not a uniform square: many grey levels, both dark and bright ones
        assert len(np.unique(grey)) > 50 and np.percentile(grey, 5) < np.percentile(grey, 95)
        # every product shows masked pixels (chip gaps or dead rows) in the mask colour
        assert np.all(np.abs(rgb - colour) <= 3, axis=2).sum() > 500, rel

    frames = pd.read_csv(work / "results" / "N20170614S0201_stack_qa_frames.tsv", sep="\t")
    assert list(frames.columns) == list(FRAME_COLUMNS)
    assert list(frames["frame"]) == science
    level = _flat_level(raw)
    for _, row in frames.iterrows():
        info = truth["frames"][row["frame"]]
        sky = info["sky_e"] * level
        rn = np.median([a["read_noise"] for a in info["amps"]])
        assert row["background"] == pytest.approx(sky, rel=0.01)
        assert row["noise"] == pytest.approx(np.sqrt(sky + rn**2), rel=0.05)
        assert row["seeing_fwhm"] == pytest.approx(info["seeing"], rel=0.15)
        assert row["n_sources"] >= 50 and row["n_masked"] > 0
        assert row["scale"] == 1.0
    records = Table.read(work / "results" / "N20170614S0201_stack_qa.tsv", format="ascii.tab")
    np.testing.assert_allclose(frames["dx"], records["dx"], atol=1e-4)
    assert list(frames["align_method"]) == ["reference", "sources", "sources"]
    assert (frames["align_rms"] < 0.2).all()
    stack = pd.read_csv(work / "results" / "N20170614S0201_stack_qa_stack.tsv", sep="\t")
    assert list(stack.columns) == list(STACK_COLUMNS) and len(stack) == 1
    s = stack.iloc[0]
    assert s["n_frames"] == 3 and s["n_fallback"] == 0
    # three frames averaged: the noise drops by about sqrt(3) (resampling smooths a little)
    assert s["noise"] < frames["noise"].min() / np.sqrt(3) * 1.05
    assert s["seeing_fwhm"] == pytest.approx(0.8, rel=0.15)
    assert s["n_sources"] >= frames["n_sources"].min()
    with fits.open(work / "results" / "N20170614S0201_stack.fits") as h:
        assert s["n_rejected"] == h[0].header["NREJECT"]

    run_snakemake(work, "--report", "report.html", config={"raw_dir": str(raw)})
    html = (work / "report.html").read_text()
    for rel in expected:
        name = Path(rel).name
        m = re.search(re.escape(f"filename={name};base64,") + r"([A-Za-z0-9+/=]+)", html)
        assert m, f"{name} not embedded in report.html"
        assert base64.b64decode(m.group(1)) == (work / rel).read_bytes()
    for table in ("N20170614S0201_stack_qa_frames.tsv", "N20170614S0201_stack_qa_stack.tsv"):
        assert f"filename={table}" in html
    assert "zscale" in html  # the workflow description (report/workflow.rst)


def test_stack_qa_survives_a_failed_detection_on_the_stack(reduced, monkeypatch, capsys):
    """The QA table is made by the job that makes the stack: when sources cannot be detected
    on the stack, the two numbers that need them are left empty and the reason is printed;
    every other number is still measured."""
    import gmoslib.science.reduce
    from gmoslib.qa.tables import stack_qa

    _, work = reduced
    frames = sorted(p.name[:-len("_mosaic.fits")] for p in (work / "work" / "mosaic").glob(
        "*_mosaic.fits"))
    mosaics = [str(work / "work" / "mosaic" / f"{f}_mosaic.fits") for f in frames]
    catalogues = [str(work / "work" / "mosaic" / f"{f}_cat.ecsv") for f in frames]
    stack = str(work / "results" / "N20170614S0201_stack.fits")
    records = str(work / "results" / "N20170614S0201_stack_qa.tsv")
    rows, good = stack_qa(mosaics, catalogues, stack, records)

    def overflow(*args, **kwargs):
        raise Exception("internal pixel buffer full: 300000 active object pixels")

    monkeypatch.setattr(gmoslib.science.reduce, "detect_catalogue", overflow)
    rows2, total = stack_qa(mosaics, catalogues, stack, records)
    assert "internal pixel buffer full" in capsys.readouterr().err
    assert np.isnan(total["n_sources"]) and np.isnan(total["seeing_fwhm"])
    assert good["n_sources"] > 10
    for key in ("background", "noise", "n_masked", "n_rejected", "max_shift"):
        assert total[key] == good[key], key
    import pandas as pd

    assert pd.DataFrame(rows2).equals(pd.DataFrame(rows))  # the frames' rows: unaffected
