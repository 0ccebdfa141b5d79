"""Tags of a GMOS file from its primary header (reference section 3).

A tag rule adds tags and may block others (BIAS blocks IMAGE and SPECT, ...); blocked tags
are removed at the end.
"""

from __future__ import annotations

from astropy.io import fits

PROCESSED_KEYS = ("PROCARC", "GBIAS", "PROCBIAS", "PROCDARK", "GIFLAT", "PROCFLAT", "GIFRINGE",
                  "PROCFRNG", "PROCPNHL", "PROCSTND", "PROCILLM")


def _s(phu: fits.Header, key: str) -> str:
    value = phu.get(key, "")
    return "" if value is None else str(value).strip()


def _f(phu: fits.Header, key: str, default: float = 0.0) -> float:
    try:
        return float(phu.get(key, default))
    except (TypeError, ValueError):
        return default


def tags(phu: fits.Header) -> frozenset[str]:
    """The set of tags of a file, from its primary header."""
    out: set[str] = set()
    blocked: set[str] = set()
    observat = _s(phu, "OBSERVAT") or _s(phu, "TELESCOP")
    instrument = _s(phu, "INSTRUME").upper()
    obstype = _s(phu, "OBSTYPE").upper()
    obj = _s(phu, "OBJECT").upper()
    grating = _s(phu, "GRATING").upper()
    obsmode = _s(phu, "OBSMODE").upper()
    maskname = _s(phu, "MASKNAME")
    masktyp = int(_f(phu, "MASKTYP", 0.0))
    keys = set(phu.keys())

    if observat in ("Gemini-North", "Gemini-South"):
        out.add("GEMINI")
    if observat == "Gemini-North":
        out.add("NORTH")
    elif observat == "Gemini-South":
        out.add("SOUTH")
    if instrument in ("GMOS-N", "GMOS-S"):
        out.add("GMOS")

    if obstype == "BIAS":
        out |= {"BIAS", "CAL"}
        blocked |= {"IMAGE", "SPECT"}
    if obstype == "DARK":
        out |= {"DARK", "CAL"}
        blocked |= {"IMAGE", "SPECT"}
    if obstype == "ARC":
        out |= {"ARC", "CAL"}
    if obstype == "MASK":
        out.add("MASK")
        blocked |= {"IMAGE", "SPECT"}
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

    if grating == "MIRROR":
        out.add("IMAGE")
    elif grating:
        out.add("SPECT")
    if obsmode and obsmode != "IMAGE":
        out.add("SPECT")
    if "IMAGE" in out and masktyp != 0:
        out.add("THRUSLIT")
    if "NODPIX" in keys:
        out.add("NODANDSHUFFLE")

    frame = _s(phu, "FRAME").upper()
    trkframe = _s(phu, "TRKFRAME").upper()
    if frame in ("FK5", "APPT") or trkframe in ("FK5", "APPT"):
        moving = _f(phu, "RATRACK") != 0 or _f(phu, "DECTRACK") != 0
        out.add("NON_SIDEREAL" if moving else "SIDEREAL")
    if frame == "AZEL_TOPO":
        out.add("AZEL_TARGET")
        if _f(phu, "AIRMASS", 0.0) == 1.0:
            out.add("AT_ZENITH")
    if _s(phu, "OBSCLASS") in ("acq", "acqCal"):
        out.add("ACQUISITION")

    out.add("UNPREPARED" if not any("PREPAR" in k for k in keys) else "PREPARED")
    if any("SUBOVER" in k for k in keys):
        out.add("OVERSCAN_SUBTRACTED")
    if any("TRIMOVER" in k for k in keys):
        out.add("OVERSCAN_TRIMMED")
    if any(k in keys for k in PROCESSED_KEYS):
        out.add("PROCESSED")
    if obstype == "OBJECT" and ("GMOSAIC" in keys or "PROCSCI" in keys):
        out |= {"PROCESSED_SCIENCE", "PROCESSED"}
        blocked.add("RAW")
    if "GIFRINGE" in keys or "PROCFRNG" in keys:
        out |= {"FRINGE", "CAL"}
    if "BPMASK" in keys or "PROCBPM" in keys or obstype == "BPM":
        out |= {"BPM", "CAL", "PROCESSED"}
        blocked |= {"IMAGE", "SPECT", "NON_SIDEREAL", "AZEL_TARGET", "GCALFLAT", "DARK"}
    if "GEM-TLM" not in keys and "PROCESSED" not in out:
        out.add("RAW")
    out -= blocked
    if "SPECT" in out:
        # Spectroscopy flavours (only for frames that are still SPECT after blocking, so a
        # bias taken with a grating in place stays a plain bias).
        upper = maskname.upper()
        if obsmode == "IFU" or masktyp == -1 or "IFU" in upper:
            out.add("IFU")
        elif obsmode == "MOS" or (masktyp == 1 and not upper.endswith("ARCSEC")):
            out.add("MOS")
        elif obsmode == "LONGSLIT" or (masktyp == 1 and upper.endswith("ARCSEC")):
            out.add("LS")
    return frozenset(out)
