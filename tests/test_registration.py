"""WCS sanity and registration: a frame is aligned on its sources, from its WCS or (when its
WCS is broken) from its telescope offsets, or set aside by name; never silently misplaced."""

from __future__ import annotations

import logging

import numpy as np
import pytest
from astropy.io import fits
from astropy.table import Table
from astropy.wcs import WCS

from gmoslib import align, wcscheck
from gmoslib.recipes import RecipeError
from gmoslib.registration import SET_ASIDE, register_frames

SCALE = 0.0800 * 2  # GS Hamamatsu 2x2, arcsec/pixel (reference 2.4)
NX, NY = 1500, 1000
ALIGN = {"first_pass": 5.0, "match_radius": 0.5, "min_sources": 3}


def _headers(p, q, *, pa=90.0, cd_scale=1.0, cd=None):
    """GS Hamamatsu 2x2 mosaic headers of a frame offset by (p, q) arcsec: the pointing
    moves by (p, q)/scale pixels along (x, y)."""
    phu = fits.Header({"INSTRUME": "GMOS-S", "DETTYPE": "S10892", "PA": pa,
                       "POFFSET": p, "QOFFSET": q, "EXPTIME": 30.0})
    s = SCALE / 3600 * cd_scale
    a = np.radians(pa)
    matrix = cd if cd is not None else np.array([[-s * np.cos(a), s * np.sin(a)],
                                                 [s * np.sin(a), s * np.cos(a)]])
    sci = fits.Header({"NAXIS": 2, "NAXIS1": NX, "NAXIS2": NY, "CTYPE1": "RA---TAN",
                       "CTYPE2": "DEC--TAN", "CRVAL1": 150.0, "CRVAL2": -30.0,
                       "CRPIX1": NX / 2 + p / SCALE, "CRPIX2": NY / 2 + q / SCALE,
                       "CCDSUM": "2 2"})
    for i in (1, 2):
        for j in (1, 2):
            sci[f"CD{i}_{j}"] = matrix[i - 1, j - 1]
    return phu, sci


def _stars(n=150, seed=3):
    rng = np.random.default_rng(seed)
    return (150.0 + rng.uniform(-0.03, 0.03, n) / np.cos(np.radians(30)),
            -30.0 + rng.uniform(-0.02, 0.02, n), 10 ** rng.uniform(3, 6, n))


def _catalogue(sci, stars, noise=0.02, seed=0):
    """Sources of a frame whose true WCS is ``sci`` (positions with centroid noise)."""
    rng = np.random.default_rng(seed)
    x, y = WCS(sci).world_to_pixel_values(stars[0], stars[1])
    inside = (x > 0) & (x < NX) & (y > 0) & (y < NY)
    return Table({"x": x[inside] + rng.normal(0, noise, inside.sum()),
                  "y": y[inside] + rng.normal(0, noise, inside.sum()),
                  "flux": stars[2][inside]})


OFFSETS = [(0, 0), (10, 5), (-10, 5), (5, -10)]


def _set(broken=None, offsets=OFFSETS):
    """(names, catalogues, phus, scis, true shifts) with the header of frame ``broken``
    replaced by broken(p, q) (the catalogue keeps the true geometry)."""
    stars = _stars()
    names, cats, phus, scis, shifts = [], [], [], [], []
    for k, (p, q) in enumerate(offsets):
        phu, sci = _headers(p, q)
        cats.append(_catalogue(sci, stars, seed=k))
        if broken and k in broken:
            phu, sci = broken[k](p, q)
        names.append(f"S2024S00{k:02d}_mosaic.fits")
        phus.append(phu)
        scis.append(sci)
        shifts.append((-p / SCALE, -q / SCALE))  # reference minus frame, pixels
    return names, cats, phus, scis, shifts


def test_good_frames_are_aligned_on_sources():
    names, cats, phus, scis, shifts = _set()
    assert wcscheck.check_frames(phus, scis) == ([""] * 4, "")
    transforms, records = register_frames(names, cats, phus, scis, align=ALIGN)
    for k in range(1, 4):
        assert records[k]["method"] == "sources" and records[k]["reason"] == ""
        assert transforms[k][0, 2] == pytest.approx(shifts[k][0], abs=0.01)
        assert transforms[k][1, 2] == pytest.approx(shifts[k][1], abs=0.01)


