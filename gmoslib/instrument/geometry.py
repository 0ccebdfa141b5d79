"""Mosaic geometry of the three GMOS CCDs (reference 5.14).

Binned pixels, 0-based, centres at integers.  A CCD-local position (x = CCDSEC x / xbin)
maps to the "detector frame" by a rotation about the CCD centre and a shift; CCD2 (index 1)
only by its origin (2048 unbinned pixels).  The mosaic grid is that frame shifted by integers
so that every CCD lands at non-negative coordinates.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class CcdGeometry:
    """default_shape: (nx, ny) unbinned of one CCD; shift (dx, dy) unbinned centre-to-centre
    offsets of CCD1 (index 0) and CCD3 (index 2) relative to their nominal place; rotation in
    degrees counter-clockwise."""

    default_shape: tuple[int, int]
    shift: dict
    rotation: dict


def _g(shape, s1, r1, s3, r3):
    return CcdGeometry(shape, {0: s1, 2: s3}, {0: r1, 2: r3})


CCD_GEOMETRY: dict[str, CcdGeometry] = {
    "BI13-20-4k-1,BI12-09-4k-2,BI13-18-4k-2": _g((2048, 4224), (-2115.95, -0.21739), -0.004,
                                                  (2115.48, 0.1727), -0.00537),
    "e2v 10031-23-05,10031-01-03,10031-18-04": _g((2048, 4608), (-2087.7, -0.749), -0.009,
                                                   (2087.8014, 2.05), -0.003),
    "EEV9273-16-03EEV9273-20-04EEV9273-20-03": _g((2048, 4608), (-2087.50, -1.58), -0.004,
                                                   (2088.8723, -1.86), -0.046),
    "BI5-36-4k-2,BI11-33-4k-1,BI12-34-4k-1": _g((2048, 4224), (-2110.2, 0.71), 0.0,
                                                 (2109.0, -0.73), 0.0),
    "BI11-41-4k-2,BI13-19-4k-3,BI12-34-4k-1": _g((2048, 4224), (-2112.5, -1.1), 0.0,
                                                  (2110.8, 1.05), 0.0),
    "EEV8056-20-03EEV8194-19-04EEV8261-07-04": _g((2048, 4608), (-2086.44, 5.46), -0.01,
                                                   (2092.53, 9.57), 0.02),
    "EEV2037-06-03EEV8194-19-04EEV8261-07-04": _g((2048, 4608), (-2086.49, -0.22), 0.011,
                                                   (2089.31, 2.04), 0.012),
}

CCD2_ORIGIN = 2048  # unbinned x of CCD2's first column in the detector frame


def geometry(detid: str) -> CcdGeometry:
    try:
        return CCD_GEOMETRY[detid]
    except KeyError:
        raise KeyError(f"no mosaic geometry for DETID {detid!r}") from None


def _params(detid: str, ccd_index: int, xbin: int, ybin: int):
    g = geometry(detid)
    nx_b, ny_b = g.default_shape[0] / xbin, g.default_shape[1] / ybin
    c = ((nx_b - 1) / 2.0, (ny_b - 1) / 2.0)
    dx, dy = g.shift.get(ccd_index, (0.0, 0.0))
    theta = math.radians(g.rotation.get(ccd_index, 0.0))
    ox = (CCD2_ORIGIN + dx) / xbin if ccd_index != 1 else CCD2_ORIGIN / xbin
    oy = dy / ybin if ccd_index != 1 else 0.0
    return c, theta, (ox, oy), ybin / xbin


def ccd_to_mosaic(detid, ccd_index, x, y, xbin, ybin):
    """CCD-local binned position(s) -> detector-frame position(s) (binned)."""
    c, theta, (ox, oy), aspect = _params(detid, ccd_index, xbin, ybin)
    u = np.asarray(x, dtype=float) - c[0]
    v = (np.asarray(y, dtype=float) - c[1]) * aspect  # square pixels before rotating
    cos, sin = math.cos(theta), math.sin(theta)
    ur = cos * u - sin * v
    vr = sin * u + cos * v
    return ur + c[0] + ox, vr / aspect + c[1] + oy


def mosaic_to_ccd(detid, ccd_index, X, Y, xbin, ybin):
    """Exact inverse of :func:`ccd_to_mosaic`."""
    c, theta, (ox, oy), aspect = _params(detid, ccd_index, xbin, ybin)
    ur = np.asarray(X, dtype=float) - c[0] - ox
    vr = (np.asarray(Y, dtype=float) - c[1] - oy) * aspect
    cos, sin = math.cos(theta), math.sin(theta)
    u = cos * ur + sin * vr
    v = -sin * ur + cos * vr
    return u + c[0], v / aspect + c[1]


def mosaic_frame(detid: str, xbin: int, ybin: int) -> tuple[int, int, int, int]:
    """(x0, y0, nx, ny): mosaic pixel = detector-frame position - (x0, y0); every CCD pixel
    falls inside [0, nx) x [0, ny)."""
    g = geometry(detid)
    nx_b, ny_b = g.default_shape[0] // xbin, g.default_shape[1] // ybin
    cx = np.array([0, nx_b - 1, 0, nx_b - 1], dtype=float)
    cy = np.array([0, 0, ny_b - 1, ny_b - 1], dtype=float)
    xs, ys = np.concatenate([ccd_to_mosaic(detid, k, cx, cy, xbin, ybin) for k in range(3)],
                            axis=1)
    x0, y0 = math.floor(min(xs)), math.floor(min(ys))
    return x0, y0, math.ceil(max(xs)) - x0 + 1, math.ceil(max(ys)) - y0 + 1
