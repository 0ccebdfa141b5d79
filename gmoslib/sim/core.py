"""Raw GMOS frames with known truth.

A *detector model* (fixed per detector and seed) holds what does not change between frames:
per-amplifier bias offsets and 2-D bias pattern, bad pixels, the pixel response (flat) and the
illumination.  Each frame adds its own row-wise bias structure, read noise, Poisson noise and,
for science frames, a star field seen through the frame's WCS and the mosaic geometry, cosmic
rays and (for fringing filters) fringes.  Pixel values follow

    raw [ADU] = bias_level + row_structure(y) [+ pattern(x, y) in the data columns]
                + Poisson(signal [e-]) / gain + N(0, read_noise / gain)

clipped to 0..65535 and written as uint16 with BZERO = 32768, the raw GMOS format.  The
signal in a pixel never exceeds the amplifier's full well (times the binning product; no limit
on EEV).  The illumination includes the field stop and its vignetting (``field.py``): outside
the field only scattered light (0.2 %) arrives, so twilight flats and science frames are near
bias level there.
"""

from __future__ import annotations

import datetime as dt
import math
import zlib
from dataclasses import dataclass, field

import numpy as np
from astropy.io import fits
from scipy.special import erf

from . import field as field_stop
from .cameras import FULL_WELL, Box, Camera, as_box, camera, raw_sections
from .focal_plane import focal_to_ccd
from .fringe_pairs import CONTROL_PAIRS
from .headers import extension_headers, mosaic_wcs, mosaic_wcs_params, primary_header

__all__ = ["DetectorModel", "FrameSpec", "extension_headers", "make_detector_model",
           "mosaic_wcs_params", "primary_header", "render_raw", "write_raw"]


@dataclass
class FrameSpec:
    """What one raw file should contain."""

    kind: str  # 'bias' | 'flat' | 'science'
    name: str  # file root, e.g. N20170614S0201
    when: dt.datetime
    exptime: float = 0.0
    filter2: str = "open2-8"
    filter1: str = "open1-6"
    object: str = ""
    sky_e: float = 0.0  # sky level, electrons per binned pixel (before flat response)
    ra: float = 285.00429583  # pointing of the mosaic reference pixel, degrees
    dec: float = 24.98093611
    pa: float = 90.0  # degrees
    poffset: float = 0.0  # arcsec
    qoffset: float = 0.0
    seeing: float = 0.8  # FWHM arcsec
    cosmic_rays: int = 0  # number per frame
    fringe_amplitude_e: float = 0.0
    datalab: str = ""
    obsid: str = ""
    program: str = ""
    obsclass: str = ""
    rawgemqa: str = "USABLE"
    read_speed: str = "slow"  # 'slow' or 'fast' (low gain setting either way)


@dataclass
class DetectorModel:
    """Fixed truth for one camera, binning and ROI: lists of one entry per amplifier in file
    order, arrays of the amp's binned data section (ny, nx)."""

    camera: Camera
    xbin: int
    ybin: int
    roi: Box | None
    amps: list[dict]
    bias_offset: list[float]  # ADU, data level minus overscan level, per amp
    pattern: list[np.ndarray]  # ADU, per amp data section, zero mean
    response: list[np.ndarray]  # pixel response (flat), per amp data section, mean ~1
    illumination: list[np.ndarray]  # smooth illumination x field-stop transmission
    bad: list[np.ndarray]  # bool, per amp data section
    dead_rows: list[int]  # number of dead bottom rows per amp (Hamamatsu)
    qe_twilight: tuple[float, float, float] = (1.0, 1.0, 1.0)
    qe_night: tuple[float, float, float] = (1.0, 1.0, 1.0)
    fringe: list[np.ndarray] = field(default_factory=list)  # unit-amplitude pattern per amp
    unilluminated: list[np.ndarray] = field(default_factory=list)  # bool: outside field stop


