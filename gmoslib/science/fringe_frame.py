"""The processed fringe frame (reference 5.12): made from dithered science frames, and
subtracted, scaled, from each; the array primitives are in :mod:`gmoslib.science.fringe`.
"""

from __future__ import annotations

import os
import tempfile
import warnings
from collections.abc import Sequence

import numpy as np
from astropy.wcs import WCS, FITSFixedWarning

from gmoslib.calibration.association import max_dither_arcsec
from gmoslib.calibration.ccds import ccd_index_of_extensions
from gmoslib.calibration.correct import calibrated_frame, check_compatible
from gmoslib.config.schema import step_values
from gmoslib.instrument.descriptors import Descriptors
from gmoslib.instrument.detectors import FRINGE_CONTROL_PAIRS
from gmoslib.instrument.sections import parse_section
from gmoslib.io import dq as dqbits
from gmoslib.io.errors import RecipeError
from gmoslib.io.fitsio import file_sha256, read_headers
from gmoslib.io.frame import Extension, Frame
from gmoslib.io.provenance import add_provenance
from gmoslib.science import fringe as fringelib
from gmoslib.science.final_stack import frame_planes, row_reader
from gmoslib.stacking import stack_frames

#: Sources kept out of the least-squares fringe fit (fringeCorrect has no detection
#: parameters): detection threshold (sigma), minimum area (pixels), growth radius (pixels).
FRINGE_FIT_SOURCES = {"thresh": 2.0, "minarea": 8, "dilation": 2}

#: DQ bit of source pixels while a fringe frame is stacked (removed after): it ranks between
#: cosmic rays and bad pixels, so a pixel is taken from the frames where it is sky, or from
#: all where every frame has a source there.
OBJECT_BIT = dqbits.OVERLAP

#: The fewest dithered science frames a fringe frame is made from.
MIN_FRAMES = 3


def fringe_scale_factor(frame: Frame, fringe: Frame, desc: Descriptors) -> dict:
    """{'scale', 'method', 'n_pairs', 'warning'} of the fringe frame in a science frame (both
    per amplifier, electrons): by the detector's control pairs when one is usable, else
    least squares outside the science frame's objects."""
    pairs = FRINGE_CONTROL_PAIRS.get(desc.detector_name())
    if pairs:
        scale, n_used, _ = fringelib.control_pair_scale(
            [(e.sci, e.dq) for e in frame.exts], [(e.sci, e.dq) for e in fringe.exts],
            [parse_section(str(e.header["DETSEC"])) for e in frame.exts],
            desc.detector_x_bin(), desc.detector_y_bin(), pairs)
        if scale is not None:
            return {"scale": scale, "method": "control pairs", "n_pairs": n_used,
                    "warning": (f"only {n_used} control pairs usable"
                                if n_used < fringelib.MIN_GOOD_PAIRS else "")}
    scale = fringelib.least_squares_scale(
        [(e.sci, e.dq, fringelib.object_mask(e.sci, e.var, e.dq, **FRINGE_FIT_SOURCES))
         for e in frame.exts], [(e.sci, e.dq) for e in fringe.exts])
    return {"scale": scale, "method": "least squares", "n_pairs": 0, "warning": ""}


def fringe_correct_frame(frame: Frame, fringe: Frame, desc: Descriptors, *,
                         scale: bool | None, scale_factor: float | None
                         ) -> tuple[Frame, dict]:
    """Subtract a scaled processed fringe from a flat-fielded frame (reference 5.12): by
    ``scale_factor`` if given, else fitted when ``scale`` is True, or None and the fringe
    frame is from another observation (DRAGONS' rule), else 1.  Records FRINGEIM, FRNGSCAL,
    FRNGMETH and FRNGNPR."""
    check_compatible(frame, fringe, "processed fringe")
    fringe_desc = Descriptors(fringe.phu, [e.header for e in fringe.exts], fringe.filename)
    if fringe_desc.filter_name() != desc.filter_name():
        raise RecipeError(f"processed fringe {fringe.filename} is for filter "
                          f"{fringe_desc.filter_name()} but {frame.filename} has "
                          f"{desc.filter_name()}")
    if scale_factor is not None:
        info = {"scale": float(scale_factor), "method": "user", "n_pairs": 0, "warning": ""}
    elif scale is False or (scale is None
                            and fringe_desc.observation_id() == desc.observation_id()):
        info = {"scale": 1.0, "method": "unscaled", "n_pairs": 0, "warning": ""}
    else:
        info = fringe_scale_factor(frame, fringe, desc)
    exts = [Extension(*fringelib.subtract_fringe(e.sci, e.var, e.dq, f.sci, f.var, f.dq,
                                                 info["scale"]), e.header)
            for e, f in zip(frame.exts, fringe.exts, strict=True)]
    phu = frame.phu.copy()
    phu["FRINGEIM"] = (os.path.basename(fringe.filename), "Processed fringe subtracted")
    phu["FRNGSCAL"] = (round(float(info["scale"]), 6), "Fringe scale factor applied")
    phu["FRNGMETH"] = (info["method"], "How the fringe scale factor was found")
    phu["FRNGNPR"] = (int(info["n_pairs"]), "Fringe control pairs used")
    return Frame(phu, exts, frame.filename), info


def _pointing(path: str) -> tuple[float, float]:
    """Sky position (deg) of pixel (0, 0) of the first extension of a raw file."""
    _, exts = read_headers(path)
    with warnings.catch_warnings():  # old-style keywords (RADECSYS) are fine here
        warnings.simplefilter("ignore", FITSFixedWarning)
        ra, dec = WCS(exts[0]).all_pix2world([[0.0, 0.0]], 0)[0]
    return float(ra), float(dec)


