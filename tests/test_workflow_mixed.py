"""A raw directory that mixes filters, binnings and read modes (issue 16, "Done when"): an
r-band 4x4 set, an i-band 4x4 set and two r-band 2x2 sets on consecutive nights, one read
fast and one slow, each with its own biases and twilights, reduced
together give each stack the same numbers as reducing its own set alone: the QE factors of
every mosaic within 0.5 % and the stacks equal within the noise.  (The issue reported QE
factors of 0.63 and 2.42 for the r-band frames of such a night.)"""

from __future__ import annotations

import datetime as dt
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits

from gmoslib.sim import simulate_preset
from gmoslib.sim.presets import camera_night
from tests.workflow_helpers import run_snakemake

pytestmark = pytest.mark.slow

_NAME = re.compile(r"^([NS])(\d{8})S(\d{4})\.fits$")


def shifted_set(src: Path, dst: Path, days: int, observation: int) -> list[str]:
    """Copy a simulated set's raw files into ``dst`` as if taken ``days`` later, its science
    frames in observation number ``observation`` of their programme: file names, DATE-OBS,
    RELEASE, MJD-OBS, the CAL programme's date, OBSID and DATALAB follow.  Returns the new
    file names."""
    dst.mkdir(parents=True, exist_ok=True)
    names = []
    for path in sorted(src.glob("*.fits")):
        site, day, serial = _NAME.match(path.name).groups()
        old = dt.date(int(day[:4]), int(day[4:6]), int(day[6:]))
        new = old + dt.timedelta(days=days)
        name = f"{site}{new:%Y%m%d}S{serial}.fits"
        with fits.open(path) as hdul:
            phu = hdul[0].header
            for key in ("DATE-OBS", "RELEASE"):
                if key in phu:
                    phu[key] = phu[key].replace(old.isoformat(), new.isoformat())
            for key in ("GEMPRGID", "OBSID", "DATALAB"):
                phu[key] = phu[key].replace(f"CAL{old:%Y%m%d}", f"CAL{new:%Y%m%d}")
            if "CAL" not in phu["OBSID"]:
                serial_label = phu["DATALAB"].rsplit("-", 1)[1]
                phu["OBSID"] = f"{phu['GEMPRGID']}-{observation}"
                phu["DATALAB"] = f"{phu['OBSID']}-{serial_label}"
            for ext in hdul[1:]:
                if "MJD-OBS" in ext.header:
                    ext.header["MJD-OBS"] = ext.header["MJD-OBS"] + days
            hdul.writeto(dst / name)
        names.append(name)
    return names


#: (preset, days to shift, science observation number, first science frame after the shift)
SETS = {
    "r4x4": ("gn-ham-4x4", 0, 5, "N20190502S0088"),
    "i4x4": ("small", 0, 6, "N20170614S0201"),
    "r2x2fast": ("gn-ham-2x2-fast", 30, 7, "N20190601S0088"),
    # the same camera and binning read slow, a day later: its biases (19:00 UT on
    # 2019-06-01) are nearer in time to the fast science frames (09:00 UT that day) than
    # the fast biases are, so only the read mode tells them apart
    "r2x2slow": ("gn-ham-2x2", 31, 8, "N20190602S0088"),
}


@pytest.fixture(scope="module")
def nights(tmp_path_factory):
    """{set: work dir of its own reduction} and the work dir of the mixed reduction."""
    mixed_raw = tmp_path_factory.mktemp("mixed_raw")
    alone = {}
    for noise, (key, (preset, days, observation, _)) in enumerate(SETS.items(), start=3):
        sim = tmp_path_factory.mktemp(f"{key}_sim")
        if preset.startswith("gn-ham-2x2"):  # the same field, each set its own noise
            camera_night("gn-ham", 2, str(sim), seed=3, noise_seed=noise,
                         read_speed="fast" if preset.endswith("fast") else "slow")
        else:
            simulate_preset(preset, str(sim), seed=noise)
        raw = tmp_path_factory.mktemp(f"{key}_raw")
        for name in shifted_set(sim, raw, days, observation):
            shutil.copy(raw / name, mixed_raw / name)
        work = tmp_path_factory.mktemp(f"{key}_work")
        run_snakemake(work, config={"raw_dir": str(raw)}, timeout=900)
        alone[key] = work
    mixed = tmp_path_factory.mktemp("mixed_work")
    run_snakemake(mixed, config={"raw_dir": str(mixed_raw)}, timeout=900)
    return alone, mixed


@pytest.mark.parametrize("key", list(SETS))
def test_qe_factors_as_when_reduced_alone(nights, key):
    alone, mixed = nights
    mosaics = sorted((alone[key] / "work" / "mosaic").glob("*_mosaic.fits"))
    assert len(mosaics) >= 3
    for m in mosaics:
        together = mixed / "work" / "mosaic" / m.name
        for card in ("QEFACT1", "QEFACT3"):
            a, b = fits.getval(m, card), fits.getval(together, card)
            assert abs(b / a - 1) < 0.005, (key, m.name, card, a, b)


def test_each_set_gets_its_own_stack(nights):
    _, mixed = nights
    assert sorted(p.name for p in (mixed / "results").glob("*_stack.fits")) == sorted(
        f"{s[3]}_stack.fits" for s in SETS.values())


@pytest.mark.parametrize("key", list(SETS))
def test_stack_as_when_reduced_alone(nights, key):
    alone, mixed = nights
    stack = f"{SETS[key][3]}_stack.fits"
    with fits.open(alone[key] / "results" / stack) as a, \
            fits.open(mixed / "results" / stack) as b:
        assert a["SCI"].data.shape == b["SCI"].data.shape
        good = (a["DQ"].data == 0) & (b["DQ"].data == 0)
        assert good.mean() > 0.5
        assert np.array_equal(a["DQ"].data & 64, b["DQ"].data & 64)
        sigma = np.sqrt(a["VAR"].data[good])
        pull = (b["SCI"].data[good] - a["SCI"].data[good]) / sigma
        assert abs(np.median(pull)) < 0.02, (key, np.median(pull))
        assert np.percentile(np.abs(pull), 99.9) < 0.5, (key, np.percentile(np.abs(pull), 99.9))
