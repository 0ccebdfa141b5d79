"""Tags (reference section 3) on hand-built primary headers and on the real GMOS headers."""

from __future__ import annotations

import pytest
from astropy.io import fits

from gmoslib.instrument.tags import tags

from ._descriptors_helpers import BEST_RAW, phu, real_files


def test_tutorial_typewalk_tags():
    # reference 3, tutorial typewalk output (science, twilights, biases)
    assert tags(phu()) == {"GEMINI", "GMOS", "IMAGE", "NORTH", "RAW", "SIDEREAL", "UNPREPARED"}
    assert tags(phu(OBJECT="Twilight", OBSCLASS="dayCal")) == {
        "CAL", "FLAT", "GEMINI", "GMOS", "IMAGE", "NORTH", "RAW", "SIDEREAL", "TWILIGHT",
        "UNPREPARED"}
    # tutorial biases: AZEL_TOPO target at zenith, tracking frame FK5 with no rates
    bias = phu(OBSTYPE="BIAS", OBJECT="Bias", OBSCLASS="dayCal", FRAME="AZEL_TOPO",
               RATRACK=-9999.0, DECTRACK=-9999.0, AIRMASS=1.0)
    assert tags(bias) == {"AT_ZENITH", "AZEL_TARGET", "BIAS", "CAL", "GEMINI", "GMOS",
                          "NON_SIDEREAL", "NORTH", "RAW", "UNPREPARED"}


def test_south_and_generic():
    t = tags(phu(INSTRUME="GMOS-S", OBSERVAT="Gemini-South", TELESCOP="Gemini-South"))
    assert {"SOUTH", "GEMINI", "GMOS"} <= t and "NORTH" not in t
    t = tags(phu(INSTRUME="GNIRS", OBSERVAT=None, TELESCOP="Gemini-North"))
    assert "GMOS" not in t and {"GEMINI", "NORTH"} <= t
    assert "GEMINI" not in tags(phu(OBSERVAT="Keck", TELESCOP="Keck"))
    assert "GMOS" in tags(phu(INSTRUME="gmos-n"))


