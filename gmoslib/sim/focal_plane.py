"""Where each CCD's pixels lie in the focal plane: the simulator's own mosaic geometry.

Reference 5.14 (numbers in ``cameras.CAMERAS``): CCD2 at its nominal place (first column at
unbinned x = 2048); CCD1 and CCD3 rotated counter-clockwise about their centre ((n - 1) / 2
binned, in square pixels), then centred at CCD2's centre plus a shift (unbinned pixels).

Coordinates are binned pixels, 0-based, pixel centres at integers.  "CCD" positions are along
the CCD's full read area (x = CCDSEC x / xbin); "focal-plane" positions are those of the
3-CCD detector frame with gaps, before the integer offset (x0, y0) that makes the mosaic
pixel grid start at 0 (:func:`mosaic_grid`).
"""

from __future__ import annotations

import math

import numpy as np

from .cameras import Camera, camera

_NOMINAL_CCD2_X = 2048  # unbinned


def _ccd_affine(cam: Camera, ccd: int, xbin: int, ybin: int):
    """(matrix 2x2, centre (2,), placed centre (2,)): focal = M @ (ccd - centre) + placed."""
    nx, ny = cam.ccd_read_area
    centre = np.array([(nx / xbin - 1) / 2.0, (ny / ybin - 1) / 2.0])
    ccd2_origin = np.array([_NOMINAL_CCD2_X / xbin, 0.0])
    if ccd == 1:
        return np.eye(2), centre, centre + ccd2_origin
    if ccd not in (0, 2):
        raise ValueError(f"GMOS has CCDs 0, 1, 2; got {ccd}")
    (sx, sy), degrees = cam.ccd1 if ccd == 0 else cam.ccd3
    a = math.radians(degrees)
    rot = np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])
    squash = np.diag([1.0, ybin / xbin])  # binned pixels -> square units (x units)
    matrix = np.linalg.inv(squash) @ rot @ squash
    placed = centre + ccd2_origin + np.array([sx / xbin, sy / ybin])
    return matrix, centre, placed


def ccd_to_focal(which, ccd: int, x, y, xbin: int, ybin: int):
    """CCD position(s) (binned) -> focal-plane position(s) (binned)."""
    m, centre, placed = _ccd_affine(camera(which), ccd, xbin, ybin)
    dx = np.asarray(x, float) - centre[0]
    dy = np.asarray(y, float) - centre[1]
    return (m[0, 0] * dx + m[0, 1] * dy + placed[0], m[1, 0] * dx + m[1, 1] * dy + placed[1])


def focal_to_ccd(which, ccd: int, X, Y, xbin: int, ybin: int):
    """Inverse of :func:`ccd_to_focal`."""
    m, centre, placed = _ccd_affine(camera(which), ccd, xbin, ybin)
    inv = np.linalg.inv(m)
    dX = np.asarray(X, float) - placed[0]
    dY = np.asarray(Y, float) - placed[1]
    return (inv[0, 0] * dX + inv[0, 1] * dY + centre[0],
            inv[1, 0] * dX + inv[1, 1] * dY + centre[1])


def mosaic_grid(which, xbin: int, ybin: int) -> tuple[int, int, int, int]:
    """(x0, y0, nx, ny): mosaic pixel = focal-plane position - (x0, y0); the centres of the
    corner pixels of every CCD fall inside [0, nx) x [0, ny)."""
    cam = camera(which)
    nx, ny = cam.ccd_read_area[0] // xbin, cam.ccd_read_area[1] // ybin
    corners_x = np.array([0.0, nx - 1, 0.0, nx - 1])
    corners_y = np.array([0.0, 0.0, ny - 1, ny - 1])
    xs, ys = np.concatenate([ccd_to_focal(cam, ccd, corners_x, corners_y, xbin, ybin)
                             for ccd in range(3)], axis=1)
    x0, y0 = math.floor(xs.min()), math.floor(ys.min())
    return x0, y0, math.ceil(xs.max()) - x0 + 1, math.ceil(ys.max()) - y0 + 1
