"""Mosaic of the amplifiers into one image (reference 5.14).

Amplifiers are placed in their CCD by CCDSEC, each CCD in the mosaic by
:mod:`gmoslib.instrument.geometry`: CCD2 is copied (integer offset), CCD1 and CCD3 (fractional
shift, rotation of a few thousandths of a degree) resampled with a spline of the chosen order
(:mod:`gmoslib.science.interp`).  VAR is interpolated linearly (non-negative weights, as in
:mod:`gmoslib.science.resample`; clipped at 0), DQ bit plane by bit plane with linear weights,
set above :data:`DQ_THRESHOLD`.  Pixels no CCD covers (gaps, edges, outside a sub-ROI) get
SCI 0 and DQ NO_DATA.
"""

from __future__ import annotations

import math

import numpy as np
from astropy.io import fits
from scipy import ndimage

from gmoslib.instrument import geometry
from gmoslib.instrument.sections import parse_section
from gmoslib.io import dq as dqbits
from gmoslib.io.fitsio import add_date_obs
from gmoslib.io.frame import Extension
from gmoslib.science import interp
from gmoslib.science.qecorrect import SKY_SAMPLES

DQ_THRESHOLD = 0.001
_DROP = ("AMPNAME", "BIASSEC", "OVERSEC", "TRIMSEC", "FRMNAME", "FRAMEID", "CCDSIZE",
         "DATATYP", "OVERSCAN", "OVERRMS", "OVERRDNS", "CCDSEC")


def _ccd_of(header: fits.Header, detid: str) -> int:
    """CCD index 0/1/2 from DETSEC (unbinned detector x) and the CCD width."""
    width = geometry.geometry(detid).default_shape[0]
    return parse_section(header["DETSEC"]).x1 // width


def tile_ccds(exts: list[Extension], detid: str, xbin: int, ybin: int):
    """Per CCD index: its (sci, var, dq) tiled from its amplifiers, (ny, nx) binned pixels of
    the whole CCD, NO_DATA where no amplifier covers it."""
    g = geometry.geometry(detid)
    nx, ny = g.default_shape[0] // xbin, g.default_shape[1] // ybin
    ccds = {}
    for e in exts:
        k = _ccd_of(e.header, detid)
        if k not in ccds:
            ccds[k] = (np.zeros((ny, nx), np.float32), np.zeros((ny, nx), np.float32),
                       np.full((ny, nx), dqbits.NO_DATA, np.uint16))
        sci, var, dq = ccds[k]
        c = parse_section(e.header["CCDSEC"])
        x0, y0 = c.x1 // xbin, c.y1 // ybin
        h, w = e.sci.shape
        sci[y0:y0 + h, x0:x0 + w] = e.sci
        var[y0:y0 + h, x0:x0 + w] = e.var if e.var is not None else 0.0
        dq[y0:y0 + h, x0:x0 + w] = e.dq if e.dq is not None else 0
    return ccds


def _resample_ccd(detid, k, arrays, out_shape, x0, y0, xbin, ybin, order):
    """(box, inside, sci, var, dq): one CCD's (sci, var, dq) resampled onto its bounding box
    in the mosaic; only the pixels ``inside`` the CCD are meaningful."""
    sci, var, dq = arrays
    ny_c, nx_c = sci.shape
    cx = np.array([0, nx_c - 1, 0, nx_c - 1], float)
    cy = np.array([0, 0, ny_c - 1, ny_c - 1], float)
    X, Y = geometry.ccd_to_mosaic(detid, k, cx, cy, xbin, ybin)
    bx0 = max(int(np.floor(X.min() - x0)) - 1, 0)
    by0 = max(int(np.floor(Y.min() - y0)) - 1, 0)
    bx1 = min(int(np.ceil(X.max() - x0)) + 2, out_shape[1])
    by1 = min(int(np.ceil(Y.max() - y0)) + 2, out_shape[0])
    # affine mosaic -> CCD map: box (row, col) -> (v, u) = matrix @ (row, col) + offset
    h, w = by1 - by0, bx1 - bx0
    u00, v00 = geometry.mosaic_to_ccd(detid, k, bx0 + x0, by0 + y0, xbin, ybin)
    u01, v01 = geometry.mosaic_to_ccd(detid, k, bx0 + x0 + 1.0, by0 + y0, xbin, ybin)
    u10, v10 = geometry.mosaic_to_ccd(detid, k, bx0 + x0, by0 + y0 + 1.0, xbin, ybin)
    matrix = np.array([[v10 - v00, v01 - v00], [u10 - u00, u01 - u00]], dtype=np.float64)
    offset = np.array([v00, u00], dtype=np.float64)
    rows = np.arange(h, dtype=np.float64)[:, None]
    cols = np.arange(w, dtype=np.float64)[None, :]
    u = u00 + matrix[1, 0] * rows + matrix[1, 1] * cols
    v = v00 + matrix[0, 0] * rows + matrix[0, 1] * cols
    inside = (u >= -0.5) & (u <= nx_c - 0.5) & (v >= -0.5) & (v <= ny_c - 0.5)
    del u, v
    box = (slice(by0, by1), slice(bx0, bx1))
    kw = dict(matrix=matrix, offset=offset, output_shape=(h, w), mode="nearest")

    def resample(arr, k):
        if interp.separable_ok(matrix, k):
            return interp.affine_separable(arr, matrix, offset, (h, w), order=k)
        return ndimage.affine_transform(arr, order=k, prefilter=k > 1, output=np.float32,
                                        **kw)

    out_sci = resample(sci, order)
    out_var = resample(var, min(order, 1))
    np.maximum(out_var, 0, out=out_var)
    out_dq = np.zeros(out_sci.shape, np.uint16)
    present = int(np.bitwise_or.reduce(dq, axis=None)) if dq.size else 0
    for bit in (1 << k for k in range(16) if present >> k & 1):
        plane = ((dq & bit) != 0).astype(np.float32)
        hit = resample(plane, min(order, 1)) > DQ_THRESHOLD
        np.bitwise_or(out_dq, bit, out=out_dq, where=hit)
    return box, inside, out_sci, out_var, out_dq


