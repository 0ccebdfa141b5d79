"""The simulator's own description of every GMOS camera: amplifier layout, names, pixel scale,
full wells, named ROIs and the raw sections of an amplifier for a binning and ROI, from the
reference (sections 1.1-1.3, 2.1-2.4) and the real headers of the DRAGONS illumination masks
(shared/data/real), never from ``gmoslib.instrument``.

Conventions: a :class:`Box` is 0-based and half-open, x (column) first; header strings are
1-based inclusive ``[x1:x2,y1:y2]``.  CCDSEC and DETSEC are unbinned pixels, DATASEC and
BIASSEC binned pixels of the raw extension.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import NamedTuple

from .amp_tables import AmpSetting, amplifier


class Box(NamedTuple):
    """Rectangle ``x1 <= x < x2``, ``y1 <= y < y2`` (pixels, 0-based)."""

    x1: int
    x2: int
    y1: int
    y2: int

    @property
    def nx(self) -> int:
        return self.x2 - self.x1

    @property
    def ny(self) -> int:
        return self.y2 - self.y1

    @property
    def shape(self) -> tuple[int, int]:
        """(ny, nx)."""
        return (self.ny, self.nx)

    @property
    def slice(self) -> tuple[slice, slice]:
        """numpy index (rows, columns)."""
        return (slice(self.y1, self.y2), slice(self.x1, self.x2))

    def header(self) -> str:
        """``[x1:x2,y1:y2]`` (1-based, inclusive)."""
        return f"[{self.x1 + 1}:{self.x2},{self.y1 + 1}:{self.y2}]"


_HEADER_BOX = re.compile(r"^\[(\d+):(\d+),(\d+):(\d+)\]$")


def box_from_header(text: str) -> Box:
    """``'[x1:x2,y1:y2]'`` (1-based inclusive) -> :class:`Box`; ValueError naming the text."""
    m = _HEADER_BOX.match(text.replace(" ", ""))
    if m is None:
        raise ValueError(f"not a section string: {text!r}")
    a, b, c, d = (int(v) for v in m.groups())
    if a < 1 or c < 1 or b < a or d < c:
        raise ValueError(f"section {text!r} is not 1-based and increasing")
    return Box(a - 1, b, c - 1, d)


def as_box(region) -> Box | None:
    """Any (x1, x2, y1, y2) rectangle (a Box, gmoslib's Section, a tuple) as a Box."""
    return None if region is None else Box(*(int(v) for v in region))


# ------------------------------------------------------------------------------ amplifiers
@dataclass(frozen=True)
class Amp:
    """One amplifier as it is read: names, CCD (0, 1, 2 left to right), where its pixels lie
    on the CCD (ccdsec) and on the 3-CCD detector without gaps (detsec), unbinned, and on which
    side of the data its 32-column overscan is written ('left' or 'right')."""

    ampname: str
    ccdname: str
    ccd: int
    ccdsec: Box
    detsec: Box
    overscan: str


def _amp(ampname: str, ccdname: str, ccd: int, x0: int, nx: int, ny: int, overscan: str) -> Amp:
    """An amplifier reading columns x0 .. x0 + nx of CCD ccd (rows 0 .. ny), unbinned."""
    return Amp(ampname, ccdname, ccd, Box(x0, x0 + nx, 0, ny),
               Box(ccd * 2048 + x0, ccd * 2048 + x0 + nx, 0, ny), overscan)


def _hamamatsu_amps(chips: tuple[str, str, str]) -> tuple[Amp, ...]:
    # reference 1.2: within a CCD the amps are labelled 4, 3, 2, 1 from left to right; the
    # 1st and 3rd (amps 4 and 2) have the overscan after the data, the others before it
    return tuple(_amp(f"{chip}, {label}", chip, ccd, slot * 512, 512, 4224,
                      "right" if slot % 2 == 0 else "left")
                 for ccd, chip in enumerate(chips) for slot, label in enumerate((4, 3, 2, 1)))


def _one_amp_per_ccd(chips: tuple[str, str, str], sides: tuple[str, str, str]) -> tuple[Amp, ...]:
    # reference 1.3 (3-amp EEV read): a 'right' amplifier has its overscan on the left
    return tuple(_amp(f"EEV {chip}, {side}", f"EEV {chip}", ccd, 0, 2048, 4608,
                      "left" if side == "right" else "right")
                 for ccd, (chip, side) in enumerate(zip(chips, sides, strict=True)))


def _e2v_amps() -> tuple[Amp, ...]:
    # reference 1.3: extension order CCD1 right, CCD1 left, CCD2 right, CCD2 left, CCD3 left,
    # CCD3 right; right halves have the overscan on the left
    chips = ("10031-23-05", "10031-01-03", "10031-18-04")
    return tuple(_amp(f"e2v {chips[ccd]}, {side}", f"e2v DD ML2AR CCD42-90-1-F43 {chips[ccd]}",
                      ccd, 0 if side == "left" else 1024, 1024, 4608,
                      "left" if side == "right" else "right")
                 for ccd, side in ((0, "right"), (0, "left"), (1, "right"), (1, "left"),
                                   (2, "left"), (2, "right")))


# ------------------------------------------------------------------------------ cameras
@dataclass(frozen=True)
class Camera:
    """One GMOS detector generation on one instrument.  detector_names, amp_tables: (first UT
    date, PHU DETECTOR or amp_tables name) pairs, oldest first; pixel_scale: arcsec per
    unbinned pixel; ccd1/ccd3: (shift x, y) of the centre from its nominal place (unbinned
    pixels) and counter-clockwise rotation (degrees) relative to CCD2 (reference 5.14); gap:
    tiling gap and dead_rows: bottom rows without data, unbinned pixels; field: key of
    ``field.FIELDS``; roi_family: key of :data:`NAMED_ROIS`."""

    key: str
    instrument: str
    dettype: str
    detid: str
    pretty: str
    detector_names: tuple[tuple[dt.date, str], ...]
    amp_tables: tuple[tuple[dt.date, str], ...]
    amps: tuple[Amp, ...]
    namps_per_ccd: int
    ccd_read_area: tuple[int, int]  # (nx, ny) unbinned of one CCD's read area
    ccdsize: str
    detsize: str
    pixel_scale: float
    ccd1: tuple[tuple[float, float], float]
    ccd3: tuple[tuple[float, float], float]
    gap: int
    dead_rows: int
    field: str
    roi_family: str
    slow_ampinteg: int

    @property
    def observatory(self) -> str:
        return "Gemini-North" if self.instrument == "GMOS-N" else "Gemini-South"

    @property
    def hamamatsu(self) -> bool:
        return self.pretty.startswith("Hamamatsu")

    def detector_name(self, date: dt.date) -> str:
        """PHU DETECTOR on a UT date."""
        return _dated(self.detector_names, date)

    def amp_setting(self, ampname: str, date: dt.date, read_speed: str = "slow",
                    gain_setting: str = "low") -> AmpSetting:
        """Gain (e-/ADU), read noise (e-) and bias level (ADU) of an amplifier on a date."""
        return amplifier(_dated(self.amp_tables, date), ampname, read_speed, gain_setting)


def _dated(pairs, date: dt.date):
    value = pairs[0][1]
    for start, v in pairs:
        if date >= start:
            value = v
    return value


_EPOCH = dt.date(2000, 1, 1)
GN_HAM_CHIPS = ("BI13-20-4k-1", "BI12-09-4k-2", "BI13-18-4k-2")
GS_HAM_CHIPS = ("BI5-36-4k-2", "BI11-33-4k-1", "BI12-34-4k-1")
GS_HAM2023_CHIPS = ("BI11-41-4k-2", "BI13-19-4k-3", "BI12-34-4k-1")
_HAM = dict(namps_per_ccd=4, ccd_read_area=(2048, 4224), ccdsize="[1:2048,1:4224]",
            detsize="[1:6144,1:4224]", dead_rows=48, roi_family="Hamamatsu", slow_ampinteg=11880)
_EEV = dict(ccd_read_area=(2048, 4608), ccdsize="[1:2048,1:4644]", detsize="[1:6144,1:4644]",
            dead_rows=0, roi_family="EEV", gap=37, slow_ampinteg=5000)
_EEV_ERAS = ((_EPOCH, "EEV_BEFORE_2006"), (dt.date(2006, 8, 31), "EEV_FROM_2006"))

CAMERAS: dict[str, Camera] = {cam.key: cam for cam in (
    Camera("GN-Ham", "GMOS-N", "S10892-N", ",".join(GN_HAM_CHIPS), "Hamamatsu-N",
           ((_EPOCH, "GMOS-N + Hamamatsu"),), ((_EPOCH, "GN_HAMAMATSU"),),
           _hamamatsu_amps(GN_HAM_CHIPS), pixel_scale=0.0807,
           ccd1=((-2115.95, -0.21739), -0.004), ccd3=((2115.48, 0.1727), -0.00537), gap=67,
           field="GN-Ham", **_HAM),
    Camera("GS-Ham", "GMOS-S", "S10892", ",".join(GS_HAM_CHIPS), "Hamamatsu-S",
           ((_EPOCH, "GMOS + Hamamatsu"), (dt.date(2015, 8, 26), "GMOS + Hamamatsu_new")),
           ((_EPOCH, "GS_HAMAMATSU_2014"), (dt.date(2015, 8, 26), "GS_HAMAMATSU_2015")),
           _hamamatsu_amps(GS_HAM_CHIPS), pixel_scale=0.0800,
           ccd1=((-2110.2, 0.71), 0.0), ccd3=((2109.0, -0.73), 0.0), gap=61, field="GS-Ham",
           **_HAM),
    Camera("GS-Ham2023", "GMOS-S", "S10892", ",".join(GS_HAM2023_CHIPS), "Hamamatsu-S",
           ((_EPOCH, "GMOS + Ham-2"),), ((_EPOCH, "GS_HAMAMATSU_2023"),),
           _hamamatsu_amps(GS_HAM2023_CHIPS), pixel_scale=0.0800,
           ccd1=((-2112.5, -1.1), 0.0), ccd3=((2110.8, 1.05), 0.0), gap=61, field="GS-Ham",
           **_HAM),
    Camera("GN-e2vDD", "GMOS-N", "SDSU II e2v DD CCD42-90",
           "e2v 10031-23-05,10031-01-03,10031-18-04", "e2vDD",
           ((_EPOCH, "GMOS + e2v DD CCD42-90"),), ((_EPOCH, "GN_E2V_DD"),), _e2v_amps(),
           namps_per_ccd=2, pixel_scale=0.07288, ccd1=((-2087.7, -0.749), -0.009),
           ccd3=((2087.8014, 2.05), -0.003), field="GN-e2vDD", **_EEV),
    Camera("GN-EEV", "GMOS-N", "SDSU II CCD", "EEV9273-16-03EEV9273-20-04EEV9273-20-03", "EEV",
           ((_EPOCH, "GMOS + Red1"),), _EEV_ERAS,
           _one_amp_per_ccd(("9273-16-03", "9273-20-04", "9273-20-03"), ("right", "right", "left")),
           namps_per_ccd=1, pixel_scale=0.0727, ccd1=((-2087.50, -1.58), -0.004),
           ccd3=((2088.8723, -1.86), -0.046), field="GN-EEV", **_EEV),
    Camera("GS-EEV", "GMOS-S", "SDSU II CCD", "EEV2037-06-03EEV8194-19-04EEV8261-07-04", "EEV",
           ((_EPOCH, "GMOS + Blue1 + new CCD1"),), _EEV_ERAS,
           _one_amp_per_ccd(("2037-06-03", "8194-19-04", "8261-07-04"), ("left", "left", "right")),
           namps_per_ccd=1, pixel_scale=0.073, ccd1=((-2086.49, -0.22), 0.011),
           ccd3=((2089.31, 2.04), 0.012), field="GS-EEV", **_EEV),
    Camera("GS-EEV-early", "GMOS-S", "SDSU II CCD", "EEV8056-20-03EEV8194-19-04EEV8261-07-04",
           "EEV", ((_EPOCH, "GMOS + Blue1"),), _EEV_ERAS,
           _one_amp_per_ccd(("8056-20-03", "8194-19-04", "8261-07-04"), ("left", "left", "right")),
           namps_per_ccd=1, pixel_scale=0.073, ccd1=((-2086.44, 5.46), -0.01),
           ccd3=((2092.53, 9.57), 0.02), field="GS-EEV", **_EEV),
)}


def camera(which) -> Camera:
    """A Camera from its key, a Camera, or any object whose ``key`` names one (a pipeline
    layout: only its key is read)."""
    if isinstance(which, Camera):
        return which
    key = which if isinstance(which, str) else getattr(which, "key", None)
    if key not in CAMERAS:
        raise KeyError(f"the simulator knows no GMOS camera {key!r}; known: {', '.join(CAMERAS)}")
    return CAMERAS[key]


#: Full well (electrons, unbinned, slow/low read) per PHU DETECTOR and AMPNAME (reference
#: 2.3); per detector its chips, then amps 1-4 of each chip in turn.  EEV has none
#: (ADC-limited).
_WELLS = {
    "GMOS-N + Hamamatsu": (GN_HAM_CHIPS, "129000 129000 129000 129000",
                           "124000 121000 123000 123000", "123000 125000 124000 126000"),
    "GMOS + Hamamatsu": (GS_HAM_CHIPS, "108289 113419 111421 106558",
                         "109060 110814 110155 113986", "99539.4 98963.6 98813.4 105683"),
    "GMOS + Hamamatsu_new": (GS_HAM_CHIPS, "120435 121390 121652 118871",
                             "121234 119157 125719 123307", "106966 114605 112054 118424"),
    "GMOS + Ham-2": (GS_HAM2023_CHIPS, "131823 130389 130550 125326",
                     "115493 113239 115900 114230", "105466 112550 111018 116744"),
}
FULL_WELL: dict[str, dict[str, float]] = {
    det: {f"{chip}, {n}": float(w) for chip, wells in zip(chips, rows, strict=True)
          for n, w in enumerate(wells.split(), 1)}
    for det, (chips, *rows) in _WELLS.items()}
FULL_WELL["GMOS + e2v DD CCD42-90"] = {
    "e2v 10031-23-05, left": 110900.0, "e2v 10031-23-05, right": 105100.0,
    "e2v 10031-01-03, left": 115500.0, "e2v 10031-01-03, right": 108900.0,
    "e2v 10031-18-04, left": 115700.0, "e2v 10031-18-04, right": 109200.0}

#: Named ROIs (reference 2.4): name -> unbinned 0-based detector Box (x1, x2, y1, y2).
#: The EEV CCD2 / Central Spectrum / Central Stamp rows are not in the reference.
NAMED_ROIS: dict[str, dict[str, Box]] = {
    "Hamamatsu": {"Full Frame": Box(0, 6144, 0, 4224), "CCD2": Box(2048, 4096, 0, 4224),
                  "Central Spectrum": Box(0, 6144, 1624, 2648),
                  "Central Stamp": Box(2922, 3222, 1986, 2286)},
    "Hamamatsu-N": {"Central Stamp": Box(2922, 3222, 1986, 2294)},
    "EEV": {"Full Frame": Box(0, 6144, 0, 4608)},
}

OVERSCAN_WIDTH = 32  # binned columns of serial overscan per amplifier, any binning (ref. 1.1)


def raw_sections(cam: Camera, xbin: int, ybin: int, roi=None) -> list[dict]:
    """Raw geometry of the amplifiers read for a binning and ROI (unbinned 0-based detector
    (x1, x2, y1, y2) or None): in file order, for the amps the ROI touches, dicts with ampname,
    ccdname, ccd_index, ccdsec and detsec (unbinned, cut to the ROI), datasec and biassec
    (binned, in the extension), naxis1, naxis2.  ValueError if a cut amp is not a whole
    number of binned pixels or the ROI misses every amp."""
    if xbin < 1 or ybin < 1:
        raise ValueError(f"binning must be positive, got {xbin}x{ybin}")
    roi = as_box(roi)
    out = []
    for amp in cam.amps:
        det = amp.detsec
        if roi is not None:
            det = Box(max(det.x1, roi.x1), min(det.x2, roi.x2),
                      max(det.y1, roi.y1), min(det.y2, roi.y2))
            if det.nx <= 0 or det.ny <= 0:
                continue
        dx, dy = amp.detsec.x1 - amp.ccdsec.x1, amp.detsec.y1 - amp.ccdsec.y1
        ccd = Box(det.x1 - dx, det.x2 - dx, det.y1 - dy, det.y2 - dy)
        if det.nx % xbin or det.ny % ybin:
            raise ValueError(f"{amp.ampname}: {det.nx} x {det.ny} unbinned pixels in the ROI "
                             f"are not a whole number of {xbin}x{ybin} binned pixels")
        nx, ny = det.nx // xbin, det.ny // ybin
        first, bias_x = (0, nx) if amp.overscan == "right" else (OVERSCAN_WIDTH, 0)
        out.append({"ampname": amp.ampname, "ccdname": amp.ccdname, "ccd_index": amp.ccd,
                    "ccdsec": ccd, "detsec": det, "datasec": Box(first, first + nx, 0, ny),
                    "biassec": Box(bias_x, bias_x + OVERSCAN_WIDTH, 0, ny),
                    "naxis1": nx + OVERSCAN_WIDTH, "naxis2": ny})
    if not out:
        raise ValueError(f"ROI {roi} touches no amplifier of {cam.key}")
    return out
