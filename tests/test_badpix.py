"""Bad pixels from the master flat (gmoslib.calibration.badpix): a synthetic flat with known defects
(dead, weak and hot columns, a hot pixel, a bad row) on top of things that are NOT defects
(vignetting, a dust shadow, the field edge); truth is where the defects were put."""

from __future__ import annotations

import numpy as np

from gmoslib.calibration import badpix
from gmoslib.io import dq as dqbits

NY, NX = 300, 160


def _flat(seed=3):
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:NY, 0:NX].astype(np.float32)
    smooth = 1.0 - 0.25 * ((xx / NX - 0.4) ** 2 + (yy / NY - 0.5) ** 2)  # vignetting
    dust = 1.0 - 0.15 * np.exp(-0.5 * ((xx - 100) ** 2 + (yy - 80) ** 2) / 8.0**2)
    resp = (smooth * dust * rng.normal(1.0, 0.01, (NY, NX))).astype(np.float32)
    defects = np.zeros((NY, NX), bool)
    for col, factor in ((20, 0.0), (45, 0.8), (46, 0.8), (70, 1.3)):  # dead, weak x2, hot
        resp[:, col] *= factor
        defects[:, col] = True
    resp[150, 130] *= 2.0  # hot pixel
    defects[150, 130] = True
    resp[220, 90:140] *= 0.5  # part of a bad row
    defects[220, 90:140] = True
    var = np.full((NY, NX), 1e-5, np.float32)  # ~20000 e- per pixel
    return resp, var, defects


def test_defects_are_found_and_dust_vignetting_are_not():
    resp, var, defects = _flat()
    bad = badpix.flat_bad_pixels(resp, var, None)
    assert bad[defects].mean() > 0.99
    false = bad & ~defects
    assert false.sum() <= 5
    assert not bad[60:100, 85:115][~defects[60:100, 85:115]].any()  # the dust shadow


def test_field_edge_and_unilluminated_pixels_are_not_bad():
    resp, var, _ = _flat()
    resp = resp.copy()
    resp[:, 120:] *= np.linspace(1.0, 0.0, NX - 120)[None, :]  # fades to the field stop
    dq = np.zeros((NY, NX), np.uint16)
    dq[:, 150:] = dqbits.UNILLUMINATED
    dq[:5, :] |= dqbits.NO_DATA
    bad = badpix.flat_bad_pixels(resp, var, dq)
    assert not bad[:, 150:].any() and not bad[:5].any()
    edge = bad[:, 121:150].copy()
    edge[150 - 0, 130 - 121] = False  # the hot pixel is still a defect
    edge[220, :] = False  # and the bad row
    assert edge.sum() <= 3
    dq[:] = dqbits.UNILLUMINATED  # an amplifier off the field (returns early)
    assert not badpix.flat_bad_pixels(resp, var, dq).any()


def test_significance_against_the_flat_variance():
    resp, _, defects = _flat()
    noisy = np.full((NY, NX), 0.05**2, np.float32)  # a 5 % noise flat: a 20 % weak column
    bad = badpix.flat_bad_pixels(resp, noisy, None)  # is under 5 sigma: not claimed
    assert not bad[:, 45].any()
    assert bad[:, 20].all()


def test_flat_dq_checks_add_bit_1_keep_user_bpm_and_count():
    resp, var, defects = _flat()
    level = 20000.0
    user = np.zeros((NY, NX), np.uint16)
    user[10, 10] = dqbits.BAD_PIXEL  # a user BPM pixel stays bad
    dqs, counts = badpix.flat_dq_checks([resp * level], [var * level**2], [user], ["amp"],
                                        level, "flat.fits")
    d = dqs[0]
    assert d[10, 10] & dqbits.BAD_PIXEL
    assert ((d[defects] & dqbits.BAD_PIXEL) != 0).mean() > 0.99
    assert counts["FLATBAD"] == int(((d & dqbits.BAD_PIXEL) != 0).sum()) - 1
    assert counts["ILLUMLOW"] == 0
    assert user[10, 11] == 0 and user.sum() == 1  # input untouched


def _write_bpm(path, xbin, date, instrument="GMOS-N"):
    from astropy.io import fits

    from tests._descriptors_helpers import headers

    phu, exts = headers("GN-Ham", xbin, xbin, OBSTYPE="BPM", OBJECT="BPM", BPMASK="yes",
                        INSTRUME=instrument, **{"DATE-OBS": date})
    hdus = [fits.PrimaryHDU(header=phu)]
    for h in exts:
        hdus.append(fits.ImageHDU(np.zeros((2, 2), np.uint16), header=h))
    fits.HDUList(hdus).writeto(path)
    return str(path)


def test_processed_bpm_in_calibration_dirs_is_associated(tmp_path):
    from gmoslib.calibration.association import associate_bpm, bpm_for
    from gmoslib.instrument.descriptors import Descriptors
    from tests._descriptors_helpers import headers

    d = tmp_path / "cals"
    d.mkdir()
    good = _write_bpm(d / "bpm_20170306_gmos-n_Ham_22_full_12amp.fits", 2, "2017-03-06")
    _write_bpm(d / "bpm_20160101_gmos-n_Ham_22_full_12amp.fits", 2, "2016-01-01")  # older
    _write_bpm(d / "bpm_20170701_gmos-n_Ham_22_full_12amp.fits", 2, "2017-07-01")  # later
    _write_bpm(d / "bpm_20170307_gmos-n_Ham_44_full_12amp.fits", 4, "2017-03-07")  # 4x4
    _write_bpm(d / "bpm_20170308_gmos-s_Ham_22_full_12amp.fits", 2, "2017-03-08", "GMOS-S")
    phu, exts = headers("GN-Ham", 2, 2)  # science of 2017-06-14
    frame = Descriptors(phu, exts, "N20170614S0201.fits")
    assert associate_bpm([str(d)], frame) == good
    phu, exts = headers("GN-Ham", 2, 2, **{"DATE-OBS": "2015-06-14"})
    assert associate_bpm([str(d)], Descriptors(phu, exts, "old.fits")) is None
    raw = tmp_path / "N20170614S0201.fits"
    from astropy.io import fits

    phu, exts = headers("GN-Ham", 2, 2)
    fits.HDUList([fits.PrimaryHDU(header=phu)] + [
        fits.ImageHDU(np.zeros((2, 2), np.uint16), header=h) for h in exts]).writeto(raw)
    assert bpm_for(None, [str(d)], str(raw)) == good
    assert bpm_for("mine.fits", [str(d)], str(raw)) == "mine.fits"  # the user's bpm wins
    assert bpm_for(None, [], str(raw)) is None


def test_a_dragons_bpm_in_calibration_dirs_is_not_taken_for_a_bias(tmp_path):
    from gmoslib.workflow.caldb import describe_processed

    # DRAGONS' BPMs keep the PHU of the bias they were made from (OBSTYPE BIAS) plus BPMASK
    path = tmp_path / "bpm.fits"
    from astropy.io import fits

    from tests._descriptors_helpers import headers

    phu, exts = headers("GN-Ham", 2, 2, OBSTYPE="BIAS", OBJECT="BPM", BPMASK="2020-05-04")
    fits.HDUList([fits.PrimaryHDU(header=phu)] + [
        fits.ImageHDU(np.zeros((2, 2), np.uint16), header=h) for h in exts]).writeto(path)
    assert describe_processed(str(path)) is None
