"""Tests of gmoslib.stacking: truth from hand-worked examples, astropy's sigma_clip and numpy
references written here; the one fast path against the plain path."""

import math
import tracemalloc

import numpy as np
import pytest
from astropy.stats import sigma_clip

from gmoslib.io import dq as dqbits
from gmoslib.stacking import block_rows, clean, combine_block, median_rows, stack_frames
from gmoslib.stacking.reject import minmax_reject, set_nan, usable_values

#: clipping parameters (stackBiases' defaults): limits in sigma, about the median
CLIP = {"lsigma": 3.0, "hsigma": 3.0, "mclip": True}
SIGCLIP = {"operation": "mean", "reject": "sigclip", **CLIP}
VARCLIP = {"operation": "mean", "reject": "varclip", **CLIP}


def _block(n=9, ny=6, nx=5, seed=1, var=True):
    rng = np.random.default_rng(seed)
    sci = rng.normal(100.0, 5.0, (n, ny, nx)).astype(np.float32)
    v = rng.uniform(16, 36, (n, ny, nx)).astype(np.float32) if var else None
    return sci, v


def test_mean_no_rejection_and_var():
    sci = np.array([[[1, 2, 3, 4, 5]], [[3, 4, 5, 6, 7]], [[5, 6, 10, 8, 9]]], np.float32)
    var = np.ones_like(sci) * np.array([1, 2, 3], np.float32)[:, None, None]
    s, v, d, r = combine_block(sci, var, None, operation="mean", reject="none")
    np.testing.assert_allclose(s[0], [3, 4, 6, 6, 7])
    np.testing.assert_allclose(v[0], 6 / 9)
    assert d.dtype == np.uint16 and not d.any()
    assert r.dtype == np.int16 and not r.any()
    assert s.dtype == np.float32 and v.dtype == np.float32


def test_minmax_hand_worked():
    # 5 frames, one row of 3 pixels; nlow=1 nhigh=1 -> mean of the middle 3
    sci = np.array([[[1, 10, 5]], [[2, 20, 5]], [[3, 30, 5]], [[4, 40, 5]], [[100, 0, 5]]],
                   np.float32)
    s, _, _, r = combine_block(sci, None, None, reject="minmax", nlow=1, nhigh=1, operation="mean")
    np.testing.assert_allclose(s[0], [3, 20, 5])
    np.testing.assert_array_equal(r[0], [2, 2, 2])


def test_minmax_ties_earlier_frame_is_lower():
    # equal values: the first frames are the lowest, the last the highest (their VARs tell)
    sci = np.full((3, 1, 1), 5.0, np.float32)
    var = np.array([1, 2, 4], np.float32).reshape(3, 1, 1)
    _, v, _, _ = combine_block(sci, var, None, reject="minmax", nlow=0, nhigh=1, operation="mean")
    assert v[0, 0] == pytest.approx((1 + 2) / 4)
    _, v, _, _ = combine_block(sci, var, None, reject="minmax", nlow=1, nhigh=0, operation="mean")
    assert v[0, 0] == pytest.approx((2 + 4) / 4)


def test_minmax_fraction_with_bad_pixels():
    # N=5, nlow=nhigh=1; one pixel has 2 unusable inputs -> n=3, nl = floor(3/5+.001) = 0
    sci = np.array([[[1.0, 1]], [[2, 2]], [[3, 3]], [[4, 4]], [[50, 50]]], np.float32)
    dq = np.zeros(sci.shape, np.uint16)
    dq[3:, 0, 1] = dqbits.BAD_PIXEL
    s, _, d, r = combine_block(sci, None, dq, reject="minmax", nlow=1, nhigh=1, operation="mean")
    np.testing.assert_allclose(s[0], [3.0, 2.0])
    np.testing.assert_array_equal(r[0], [2, 0])
    np.testing.assert_array_equal(d[0], [0, 0])


def test_sigclip_hand_worked():
    # values 10,11,9,10,100 with lsigma=hsigma=1: pass 1 median 10, pop std 36 -> 100 out;
    # pass 2 (10,11,9,10) median 10, std 0.707 -> 9 and 11 out; pass 3 (10,10) std 0: stop
    sci = np.array([10, 11, 9, 10, 100], np.float32).reshape(5, 1, 1)
    s, _, _, r = combine_block(sci, None, None, operation="mean", reject="sigclip", lsigma=1,
                               hsigma=1, mclip=True)
    assert s[0, 0] == pytest.approx(10.0)
    assert r[0, 0] == 3
    # one pass only (max_iters=1): just 100 rejected
    s1, _, _, r1 = combine_block(sci, None, None, reject="sigclip", lsigma=1, hsigma=1,
                                 max_iters=1, operation="mean", mclip=True)
    assert s1[0, 0] == pytest.approx(10.0) and r1[0, 0] == 1


