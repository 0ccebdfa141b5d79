"""Fringe primitives and fringe-frame association, against analytic truth (reference 5.12, 7)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from gmoslib.calibration import association as calib
from gmoslib.calibration.association import max_dither_arcsec
from gmoslib.instrument.detectors import FRINGE_CONTROL_PAIRS, LAYOUTS
from gmoslib.instrument.sections import Section
from gmoslib.science import fringe as fl


def _bumps(shape, points, sigma=3.0):
    """+1 Gaussians at the first point of each pair, -1 at the second (binned pixels)."""
    yy, xx = np.mgrid[0:shape[0], 0:shape[1]].astype(float)
    out = np.zeros(shape)
    for (px, py), (tx, ty) in points:
        out += np.exp(-0.5 * ((xx - px) ** 2 + (yy - py) ** 2) / sigma**2)
        out -= np.exp(-0.5 * ((xx - tx) ** 2 + (yy - ty) ** 2) / sigma**2)
    return out


def test_control_pairs_recover_the_scale_exactly_without_noise():
    # two extensions side by side on the detector, 2x2 binning
    detsecs = [Section(0, 200, 0, 400), Section(200, 400, 0, 400)]
    pairs = [((40, 100), (80, 120)), ((300, 300), (340, 260)), ((150, 380), (170, 390))]
    fringe, science = [], []
    for d in detsecs:
        local = [(((p[0] - d.x1) / 2, (p[1] - d.y1) / 2), ((t[0] - d.x1) / 2, (t[1] - d.y1) / 2))
                 for p, t in pairs]
        pattern = _bumps((200, 100), local).astype(np.float32)
        dq = np.zeros(pattern.shape, np.uint16)
        fringe.append((pattern, dq))
        science.append((np.float32(500.0) + np.float32(0.7) * pattern, dq))
    scale, n_used, ratios = fl.control_pair_scale(science, fringe, detsecs, 2, 2, pairs)
    # the third pair's box leaves the top edge (y = 390 unbinned = row 195, box +-5 rows)
    assert n_used == 2
    assert scale == pytest.approx(0.7, rel=1e-4)  # float32 sums
    assert ratios == pytest.approx([0.7, 0.7], rel=1e-4)


def test_control_pairs_ignore_flagged_boxes_and_report_none():
    detsecs = [Section(0, 200, 0, 200)]
    pairs = [((50, 50), (100, 100))]
    pattern = _bumps((200, 200), [((50, 50), (100, 100))]).astype(np.float32)
    dq = np.zeros(pattern.shape, np.uint16)
    dq[40:61, 40:61] = 1  # the peak box is bad in the fringe frame
    scale, n_used, _ = fl.control_pair_scale([(pattern, np.zeros_like(dq))],
                                             [(pattern, dq)], detsecs, 1, 1, pairs)
    assert scale is None and n_used == 0


def test_least_squares_scale_with_offset_and_masked_objects():
    rng = np.random.default_rng(3)
    f = rng.normal(0, 10, (100, 120)).astype(np.float32)
    s = (300 + 1.3 * f).astype(np.float32)
    objects = np.zeros(f.shape, bool)
    s[10:20, 10:20] += 5000  # a bright object, masked
    objects[8:22, 8:22] = True
    dq = np.zeros(f.shape, np.uint16)
    dq[50, :] = 1
    s[50, :] = -1e6  # a bad row, flagged
    scale = fl.least_squares_scale([(s, dq, objects)], [(f, np.zeros_like(dq))])
    assert scale == pytest.approx(1.3, rel=1e-4)
    with pytest.raises(ValueError, match="cannot fit"):
        fl.least_squares_scale([(s, dq, objects)], [(np.zeros_like(f), dq)])


def test_subtract_fringe_propagates_variance_and_dq():
    sci = np.full((4, 5), 100.0, np.float32)
    var = np.full((4, 5), 9.0, np.float32)
    dq = np.zeros((4, 5), np.uint16)
    f_sci = np.full((4, 5), 10.0, np.float32)
    f_var = np.full((4, 5), 4.0, np.float32)
    f_dq = np.zeros((4, 5), np.uint16)
    f_dq[0, 0] = 16
    out, out_var, out_dq = fl.subtract_fringe(sci, var, dq, f_sci, f_var, f_dq, 0.5)
    assert np.allclose(out, 95.0) and np.allclose(out_var, 9.0 + 0.25 * 4.0)
    assert out_dq[0, 0] == 16 and out_dq.sum() == 16


def test_sky_level_ignores_sources_and_flagged_pixels():
    rng = np.random.default_rng(5)
    a = rng.normal(250.0, 5.0, (200, 100)).astype(np.float32)
    b = rng.normal(250.0, 5.0, (200, 100)).astype(np.float32)
    a[:20] += 5000.0  # bright source
    dq = np.zeros(a.shape, np.uint16)
    b[100:] = 0.0
    dq_b = dq.copy()
    dq_b[100:] = 16  # no data
    assert fl.sky_level([a, b], [dq, dq_b]) == pytest.approx(250.0, abs=0.3)


def test_ccd_sky_levels_give_each_ccd_its_own_sky():
    """Before QE equalisation the CCDs' skies differ (here 770 / 790 / 802 e): each
    extension gets its CCD's level, so no sky step is left in a fringe frame; a CCD whose
    pixels are all unilluminated gets the whole frame's level."""
    rng = np.random.default_rng(7)
    skies = [770.0, 770.0, 790.0, 790.0, 802.0, 802.0]
    scis = [rng.normal(s, 10.0, (60, 40)).astype(np.float32) for s in skies]
    dqs = [np.zeros((60, 40), np.uint16) for _ in skies]
    dqs[0][:] = 64  # one amplifier of CCD 1 outside the field stop
    scis[0][:] = 0.0
    levels = fl.ccd_sky_levels(scis, dqs, [0, 0, 1, 1, 2, 2])
    assert levels == pytest.approx(skies, abs=1.0)
    dqs[1][:] = 64  # the whole of CCD 1
    levels = fl.ccd_sky_levels(scis, dqs, [0, 0, 1, 1, 2, 2])
    whole = fl.sky_level(scis, dqs)
    assert levels[:2] == [whole, whole]
    assert levels[2:] == pytest.approx(skies[2:], abs=1.0)


