"""Overscan, preparation, stacking and flat primitives against analytic truth."""

from __future__ import annotations

import math
import tracemalloc

import numpy as np
import pytest

from gmoslib.calibration.ccds import ccd2_stat_region
from gmoslib.calibration.flat import (
    flat_normalisation,
    flat_rejection_for_count,
    flat_scale_factors,
    normalize_flat,
)
from gmoslib.calibration.overscan import overscan_columns
from gmoslib.calibration.prepare import (
    add_poisson_var,
    adu_to_electrons,
    flat_correct,
    hamamatsu_dead_rows,
    make_dq,
    subtract_bias,
)
from gmoslib.instrument.sections import parse_section
from gmoslib.io import dq as dqbits
from gmoslib.stacking import block_rows, combine_block, stack_frames
from tests.test_overscan import subtract_overscan

#: overscanCorrect's parameters for the per-row mean of the overscan (no fit)
ROW_MEANS = {"function": "none", "lsigma": 3.0, "hsigma": 3.0, "niter": 0}
#: clipping parameters of the stackers (stackBiases' defaults): sigma, about the median
CLIP = {"lsigma": 3.0, "hsigma": 3.0, "mclip": True}


# ----------------------------------------------------------------------------- overscan
@pytest.mark.parametrize("data, bias, nbc, kept", [
    ("[1:256,1:100]", "[257:288,1:100]", 4, (260, 287)),   # strip right of data
    ("[33:288,1:100]", "[1:32,1:100]", 4, (1, 28)),        # strip left of data
    ("[1:512,1:100]", "[513:544,1:100]", 5, (517, 543)),   # e2vDD: 5 contaminated columns
])
def test_overscan_columns(data, bias, nbc, kept):
    cols = overscan_columns(parse_section(bias), parse_section(data), nbc)
    assert (cols.start, cols.stop) == kept
    assert cols.stop - cols.start == 32 - nbc - 1


@pytest.mark.parametrize("side", ["right", "left"])
def test_row_overscan_removes_row_structure_exactly(side):
    rng = np.random.default_rng(1)
    ny = 200
    datasec = parse_section("[1:64,1:200]" if side == "right" else "[33:96,1:200]")
    biassec = parse_section("[65:96,1:200]" if side == "right" else "[1:32,1:200]")
    rows = 500 + 3 * np.sin(np.arange(ny) / 10.0)
    raw = np.repeat(rows[:, None], 96, axis=1).astype(np.float32)
    raw[datasec.slice] += 100.0  # signal
    raw_in = raw.copy()
    out, info = subtract_overscan(raw, datasec, biassec, nbiascontam=4, read_noise_adu=2.0,
                                  **ROW_MEANS)
    np.testing.assert_allclose(out[datasec.slice], 100.0, atol=1e-3)
    assert info["OVERSCAN"] == pytest.approx(np.median(rows), abs=1e-3)
    assert np.array_equal(raw, raw_in)  # input unchanged
    # with noise: OVERRDNS measures the read noise (in electrons, gain 2)
    noisy = raw + rng.normal(0, 2.0, raw.shape).astype(np.float32)
    _, info = subtract_overscan(noisy, datasec, biassec, nbiascontam=4, read_noise_adu=2.0,
                                gain=2.0, **ROW_MEANS)
    assert info["OVERRDNS"] == pytest.approx(4.0, rel=0.05)
    assert info["OVERRMS"] == pytest.approx(2.0 / math.sqrt(27))


@pytest.mark.parametrize("function", ["chebyshev", "spline3"])
def test_fitted_overscan_follows_smooth_level(function):
    rng = np.random.default_rng(2)
    ny = 400
    datasec, biassec = parse_section("[1:50,1:400]"), parse_section("[51:82,1:400]")
    level = 480 + 5 * (np.arange(ny) / ny) ** 2
    raw = np.repeat(level[:, None], 82, axis=1) + rng.normal(0, 3, (ny, 82))
    out, _ = subtract_overscan(raw.astype(np.float32), datasec, biassec, nbiascontam=4,
                               read_noise_adu=3.0, function=function, order=4,
                               lsigma=3.0, hsigma=3.0, niter=2)
    data = out[datasec.slice]
    # a smooth fit leaves only the per-pixel noise (no row-mean noise added)
    assert abs(float(data.mean())) < 0.05
    assert float(data.mean(axis=1).std()) < 3 / math.sqrt(50) * 1.3