def make_fringe_frame(
    raw_paths: Sequence[str],
    bias_paths: Sequence[str],
    flat_paths: Sequence[str],
    *,
    overscan: dict,
    params: dict,
    memory_bytes: int,
    scratch_dir: str,
    bpm: Frame | None = None,
) -> Frame:
    """Processed fringe frame (per amplifier SCI in electrons with sky ~0, VAR, DQ) from
    dithered science frames (reference 5.12), each with its own master bias and flat.

    Each calibrated frame loses its sky CCD by CCD; its sources (detected on the frame minus
    the median of all when ``subtract_median_image``, by default on GMOS-S) are grown and
    flagged; the frames are then mean-stacked with rejection from memory maps in
    ``scratch_dir``.  The PHU is the first frame's plus PROCFRNG, NCOMBINE, IMCMBnnn and
    FRSKYnnn."""
    params = step_values("makeFringeFrame", params)
    paths = list(raw_paths)
    n = len(paths)
    listed = ", ".join(os.path.basename(p) for p in paths)
    if n < MIN_FRAMES:
        raise RecipeError(f"a fringe frame needs at least {MIN_FRAMES} dithered science "
                          f"frames, got {n} ({listed})")
    if len(bias_paths) != n or len(flat_paths) != n:
        raise RecipeError("one master bias and one master flat per science frame are needed")
    min_dither = float(params["min_dither"])
    ra, dec = zip(*(_pointing(p) for p in paths), strict=True)
    spread = max_dither_arcsec(ra, dec)
    if spread < min_dither:
        raise RecipeError(
            f"insufficient dithering to make a fringe frame: the {n} frames ({listed}) are all "
            f"within {spread:.2f} arcsec of each other (at least {min_dither:g} arcsec is "
            "needed to separate sources from fringes)")
    detect = {key: params[key] for key in ("thresh", "minarea", "dilation")}
    subtract_median = params["subtract_median_image"]
    names, sky_levels, obsids = [], [], []
    with tempfile.TemporaryDirectory(prefix=".fringe-", dir=scratch_dir) as tmp:
        for k, calibrations in enumerate(zip(paths, bias_paths, flat_paths, strict=True)):
            frame, desc = calibrated_frame(*calibrations, overscan=overscan, bpm=bpm)
            if k == 0:
                first = frame
                planes = [frame_planes(n, e.sci.shape, tmp, f"ext{i}_")
                          for i, e in enumerate(frame.exts)]
                if subtract_median is None:
                    subtract_median = desc.telescope() == "Gemini-South"
            else:
                check_compatible(first, frame)
            scis, dqs = [e.sci for e in frame.exts], [e.dq for e in frame.exts]
            sky_levels.append(fringelib.sky_level(scis, dqs))
            ccd_skies = fringelib.ccd_sky_levels(scis, dqs, ccd_index_of_extensions(frame))
            for (sci, var, dq), e, sky in zip(planes, frame.exts, ccd_skies, strict=True):
                sky_free = e.sci - np.float32(sky)
                sci[k], var[k], dq[k] = sky_free, e.var, e.dq
                if not subtract_median:
                    dq[k][fringelib.object_mask(sky_free, e.var, e.dq, **detect)] |= OBJECT_BIT
            names.append(os.path.basename(frame.filename))
            obsids.append(desc.observation_id())
            del frame
        exts = []
        for (sci, var, dq), ext in zip(planes, first.exts, strict=True):
            readers = [row_reader(sci[k], var[k], dq[k]) for k in range(n)]
            if subtract_median:
                median, *_ = stack_frames(readers, *ext.sci.shape, memory_bytes=memory_bytes,
                                          operation="median", reject="minmax", nlow=0, nhigh=1)
                for k in range(n):
                    dq[k][fringelib.object_mask(sci[k] - median, var[k], dq[k],
                                                **detect)] |= OBJECT_BIT
            fsci, fvar, fdq, _ = stack_frames(
                readers, *ext.sci.shape, memory_bytes=memory_bytes, operation="mean",
                reject=params["reject_method"], lsigma=params["lsigma"], hsigma=params["hsigma"],
                mclip=True)
            exts.append(Extension(fsci, fvar, fdq & np.uint16(~OBJECT_BIT & 0xFFFF),
                                  ext.header.copy()))
        del planes, readers
    phu = first.phu.copy()
    if len(set(obsids)) > 1:
        phu["OBSID"] = ("+".join(dict.fromkeys(obsids)),
                        "Observations the fringe frame was made from")
    phu["PROCFRNG"] = ("gmos-snake", "Processed fringe frame")
    phu["NCOMBINE"] = (n, "Number of frames combined")
    for k, (name, sky) in enumerate(zip(names, sky_levels, strict=True), start=1):
        phu[f"IMCMB{k:03d}"] = name
        phu[f"FRSKY{k:03d}"] = (round(float(sky), 3), f"sky of input {k} (e-; removed CCD by CCD)")
    add_provenance(phu, "makeFringeFrame",
                   {"overscanCorrect": overscan, "makeFringeFrame": dict(params),
                    "subtract_median_image": bool(subtract_median)},
                   [(p, file_sha256(p)) for p in dict.fromkeys((*paths, *bias_paths, *flat_paths))])
    return Frame(phu, exts, first.filename)
