"""The simulator's instrument tables against gmoslib's, entry by entry.

The simulator (gmoslib/sim) keeps its own copy of every instrument fact, transcribed from the
reference independently of gmoslib.instrument.amplifiers / detectors / geometry, so that a
wrong entry on either
side cannot pass the end-to-end tests unseen.  Each test lists every disagreement by name; a
disagreement means one side is wrong: settle it against shared/reference/gmos-imaging.md.
"""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from gmoslib.instrument import amplifiers, detectors, geometry
from gmoslib.instrument.sections import Section
from gmoslib.sim import amp_tables, cameras, focal_plane, fringe_pairs
from gmoslib.sim.cameras import CAMERAS, NAMED_ROIS

D = dt.date

#: A UT date well inside the period of each simulator table (never an era boundary).
TABLE_DATES = {
    "GN_HAMAMATSU": [D(2017, 6, 14), D(2020, 1, 1), D(2024, 6, 1)],
    "GS_HAMAMATSU_2014": [D(2014, 9, 1)],
    "GS_HAMAMATSU_2015": [D(2016, 1, 1), D(2020, 1, 1)],
    "GS_HAMAMATSU_2023": [D(2024, 6, 1)],
    "GN_E2V_DD": [D(2012, 6, 1), D(2016, 1, 1)],
    "EEV_FROM_2006": [D(2010, 1, 1)],
    "EEV_BEFORE_2006": [D(2005, 1, 1)],
}

#: Dates at which each simulated camera is observed (the presets' eras).
CAMERA_DATES = {
    "GN-Ham": [D(2017, 6, 14), D(2019, 5, 2)],
    "GS-Ham": [D(2014, 9, 1), D(2019, 3, 2)],
    "GS-Ham2023": [D(2024, 2, 2)],
    "GN-e2vDD": [D(2014, 5, 2)],
    "GN-EEV": [D(2005, 1, 1), D(2008, 5, 2)],
    "GS-EEV": [D(2010, 9, 2)],
    "GS-EEV-early": [D(2003, 1, 1)],
}


def _report(mismatches: list[str]) -> None:
    assert not mismatches, f"{len(mismatches)} disagreement(s):\n" + "\n".join(mismatches)


def _close(a, b, tol=1e-9) -> bool:
    return bool(np.allclose(np.asarray(a, float), np.asarray(b, float), rtol=0, atol=tol))


# ------------------------------------------------------------------------------ amplifiers
@pytest.mark.parametrize("table", sorted(amp_tables.AMP_TABLES))
def test_gain_read_noise_bias_tables_agree(table):
    bad = []
    for date in TABLE_DATES[table]:
        for amp, modes in amp_tables.AMP_TABLES[table].items():
            for (speed, setting), sim in zip(amp_tables.READ_MODES, modes, strict=True):
                try:
                    ours = amplifiers.amp_parameters(amp, speed, setting, date)
                except KeyError as exc:
                    bad.append(f"{table} {amp!r}: gmoslib has no entry ({exc})")
                    break
                for name, s, g in zip(("gain", "read noise", "bias"), sim, ours, strict=True):
                    if not _close(s, g):
                        bad.append(f"{table} {amp!r} {speed}/{setting} on {date}: {name} "
                                   f"simulator {s} vs gmoslib {g}")
    _report(bad)


def test_every_gmoslib_amplifier_is_known_to_the_simulator():
    sim_amps = {amp for rows in amp_tables.AMP_TABLES.values() for amp in rows}
    gmos_amps = {amp for rows in amplifiers._AMP_TABLES.values() for amp in rows}
    _report([f"amplifier {a!r} only in gmoslib" for a in sorted(gmos_amps - sim_amps)]
            + [f"amplifier {a!r} only in the simulator" for a in sorted(sim_amps - gmos_amps)])


@pytest.mark.parametrize("key", sorted(CAMERAS))
def test_camera_eras_give_gmoslib_values(key):
    """What the simulator writes (its camera's table for the date) is what gmoslib assumes."""
    cam = CAMERAS[key]
    bad = []
    for date in CAMERA_DATES[key]:
        for amp in cam.amps:
            for speed, setting in amp_tables.READ_MODES:
                sim = cam.amp_setting(amp.ampname, date, speed, setting)
                ours = amplifiers.amp_parameters(amp.ampname, speed, setting, date)
                if not _close(sim, ours):
                    bad.append(f"{key} {amp.ampname!r} {speed}/{setting} on {date}: simulator "
                               f"(g, rn, bias) {tuple(sim)} vs gmoslib {ours}")
    _report(bad)


