"""QECorrect: factors from illuminated, good, source-free sky; implausible factors stop."""

from __future__ import annotations

import numpy as np
import pytest
from astropy.io import fits

from gmoslib.io import dq as dqbits
from gmoslib.io.frame import Extension
from gmoslib.qa.tables import frame_table
from gmoslib.science import qecorrect

SKY = {0: 970.0, 1: 1000.0, 2: 1015.0}  # flat-fielded sky of CCD1/2/3, electrons
TRUE = (SKY[1] / SKY[0], SKY[1] / SKY[2])
NY, NX = 400, 128  # one amplifier (4x4-binned Hamamatsu height / 2)


def _amp(level, seed, *, stars=0, dead_columns=0, star_flux=4e4):
    rng = np.random.default_rng(seed)
    sci = rng.normal(level, np.sqrt(level), (NY, NX)).astype(np.float32)
    dq = np.zeros((NY, NX), np.uint16)
    if stars:
        yy, xx = np.mgrid[0:NY, 0:NX]
        for x0, y0, f in zip(rng.uniform(0, NX, stars), rng.uniform(0, NY, stars),
                             star_flux * rng.uniform(0.05, 1, stars), strict=True):
            r2 = (xx - x0) ** 2 + (yy - y0) ** 2
            sci += (f / (2 * np.pi * 2.0**2) * np.exp(-r2 / (2 * 2.0**2))).astype(np.float32)
    if dead_columns:  # outside the field stop: amplified noise around 0, flagged 64
        sci[:, :dead_columns] = rng.normal(0, 300, (NY, dead_columns))
        dq[:, :dead_columns] = dqbits.UNILLUMINATED
    return Extension(sci, None, dq, fits.Header())


def _frame(**kw):
    exts, ccds = [], []
    for k in (0, 1, 2):
        for a in range(2):
            outer = kw.get("dead_columns", 0) if (k, a) in ((0, 0), (2, 1)) else 0
            exts.append(_amp(SKY[k], 10 * k + a, stars=kw.get("stars", {}).get(k, 0),
                             dead_columns=outer))
            ccds.append(k)
    return exts, ccds


def test_unilluminated_columns_do_not_move_the_factors():
    plain = qecorrect.qe_factors(*_frame())
    walled = qecorrect.qe_factors(*_frame(dead_columns=90))
    assert walled == pytest.approx(plain, rel=2e-4)
    assert plain == pytest.approx(TRUE, rel=1e-3)


def test_sources_do_not_move_the_factors():
    """A crowded CCD3 (160 stars per amplifier) against an empty one: the sky under the
    stars' wings no longer lowers CCD3's factor (the clipped median of all
    good pixels: 0.6 % before the source mask)."""
    plain = qecorrect.qe_factors(*_frame())
    crowded = qecorrect.qe_factors(*_frame(stars={2: 160}))
    assert crowded[1] == pytest.approx(plain[1], rel=5e-4)
    assert crowded[0] == pytest.approx(plain[0], rel=2e-4)


def test_the_source_mask_covers_stars_and_not_sky():
    e = _amp(1000.0, 3, stars=20)
    good = np.ones(e.sci.shape, bool)
    mask = qecorrect.source_mask(e.sci, good, 1000.0, np.sqrt(1000.0))
    assert 0.01 < mask.mean() < 0.3
    sky_only = _amp(1000.0, 4)
    assert qecorrect.source_mask(sky_only.sci, good, 1000.0, np.sqrt(1000.0)).mean() < 1e-3


@pytest.mark.parametrize("band, factors, ok", [
    ("r", (1.03, 0.985), True), ("r", (0.63, 1.0), False), ("i", (1.0, 2.42), False),
    ("g", (1.12, 0.9), True), ("r", (1.12, 1.0), False), ("z", (float("nan"), 1.0), False),
])
def test_implausible_factors_stop_the_frame_with_the_levels(band, factors, ok):
    levels = {0: 1000 / factors[0], 1: 1000.0, 2: 1000 / factors[1]}
    if ok:
        qecorrect.check_factors(factors, levels, frame="S1.fits", filter_band=band)
        return
    with pytest.raises(qecorrect.QEFactorError, match=r"S1.fits: QE factor .*outside .*"
                                                      r"sky levels CCD1/CCD2/CCD3"):
        qecorrect.check_factors(factors, levels, frame="S1.fits", filter_band=band)


def test_measure_factors_stops_on_noise_measured_as_sky():
    """Unilluminated amplifiers NOT flagged: their noise makes CCD1's level run away."""
    exts, ccds = _frame(dead_columns=NX)
    for e in exts:
        e.dq[:] = 0
    with pytest.raises(qecorrect.QEFactorError, match="S2.fits"):
        qecorrect.measure_factors(exts, ccds, frame="S2.fits", filter_band="r")


def test_qa_table_lists_the_factors():
    frames = [{"frame": "S1", "background": 1.0, "noise": 1.0, "seeing_fwhm": 0.8,
               "n_sources": 3, "n_masked": 0, "qe_factor1": 1.03, "qe_factor3": 0.985}]
    row = frame_table(frames, [{"method": "reference"}])[0]
    assert row["qe_factor1"] == 1.03 and row["qe_factor3"] == 0.985