def test_overscan_bad_arguments():
    with pytest.raises(ValueError, match="none, spline3 or chebyshev"):
        subtract_overscan(np.zeros((4, 40)), parse_section("[1:8,1:4]"),
                          parse_section("[9:40,1:4]"), nbiascontam=4, read_noise_adu=1,
                          function="poly", lsigma=3.0, hsigma=3.0, niter=0)
    with pytest.raises(ValueError, match="overlaps the data"):
        overscan_columns(parse_section("[1:40,1:4]"), parse_section("[1:8,1:4]"), 4)


# ----------------------------------------------------------------------------- prepare
def test_dq_var_gain_poisson():
    raw = np.array([[100, 65535], [70000, 5]], np.float32)
    bpm = np.array([[False, False], [False, True]])
    dq = make_dq(raw, 65535, bpm=bpm)
    assert dq.tolist() == [[0, 4], [4, 1]]
    var = np.full((2, 2), (4.0 / 2.0) ** 2, np.float32)  # (read noise / gain)^2, ADU^2
    sci_e, var_e = adu_to_electrons(raw, var, 2.0)
    assert sci_e[0, 0] == 200 and var_e[0, 0] == 16
    v = add_poisson_var(var_e, np.array([[10.0, -5.0], [0.0, 3.0]], np.float32))
    assert v.tolist() == [[26.0, 16.0], [16.0, 19.0]]


def test_hamamatsu_dead_rows():
    rows = hamamatsu_dead_rows(2112, 2, 0)
    assert rows.sum() == 24 and rows[:24].all()
    assert hamamatsu_dead_rows(150, 2, 1986).sum() == 0  # a central ROI has none
    assert hamamatsu_dead_rows(100, 4, 40).sum() == 2  # rows 40, 44 of the CCD


def test_bias_and_flat_correction_propagate():
    sci = np.full((3, 3), 110.0, np.float32)
    var = np.full((3, 3), 4.0, np.float32)
    dq = np.zeros((3, 3), np.uint16)
    b_sci = np.full((3, 3), 10.0, np.float32)
    b_var = np.full((3, 3), 1.0, np.float32)
    b_dq = np.zeros((3, 3), np.uint16)
    b_dq[0, 0] = dqbits.BAD_PIXEL
    s, v, d = subtract_bias(sci, var, dq, b_sci, b_var, b_dq)
    assert np.allclose(s, 100) and np.allclose(v, 5) and d[0, 0] == 1
    flat = np.full((3, 3), 2.0, np.float32)
    flat[1, 1] = 0.0
    fvar = np.full((3, 3), 0.01, np.float32)
    fs, fv, fd = flat_correct(s, v, d, flat, fvar, np.zeros((3, 3), np.uint16))
    assert fs[0, 1] == pytest.approx(50.0)
    assert fv[0, 1] == pytest.approx(5 / 4 + 100**2 * 0.01 / 16)
    assert fd[1, 1] & dqbits.BAD_PIXEL and fs[1, 1] == pytest.approx(100.0)
    with pytest.raises(ValueError, match=r"bias shape \(2, 2\) differs .* \(3, 3\)"):
        subtract_bias(sci, var, dq, b_sci[:2, :2], None, None)