def _cd_matrix(pa):
    return wcscheck.cd_matrix(_headers(0, 0, pa=pa)[1])


def _singular(p, q):
    s = SCALE / 3600
    return _headers(p, q, cd=np.array([[s, 2 * s], [0.5 * s, s]]))


@pytest.mark.parametrize("broken, words", [
    (_singular, "singular CD"),
    (lambda p, q: _headers(p, q, cd_scale=1.10), "pixel scale"),
    (lambda p, q: _headers(p, q, cd=_cd_matrix(93.0)), "rotation"),  # PA keyword 90
])
def test_a_broken_wcs_is_named_and_the_frame_placed_from_its_offsets(broken, words, caplog):
    names, cats, phus, scis, shifts = _set({3: broken})
    problems, note = wcscheck.check_frames(phus, scis)
    assert note == "" and problems[:3] == ["", "", ""] and words in problems[3]
    with caplog.at_level(logging.WARNING):
        transforms, records = register_frames(names, cats, phus, scis, align=ALIGN)
    assert records[3]["method"] == "sources"
    assert "WCS not used" in records[3]["reason"] and words in records[3]["reason"]
    assert transforms[3][0, 2] == pytest.approx(shifts[3][0], abs=0.01)
    assert transforms[3][1, 2] == pytest.approx(shifts[3][1], abs=0.01)
    assert names[3] in caplog.text


def test_a_broken_wcs_without_offsets_to_go_by_is_set_aside():
    names, cats, phus, scis, _ = _set({1: _singular}, offsets=OFFSETS[:2])
    transforms, records = register_frames(names, cats, phus, scis, align=ALIGN)
    assert transforms[1] is None
    assert records[1]["method"] == SET_ASIDE and "singular CD" in records[1]["reason"]


def test_a_bad_reference_wcs_stops_the_stack_by_name():
    names, cats, phus, scis, _ = _set({0: _singular})
    with pytest.raises(RecipeError, match=f"{names[0]}.*singular CD"):
        register_frames(names, cats, phus, scis, align=ALIGN)


def test_too_few_matches_set_the_frame_aside():
    names, cats, phus, scis, _ = _set()
    cats[2] = cats[2][:2]
    transforms, records = register_frames(names, cats, phus, scis, align=ALIGN)
    assert transforms[2] is None and records[2]["method"] == SET_ASIDE
    assert "too few sources" in records[2]["reason"]
    assert all(transforms[k] is not None for k in (0, 1, 3))


def test_outlier_matches_do_not_move_the_shift_or_the_rms():
    """As measured on the gmos-s preset: most matched sources centroid to ~0.01 px, faint
    ones and blends to a few tenths of a pixel, and chance coincidences lie anywhere within
    the match radius.  The shift stays within 0.005 px of the truth and the reported rms
    is that of the matches kept, below 0.03 px (it was 0.06-0.10 px with one clipping
    pass)."""
    rng = np.random.default_rng(5)
    ref = rng.uniform(0, 1000, (140, 2))
    true = np.array([12.3, -4.7])
    noise = np.r_[np.full(100, 0.01), np.full(36, 0.2), np.full(4, 0.0)]
    frame = ref - true + rng.normal(0, 1, ref.shape) * noise[:, None]
    frame[-4:] += rng.uniform(1.0, 2.5, (4, 1)) * np.array([0.8, 0.6])
    transform, pairs, rms = align.match_sources(ref, frame, initial_shift=(12, -5),
                                                search_radius=5, match_radius=3)
    assert np.hypot(transform[0, 2] - true[0], transform[1, 2] - true[1]) < 0.005
    assert rms < 0.03, rms
    assert len(pairs) >= 90


def test_a_night_with_one_wrong_scale_is_noted_not_stopped():
    """Every frame's WCS 10 % off the nominal scale (as in the real header of the 2017 GN
    Hamamatsu illumination mask): noted on the reference, the frames aligned as usual."""
    wrong = {k: (lambda p, q: _headers(p, q, cd_scale=1.10)) for k in range(4)}
    names, cats, phus, scis, _ = _set(wrong)
    problems, note = wcscheck.check_frames(phus, scis)
    assert problems == [""] * 4 and "pixel scale" in note
    transforms, records = register_frames(names, cats, phus, scis, align=ALIGN)
    assert "pixel scale" in records[0]["reason"]
    assert all(r["method"] == "sources" for r in records[1:])
