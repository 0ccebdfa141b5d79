"""alignAndStack on small synthetic stacks: aligned on their sources (not the headers), headers
describe the new stack only, bad inputs are refused by name."""

from __future__ import annotations

import numpy as np
import pytest
from astropy.io import fits

from gmoslib.io.errors import RecipeError
from gmoslib.io.fitsio import write_frame
from gmoslib.io.frame import Extension, Frame
from gmoslib.science.align_and_stack import align_and_stack, check_stack_input

SHAPE = (160, 160)
SKY = 100.0  # electrons
SHIFT = (7.3, -4.6)  # frame 2 pixel + SHIFT = reference pixel


def _stars(rng):
    xy = rng.uniform(20, 140, size=(14, 2))
    flux = rng.uniform(3e3, 2e4, size=14)
    return xy, flux


def _image(xy, flux, rng, sigma=1.5):
    yy, xx = np.mgrid[:SHAPE[0], :SHAPE[1]]
    model = np.full(SHAPE, SKY)
    for (x, y), f in zip(xy, flux, strict=True):
        model += f / (2 * np.pi * sigma**2) * np.exp(-((xx - x) ** 2 + (yy - y) ** 2)
                                                     / (2 * sigma**2))
    return (model + rng.normal(0, np.sqrt(model))).astype(np.float32), model.astype(np.float32)


def _write(path, sci, var, crpix, phu_extra):
    hdr = fits.Header()
    hdr["BUNIT"] = "electron"
    hdr.update({"CTYPE1": "RA---TAN", "CTYPE2": "DEC--TAN", "CRVAL1": 150.0, "CRVAL2": 2.0,
                "CRPIX1": crpix[0] + 1, "CRPIX2": crpix[1] + 1, "CD1_1": -1e-4, "CD1_2": 0.0,
                "CD2_1": 0.0, "CD2_2": 1e-4})
    phu = fits.Header()
    phu["EXPTIME"] = 10.0
    phu.update(phu_extra)
    write_frame(str(path), Frame(phu, [Extension(sci, var, np.zeros(SHAPE, np.uint16), hdr)]))


@pytest.fixture(scope="module")
def stacks(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("aas")
    rng = np.random.default_rng(5)
    xy, flux = _stars(rng)
    sci1, var1 = _image(xy, flux, rng)
    sci2, var2 = _image(xy - SHIFT, flux, rng)
    p1, p2 = tmp / "A_stack.fits", tmp / "B_stack.fits"
    # A was a stack of 3 frames, with its own per-input keywords
    _write(p1, sci1, var1, (80.0, 80.0), {"NCOMBINE": 3, "IMCMB001": "f1", "IMCMB002": "f2",
                                          "IMCMB003": "f3", "ALGN003": "sources"})
    # B's header WCS is 0.4 pixel off: only the sources give the right alignment
    _write(p2, sci2, var2, (80.0 - SHIFT[0] + 0.4, 80.0 - SHIFT[1]), {"NCOMBINE": 2})
    out, records = align_and_stack(
        [str(p1), str(p2)], detect={"thresh": 3.0, "minarea": 5},
        align={"first_pass": 5.0, "match_radius": 0.5, "min_sources": 3},
        resample_order=3, stack={"lsigma": 3.0, "hsigma": 3.0}, memory_bytes=2**22,
        scratch_dir=str(tmp), provenance={})
    return tmp, out, records, xy


def test_aligned_on_sources(stacks):
    _, out, records, _ = stacks
    assert records[1]["method"] == "sources"
    assert records[1]["dx"] == pytest.approx(SHIFT[0], abs=0.05)
    assert records[1]["dy"] == pytest.approx(SHIFT[1], abs=0.05)
    assert records[0]["n_sources"] >= 10 and records[1]["n_sources"] >= 10


def test_stack_is_the_mean_of_the_inputs(stacks):
    _, out, records, xy = stacks
    ext = out.exts[0]
    # blank sky covered by both inputs: away from the stars (reference pixels + grid offset)
    ox, oy = ext.header["CRPIX1"] - 81.0, ext.header["CRPIX2"] - 81.0
    yy, xx = np.mgrid[:ext.shape[0], :ext.shape[1]]
    sky = (xx - ox > 20) & (xx - ox < 140) & (yy - oy > 20) & (yy - oy < 140)
    for x, y in xy:
        sky &= np.hypot(xx - ox - x, yy - oy - y) > 8
    # B's background offset to A is measured on a 1-in-16 pixel sample of a small image:
    # statistical error ~0.5 e-; B - offset is what enters the mean
    offset = records[1]["offset"]
    assert abs(offset) < 1.5
    assert np.mean(ext.sci[sky]) == pytest.approx(SKY - offset / 2, abs=0.15)
    # variance halved (two independent inputs), noise as the VAR says
    assert np.median(ext.var[sky]) == pytest.approx(SKY / 2, rel=0.02)
    z = (ext.sci[sky] - SKY) / np.sqrt(ext.var[sky])
    assert np.std(z) < 1.05


def test_header_describes_the_new_stack(stacks):
    tmp, out, _, _ = stacks
    phu = out.phu
    assert phu["NCOMBINE"] == 2
    assert phu["IMCMB001"] == "A_stack.fits" and phu["IMCMB002"] == "B_stack.fits"
    assert "IMCMB003" not in phu and "ALGN003" not in phu
    assert phu["ALGN002"].startswith("sources")
    assert "alignAndStack" in phu.comments["PROCSCI"]


def test_inputs_are_checked(stacks, tmp_path):
    tmp, _, _, _ = stacks
    with pytest.raises(RecipeError, match="at least 2 inputs"):
        align_and_stack([str(tmp / "A_stack.fits")], detect={}, align={}, resample_order=1,
                        stack={}, memory_bytes=2**22, scratch_dir=str(tmp_path), provenance={})
    bad = tmp_path / "adu.fits"
    with fits.open(tmp / "A_stack.fits") as h:
        h["SCI"].header["BUNIT"] = "adu"
        h.writeto(bad)
    with pytest.raises(RecipeError, match="adu.fits: SCI BUNIT is 'adu'"):
        check_stack_input(str(bad))
    nowcs = tmp_path / "nowcs.fits"
    with fits.open(tmp / "A_stack.fits") as h:
        for key in ("CTYPE1", "CTYPE2"):
            del h["SCI"].header[key]
        h.writeto(nowcs)
    with pytest.raises(RecipeError, match="nowcs.fits: the SCI extension has no celestial WCS"):
        check_stack_input(str(nowcs))
