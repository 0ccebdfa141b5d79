"""GMOS detectors: names, pixel scales, named ROIs, the layout of every detector generation
as it is read out, and the fringe decision (facts from the reference, sections 1, 2.4,
5.12-5.14, 7)."""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass

from gmoslib.instrument.sections import Section

#: DETTYPE -> pretty detector name (reference 1.1).
DETTYPE_PRETTY = {
    "SDSU II CCD": "EEV",
    "SDSU II e2v DD CCD42-90": "e2vDD",
    "S10892": "Hamamatsu-S",
    "S10892-N": "Hamamatsu-N",
}

#: Unbinned pixel scale (arcsec/pixel) keyed by (INSTRUME, pretty detector) (reference 2.4).
PIXEL_SCALE = {
    ("GMOS-N", "EEV"): 0.0727,
    ("GMOS-N", "e2vDD"): 0.07288,
    ("GMOS-N", "Hamamatsu-N"): 0.0807,
    ("GMOS-S", "EEV"): 0.073,
    ("GMOS-S", "Hamamatsu-S"): 0.0800,
}

#: Overscan columns next to the data that are contaminated (reference 2.3, 5.5).
NBIASCONTAM = {"EEV": 4, "e2vDD": 5, "Hamamatsu-N": 4, "Hamamatsu-S": 4}

#: Integer gaps (unbinned pixels) between CCDs for simple tiling (reference 5.14).
TILE_GAP = {"Hamamatsu-N": 67, "Hamamatsu-S": 61, "EEV": 37, "e2vDD": 37}

#: Named ROIs, 0-based unbinned (y1, y2, x1, x2) per detector family (reference 2.4; the
#: EEV/e2vDD CCD2, Central Spectrum and Central Stamp entries are DRAGONS' gmosRoiSettings
#: values, which the reference does not list).  "Hamamatsu-N" holds GN-only variants.
ROI_SETTINGS = {
    "Hamamatsu": {
        "Full Frame": (0, 4224, 0, 6144),
        "CCD2": (0, 4224, 2048, 4096),
        "Central Spectrum": (1624, 2648, 0, 6144),
        "Central Stamp": (1986, 2286, 2922, 3222),
    },
    "Hamamatsu-N": {"Central Stamp": (1986, 2294, 2922, 3222)},
    "EEV": {
        "Full Frame": (0, 4608, 0, 6144),
        "CCD2": (0, 4608, 2048, 4096),
        "Central Spectrum": (1792, 2816, 0, 6144),
        "Central Stamp": (2154, 2454, 2922, 3222),
    },
    "EEV-2010": {"Central Spectrum": (1791, 2815, 0, 6144)},  # 1-row adjustment circa 2010
}


def roi_name(roi: tuple[int, int, int, int]) -> str:
    """Name of a 0-based unbinned (y1, y2, x1, x2) ROI, 'Custom' if it is none of the named
    ones.  Like DRAGONS, any detector family's definition of a name matches."""
    for table in ROI_SETTINGS.values():
        for name, sec in table.items():
            if tuple(roi) == sec:
                return name
    return "Custom"


#: Hamamatsu CCDs: bottom unbinned rows that are unsuitable for science (reference 1.1).
HAMAMATSU_DEAD_ROWS = 48


def needs_fringe(filter_pretty: str, detector_pretty: str) -> bool:
    """Whether a frame needs fringe correction (reference 7): z or Y on any detector, i,
    CaT or Z on EEV and e2vDD."""
    if filter_pretty in ("z", "Y"):
        return True
    return filter_pretty in ("i", "CaT", "Z") and detector_pretty in ("EEV", "e2vDD")