@pytest.mark.parametrize("lsigma, hsigma", [(2.0, 2.0), (1.5, 2.5)])
def test_sigclip_vs_astropy_sigma_clip(lsigma, hsigma):
    # astropy's sigma_clip: median centre, population std, limits kept, until nothing changes
    rng = np.random.default_rng(3)
    sci = rng.normal(0, 1, (11, 4, 6)).astype(np.float32)
    sci[rng.integers(0, 11, 10), rng.integers(0, 4, 10), rng.integers(0, 6, 10)] += 8
    s, _, _, r = combine_block(sci, None, None, reject="sigclip", lsigma=lsigma,
                               hsigma=hsigma, operation="mean", mclip=True)
    kept = sigma_clip(sci.astype(np.float64), sigma_lower=lsigma, sigma_upper=hsigma,
                      maxiters=None, cenfunc="median", stdfunc="std", axis=0)
    np.testing.assert_allclose(s, kept.mean(axis=0), atol=1e-5)
    np.testing.assert_array_equal(r, kept.mask.sum(axis=0))
    assert r.sum() >= 10  # the outliers were rejected, and more with several passes


def test_varclip_uses_pixel_variance_and_falls_back():
    sci = np.array([10, 10.5, 9.5, 10, 13.5], np.float32).reshape(5, 1, 1)
    var = np.full(sci.shape, 1.0, np.float32)
    _, _, _, r = combine_block(sci, var, None, **VARCLIP)
    assert r[0, 0] == 1  # 13.5 is > 3 sigma (sqrt VAR = 1) above the median 10
    _, _, _, r2 = combine_block(sci, None, None, **VARCLIP)  # -> sigclip, no rejection
    _, _, _, r3 = combine_block(sci, None, None, **SIGCLIP)
    assert r2[0, 0] == r3[0, 0]


@pytest.mark.parametrize("op", ["median", "lmedian"])
def test_median_variants(op):
    sci = np.array([[[4, 1]], [[1, 2]], [[3, 3]], [[2, 7]]], np.float32)
    var = np.full(sci.shape, 2.0, np.float32)
    s, v, _, _ = combine_block(sci, var, None, operation=op, reject="none")
    want = [2.5, 2.5] if op == "median" else [2, 2]
    np.testing.assert_allclose(s[0], want)
    np.testing.assert_allclose(v[0], math.pi / 2 * 2.0 / 4, rtol=1e-6)


def test_median_matches_nanmedian_float32_random():
    sci, _ = _block(n=7, ny=20, nx=30, seed=5, var=False)
    s, _, _, _ = combine_block(sci, None, None, operation="median", reject="none")
    np.testing.assert_allclose(s, np.nanmedian(sci, axis=0), rtol=1e-6)


def test_wtmean():
    sci = np.array([1, 4], np.float32).reshape(2, 1, 1)
    var = np.array([1, 4], np.float32).reshape(2, 1, 1)
    s, v, _, _ = combine_block(sci, var, None, operation="wtmean", reject="none")
    assert s[0, 0] == pytest.approx((1 + 1) / 1.25)
    assert v[0, 0] == pytest.approx(1 / 1.25)


def test_mean_without_var_is_sample_variance_over_n():
    sci, _ = _block(n=6, seed=2, var=False)
    _, v, _, _ = combine_block(sci, None, None, reject="none", operation="mean")
    np.testing.assert_allclose(v, np.var(sci.astype(float), axis=0, ddof=1) / 6, rtol=1e-5)


def test_dq_class_preference_and_or():
    sci = np.array([1, 2, 3, 40], np.float32).reshape(4, 1, 1) * np.ones((4, 1, 3), np.float32)
    dq = np.zeros(sci.shape, np.uint16)
    # pixel 0: frame 3 is a cosmic ray, frame 1 saturated (still class 0) -> mean of 1,2,3
    dq[3, 0, 0] = dqbits.COSMIC_RAY
    dq[1, 0, 0] = dqbits.SATURATED
    # pixel 1: everything bad except frame 3 being only a cosmic ray -> use frame 3 alone
    dq[:3, 0, 1] = dqbits.BAD_PIXEL
    dq[3, 0, 1] = dqbits.COSMIC_RAY
    # pixel 2: all no data
    dq[:, 0, 2] = dqbits.NO_DATA
    s, v, d, _ = combine_block(sci, None, dq, reject="none", operation="mean")
    np.testing.assert_allclose(s[0], [2, 40, 0])
    np.testing.assert_array_equal(d[0], [dqbits.SATURATED, dqbits.COSMIC_RAY, dqbits.NO_DATA])
    assert v[0, 2] == 0
    s2, _, d2, _ = combine_block(sci, None, dq, reject="none", apply_dq=False, operation="mean")
    assert s2[0, 0] == pytest.approx(11.5)


