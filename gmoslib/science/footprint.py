"""Crop a mosaic to its data: a small region of interest (e.g. Central Stamp) fills a few
hundred pixels of a whole-detector mosaic, the rest NO_DATA.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from gmoslib.io import dq as dqbits
from gmoslib.io.frame import Extension

#: Crop only when the data's bounding box covers less than this fraction of the mosaic
#: (full-frame mosaics are kept).
CROP_BELOW_FRACTION = 0.5


def crop_to_data(mosaic: Extension, *, below: float = CROP_BELOW_FRACTION) -> Extension:
    """The mosaic cut to its data's bounding box when that box is under ``below`` of the
    mosaic's area, else the mosaic unchanged.  sci (electrons), var, dq arrays of shape
    (ny, nx) are cut alike; CRPIX1/2 move by the cut's origin; the header records it in
    CROPX1/CROPY1 (0-based pixel of the uncropped mosaic at the new pixel 0)."""
    found = [] if mosaic.dq is None else ndimage.find_objects(
        ((mosaic.dq & dqbits.NO_DATA) == 0).astype(np.uint8))
    if not found:
        return mosaic
    cut = found[0]
    (y1, y2), (x1, x2) = ((s.start, s.stop) for s in cut)
    if (y2 - y1) * (x2 - x1) >= below * mosaic.sci.size:
        return mosaic
    header = mosaic.header.copy()
    if "CRPIX1" in header and "CRPIX2" in header:
        header["CRPIX1"] = float(header["CRPIX1"]) - x1
        header["CRPIX2"] = float(header["CRPIX2"]) - y1
    header["DATASEC"] = f"[1:{x2 - x1},1:{y2 - y1}]"
    header["CROPX1"] = (x1, "Mosaic cropped to its data: x origin (0-based)")
    header["CROPY1"] = (y1, "Mosaic cropped to its data: y origin (0-based)")

    def part(a):
        return None if a is None else np.ascontiguousarray(a[cut])

    return Extension(part(mosaic.sci), part(mosaic.var), part(mosaic.dq), header)
