"""Illumination truth on the sky, for mosaics and stacks, from ``truth/frames.json`` and the
simulator's own geometry: a stack pixel where :func:`unilluminated_at` is True had no
illuminated input and must have DQ bit 64 (UNILLUMINATED) or 16 (NO_DATA).
"""

from __future__ import annotations

import json
import os
from types import SimpleNamespace

import numpy as np
from astropy.wcs import WCS

from .cameras import box_from_header, camera
from .field import FIELDS
from .focal_plane import focal_to_ccd
from .headers import mosaic_wcs


def frame_wcs(layout: str, xbin: int, ybin: int, info: dict) -> tuple[WCS, int, int]:
    """``headers.mosaic_wcs`` for one frame's truth entry (poffset, qoffset, pa, ra, dec)."""
    model = SimpleNamespace(camera=camera(layout), xbin=xbin, ybin=ybin)
    spec = SimpleNamespace(poffset=info["poffset"], qoffset=info["qoffset"], pa=info["pa"],
                           ra=info["ra"], dec=info["dec"])
    return mosaic_wcs(model, spec)


def illuminated_in_frame(truth: dict, info: dict, ra, dec) -> np.ndarray:
    """Bool array (shape of ra): the sky position falls on a read pixel of this frame whose
    centre lies inside the field stop."""
    cam = camera(truth["layout"])
    xbin, ybin = truth["xbin"], truth["ybin"]
    stop = FIELDS[cam.field]
    read = [box_from_header(a["detsec"]) for a in truth["amp_sections"]]
    w, x0, y0 = frame_wcs(truth["layout"], xbin, ybin, info)
    mx, my = w.all_world2pix(np.ravel(ra), np.ravel(dec), 0)
    lit = np.zeros(mx.shape, bool)
    nx, ny = cam.ccd_read_area[0] / xbin, cam.ccd_read_area[1] / ybin
    for ccd in range(3):
        cx, cy = focal_to_ccd(cam, ccd, mx + x0, my + y0, xbin, ybin)
        ix, iy = np.floor(cx + 0.5), np.floor(cy + 0.5)  # nearest binned pixel
        on = (ix >= 0) & (ix < nx) & (iy >= 0) & (iy < ny)
        xd = ccd * cam.ccd_read_area[0] + (ix + 0.5) * xbin  # unbinned detector frame
        yd = (iy + 0.5) * ybin
        in_read = np.logical_or.reduce([(xd >= b.x1) & (xd < b.x2) & (yd >= b.y1) & (yd < b.y2)
                                        for b in read])
        lit |= on & in_read & (stop.distance_inside(xd, yd) >= 0)
    return lit.reshape(np.shape(ra))


def unilluminated_at(raw_dir: str, ra, dec, kind: str = "science") -> np.ndarray:
    """Bool array (shape of ra): no frame of that kind in the set saw the sky position
    (degrees) with an illuminated pixel (outside the field stop, in a chip gap or off the
    detector in every frame)."""
    with open(os.path.join(raw_dir, "truth", "frames.json")) as fh:
        truth = json.load(fh)
    frames = [f for f in truth["frames"].values() if f["kind"] == kind]
    if not frames:
        raise ValueError(f"{raw_dir}: the simulated set has no {kind} frame")
    seen = np.zeros(np.shape(ra), bool)
    for info in frames:
        seen |= illuminated_in_frame(truth, info, ra, dec)
    return ~seen