def test_zero_and_scale():
    sci = np.array([10, 21, 32], np.float32).reshape(3, 1, 1)
    var = np.ones(sci.shape, np.float32)
    s, v, _, _ = combine_block(sci, var, None, reject="none", scale=[1, 1, 0.5],
                               zero=[0, 11, 6], operation="mean")
    assert s[0, 0] == pytest.approx(10.0)
    assert v[0, 0] == pytest.approx((1 + 1 + 0.25) / 9)


def test_n1_and_n2():
    sci, var = _block(n=1, seed=4)
    s, v, d, r = combine_block(sci, var, None, operation="mean", **CLIP)
    np.testing.assert_array_equal(s, sci[0])
    np.testing.assert_allclose(v, var[0])
    sci2, var2 = _block(n=2, seed=4)
    s, v, _, _ = combine_block(sci2, var2, None, **SIGCLIP)
    np.testing.assert_allclose(s, sci2.mean(axis=0), rtol=1e-6)


def test_inputs_not_modified():
    sci, var = _block(seed=6)
    dq = np.zeros(sci.shape, np.uint16)
    dq[0, 0, 0] = 1
    copies = sci.copy(), var.copy(), dq.copy()
    combine_block(sci, var, dq, operation="mean", reject="minmax", nlow=1, nhigh=1,
                  scale=np.ones(9))
    combine_block(sci, var, dq, zero=np.ones(9), **VARCLIP)
    for a, b in zip((sci, var, dq), copies, strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("op", ["mean", "median"])
def test_var_formula_vs_monte_carlo(op):
    rng = np.random.default_rng(7)
    n, trials = 8, 20000
    sci = rng.normal(0, 2.0, (n, 1, trials)).astype(np.float32)
    var = np.full(sci.shape, 4.0, np.float32)
    s, v, _, _ = combine_block(sci, var, None, operation=op, reject="none")
    # the mean's formula is exact; the median's (pi/2) rule is the large-n asymptote
    # (for n = 8 the true variance of the median is ~1.39 sigma^2/n, not 1.57)
    ratio = np.var(s) / float(v.mean())
    assert ratio == pytest.approx(1.0, rel=0.05) if op == "mean" else 0.8 < ratio < 1.0


def _readers(sci, var, dq):
    return [lambda y0, y1, k=k: (sci[k, y0:y1], var[k, y0:y1], dq[k, y0:y1])
            for k in range(sci.shape[0])]


@pytest.mark.parametrize("reject,kw", [("sigclip", CLIP), ("minmax", {"nlow": 1, "nhigh": 2}),
                                       ("varclip", CLIP), ("none", {"operation": "lmedian"})])
def test_block_heights_give_identical_output(reject, kw):
    rng = np.random.default_rng(8)
    n, ny, nx = 6, 23, 11
    sci = rng.normal(50, 3, (n, ny, nx)).astype(np.float32)
    var = np.full(sci.shape, 9.0, np.float32)
    dq = np.where(rng.random(sci.shape) < 0.1, dqbits.COSMIC_RAY, 0).astype(np.uint16)
    kw = {"operation": "mean", **kw}
    results = [stack_frames(_readers(sci, var, dq), ny, nx, block_rows_override=b,
                            reject=reject, **kw) for b in (1, 7, ny)]
    whole = combine_block(sci, var, dq, reject=reject, **kw)
    for res in results:
        for a, b in zip(res, whole, strict=True):
            np.testing.assert_array_equal(a, b)


def test_block_rows_arithmetic():
    assert block_rows(10, 100, 10 * 100 * 50 * 7, 50) == 7
    assert block_rows(1000, 10000, 1, 50) == 1


def test_memory_bounded_independent_of_n():
    ny, nx, budget = 200, 256, 4 * 1024 * 1024
    rng = np.random.default_rng(9)
    base = rng.normal(100, 5, (ny, nx)).astype(np.float32)
    vbase = np.full((ny, nx), 25.0, np.float32)
    dbase = np.zeros((ny, nx), np.uint16)
    reader = [lambda y0, y1: (base[y0:y1], vbase[y0:y1], dbase[y0:y1])]
    peaks = {}
    for n in (10, 40):
        for reject, kw in (("sigclip", CLIP), ("varclip", CLIP),
                           ("varclip", {**CLIP, "operation": "wtmean"}),
                           ("minmax", {"nlow": 1, "nhigh": 1})):
            tracemalloc.start()
            stack_frames(reader * n, ny, nx, memory_bytes=budget, reject=reject,
                         **{"operation": "mean", **kw})
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
            outputs = ny * nx * (4 + 4 + 2 + 2)
            peaks[n, reject] = peak - outputs
            assert peak - outputs <= budget, (n, reject, peak)


def _np_minmax(vals, n_total, nlow, nhigh):
    n = vals.size
    nl = int(np.floor(n * nlow / n_total + 0.001))
    nh = int(np.floor(n * nhigh / n_total + 0.001))
    return np.sort(vals)[nl:n - nh]


def test_minmax_vs_numpy_reference():
    rng = np.random.default_rng(11)
    sci = rng.normal(0, 1, (7, 5, 6)).astype(np.float32)
    dq = np.where(rng.random(sci.shape) < 0.2, dqbits.BAD_PIXEL, 0).astype(np.uint16)
    dq[:, 0, 0] = 0
    s, _, _, r = combine_block(sci, None, dq, reject="minmax", nlow=2, nhigh=1, operation="mean")
    for y in range(5):
        for x in range(6):
            good = dq[:, y, x] == 0
            vals = sci[good, y, x] if good.any() else sci[:, y, x]
            kept = _np_minmax(vals.astype(np.float64), 7, 2, 1)
            assert s[y, x] == pytest.approx(kept.mean(), abs=1e-5)
            assert r[y, x] == vals.size - kept.size


def test_varclip_vs_numpy_reference():
    rng = np.random.default_rng(12)
    sci = rng.normal(0, 1, (9, 4, 5)).astype(np.float32)
    sci[2, 1, 1] += 6
    sci[4, 2, 3] -= 5
    var = rng.uniform(0.5, 1.5, sci.shape).astype(np.float32)
    s, _, _, r = combine_block(sci, var, None, **VARCLIP)
    for y in range(4):
        for x in range(5):
            vals = sci[:, y, x].astype(np.float64)
            sd = np.sqrt(var[:, y, x].astype(np.float64))
            keep = np.ones(9, bool)
            for _ in range(100):
                c = np.median(vals[keep])
                new = keep & (vals >= c - 3 * sd) & (vals <= c + 3 * sd)
                if (new == keep).all():
                    break
                keep = new
            assert s[y, x] == pytest.approx(vals[keep].mean(), abs=1e-5)
            assert r[y, x] == 9 - keep.sum()
    assert r[1, 1] >= 1 and r[2, 3] >= 1


def test_mclip_false_uses_mean_after_first_pass():
    # first pass about the median (rejects 55), then about the mean (6.43: nothing more);
    # about the median throughout (mclip), 1 and then 4 go too
    sci = np.array([1, 4, 6, 8, 8, 8, 10, 55], np.float32).reshape(8, 1, 1)
    vals = sci[:, 0, 0].astype(np.float64)
    first = sigma_clip(vals, sigma=2, maxiters=1, cenfunc="median", stdfunc="std")
    about_mean = sigma_clip(first, sigma=2, maxiters=None, cenfunc="mean", stdfunc="std")
    about_median = sigma_clip(vals, sigma=2, maxiters=None, cenfunc="median", stdfunc="std")
    assert about_mean.mask.sum() == 1 and about_median.mask.sum() == 3
    for mclip, kept in ((False, about_mean), (True, about_median)):
        s, _, _, r = combine_block(sci, None, None, reject="sigclip", lsigma=2, hsigma=2,
                                   mclip=mclip, operation="mean")
        assert s[0, 0] == pytest.approx(kept.mean())
        assert r[0, 0] == kept.mask.sum()


def test_shape_errors():
    sci = np.zeros((3, 2, 2), np.float32)
    with pytest.raises(ValueError, match=r"var must have shape \(3, 2, 2\), got \(2, 2, 2\)"):
        combine_block(sci, np.zeros((2, 2, 2)), None, operation="mean", **CLIP)
    with pytest.raises(ValueError, match=r"scale must have shape \(3,\)"):
        combine_block(sci, None, None, scale=[1, 2], operation="mean", **CLIP)
    with pytest.raises(ValueError, match="operation"):
        combine_block(sci, operation="sum")


@pytest.mark.parametrize("n", [2, 3, 5, 10, 17, 32, 33, 50])
def test_median_rows(n):
    rng = np.random.default_rng(n)
    x = rng.normal(0, 1, (n, 1000)).astype(np.float32)
    x[:, :10] = 1.0  # ties
    before = x.copy()
    np.testing.assert_array_equal(median_rows(x), np.median(x.astype(np.float64), axis=0))
    low, median, high = median_rows(x, extremes=True)
    np.testing.assert_array_equal(median, median_rows(x))
    np.testing.assert_array_equal(low, x.min(axis=0))
    np.testing.assert_array_equal(high, x.max(axis=0))
    np.testing.assert_array_equal(x, before)  # (not modified)


def _plain_path_only(monkeypatch):
    """Make the fast path take no pixel: everything goes through the plain path."""
    def nothing(x, *args):
        m = x.shape[1]
        return np.zeros(m, bool), (np.zeros(m), np.zeros(m), np.zeros(m, np.uint16),
                                   np.zeros(m, np.int16))

    monkeypatch.setattr(clean, "mean_of_clean_pixels", nothing)


def _fast_and_plain(monkeypatch, *args, **kw):
    fast = combine_block(*args, **kw)
    with monkeypatch.context() as m:
        _plain_path_only(m)
        plain = combine_block(*args, **kw)
    return fast, plain


@pytest.mark.parametrize("reject,kw", [
    ("sigclip", {}), ("sigclip", {"mclip": False, "lsigma": 2.0}), ("sigclip", {"max_iters": 1}),
    ("varclip", {}), ("varclip", {"hsigma": 2.0, "max_iters": 2}),
    ("varclip", {"scale": np.linspace(0.8, 1.2, 50), "zero": np.linspace(-3, 3, 50)}),
    ("sigclip", {"apply_dq": False}),
])
@pytest.mark.parametrize("n", [50, 10, 5, 2])
@pytest.mark.parametrize("var_kind", ["per_pixel", "per_frame", "per_frame_differs", "none"])
def test_fast_path_equals_plain_path(reject, kw, n, var_kind, monkeypatch):
    # clean pixels take the fast path; outliers, DQ mixes, NaNs and NO_DATA the plain one
    rng = np.random.default_rng(13 + n)
    shape = (n, 40, 50)
    sci = rng.normal(100.0, 4.0, shape).astype(np.float32)
    sci[rng.random(shape) < 0.1 / n] += rng.choice([-60.0, 60.0])
    sci[:, 3, :10] = 102.0  # ties
    sci[:2, 4, :10] += 30.0  # two outliers in one pixel: a second pass
    var = {"per_pixel": rng.uniform(12, 20, shape).astype(np.float32),
           "per_frame": np.broadcast_to(np.float32(16.0), shape),
           "per_frame_differs": np.broadcast_to(
               np.linspace(20, 12, n, dtype=np.float32)[:, None, None], shape),
           "none": None}[var_kind]
    dq = np.zeros(shape, np.uint16)
    dq[rng.random(shape) < 0.2 / n] = dqbits.COSMIC_RAY
    dq[:, :3] |= dqbits.BAD_PIXEL
    dq[:, 5] = dqbits.NO_DATA | dqbits.UNILLUMINATED
    dq[0, 5, :4] |= dqbits.COSMIC_RAY  # (NO_DATA everywhere, classes differ)
    dq[0, 7] = dqbits.SATURATED
    sci[1, 9, :5] = np.nan
    kw = {"operation": "mean", **CLIP,
          **{k: (v[:n] if isinstance(v, np.ndarray) else v) for k, v in kw.items()}}
    fast, plain = _fast_and_plain(monkeypatch, sci, var, dq, reject=reject, **kw)
    for a, b in zip(fast, plain, strict=True):
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)
    if n >= 5:  # (both paths are used)
        x = sci.reshape(n, -1).astype(np.float64)
        v = None if var is None else np.asarray(var, np.float64).reshape(n, -1)
        done, _ = clean.mean_of_clean_pixels(x, v, dq.reshape(n, -1),
                                             reject == "varclip" and var is not None,
                                             kw["lsigma"], kw["hsigma"],
                                             kw.get("apply_dq", True))
        assert done.any() and not done.all()


