"""Science recipes: raw frame -> calibrated mosaic, and mosaics -> aligned stack.

Like :mod:`gmoslib.recipes`, these read their inputs, call the array primitives and return
frames; the caller writes products atomically.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence

import numpy as np
from astropy.io import fits
from astropy.table import Table
from astropy.wcs import WCS

from . import detect as detectlib
from . import mosaic as mosaiclib
from .descriptors import Descriptors
from .fitsio import file_sha256, read_frame
from .frame import Extension, Frame
from .provenance import add_provenance
from .recipes import (
    RecipeError,
    ccd_index_of_extensions,
    flat_correct_frame,
    load_prepared,
    subtract_master,
    to_electrons,
)


def reduce_science_frame(
    raw_path: str,
    bias_path: str,
    flat_path: str,
    *,
    overscan: dict,
    qe_correct: bool | None = None,
    mosaic_order: int = 3,
    bpm: Frame | None = None,
) -> tuple[Frame, dict]:
    """Overscan, bias, gain (electrons, Poisson VAR), flat, QE equalisation (Hamamatsu by
    default), mosaic.  Returns the single-extension mosaic frame (electrons) and a dict of
    what was done (QE factors...)."""
    frame = load_prepared(raw_path, overscan=overscan, bpm=bpm)
    desc = Descriptors(frame.phu, [e.header for e in frame.exts], raw_path)
    frame = subtract_master(frame, read_frame(bias_path), "master bias")
    frame = to_electrons(frame)
    frame = flat_correct_frame(frame, read_frame(flat_path))
    info: dict = {}
    hamamatsu = desc.detector_name(pretty=True).startswith("Hamamatsu")
    if qe_correct is None:
        qe_correct = hamamatsu
    ccd_index = ccd_index_of_extensions(frame)
    if qe_correct and len(set(ccd_index)) == 3:
        exts, factors = mosaiclib.qe_correct(frame.exts, ccd_index, None)
        frame = Frame(frame.phu, list(exts), frame.filename)
        info["qe_factors"] = [float(f) for f in factors]
        frame.phu["QECORR"] = ("gmos-snake", "CCD1/CCD3 scaled to CCD2 sky")
        frame.phu["QEFACT1"] = (float(factors[0]), "QE factor applied to CCD1")
        frame.phu["QEFACT3"] = (float(factors[1]), "QE factor applied to CCD3")
    mosaic = mosaiclib.mosaic_detectors(
        frame.exts, desc.detector_name(), order=mosaic_order,
        xbin=desc.detector_x_bin(), ybin=desc.detector_y_bin())
    phu = frame.phu.copy()
    phu["MOSAIC"] = ("gmos-snake", "Amplifiers mosaicked")
    add_provenance(phu, "reduceScienceFrame",
                   {"overscanCorrect": overscan, "QECorrect": {"enabled": qe_correct},
                    "mosaicDetectors": {"order": mosaic_order}, **info},
                   [(p, file_sha256(p)) for p in (raw_path, bias_path, flat_path)])
    return Frame(phu, [mosaic], frame.filename), info


def detect_catalogue(mosaic: Extension, **kwargs) -> Table:
    """Source catalogue of a mosaic (electrons) as an astropy Table."""
    cat, _ = detectlib.detect_sources(mosaic.sci, mosaic.var, mosaic.dq, **kwargs)
    return Table(cat) if not isinstance(cat, Table) else cat


def frame_seeing(mosaic: Extension, catalogue: Table) -> float | None:
    """Seeing FWHM (arcsec) of a mosaic from its catalogue, or None with too few stars."""
    scale = float(WCS(mosaic.header).proj_plane_pixel_scales()[1].to_value("arcsec"))
    return detectlib.estimate_seeing(catalogue.as_array(), scale)


def _initial_shift(ref_wcs: WCS, wcs: WCS, shape: tuple[int, int]) -> tuple[float, float]:
    """Pixel shift (frame -> reference) implied by the two header WCSs at the frame centre."""
    ny, nx = shape
    x, y = (nx - 1) / 2.0, (ny - 1) / 2.0
    sky = wcs.pixel_to_world(x, y)
    rx, ry = ref_wcs.world_to_pixel(sky)
    return float(rx - x), float(ry - y)


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
    from . import align as alignlib
    from . import cosmic as cosmiclib
    from . import resample as resamplelib
    from . import science_stack as sstack

    n = len(mosaic_paths)
    if n < 1:
        raise RecipeError("no science frames to stack")
    heads = [fits.getheader(p, 0) for p in mosaic_paths]
    sci_heads = [fits.getheader(p, ("SCI", 1)) for p in mosaic_paths]
    wcss = [WCS(h) for h in sci_heads]
    shapes = [(int(h["NAXIS2"]), int(h["NAXIS1"])) for h in sci_heads]
    pixscale = float(abs(wcss[0].proj_plane_pixel_scales()[1].to_value("arcsec")))
    records: list[dict] = []
    transforms = [np.eye(3)]
    records.append({"frame": os.path.basename(mosaic_paths[0]), "method": "reference",
                    "dx": 0.0, "dy": 0.0, "n_matched": len(catalogues[0]), "rms": 0.0})
    for k in range(1, n):
        shift = _initial_shift(wcss[0], wcss[k], shapes[k])
        result = alignlib.align_to_reference(
            catalogues[0], catalogues[k], wcss[0], wcss[k], header_shift=shift,
            search_radius=align.get("first_pass", 5.0) / pixscale,
            match_radius=align.get("match_radius", 0.5) / pixscale,
            min_sources=align.get("min_sources", 3),
            allow_rotation=align.get("rotate", False),
            allow_scale=align.get("scale", False),
        )
        transforms.append(np.asarray(result["transform"], dtype=float))
        records.append({"frame": os.path.basename(mosaic_paths[k]), "method": result["method"],
                        "reason": result.get("reason", ""),
                        "dx": float(result["transform"][0][2]),
                        "dy": float(result["transform"][1][2]),
                        "n_matched": int(result.get("n_matched", 0)),
                        "rms": float(result.get("rms", np.nan) or np.nan)})
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
            e = read_frame(mosaic_paths[k]).exts[0]
            sci_mm[k], var_mm[k], dq_mm[k] = resamplelib.resample_to_frame(
                e.sci, e.var, e.dq, transforms[k], (ny, nx), offset, order=resample_order)

        with ThreadPoolExecutor(max_workers=max(1, int(threads))) as pool:
            list(pool.map(resample, range(n)))
        if n >= 2 and cosmic.get("enabled", True):
            new_dq = cosmiclib.flag_cosmic_rays_by_stacking(
                [(sci_mm[k], var_mm[k], dq_mm[k], None) for k in range(n)],
                hsigma=cosmic.get("hsigma", 7.0), dilation=cosmic.get("dilation", 1),
                threads=threads)
            for k in range(n):
                records[k]["n_cosmic"] = int(np.count_nonzero(new_dq[k] & 8)
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
            records[k]["scale"] = float(scales[k])
            records[k]["offset"] = float(offsets[k])

        def reader(k):
            return lambda y0, y1: (sci_mm[k, y0:y1], var_mm[k, y0:y1], dq_mm[k, y0:y1])

        sci, var, dq, nrej = sstack.stack_science(
            [reader(k) for k in range(n)], ny, nx, offsets=offsets, scales=scales,
            memory_bytes=memory_bytes, lsigma=stack.get("lsigma", 3.0),
            hsigma=stack.get("hsigma", 3.0), threads=threads)

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
    for k, path in enumerate(mosaic_paths, start=1):
        phu[f"IMCMB{k:03d}"] = os.path.basename(path)
    phu["ORIGTEXP"] = (exptimes[0], "Exposure time of the reference frame (s)")
    phu["PROCSCI"] = ("gmos-snake", "Processed science")
    for k, rec in enumerate(records, start=1):
        phu[f"ALGN{k:03d}"] = (f"{rec['method']} dx={rec['dx']:.3f} dy={rec['dy']:.3f} "
                               f"n={rec['n_matched']}", f"alignment of input {k} (pixels)")
        phu[f"SCAL{k:03d}"] = (rec.get("scale", 1.0), f"exposure-time scale of input {k}")
        phu[f"BOFF{k:03d}"] = (rec.get("offset", 0.0), f"background offset of input {k} (e-)")
    add_provenance(phu, "stackScience", provenance,
                   [(p, file_sha256(p)) for p in mosaic_paths])
    for k, rec in enumerate(records):
        rec["n_rejected_mean"] = float(nrej.mean()) if k == 0 else rec.get("n_rejected_mean")
    return Frame(phu, [Extension(sci, var, dq, hdr)], mosaic_paths[0]), records


def _union(shapes, transforms):
    from .resample import output_frame

    nx, ny, offset = output_frame(shapes, transforms)
    return (ny, nx), offset
