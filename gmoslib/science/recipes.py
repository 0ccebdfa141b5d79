"""Science recipes: raw frame -> calibrated mosaic, and mosaics -> aligned stack.

Like :mod:`gmoslib.calibration.recipes`, these read their inputs, call the array primitives and
return frames; the caller writes products atomically.
"""

from __future__ import annotations

import os
import tempfile
import warnings
from collections.abc import Sequence

import numpy as np
from astropy.io import fits
from astropy.table import Table
from astropy.wcs import WCS, FITSFixedWarning

from gmoslib.calibration.association import max_dither_arcsec
from gmoslib.calibration.recipes import (
    RecipeError,
    _check_compatible,
    ccd_index_of_extensions,
    flat_correct_frame,
    load_prepared,
    subtract_master,
    to_electrons,
)
from gmoslib.config.schema import step_values
from gmoslib.instrument.descriptors import Descriptors
from gmoslib.instrument.lookups import FRINGE_CONTROL_PAIRS
from gmoslib.instrument.sections import parse_section
from gmoslib.io import dq as dqbits
from gmoslib.io.fitsio import file_sha256, read_frame, read_headers
from gmoslib.io.frame import Extension, Frame
from gmoslib.io.provenance import add_provenance
from gmoslib.science import detect as detectlib
from gmoslib.science import fringe as fringelib
from gmoslib.science import mosaic as mosaiclib
from gmoslib.science import qecorrect as qelib
from gmoslib.science.footprint import crop_to_data


def calibrated_frame(raw_path: str, bias_path: str, flat_path: str, *, overscan: dict,
                     bpm: Frame | None = None) -> tuple[Frame, Descriptors]:
    """Overscan, bias, gain (electrons, Poisson VAR) and flat: the per-amplifier frame
    (electrons) that both the science chain and the fringe frame start from."""
    frame = load_prepared(raw_path, overscan=overscan, bpm=bpm)
    desc = Descriptors(frame.phu, [e.header for e in frame.exts], raw_path)
    frame = subtract_master(frame, read_frame(bias_path), "master bias")
    frame = to_electrons(frame)
    frame = flat_correct_frame(frame, read_frame(flat_path))
    return frame, desc


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
    """Overscan, bias, gain (electrons, Poisson VAR), flat, fringe (when a processed fringe
    is given; ``fringe`` = fringeCorrect parameters), QE equalisation (Hamamatsu by default),
    mosaic (``mosaic_order``: None = mosaicDetectors' schema default).  Returns the
    single-extension mosaic frame (electrons) and a dict of what was done (fringe scale, QE
    factors...)."""
    if mosaic_order is None:
        mosaic_order = step_values("mosaicDetectors")["order"]
    frame, desc = calibrated_frame(raw_path, bias_path, flat_path, overscan=overscan, bpm=bpm)
    info: dict = {}
    if fringe_path:
        frame, finfo = fringe_correct_frame(frame, read_frame(fringe_path), desc,
                                            **step_values("fringeCorrect", fringe))
        info["fringe"] = finfo
    hamamatsu = desc.detector_name(pretty=True).startswith("Hamamatsu")
    if qe_correct is None:
        qe_correct = hamamatsu
    ccd_index = ccd_index_of_extensions(frame)
    if qe_correct and len(set(ccd_index)) == 3:
        try:  # sky of illuminated, good, source-free pixels; implausible factors stop
            factors, levels = qelib.measure_factors(frame.exts, ccd_index,
                                                    frame=os.path.basename(raw_path),
                                                    filter_band=desc.filter_name(pretty=True))
        except qelib.QEFactorError as exc:
            raise RecipeError(str(exc)) from None
        exts, factors = qelib.qe_correct(frame.exts, ccd_index, factors)
        frame = Frame(frame.phu, list(exts), frame.filename)
        info["qe_factors"] = [float(f) for f in factors]
        info["qe_sky_levels"] = [round(levels[k], 3) for k in (0, 1, 2)]
        for k in (0, 1, 2):
            frame.phu[f"QESKY{k + 1}"] = (round(levels[k], 3), f"CCD{k + 1} sky for QECorrect (e-)")
        frame.phu["QECORR"] = ("gmos-snake", "CCD1/CCD3 scaled to CCD2 sky")
        frame.phu["QEFACT1"] = (float(factors[0]), "QE factor applied to CCD1")
        frame.phu["QEFACT3"] = (float(factors[1]), "QE factor applied to CCD3")
    mosaic = crop_to_data(mosaiclib.mosaic_detectors(  # (sub-ROI reads: data footprint)
        frame.exts, desc.detector_name(), order=mosaic_order,
        xbin=desc.detector_x_bin(), ybin=desc.detector_y_bin()))
    phu = frame.phu.copy()
    phu["MOSAIC"] = ("gmos-snake", "Amplifiers mosaicked")
    add_provenance(phu, "reduceScienceFrame",
                   {"overscanCorrect": overscan, "QECorrect": {"enabled": qe_correct},
                    "mosaicDetectors": {"order": mosaic_order}, **info},
                   [(p, file_sha256(p)) for p in (raw_path, bias_path, flat_path)
                    + ((fringe_path,) if fringe_path else ())])
    return Frame(phu, [mosaic], frame.filename), info