def mosaic_detectors(exts: list[Extension], detid: str, *, order: int, xbin: int,
                     ybin: int) -> Extension:
    """One mosaic Extension (sci, var float32; dq uint16) from trimmed amplifiers, with the
    WCS of the first amplifier of CCD2 (integer offset) shifted to mosaic pixels."""
    x0, y0, nx, ny = geometry.mosaic_frame(detid, xbin, ybin)
    out_sci = np.zeros((ny, nx), np.float32)
    out_var = np.zeros((ny, nx), np.float32)
    out_dq = np.full((ny, nx), dqbits.NO_DATA, np.uint16)
    ccds = tile_ccds(exts, detid, xbin, ybin)
    for k in sorted(ccds):
        if k == 1:  # CCD2: integer offset, copied
            ox, oy = geometry.ccd_to_mosaic(detid, 1, 0.0, 0.0, xbin, ybin)
            ix, iy = int(round(float(ox))) - x0, int(round(float(oy))) - y0
            h, w = ccds[1][0].shape
            for out, part in zip((out_sci, out_var, out_dq), ccds[1], strict=True):
                out[iy:iy + h, ix:ix + w] = part
            continue
        box, inside, *parts = _resample_ccd(detid, k, ccds[k], (ny, nx), x0, y0, xbin, ybin,
                                            order)
        for out, part in zip((out_sci, out_var, out_dq), parts, strict=True):
            np.copyto(out[box], part, where=inside)
    out_sci[(out_dq & dqbits.NO_DATA) != 0] = 0.0
    header = _mosaic_header(exts, detid, xbin, ybin, x0, y0, nx, ny)
    return Extension(out_sci, out_var, out_dq, header)


def _mosaic_header(exts, detid, xbin, ybin, x0, y0, nx, ny) -> fits.Header:
    ref = next((e for e in exts if _ccd_of(e.header, detid) == 1), exts[len(exts) // 2])
    h = ref.header.copy()
    add_date_obs(h)  # where astropy's WCS looks for it
    k = _ccd_of(h, detid)
    c = parse_section(h["CCDSEC"])
    # reference amplifier pixel (0,0) -> mosaic pixel
    X, Y = geometry.ccd_to_mosaic(detid, k, c.x1 / xbin, c.y1 / ybin, xbin, ybin)
    dx, dy = float(X) - x0, float(Y) - y0
    if "CRPIX1" in h:
        h["CRPIX1"] = float(h["CRPIX1"]) + dx
        h["CRPIX2"] = float(h["CRPIX2"]) + dy
    if "RADECSYS" in h:
        h["RADESYS"] = h["RADECSYS"]
        del h["RADECSYS"]
    for key in _DROP:
        h.remove(key, ignore_missing=True)
    h["CCDNAME"] = detid
    h["DATASEC"] = f"[1:{nx},1:{ny}]"
    dets = [parse_section(e.header["DETSEC"]) for e in exts]
    h["DETSEC"] = (f"[{min(d.x1 for d in dets) + 1}:{max(d.x2 for d in dets)},"
                   f"{min(d.y1 for d in dets) + 1}:{max(d.y2 for d in dets)}]")
    noises = [float(e.header["RDNOISE"]) for e in exts if "RDNOISE" in e.header]
    if noises:
        h["RDNOISE"] = (float(np.mean(noises)), "Mean read noise of the amplifiers (e-)")
    return h


def background_level(sci: np.ndarray, dq: np.ndarray | None) -> tuple[float, int]:
    """(sigma-clipped median, number of pixels) of the finite pixels with DQ = 0 of an
    array of any shape, sources not masked (the QE factors mask them:
    :func:`gmoslib.science.qecorrect.sky_level`)."""
    from astropy.stats import sigma_clipped_stats

    # ~SKY_SAMPLES pixels, sampled before masking (no full-size copies)
    step = max(1, sci.size // SKY_SAMPLES)
    while np.ndim(sci) == 2 and step > 1 and math.gcd(step, sci.shape[1]) > 1:
        step += 1  # coprime with the row length: the samples visit every column
    values = np.ravel(sci)[::step]
    good = np.isfinite(values)
    if dq is not None:
        good &= np.ravel(dq)[::step] == 0
    values = np.asarray(values[good], np.float64)
    if values.size == 0:
        return float("nan"), 0
    _, med, _ = sigma_clipped_stats(values, sigma=3.0, maxiters=5, stdfunc="mad_std")
    return float(med), int(values.size)