# ----------------------------------------------------------------------------- stacking
def test_minmax_hand_example():
    # 5 frames, one pixel row: values worked out by hand
    x = np.array([[[1.0, 5.0, 9.0]], [[2.0, 4.0, 8.0]], [[3.0, 3.0, 7.0]],
                  [[4.0, 2.0, 100.0]], [[50.0, 1.0, 6.0]]], np.float32)
    sci, var, dq, nrej = combine_block(x, None, None, operation="mean", reject="minmax",
                                       nlow=1, nhigh=1)
    assert sci.tolist() == [[3.0, 3.0, 8.0]]
    assert nrej.tolist() == [[2, 2, 2]]
    sci, *_ = combine_block(x, None, None, operation="median", reject="none")
    assert sci.tolist() == [[3.0, 3.0, 8.0]]
    sci, *_ = combine_block(x[:4], None, None, operation="lmedian", reject="none")
    assert sci.tolist() == [[2.0, 3.0, 8.0]]  # lower of the two middle values


def test_sigclip_rejects_outlier_and_keeps_rest():
    rng = np.random.default_rng(3)
    x = rng.normal(100, 1, (15, 20, 20)).astype(np.float32)
    x[4, 10, 10] = 200.0
    sci, var, dq, nrej = combine_block(x, None, None, reject="sigclip", operation="mean", **CLIP)
    assert nrej[10, 10] >= 1
    assert abs(sci[10, 10] - 100) < 1.5


def test_varclip_and_variance_formulae_against_monte_carlo():
    rng = np.random.default_rng(4)
    n = 8
    x = rng.normal(50, 3, (n, 200, 200)).astype(np.float32)
    var = np.full(x.shape, 9.0, np.float32)
    sci, out_var, _, _ = combine_block(x, var, None, operation="mean", reject="none")
    assert float(out_var.mean()) == pytest.approx(9 / n)
    assert float(sci.var()) == pytest.approx(9 / n, rel=0.05)
    sci, out_var, _, _ = combine_block(x, var, None, operation="median", reject="none")
    assert float(out_var.mean()) == pytest.approx(math.pi / 2 * 9 / n)
    assert float(sci.var()) == pytest.approx(math.pi / 2 * 9 / n, rel=0.15)
    sci, out_var, _, _ = combine_block(x, var, None, operation="wtmean", reject="none")
    assert float(out_var.mean()) == pytest.approx(9 / n)
    sci, out_var, _, nrej = combine_block(x, var, None, reject="varclip", operation="mean", **CLIP)
    assert float(nrej.mean()) < 0.05  # 3 sigma on Gaussian data rejects ~0.3 %


def test_dq_class_preference():
    x = np.array([[[10.0]], [[20.0]], [[1000.0]]], np.float32)
    dq = np.array([[[0]], [[dqbits.SATURATED]], [[dqbits.BAD_PIXEL]]], np.uint16)
    sci, _, out_dq, _ = combine_block(x, None, dq, reject="none", operation="mean")
    # good and saturated are one class; the bad pixel is not used; DQ ORs what was used
    assert sci[0, 0] == 15.0 and out_dq[0, 0] == dqbits.SATURATED
    dq2 = np.array([[[dqbits.NO_DATA]], [[dqbits.UNILLUMINATED]], [[dqbits.BAD_PIXEL]]],
                   np.uint16)
    sci, _, out_dq, _ = combine_block(x, None, dq2, reject="none", operation="mean")
    assert sci[0, 0] == 1000.0 and out_dq[0, 0] == dqbits.BAD_PIXEL
    sci, _, out_dq, _ = combine_block(x, None, np.full(x.shape, 16, np.uint16),
                                      operation="mean", reject="none")
    assert out_dq[0, 0] & dqbits.NO_DATA


def test_scale_and_zero():
    x = np.stack([np.full((2, 2), 10.0), np.full((2, 2), 25.0)]).astype(np.float32)
    sci, *_ = combine_block(x, None, None, operation="mean", reject="none", scale=[1.0, 2.0],
                            zero=[0.0, 40.0])
    assert np.allclose(sci, 10.0)