# --------------------------------------------------------------------------- fringes
def _detsecs(frame: Frame):
    return [parse_section(str(e.header["DETSEC"])) for e in frame.exts]


#: Sources kept out of the least-squares fringe fit (fringeCorrect has no detection
#: parameters): detection threshold (sigma), minimum area (pixels), growth radius (pixels).
FRINGE_FIT_SOURCES = {"thresh": 2.0, "minarea": 8, "dilation": 2}


def fringe_scale_factor(frame: Frame, fringe: Frame, desc: Descriptors) -> dict:
    """How much of the fringe frame is in a science frame (both per amplifier, electrons).

    Control pairs of the detector set when it has them and at least one pair is usable,
    otherwise least squares over the pixels good in both frames and outside the science
    frame's objects.  Returns {'scale', 'method', 'n_pairs'}."""
    xbin, ybin = desc.detector_x_bin(), desc.detector_y_bin()
    pairs = FRINGE_CONTROL_PAIRS.get(desc.detector_name())
    if pairs:
        scale, n_used, _ = fringelib.control_pair_scale(
            [(e.sci, e.dq) for e in frame.exts], [(e.sci, e.dq) for e in fringe.exts],
            _detsecs(frame), xbin, ybin, pairs)
        if scale is not None:
            return {"scale": scale, "method": "control pairs", "n_pairs": n_used,
                    "warning": (f"only {n_used} control pairs usable"
                                if n_used < fringelib.MIN_GOOD_PAIRS else "")}
    objects = [fringelib.object_mask(e.sci, e.var, e.dq, **FRINGE_FIT_SOURCES)
               for e in frame.exts]
    scale = fringelib.least_squares_scale(
        [(e.sci, e.dq, m) for e, m in zip(frame.exts, objects, strict=True)],
        [(e.sci, e.dq) for e in fringe.exts])
    return {"scale": scale, "method": "least squares", "n_pairs": 0, "warning": ""}


def fringe_correct_frame(frame: Frame, fringe: Frame, desc: Descriptors, *,
                         scale: bool | None, scale_factor: float | None
                         ) -> tuple[Frame, dict]:
    """Subtract a scaled processed fringe from a flat-fielded frame (reference 5.12).

    scale_factor : use this factor.  Otherwise scale=True fits it (control pairs, else least
    squares), scale=False uses 1, scale=None fits it only when the fringe frame comes from
    another observation (DRAGONS' rule).  Records FRINGEIM, FRNGSCAL and FRNGMETH."""
    _check_compatible(frame, fringe, "processed fringe")
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
    exts = []
    for e, f in zip(frame.exts, fringe.exts, strict=True):
        sci, var, dq = fringelib.subtract_fringe(e.sci, e.var, e.dq, f.sci, f.var, f.dq,
                                                 info["scale"])
        exts.append(Extension(sci, var, dq, e.header))
    phu = frame.phu.copy()
    phu["FRINGEIM"] = (os.path.basename(fringe.filename), "Processed fringe subtracted")
    phu["FRNGSCAL"] = (round(float(info["scale"]), 6), "Fringe scale factor applied")
    phu["FRNGMETH"] = (info["method"], "How the fringe scale factor was found")
    phu["FRNGNPR"] = (int(info["n_pairs"]), "Fringe control pairs used")
    return Frame(phu, exts, frame.filename), info


