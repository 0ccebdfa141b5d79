"""addIllumMaskToDQ: DQ bit 64 (UNILLUMINATED) outside the illuminated field, from Gemini's
illumination masks (reference 5.3), and the check of a master flat against them.

The masks (``gmoslib/data/illum``, see its README: one extension per amplifier, 0 inside,
64 outside the field) are laid on the detector plane by DETSEC and each amplifier is cut out
by its own DETSEC.  A binning without a file (4x4 on e2v or EEV, a ROI off the file's grid)
is binned from the 1x1 mask, a binned pixel unilluminated when any of its pixels is (0.3-0.4 %
of pixels differ from Gemini's own 2x2 masks).  No mask for a camera: :data:`NO_MASK`, logged.
"""

from __future__ import annotations

import functools
import gzip
import io
import logging
import os
from dataclasses import dataclass

import bottleneck as bn
import numpy as np

from gmoslib.instrument.sections import Section, format_section, parse_section
from gmoslib.io import dq as dqbits

log = logging.getLogger(__name__)

MASK_DIR = os.path.join(os.path.dirname(os.path.dirname(__file__)), "data", "illum")

#: Detector family in the mask file names, by pretty detector name (reference 1.1).
FAMILY = {"Hamamatsu-N": "HAM", "Hamamatsu-S": "HAM", "EEV": "EEV", "e2vDD": "e2v"}

#: Mask files by (INSTRUME, family) and binning (x, y).  GMOS-S Hamamatsu 4x4: v2 replaces
#: v1 (both Gemini's; they differ by ~2000 pixels at the field edge).
MASK_FILES: dict[tuple[str, str], dict[tuple[int, int], str]] = {
    ("GMOS-N", "HAM"): {(1, 1): "gmos-n_illum_HAM_11_12amp_v1.fits.gz",
                        (2, 2): "gmos-n_illum_HAM_22_12amp_v1.fits.gz",
                        (4, 4): "gmos-n_illum_HAM_44_12amp_v1.fits.gz"},
    ("GMOS-S", "HAM"): {(1, 1): "gmos-s_illum_HAM_11_12amp_v1.fits.gz",
                        (2, 2): "gmos-s_illum_HAM_22_12amp_v1.fits.gz",
                        (4, 4): "gmos-s_illum_HAM_44_12amp_v2.fits.gz"},
    ("GMOS-N", "e2v"): {(1, 1): "gmos-n_illum_e2v_11_6amp_v1.fits.gz",
                        (2, 2): "gmos-n_illum_e2v_22_6amp_v1.fits.gz"},
    ("GMOS-N", "EEV"): {(1, 1): "gmos-n_illum_EEV_11_3amp_v1.fits.gz",
                        (2, 2): "gmos-n_illum_EEV_22_3amp_v1.fits.gz"},
    ("GMOS-S", "EEV"): {(1, 1): "gmos-s_illum_EEV_11_3amp_v1.fits.gz",
                        (2, 2): "gmos-s_illum_EEV_22_3amp_v1.fits.gz"},
}

#: ILLUMMSK value of a frame whose camera has no illumination mask.
NO_MASK = "none"


class IllumMaskError(ValueError):
    """A frame cannot be matched with its illumination mask (the message says why)."""


@dataclass(frozen=True)
class MaskPlane:
    """One mask file laid on the detector: ``unilluminated`` (ny, nx) bool in the file's
    binned detector pixels, ``covered`` the DETSECs (unbinned) its extensions cover."""

    name: str
    xbin: int
    ybin: int
    unilluminated: np.ndarray
    covered: tuple[Section, ...]