def test_fast_path_at_the_limit_on_a_high_level(monkeypatch):
    # a value at the 3-sigma limit (to the last float32 step) on a level of 1e4-6e4 with a
    # small spread: the fast path must make the plain path's decision
    rng = np.random.default_rng(5)
    checked = 0
    for _ in range(300):
        n = int(rng.choice([10, 16]))
        base = np.float32(rng.choice([1e4, 6e4]))
        sd = rng.uniform(0.05, 1.0)
        v = (base + rng.normal(0, sd, n)).astype(np.float32)

        def margin(low, v=v):
            w = v.astype(np.float64)
            w[0] = low
            return np.median(w) - w[0] - 3 * np.std(w)

        a, b = float(base) - 1e-6, float(base) - 100 * sd
        if margin(np.float32(a)) > 0 or margin(np.float32(b)) < 0:
            continue
        for _ in range(60):  # the low value at which the rejection starts
            mid = (a + b) / 2
            a, b = (a, mid) if margin(np.float32(mid)) > 0 else (mid, b)
        lows = [np.float32(b)]
        for _ in range(20):
            lows.append(np.nextafter(lows[-1], np.float32(1e9)))
        sci = np.repeat(v[:, None, None], len(lows), axis=2)
        sci[0, 0, :] = lows
        fast, plain = _fast_and_plain(monkeypatch, sci, None, None, operation="mean",
                                      reject="sigclip", **CLIP)
        np.testing.assert_array_equal(fast[3], plain[3])
        assert fast[3].any() and not fast[3].all()  # both sides of the limit
        checked += 1
    assert checked > 50


