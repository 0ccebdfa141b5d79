"""Products open natively in astropy: ``CCDData.read(f, hdu_uncertainty="VAR", hdu_mask="DQ")``
gives the variance as a VarianceUncertainty (error bars = sqrt(VAR)), DQ as the mask, and no
'datfix' warning (SCI carries DATE-OBS beside MJD-OBS)."""

from __future__ import annotations

import warnings

import astropy.units as u
import numpy as np
import pytest
from astropy.io import fits
from astropy.nddata import CCDData, StdDevUncertainty, VarianceUncertainty

from gmoslib.io.fitsio import date_obs_from_mjd
from gmoslib.sim import simulate_preset
from tests.workflow_helpers import run_snakemake

pytestmark = pytest.mark.slow

PRODUCTS = {
    "bias": "calibrations/processed_bias/N20170613S0180_bias.fits",
    "flat": "calibrations/processed_flat/N20170702S0178_flat.fits",
    "mosaic": "work/mosaic/N20170614S0202_mosaic.fits",
    "stack": "results/N20170614S0201_stack.fits",
}


@pytest.fixture(scope="module")
def fringe_frame(tmp_path_factory):
    """A processed fringe frame from the fringe-small set (target `fringes` only)."""
    raw = tmp_path_factory.mktemp("ccd_fringe") / "raw"
    simulate_preset("fringe-small", str(raw))
    work = tmp_path_factory.mktemp("ccd_fringe_work")
    run_snakemake(work, "fringes", config={"raw_dir": str(raw)}, timeout=900)
    (path,) = (work / "calibrations" / "processed_fringe").glob("*_fringe.fits")
    return path


@pytest.fixture(params=[*PRODUCTS, "fringe"])
def product(request, small_night):
    if request.param == "fringe":
        return request.getfixturevalue("fringe_frame")
    return small_night[1] / PRODUCTS[request.param]


def test_products_read_as_ccddata_with_variance(product):
    with fits.open(product) as hdus:
        sci_unit = hdus["SCI", 1].header.get("BUNIT") or ""
        var_header = hdus["VAR", 1].header
        sci = hdus["SCI", 1].data.astype(np.float64)
        var = hdus["VAR", 1].data.astype(np.float64)
        dq = hdus["DQ", 1].data
    # a normalised flat has no unit (BUNIT ''), which CCDData cannot guess
    unit = None if sci_unit else u.dimensionless_unscaled
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ccd = CCDData.read(product, hdu_uncertainty="VAR", hdu_mask="DQ", unit=unit)
    assert not [w for w in caught if "datfix" in str(w.message)], product.name
    assert isinstance(ccd.uncertainty, VarianceUncertainty), product.name
    assert var_header["UTYPE"] == "VarianceUncertainty"
    if sci_unit:
        assert u.Unit(var_header["BUNIT"]) == u.Unit(sci_unit) ** 2
        assert ccd.unit == u.Unit(sci_unit)
    else:
        assert "BUNIT" not in var_header
    assert ccd.uncertainty.unit == ccd.unit ** 2
    np.testing.assert_array_equal(ccd.data, sci)
    # the error bars astropy computes are the square root of VAR, not VAR itself
    sigma = ccd.uncertainty.represent_as(StdDevUncertainty).array
    np.testing.assert_allclose(sigma, np.sqrt(var), rtol=1e-6)
    np.testing.assert_array_equal(ccd.mask, dq != 0)



def test_science_jobs_log_no_datfix_warning(small_night):
    _, work = small_night
    logs = sorted((work / "logs" / "reduce_science_frame").glob("*.log"))
    logs += sorted((work / "logs" / "stack_science").glob("*.log"))
    assert len(logs) == 4
    for log in logs:
        assert "FITSFixedWarning" not in log.read_text(), log


def test_date_obs_matches_mjd_obs(small_night):
    _, work = small_night
    with fits.open(work / PRODUCTS["stack"]) as h:
        header = h["SCI"].header
    assert header["MJD-OBS"] == pytest.approx(57918.375)
    assert header["DATE-OBS"] == "2017-06-14T09:00:00.000"
    # MJD 51544.5 is 2000-01-01 12:00 UTC (the J2000 epoch)
    assert date_obs_from_mjd(51544.5) == "2000-01-01T12:00:00.000"
