"""Writing a simulated set and its truth.

``OUTDIR/truth/`` holds, for the whole set (the detector model is the same for every frame):

frames.json
    layout (camera key), xbin, ybin, seed, qe_twilight, qe_night (per CCD), ``amp_sections``
    (per amp in file order: ampname, detsec (unbinned), datasec (binned)), ``field_stop``
    (:func:`field_truth`) and ``frames`` (per frame: kind, exposure, sky, offsets, seeing,
    fringe amplitude, ra, dec, pa (degrees); per amp gain (e-/ADU), read noise (e-), overscan
    level and bias offset (ADU), dead rows, full well (e-, None if ADC-limited); cosmic rays).
stars.ecsv
    ra, dec (degrees), flux_e (electrons per exposure through the full pupil).
detector.npz
    per amp i (file order), binned data section (ny, nx): ``response_i``, ``illumination_i``
    (times the field-stop transmission: a perfect flat), ``unilluminated_i`` (bool: centre
    outside the field stop; the pipeline must give it DQ 64 UNILLUMINATED or 16 NO_DATA),
    ``pattern_i`` (bias, ADU), ``bad_i`` (bool), ``fringe_i`` (unit fringe pattern times the
    transmission); and ``bias_offset``, ``dead_rows`` per amp.

For products on the sky (mosaics, stacks), ``sky_truth.unilluminated_at(raw_dir, ra, dec)``
says which sky positions no illuminated pixel of any science frame saw.
"""

from __future__ import annotations

import json
import os

import numpy as np
from astropy.table import Table

from . import field as field_stop
from .core import DetectorModel, FrameSpec, make_detector_model, write_raw


def field_truth(model: DetectorModel) -> dict:
    """The field-stop model (unbinned detector pixels) and the amps entirely outside it."""
    stop = field_stop.FIELDS[model.camera.field]
    dark = [amp["ampname"] for amp, out in zip(model.amps, model.unilluminated, strict=True)
            if out.all()]
    return {"units": "unbinned detector-frame pixels (DETSEC, no chip gaps)",
            "left": stop.left, "right": stop.right, "bottom": stop.bottom, "top": stop.top,
            "corner_cuts": dict(zip(("bottom_left", "bottom_right", "top_left", "top_right"),
                                    stop.corners, strict=True)),
            "vignetting_fall_off": field_stop.FALL_OFF,
            "scattered_light": field_stop.SCATTERED,
            "unilluminated_amps": dark,
            "unilluminated_fraction": float(
                sum(int(u.sum()) for u in model.unilluminated)
                / sum(u.size for u in model.unilluminated))}


def write_set(outdir: str, layout_key: str, xbin: int, ybin: int, specs: list[FrameSpec],
              *, roi, seed: int, stars: Table | None) -> list[str]:
    """Write the frames of specs and their truth (outdir/truth); return the raw paths.  roi:
    unbinned detector rectangle (x1, x2, y1, y2) or None."""
    truth_dir = os.path.join(outdir, "truth")
    os.makedirs(truth_dir, exist_ok=True)
    model = make_detector_model(layout_key, xbin, ybin, roi, seed=seed)
    paths, truth = [], {}
    for spec in specs:
        path = os.path.join(outdir, spec.name + ".fits")
        truth[spec.name] = write_raw(path, model, spec, stars, seed=seed)
        truth[spec.name].update({k: getattr(spec, k) for k in (
            "kind", "sky_e", "exptime", "poffset", "qoffset", "seeing", "fringe_amplitude_e",
            "ra", "dec", "pa")})
        paths.append(path)
    sections = [{"ampname": a["ampname"], "detsec": a["detsec"].header(),
                 "datasec": a["datasec"].header()} for a in model.amps]
    with open(os.path.join(truth_dir, "frames.json"), "w") as fh:
        json.dump({"layout": layout_key, "xbin": xbin, "ybin": ybin, "seed": seed,
                   "qe_twilight": model.qe_twilight, "qe_night": model.qe_night,
                   "amp_sections": sections, "field_stop": field_truth(model),
                   "frames": truth}, fh, indent=1)
    if stars is not None:
        stars.write(os.path.join(truth_dir, "stars.ecsv"), overwrite=True)
    np.savez_compressed(
        os.path.join(truth_dir, "detector.npz"),
        **{f"{name}_{i}": a
           for name in ("response", "illumination", "unilluminated", "pattern", "bad", "fringe")
           for i, a in enumerate(getattr(model, name))},
        bias_offset=np.array(model.bias_offset), dead_rows=np.array(model.dead_rows),
    )
    return paths