class _FringeScratch:
    """Per-extension (N, ny, nx) memory maps holding the fringe frame's inputs, so that their
    DQ can be updated in place (source masks) before the row-block stack."""

    def __init__(self, directory: str, n: int, shapes: list[tuple[int, int]]):
        def mm(name, dtype, shape):
            return np.lib.format.open_memmap(os.path.join(directory, name), mode="w+",
                                             dtype=dtype, shape=(n, *shape))

        self.sci = [mm(f"sci{i}.npy", np.float32, s) for i, s in enumerate(shapes)]
        self.var = [mm(f"var{i}.npy", np.float32, s) for i, s in enumerate(shapes)]
        self.dq = [mm(f"dq{i}.npy", np.uint16, s) for i, s in enumerate(shapes)]

    def readers(self, i: int):
        def reader(k):
            return lambda y0, y1: (self.sci[i][k, y0:y1], self.var[i][k, y0:y1],
                                   self.dq[i][k, y0:y1])

        return [reader(k) for k in range(self.sci[i].shape[0])]


#: While a fringe frame is stacked, source pixels carry this DQ bit: it ranks between cosmic
#: rays and bad pixels, so a pixel covered by a source in one frame is taken from the frames
#: where it is sky, and where every frame has a source (or a fringe peak detected as one) all
#: are used.  No fringe frame pixel keeps it.
OBJECT_BIT = dqbits.OVERLAP


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
    """Processed fringe frame from dithered science frames (reference 5.12).

    Each frame is overscan-, bias-, gain- and flat-corrected (its own master bias and flat,
    in the order of raw_paths), its sky level subtracted CCD by CCD (so that the CCDs' sky
    steps before QE equalisation stay out of the fringe frame); its sources are detected
    (on the frame minus the median of all frames when ``subtract_median_image``, by default
    for GMOS-S), grown by ``dilation`` pixels and flagged; then the frames are stacked
    (mean with rejection).  Output: per amplifier SCI (electrons, sky ~0), VAR, DQ; PHU of
    the first frame plus PROCFRNG, NCOMBINE, IMCMBnnn, provenance.
    """
    from gmoslib import stacking as stacklib

    params = step_values("makeFringeFrame", params)
    paths = list(raw_paths)
    n = len(paths)
    min_frames = 3
    if n < min_frames:
        raise RecipeError(
            f"a fringe frame needs at least {min_frames} dithered science frames, got {n} "
            f"({', '.join(os.path.basename(p) for p in paths)})")
    if len(bias_paths) != n or len(flat_paths) != n:
        raise RecipeError("one master bias and one master flat per science frame are needed")
    pointings = [_pointing(p) for p in paths]
    min_dither = float(params["min_dither"])
    spread = max_dither_arcsec([p[0] for p in pointings], [p[1] for p in pointings])
    if spread < min_dither:
        raise RecipeError(
            f"insufficient dithering to make a fringe frame: the {n} frames "
            f"({', '.join(os.path.basename(p) for p in paths)}) are all within "
            f"{spread:.2f} arcsec of each other (at least {min_dither:g} arcsec is needed to "
            "separate sources from fringes)")
    detect = {"thresh": params["thresh"], "minarea": params["minarea"],
              "dilation": params["dilation"]}
    subtract_median = params["subtract_median_image"]
    descs, names, sky_levels, obsids = [], [], [], []
    with tempfile.TemporaryDirectory(prefix=".fringe-", dir=scratch_dir) as tmp:
        scratch = None
        first = None
        for k in range(n):
            frame, desc = calibrated_frame(paths[k], bias_paths[k], flat_paths[k],
                                           overscan=overscan, bpm=bpm)
            if first is None:
                first = frame
                scratch = _FringeScratch(tmp, n, [e.sci.shape for e in frame.exts])
                if subtract_median is None:
                    subtract_median = desc.telescope() == "Gemini-South"
            else:
                _check_compatible(first, frame)
            sky = fringelib.sky_level([e.sci for e in frame.exts], [e.dq for e in frame.exts])
            ccd_skies = fringelib.ccd_sky_levels([e.sci for e in frame.exts],
                                                 [e.dq for e in frame.exts],
                                                 ccd_index_of_extensions(frame))
            for i, e in enumerate(frame.exts):
                sci = e.sci - np.float32(ccd_skies[i])
                dq = e.dq
                if not subtract_median:
                    dq = dq | np.where(fringelib.object_mask(sci, e.var, e.dq, **detect),
                                       OBJECT_BIT, 0).astype(np.uint16)
                scratch.sci[i][k] = sci
                scratch.var[i][k] = e.var
                scratch.dq[i][k] = dq
            descs.append(desc)
            names.append(frame.filename)
            sky_levels.append(sky)
            obsids.append(desc.observation_id())
            del frame
        if subtract_median:
            for i, ext in enumerate(first.exts):
                ny, nx = ext.sci.shape
                median, _, _, _ = stacklib.stack_frames(
                    scratch.readers(i), ny, nx, memory_bytes=memory_bytes,
                    operation="median", reject="minmax", nlow=0, nhigh=1)
                for k in range(n):
                    mask = fringelib.object_mask(scratch.sci[i][k] - median,
                                                 scratch.var[i][k], scratch.dq[i][k],
                                                 **detect)
                    scratch.dq[i][k] |= np.where(mask, OBJECT_BIT, 0).astype(np.uint16)
        exts = []
        for i, ext in enumerate(first.exts):
            ny, nx = ext.sci.shape
            sci, var, dq, _ = stacklib.stack_frames(
                scratch.readers(i), ny, nx, memory_bytes=memory_bytes,
                operation="mean", reject=params["reject_method"],
                lsigma=params["lsigma"], hsigma=params["hsigma"], mclip=True)
            dq &= np.uint16(~OBJECT_BIT & 0xFFFF)
            exts.append(Extension(sci, var, dq, ext.header.copy()))
        del scratch
    phu = first.phu.copy()
    unique_obsids = list(dict.fromkeys(obsids))
    if len(unique_obsids) > 1:
        phu["OBSID"] = ("+".join(unique_obsids), "Observations the fringe frame was made from")
    phu["PROCFRNG"] = ("gmos-snake", "Processed fringe frame")
    phu["NCOMBINE"] = (n, "Number of frames combined")
    for k, name in enumerate(names, start=1):
        phu[f"IMCMB{k:03d}"] = os.path.basename(name)
        phu[f"FRSKY{k:03d}"] = (round(float(sky_levels[k - 1]), 3),
                                f"sky of input {k} (e-; removed CCD by CCD)")
    add_provenance(phu, "makeFringeFrame",
                   {"overscanCorrect": overscan, "makeFringeFrame": dict(params),
                    "subtract_median_image": bool(subtract_median)},
                   [(p, file_sha256(p)) for p in dict.fromkeys((*paths, *bias_paths, *flat_paths))])
    return Frame(phu, exts, first.filename)