@functools.lru_cache(maxsize=4)
def load_mask_plane(name: str, directory: str = MASK_DIR) -> MaskPlane:
    """Read a mask file and place its extensions on the detector plane by DETSEC."""
    from astropy.io import fits

    path = os.path.join(directory, name)
    exts = []
    # (decompressed in one read: astropy seeking in a compressed file is several times slower)
    with (gzip.open if name.endswith(".gz") else open)(path, "rb") as fh:
        content = fh.read()
    with fits.open(io.BytesIO(content)) as hdul:
        for hdu in hdul[1:]:
            if hdu.data is None:
                continue
            h = hdu.header
            try:
                det = parse_section(h["DETSEC"])
                bx, by = (int(v) for v in str(h["CCDSUM"]).split())
            except (KeyError, ValueError) as exc:
                raise IllumMaskError(f"{path} extension {h.get('EXTVER')}: {exc}") from exc
            exts.append((det, bx, by, np.asarray(hdu.data) != 0))
    if not exts:
        raise IllumMaskError(f"{path}: no mask extension")
    bins = {(bx, by) for _, bx, by, _ in exts}
    if len(bins) != 1:
        raise IllumMaskError(f"{path}: extensions have different binnings {sorted(bins)}")
    bx, by = bins.pop()
    nx = max(d.x2 for d, *_ in exts) // bx
    ny = max(d.y2 for d, *_ in exts) // by
    plane = np.zeros((ny, nx), bool)
    for det, _, _, data in exts:
        x0, y0 = det.x1 // bx, det.y1 // by
        if data.shape != (det.ny // by, det.nx // bx):
            raise IllumMaskError(f"{path}: an extension of shape {data.shape} does not fill "
                                 f"its DETSEC {det} at binning {bx}x{by}")
        plane[y0:y0 + data.shape[0], x0:x0 + data.shape[1]] = data
    plane.setflags(write=False)
    return MaskPlane(name, bx, by, plane, tuple(d for d, *_ in exts))


def _covered(plane: MaskPlane, det: Section) -> bool:
    """Whether the mask's extensions cover the unbinned section det (rows and columns)."""
    xs = sorted((c.x1, c.x2) for c in plane.covered if c.y1 <= det.y1 and c.y2 >= det.y2)
    x = det.x1
    for a, b in xs:
        if a <= x < b:
            x = b
    return x >= det.x2


def amp_mask(plane: MaskPlane, det: Section, xbin: int, ybin: int,
             shape: tuple[int, int]) -> np.ndarray | None:
    """Unilluminated pixels (bool ``shape``, binned (ny, nx)) of the amplifier at unbinned
    DETSEC det, cut (and binned) from a plane; None off its grid or at a coarser binning."""
    ny, nx = shape
    if xbin % plane.xbin or ybin % plane.ybin or det.x1 % plane.xbin or det.y1 % plane.ybin:
        return None
    fx, fy = xbin // plane.xbin, ybin // plane.ybin
    x0, y0 = det.x1 // plane.xbin, det.y1 // plane.ybin
    cut = plane.unilluminated[y0:y0 + ny * fy, x0:x0 + nx * fx]
    if cut.shape != (ny * fy, nx * fx):
        return None
    return cut.reshape(ny, fy, nx, fx).any(axis=(1, 3))  # (a new array, also when fx = fy = 1)


def illumination_masks(instrument: str, detector_pretty: str, xbin: int, ybin: int,
                       detsecs: list[Section], shapes: list[tuple[int, int]],
                       filename: str = "", directory: str = MASK_DIR
                       ) -> tuple[list[np.ndarray] | None, str]:
    """Unilluminated pixels of every amplifier of a frame.

    detsecs : unbinned DETSEC per amplifier; shapes : binned (ny, nx) of its trimmed data.
    Returns (one bool (ny, nx) array per amplifier; the mask used, e.g.
    ``gmos-n_illum_HAM_22_12amp_v1.fits.gz`` or ``... (1x1 binned to 4x4)``), or (None,
    :data:`NO_MASK`) without a mask.  Raises :class:`IllumMaskError` (naming ``filename``)
    when a mask does not cover an amplifier.
    """
    files = MASK_FILES.get((instrument, FAMILY.get(detector_pretty, "")), {})
    if not files:
        return None, NO_MASK
    tried = [b for b in dict.fromkeys(((xbin, ybin), (1, 1))) if b in files]
    for binning in tried:
        plane = load_mask_plane(files[binning], directory)
        masks = [amp_mask(plane, det, xbin, ybin, shape) if _covered(plane, det) else None
                 for det, shape in zip(detsecs, shapes, strict=True)]
        if all(m is not None for m in masks):
            label = files[binning]
            if binning != (xbin, ybin):
                label += f" (1x1 binned to {xbin}x{ybin})"
            return masks, label
    used = ", ".join(files[b] for b in tried) or f"none at binning 1x1 or {xbin}x{ybin}"
    raise IllumMaskError(
        f"{filename or '<frame>'}: the illumination masks of {instrument} {detector_pretty} "
        f"({used}) do not cover its amplifiers (DETSEC "
        f"{', '.join(format_section(d) for d in detsecs)}, binning {xbin}x{ybin})")


def frame_illumination_masks(desc, shapes: list[tuple[int, int]], filename: str = ""
                             ) -> tuple[list[np.ndarray] | None, str]:
    """:func:`illumination_masks` of a raw frame from its Descriptors ``desc``, logged."""
    masks, label = illumination_masks(
        desc.instrument(), desc.detector_name(pretty=True), desc.detector_x_bin(),
        desc.detector_y_bin(), desc.detector_section(), shapes, filename)
    name = os.path.basename(filename) or "<frame>"
    if masks is None:
        log.warning("addIllumMaskToDQ: %s: no illumination mask exists for %s %s; DQ bit 64 "
                    "comes only from the data (dead rows, the master flat check)", name,
                    desc.instrument(), desc.detector_name(pretty=True))
    else:
        n = sum(m.size for m in masks)
        frac = sum(int(m.sum()) for m in masks) / n if n else 0.0
        log.info("addIllumMaskToDQ: %s: %s flags %.1f %% of the pixels unilluminated", name,
                 label, 100 * frac)
    return masks, label


# --------------------------------------------------------------------------- flat check
#: Smoothed flat response (fraction of the level) below which a region the mask calls
#: illuminated is flagged unilluminated (dividing by it amplifies noise > 1/LOW_RESPONSE x).
LOW_RESPONSE = 0.3
#: ... above which a region the mask calls unilluminated is reported (the mask may not fit).
BRIGHT_RESPONSE = 0.7
#: Smoothing window (binned pixels, each axis): regions, not bad columns or pixels
#: (:mod:`gmoslib.calibration.badpix`).
REGION_WINDOW = 15
#: Fraction of an amplifier's pixels above which a disagreement is a warning, not a note.
WARN_FRACTION = 0.01


def _odd_window(window: int, n: int) -> int:
    """The odd window (pixels) of :func:`running_median` along an axis of n pixels."""
    return min(max(1, int(window)) | 1, n if n % 2 else n - 1)


def _centred(values: np.ndarray, w: int, axis: int, move) -> np.ndarray:
    """move(padded, w, axis) at every pixel's centred window of w along ``axis``, mirrored
    at the edges (move: a bottleneck moving function, the window ending at its index)."""
    n, h = values.shape[axis], w // 2
    pad = [(0, 0), (0, 0)]
    pad[axis] = (h, h)
    m = move(np.pad(values, pad, mode="reflect"), w, axis=axis, min_count=1)
    return m[(slice(None),) * axis + (slice(w - 1, w - 1 + n),)]


def running_median(values: np.ndarray, window: int, axis: int) -> np.ndarray:
    """Centred running median (float32, same shape) of a (ny, nx) array along ``axis``,
    ``window`` pixels (made odd, at most the axis length), mirrored at the edges, NaNs ignored."""
    a = np.asarray(values, np.float32)
    w = _odd_window(window, a.shape[axis])
    return a.copy() if w <= 1 else _centred(a, w, axis, bn.move_median)  # float32


def median_over_half(flags: np.ndarray, window: int, axis: int) -> np.ndarray:
    """Whether more than half of each centred window of :func:`running_median` holds a True
    (bool (ny, nx)).  For x without NaN, an odd window's median is below (above) t iff more
    than half its values are: ``running_median(x, w, axis) < t == median_over_half(x < t,
    w, axis)``, exactly and without sorting."""
    w = _odd_window(window, flags.shape[axis])
    return _centred(flags.astype(np.float32), w, axis, bn.move_sum) > w // 2


def check_flat_illumination(response: np.ndarray, dq: np.ndarray, *,
                            low: float = LOW_RESPONSE, bright: float = BRIGHT_RESPONSE,
                            window: int = REGION_WINDOW) -> tuple[np.ndarray, int, int]:
    """Compare one amplifier of a master flat with its illumination flags.

    response : (ny, nx) stacked flat / normalisation level; dq : (ny, nx) uint16.  The
    response is smoothed by running medians along rows, then columns (without NaN: the
    thresholds by :func:`median_over_half`).  Returns (new DQ with UNILLUMINATED where
    smoothed < ``low`` and not flagged; how many were added; how many flagged pixels with
    data have smoothed > ``bright``).
    """
    dq = np.asarray(dq, np.uint16)
    response = np.asarray(response, np.float32)
    if np.isnan(response).any():
        smooth = running_median(running_median(response, window, 1), window, 0)
        with np.errstate(invalid="ignore"):
            below, above = smooth < low, smooth > bright
    else:
        below, above = (median_over_half(median_over_half(flags, window, 1), window, 0)
                        for flags in (response < low, response > bright))
    unillum = (dq & dqbits.UNILLUMINATED) != 0
    no_data = (dq & dqbits.NO_DATA) != 0
    dark = below & ~unillum & ~no_data
    lit = above & unillum & ~no_data
    out = dq.copy()
    out[dark] |= np.uint16(dqbits.UNILLUMINATED)
    return out, int(dark.sum()), int(lit.sum())


def log_flat_check(name: str, n_dark: int, n_lit: int, npix: int, flat_name: str = "") -> None:
    """Log :func:`check_flat_illumination` of amplifier ``name`` (``npix`` pixels): a
    warning above :data:`WARN_FRACTION`, else a note."""
    for n, what in ((n_dark, f"below {LOW_RESPONSE:g} of the flat level where the mask says "
                     "illuminated: flagged unilluminated (64)"),
                    (n_lit, f"above {BRIGHT_RESPONSE:g} of the flat level where the mask "
                     "says unilluminated")):
        if n:
            level = logging.WARNING if n > WARN_FRACTION * npix else logging.INFO
            log.log(level, "illumination check: %s amplifier %s: %d pixels (%.2f %%) %s",
                    flat_name or "<flat>", name, n, 100 * n / max(npix, 1), what)
