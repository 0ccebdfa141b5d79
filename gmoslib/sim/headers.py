"""Raw GMOS headers written by the simulator: keyword order and value forms follow the real
raw headers (shared/data/real), values come from the simulator's own camera tables."""

from __future__ import annotations

import datetime as dt
import math
from typing import TYPE_CHECKING

import numpy as np
from astropy.io import fits
from astropy.time import Time

from .cameras import Box
from .focal_plane import ccd_to_focal, mosaic_grid

if TYPE_CHECKING:
    from .core import DetectorModel, FrameSpec


def _ut(when: dt.datetime) -> str:
    return when.strftime("%H:%M:%S.") + f"{when.microsecond // 100000}"


def _mjd(when: dt.datetime) -> float:
    return float(Time(when, scale="utc").mjd)


#: AMPINTEG of a fast read.  The reference (2.1) gives only the thresholds (fast below 8000 on
#: Hamamatsu, below 2000 on EEV and e2v DD) and no real fast-read header is at hand: a value
#: below both.
FAST_AMPINTEG = 1000


def _serial(name: str) -> int:
    """The serial number that ends a Gemini file root (N20170614S0201 -> 201)."""
    digits = name[len(name.rstrip("0123456789")):]
    if not digits:
        raise ValueError(f"{name}: a simulated frame name must end in its serial number")
    return int(digits)


