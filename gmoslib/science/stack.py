"""The stackScience recipe: calibrated mosaics -> one aligned, resampled, stacked frame
(array primitives in :mod:`gmoslib.science.final_stack`).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from astropy.io import fits
from astropy.table import Table

from gmoslib.config.schema import step_values
from gmoslib.io.dq import COSMIC_RAY
from gmoslib.io.errors import RecipeError
from gmoslib.io.fitsio import file_sha256, read_frame
from gmoslib.io.frame import Extension, Frame
from gmoslib.io.provenance import add_provenance
from gmoslib.science import final_stack
from gmoslib.science.cosmic import flag_cosmic_rays_by_stacking
from gmoslib.science.registration import register_frames
from gmoslib.science.resample import output_frame, resample_to_frame


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
    """(stacked frame in electrons, one QA record per input): mosaics aligned to the first,
    resampled onto the union footprint, cosmic rays flagged, scaled to the first exposure
    time, backgrounds matched, stacked.  ``align``, ``cosmic``, ``stack``:
    adjustWCSToReference, flagCosmicRaysByStacking and stackFrames parameters; ``threads``:
    frames resampled, frames tested and row blocks stacked at once."""
    align = step_values("adjustWCSToReference", align)
    cosmic = step_values("flagCosmicRaysByStacking", cosmic)
    stack = step_values("stackFrames", stack)
    if not mosaic_paths:
        raise RecipeError("no science frames to stack")
    all_heads = [fits.getheader(p, 0) for p in mosaic_paths]
    all_sci = [fits.getheader(p, ("SCI", 1)) for p in mosaic_paths]
    # a frame set aside keeps its record, not its pixels
    all_transforms, records = register_frames(mosaic_paths, catalogues, all_heads, all_sci,
                                              align=align)
    used = [k for k, t in enumerate(all_transforms) if t is not None]
    inputs, heads, sci_heads, transforms, stacked = (  # stacked: the same dicts, updated below
        [seq[k] for k in used]
        for seq in (mosaic_paths, all_heads, all_sci, all_transforms, records))
    n = len(used)
    nx, ny, offset = output_frame([(int(h["NAXIS2"]), int(h["NAXIS1"])) for h in sci_heads],
                                  transforms)

    with tempfile.TemporaryDirectory(prefix=".stack-", dir=scratch_dir) as tmp:
        # resampled frames in memory when they fit in 3/4 of the budget, else memory maps
        in_memory = n * ny * nx * 10 <= memory_bytes * 3 // 4
        sci_mm, var_mm, dq_mm = final_stack.frame_planes(n, (ny, nx), None if in_memory else tmp)

        def resample(k):
            e = read_frame(inputs[k]).exts[0]
            sci_mm[k], var_mm[k], dq_mm[k] = resample_to_frame(
                e.sci, e.var, e.dq, transforms[k], (ny, nx), offset, order=resample_order)

        with ThreadPoolExecutor(max_workers=max(1, int(threads))) as pool:
            list(pool.map(resample, range(n)))
        if n >= 2 and cosmic["enabled"]:
            new_dq = flag_cosmic_rays_by_stacking(
                [(sci_mm[k], var_mm[k], dq_mm[k], None) for k in range(n)],
                hsigma=cosmic["hsigma"], dilation=cosmic["dilation"], threads=threads)
            for k in range(n):
                stacked[k]["n_cosmic"] = int(np.count_nonzero(new_dq[k] & COSMIC_RAY)
                                             - np.count_nonzero(dq_mm[k] & COSMIC_RAY))
                dq_mm[k] = new_dq[k]
            del new_dq
        exptimes = [float(h["EXPTIME"]) for h in heads]
        scales = final_stack.exposure_scale_factors(exptimes)
        # background_offsets samples every 4th row and column: scale only that sample
        offsets = final_stack.background_offsets(
            [sci_mm[k, ::4, ::4] * scales[k] for k in range(n)],
            [dq_mm[k, ::4, ::4] for k in range(n)], stride=1)
        for k in range(n):
            stacked[k]["scale"] = float(scales[k])
            stacked[k]["offset"] = float(offsets[k])
        if n == 1:  # a group of one frame (e.g. the only frame with its binning): no combining
            sci, var, dq = (np.array(sci_mm[0]), np.array(var_mm[0]), np.array(dq_mm[0]))
            nrej = np.zeros((ny, nx), np.int16)
        else:
            sci, var, dq, nrej = final_stack.stack_aligned(
                [final_stack.row_reader(sci_mm[k], var_mm[k], dq_mm[k]) for k in range(n)],
                ny, nx, offsets=offsets, scales=scales, memory_bytes=memory_bytes,
                lsigma=stack["lsigma"], hsigma=stack["hsigma"], threads=threads)

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
    add_provenance(phu, "stackScience", provenance, [(p, file_sha256(p)) for p in inputs])
    for k, rec in enumerate(records):
        rec["n_rejected_mean"] = float(nrej.mean()) if k == 0 else rec.get("n_rejected_mean")
    return Frame(phu, [Extension(sci, var, dq, hdr)], mosaic_paths[0]), records
