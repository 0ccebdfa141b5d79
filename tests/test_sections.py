"""FITS section strings <-> numpy slices, including strings from real GMOS headers."""

import numpy as np
import pytest
from astropy.io import fits

from gmoslib.instrument.sections import Section, format_section, parse_section

from ._descriptors_helpers import real_files


@pytest.mark.parametrize(
    "text, expected",
    [
        ("[1:256,1:2112]", Section(0, 256, 0, 2112)),
        ("[257:288,1:2112]", Section(256, 288, 0, 2112)),
        ("[ 33 : 288 , 1 : 2112 ]", Section(32, 288, 0, 2112)),
        ("[5633:6144,1:4224]", Section(5632, 6144, 0, 4224)),
        ("[1:1,1:1]", Section(0, 1, 0, 1)),
    ],
)
def test_parse_section(text, expected):
    sec = parse_section(text)
    assert sec == expected
    assert parse_section(format_section(sec)) == sec


@pytest.mark.parametrize(
    "text",
    ["", "1:256,1:2112", "[1:256]", "[0:10,1:5]", "[10:5,1:5]", "[1:10,1:5", "[a:b,c:d]",
     "[1:10:2,1:5]", None, 12],
)
def test_parse_section_rejects_malformed(text):
    with pytest.raises(ValueError, match="section"):
        parse_section(text)


def test_slice_is_row_first_and_inclusive():
    a = np.arange(20 * 30).reshape(20, 30)  # (ny, nx)
    sec = parse_section("[3:5,2:4]")  # columns 3..5, rows 2..4 (1-based)
    sub = a[sec.slice]
    assert sub.shape == sec.shape == (3, 3)
    assert sub[0, 0] == a[1, 2]
    assert sub[-1, -1] == a[3, 4]


def test_contains():
    big = parse_section("[1:512,1:4224]")
    assert big.contains(parse_section("[10:20,30:40]"))
    assert not big.contains(parse_section("[500:513,1:10]"))


def test_sections_of_real_headers_parse():
    seen = 0
    for path in real_files():
        with fits.open(path) as hdul:
            for hdu in hdul:
                for key in ("DATASEC", "BIASSEC", "CCDSEC", "DETSEC", "TRIMSEC", "CCDSIZE",
                            "DETSIZE"):
                    if key in hdu.header:
                        text = hdu.header[key]
                        sec = parse_section(text)
                        assert format_section(sec) == text.replace(" ", "")
                        assert sec.nx > 0 and sec.ny > 0
                        seen += 1
    assert seen > 400