def detect_catalogue(mosaic: Extension, **detect) -> Table:
    """Source catalogue of a mosaic (electrons) as an astropy Table; ``detect``: parameters
    of detectSources (missing ones from the schema)."""
    cat, _ = detectlib.detect_sources(mosaic.sci, mosaic.var, mosaic.dq, object_mask=False,
                                      **step_values("detectSources", detect))
    return Table(cat) if not isinstance(cat, Table) else cat


def frame_seeing(mosaic: Extension, catalogue: Table) -> float | None:
    """Seeing FWHM (arcsec) of a mosaic from its catalogue, or None with too few stars."""
    scale = float(WCS(mosaic.header).proj_plane_pixel_scales()[1]
                  .to_value("arcsec"))
    return detectlib.estimate_seeing(catalogue.as_array(), scale)


def stack_science(
    mosaic_paths: Sequence[str],
    catalogues: Sequence[Table],
    *,
    align: dict,
    resample_order: int,
    cosmic: dict,
    stack: dict,
    memory_bytes: int,
    scratch_dir: str,
    provenance: dict,
    threads: int = 1,
) -> tuple[Frame, list[dict]]:
    """Align every mosaic to the first, resample onto the union footprint, flag cosmic rays
    against the median, scale to the first exposure time, match backgrounds and stack.

    ``threads``: frames read and resampled at once (the reading and the numpy work overlap;
    scipy's interpolation itself holds the GIL), frames tested for cosmic rays at once, and
    row blocks stacked at once.
    Returns the stacked frame and one QA record per input frame.
    """
    from concurrent.futures import ThreadPoolExecutor

    # imported here: a per-frame job (reduce_science_frame) does not pay for them
    from gmoslib.science import cosmic as cosmiclib
    from gmoslib.science import final_stack as sstack
    from gmoslib.science import resample as resamplelib
    from gmoslib.science.registration import register_frames

    align = step_values("adjustWCSToReference", align)
    cosmic = step_values("flagCosmicRaysByStacking", cosmic)
    stack = step_values("stackFrames", stack)
    n = len(mosaic_paths)
    if n < 1:
        raise RecipeError("no science frames to stack")
    all_heads = [fits.getheader(p, 0) for p in mosaic_paths]
    all_sci = [fits.getheader(p, ("SCI", 1)) for p in mosaic_paths]
    # every frame checked and aligned; a frame set aside keeps its record, not its pixels
    all_transforms, records = register_frames(mosaic_paths, catalogues, all_heads, all_sci,
                                              align=align)
    used = [k for k, t in enumerate(all_transforms) if t is not None]
    inputs = [mosaic_paths[k] for k in used]
    heads, sci_heads = [all_heads[k] for k in used], [all_sci[k] for k in used]
    transforms = [all_transforms[k] for k in used]
    stacked = [records[k] for k in used]  # the same dicts: updated below
    shapes = [(int(h["NAXIS2"]), int(h["NAXIS1"])) for h in sci_heads]
    n = len(used)
    (ny, nx), offset = _union(shapes, transforms)

    with tempfile.TemporaryDirectory(prefix=".stack-", dir=scratch_dir) as tmp:
        # resampled frames in memory when they fit in 3/4 of the budget, else memory maps
        in_memory = n * ny * nx * 10 <= memory_bytes * 3 // 4

        def holder(name, dtype):
            if in_memory:
                return np.empty((n, ny, nx), dtype)
            return np.lib.format.open_memmap(os.path.join(tmp, f"{name}.npy"), "w+", dtype,
                                             (n, ny, nx))

        sci_mm = holder("sci", np.float32)
        var_mm = holder("var", np.float32)
        dq_mm = holder("dq", np.uint16)
        def resample(k):
            e = read_frame(inputs[k]).exts[0]
            sci_mm[k], var_mm[k], dq_mm[k] = resamplelib.resample_to_frame(
                e.sci, e.var, e.dq, transforms[k], (ny, nx), offset, order=resample_order)

        with ThreadPoolExecutor(max_workers=max(1, int(threads))) as pool:
            list(pool.map(resample, range(n)))
        if n >= 2 and cosmic["enabled"]:
            new_dq = cosmiclib.flag_cosmic_rays_by_stacking(
                [(sci_mm[k], var_mm[k], dq_mm[k], None) for k in range(n)],
                hsigma=cosmic["hsigma"], dilation=cosmic["dilation"],
                threads=threads)
            for k in range(n):
                stacked[k]["n_cosmic"] = int(np.count_nonzero(new_dq[k] & 8)
                                             - np.count_nonzero(dq_mm[k] & 8))
                dq_mm[k] = new_dq[k]
            del new_dq
        exptimes = [float(h["EXPTIME"]) for h in heads]
        scales = np.asarray(sstack.exposure_scale_factors(exptimes), dtype=float)
        # background_offsets samples every 4th row and column: scale only that sample
        offsets = np.asarray(sstack.background_offsets(
            [sci_mm[k, ::4, ::4] * scales[k] for k in range(n)],
            [dq_mm[k, ::4, ::4] for k in range(n)], stride=1),
            dtype=float) if n >= 2 else np.zeros(1)
        for k in range(n):
            stacked[k]["scale"] = float(scales[k])
            stacked[k]["offset"] = float(offsets[k])

        def reader(k):
            return lambda y0, y1: (sci_mm[k, y0:y1], var_mm[k, y0:y1], dq_mm[k, y0:y1])

        if n == 1:  # a group of one frame (e.g. the only frame with its binning): no combining
            sci, var, dq = (np.array(sci_mm[0]), np.array(var_mm[0]), np.array(dq_mm[0]))
            nrej = np.zeros((ny, nx), np.int16)
        else:
            sci, var, dq, nrej = sstack.stack_science(
                [reader(k) for k in range(n)], ny, nx, offsets=offsets, scales=scales,
                memory_bytes=memory_bytes, lsigma=stack["lsigma"],
                hsigma=stack["hsigma"], threads=threads)

    hdr = sci_heads[0].copy()
    for key in ("NAXIS1", "NAXIS2", "EXTNAME", "EXTVER"):
        hdr.remove(key, ignore_missing=True)
    if "CRPIX1" in hdr:
        hdr["CRPIX1"] = float(hdr["CRPIX1"]) - offset[0]
        hdr["CRPIX2"] = float(hdr["CRPIX2"]) - offset[1]
    hdr["DATASEC"] = f"[1:{nx},1:{ny}]"
    hdr["BUNIT"] = "electron"
    phu = heads[0].copy()
    phu["NCOMBINE"] = (n, "Number of frames combined")
    for k, path in enumerate(inputs, start=1):
        phu[f"IMCMB{k:03d}"] = os.path.basename(path)
    phu["ORIGTEXP"] = (exptimes[0], "Exposure time of the reference frame (s)")
    phu["PROCSCI"] = ("gmos-snake", "Processed science")
    for k, rec in enumerate(records, start=1):
        phu[f"ALGN{k:03d}"] = (f"{rec['method']} dx={rec['dx']:.3f} dy={rec['dy']:.3f} "
                               f"n={rec['n_matched']}", f"alignment of input {k} (pixels)")
        phu[f"SCAL{k:03d}"] = (rec.get("scale", 1.0), f"exposure-time scale of input {k}")
        phu[f"BOFF{k:03d}"] = (rec.get("offset", 0.0), f"background offset of input {k} (e-)")
    phu["NREJECT"] = (int(nrej.sum(dtype=np.int64)), "Input pixel values rejected by clipping")
    phu["NREJPIX"] = (int(np.count_nonzero(nrej)), "Output pixels with a rejected input")
    add_provenance(phu, "stackScience", provenance,
                   [(p, file_sha256(p)) for p in inputs])
    for k, rec in enumerate(records):
        rec["n_rejected_mean"] = float(nrej.mean()) if k == 0 else rec.get("n_rejected_mean")
    return Frame(phu, [Extension(sci, var, dq, hdr)], mosaic_paths[0]), records


def _union(shapes, transforms):
    from gmoslib.science.resample import output_frame

    nx, ny, offset = output_frame(shapes, transforms)
    return (ny, nx), offset