@pytest.mark.parametrize("reject", ["none", "minmax", "sigclip", "varclip"])
def test_block_heights_give_identical_output(reject):
    rng = np.random.default_rng(5)
    n, ny, nx = 6, 37, 23
    sci = rng.normal(0, 1, (n, ny, nx)).astype(np.float32)
    var = np.ones_like(sci)
    dq = (rng.random((n, ny, nx)) < 0.05).astype(np.uint16) * dqbits.BAD_PIXEL
    readers = [lambda y0, y1, k=k: (sci[k, y0:y1], var[k, y0:y1], dq[k, y0:y1])
               for k in range(n)]
    results = [stack_frames(readers, ny, nx, block_rows_override=h, reject=reject, nlow=1,
                            nhigh=1, operation="mean", **CLIP) for h in (1, 7, ny)]
    for other in results[1:]:
        for a, b in zip(results[0], other, strict=True):
            assert np.array_equal(a, b)


def test_stack_memory_does_not_grow_with_frames():
    ny, nx = 400, 300
    budget = 4 * 1024 * 1024

    def peak(n):
        frame = np.ones((ny, nx), np.float32)
        dq = np.zeros((ny, nx), np.uint16)
        readers = [lambda y0, y1: (frame[y0:y1], frame[y0:y1], dq[y0:y1])] * n
        tracemalloc.start()
        stack_frames(readers, ny, nx, memory_bytes=budget, operation="mean", reject="sigclip",
                     **CLIP)
        _, top = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        return top

    outputs = ny * nx * (4 + 4 + 2 + 2)
    p10, p40 = peak(10), peak(40)
    assert p10 < outputs + 3 * budget and p40 < outputs + 3 * budget
    assert block_rows(40, nx, budget) < block_rows(10, nx, budget)


# ----------------------------------------------------------------------------- flats
def test_flat_helpers():
    assert flat_rejection_for_count(2) == ("none", 0, 0)
    assert flat_rejection_for_count(5) == ("minmax", 1, 1)
    assert flat_rejection_for_count(6) == ("minmax", 2, 2)
    assert flat_rejection_for_count(11) == ("minmax", 2, 3)
    ys, xs = ccd2_stat_region((1000, 400))
    assert (ys.start, ys.stop, xs.start, xs.stop) == (50, 950, 20, 380)
    rng = np.random.default_rng(6)
    ref = rng.normal(1000, 10, (100, 100)).astype(np.float32)
    dq = np.zeros((100, 100), np.uint16)
    f = flat_scale_factors([(ref, dq), (ref * 0.5, dq), (ref * 2, dq)])
    assert f == pytest.approx([1.0, 2.0, 0.5])
    level = flat_normalisation(ref, dq)
    assert level == pytest.approx(1000, abs=1.0)
    sci, var, dqs = normalize_flat([ref], [np.full_like(ref, 4.0)],
                                   [np.where(ref > 1020, 64, 0).astype(np.uint16)], 1000.0)
    assert np.allclose(sci[0][dqs[0] > 0], 1.0)
    assert var[0][0, 0] == pytest.approx(4e-6)


def test_prepared_frame_keeps_the_sky_position_of_every_pixel(tmp_path):
    """Trimming the overscan moves the WCS reference pixel with the data (e2v amps with the
    overscan on the left)."""
    import datetime as dt

    from astropy.wcs import WCS

    from gmoslib.calibration.raw_frame import load_prepared
    from gmoslib.instrument.detectors import LAYOUTS
    from gmoslib.io.fitsio import read_raw
    from gmoslib.sim import FrameSpec, make_detector_model, write_raw

    model = make_detector_model(LAYOUTS["GN-e2vDD"], 4, 4)
    path = str(tmp_path / "N20140502S0088.fits")
    write_raw(path, model, FrameSpec("science", "N20140502S0088",
                                     dt.datetime(2014, 5, 2, 9), 10.0, filter2="g_G0301",
                                     object="starfield", sky_e=100.0), seed=1)
    raw = read_raw(path)
    prepared = load_prepared(path, overscan={})
    for e_raw, e_prep in zip(raw.exts, prepared.exts, strict=True):
        d = parse_section(e_raw.header["DATASEC"])
        a = WCS(e_raw.header).pixel_to_world_values(d.x1 + 5.0, d.y1 + 7.0)
        b = WCS(e_prep.header).pixel_to_world_values(5.0, 7.0)
        assert np.allclose(a, b, atol=1e-10)