def test_object_mask_grows_sources():
    rng = np.random.default_rng(1)
    sci = rng.normal(0.0, 1.0, (120, 120)).astype(np.float32)
    yy, xx = np.mgrid[0:120, 0:120]
    sci += (200 * np.exp(-0.5 * ((xx - 60) ** 2 + (yy - 60) ** 2) / 2.0**2)).astype(np.float32)
    var = np.ones_like(sci)
    tight = fl.object_mask(sci, var, None, thresh=2.0, minarea=8, dilation=0)
    grown = fl.object_mask(sci, var, None, thresh=2.0, minarea=8, dilation=2)
    assert tight[60, 60] and grown[60, 60]
    assert grown.sum() > tight.sum()
    assert not grown[5, 5]


def test_max_dither():
    assert max_dither_arcsec([10.0], [20.0]) == 0.0
    sep = max_dither_arcsec([10.0, 10.0, 10.0], [20.0, 20.0 + 3 / 3600, 20.0 - 4 / 3600])
    assert sep == pytest.approx(7.0, abs=1e-3)


def _rows(offsets):
    return pd.DataFrame({"frame": [f"f{k}" for k in range(len(offsets))],
                         "poffset": [p for p, _ in offsets], "qoffset": [q for _, q in offsets],
                         "ra": [np.nan] * len(offsets), "dec": [np.nan] * len(offsets)})


def test_fringe_groups_need_three_dithered_frames():
    table = _rows([(0, 0), (10, 5), (-10, 5), (0.5, 0), (1, 1), (0, 1), (0, 0)])
    groups = {"f0": ["f0", "f1", "f2"], "f3": ["f3", "f4", "f5"], "f6": ["f6"]}
    wanted = {f"f{k}" for k in range(7)}
    assert calib.fringe_groups(table, groups, wanted, min_dither=5.0) == {"f0": ["f0", "f1", "f2"]}
    assert "dithered by at most 1.1 arcsec" in calib.fringe_group_problem(
        table, ["f3", "f4", "f5"], min_dither=5.0)
    assert "needs at least 3" in calib.fringe_group_problem(table, ["f6"], min_dither=5.0)
    # only the frames that need correction count
    assert calib.fringe_groups(table, groups, {"f0", "f1"}, min_dither=5.0) == {}
    # unknown p/q offsets: RA/Dec is used
    table2 = _rows([(np.nan, np.nan)] * 3)
    table2["ra"] = [10.0, 10.0, 10.0]
    table2["dec"] = [20.0, 20.0 + 8 / 3600, 20.0]
    assert calib.fringe_group_problem(table2, ["f0", "f1", "f2"], min_dither=5.0) == ""


def test_control_pair_tables_cover_the_detectors_that_have_them():
    """Every pair lies on the detector, both points on one CCD (the tables' own rule)."""
    for key in ("GN-Ham", "GS-Ham", "GN-EEV", "GS-EEV", "GN-e2vDD"):
        lay = LAYOUTS[key]
        pairs = FRINGE_CONTROL_PAIRS[lay.detid]
        assert len(pairs) == 20, key
        for peak, trough in pairs:
            assert peak[0] // 2048 == trough[0] // 2048, (key, peak, trough)
            assert 0 <= peak[1] < 4644 and 0 <= trough[1] < 4644
    assert LAYOUTS["GS-Ham2023"].detid not in FRINGE_CONTROL_PAIRS