def test_full_wells_agree():
    bad = []
    for det in sorted(set(cameras.FULL_WELL) | set(amplifiers.FULL_WELL)):
        sim, ours = cameras.FULL_WELL.get(det, {}), amplifiers.FULL_WELL.get(det, {})
        for amp in sorted(set(sim) | set(ours)):
            if amp not in sim or amp not in ours or not _close(sim[amp], ours[amp]):
                bad.append(f"full well {det!r} {amp!r}: simulator {sim.get(amp)} vs gmoslib "
                           f"{ours.get(amp)}")
    _report(bad)


# ------------------------------------------------------------------------------ layouts
@pytest.mark.parametrize("key", sorted(CAMERAS))
def test_camera_layouts_agree(key):
    cam, lay = CAMERAS[key], detectors.LAYOUTS.get(key)
    assert lay is not None, f"gmoslib has no layout {key!r}"
    bad = []
    pairs = {"instrument": (cam.instrument, lay.instrument),
             "observatory": (cam.observatory, lay.observatory),
             "DETTYPE": (cam.dettype, lay.dettype), "DETID": (cam.detid, lay.detid),
             "pretty name": (cam.pretty, lay.pretty),
             "NAMPS": (cam.namps_per_ccd, lay.namps_per_ccd),
             "CCD read area": (cam.ccd_read_area, tuple(lay.ccd_shape)),
             "CCDSIZE": (cam.ccdsize, lay.ccdsize),
             "pixel scale": (cam.pixel_scale, lay.pixel_scale),
             "tile gap": (cam.gap, detectors.TILE_GAP[lay.pretty]),
             "dead rows": (cam.dead_rows,
                           detectors.HAMAMATSU_DEAD_ROWS if cam.hamamatsu else 0),
             "number of amplifiers": (len(cam.amps), len(lay.amps))}
    for date in CAMERA_DATES[key]:
        pairs[f"DETECTOR on {date}"] = (cam.detector_name(date),
                                        detectors.detector_keyword(lay, date))
    for name, (s, g) in pairs.items():
        if s != g:
            bad.append(f"{key} {name}: simulator {s!r} vs gmoslib {g!r}")
    for k, (a, b) in enumerate(zip(cam.amps, lay.amps, strict=False)):
        for name, s, g in (("AMPNAME", a.ampname, b.ampname), ("CCDNAME", a.ccdname, b.ccdname),
                           ("CCD", a.ccd, b.ccd_index), ("CCDSEC", tuple(a.ccdsec),
                                                         tuple(b.ccdsec)),
                           ("DETSEC", tuple(a.detsec), tuple(b.detsec)),
                           ("overscan side", a.overscan, b.overscan_side)):
            if s != g:
                bad.append(f"{key} extension {k + 1} {name}: simulator {s!r} vs gmoslib {g!r}")
    _report(bad)


def _rois():
    out = [None]
    for family in NAMED_ROIS.values():
        out.extend(family.values())
    return out


@pytest.mark.parametrize("key", sorted(CAMERAS))
def test_raw_sections_agree(key):
    cam, lay = CAMERAS[key], detectors.LAYOUTS[key]
    bad = []
    for xbin, ybin in ((1, 1), (2, 2), (4, 4), (1, 2), (2, 1)):
        for roi in _rois():
            if roi is not None and roi.y2 > cam.ccd_read_area[1]:
                continue
            label = f"{key} {xbin}x{ybin} ROI {roi}"
            try:
                sim = cameras.raw_sections(cam, xbin, ybin, roi)
            except ValueError as exc:
                sim = f"error: {exc}"
            try:
                ours = detectors.raw_amp_sections(lay, xbin, ybin,
                                                None if roi is None else Section(*roi))
            except ValueError as exc:
                ours = f"error: {exc}"
            if isinstance(sim, str) or isinstance(ours, str):
                if isinstance(sim, str) != isinstance(ours, str):
                    bad.append(f"{label}: simulator {sim if isinstance(sim, str) else 'ok'} vs "
                               f"gmoslib {ours if isinstance(ours, str) else 'ok'}")
                continue
            if len(sim) != len(ours):
                bad.append(f"{label}: {len(sim)} amplifiers read in the simulator vs "
                           f"{len(ours)} in gmoslib")
                continue
            for s, g in zip(sim, ours, strict=True):
                for field in ("ampname", "ccd_index", "ccdsec", "detsec", "datasec", "biassec",
                              "naxis1", "naxis2"):
                    sv, gv = s[field], g[field]
                    if isinstance(sv, tuple):
                        sv, gv = tuple(sv), tuple(gv)
                    if sv != gv:
                        bad.append(f"{label} {s['ampname']!r} {field}: simulator {sv} vs "
                                   f"gmoslib {gv}")
    _report(bad)