def make_detector_model(layout, xbin: int, ybin: int, roi=None, seed: int = 1) -> DetectorModel:
    """Fixed detector truth, deterministic for (camera, binning, roi, seed).  layout: as
    ``cameras.camera`` takes it; roi: unbinned 0-based detector (x1, x2, y1, y2) or None."""
    cam = camera(layout)
    roi = as_box(roi)
    rng = np.random.default_rng([seed, 7, xbin, ybin, len(cam.amps)])
    amps = raw_sections(cam, xbin, ybin, roi)
    stop = field_stop.FIELDS[cam.field]
    bias_offset, pattern, response, illum, bad, dead, fringe, outside = ([] for _ in range(8))
    for amp in amps:
        ny, nx = amp["datasec"].shape
        yy, xx = np.mgrid[0:ny, 0:nx].astype(np.float32)
        bias_offset.append(float(rng.uniform(-3.0, 3.0)))
        p = (rng.normal(0.0, 0.8, size=(1, nx)) + 1.5 * np.sin(yy / max(ny, 1) * 3.0)
             + 0.002 * (xx - nx / 2)).astype(np.float32)
        pattern.append(p - p.mean())
        resp = rng.normal(1.0, 0.02, size=(ny, nx)).astype(np.float32)
        # detector-frame coordinates (unbinned) of each pixel, for smooth functions
        det = amp["detsec"]
        X = (det.x1 + (xx + 0.5) * xbin) / 6144.0 - 0.5
        Y = (det.y1 + (yy + 0.5) * ybin) / 4224.0 - 0.5
        transmission, unlit = field_stop.amp_field(stop, det, xbin, ybin)
        illum.append((1.0 - 0.15 * (X**2 + Y**2) + 0.03 * X).astype(np.float32) * transmission)
        outside.append(unlit)
        b = np.zeros((ny, nx), bool)
        for _ in range(int(rng.integers(0, 2))):  # 0 or 1 bad column
            b[:, rng.integers(0, nx)] = True
        npx = max(1, nx * ny // 20000)
        b[rng.integers(0, ny, npx), rng.integers(0, nx, npx)] = True
        bad.append(b)
        resp[b] *= 0.3  # bad pixels also respond badly
        response.append(resp)
        dead.append(max(0, cam.dead_rows - amp["ccdsec"].y1) // ybin)
        # fringes: a smooth interference pattern in detector coordinates (unit amplitude);
        # where the detector has fringe control pairs, real peaks and troughs sit there
        f = np.sin(2 * math.pi * (X * 7.3 + Y * 4.1) + 3 * np.sin(
            2 * math.pi * (X * 2.1 - Y * 3.3))).astype(np.float32)
        pairs = CONTROL_PAIRS.get(cam.detid)
        if pairs:
            f *= 0.5
            _add_fringe_extrema(f, det, xbin, ybin, pairs)
        fringe.append(f * transmission)  # night-sky light: stopped by the field stop too
    # relative QE per CCD (twilight, night sky): the Hamamatsu CCDs differ
    qe = ((1.04, 1.0, 0.97), (1.01, 1.0, 0.985)) if cam.hamamatsu else ((1.0, 1.0, 1.0),) * 2
    return DetectorModel(cam, xbin, ybin, roi, amps, bias_offset, pattern, response, illum,
                         bad, dead, *qe, fringe, outside)


def _add_fringe_extrema(f: np.ndarray, det: Box, xbin: int, ybin: int, pairs) -> None:
    """Add a Gaussian peak (+1) and trough (-1) at each control pair to f (binned, covering
    the unbinned detector section det), in place."""
    ny, nx = f.shape
    for peak, trough in pairs:
        sep = math.hypot(peak[0] - trough[0], peak[1] - trough[1])
        sigma = max(12.0, 0.4 * sep)  # unbinned pixels
        for (xd, yd), sign in ((peak, 1.0), (trough, -1.0)):
            x0 = max(math.floor((xd - 5 * sigma - det.x1) / xbin), 0)
            x1 = min(math.ceil((xd + 5 * sigma - det.x1) / xbin) + 1, nx)
            y0 = max(math.floor((yd - 5 * sigma - det.y1) / ybin), 0)
            y1 = min(math.ceil((yd + 5 * sigma - det.y1) / ybin) + 1, ny)
            if x1 <= x0 or y1 <= y0:
                continue
            xs = det.x1 + (np.arange(x0, x1) + 0.5) * xbin - xd
            ys = det.y1 + (np.arange(y0, y1) + 0.5) * ybin - yd
            g = np.exp(-0.5 * (ys[:, None] ** 2 + xs[None, :] ** 2) / sigma**2)
            f[y0:y1, x0:x1] += np.float32(sign) * g.astype(np.float32)


# ------------------------------------------------------------------------------ pixels
def _gauss_stamp(xc: float, yc: float, sigma: float, flux: float, half: int):
    """Pixel-integrated 2-D Gaussian stamp: (x0, y0, stamp)."""
    ix, iy = int(round(xc)), int(round(yc))
    xs = np.arange(ix - half, ix + half + 1)
    ys = np.arange(iy - half, iy + half + 1)
    s = sigma * math.sqrt(2.0)
    fx = 0.5 * (erf((xs + 0.5 - xc) / s) - erf((xs - 0.5 - xc) / s))
    fy = 0.5 * (erf((ys + 0.5 - yc) / s) - erf((ys - 0.5 - yc) / s))
    return ix - half, iy - half, flux * np.outer(fy, fx)


def render_signal(model: DetectorModel, spec: FrameSpec, stars: np.ndarray | None,
                  rng: np.random.Generator) -> tuple[list[np.ndarray], list[dict]]:
    """Expected signal (electrons) per amplifier data section, and cosmic-ray truth."""
    lay = model.camera
    signal = []
    for i, amp in enumerate(model.amps):
        qe = (model.qe_twilight if spec.kind == "flat" else model.qe_night)[amp["ccd_index"]]
        base = spec.sky_e * model.illumination[i] * qe
        if spec.fringe_amplitude_e:
            base = base + spec.fringe_amplitude_e * model.fringe[i]
        signal.append(np.asarray(base, dtype=np.float32))
    if spec.kind == "science" and stars is not None and len(stars):
        w, x0, y0 = mosaic_wcs(model, spec)
        mx, my = w.all_world2pix(stars["ra"], stars["dec"], 0)
        sigma = spec.seeing / (lay.pixel_scale * model.ybin) / 2.3548
        half = int(math.ceil(5 * sigma)) + 1
        for i, amp in enumerate(model.amps):
            k = amp["ccd_index"]
            cx, cy = focal_to_ccd(lay, k, mx + x0, my + y0, model.xbin, model.ybin)
            ax = cx - amp["ccdsec"].x1 / model.xbin
            ay = cy - amp["ccdsec"].y1 / model.ybin
            ny, nx = signal[i].shape
            inside = (ax > -half) & (ax < nx + half) & (ay > -half) & (ay < ny + half)
            sig = signal[i]
            for xa, ya, f in zip(ax[inside], ay[inside], stars["flux_e"][inside], strict=True):
                sx, sy, stamp = _gauss_stamp(float(xa), float(ya), sigma,
                                             float(f) * model.qe_night[k], half)
                xa0, ya0 = max(sx, 0), max(sy, 0)
                xa1, ya1 = min(sx + stamp.shape[1], nx), min(sy + stamp.shape[0], ny)
                if xa1 <= xa0 or ya1 <= ya0:
                    continue
                sig[ya0:ya1, xa0:xa1] += stamp[ya0 - sy:ya1 - sy, xa0 - sx:xa1 - sx] \
                    * model.illumination[i][ya0:ya1, xa0:xa1]
    # cosmic rays: deposited after the optics (not multiplied by the response)
    crs = []
    if spec.cosmic_rays:
        sizes = [a["datasec"].shape for a in model.amps]
        weights = np.array([s[0] * s[1] for s in sizes], float)
        which = rng.choice(len(sizes), size=spec.cosmic_rays, p=weights / weights.sum())
        for i in which:
            y, x = int(rng.integers(0, sizes[i][0])), int(rng.integers(0, sizes[i][1]))
            crs.append({"amp": int(i), "x": x, "y": y, "electrons": float(rng.uniform(3e3, 3e4))})
    return signal, crs


def render_raw(model: DetectorModel, spec: FrameSpec, stars, seed: int):
    """The raw uint16 arrays of every amplifier and this frame's truth."""
    rng = np.random.default_rng([seed, zlib.crc32(spec.name.encode())])
    speed = spec.read_speed
    date = spec.when.date()
    cam = model.camera
    wells = FULL_WELL.get(cam.detector_name(date), {})
    signal, crs = render_signal(model, spec, stars, rng)
    arrays, truth_amps = [], []
    for i, amp in enumerate(model.amps):
        g, rn, bias = cam.amp_setting(amp["ampname"], date, speed, "low")
        well = wells.get(amp["ampname"])
        well = None if well is None else well * model.xbin * model.ybin
        ny, ds = amp["naxis2"], amp["datasec"]
        rows = (2.0 * np.sin(np.arange(ny) / ny * 2 * math.pi * (1 + i % 3))
                + rng.normal(0, 0.7, ny)).astype(np.float32)
        level = bias + 20.0 * (i % 4)
        raw = np.empty((ny, amp["naxis1"]), np.float32)
        raw[:] = level + rows[:, None]
        data = raw[ds.slice]
        data += model.bias_offset[i] + model.pattern[i]
        electrons = np.zeros(ds.shape, np.float32)
        if spec.kind != "bias":
            expected = signal[i] * model.response[i]
            electrons += rng.poisson(np.clip(expected, 0, None)).astype(np.float32)
        for cr in crs:
            if cr["amp"] == i:
                electrons[cr["y"], cr["x"]] += cr["electrons"]
        if well is not None:
            np.minimum(electrons, np.float32(well), out=electrons)  # charge spills beyond it
        data += electrons / g
        raw += rng.normal(0.0, rn / g, size=raw.shape).astype(np.float32)
        nd = model.dead_rows[i]
        if nd:
            raw[:nd, :] = 0.0  # Hamamatsu: the bottom rows hold no data (read as 0)
        arrays.append(np.clip(np.rint(raw), 0, 65535).astype(np.uint16))
        truth_amps.append({"ampname": amp["ampname"], "gain": g, "read_noise": rn,
                           "overscan_level": level, "bias_offset": model.bias_offset[i],
                           "dead_rows": nd, "full_well_e": well})
    return arrays, {"amps": truth_amps, "cosmic_rays": crs}


def write_raw(path: str, model: DetectorModel, spec: FrameSpec, stars=None, seed: int = 1):
    """Write one raw file (.fits, or .fits.bz2/.fits.gz by its name); return its truth."""
    arrays, truth = render_raw(model, spec, stars, seed)
    hdul = fits.HDUList([fits.PrimaryHDU(header=primary_header(model, spec))] + [
        fits.ImageHDU(arr, header=hdr, do_not_scale_image_data=False)
        for arr, hdr in zip(arrays, extension_headers(model, spec), strict=True)])
    hdul[0].header.add_comment("FITS (Flexible Image Transport System) format is defined in "
                               "'Astronomy and Astrophysics', volume 376, page 359; bibcode: "
                               "2001A&A...376..359H", before="INSTRUME")
    hdul.writeto(path, overwrite=True)
    return truth
