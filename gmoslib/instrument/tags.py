"""Tags of a GMOS file from its primary header (reference section 3).

Each rule adds tags and may block others (BIAS blocks IMAGE and SPECT, ...); blocked tags
are removed after all rules, then the rules needing a surviving tag run (THRUSLIT, LS/MOS/IFU),
so a bias taken with a grating or slit in place stays a plain bias.  Spectroscopic flavours
(recognised to be excluded), when SPECT survives:
  * IFU -- OBSMODE 'IFU', MASKTYP -1 or 'IFU' in MASKNAME;
  * LS  -- OBSMODE 'LONGSLIT', or MASKTYP 1 with a name ending in 'arcsec' ('1.0arcsec');
  * MOS -- OBSMODE 'MOS', or MASKTYP 1 with any other mask name ('GN2017A-Q-1-1').
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from astropy.io import fits

#: PHU keywords whose presence marks a processed calibration (reference 3).
PROCESSED_KEYS = ("PROCARC", "GBIAS", "PROCBIAS", "PROCDARK", "GIFLAT", "PROCFLAT", "GIFRINGE",
                  "PROCFRNG", "PROCPNHL", "PROCSTND", "PROCILLM")

_SIDEREAL_FRAMES = ("FK5", "APPT")
_SITE = {"Gemini-North": "NORTH", "Gemini-South": "SOUTH"}
#: OBSTYPE -> (tags it adds, tags it blocks).
_OBSTYPE = {"BIAS": ({"BIAS", "CAL"}, {"IMAGE", "SPECT"}),
            "DARK": ({"DARK", "CAL"}, {"IMAGE", "SPECT"}),
            "ARC": ({"ARC", "CAL"}, set()),
            "MASK": ({"MASK"}, {"IMAGE", "SPECT"})}


def _s(phu: fits.Header, key: str) -> str:
    value = phu.get(key, "")
    return "" if value is None else str(value).strip()


def _f(phu: fits.Header, key: str) -> float | None:
    try:
        return float(phu[key])
    except (KeyError, TypeError, ValueError):
        return None


def tags(phu: fits.Header, exts: list[fits.Header] | None = None) -> frozenset[str]:
    """The tags of a file from its primary header (``exts`` is accepted for symmetry with
    the descriptors: no GMOS tag rule reads it)."""
    del exts
    out: set[str] = set()
    blocked: set[str] = set()
    observat = _s(phu, "OBSERVAT") or _s(phu, "TELESCOP")
    instrument = _s(phu, "INSTRUME").upper()
    obstype = _s(phu, "OBSTYPE").upper()
    obj = _s(phu, "OBJECT").upper()
    grating = _s(phu, "GRATING").upper()
    obsmode = _s(phu, "OBSMODE").upper()
    maskname = _s(phu, "MASKNAME")
    masktyp = int(_f(phu, "MASKTYP") or 0)
    keys = set(phu.keys())

    # --- origin
    if observat in _SITE:
        out |= {"GEMINI", _SITE[observat]}
    if instrument in ("GMOS-N", "GMOS-S"):
        out.add("GMOS")

    # --- observation type
    added, blocks = _OBSTYPE.get(obstype, (set(), set()))
    out |= added
    blocked |= blocks
    if obstype == "FLAT":
        hartmann = any("HARTMANN" in _s(phu, k).upper() for k in ("FILTER1", "FILTER2"))
        if not (grating == "MIRROR" and hartmann):
            out |= {"GCALFLAT", "FLAT", "CAL"}

    imaging = grating == "MIRROR" and obsmode in ("", "IMAGE")
    if obj == "TWILIGHT":
        out |= {"TWILIGHT", "CAL"}
        out.add("FLAT" if imaging else "SLITILLUM")
    if obj == "DOMEFLAT":
        out |= {"DOMEFLAT", "CAL", "FLAT"}

    # --- imaging or spectroscopy
    if grating == "MIRROR":
        out.add("IMAGE")
    elif grating:
        out.add("SPECT")
    if obsmode and obsmode != "IMAGE":
        out.add("SPECT")
    if "NODPIX" in keys:
        out.add("NODANDSHUFFLE")

    # --- target
    frame = _s(phu, "FRAME").upper()
    trkframe = _s(phu, "TRKFRAME").upper()
    if frame in _SIDEREAL_FRAMES or trkframe in _SIDEREAL_FRAMES:
        rates = (_f(phu, "RATRACK"), _f(phu, "DECTRACK"))
        # missing or unreadable tracking rates count as non-sidereal, like a non-zero rate
        out.add("SIDEREAL" if rates == (0.0, 0.0) else "NON_SIDEREAL")
    if frame == "AZEL_TOPO":
        out.add("AZEL_TARGET")
        airmass = _f(phu, "AIRMASS")
        if airmass is not None and abs(airmass - 1.0) < 1e-6:
            out.add("AT_ZENITH")
    if _s(phu, "OBSCLASS") in ("acq", "acqCal"):
        out.add("ACQUISITION")

    # --- processing state
    out.add("PREPARED" if any("PREPAR" in k for k in keys) else "UNPREPARED")
    for stem, tag in (("SUBOVER", "OVERSCAN_SUBTRACTED"), ("TRIMOVER", "OVERSCAN_TRIMMED")):
        if any(stem in k for k in keys):
            out.add(tag)
    if any(k in keys for k in PROCESSED_KEYS):
        out.add("PROCESSED")
    if obstype == "OBJECT" and ("GMOSAIC" in keys or "PROCSCI" in keys):
        out |= {"PROCESSED_SCIENCE", "PROCESSED"}
        blocked.add("RAW")
    if "GIFRINGE" in keys or "PROCFRNG" in keys:
        out |= {"FRINGE", "CAL"}
    if "BPMASK" in keys or "PROCBPM" in keys or obstype == "BPM":
        out |= {"BPM", "CAL", "PROCESSED"}
        blocked |= {"IMAGE", "SPECT", "NON_SIDEREAL", "AZEL_TARGET", "GCALFLAT", "LAMPON",
                    "GCAL_IR_ON", "GCAL_IR_OFF", "DARK"}
    # DRAGONS: RAW = no GEM-TLM; our products may lack it too, so PROCESSED is never RAW
    if "GEM-TLM" not in keys and "PROCESSED" not in out:
        out.add("RAW")
    out -= blocked

    # --- rules that depend on tags surviving the blocks
    if "IMAGE" in out and masktyp != 0:
        out.add("THRUSLIT")
    if "SPECT" in out:
        out |= _spect_flavour(obsmode, masktyp, maskname)
    return frozenset(out)


def _spect_flavour(obsmode: str, masktyp: int, maskname: str) -> set[str]:
    """{'IFU'}, {'MOS'}, {'LS'} or set() for a spectroscopic frame (module docstring)."""
    by_mode = {"IFU": "IFU", "MOS": "MOS", "LONGSLIT": "LS"}
    if obsmode in by_mode:
        return {by_mode[obsmode]}
    upper = maskname.upper()
    if masktyp == -1 or "IFU" in upper:
        return {"IFU"}
    if masktyp == 1:
        return {"LS"} if upper.endswith("ARCSEC") else {"MOS"}
    return set()