#: Fringe control pairs by DETID: ((x, y) of a fringe peak, (x, y) of the trough beside it),
#: 0-based unbinned detector pixels (reference 5.12; DRAGONS' lookup table).  Detectors
#: without pairs (GMOS-S 2023, early GMOS-S EEV) are scaled by least squares instead.
FRINGE_CONTROL_PAIRS = {
    # GMOS-N EEV
    "EEV9273-16-03EEV9273-20-04EEV9273-20-03": (
        ((997, 2724), (1117, 2724)), ((1312, 3570), (1309, 3666)),
        ((1480, 936), (1438, 1023)), ((1720, 4221), (1837, 4245)),
        ((1816, 1788), (1888, 1848)), ((2157, 735), (2250, 696)),
        ((2220, 4254), (2340, 4329)), ((2646, 1176), (2640, 1092)),
        ((2748, 1944), (2880, 1893)), ((2955, 3528), (2925, 3618)),
        ((2970, 3024), (2991, 3129)), ((3192, 1389), (3288, 1416)),
        ((3519, 2466), (3546, 2547)), ((3840, 3474), (3926, 3536)),
        ((3846, 1362), (3885, 1428)), ((3936, 2142), (3963, 2043)),
        ((4511, 462), (4571, 354)), ((4538, 1185), (4658, 1173)),
        ((4775, 4212), (4688, 4209)), ((5186, 2205), (5090, 2292)),
    ),
    # GMOS-S EEV (after the CCD1 replacement)
    "EEV2037-06-03EEV8194-19-04EEV8261-07-04": (
        ((1500, 3524), (1422, 3470)), ((1668, 1364), (1670, 1448)),
        ((1802, 2200), (1852, 2204)), ((1856, 3352), (1913, 3336)),
        ((1880, 1344), (1922, 1280)), ((2248, 3060), (2282, 3034)),
        ((2250, 1398), (2178, 1344)), ((2416, 2114), (2448, 2108)),
        ((2584, 4380), (2655, 4377)), ((2814, 3134), (2808, 3082)),
        ((3138, 2724), (3148, 2680)), ((3342, 1918), (3410, 1922)),
        ((3398, 810), (3451, 806)), ((3481, 3346), (3473, 3301)),
        ((3846, 1734), (3904, 1757)), ((3918, 2500), (3948, 2504)),
        ((4270, 734), (4332, 776)), ((4482, 3210), (4464, 3296)),
        ((4678, 2004), (4718, 1996)), ((5096, 2168), (5106, 2244)),
    ),
    # GMOS-N e2v deep depletion
    "e2v 10031-23-05,10031-01-03,10031-18-04": (
        ((1701, 980), (1765, 968)), ((1717, 1384), (1771, 1392)),
        ((1913, 1764), (1893, 1848)), ((1945, 3800), (1949, 3708)),
        ((2488, 3048), (2512, 3144)), ((2508, 3420), (2488, 3332)),
        ((2564, 1844), (2600, 1700)), ((2535, 2607), (2499, 2622)),
        ((2572, 2148), (2592, 2285)), ((2624, 856), (2882, 836)),
        ((2796, 1350), (2752, 1352)), ((2952, 1984), (2892, 1936)),
        ((3186, 346), (3142, 342)), ((3540, 3171), (3624, 3183)),
        ((3560, 1636), (3508, 1648)), ((3838, 2222), (3878, 2230)),
        ((3792, 4232), (3720, 4196)), ((4347, 1248), (4447, 1260)),
        ((4471, 2212), (4527, 2206)), ((4559, 1970), (4500, 1970)),
    ),
    # GMOS-S Hamamatsu (original CCDs, 2014-2023)
    "BI5-36-4k-2,BI11-33-4k-1,BI12-34-4k-1": (
        ((1285, 1766), (1325, 1777)), ((1473, 2822), (1517, 2766)),
        ((1519, 1874), (1527, 1814)), ((1867, 1970), (1895, 2020)),
        ((1963, 3336), (1973, 3400)), ((2527, 3488), (2611, 3448)),
        ((2583, 2650), (2587, 2681)), ((2668, 3530), (2620, 3454)),
        ((2706, 2212), (2716, 2253)), ((2782, 603), (2833, 574)),
        ((2995, 4027), (3031, 4050)), ((3024, 1132), (3060, 1134)),
        ((3056, 3638), (2998, 3636)), ((3398, 1361), (3473, 1402)),
        ((3535, 2993), (3673, 3006)), ((3555, 725), (3574, 765)),
        ((3726, 1580), (3820, 1608)), ((3750, 1950), (3750, 2006)),
        ((4462, 947), (4507, 893)), ((4681, 1448), (4755, 1442)),
    ),
    # GMOS-N Hamamatsu
    "BI13-20-4k-1,BI12-09-4k-2,BI13-18-4k-2": (
        ((1582, 3800), (1615, 3822)), ((1734, 1743), (1759, 1710)),
        ((1938, 1782), (1915, 1770)), ((2307, 3711), (2256, 3750)),
        ((2321, 681), (2353, 615)), ((2334, 3900), (2327, 3891)),
        ((2454, 2139), (2526, 2127)), ((2676, 1617), (2682, 1686)),
        ((2955, 2682), (2886, 2691)), ((3165, 1560), (3066, 1560)),
        ((3278, 3483), (3294, 3513)), ((3366, 2496), (3370, 2436)),
        ((3534, 1572), (3468, 1554)), ((3849, 645), (3967, 657)),
        ((3894, 3243), (3948, 3297)), ((4050, 1761), (3960, 1776)),
        ((4226, 3258), (4262, 3201)), ((4382, 1800), (4434, 1782)),
        ((4763, 1578), (4766, 1539)), ((4868, 1914), (4928, 1908)),
    ),
}


