from astropy.io import fits

from gmoslib import __version__
from gmoslib.io.provenance import add_provenance, read_provenance


def test_provenance_round_trip_with_long_entries():
    phu = fits.Header()
    params = {"lsigma": 3.0, "reject_method": "varclip", "note": "x" * 150}
    add_provenance(phu, "stackBiases", params, [("/raw/N20170613S0180.fits", "ab" * 32)])
    lines = read_provenance(phu)
    assert phu["GMSVER"] == __version__
    assert lines[0].startswith(f"gmos-snake {__version__} stackBiases ")
    assert '"note": "' + "x" * 150 + '"' in lines[0]
    assert lines[1] == f"gmos-snake input stackBiases N20170613S0180.fits sha256:{'ab' * 32}"
    # survives a write/read cycle through a FITS header string
    again = fits.Header.fromstring(phu.tostring())
    assert read_provenance(again) == lines


def test_provenance_split_at_a_blank_survives_a_file():
    """A card that ends with the blank of ', ' loses it when read back: it is restored."""
    phu = fits.Header()
    params = {"stackBiases": {"hsigma": 50.0, "lsigma": 50.0, "max_iters": 2, "mclip": True,
                              "operation": "median", "reject_method": "sigclip"},
              "overscanCorrect": {"function": "none", "hsigma": 3.0, "lsigma": 3.0,
                                  "nbiascontam": None, "niter": 0, "order": None}}
    add_provenance(phu, "makeProcessedBias", params, [])
    again = fits.Header.fromstring(phu.tostring())
    cards = [str(c) for c in again["HISTORY"]]
    assert any(len(c) == 71 for c in cards), cards  # the split fell on a blank
    (line,) = read_provenance(again)
    assert line == read_provenance(phu)[0]
    assert line.endswith('"operation": "median", "reject_method": "sigclip"}}')