@pytest.mark.parametrize("reject", ["sigclip", "varclip"])
def test_identical_values_take_the_fast_path(reject):
    # zero spread: every value equals the median, nothing to clip (constant regions)
    x = np.full((6, 72), 1234.5)
    v = np.full(x.shape, 0.0 if reject == "sigclip" else 4.0)
    done, (s, _, _, r) = clean.mean_of_clean_pixels(x, v, None, reject == "varclip", 3.0,
                                                    3.0, True)
    assert done.all() and (s == 1234.5).all() and not r.any()


def test_lazy_planes_are_read_as_their_arrays():
    # readers may hand out planes computed where they are read (gmoslib.io.frame.LazyPlane):
    # raw integers minus row levels, DQ constant along rows
    from gmoslib.calibration.overscan import RowLevelImage
    from gmoslib.calibration.prepare import RowPlane

    rng = np.random.default_rng(24)
    n, ny, nx = 5, 20, 12
    levels = rng.normal(1000, 2, (n, ny))
    stored = np.round(levels[:, :, None] + rng.normal(0, 3, (n, ny, nx))).astype(">u2")
    stored[2, 3, 4] = 3000
    rows_dq = np.where(np.arange(ny) < 3, dqbits.UNILLUMINATED, 0).astype(np.uint16)
    lazy = [lambda y0, y1, k=k: (RowLevelImage(stored[k], levels[k]).rows(y0, y1),
                                 np.broadcast_to(np.float32(9.0), (y1 - y0, nx)),
                                 RowPlane(rows_dq, nx).rows(y0, y1)) for k in range(n)]
    sci = (stored - levels[:, :, None]).astype(np.float32)
    want = combine_block(sci, np.full(sci.shape, 9.0, np.float32),
                         np.broadcast_to(rows_dq[None, :, None], sci.shape), **VARCLIP)
    got = stack_frames(lazy, ny, nx, block_rows_override=7, **VARCLIP)
    for a, b in zip(got, want, strict=True):
        np.testing.assert_array_equal(a, b)
    assert got[3][3, 4] == 1 and (got[2][:3] == dqbits.UNILLUMINATED).all()