@pytest.mark.parametrize("cards, present, absent", [
    # BIAS / DARK / MASK block IMAGE and SPECT
    ({"OBSTYPE": "BIAS"}, {"BIAS", "CAL"}, {"IMAGE", "SPECT", "THRUSLIT"}),
    ({"OBSTYPE": "BIAS", "MASKTYP": 1, "MASKNAME": "1.0arcsec"}, {"BIAS"},
     {"IMAGE", "THRUSLIT", "LS"}),
    ({"OBSTYPE": "DARK"}, {"DARK", "CAL"}, {"IMAGE", "SPECT"}),
    ({"OBSTYPE": "MASK"}, {"MASK"}, {"IMAGE", "SPECT"}),
    ({"OBSTYPE": "ARC", "GRATING": "B600+_G5307", "OBSMODE": "LONGSLIT", "MASKTYP": 1,
      "MASKNAME": "1.0arcsec"}, {"ARC", "CAL", "SPECT", "LS"}, {"IMAGE"}),
    # GCAL flats; imaging Hartmann flats are not GCALFLATs
    ({"OBSTYPE": "FLAT"}, {"GCALFLAT", "FLAT", "CAL", "IMAGE"}, set()),
    ({"OBSTYPE": "FLAT", "FILTER1": "HartmannA_G0337"}, {"IMAGE"}, {"GCALFLAT", "FLAT"}),
    ({"OBJECT": "DomeFlat"}, {"DOMEFLAT", "FLAT", "CAL"}, set()),
    ({"OBJECT": "Twilight", "GRATING": "B600+_G5307", "OBSMODE": "LONGSLIT"},
     {"TWILIGHT", "SLITILLUM", "SPECT"}, {"FLAT", "IMAGE"}),
    # imaging through a mask
    ({"MASKTYP": 1, "MASKNAME": "1.0arcsec"}, {"IMAGE", "THRUSLIT"}, {"LS", "SPECT"}),
    # spectroscopic flavours
    ({"GRATING": "B600+_G5307", "OBSMODE": "", "MASKTYP": 1, "MASKNAME": "0.5arcsec"},
     {"SPECT", "LS"}, {"IMAGE", "MOS", "IFU"}),
    ({"GRATING": "R400+_G5305", "OBSMODE": "", "MASKTYP": 1, "MASKNAME": "GN2017A-Q-1-1"},
     {"SPECT", "MOS"}, {"LS", "IFU"}),
    ({"GRATING": "R400+_G5305", "OBSMODE": "", "MASKTYP": -1, "MASKNAME": "IFU-2"},
     {"SPECT", "IFU"}, {"LS", "MOS"}),
    ({"GRATING": "R400+_G5305", "OBSMODE": "MOS", "MASKTYP": 1, "MASKNAME": "1.0arcsec"},
     {"SPECT", "MOS"}, {"LS"}),
    ({"GRATING": "B600+_G5307", "OBSMODE": "IFU", "MASKTYP": -1, "MASKNAME": "IFU-R",
      "NODPIX": 1536}, {"SPECT", "IFU", "NODANDSHUFFLE"}, {"IMAGE"}),
    # OBSMODE other than IMAGE adds SPECT even with the mirror in
    ({"OBSMODE": "LONGSLIT", "MASKTYP": 1, "MASKNAME": "1.0arcsec"},
     {"IMAGE", "SPECT", "THRUSLIT", "LS"}, set()),
    # targets
    ({"RATRACK": 0.01}, {"NON_SIDEREAL"}, {"SIDEREAL"}),
    ({"FRAME": "APPT", "TRKFRAME": "APPT"}, {"SIDEREAL"}, {"NON_SIDEREAL"}),
    ({"FRAME": "No Value", "TRKFRAME": "No Value"}, set(), {"SIDEREAL", "NON_SIDEREAL"}),
    ({"FRAME": "AZEL_TOPO", "TRKFRAME": "No Value", "AIRMASS": 1.2}, {"AZEL_TARGET"},
     {"AT_ZENITH", "SIDEREAL"}),
    ({"FRAME": "AZEL_TOPO", "AIRMASS": 1.00000000000229}, {"AZEL_TARGET", "AT_ZENITH"}, set()),
    ({"OBSCLASS": "acq"}, {"ACQUISITION"}, set()),
    ({"OBSCLASS": "acqCal"}, {"ACQUISITION"}, set()),
    # processing state
    ({"PREPARE": "2024-01-01T00:00:00", "GEM_TLM": "2024-01-01T00:00:00"}, {"PREPARED"},
     {"UNPREPARED", "RAW"}),
    ({"GPREPARE": "x", "GEM_TLM": "x", "SUBOVER": "x", "TRIMOVER": "x"},
     {"PREPARED", "OVERSCAN_SUBTRACTED", "OVERSCAN_TRIMMED"}, {"RAW"}),
    ({"OBSTYPE": "BIAS", "PROCBIAS": "x", "PREPARE": "x"}, {"BIAS", "CAL", "PROCESSED"},
     {"RAW"}),
    ({"OBJECT": "Twilight", "PROCFLAT": "x"}, {"FLAT", "TWILIGHT", "PROCESSED"}, {"RAW"}),
    ({"PROCFRNG": "x", "PREPARE": "x"}, {"FRINGE", "CAL", "PROCESSED", "IMAGE"}, {"RAW"}),
    ({"GIFRINGE": "x"}, {"FRINGE", "CAL", "PROCESSED"}, set()),
    ({"PROCSCI": "x"}, {"PROCESSED_SCIENCE", "PROCESSED"}, {"RAW"}),
    ({"GMOSAIC": "x", "OBSTYPE": "FLAT"}, set(), {"PROCESSED_SCIENCE"}),
    ({"BPMASK": "x", "OBSTYPE": "DARK"}, {"BPM", "CAL", "PROCESSED"}, {"DARK", "IMAGE", "RAW"}),
    ({"OBSTYPE": "BPM", "RATRACK": 1.0}, {"BPM", "CAL", "PROCESSED"},
     {"IMAGE", "NON_SIDEREAL"}),
    ({"OBSTYPE": "BPM", "FRAME": "AZEL_TOPO"}, {"BPM"}, {"AZEL_TARGET"}),
])
def test_tag_rules(cards, present, absent):
    t = tags(phu(**cards))
    assert present <= t, present - t
    assert not absent & t, absent & t
    assert ("PREPARED" in t) != ("UNPREPARED" in t)


def test_missing_tracking_rates_are_non_sidereal():
    assert "NON_SIDEREAL" in tags(phu(RATRACK=None, DECTRACK=None))


def test_exts_argument_is_accepted():
    assert tags(phu(), [fits.Header()]) == tags(phu())


def test_real_bias_header():
    # GN Hamamatsu BIAS GN-CAL20200309-1-081 with a grating and a 1.0arcsec slit left in,
    # turned into a BPM (PHU BPMASK) -- data folder README
    hdr = fits.getheader(BEST_RAW.with_suffix(".fits.bz2"), 0)
    t = tags(hdr)
    assert {"BIAS", "CAL", "NORTH", "GEMINI", "GMOS", "BPM", "PROCESSED", "UNPREPARED"} <= t
    assert not t & {"SPECT", "LS", "IMAGE", "RAW", "SIDEREAL", "NON_SIDEREAL"}


@pytest.mark.parametrize("path", real_files(), ids=lambda p: p.name.split(".")[0])
def test_real_headers_basic_tags(path):
    hdr = fits.getheader(path, 0)
    t = tags(hdr)
    site = "NORTH" if hdr["INSTRUME"].strip() == "GMOS-N" else "SOUTH"
    assert {"GEMINI", "GMOS", site} <= t
    obstype = hdr["OBSTYPE"].strip()
    bpm = "BPMASK" in hdr  # these masks were made from real frames; BPM blocks DARK
    if bpm:
        assert {"BPM", "CAL", "PROCESSED"} <= t and not t & {"RAW", "DARK", "IMAGE"}
    if obstype == "BIAS" or (obstype == "DARK" and not bpm):
        assert {obstype, "CAL"} <= t and "IMAGE" not in t
    if obstype == "OBJECT" and "BPMASK" not in hdr:
        assert "IMAGE" in t
