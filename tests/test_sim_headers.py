"""The simulator's raw headers against Gemini's real GMOS headers and the reference:
a right-handed CD matrix (det > 0 in every real header), a data label per frame, and the
documented sense of the telescope offsets."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from gmoslib.sim import FrameSpec, make_detector_model
from gmoslib.sim.headers import extension_headers, mosaic_wcs_params, primary_header

WHEN = dt.datetime(2019, 5, 2, 9, 0, 0)


def _cd(h):
    return np.array([[h["CD1_1"], h["CD1_2"]], [h["CD2_1"], h["CD2_2"]]])


@pytest.mark.parametrize("camera", ["GN-Ham", "GS-Ham2023", "GN-e2vDD", "GS-EEV"])
@pytest.mark.parametrize("pa", [0.0, 90.0, 217.0])
def test_cd_matrix_has_the_real_headers_sense(camera, pa):
    model = make_detector_model(camera, 4, 4)
    spec = FrameSpec("science", "N20190502S0088", WHEN, 30.0, pa=pa)
    for h in extension_headers(model, spec):
        cd = _cd(h)
        assert np.linalg.det(cd) > 0  # every real GMOS header
        scale = np.sqrt(abs(np.linalg.det(cd)))
        # a pure rotation: CD1_1 = CD2_2, CD1_2 = -CD2_1
        assert cd[0, 0] == pytest.approx(cd[1, 1], abs=1e-6 * scale)
        assert cd[0, 1] == pytest.approx(-cd[1, 0], abs=1e-6 * scale)
    if pa == 0.0:  # as the real GMOS-S headers with PA = 0: CD1_1, CD2_2 < 0
        assert cd[0, 0] < 0 and cd[1, 1] < 0


def test_every_twilight_has_its_own_data_label():
    model = make_detector_model("GN-Ham", 4, 4)
    labels = [primary_header(model, FrameSpec("flat", f"N20190502S{40 + k:04d}",
                                              WHEN + dt.timedelta(minutes=3 * k), 20.0,
                                              object="Twilight"))["DATALAB"]
              for k in range(3)]
    assert len(set(labels)) == 3
    assert labels[0].endswith("-040")  # <OBSID>-<nnn> (reference, DATALAB)
    assert labels[0].startswith(primary_header(model, FrameSpec(
        "flat", "N20190502S0040", WHEN, 20.0))["OBSID"] + "-")


def test_offsets_move_stars_by_plus_p_over_the_scale():
    """Reference: detector_x_offset() = POFFSET / pixel scale (side port): a sky position's
    mosaic pixel moves by +POFFSET/scale in x and +QOFFSET/scale in y."""
    from astropy.wcs import WCS

    model = make_detector_model("GN-Ham", 4, 4)
    where = []
    for p, q in ((0.0, 0.0), (10.0, 5.0)):
        crpix, cd, crval, _ = mosaic_wcs_params(
            model, FrameSpec("science", "N20190502S0088", WHEN, 30.0, poffset=p, qoffset=q))
        w = WCS(naxis=2)
        w.wcs.ctype = ["RA---TAN", "DEC--TAN"]
        w.wcs.crpix, w.wcs.cd, w.wcs.crval = crpix, cd, crval
        where.append(np.array(w.all_world2pix([[285.0, 25.0]], 0)[0]))
    scale = 0.0807 * 4  # GMOS-N Hamamatsu, arcsec per unbinned pixel x binning (reference)
    assert where[1] - where[0] == pytest.approx([10.0 / scale, 5.0 / scale], rel=1e-3)


@pytest.mark.parametrize("camera, threshold", [("GN-Ham", 8000), ("GN-EEV", 2000)])
def test_a_fast_read_is_written_as_one(camera, threshold):
    """Reference 2.1: AMPINTEG decides the read speed (fast below 8000 on Hamamatsu, below
    2000 on EEV/e2v DD); the extensions carry that mode's read noise."""
    model = make_detector_model(camera, 4, 4)
    slow = FrameSpec("bias", "N20190501S0010", WHEN, 0.0)
    fast = FrameSpec("bias", "N20190501S0011", WHEN, 0.0, read_speed="fast")
    assert primary_header(model, slow)["AMPINTEG"] > threshold
    assert primary_header(model, fast)["AMPINTEG"] < threshold
    rn_slow = [h["RDNOISE"] for h in extension_headers(model, slow)]
    rn_fast = [h["RDNOISE"] for h in extension_headers(model, fast)]
    assert all(f > s for f, s in zip(rn_fast, rn_slow, strict=True))  # a fast read is noisier