def primary_header(model: DetectorModel, spec: FrameSpec) -> fits.Header:
    """A raw GMOS primary header, keyword order and value forms as in real raw files."""
    lay = model.camera
    north = lay.instrument == "GMOS-N"
    observatory = lay.observatory
    bias = spec.kind == "bias"
    science = spec.kind == "science"
    sidereal = not bias
    nodata = -9999.0
    roi = model.roi or Box(0, lay.ccd_read_area[0] * 3, 0, lay.ccd_read_area[1])
    program = spec.program or f"{'GN' if north else 'GS'}-CAL{spec.when:%Y%m%d}"
    obsid = spec.obsid or f"{program}-1"
    # a data label is <OBSID>-<nnn>, nnn counting the frames of the observation (reference,
    # keyword DATALAB): without one given, the file name's serial number is the counter
    datalab = spec.datalab or f"{obsid}-{_serial(spec.name):03d}"
    cards = [
        ("INSTRUME", lay.instrument, "Instrument used to acquire data"),
        ("OBJECT", spec.object or ("Bias" if bias else ""), "Object Name"),
        ("OBSTYPE", "BIAS" if bias else "OBJECT", "Observation type"),
        ("OBSCLASS", spec.obsclass or ("science" if science else "dayCal"), "Observe class"),
        ("GEMPRGID", program, "Gemini programme ID"),
        ("OBSID", obsid, "Observation ID / Data label"),
        ("DATALAB", datalab, "DHS data label"),
        ("OBSERVER", "gmos-snake simulator", "Observer"),
        ("OBSERVAT", observatory, "Name of telescope (Gemini-North|Gemini-South)"),
        ("TELESCOP", observatory, observatory),
        ("PARALLAX", 0.0 if sidereal else nodata, "Parallax of Target"),
        ("RADVEL", 0.0 if sidereal else nodata, "Heliocentric Radial Velocity"),
        ("EPOCH", 2000.0 if sidereal else nodata, "Epoch for Target coordinates"),
        ("EQUINOX", 2000.0 if sidereal else nodata, "Equinox of coordinate system"),
        ("TRKEQUIN", 2000.0 if sidereal else nodata, "Tracking equinox"),
        ("SSA", "simulator", "SSA"),
        ("RA", spec.ra if sidereal else nodata, "Right Ascension"),
        ("DEC", spec.dec if sidereal else nodata, "Declination of Target"),
        ("ELEVATIO", 84.53 if sidereal else 89.9998, "Current Elevation"),
        ("AZIMUTH", 75.0, "Current Azimuth"),
        ("CRPA", 198.3468, "Current Cass Rotator Position Angle"),
        ("HA", "-00:00:09.86", "Telescope hour angle"),
        ("LT", _ut(spec.when - dt.timedelta(hours=10)), "Local time at start of observation"),
        ("TRKFRAME", "FK5" if sidereal else "No Value", "Tracking co-ordinate"),
        ("DECTRACK", 0.0 if sidereal else nodata, "Differential tracking rate Dec"),
        ("TRKEPOCH", nodata, "Differential tracking reference epoch"),
        ("RATRACK", 0.0 if sidereal else nodata, "Differential tracking rate RA"),
        ("FRAME", "FK5" if sidereal else "AZEL_TOPO", "Target coordinate system"),
        ("PMDEC", 0.0 if sidereal else nodata, "Proper Motion in Declination"),
        ("PMRA", 0.0 if sidereal else nodata, "Proper Motion in RA"),
        ("WAVELENG", nodata, "Effective Target Wavelength"),
        ("RAWIQ", "70-percentile" if science else "Any", "Raw Image Quality"),
        ("RAWCC", "50-percentile" if science else "Any", "Raw Cloud Cover"),
        ("RAWWV", "Any", "Raw Water Vapour/Transparency"),
        ("RAWBG", "Any", "Raw Background"),
        ("RAWPIREQ", "YES" if science else "UNKNOWN", "PI Requirements Met"),
        ("RAWGEMQA", spec.rawgemqa if science else "UNKNOWN", "Gemini Quality Assessment"),
        ("CGUIDMOD", "Basic", "Carousel Mode"),
        ("UT", _ut(spec.when), "UT at observation start"),
        ("M2BAFFLE", "No Value", "Position of M2 baffle"),
        ("M2CENBAF", "No Value", "Position of M2 central hole baffle"),
        ("ST", "19:50:29.5", "Sidereal time at the start of the exposure"),
        ("XOFFSET", spec.poffset if sidereal else nodata, "Telescope offset in x in arcsec"),
        ("YOFFSET", spec.qoffset if sidereal else nodata, "Telescope offset in y in arcsec"),
        ("POFFSET", spec.poffset if sidereal else nodata, "Telescope offset in p in arcsec"),
        ("QOFFSET", spec.qoffset if sidereal else nodata, "Telescope offset in q in arcsec"),
        ("RAOFFSET", 0.0 if sidereal else nodata, "Telescope offset in RA in arcsec"),
        ("DECOFFSE", 0.0 if sidereal else nodata, "Telescope offset in DEC in arcsec"),
        ("RATRGOFF", 0.0 if sidereal else nodata, "Target offset in RA in arcsec"),
        ("DECTRGOF", 0.0 if sidereal else nodata, "Target offset in DEC in arcsec"),
        ("PA", spec.pa if sidereal else nodata, "Sky Position Angle at start of exposure"),
        ("IAA", 179.901 if north else -0.2, "Instrument Alignment Angle"),
        ("SFRT2", -0.0 if sidereal else nodata, "Science fold rotation angle (degrees)"),
        ("SFTILT", 0.0 if sidereal else nodata, "Science fold tilt angle (degrees)"),
        ("SFLINEAR", 0.0 if sidereal else nodata, "Science fold linear position (mm)"),
        ("AOFOLD", "park-pos.", "AO Pick-Off Mirror Position"),
        ("PWFS1_ST", "parked", "PWFS1 probe state (frozen,guiding,parked)"),
        ("PWFS2_ST", "guiding" if science else "parked",
         "PWFS2 probe state (frozen,guiding,parked)"),
        ("OIWFS_ST", "parked", "OIWFS probe state (frozen,guiding,parked)"),
        ("AOWFS_ST", "parked", "AOWFS probe state (frozen,guiding,parked)"),
        ("SCIBAND", 1 if science else -9999, "Science Ranking Band"),
        ("REQIQ", "Any", "Requested Image Quality"),
        ("REQCC", "Any", "Requested Cloud Cover"),
        ("REQBG", "Any", "Requested Background"),
        ("REQWV", "Any", "Requested Water Vapour"),
        ("NUMREQTW", 0, "Number of Requested Timing Window REQTW entries"),
        ("HUMIDITY", 7.3, "The Relative Humidity (fraction, 0..101)."),
        ("TAMBIENT", 1.81, "The ambient temp (C)."),
        ("TAMBIEN2", 35.258, "The ambient temp (F)."),
        ("PRESSURE", 462.000427642132, "The atmospheric pressure (mm Hg)."),
        ("PRESSUR2", 61595.0, "The atmospheric pressure (Pa)."),
        ("DEWPOINT", -30.4364388546121, "The dew point (C)."),
        ("DEWPOIN2", -22.7855899383018, "The dew point (F)."),
        ("WINDSPEE", 0.00514444, "The wind speed (m/s)."),
        ("WINDSPE2", 0.0115077845382964, "The wind speed (mph)."),
        ("WINDDIRE", 229.78, "The wind direction (degrees)."),
        ("INPORT", 5, "Number of ISS port where GMOS was located"),
        ("GMOSCC", "GMOS-N (V7-13)" if north else "GMOS-S (V7-13)",
         "GMOS components controller s/w"),
        ("TIME-OBS", _ut(spec.when), "Time of observation"),
        ("PREIMAGE", False, "MOS pre-imaging"),
        ("CONID", "ARC-III", "Detector controller ID"),
        ("DETECTOR", lay.detector_name(spec.when.date()), "Detector name"),
        ("DEWAR", "Lab Cryostat", "Dewar name"),
        ("ARRYTMPD", -102.707, "Array temperature D (Celsius)"),
        ("ARRYTMPA", -96.874, "Array temperature A (Celsius)"),
        ("ARRYTMPB", -96.513, "Array temperature B (Celsius)"),
        ("ARRYTMPC", -95.709, "Array temperature C (Celsius)"),
        ("ARRYTSET", -102.7, "Array temperature Setpoint (Celsius)"),
        ("DETSIZE", lay.detsize, "Detector size"),
        ("NCCDS", 3, "Number of CCD chips"),
        ("NAMPS", lay.namps_per_ccd, "Number of amplifiers"),
        ("SHUTTER", "CLOSED" if bias else "OPEN", "Shutter state during observation"),
        ("AMPINTEG", lay.slow_ampinteg if spec.read_speed == "slow" else FAST_AMPINTEG,
         "Amplifier integration time"),
        ("OBSEPOCH", 2000.0 + (_mjd(spec.when) - 51544.5) / 365.25, "Epoch at start of exposure"),
        ("TIMESYS", "UTC", "Time system used"),
        ("DATE-OBS", spec.when.strftime("%Y-%m-%d"), "UT Date of observation (YYYY-MM-DD)"),
        ("GMOSTHT", "GOOD", "Shutter health"),
        ("NSUBEXP", 1, "Number of sub exposures"),
        ("UTSTART", spec.when.strftime("%H:%M:%S.%f")[:13], "UT at observation start"),
        ("UTEND", (spec.when + dt.timedelta(seconds=spec.exptime)).strftime("%H:%M:%S.%f")[:13],
         "UT at observation end"),
        ("EXPTIME", float(spec.exptime), "Exposure time in seconds"),
        ("ELAPSED", float(spec.exptime), "Elapsed observation time in seconds"),
        ("DARKTIME", float(spec.exptime) + 8.58, "Dark current integration in seconds"),
        ("MASKID", -99, "Mask/IFU barcode"),
        ("MASKNAME", "None", "Mask name"),
        ("MASKTYP", 0, "Mask/IFU type (0=none/-1=IFU/1=mask)"),
        ("MASKLOC", -1, "Mask/IFU location (-1=unknown/0=FP/1=cassette)"),
        ("FILTER1", spec.filter1, "Filter 1 name"),
        ("FILTID1", 20000018, "Filter 1 barcode"),
        ("FILTER2", spec.filter2, "Filter 2 name"),
        ("FILTID2", 20000008 if spec.filter2.startswith("open") else 20000003, "Filter 2 barcode"),
        ("GRATING", "MIRROR", "Grating name"),
        ("GRATID", 30000008, "Grating barcode"),
        ("GRWLEN", 0.0, "Grating wavelength at slit (nm)"),
        ("CENTWAVE", 0.0, "Central wavelength (nm)"),
        ("GRORDER", 0, "Grating order"),
        ("GRTILT", 65.0, "Grating tilt angle (degrees)"),
        ("GRSTEP", 0.0, "Requested grating motor step position"),
        ("DTAX", 84.0, "Detector translation X position (microns)"),
        ("DTAY", 81.44, "Detector translation Y position (microns)"),
        ("DTAZ", 1820.0, "Detector translation Z position (microns)"),
        ("DTAZST", 1820.0, "Focus at observation start (microns)"),
        ("DTAZEN", 1820.0, "Focus at observation end (microns)"),
        ("DTAZME", 1820.0, "Mean focus during observation (microns)"),
        ("DTMODE", "FOLLOW-XY", "Detector translation stage mode"),
        ("ADCMODE", "", "ADC mode"),
        ("GMOSDC", "gmosdc-6.10", "GMOS detector controller s/w"),
        ("DETTYPE", lay.dettype, "Detector array type"),
        ("DETID", lay.detid, "Chip IDs"),
        ("EXPOSURE", float(spec.exptime), "Requested exposure time in seconds"),
        ("ADCUSED", 1, "ADC used? (0=yes/1=no)"),
        ("DETNROI", 1, "No. regions of interest"),
        *((f"ADC{p}P{t}", 0.0, f"{when} {prism} prism angle of ADC")  # ADCENPST ... ADCEXPME
          for p, prism in (("EN", "entrance"), ("EX", "exit"))
          for t, when in (("ST", "Start"), ("EN", "End"), ("ME", "Mean"))),
        ("ADCWLEN1", 0.0, "Lower wavelength for ADC calculation"),
        ("ADCWLEN2", 0.0, "Upper wavelength for ADC calculation"),
        ("DETRO1X", roi.x1 + 1, "ROI 1 X start"),
        ("DETRO1XS", roi.nx // model.xbin, "ROI 1 X size"),
        ("DETRO1Y", roi.y1 + 1, "ROI 1 Y start"),
        ("DETRO1YS", roi.ny // model.ybin, "ROI 1 Y size"),
        ("AIRMASS", 1.053 if sidereal else 1.0, "Mean airmass for the observation"),
        ("AMSTART", 1.052 if sidereal else 1.0, "Airmass at start of exposure"),
        ("AMEND", 1.054 if sidereal else 1.0, "Airmass at end of exposure"),
        ("PROP_MD", False, "Proprietary Metadata"),
        ("RELEASE", (spec.when + dt.timedelta(days=365 if science else 0)).strftime("%Y-%m-%d"),
         "End of proprietary period YYY-MM-DD"),
    ]
    return fits.Header(cards)


def mosaic_wcs_params(model: DetectorModel, spec: FrameSpec):
    """CRPIX (mosaic pixels, 1-based), CD matrix (deg/pixel), CRVAL and mosaic grid
    (x0, y0, nx, ny) of the frame's ideal mosaic WCS.

    Offsets move a star by (+POFFSET, +QOFFSET) / pixel scale along mosaic (x, y): no sign
    flip for the side port (INPORT 5 or 3), reference keyword table, POFFSET.  CD = scale x
    R(PA + 180 deg), R(t) = [[cos t, -sin t], [sin t, cos t]]: det(CD) > 0 as in every real
    GMOS header (shared/data/real), and PA = 0 gives CD1_1, CD2_2 < 0 as in GMOS-S headers."""
    lay = model.camera
    scale = lay.pixel_scale * model.ybin / 3600.0
    x0, y0, nx, ny = mosaic_grid(lay, model.xbin, model.ybin)
    crpix = (nx / 2.0 + 0.5 + spec.poffset / (lay.pixel_scale * model.xbin),
             ny / 2.0 + 0.5 + spec.qoffset / (lay.pixel_scale * model.ybin))
    pa = math.radians(spec.pa)
    cd = -scale * np.array([[math.cos(pa), -math.sin(pa)],
                            [math.sin(pa), math.cos(pa)]])
    return crpix, cd, (spec.ra, spec.dec), (x0, y0, nx, ny)


def mosaic_wcs(model: DetectorModel, spec: FrameSpec):
    """(celestial astropy WCS of the frame's ideal mosaic grid, x0, y0): mosaic pixel +
    (x0, y0) = focal-plane position (:func:`mosaic_wcs_params`)."""
    from astropy.wcs import WCS

    crpix, cd, crval, (x0, y0, _, _) = mosaic_wcs_params(model, spec)
    w = WCS(naxis=2)
    w.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    w.wcs.crpix = crpix
    w.wcs.crval = crval
    w.wcs.cd = cd
    return w, x0, y0


def extension_headers(model: DetectorModel, spec: FrameSpec) -> list[fits.Header]:
    """Raw extension headers (unnamed), one per amplifier, with a TAN WCS per amplifier."""
    lay = model.camera
    date = spec.when.date()
    speed = spec.read_speed  # as the AMPINTEG that primary_header writes
    crpix, cd, crval, (x0, y0, _, _) = mosaic_wcs_params(model, spec)
    mjd = _mjd(spec.when)
    out = []
    for k, amp in enumerate(model.amps):
        g, rn, _ = lay.amp_setting(amp["ampname"], date, speed, "low")
        # position of the amp's first data pixel in the mosaic (via its CCD)
        X, Y = ccd_to_focal(lay, amp["ccd_index"], amp["ccdsec"].x1 / model.xbin,
                            amp["ccdsec"].y1 / model.ybin, model.xbin, model.ybin)
        ox = float(X) - x0 - amp["datasec"].x1
        oy = float(Y) - y0 - amp["datasec"].y1
        amp_no = amp["ampname"].split(",")[-1].strip()
        cards = [
            ("INHERIT", False, "inherit the primary header"),
            ("CTYPE1", "RA---TAN", "R.A. in tangent plane projection"),
            ("CRPIX1", crpix[0] - ox, "Ref pix of axis 1"),
            ("CRVAL1", crval[0], "RA at Ref pix in decimal degrees"),
            ("CTYPE2", "DEC--TAN", "DEC. in tangent plane projection"),
            ("CRPIX2", crpix[1] - oy, "Ref pix of axis 2"),
            ("CRVAL2", crval[1], "DEC at Ref pix in decimal degrees"),
            ("CD1_1", cd[0, 0], "WCS matrix element 1 1"),
            ("CD1_2", cd[0, 1], "WCS matrix element 1 2"),
            ("CD2_1", cd[1, 0], "WCS matrix element 2 1"),
            ("CD2_2", cd[1, 1], "WCS matrix element 2 2"),
            ("RADECSYS", "FK5", "R.A./DEC. coordinate system reference"),
            ("EQUINOX", 2000.0, "Equinox of coordinate system"),
            ("MJD-OBS", mjd, "MJD of start of obseration"),
            ("CCDNAME", amp["ccdname"], "CCD chip name(s)"),
            ("AMPNAME", amp["ampname"], "Amplifier name(s)"),
            # the controller's gain keyword is known to be unreliable; write a plausible value
            ("GAIN", round(g + 0.01 * ((k % 3) - 1), 2), "Amplifier gain"),
            ("RDNOISE", rn, "Readout noise"),
            ("CCDSIZE", lay.ccdsize, "CCD chip size"),
            ("CCDSUM", f"{model.xbin} {model.ybin}", "CCD sum"),
            ("CCDSEC", amp["ccdsec"].header(), "CCD section(s)"),
            ("DETSEC", amp["detsec"].header(), "Detector section(s)"),
            ("DATASEC", amp["datasec"].header(), "Data section(s)"),
            ("BIASSEC", amp["biassec"].header(), "Bias section(s)"),
            ("FRMNAME", f"FRAME-{k} ROI-0, CHIP-{'rgb'[amp['ccd_index']]}"
                        f"<{amp['ccd_index'] + 1}>, AMP-{amp_no}<{k}>", "Frame name"),
            ("FRAMEID", str(k), "Frame Id"),
            ("DATATYP", "", "Type of data frame"),
        ]
        out.append(fits.Header(cards))
    return out
