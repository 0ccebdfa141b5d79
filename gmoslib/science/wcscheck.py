"""Is a mosaic's header WCS good enough to start its alignment from?

Checked on each frame of a stack before alignment:

* the CD matrix is finite and not singular;
* both pixel scales (singular values of CD) are within :data:`SCALE_TOLERANCE` of the nominal
  one (reference 2.4, :data:`gmoslib.instrument.detectors.PIXEL_SCALE`).  A reference frame
  (the first) off the nominal scale is only noted and the others compared with it: a whole
  night may share such a WCS (the real 2017 GN Hamamatsu illumination mask has 0.1455
  "/pixel at 2x2, nominal 0.1614);
* ``rotation - PA`` and parity (sign of det CD) agree with the stack's median and majority
  within :data:`PA_TOLERANCE_DEG`; no absolute sense is assumed, as it depends on the ISS
  port (the real DRAGONS illumination masks all have det(CD) > 0).

A frame that fails is placed from its POFFSET/QOFFSET (:func:`offsets_model`), see
:mod:`gmoslib.science.registration`.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Sequence

import numpy as np
from astropy.io import fits

from gmoslib.instrument import detectors

#: Largest relative departure of the WCS pixel scale from the nominal one.  The CCDs'
#: field distortion changes the scale by well under 1 % over the field.
SCALE_TOLERANCE = 0.03
#: Largest departure (degrees) of a frame's WCS rotation minus PA from the stack's median.
#: (0.5 deg turns the corners of a 2x2 Hamamatsu mosaic by ~15 pixels.)
PA_TOLERANCE_DEG = 0.5
#: Largest relative departure of the offsets-to-pixels relation from the nominal scale.
OFFSETS_SCALE_TOLERANCE = 0.05


def cd_matrix(header: fits.Header) -> np.ndarray | None:
    """The 2x2 CD matrix (deg/pixel): CDi_j, or PCi_j x CDELTi; None without either."""
    if any(f"CD{i}_{j}" in header for i in (1, 2) for j in (1, 2)):
        return np.array([[float(header.get(f"CD{i}_{j}", 0.0)) for j in (1, 2)]
                         for i in (1, 2)])
    if "CDELT1" in header and "CDELT2" in header:
        pc = np.array([[float(header.get(f"PC{i}_{j}", 1.0 if i == j else 0.0))
                        for j in (1, 2)] for i in (1, 2)])
        return pc * np.array([[float(header["CDELT1"])], [float(header["CDELT2"])]])
    return None


def nominal_pixel_scale(phu: fits.Header, sci: fits.Header) -> float | None:
    """Nominal pixel scale (arcsec per binned pixel along y) of a GMOS frame from its
    INSTRUME, DETTYPE and CCDSUM (reference 2.4); None when unknown."""
    instrument = str(phu.get("INSTRUME", "")).strip()
    pretty = detectors.DETTYPE_PRETTY.get(str(phu.get("DETTYPE", "")).strip())
    scale = detectors.PIXEL_SCALE.get((instrument, pretty))
    try:
        ybin = int(str(sci.get("CCDSUM", phu.get("CCDSUM", "1 1"))).split()[1])
    except (IndexError, ValueError):
        return None
    return None if scale is None else scale * ybin


def rotation_deg(cd: np.ndarray) -> float:
    """Position angle (degrees east of north, in (-180, 180]) of the pixel +y axis."""
    return math.degrees(math.atan2(cd[0, 1], cd[1, 1]))


def _wrap(angle: float) -> float:
    return (angle + 180.0) % 360.0 - 180.0


def _scales(cd: np.ndarray) -> np.ndarray:
    """Singular values of CD in arcsec/pixel (the pixel scales along the principal axes)."""
    return np.linalg.svd(cd, compute_uv=False) * 3600.0


def structural_problem(sci: fits.Header) -> str:
    """'' when the header has a finite, non-singular celestial CD matrix, else the reason."""
    cd = cd_matrix(sci)
    if cd is None or not any(str(sci.get(f"CTYPE{i}", "")).strip() for i in (1, 2)):
        return "no celestial WCS (CTYPE/CD keywords missing)"
    if not np.all(np.isfinite(cd)):
        return f"CD matrix not finite ({cd.ravel().tolist()})"
    sv = _scales(cd)
    if sv[-1] <= 1e-6 * max(sv[0], 1e-30) or abs(np.linalg.det(cd)) == 0:
        return (f"singular CD matrix (CD1_1 {cd[0, 0]:.4g}, CD1_2 {cd[0, 1]:.4g}, "
                f"CD2_1 {cd[1, 0]:.4g}, CD2_2 {cd[1, 1]:.4g})")
    return ""


def scale_problem(sci: fits.Header, expected: float | None, what: str = "nominal") -> str:
    """'' when both pixel scales of the (structurally sound) WCS are within
    :data:`SCALE_TOLERANCE` of ``expected`` (arcsec/pixel; None: not checked)."""
    if expected is None:
        return ""
    sv = _scales(cd_matrix(sci))
    if max(abs(v / expected - 1) for v in sv) > SCALE_TOLERANCE:
        return (f"WCS pixel scale {sv[0]:.4f}/{sv[1]:.4f} arcsec/pixel, {what} "
                f"{expected:.4f} (more than {100 * SCALE_TOLERANCE:.0f} % off)")
    return ""


def check_frames(phus: Sequence[fits.Header], scis: Sequence[fits.Header]
                 ) -> tuple[list[str], str]:
    """(per frame '' or the reason its WCS cannot be trusted, a note on the reference's WCS),
    by the rules of the module docstring; the first frame is the reference."""
    reasons = [structural_problem(s) for s in scis]
    if reasons[0]:
        return reasons, ""
    nominal = nominal_pixel_scale(phus[0], scis[0])
    note = scale_problem(scis[0], nominal)
    expected, what = nominal, "nominal"
    if note:
        expected = float(np.mean(_scales(cd_matrix(scis[0]))))
        what = "the reference frame's"
        note += "; the stack inherits this WCS"
    for k in range(1, len(scis)):
        if not reasons[k]:
            reasons[k] = scale_problem(scis[k], expected, what)
    ok = [k for k, r in enumerate(reasons) if not r]
    if len(ok) < 2:
        return reasons, note
    cds = {k: cd_matrix(scis[k]) for k in ok}
    parity = {k: float(np.sign(np.linalg.det(cds[k]))) for k in ok}
    total = sum(parity.values())
    majority = math.copysign(1.0, total) if total else parity[ok[0]]  # a tie: the reference's
    offsets = {}
    for k in ok:
        with contextlib.suppress(TypeError, ValueError):
            offsets[k] = _wrap(rotation_deg(cds[k]) - float(phus[k].get("PA")))
    values, centre = {}, 0.0
    if len(offsets) >= 2:
        # circular median: unwrap around the first frame's value; of two, the reference's
        first = next(iter(offsets.values()))
        values = {k: first + _wrap(v - first) for k, v in offsets.items()}
        centre = (values[ok[0]] if len(values) == 2 and ok[0] in values
                  else float(np.median(list(values.values()))))
    for k in ok:
        if parity[k] != majority:
            reasons[k] = "WCS is the mirror image of the other frames' (sign of det CD)"
        elif k in values and abs(_wrap(values[k] - centre)) > PA_TOLERANCE_DEG:
            reasons[k] = (f"WCS rotation minus PA is {values[k]:.2f} deg, the other frames' "
                          f"{centre:.2f} deg (PA {float(phus[k]['PA']):.2f})")
    return reasons, note


def telescope_offsets(phu: fits.Header) -> tuple[float, float] | None:
    """(POFFSET, QOFFSET) in arcsec, or None when missing or not numbers."""
    try:
        p, q = float(phu["POFFSET"]), float(phu["QOFFSET"])
    except (KeyError, TypeError, ValueError):
        return None
    if not (math.isfinite(p) and math.isfinite(q)) or abs(p) > 3600 or abs(q) > 3600:
        return None
    return p, q


def offsets_model(offsets: Sequence[tuple[float, float]], shifts: Sequence[tuple[float, float]],
                  nominal_scale: float) -> np.ndarray | None:
    """2x2 matrix A, shift (pixels, reference minus frame) = A @ offset (arcsec, relative to
    the reference's), fitted on frames of known shift.  None unless the offsets span two
    directions and A's singular values are within :data:`OFFSETS_SCALE_TOLERANCE` of
    1 / nominal_scale (arcsec/pixel)."""
    dp = np.asarray(offsets, float).reshape(-1, 2)
    ds = np.asarray(shifts, float).reshape(-1, 2)
    if len(dp) < 2 or np.linalg.matrix_rank(dp, tol=0.5) < 2:
        return None
    sol, *_ = np.linalg.lstsq(dp, ds, rcond=None)
    a = sol.T
    sv = np.linalg.svd(a, compute_uv=False)
    if np.any(np.abs(sv * nominal_scale - 1) > OFFSETS_SCALE_TOLERANCE):
        return None
    return a