@pytest.mark.parametrize("reject", ["varclip", "minmax", "none"])
def test_constant_var_readers_give_the_same_stack(reject):
    # readers may return a broadcast VAR (one value per frame, e.g. a bias's read noise)
    rng = np.random.default_rng(21)
    n, ny, nx = 7, 30, 20
    sci = rng.normal(0, 3, (n, ny, nx)).astype(np.float32)
    sci[2, 4, 5] += 40
    levels = np.linspace(8, 10, n).astype(np.float32)
    full = np.broadcast_to(levels[:, None, None], sci.shape).copy()
    dq = np.zeros(sci.shape, np.uint16)
    dq[:, 0] = dqbits.NO_DATA
    kw = {"nlow": 1, "nhigh": 1} if reject == "minmax" else CLIP
    kw = {"operation": "mean", **kw}
    const = [lambda y0, y1, k=k: (sci[k, y0:y1], np.broadcast_to(levels[k], (y1 - y0, nx)),
                                  dq[k, y0:y1]) for k in range(n)]
    a = stack_frames(const, ny, nx, block_rows_override=8, reject=reject, **kw)
    b = stack_frames(_readers(sci, full, dq), ny, nx, block_rows_override=8, reject=reject,
                     **kw)
    for x, y in zip(a, b, strict=True):
        np.testing.assert_allclose(x, y, rtol=1e-6)