# ----------------------------------------------------------------------------- layouts
@dataclass(frozen=True)
class AmpLayout:
    """One amplifier of a detector: CCD, its read area and where its overscan is."""

    ampname: str
    ccdname: str
    ccd_index: int  # 0, 1, 2 from left to right on the detector
    ccdsec: Section  # unbinned, 0-based, within the CCD
    detsec: Section  # unbinned, 0-based, within the 3-CCD detector (no gaps)
    overscan_side: str  # 'left' or 'right' of the data columns


@dataclass(frozen=True)
class DetectorLayout:
    """A GMOS detector generation as it is read out (amplifiers in file order)."""

    key: str
    instrument: str
    observatory: str
    dettype: str
    detid: str
    detector: str  # PHU DETECTOR
    pretty: str
    namps_per_ccd: int
    ccd_shape: tuple[int, int]  # (nx, ny) unbinned read area of one CCD
    ccdsize: str  # CCDSIZE keyword
    amps: tuple[AmpLayout, ...]

    @property
    def pixel_scale(self) -> float:
        return PIXEL_SCALE[(self.instrument, self.pretty)]


CCD_WIDTH = 2048  # unbinned columns of every GMOS CCD
_OTHER_SIDE = {"left": "right", "right": "left"}


def _amp(ampname: str, ccdname: str, k: int, x1: int, nx: int, ny: int,
         overscan_side: str) -> AmpLayout:
    x0 = CCD_WIDTH * k
    return AmpLayout(ampname, ccdname, k, Section(x1, x1 + nx, 0, ny),
                     Section(x0 + x1, x0 + x1 + nx, 0, ny), overscan_side)


def _layout(key: str, detector: str, pretty: str, detid: str,
            amps: tuple[AmpLayout, ...]) -> DetectorLayout:
    """A layout whose key starts 'GN' (GMOS-N) or 'GS' (GMOS-S)."""
    north = key.startswith("GN")
    dettype = next(t for t, p in DETTYPE_PRETTY.items() if p == pretty)
    ny = amps[0].ccdsec.y2
    return DetectorLayout(
        key, "GMOS-N" if north else "GMOS-S", "Gemini-North" if north else "Gemini-South",
        dettype, detid, detector, pretty, len(amps) // 3, (CCD_WIDTH, ny),
        "[1:2048,1:4224]" if ny == 4224 else "[1:2048,1:4644]", amps)


def _hamamatsu(key: str, detector: str, ccds: tuple[str, str, str]) -> DetectorLayout:
    """Four amplifiers per CCD, named 4, 3, 2, 1 from left to right; the overscan of 4 and 2
    on their right, of 3 and 1 on their left."""
    amps = tuple(_amp(f"{ccd}, {4 - j}", ccd, k, 512 * j, 512, 4224, "left" if j % 2 else "right")
                 for k, ccd in enumerate(ccds) for j in range(4))
    return _layout(key, detector, f"Hamamatsu-{key[1]}", ",".join(ccds), amps)


def _eev(key: str, detector: str, ccds: tuple[str, str, str],
         sides: tuple[str, str, str]) -> DetectorLayout:
    """3-amp EEV read: one amplifier per CCD, named by its side; overscan on the other side."""
    amps = tuple(_amp(f"EEV {ccd}, {side}", f"EEV {ccd}", k, 0, CCD_WIDTH, 4608, _OTHER_SIDE[side])
                 for k, (ccd, side) in enumerate(zip(ccds, sides, strict=True)))
    return _layout(key, detector, "EEV", "".join(f"EEV{ccd}" for ccd in ccds), amps)


def _e2v(key: str, detector: str, ccds: tuple[str, str, str]) -> DetectorLayout:
    """Two amplifiers per CCD, each reading the half on its side (file order below: CCD3 is
    read left half first); overscan on the other side."""
    order = ((0, "right"), (0, "left"), (1, "right"), (1, "left"), (2, "left"), (2, "right"))
    amps = tuple(_amp(f"e2v {ccds[k]}, {side}", f"e2v DD ML2AR CCD42-90-1-F43 {ccds[k]}", k,
                      1024 if side == "right" else 0, 1024, 4608, _OTHER_SIDE[side])
                 for k, side in order)
    return _layout(key, detector, "e2vDD", "e2v " + ",".join(ccds), amps)


