"""Raw GMOS frames with known truth.

A *detector model* (fixed per detector and seed) holds what does not change between frames:
per-amplifier bias offsets and 2-D bias pattern, bad pixels, the pixel response (flat) and the
illumination.  Each frame adds its own row-wise bias structure, read noise, Poisson noise and,
for science frames, a star field seen through the frame's WCS and the mosaic geometry, cosmic
rays and (for fringing filters) fringes.  Pixel values follow

    raw [ADU] = bias_level + row_structure(y) [+ pattern(x, y) in the data columns]
                + Poisson(signal [e-]) / gain + N(0, read_noise / gain)

clipped to 0..65535 and written as uint16 with BZERO = 32768, the raw GMOS format.
"""

from __future__ import annotations

import datetime as dt
import math
import zlib
from dataclasses import dataclass, field

import numpy as np
from astropy.io import fits
from astropy.time import Time
from scipy.special import erf

from .. import geometry, lookups
from ..lookups import DetectorLayout, raw_amp_sections
from ..sections import Section, format_section


@dataclass
class FrameSpec:
    """What one raw file should contain."""

    kind: str  # 'bias' | 'flat' | 'science'
    name: str  # file root, e.g. N20170614S0201
    when: dt.datetime
    exptime: float = 0.0
    filter2: str = "open2-8"
    filter1: str = "open1-6"
    object: str = ""
    sky_e: float = 0.0  # sky level, electrons per binned pixel (before flat response)
    ra: float = 285.00429583  # pointing of the mosaic reference pixel, degrees
    dec: float = 24.98093611
    pa: float = 90.0  # degrees
    poffset: float = 0.0  # arcsec
    qoffset: float = 0.0
    seeing: float = 0.8  # FWHM arcsec
    cosmic_rays: int = 0  # number per frame
    fringe_amplitude_e: float = 0.0
    datalab: str = ""
    obsid: str = ""
    program: str = ""
    obsclass: str = ""
    rawgemqa: str = "USABLE"


@dataclass
class DetectorModel:
    """Fixed truth for one detector, binning and ROI (independent of the frame)."""

    layout: DetectorLayout
    xbin: int
    ybin: int
    roi: Section | None
    amps: list[dict]
    bias_offset: list[float]  # ADU, data level minus overscan level, per amp
    pattern: list[np.ndarray]  # ADU, per amp data section, zero mean
    response: list[np.ndarray]  # pixel response (flat), per amp data section, mean ~1
    illumination: list[np.ndarray]  # smooth illumination, per amp data section
    bad: list[np.ndarray]  # bool, per amp data section
    dead_rows: list[int]  # number of dead bottom rows per amp (Hamamatsu)
    qe_twilight: tuple[float, float, float] = (1.0, 1.0, 1.0)
    qe_night: tuple[float, float, float] = (1.0, 1.0, 1.0)
    fringe: list[np.ndarray] = field(default_factory=list)  # unit-amplitude pattern per amp


