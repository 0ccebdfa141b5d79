"""The imaging field stop and its vignetting, per camera: the simulator's own geometric model.

On every camera the outer parts of CCD1 and CCD3 see no sky (on GMOS-N Hamamatsu their two
outer amplifiers entirely).  The numbers below were MEASURED once on Gemini's real
illumination masks (DRAGONS geminidr/gmos/lookups/BPM/gmos-{n,s}_illum_*_v1.fits.bz2, every
binning of the camera; method in tests/test_sim_field.py's docstring); the simulator never
reads the masks.

The field is the smallest octagon with integer edges, in unbinned detector-frame coordinates
(DETSEC pixels without chip gaps, pixel i spanning [i, i + 1)), that contains every pixel a
real mask calls illuminated, at every binning:

    left <= x <= right,  bottom <= y <= top,
    (x - left) + (y - bottom) >= corners[0]   (bottom-left cut)
    (right - x) + (y - bottom) >= corners[1]  (bottom-right)
    (x - left) + (top - y) >= corners[2]      (top-left)
    (right - x) + (top - y) >= corners[3]     (top-right)

Its edge is the half-light line of the vignetting (:meth:`FieldStop.transmission`).  A pixel
whose centre lies outside it is *unilluminated* in the simulator's truth, as in the real
masks; every pixel the masks call illuminated gets at least half the light.  On Hamamatsu the
bottom edge is the end of the 48 dead rows.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

FALL_OFF = 50.0  # unbinned pixels over which the vignetting brings the light from 0 to 1
SCATTERED = 0.002  # fraction of the full light level outside the field stop


@dataclass(frozen=True)
class FieldStop:
    """Illuminated octagon in unbinned detector-frame pixels (see the module docstring)."""

    left: float
    right: float
    bottom: float
    top: float
    corners: tuple[float, float, float, float]  # bottom-left, bottom-right, top-left, top-right

    def distance_inside(self, x, y) -> np.ndarray:
        """Distance (unbinned pixels) of each position to the nearest field edge, positive
        inside the field and negative outside (exact inside; a lower bound of the true
        distance outside)."""
        x, y = np.broadcast_arrays(np.asarray(x, float), np.asarray(y, float))
        dl, dr = x - self.left, self.right - x
        db, dt = y - self.bottom, self.top - y
        bl, br, tl, tr = self.corners
        r2 = math.sqrt(2.0)
        return np.minimum.reduce([
            dl, dr, db, dt, (dl + db - bl) / r2, (dr + db - br) / r2, (dl + dt - tl) / r2,
            (dr + dt - tr) / r2])

    def transmission(self, x, y) -> np.ndarray:
        """Fraction of the full light reaching each position: 0.5 * (1 - cos(pi * (d +
        FALL_OFF / 2) / FALL_OFF)) at signed distance d inside the edge, clipped to 0..1, at
        least SCATTERED: 0.5 on the edge, 1 beyond FALL_OFF / 2 inside."""
        d = np.clip(self.distance_inside(x, y) / FALL_OFF + 0.5, 0.0, 1.0)
        return np.maximum(0.5 * (1.0 - np.cos(math.pi * d)), SCATTERED)


#: Measured field stops, keyed by Camera.field.  GS-Ham also serves the 2023 GS CCDs and
#: GS-EEV the early GS EEV CCD set (no masks of their own).
FIELDS: dict[str, FieldStop] = {
    "GN-Ham": FieldStop(left=1037, right=5120, bottom=48, top=4224, corners=(507, 545, 396, 553)),
    "GS-Ham": FieldStop(left=986, right=5197, bottom=48, top=4222, corners=(456, 467, 306, 312)),
    "GN-e2vDD": FieldStop(left=790, right=5381, bottom=2, top=4608, corners=(537, 723, 599, 560)),
    "GN-EEV": FieldStop(left=789, right=5358, bottom=1, top=4608, corners=(576, 616, 588, 623)),
    "GS-EEV": FieldStop(left=837, right=5341, bottom=51, top=4608, corners=(552, 570, 481, 473)),
}


def amp_field(field: FieldStop, detsec, xbin: int, ybin: int) -> tuple[np.ndarray, np.ndarray]:
    """(transmission, unilluminated) of one amplifier's binned data pixels, shape (ny, nx).

    detsec: the amp's unbinned detector rectangle (x1, x2, y1, y2) as read (cut to the ROI).
    A binned pixel is unilluminated when its centre lies outside the field stop (it receives
    less than half the light).
    """
    x1, x2, y1, y2 = detsec
    xs = x1 + (np.arange((x2 - x1) // xbin) + 0.5) * xbin
    ys = y1 + (np.arange((y2 - y1) // ybin) + 0.5) * ybin
    d = field.distance_inside(xs[None, :], ys[:, None])
    return (field.transmission(xs[None, :], ys[:, None]).astype(np.float32), d < 0)