LAYOUTS: dict[str, DetectorLayout] = {layout.key: layout for layout in (
    _hamamatsu("GN-Ham", "GMOS-N + Hamamatsu", ("BI13-20-4k-1", "BI12-09-4k-2", "BI13-18-4k-2")),
    _hamamatsu("GS-Ham", "GMOS + Hamamatsu_new", ("BI5-36-4k-2", "BI11-33-4k-1", "BI12-34-4k-1")),
    _hamamatsu("GS-Ham2023", "GMOS + Ham-2", ("BI11-41-4k-2", "BI13-19-4k-3", "BI12-34-4k-1")),
    _e2v("GN-e2vDD", "GMOS + e2v DD CCD42-90", ("10031-23-05", "10031-01-03", "10031-18-04")),
    _eev("GN-EEV", "GMOS + Red1", ("9273-16-03", "9273-20-04", "9273-20-03"),
         ("right", "right", "left")),
    _eev("GS-EEV", "GMOS + Blue1 + new CCD1", ("2037-06-03", "8194-19-04", "8261-07-04"),
         ("left", "left", "right")),
    _eev("GS-EEV-early", "GMOS + Blue1", ("8056-20-03", "8194-19-04", "8261-07-04"),
         ("left", "left", "right")),
)}

OVERSCAN_COLUMNS = 32  # binned columns of serial overscan per amplifier

#: GS Hamamatsu video-board change: PHU DETECTOR becomes 'GMOS + Hamamatsu_new' (reference 1.1;
#: seen in a real 2019 GS header) and the amplifier tables change (reference 2.1).
GS_HAM_NEW_BOARDS = _dt.date(2015, 8, 26)


def detector_keyword(layout: DetectorLayout, date: _dt.date) -> str:
    """PHU DETECTOR of a layout on a UT date ('GMOS + Hamamatsu' for GS-Ham before the new
    boards)."""
    if layout.key == "GS-Ham" and date < GS_HAM_NEW_BOARDS:
        return "GMOS + Hamamatsu"
    return layout.detector


def raw_amp_sections(layout: DetectorLayout, xbin: int, ybin: int,
                     roi: Section | None = None) -> list[dict]:
    """Raw geometry, in file order, of the amplifiers a binning and ROI (unbinned 0-based
    detector section, None = full frame) read: ampname, ccdname, ccd_index, ccdsec and
    detsec (unbinned, clipped to the ROI), datasec and biassec (binned), naxis1, naxis2."""
    if xbin < 1 or ybin < 1:
        raise ValueError(f"binning must be positive, got {xbin}x{ybin}")
    out = []
    for amp in layout.amps:
        det, ccd = amp.detsec, amp.ccdsec
        if roi is not None:
            x1, x2 = max(det.x1, roi.x1), min(det.x2, roi.x2)
            y1, y2 = max(det.y1, roi.y1), min(det.y2, roi.y2)
            if x1 >= x2 or y1 >= y2:
                continue
            dx, dy = det.x1 - ccd.x1, det.y1 - ccd.y1
            det = Section(x1, x2, y1, y2)
            ccd = Section(x1 - dx, x2 - dx, y1 - dy, y2 - dy)
        if det.nx % xbin or det.ny % ybin:
            raise ValueError(
                f"ROI {roi} cut to amplifier {amp.ampname!r} gives {det.nx} x {det.ny} unbinned "
                f"pixels, not a multiple of the binning {xbin}x{ybin}")
        nx = det.nx // xbin
        ny = det.ny // ybin
        if amp.overscan_side == "right":
            datasec = Section(0, nx, 0, ny)
            biassec = Section(nx, nx + OVERSCAN_COLUMNS, 0, ny)
        else:
            biassec = Section(0, OVERSCAN_COLUMNS, 0, ny)
            datasec = Section(OVERSCAN_COLUMNS, OVERSCAN_COLUMNS + nx, 0, ny)
        out.append({
            "ampname": amp.ampname, "ccdname": amp.ccdname, "ccd_index": amp.ccd_index,
            "ccdsec": ccd, "detsec": det, "datasec": datasec, "biassec": biassec,
            "naxis1": nx + OVERSCAN_COLUMNS, "naxis2": ny,
        })
    if not out:
        raise ValueError(f"ROI {roi} overlaps no amplifier of {layout.key}")
    return out
