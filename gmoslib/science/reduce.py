"""Reducing one science frame: raw frame -> calibrated mosaic, its catalogue and seeing
(the caller writes the products).
"""

from __future__ import annotations

import os

from astropy.table import Table
from astropy.wcs import WCS

from gmoslib.calibration.ccds import ccd_index_of_extensions
from gmoslib.calibration.correct import calibrated_frame
from gmoslib.config.schema import step_values
from gmoslib.io.errors import RecipeError
from gmoslib.io.fitsio import file_sha256, read_frame
from gmoslib.io.frame import Extension, Frame
from gmoslib.io.provenance import add_provenance
from gmoslib.science import detect as detectlib
from gmoslib.science import mosaic as mosaiclib
from gmoslib.science import qecorrect as qelib
from gmoslib.science.footprint import crop_to_data


def reduce_science_frame(
    raw_path: str,
    bias_path: str,
    flat_path: str,
    *,
    overscan: dict,
    fringe_path: str | None = None,
    fringe: dict | None = None,
    qe_correct: bool | None = None,
    mosaic_order: int | None = None,
    bpm: Frame | None = None,
) -> tuple[Frame, dict]:
    """(mosaic frame in electrons, dict of what was done): overscan, bias, gain and flat
    (:func:`~gmoslib.calibration.correct.calibrated_frame`), fringe correction (``fringe``:
    fringeCorrect parameters), QE equalisation (Hamamatsu by default) and mosaic
    (``mosaic_order`` None: the schema's)."""
    if mosaic_order is None:
        mosaic_order = step_values("mosaicDetectors")["order"]
    frame, desc = calibrated_frame(raw_path, bias_path, flat_path, overscan=overscan, bpm=bpm)
    info: dict = {}
    if fringe_path:
        from gmoslib.science.fringe_frame import fringe_correct_frame  # (stacking: lazily)

        frame, info["fringe"] = fringe_correct_frame(frame, read_frame(fringe_path), desc,
                                                     **step_values("fringeCorrect", fringe))
    if qe_correct is None:
        qe_correct = desc.detector_name(pretty=True).startswith("Hamamatsu")
    ccd_index = ccd_index_of_extensions(frame)
    if qe_correct and len(set(ccd_index)) == 3:
        try:
            factors, levels = qelib.measure_factors(frame.exts, ccd_index,
                                                    frame=os.path.basename(raw_path),
                                                    filter_band=desc.filter_name(pretty=True))
        except qelib.QEFactorError as exc:
            raise RecipeError(str(exc)) from None
        exts, factors = qelib.qe_correct(frame.exts, ccd_index, factors)
        frame = Frame(frame.phu, list(exts), frame.filename)
        info["qe_factors"] = [float(f) for f in factors]
        info["qe_sky_levels"] = [round(levels[k], 3) for k in (0, 1, 2)]
        for k, level in enumerate(info["qe_sky_levels"], start=1):
            frame.phu[f"QESKY{k}"] = (level, f"CCD{k} sky for QECorrect (e-)")
        frame.phu["QECORR"] = ("gmos-snake", "CCD1/CCD3 scaled to CCD2 sky")
        frame.phu["QEFACT1"] = (info["qe_factors"][0], "QE factor applied to CCD1")
        frame.phu["QEFACT3"] = (info["qe_factors"][1], "QE factor applied to CCD3")
    mosaic = crop_to_data(mosaiclib.mosaic_detectors(
        frame.exts, desc.detector_name(), order=mosaic_order,
        xbin=desc.detector_x_bin(), ybin=desc.detector_y_bin()))
    phu = frame.phu.copy()
    phu["MOSAIC"] = ("gmos-snake", "Amplifiers mosaicked")
    add_provenance(phu, "reduceScienceFrame",
                   {"overscanCorrect": overscan, "QECorrect": {"enabled": qe_correct},
                    "mosaicDetectors": {"order": mosaic_order}, **info},
                   [(p, file_sha256(p)) for p in (raw_path, bias_path, flat_path, fringe_path)
                    if p])
    return Frame(phu, [mosaic], frame.filename), info


def detect_catalogue(mosaic: Extension, **detect) -> Table:
    """Source catalogue (Table) of a mosaic in electrons; ``detect``: detectSources
    parameters."""
    cat, _ = detectlib.detect_sources(mosaic.sci, mosaic.var, mosaic.dq, object_mask=False,
                                      **step_values("detectSources", detect))
    return Table(cat)


def frame_seeing(mosaic: Extension, catalogue: Table) -> float | None:
    """Seeing FWHM (arcsec) of a mosaic from its catalogue, or None with too few stars."""
    scale = float(WCS(mosaic.header).proj_plane_pixel_scales()[1].to_value("arcsec"))
    return detectlib.estimate_seeing(catalogue.as_array(), scale)
