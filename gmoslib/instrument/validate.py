"""Header values that later steps rely on, checked when the manifest is made.

The reduction needs more than well-formed headers: an exposure time > 0 for science and
flats, a numeric WCS, a gain and read noise per amplifier, sections that agree.  A value that
would stop a job hours later sets the file aside at scan time, with a reason naming the file
and keyword (``bad header: PATH: extension 3 keyword CRPIX1: ...``).
"""

from __future__ import annotations

import datetime as dt
import math

from gmoslib.instrument.descriptors import DescriptorError, Descriptors

#: Longest exposure a GMOS frame can have (s); longer values are header errors.
MAX_EXPOSURE_S = 10000.0
#: WCS keywords of a raw image extension that must be numbers when present.
WCS_NUMBERS = ("CRPIX1", "CRPIX2", "CRVAL1", "CRVAL2", "CD1_1", "CD1_2", "CD2_1", "CD2_2")
#: Telescope offsets (arcsec) that grouping and fringe dithers use, when present.
OFFSET_NUMBERS = ("POFFSET", "QOFFSET")
#: No GMOS frame is older (GMOS-N first light, 2001); an earlier date is a clock that was
#: not set (1970-01-01) or a typo, and would pair the frame with no calibration.
EARLIEST_DATE = dt.date(2001, 1, 1)


def _number(value) -> float | None:
    """The value as a finite float, or None (not a number, NaN, infinite, a boolean)."""
    if isinstance(value, bool):
        return None
    try:
        x = float(value)  # (None: TypeError)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


def header_value_problem(phu, exts, kind: str, path: str,
                         descriptors: Descriptors | None = None) -> str:
    """'' when the values the reduction reads are usable, else 'bad header: PATH: WHERE
    keyword KEY: problem' (extensions numbered from 1); kind : 'bias', 'flat', 'science';
    ``descriptors``: the file's Descriptors when the caller has them already."""
    def bad(key: str, problem: str, ext: int | None = None) -> str:
        where = "primary header" if ext is None else f"extension {ext}"
        return f"bad header: {path}: {where} keyword {key}: {problem}"

    exptime = phu.get("EXPTIME")
    t = _number(exptime)
    least = "> 0" if kind in ("science", "flat") else ">= 0"
    if t is None or t < 0 or (t == 0 and kind in ("science", "flat")) or t > MAX_EXPOSURE_S:
        return bad("EXPTIME", f"{exptime!r}; a {kind} frame needs an exposure time {least} "
                   f"and <= {MAX_EXPOSURE_S:.0f} s")
    for key in OFFSET_NUMBERS:
        if key in phu and _number(phu[key]) is None:
            return bad(key, f"not a finite number ({phu[key]!r})")
    d = descriptors or Descriptors(phu, exts, path)
    try:
        date = d.ut_date()
        latest = dt.datetime.now(dt.UTC).date() + dt.timedelta(days=1)
        if not EARLIEST_DATE <= date <= latest:
            key = "DATE-OBS" if "DATE-OBS" in phu else "UTDATE"
            return bad(key, f"observation date {date.isoformat()} is not between "
                       f"{EARLIEST_DATE.isoformat()} (GMOS's first light) and tomorrow")
        xbin, ybin = d.detector_x_bin(), d.detector_y_bin()
        data, detsec = d.data_section(), d.detector_section()
        d.array_section()
        for name, values in (("gain", d.gain()), ("read noise", d.read_noise())):
            for i, v in enumerate(values, start=1):
                if _number(v) is None or v <= 0:
                    return bad("AMPNAME", f"the {name} of amplifier {exts[i - 1].get('AMPNAME')!r}"
                               f" is {v!r}", i)
    except DescriptorError as exc:
        return f"bad header: {exc}"
    for i, (h, ds, det) in enumerate(zip(exts, data, detsec, strict=True), start=1):
        if ds.nx <= 0 or ds.ny <= 0:
            return bad("DATASEC", f"empty section ({h.get('DATASEC')})", i)
        if (det.nx, det.ny) != (ds.nx * xbin, ds.ny * ybin):
            return bad("DETSEC", f"{h.get('DETSEC')} covers {det.nx}x{det.ny} unbinned pixels, "
                       f"but DATASEC {h.get('DATASEC')} binned {xbin}x{ybin} covers "
                       f"{ds.nx * xbin}x{ds.ny * ybin}", i)
        problem = _wcs_problem(h) if kind == "science" else None
        if problem:
            return bad(*problem, i)
    return ""


def _wcs_problem(h) -> tuple[str, str] | None:
    """(keyword, problem) of a science extension's WCS that cannot be used, else None."""
    present = [k for k in WCS_NUMBERS if k in h]
    if not present:
        return None  # no header WCS: alignment uses the sources alone
    for key in WCS_NUMBERS[:4]:
        if key not in h:
            return key, f"missing (the extension has {', '.join(present)})"
    for key in present:
        if _number(h[key]) is None:
            return key, f"not a finite number ({h[key]!r})"
    if all(k in h for k in WCS_NUMBERS[4:]):
        cd = [float(h[k]) for k in WCS_NUMBERS[4:]]
        if cd[0] * cd[3] - cd[1] * cd[2] == 0:
            return "CD1_1", "the CD matrix is singular (determinant 0)"
    return None
