"""Mosaics of sub-ROI reads cropped to their data (issue 17)."""

from __future__ import annotations

import numpy as np
from astropy.io import fits
from astropy.wcs import WCS

from gmoslib.io import dq as dqbits
from gmoslib.io.frame import Extension
from gmoslib.science.footprint import crop_to_data


def _mosaic(box, shape=(200, 300)):
    y1, y2, x1, x2 = box
    sci = np.zeros(shape, np.float32)
    dq = np.full(shape, dqbits.NO_DATA, np.uint16)
    sci[y1:y2, x1:x2] = np.arange((y2 - y1) * (x2 - x1)).reshape(y2 - y1, x2 - x1)
    dq[y1:y2, x1:x2] = 0
    dq[y1 + 1, x1 + 1] = dqbits.NO_DATA | 1  # a hole inside the data stays inside
    hdr = fits.Header({"CTYPE1": "RA---TAN", "CTYPE2": "DEC--TAN", "CRVAL1": 150.0,
                       "CRVAL2": 2.0, "CRPIX1": 120.5, "CRPIX2": 80.5, "CD1_1": -4e-5,
                       "CD1_2": 0.0, "CD2_1": 0.0, "CD2_2": 4e-5})
    return Extension(sci, sci.copy(), dq, hdr)


def test_roi_mosaic_is_cut_to_its_data_with_the_same_sky():
    m = _mosaic((50, 70, 100, 130))
    out = crop_to_data(m)
    assert out.sci.shape == out.var.shape == out.dq.shape == (20, 30)
    np.testing.assert_array_equal(out.sci, m.sci[50:70, 100:130])
    # a pixel keeps its sky position
    before = WCS(m.header).all_pix2world([[110.0, 60.0]], 0)[0]
    after = WCS(out.header).all_pix2world([[10.0, 10.0]], 0)[0]
    np.testing.assert_allclose(after, before, rtol=0, atol=1e-10)
    assert (out.header["CROPX1"], out.header["CROPY1"]) == (100, 50)


def test_full_frame_mosaic_is_kept():
    m = _mosaic((2, 198, 3, 290))  # data everywhere but the edges (and gaps)
    assert crop_to_data(m) is m
