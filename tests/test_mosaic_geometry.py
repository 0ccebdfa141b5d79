"""Geometry and mosaic against analytic truth: point sources placed through the geometry."""

from __future__ import annotations

import numpy as np
import pytest
from astropy.io import fits

from gmoslib.instrument import geometry
from gmoslib.instrument.detectors import LAYOUTS, raw_amp_sections
from gmoslib.instrument.sections import format_section
from gmoslib.io import dq as dqbits
from gmoslib.io.frame import Extension
from gmoslib.science.mosaic import mosaic_detectors
from gmoslib.science.qecorrect import qe_correct

GN_HAM = LAYOUTS["GN-Ham"].detid


@pytest.mark.parametrize("detid", sorted(geometry.CCD_GEOMETRY))
def test_round_trip(detid):
    rng = np.random.default_rng(0)
    x, y = rng.uniform(0, 500, 50), rng.uniform(0, 1000, 50)
    for k in (0, 1, 2):
        for xbin, ybin in ((1, 1), (2, 2), (4, 4), (1, 2)):
            X, Y = geometry.ccd_to_mosaic(detid, k, x, y, xbin, ybin)
            u, v = geometry.mosaic_to_ccd(detid, k, X, Y, xbin, ybin)
            assert np.allclose(u, x, atol=1e-9) and np.allclose(v, y, atol=1e-9)


def test_ccd2_is_a_pure_offset_and_gaps_match_reference():
    X, Y = geometry.ccd_to_mosaic(GN_HAM, 1, 10.0, 20.0, 2, 2)
    assert (X, Y) == (1024 + 10.0, 20.0)
    # gap between CCD1's last column and CCD2's first: 2115.95 - 2048 unbinned (ref 5.14)
    last, _ = geometry.ccd_to_mosaic(GN_HAM, 0, 2047.0, 2111.5, 1, 1)
    assert 2048 - float(last) - 1 == pytest.approx(2115.95 - 2048, abs=0.05)
    x0, y0, nx, ny = geometry.mosaic_frame(GN_HAM, 2, 2)
    assert abs(nx - 3140) <= 2 and abs(ny - 2113) <= 2  # reference 5.14 size check


def _render(layout_key, xbin, ybin, stars, sigma=1.5):
    """Trimmed amplifiers with Gaussian stars at given mosaic positions (flux 1e4 each)."""
    lay = LAYOUTS[layout_key]
    x0, y0, _, _ = geometry.mosaic_frame(lay.detid, xbin, ybin)
    exts = []
    for amp in raw_amp_sections(lay, xbin, ybin):
        ny, nx = amp["datasec"].shape
        yy, xx = np.mgrid[0:ny, 0:nx].astype(float)
        img = np.zeros((ny, nx))
        for X, Y in stars:
            u, v = geometry.mosaic_to_ccd(lay.detid, amp["ccd_index"], X + x0, Y + y0, xbin,
                                          ybin)
            ax = float(u) - amp["ccdsec"].x1 / xbin
            ay = float(v) - amp["ccdsec"].y1 / ybin
            img += 1e4 / (2 * np.pi * sigma**2) * np.exp(
                -0.5 * ((xx - ax) ** 2 + (yy - ay) ** 2) / sigma**2)
        h = fits.Header()
        h["CCDSEC"] = format_section(amp["ccdsec"])
        h["DETSEC"] = format_section(amp["detsec"])
        h["CCDSUM"] = f"{xbin} {ybin}"
        h["AMPNAME"] = amp["ampname"]
        h["RDNOISE"] = 4.0
        exts.append(Extension(img.astype(np.float32), np.ones((ny, nx), np.float32),
                              np.zeros((ny, nx), np.uint16), h))
    return lay, exts


@pytest.mark.parametrize("layout_key", ["GN-Ham", "GN-EEV", "GN-e2vDD", "GS-Ham2023"])
def test_point_sources_land_at_their_mosaic_positions(layout_key):
    xbin = ybin = 4
    x0, y0, nx, ny = geometry.mosaic_frame(LAYOUTS[layout_key].detid, xbin, ybin)
    stars = [(200.3, 300.7), (nx / 2 + 0.25, ny / 2 - 0.4), (nx - 200.6, 500.2)]
    lay, exts = _render(layout_key, xbin, ybin, stars)
    m = mosaic_detectors(exts, lay.detid, order=3, xbin=xbin, ybin=ybin)
    assert m.sci.shape == (ny, nx)
    for X, Y in stars:
        ix, iy = int(round(X)), int(round(Y))
        box = (slice(iy - 8, iy + 9), slice(ix - 8, ix + 9))
        s = m.sci[box].astype(float)
        yy, xx = np.mgrid[box]
        flux = s.sum()
        assert flux == pytest.approx(1e4, rel=0.005)
        assert (xx * s).sum() / flux == pytest.approx(X, abs=0.02)
        assert (yy * s).sum() / flux == pytest.approx(Y, abs=0.02)


def test_gaps_are_no_data_and_ccd2_is_copied_exactly():
    lay, exts = _render("GN-Ham", 4, 4, [])
    for i, e in enumerate(exts):
        e.sci[:] = i + 1.0  # every amplifier a constant
    m = mosaic_detectors(exts, lay.detid, order=3, xbin=4, ybin=4)
    x0, y0, nx, ny = geometry.mosaic_frame(lay.detid, 4, 4)
    # gap between CCD1 and CCD2: a few columns left of CCD2's first column
    c2 = int(round(float(geometry.ccd_to_mosaic(lay.detid, 1, 0, 0, 4, 4)[0]))) - x0
    gap = m.dq[ny // 2, c2 - 8:c2 - 2]
    assert np.all(gap & dqbits.NO_DATA) and np.all(m.sci[ny // 2, c2 - 8:c2 - 2] == 0)
    # CCD2's first amplifier (ext 5, value 5) copied without interpolation
    assert np.all(m.sci[10:-10, c2:c2 + 120] == 5.0)
    assert np.all(m.dq[10:-10, c2:c2 + 120] == 0)


def test_dq_bits_follow_the_pixel():
    lay, exts = _render("GN-Ham", 4, 4, [])
    exts[1].dq[500, 60] = dqbits.BAD_PIXEL  # CCD1, amp 3
    m = mosaic_detectors(exts, lay.detid, order=3, xbin=4, ybin=4)
    x0, y0, _, _ = geometry.mosaic_frame(lay.detid, 4, 4)
    from gmoslib.instrument.sections import parse_section

    ccd_x = parse_section(exts[1].header["CCDSEC"]).x1 // 4 + 60  # CCD-local binned column
    X, Y = geometry.ccd_to_mosaic(lay.detid, 0, ccd_x, 500, 4, 4)
    ix, iy = int(round(float(X))) - x0, int(round(float(Y))) - y0
    assert m.dq[iy, ix] & dqbits.BAD_PIXEL


def test_qe_correct_equalises_sky():
    lay, exts = _render("GN-Ham", 4, 4, [])
    ccd = [a.ccd_index for a in lay.amps]
    for e, k in zip(exts, ccd, strict=True):
        e.sci[:] = {0: 1040.0, 1: 1000.0, 2: 970.0}[k]
    out, (f1, f3) = qe_correct(exts, ccd)
    assert f1 == pytest.approx(1000 / 1040) and f3 == pytest.approx(1000 / 970)
    assert all(np.allclose(e.sci, 1000.0) for e in out)
    assert out[0].var[0, 0] == pytest.approx(f1**2)
