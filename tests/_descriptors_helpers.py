"""Small header builders for the lookups / tags / descriptors tests (owner: descriptors).

Headers are built card by card from explicit values, in the style of real raw GMOS headers
(reference 1.4, 1.5), so each test states exactly what the descriptors see.
"""

from __future__ import annotations

from pathlib import Path

from astropy.io import fits

from gmoslib.instrument.detectors import LAYOUTS, raw_amp_sections
from gmoslib.instrument.sections import Section

DATA = Path(__file__).resolve().parent / "data"
#: real GMOS headers (Gemini DRAGONS BPM/illumination masks, BSD-3): see data/real/README.md
REAL = DATA / "real"
#: section 2.2 (amplifier lookup tables) of the project's GMOS reference
REFERENCE = DATA / "reference_2.2_lookup_values.md"
#: the best raw-header example: a GMOS-N Hamamatsu bias (GN-CAL20200309-1-081), 4x4
BEST_RAW = REAL / "gmos-n_bpm_HAM_44_full_12amp_v1__a698ca17"


def real_files() -> list[Path]:
    """Every real GMOS FITS file of tests/data/real (ten; see its README)."""
    files = sorted(REAL.glob("*.fits.bz2"))
    assert len(files) == 10, f"tests/data/real should hold 10 FITS files, found {len(files)}"
    return files


def phu(**cards) -> fits.Header:
    """A raw GN Hamamatsu science-image PHU; keyword arguments override/add cards
    (value None deletes the card)."""
    base = {
        "INSTRUME": "GMOS-N", "OBSERVAT": "Gemini-North", "TELESCOP": "Gemini-North",
        "OBJECT": "starfield", "OBSTYPE": "OBJECT", "OBSCLASS": "science",
        "GEMPRGID": "GN-2017A-Q-1", "OBSID": "GN-2017A-Q-1-12", "DATALAB": "GN-2017A-Q-1-12-001",
        "RA": 150.25, "DEC": 2.5, "FRAME": "FK5", "TRKFRAME": "FK5", "RATRACK": 0.0,
        "DECTRACK": 0.0, "RAWPIREQ": "YES", "RAWGEMQA": "USABLE", "UT": "05:33:20.3",
        "POFFSET": 0.0, "QOFFSET": 0.0, "PA": 90.0, "INPORT": 5,
        "DETECTOR": "GMOS-N + Hamamatsu", "NAMPS": 4, "AMPINTEG": 11880,
        "DATE-OBS": "2017-06-14", "TIME-OBS": "05:33:20.3", "EXPTIME": 10.0,
        "MASKNAME": "None", "MASKTYP": 0, "FILTER1": "open1-6", "FILTER2": "i_G0302",
        "GRATING": "MIRROR", "OBSMODE": "IMAGE", "DETTYPE": "S10892-N",
        "DETID": "BI13-20-4k-1,BI12-09-4k-2,BI13-18-4k-2", "DETNROI": 1,
        "DETRO1X": 1, "DETRO1XS": 3072, "DETRO1Y": 1, "DETRO1YS": 2112, "AIRMASS": 1.053,
    }
    h = fits.Header()
    for k, v in base.items():
        h[k] = v
    for k, v in cards.items():
        k = k.replace("_", "-") if k in ("DATE_OBS", "TIME_OBS", "MJD_OBS", "GEM_TLM") else k
        if v is None:
            if k in h:
                del h[k]
        else:
            h[k] = v
    return h


def exts(layout_key: str = "GN-Ham", xbin: int = 2, ybin: int = 2, *, gain: float = 1.6,
         roi: Section | None = None) -> list[fits.Header]:
    """Raw extension headers of a layout (one per amplifier read, in file order)."""
    out = []
    for amp in raw_amp_sections(LAYOUTS[layout_key], xbin, ybin, roi):
        h = fits.Header()
        h["CCDNAME"] = amp["ccdname"]
        h["AMPNAME"] = amp["ampname"]
        h["GAIN"] = gain
        h["RDNOISE"] = 4.0
        h["CCDSUM"] = f"{xbin} {ybin}"
        h["CCDSEC"] = amp["ccdsec"].to_string()
        h["DETSEC"] = amp["detsec"].to_string()
        h["DATASEC"] = amp["datasec"].to_string()
        h["BIASSEC"] = amp["biassec"].to_string()
        h["MJD-OBS"] = 57918.2315
        out.append(h)
    return out


#: PHU cards that turn the default GN Ham PHU into each layout's PHU.
LAYOUT_PHU = {
    "GN-Ham": {},
    "GS-Ham": {"INSTRUME": "GMOS-S", "OBSERVAT": "Gemini-South", "TELESCOP": "Gemini-South",
               "DETTYPE": "S10892", "DETID": "BI5-36-4k-2,BI11-33-4k-1,BI12-34-4k-1",
               "DETECTOR": "GMOS + Hamamatsu_new"},
    "GS-Ham2023": {"INSTRUME": "GMOS-S", "OBSERVAT": "Gemini-South",
                   "TELESCOP": "Gemini-South", "DETTYPE": "S10892",
                   "DETID": "BI11-41-4k-2,BI13-19-4k-3,BI12-34-4k-1",
                   "DETECTOR": "GMOS + Ham-2", "DATE-OBS": "2024-02-02"},
    "GN-e2vDD": {"DETTYPE": "SDSU II e2v DD CCD42-90", "NAMPS": 2, "AMPINTEG": 5000,
                 "DETID": "e2v 10031-23-05,10031-01-03,10031-18-04",
                 "DETECTOR": "GMOS + e2v DD CCD42-90", "DATE-OBS": "2014-05-02"},
    "GN-EEV": {"DETTYPE": "SDSU II CCD", "NAMPS": 1, "AMPINTEG": 5000,
               "DETID": "EEV9273-16-03EEV9273-20-04EEV9273-20-03", "DETECTOR": "GMOS + Red1",
               "DATE-OBS": "2010-05-02"},
    "GS-EEV": {"INSTRUME": "GMOS-S", "OBSERVAT": "Gemini-South", "TELESCOP": "Gemini-South",
               "DETTYPE": "SDSU II CCD", "NAMPS": 1, "AMPINTEG": 5000,
               "DETID": "EEV2037-06-03EEV8194-19-04EEV8261-07-04",
               "DETECTOR": "GMOS + Blue1 + new CCD1", "DATE-OBS": "2010-09-25"},
}


def headers(layout_key: str = "GN-Ham", xbin: int = 2, ybin: int = 2, *, gain: float = 1.6,
            roi: Section | None = None, **cards) -> tuple[fits.Header, list[fits.Header]]:
    """(phu, exts) of a raw full-frame (or ROI) frame of a layout; cards override the PHU.
    DETRO1* follow the binning and ROI unless given."""
    x1, x2, y1, y2 = (0, 6144, 0, 4224 if "Ham" in layout_key else 4608)
    if roi is not None:
        x1, x2, y1, y2 = roi.x1, roi.x2, roi.y1, roi.y2
    detro = {"DETRO1X": x1 + 1, "DETRO1XS": (x2 - x1) // xbin, "DETRO1Y": y1 + 1,
             "DETRO1YS": (y2 - y1) // ybin}
    p = phu(**{**LAYOUT_PHU[layout_key], **detro, **cards})
    return p, exts(layout_key, xbin, ybin, gain=gain, roi=roi)