def test_threads_give_identical_output():
    rng = np.random.default_rng(22)
    n, ny, nx = 5, 40, 16
    sci = rng.normal(50, 3, (n, ny, nx)).astype(np.float32)
    var = np.full(sci.shape, 9.0, np.float32)
    dq = np.where(rng.random(sci.shape) < 0.05, dqbits.COSMIC_RAY, 0).astype(np.uint16)
    one = stack_frames(_readers(sci, var, dq), ny, nx, block_rows_override=6, **SIGCLIP)
    two = stack_frames(_readers(sci, var, dq), ny, nx, block_rows_override=6, reject="sigclip",
                       threads=2, operation="mean", **CLIP)
    for a, b in zip(one, two, strict=True):
        np.testing.assert_array_equal(a, b)


def test_uint8_dq_readers_give_the_same_stack():
    # the frame store keeps DQ planes without high bits as uint8
    rng = np.random.default_rng(23)
    n, ny, nx = 6, 30, 20
    sci = rng.normal(0, 3, (n, ny, nx)).astype(np.float32)
    sci[1, 3, 4] += 50
    var = np.full(sci.shape, 9.0, np.float32)
    dq = np.where(rng.random(sci.shape) < 0.05, dqbits.COSMIC_RAY, 0).astype(np.uint16)
    dq[:, 0] = dqbits.NO_DATA | dqbits.UNILLUMINATED
    dq[2, 5] |= dqbits.SATURATED
    a = stack_frames(_readers(sci, var, dq.astype(np.uint8)), ny, nx, block_rows_override=7,
                     **VARCLIP)
    b = stack_frames(_readers(sci, var, dq), ny, nx, block_rows_override=7, **VARCLIP)
    for x, y in zip(a, b, strict=True):
        assert x.dtype == y.dtype
        np.testing.assert_array_equal(x, y)
    assert (a[2][0] == dqbits.NO_DATA).all() and (a[3] > 0).any()


@pytest.mark.parametrize("flags", [[0, 0, 0], [1, 0, 0], [8, 8, 8]])
def test_frames_whose_dq_is_one_value(flags):
    # a frame store hands out a frame with no DQ flag as a broadcast zero (and a DQ could
    # be any broadcast value): the fast path takes such planes as they are
    rng = np.random.default_rng(44)
    n, ny, nx = 3, 12, 9
    sci = rng.normal(5, 1, (n, ny, nx)).astype(np.float32)
    var = np.full(sci.shape, 1.0, np.float32)
    dq = np.stack([np.broadcast_to(np.uint16(f), (ny, nx)) for f in flags])
    const = [lambda y0, y1, k=k: (sci[k, y0:y1], var[k, y0:y1],
                                  np.broadcast_to(np.uint16(flags[k]), (y1 - y0, nx)))
             for k in range(n)]
    got = stack_frames(const, ny, nx, block_rows_override=5, **VARCLIP)
    for res in (got, combine_block(sci, var, np.broadcast_to(
            np.array(flags, np.uint16)[:, None, None], sci.shape), **VARCLIP)):
        for a, b in zip(res, combine_block(sci, var, dq.copy(), **VARCLIP), strict=True):
            np.testing.assert_array_equal(a, b)


def test_stack_frames_checks_its_options_before_reading():
    def read(y0, y1):
        raise AssertionError("a frame was read")

    with pytest.raises(TypeError, match="rejct"):
        stack_frames([read], 4, 4, rejct="none", operation="mean", **CLIP)
    with pytest.raises(ValueError, match="rejection must be one of"):
        stack_frames([read], 4, 4, reject="clip", operation="mean")
    with pytest.raises(ValueError, match=r"zero must have shape \(1,\), got \(2,\)"):
        stack_frames([read], 4, 4, zero=[1.0, 2.0], operation="mean", **CLIP)
    with pytest.raises(ValueError, match="nothing to stack"):
        stack_frames([], 4, 4)
    # the clipping parameters come from the step: no default for sigclip and varclip to use
    with pytest.raises(ValueError, match="sigclip rejection needs mclip"):
        stack_frames([read], 4, 4, operation="mean", lsigma=3.0, hsigma=3.0)
    with pytest.raises(ValueError, match="varclip rejection needs lsigma, hsigma, mclip"):
        stack_frames([read], 4, 4, operation="mean", reject="varclip")
    with pytest.raises(TypeError, match="operation"):
        stack_frames([read], 4, 4, reject="none")


