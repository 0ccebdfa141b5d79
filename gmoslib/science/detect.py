"""Source detection on a mosaic (reference 5.15) with sep: SExtractor's algorithms (which
DRAGONS runs as ``sex``) as a library working on numpy arrays.
"""

from __future__ import annotations

import numpy as np
import sep
from astropy.stats import sigma_clipped_stats

from gmoslib.io import dq as dqbits

#: DQ bits that keep a pixel out of detection and of the background.
DETECT_MASK_BITS = (dqbits.BAD_PIXEL | dqbits.NO_DATA | dqbits.UNILLUMINATED
                    | dqbits.COSMIC_RAY)
FILTER_KERNEL = np.array([[1, 2, 1], [2, 4, 2], [1, 2, 1]], dtype=np.float32)

CATALOGUE_DTYPE = [("x", "f8"), ("y", "f8"), ("flux", "f8"), ("fluxerr", "f8"),
                   ("a", "f8"), ("b", "f8"), ("theta", "f8"), ("fwhm", "f8"),
                   ("flags", "i4"), ("peak", "f8"), ("npix", "i4"), ("ellipticity", "f8"),
                   ("snr", "f8"), ("background", "f8")]


def detect_sources(sci: np.ndarray, var: np.ndarray | None = None, dq: np.ndarray | None = None,
                   *, thresh: float, minarea: int, deblend_cont: float = 0.005,
                   back_size: int = 32, back_filtersize: int = 8, min_area_clean: int = 20,
                   min_b: float = 1.1, max_axis_ratio: float = 50.0, object_mask: bool = True
                   ) -> tuple[np.ndarray, np.ndarray | None]:
    """(catalogue of :data:`CATALOGUE_DTYPE`, 0-based x, y; object mask (ny, nx) bool, or None
    without ``object_mask``) of the sources on sci (ny, nx), electrons."""
    data = np.ascontiguousarray(sci, dtype=np.float32)
    mask = np.zeros(data.shape, bool) if dq is None else (dq & DETECT_MASK_BITS) != 0
    mask |= ~np.isfinite(data)
    data = np.where(mask, np.float32(0), data)
    bkg = sep.Background(data, mask=mask, bw=back_size, bh=back_size,
                         fw=back_filtersize // 2 + 1, fh=back_filtersize // 2 + 1)
    back = bkg.back()
    sub = np.subtract(data, back, dtype=np.float32)
    if var is None:
        err = bkg.rms()
    else:
        err = np.maximum(np.asarray(var, np.float32), np.float32(0))
        np.sqrt(err, out=err)
    # masked pixels are never used; they only need a positive error
    np.copyto(err, np.float32(max(bkg.globalrms, 1e-6)), where=mask | (err <= 0))
    sep.set_extract_pixstack(max(300000, data.size // 4))
    sep.set_sub_object_limit(4096)
    found = sep.extract(sub, thresh, err=err, mask=mask, minarea=minarea,
                        filter_kernel=FILTER_KERNEL, deblend_cont=deblend_cont,
                        segmentation_map=object_mask)
    objects, seg = found if object_mask else (found, None)
    keep = ((objects["npix"] >= min_area_clean) & (objects["b"] > min_b)
            & (objects["a"] / np.maximum(objects["b"], 1e-6) < max_axis_ratio))
    ids = np.flatnonzero(keep) + 1
    objects = objects[keep]
    objmask = np.isin(seg, ids) if object_mask else None
    cat = np.zeros(len(objects), dtype=CATALOGUE_DTYPE)
    if len(objects) == 0:
        return cat, objmask
    sig = 2.0 / 2.35 * np.sqrt(np.clip(objects["a"] * objects["b"], 0.25, None))
    x, y, _ = sep.winpos(sub, objects["x"], objects["y"], sig, mask=mask)
    r = np.clip(3.0 * np.sqrt(objects["a"] * objects["b"]), 3.0, 30.0)
    flux, fluxerr, _ = sep.sum_circle(sub, x, y, r, err=err, mask=mask)
    rh, _ = sep.flux_radius(sub, x, y, 6.0 * np.sqrt(objects["a"] * objects["b"]), 0.5,
                            normflux=flux, subpix=5)
    cat["x"], cat["y"] = x, y
    cat["flux"], cat["fluxerr"] = flux, fluxerr
    for name in ("a", "b", "theta", "peak", "npix"):
        cat[name] = objects[name]
    cat["fwhm"] = 2.0 * rh  # Gaussian: FWHM = 2 x half-light radius
    cat["flags"] = objects["flag"]
    cat["ellipticity"] = 1.0 - objects["b"] / np.maximum(objects["a"], 1e-6)
    cat["snr"] = flux / np.maximum(fluxerr, 1e-12)
    cat["background"] = back[np.clip(np.round(y).astype(int), 0, data.shape[0] - 1),
                                   np.clip(np.round(x).astype(int), 0, data.shape[1] - 1)]
    return cat, objmask


def estimate_seeing(cat: np.ndarray, pixel_scale: float, *, min_snr: float = 25.0,
                    max_ellipticity: float = 0.5) -> float | None:
    """Seeing FWHM (arcsec): sigma-clipped mean FWHM of round, unflagged, bright sources."""
    good = (cat["snr"] > min_snr) & (cat["ellipticity"] < max_ellipticity) & \
        ((cat["flags"] & ~7) == 0) & np.isfinite(cat["fwhm"]) & (cat["fwhm"] > 0)
    fwhm = cat["fwhm"][good]
    if fwhm.size < 3:
        return None
    mean, _, _ = sigma_clipped_stats(fwhm, sigma=3.0, maxiters=5, cenfunc="mean",
                                     stdfunc="std")
    return float(mean * pixel_scale)
