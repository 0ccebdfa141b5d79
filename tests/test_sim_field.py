"""The simulator's field stop, vignetting and illumination truth.

The field-stop octagons in gmoslib/sim/field.py were measured on Gemini's real illumination
masks (every binning of every camera Gemini ships in DRAGONS geminidr/gmos/lookups/BPM):
with the illuminated pixels of all masks of a camera as unbinned footprints (DETSEC origin +
binned index x binning), left/right/bottom/top = their extreme edges, and each corner cut =
the smallest (x - left) + (y - bottom) (or its mirror) over those footprints.  Here the model
is checked against a copy of one mask per camera (tests/data/sim_field, see its README).
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits

from gmoslib.sim import CAMERAS, FrameSpec, make_detector_model, simulate_preset
from gmoslib.sim.cameras import Box
from gmoslib.sim.core import render_raw
from gmoslib.sim.field import FALL_OFF, FIELDS, SCATTERED

DATA = Path(__file__).parent / "data" / "sim_field"

MASKS = [  # (file, camera, binning)
    ("gmos-n_illum_HAM_44_12amp_v1.fits.bz2", "GN-Ham", 4),
    ("gmos-s_illum_HAM_44_12amp_v1.fits.bz2", "GS-Ham", 4),
    ("gmos-n_illum_e2v_22_6amp_v1.fits.bz2", "GN-e2vDD", 2),
    ("gmos-n_illum_EEV_22_3amp_v1.fits.bz2", "GN-EEV", 2),
    ("gmos-s_illum_EEV_22_3amp_v1.fits.bz2", "GS-EEV", 2),
]


def _mask_by_detsec(path: Path) -> dict[str, np.ndarray]:
    with fits.open(path) as h:
        return {e.header["DETSEC"]: e.data.astype(int) for e in h[1:]}


@pytest.mark.parametrize("name, key, b", MASKS)
def test_truth_unilluminated_is_unilluminated_in_the_real_mask(name, key, b):
    masks = _mask_by_detsec(DATA / name)
    model = make_detector_model(key, b, b)
    outside_sim = outside_real = agree = 0
    for amp, unlit in zip(model.amps, model.unilluminated, strict=True):
        real = masks[amp["detsec"].header()]
        assert real.shape == unlit.shape, amp["ampname"]
        lit_but_called_dark = unlit & (real == 0)
        assert not lit_but_called_dark.any(), (
            f"{key} {amp['ampname']}: {int(lit_but_called_dark.sum())} pixels are illuminated in "
            f"the real mask but unilluminated in the simulator's truth")
        outside_sim += int(unlit.sum())
        outside_real += int((real != 0).sum())
        agree += int((unlit & (real != 0)).sum())
    # the model is not a token: it covers most of what the real mask calls unilluminated
    # (the rest is the mask's curved edges, bumps and dead rows inside the octagon)
    assert agree == outside_sim
    assert outside_sim >= 0.85 * outside_real, (key, outside_sim, outside_real)


def test_outer_amplifiers_are_dark_as_on_the_real_instrument():
    # reference 5.3: GN Hamamatsu amps 4, 3 of CCD1 and 2, 1 of CCD3 entirely unilluminated;
    # GS Hamamatsu amp 4 of CCD1 and amp 1 of CCD3
    for key, dark in (("GN-Ham", {0, 1, 10, 11}), ("GS-Ham", {0, 11}), ("GS-Ham2023", {0, 11})):
        model = make_detector_model(key, 4, 4)
        fully = {i for i, u in enumerate(model.unilluminated) if u.all()}
        assert fully == dark, key
        central = [i for i, a in enumerate(model.amps) if a["ccd_index"] == 1]
        assert all(model.unilluminated[i].mean() < 0.1 for i in central), key


@pytest.mark.parametrize("key", sorted(CAMERAS))
def test_every_camera_has_a_field_stop_with_smooth_vignetting(key):
    model = make_detector_model(key, 4, 4)
    frac = np.mean(np.concatenate([u.ravel() for u in model.unilluminated]))
    assert 0.2 < frac < 0.45, frac  # the outer parts of CCD1 and CCD3
    stop = FIELDS[CAMERAS[key].field]
    # along the middle row, the transmission rises smoothly from the scattered level outside
    # the left edge to 1 inside it over FALL_OFF pixels, without steps, half-light on the edge
    y = (stop.bottom + stop.top) / 2
    x = np.arange(stop.left - FALL_OFF, stop.left + FALL_OFF + 1, 1.0)
    t = stop.transmission(x, np.full_like(x, y))
    assert t[0] == pytest.approx(SCATTERED) and t[-1] == pytest.approx(1.0)
    assert np.all(np.diff(t) >= 0) and np.max(np.diff(t)) < 0.05
    assert float(stop.transmission(stop.left, y)) == pytest.approx(0.5)
    ramp = (t > 2 * SCATTERED) & (t < 0.999)
    assert FALL_OFF - 10 < ramp.sum() <= FALL_OFF


def test_twilight_is_near_bias_outside_the_field_and_vignetted_at_its_edge():
    model = make_detector_model("GN-Ham", 4, 4, seed=2)
    spec = FrameSpec("flat", "N20190502S0040", dt.datetime(2019, 5, 2, 5), 20.0,
                     filter2="r_G0303", object="Twilight", sky_e=30000.0)
    arrays, truth = render_raw(model, spec, None, seed=2)
    level = {}
    for i, (arr, amp) in enumerate(zip(arrays, model.amps, strict=True)):
        data = arr[amp["datasec"].slice].astype(float)
        over = np.median(arr[amp["biassec"].slice])
        g = truth["amps"][i]["gain"]
        level[i] = (data[model.dead_rows[i]:] - over) * g  # electrons
    # outer amplifiers: scattered light only (0.2 % of ~30000 e-), i.e. almost bias
    for i in (0, 1, 10, 11):
        assert abs(np.median(level[i])) < 0.01 * 30000, i
    # CCD2: the full twilight level
    assert np.median(level[5]) > 0.8 * 30000
    # amp 2 of CCD1 (index 2): the field edge is 13 unbinned pixels from its left side, so it
    # starts in the vignetted band and ends fully lit
    row = np.median(level[2][400:600], axis=0)
    assert row[0] < 0.3 * row[-1] and row[-1] > 0.8 * 30000
    ramp = (row > 0.05 * row[-1]) & (row < 0.95 * row[-1])
    assert 2 <= ramp.sum() <= FALL_OFF / 4 + 3  # a smooth fall-off over ~FALL_OFF unbinned px


def test_signal_is_capped_at_the_full_well():
    # GN e2v DD 1x1, amp 'e2v 10031-23-05, right': full well 105100 e- (reference 2.3), gain
    # 2.31 e-/ADU (reference 2.2) -> 45498 ADU above the bias, below the 65535 ADU of the ADC
    model = make_detector_model("GN-e2vDD", 1, 1, roi=Box(1500, 1564, 2000, 2064), seed=1)
    spec = FrameSpec("flat", "N20140502S0040", dt.datetime(2014, 5, 2, 5), 20.0,
                     filter2="r_G0303", object="Twilight", sky_e=300000.0)
    arrays, truth = render_raw(model, spec, None, seed=1)
    (arr,), (amp,) = arrays, model.amps
    assert amp["ampname"] == "e2v 10031-23-05, right"
    assert truth["amps"][0]["full_well_e"] == 105100.0
    above = np.median(arr[amp["datasec"].slice]) - np.median(arr[amp["biassec"].slice])
    assert above == pytest.approx(105100 / 2.31, abs=5)


def test_preset_truth_documents_the_illumination(tmp_path):
    simulate_preset("gs-eev-4x4", str(tmp_path))
    truth = json.loads((tmp_path / "truth" / "frames.json").read_text())
    det = np.load(tmp_path / "truth" / "detector.npz")
    stop = truth["field_stop"]
    assert stop["left"] == FIELDS["GS-EEV"].left and stop["unilluminated_amps"] == []
    assert 0.2 < stop["unilluminated_fraction"] < 0.45
    n = len(truth["amp_sections"])
    assert n == 3
    for i, sec in enumerate(truth["amp_sections"]):
        unlit = det[f"unilluminated_{i}"]
        assert unlit.dtype == bool and unlit.shape == det[f"illumination_{i}"].shape
        # the truth illumination (what a perfect flat shows) is below half the light there,
        # and mostly the scattered level
        ill = det[f"illumination_{i}"][unlit]
        assert np.all(ill < 0.5) and np.median(ill) < 2 * SCATTERED, sec["ampname"]
    # the left CCD's outer part is outside the field, the middle CCD inside (but for its
    # bottom rows on GMOS-S EEV)
    assert det["unilluminated_0"][:, :50].all() and det["unilluminated_1"].mean() < 0.05
    with fits.open(sorted(tmp_path.glob("S*.fits"))[0]) as h:
        assert h[0].header["DETSIZE"] == "[1:6144,1:4644]"  # as in the real EEV headers


def test_sky_truth_agrees_with_the_per_amplifier_truth(tmp_path):
    """unilluminated_at (sky positions, for stacks) and unilluminated_i (per amplifier) tell
    the same story through the raw headers' WCS."""
    from astropy.wcs import WCS

    from gmoslib.sim.sky_truth import illuminated_in_frame, unilluminated_at

    simulate_preset("gn-eev-4x4", str(tmp_path))
    truth = json.loads((tmp_path / "truth" / "frames.json").read_text())
    det = np.load(tmp_path / "truth" / "detector.npz")
    name = next(f for f, i in truth["frames"].items() if i["kind"] == "science")
    agree = total = 0
    with fits.open(tmp_path / f"{name}.fits") as h:
        for i, sec in enumerate(truth["amp_sections"]):
            x1 = int(sec["datasec"][1:].split(":")[0]) - 1
            unlit = det[f"unilluminated_{i}"]
            yy, xx = np.mgrid[0:unlit.shape[0]:7, 0:unlit.shape[1]:7]
            ra, dec = WCS(h[i + 1].header).all_pix2world(xx + x1, yy, 0)
            lit = illuminated_in_frame(truth, truth["frames"][name], ra, dec)
            agree += int(np.sum(lit == ~unlit[yy, xx]))
            total += lit.size
    assert agree / total > 0.995, agree / total
    # a position seen by no frame: far from the pointing
    assert unilluminated_at(str(tmp_path), np.array([10.0]), np.array([-30.0]))[0]
    # the pointing itself is in the field of every frame
    info = truth["frames"][name]
    assert not unilluminated_at(str(tmp_path), np.array([info["ra"]]), np.array([info["dec"]]))[0]