def _argminmax_reject(x, n_usable, nlow, nhigh):
    """The former minmax_reject (argmin/argmax along axis 0): the oracle of the row-wise one."""
    n = x.shape[0]
    nl = np.floor(n_usable * nlow / n + 0.001).astype(np.intp)
    nh = np.floor(n_usable * nhigh / n + 0.001).astype(np.intp)
    lowest = np.where(np.isnan(x), np.inf, x)
    for i in range(int(nl.max(initial=0))):
        k = np.argmin(lowest, axis=0)
        cols = np.flatnonzero(nl > i)
        x[k[cols], cols], lowest[k[cols], cols] = np.nan, np.inf
    highest = np.where(np.isnan(x), -np.inf, x)
    for i in range(int(nh.max(initial=0))):
        k = n - 1 - np.argmax(highest[::-1], axis=0)
        cols = np.flatnonzero(nh > i)
        x[k[cols], cols], highest[k[cols], cols] = np.nan, -np.inf


@pytest.mark.parametrize("n,nlow,nhigh", [(5, 1, 1), (7, 2, 3), (4, 0, 2), (6, 3, 0),
                                          (6, 1, 2), (2, 1, 1), (1, 1, 1), (5, 7, 1)])
def test_minmax_rowwise_equals_argminmax(n, nlow, nhigh):
    # few distinct values (ties, +-0), NaNs and DQ classes (fewer usable values than frames)
    rng = np.random.default_rng(n * 100 + nlow * 10 + nhigh)
    sci = rng.integers(-2, 3, (n, 40, 50)).astype(np.float32) * np.float32(0.5)
    sci[rng.random(sci.shape) < 0.1] *= -1  # (-0.0 beside 0.0)
    sci[rng.random(sci.shape) < 0.1] = np.nan
    dq = rng.choice(np.array([0, 0, 0, dqbits.COSMIC_RAY, dqbits.BAD_PIXEL, dqbits.NO_DATA,
                              dqbits.SATURATED], np.uint16), sci.shape)
    dq[:, :20] = 0
    x = sci.reshape(n, -1).astype(np.float64)
    x[~usable_values(x, dq.reshape(n, -1), True)] = np.nan
    n_usable = (~np.isnan(x)).sum(axis=0)
    want, got = x.copy(), x.copy()
    _argminmax_reject(want, n_usable, nlow, nhigh)
    minmax_reject(got, n_usable, nlow, nhigh)
    np.testing.assert_array_equal(got, want)  # (NaNs in the same places)
    kept = ~np.isnan(want)
    np.testing.assert_array_equal(np.signbit(got[kept]), np.signbit(want[kept]))  # (-0.0)


def test_set_nan_is_boolean_indexing():
    rng = np.random.default_rng(5)
    a = rng.choice(np.array([-0.0, 0.0, 1.5, -2.0, np.inf, -np.inf, np.nan]), (3, 1000))
    mask = rng.random(a.shape) < 0.3
    want, got = a.copy(), a.copy()
    want[mask] = np.nan
    set_nan(got, mask)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    kept = ~np.isnan(want)
    np.testing.assert_array_equal(got[kept].view(np.int64), want[kept].view(np.int64))


def test_usable_values_without_class_bits_is_every_finite_value():
    # (no class bit anywhere: the classes are not computed); one class bit: they are
    rng = np.random.default_rng(6)
    x = np.where(rng.random((4, 300)) < 0.1, np.nan, 1.0)
    dq = rng.choice(np.array([0, dqbits.NON_LINEAR, dqbits.SATURATED], np.uint16), x.shape)
    np.testing.assert_array_equal(usable_values(x, dq, True), np.isfinite(x))
    dq[0, 0] |= dqbits.COSMIC_RAY
    want = np.isfinite(x)
    want[0, 0] = False  # (the other frames are class 0)
    np.testing.assert_array_equal(usable_values(x, dq, True), want)