def make_detector_model(layout: DetectorLayout, xbin: int, ybin: int,
                        roi: Section | None = None, seed: int = 1) -> DetectorModel:
    """Fixed detector truth.  Deterministic for (layout, binning, roi, seed)."""
    rng = np.random.default_rng([seed, 7, xbin, ybin, len(layout.amps)])
    amps = raw_amp_sections(layout, xbin, ybin, roi)
    hamamatsu = layout.pretty.startswith("Hamamatsu")
    bias_offset, pattern, response, illum, bad, dead, fringe = [], [], [], [], [], [], []
    gx0, gy0, gnx, gny = geometry.mosaic_frame(layout.detid, xbin, ybin)
    for amp in amps:
        ny, nx = amp["datasec"].shape
        yy, xx = np.mgrid[0:ny, 0:nx].astype(np.float32)
        bias_offset.append(float(rng.uniform(-3.0, 3.0)))
        p = (rng.normal(0.0, 0.8, size=(1, nx)) + 1.5 * np.sin(yy / max(ny, 1) * 3.0)
             + 0.002 * (xx - nx / 2)).astype(np.float32)
        pattern.append(p - p.mean())
        resp = rng.normal(1.0, 0.02, size=(ny, nx)).astype(np.float32)
        # detector-frame coordinates (unbinned) of each pixel, for smooth functions
        det = amp["detsec"]
        X = (det.x1 + (xx + 0.5) * xbin) / 6144.0 - 0.5
        Y = (det.y1 + (yy + 0.5) * ybin) / 4224.0 - 0.5
        illum.append((1.0 - 0.15 * (X**2 + Y**2) + 0.03 * X).astype(np.float32))
        b = np.zeros((ny, nx), bool)
        ncol = rng.integers(0, 2)
        for _ in range(int(ncol)):
            b[:, rng.integers(0, nx)] = True
        npx = max(1, nx * ny // 20000)
        b[rng.integers(0, ny, npx), rng.integers(0, nx, npx)] = True
        bad.append(b)
        resp[b] *= 0.3  # bad pixels also respond badly
        response.append(resp)
        ccd_y0 = amp["ccdsec"].y1
        nd = max(0, lookups.HAMAMATSU_DEAD_ROWS - ccd_y0) // ybin if hamamatsu else 0
        dead.append(int(nd))
        # fringes: a smooth interference pattern in detector coordinates (unit amplitude);
        # where the detector has fringe control pairs, real peaks and troughs sit there
        f = np.sin(2 * math.pi * (X * 7.3 + Y * 4.1) + 3 * np.sin(
            2 * math.pi * (X * 2.1 - Y * 3.3))).astype(np.float32)
        pairs = lookups.FRINGE_CONTROL_PAIRS.get(layout.detid)
        if pairs:
            f *= 0.5
            _add_fringe_extrema(f, det, xbin, ybin, pairs)
        fringe.append(f)
    qe_tw = (1.0, 1.0, 1.0)
    qe_night = (1.0, 1.0, 1.0)
    if hamamatsu:
        qe_tw = (1.04, 1.0, 0.97)
        qe_night = (1.01, 1.0, 0.985)
    return DetectorModel(layout, xbin, ybin, roi, amps, bias_offset, pattern, response, illum,
                         bad, dead, qe_tw, qe_night, fringe)


def _add_fringe_extrema(f: np.ndarray, det: Section, xbin: int, ybin: int, pairs) -> None:
    """Add a Gaussian peak (+1) and trough (-1) at each control pair, in place.  f covers
    the unbinned detector section det at the given binning."""
    ny, nx = f.shape
    for peak, trough in pairs:
        sep = math.hypot(peak[0] - trough[0], peak[1] - trough[1])
        sigma = max(12.0, 0.4 * sep)  # unbinned pixels
        for (xd, yd), sign in ((peak, 1.0), (trough, -1.0)):
            # binned pixel index range within 5 sigma
            x0 = int(math.floor((xd - 5 * sigma - det.x1) / xbin))
            x1 = int(math.ceil((xd + 5 * sigma - det.x1) / xbin)) + 1
            y0 = int(math.floor((yd - 5 * sigma - det.y1) / ybin))
            y1 = int(math.ceil((yd + 5 * sigma - det.y1) / ybin)) + 1
            x0, x1, y0, y1 = max(x0, 0), min(x1, nx), max(y0, 0), min(y1, ny)
            if x1 <= x0 or y1 <= y0:
                continue
            xs = det.x1 + (np.arange(x0, x1) + 0.5) * xbin - xd
            ys = det.y1 + (np.arange(y0, y1) + 0.5) * ybin - yd
            g = np.exp(-0.5 * (ys[:, None] ** 2 + xs[None, :] ** 2) / sigma**2)
            f[y0:y1, x0:x1] += np.float32(sign) * g.astype(np.float32)


# ------------------------------------------------------------------------------ headers
def _ut(when: dt.datetime) -> str:
    return when.strftime("%H:%M:%S.") + f"{when.microsecond // 100000}"


def _mjd(when: dt.datetime) -> float:
    return float(Time(when, scale="utc").mjd)


def primary_header(model: DetectorModel, spec: FrameSpec) -> fits.Header:
    """A raw GMOS primary header, keyword order and value forms as in real raw files."""
    lay = model.layout
    north = lay.instrument == "GMOS-N"
    observatory = lay.observatory
    bias = spec.kind == "bias"
    science = spec.kind == "science"
    sidereal = not bias
    nodata = -9999.0
    roi = model.roi or Section(0, lay.ccd_shape[0] * 3, 0, lay.ccd_shape[1])
    program = spec.program or f"{'GN' if north else 'GS'}-CAL{spec.when:%Y%m%d}"
    obsid = spec.obsid or f"{program}-1"
    datalab = spec.datalab or f"{obsid}-001"
    h = fits.Header()
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
        ("DETECTOR", lay.detector, "Detector name"),
        ("DEWAR", "Lab Cryostat", "Dewar name"),
        ("ARRYTMPD", -102.707, "Array temperature D (Celsius)"),
        ("ARRYTMPA", -96.874, "Array temperature A (Celsius)"),
        ("ARRYTMPB", -96.513, "Array temperature B (Celsius)"),
        ("ARRYTMPC", -95.709, "Array temperature C (Celsius)"),
        ("ARRYTSET", -102.7, "Array temperature Setpoint (Celsius)"),
        ("DETSIZE", f"[1:{3 * lay.ccd_shape[0]}:1:{lay.ccd_shape[1]}]".replace(":1:", ",1:"),
         "Detector size"),
        ("NCCDS", 3, "Number of CCD chips"),
        ("NAMPS", lay.namps_per_ccd, "Number of amplifiers"),
        ("SHUTTER", "CLOSED" if bias else "OPEN", "Shutter state during observation"),
        ("AMPINTEG", 11880 if lay.pretty.startswith("Hamamatsu") else 5000,
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
        ("ADCENPST", 0.0, "Start entrance prism angle of ADC"),
        ("ADCENPEN", 0.0, "End entrance prism angle of ADC"),
        ("ADCENPME", 0.0, "Mean entrance prism angle of ADC"),
        ("ADCEXPST", 0.0, "Start exit prism angle of ADC"),
        ("ADCEXPEN", 0.0, "End exit prism angle of ADC"),
        ("ADCEXPME", 0.0, "Mean exit prism angle of ADC"),
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
    for key, value, comment in cards:
        h[key] = (value, comment)
    return h


def mosaic_wcs_params(model: DetectorModel, spec: FrameSpec):
    """CRPIX (mosaic pixels, 1-based), CD matrix (deg/pixel) and CRVAL of the frame's ideal
    mosaic WCS.  The telescope offsets move the pointing: a star's mosaic position moves by
    (-POFFSET, -QOFFSET)/pixel scale along (x, y)."""
    lay = model.layout
    scale = lay.pixel_scale * model.ybin / 3600.0
    x0, y0, nx, ny = geometry.mosaic_frame(lay.detid, model.xbin, model.ybin)
    crpix = (nx / 2.0 + 0.5 + spec.poffset / (lay.pixel_scale * model.xbin),
             ny / 2.0 + 0.5 + spec.qoffset / (lay.pixel_scale * model.ybin))
    pa = math.radians(spec.pa)
    cd = np.array([[-scale * math.cos(pa), scale * math.sin(pa)],
                   [scale * math.sin(pa), scale * math.cos(pa)]])
    return crpix, cd, (spec.ra, spec.dec), (x0, y0, nx, ny)


def extension_headers(model: DetectorModel, spec: FrameSpec) -> list[fits.Header]:
    """Raw extension headers (unnamed), one per amplifier, with a TAN WCS per amplifier."""
    lay = model.layout
    date = spec.when.date()
    speed = "slow"  # AMPINTEG written by primary_header always means a slow read
    crpix, cd, crval, (x0, y0, _, _) = mosaic_wcs_params(model, spec)
    mjd = _mjd(spec.when)
    chip_letters = "rgb"
    out = []
    for k, amp in enumerate(model.amps):
        g, rn, _ = lookups.amp_parameters(amp["ampname"], speed, "low", date)
        # position of the amp's first data pixel in the mosaic (via its CCD)
        cx = amp["ccdsec"].x1 / model.xbin
        cy = amp["ccdsec"].y1 / model.ybin
        X, Y = geometry.ccd_to_mosaic(lay.detid, amp["ccd_index"], cx, cy, model.xbin,
                                      model.ybin)
        ox = float(X) - x0 - amp["datasec"].x1
        oy = float(Y) - y0 - amp["datasec"].y1
        h = fits.Header()
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
            ("CCDSEC", format_section(amp["ccdsec"]), "CCD section(s)"),
            ("DETSEC", format_section(amp["detsec"]), "Detector section(s)"),
            ("DATASEC", format_section(amp["datasec"]), "Data section(s)"),
            ("BIASSEC", format_section(amp["biassec"]), "Bias section(s)"),
            ("FRMNAME", f"FRAME-{k} ROI-0, CHIP-{chip_letters[amp['ccd_index']]}"
                        f"<{amp['ccd_index'] + 1}>, AMP-{amp_no}<{k}>", "Frame name"),
            ("FRAMEID", str(k), "Frame Id"),
            ("DATATYP", "", "Type of data frame"),
        ]
        for key, value, comment in cards:
            h[key] = (value, comment)
        out.append(h)
    return out


# ------------------------------------------------------------------------------ pixels
def _gauss_stamp(xc: float, yc: float, sigma: float, flux: float, half: int):
    """Pixel-integrated 2-D Gaussian stamp: (x0, y0, stamp)."""
    ix, iy = int(round(xc)), int(round(yc))
    xs = np.arange(ix - half, ix + half + 1)
    ys = np.arange(iy - half, iy + half + 1)
    s = sigma * math.sqrt(2.0)
    fx = 0.5 * (erf((xs + 0.5 - xc) / s) - erf((xs - 0.5 - xc) / s))
    fy = 0.5 * (erf((ys + 0.5 - yc) / s) - erf((ys - 0.5 - yc) / s))
    return ix - half, iy - half, flux * np.outer(fy, fx)


def render_signal(model: DetectorModel, spec: FrameSpec, stars: np.ndarray | None,
                  rng: np.random.Generator) -> tuple[list[np.ndarray], list[dict]]:
    """Expected signal (electrons) per amplifier data section, and cosmic-ray truth."""
    lay = model.layout
    signal = []
    for i, amp in enumerate(model.amps):
        qe = (model.qe_twilight if spec.kind == "flat" else model.qe_night)[amp["ccd_index"]]
        base = spec.sky_e * model.illumination[i] * qe
        if spec.fringe_amplitude_e:
            base = base + spec.fringe_amplitude_e * model.fringe[i]
        signal.append(np.asarray(base, dtype=np.float32))
    if spec.kind == "science" and stars is not None and len(stars):
        from astropy.wcs import WCS

        crpix, cd, crval, (x0, y0, _, _) = mosaic_wcs_params(model, spec)
        w = WCS(naxis=2)
        w.wcs.ctype = ["RA---TAN", "DEC--TAN"]
        w.wcs.crpix = crpix
        w.wcs.crval = crval
        w.wcs.cd = cd
        mx, my = w.all_world2pix(stars["ra"], stars["dec"], 0)
        sigma = spec.seeing / (lay.pixel_scale * model.ybin) / 2.3548
        half = int(math.ceil(5 * sigma)) + 1
        for i, amp in enumerate(model.amps):
            k = amp["ccd_index"]
            cx, cy = geometry.mosaic_to_ccd(lay.detid, k, mx + x0, my + y0, model.xbin,
                                            model.ybin)
            ax = cx - amp["ccdsec"].x1 / model.xbin
            ay = cy - amp["ccdsec"].y1 / model.ybin
            ny, nx = signal[i].shape
            inside = (ax > -half) & (ax < nx + half) & (ay > -half) & (ay < ny + half)
            sig = signal[i]
            for xa, ya, f in zip(ax[inside], ay[inside], stars["flux_e"][inside], strict=True):
                sx, sy, stamp = _gauss_stamp(float(xa), float(ya), sigma, float(f) * qe_of(
                    model, k), half)
                xa0, ya0 = max(sx, 0), max(sy, 0)
                xa1, ya1 = min(sx + stamp.shape[1], nx), min(sy + stamp.shape[0], ny)
                if xa1 <= xa0 or ya1 <= ya0:
                    continue
                sig[ya0:ya1, xa0:xa1] += stamp[ya0 - sy:ya1 - sy, xa0 - sx:xa1 - sx] \
                    * model.illumination[i][ya0:ya1, xa0:xa1]
    # cosmic rays: deposited after the optics (not multiplied by the response)
    crs = []
    if spec.cosmic_rays:
        sizes = [a["datasec"].shape for a in model.amps]
        weights = np.array([s[0] * s[1] for s in sizes], float)
        which = rng.choice(len(sizes), size=spec.cosmic_rays, p=weights / weights.sum())
        for i in which:
            ny, nx = sizes[i]
            y, x = int(rng.integers(0, ny)), int(rng.integers(0, nx))
            energy = float(rng.uniform(3000, 30000))
            crs.append({"amp": int(i), "x": x, "y": y, "electrons": energy})
    return signal, crs


def qe_of(model: DetectorModel, ccd_index: int) -> float:
    return model.qe_night[ccd_index]


def render_raw(model: DetectorModel, spec: FrameSpec, stars, seed: int):
    """The raw uint16 arrays of every amplifier and this frame's truth."""
    rng = np.random.default_rng([seed, zlib.crc32(spec.name.encode())])
    speed = "slow"
    date = spec.when.date()
    signal, crs = render_signal(model, spec, stars, rng)
    arrays, truth_amps = [], []
    for i, amp in enumerate(model.amps):
        g, rn, bias = lookups.amp_parameters(amp["ampname"], speed, "low", date)
        ny, nx_raw = amp["naxis2"], amp["naxis1"]
        ds = amp["datasec"]
        rows = (2.0 * np.sin(np.arange(ny) / ny * 2 * math.pi * (1 + i % 3))
                + rng.normal(0, 0.7, ny)).astype(np.float32)
        level = bias + 20.0 * (i % 4)
        raw = np.empty((ny, nx_raw), np.float32)
        raw[:] = level + rows[:, None]
        data = raw[ds.slice]
        data += model.bias_offset[i] + model.pattern[i]
        if spec.kind != "bias":
            expected = signal[i] * model.response[i]
            electrons = rng.poisson(np.clip(expected, 0, None)).astype(np.float32)
            data += electrons / g
        for cr in crs:
            if cr["amp"] == i:
                data[cr["y"], cr["x"]] += cr["electrons"] / g
        raw += rng.normal(0.0, rn / g, size=raw.shape).astype(np.float32)
        nd = model.dead_rows[i]
        if nd:
            raw[:nd, :] = 0.0  # Hamamatsu: the bottom rows hold no data (read as 0)
        arrays.append(np.clip(np.rint(raw), 0, 65535).astype(np.uint16))
        truth_amps.append({"ampname": amp["ampname"], "gain": g, "read_noise": rn,
                           "overscan_level": level, "bias_offset": model.bias_offset[i],
                           "dead_rows": nd})
    return arrays, {"amps": truth_amps, "cosmic_rays": crs}


def write_raw(path: str, model: DetectorModel, spec: FrameSpec, stars=None, seed: int = 1):
    """Write one raw file (.fits, or .fits.bz2/.fits.gz by its name); return its truth."""
    arrays, truth = render_raw(model, spec, stars, seed)
    phu = primary_header(model, spec)
    hdus = [fits.PrimaryHDU(header=phu)]
    for arr, hdr in zip(arrays, extension_headers(model, spec), strict=True):
        hdu = fits.ImageHDU(arr, header=hdr, do_not_scale_image_data=False)
        hdus.append(hdu)
    hdul = fits.HDUList(hdus)
    hdul[0].header.add_comment("FITS (Flexible Image Transport System) format is defined in "
                               "'Astronomy and Astrophysics', volume 376, page 359; bibcode: "
                               "2001A&A...376..359H", before="INSTRUME")
    hdul.writeto(path, overwrite=True)
    return truth