def test_named_rois_agree():
    bad = []
    for family, rois in NAMED_ROIS.items():
        for name, box in rois.items():
            y1, y2, x1, x2 = detectors.ROI_SETTINGS.get(family, {}).get(name, (None,) * 4)
            if (x1, x2, y1, y2) != tuple(box):
                bad.append(f"ROI {family} {name!r}: simulator {tuple(box)} vs gmoslib "
                           f"(x1, x2, y1, y2) {(x1, x2, y1, y2)}")
    _report(bad)


# ------------------------------------------------------------------------------ geometry
@pytest.mark.parametrize("key", sorted(CAMERAS))
def test_mosaic_geometry_agrees(key):
    cam = CAMERAS[key]
    g = geometry.geometry(cam.detid)
    bad = []
    if tuple(g.default_shape) != cam.ccd_read_area:
        bad.append(f"{key} CCD shape: simulator {cam.ccd_read_area} vs gmoslib {g.default_shape}")
    for ccd, (shift, rot) in ((0, cam.ccd1), (2, cam.ccd3)):
        if not _close(shift, g.shift[ccd]) or not _close(rot, g.rotation[ccd]):
            bad.append(f"{key} CCD{ccd + 1} shift/rotation: simulator {shift} / {rot} deg vs "
                       f"gmoslib {g.shift[ccd]} / {g.rotation[ccd]} deg")
    rng = np.random.default_rng(3)
    for xbin, ybin in ((1, 1), (2, 2), (4, 4), (1, 2)):
        if focal_plane.mosaic_grid(cam, xbin, ybin) != geometry.mosaic_frame(cam.detid, xbin,
                                                                             ybin):
            bad.append(f"{key} {xbin}x{ybin} mosaic grid: simulator "
                       f"{focal_plane.mosaic_grid(cam, xbin, ybin)} vs gmoslib "
                       f"{geometry.mosaic_frame(cam.detid, xbin, ybin)}")
        x = rng.uniform(0, cam.ccd_read_area[0] / xbin, 50)
        y = rng.uniform(0, cam.ccd_read_area[1] / ybin, 50)
        for ccd in range(3):
            sim = focal_plane.ccd_to_focal(cam, ccd, x, y, xbin, ybin)
            ours = geometry.ccd_to_mosaic(cam.detid, ccd, x, y, xbin, ybin)
            if not _close(sim, ours, 1e-6):
                bad.append(f"{key} {xbin}x{ybin} CCD{ccd + 1} position: largest difference "
                           f"{np.max(np.abs(np.subtract(sim, ours))):.3g} binned pixels")
    _report(bad)


def test_fringe_control_pairs_agree():
    sim, ours = fringe_pairs.CONTROL_PAIRS, detectors.FRINGE_CONTROL_PAIRS
    bad = [f"fringe control pairs of {d!r}: simulator {sim.get(d)} vs gmoslib {ours.get(d)}"
           for d in sorted(set(sim) | set(ours)) if sim.get(d) != ours.get(d)]
    _report(bad)


# ------------------------------------------------------------------------------ independence
def test_simulator_imports_nothing_of_gmoslib_outside_itself():
    """The witness must not share the pipeline's tables: importing gmoslib.sim loads no other
    gmoslib module (gmoslib/__init__ aside)."""
    code = ("import sys, gmoslib.sim; "
            "print(' '.join(m for m in sys.modules if m.startswith('gmoslib.') "
            "and not m.startswith('gmoslib.sim')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=Path(__file__).resolve().parents[1]).stdout.split()
    assert out == [], f"gmoslib.sim pulls in {out}"
