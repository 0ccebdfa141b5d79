"""The semester benchmark's data: the observing plan, and raw copies made by editing cards."""

from __future__ import annotations

import os

import numpy as np
import pytest
from astropy.io import fits

from benchmarks import semester
from gmoslib.instrument.descriptors import Descriptors
from gmoslib.io.fitsio import read_headers
from gmoslib.sim import simulate_preset


def test_plan_covers_the_issue_mix():
    nights = [semester.night_plan(i) for i in range(45)]
    frames = [f for n in nights for f in n]
    assert len(frames) >= 2000
    science = [f for f in frames if f[0] == "science"]
    assert {f[4] for f in science} == {t[0] for t in semester.TARGETS}
    assert {f[3] for f in science} == set(semester.FILTERS)
    assert {(f[1], f[2]) for f in frames} == {(4, "Normal"), (4, "Bright"), (2, "Normal"),
                                              (2, "Bright")}
    with_bias = [i for i, n in enumerate(nights) if any(f[0] == "bias" for f in n)]
    with_flat = [i for i, n in enumerate(nights) if any(f[0] == "flat" for f in n)]
    assert 0 < len(with_flat) < len(with_bias) < len(nights)


def test_copies_have_the_new_cards_and_the_same_pixels(tmp_path):
    src = sorted(simulate_preset("small", str(tmp_path / "t"), seed=2))[0]  # a bias
    template = semester.Template(src)
    phu, ext = semester._cards(semester.dt.datetime(2018, 2, 3, 19, 4, 30), "GN-X-1-001",
                               "Bright", None)
    out = str(tmp_path / "N20180203S0001.fits")
    template.write(out, phu, ext)
    p, exts = read_headers(out)
    d = Descriptors(p, exts, out)
    assert d.ut_datetime() == semester.dt.datetime(2018, 2, 3, 19, 4, 30)
    assert (d.read_speed_setting(), d.gain_setting()) == ("fast", "high")
    assert p["DATALAB"] == "GN-X-1-001"
    with fits.open(src) as a, fits.open(out) as b:
        assert len(a) == len(b) == 13
        for ha, hb in zip(a[1:], b[1:], strict=True):
            assert np.array_equal(ha.data, hb.data)
            assert hb.header["GAIN"] == 5.0


@pytest.mark.slow
def test_the_semester_raw_directory_is_made_and_every_file_is_usable(tmp_path):
    """The benchmark's own data path end to end (templates simulated in a child, whole nights
    written by editing cards): every file of the first nights is a usable raw frame."""
    from benchmarks.__main__ import _child
    from gmoslib.workflow.manifest import build_manifest

    raw, nights, _ = semester.make_semester(tmp_path, 60, _child)
    files = [p for night in nights for p in night]
    assert len(files) >= 60 and sorted(os.listdir(raw)) == sorted(map(os.path.basename, files))
    table = build_manifest(files)
    assert table["usable"].all(), table.loc[~table["usable"], ["frame", "reason"]]
    assert len(files) == sum(len(semester.night_plan(i)) for i in range(len(nights)))
    assert set(table["observation_type"]) >= {"BIAS", "OBJECT"}
