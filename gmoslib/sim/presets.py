"""Named data sets written by ``gmos simulate --preset NAME OUTDIR``."""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Callable

import numpy as np
from astropy.table import Table

from .. import geometry
from ..lookups import LAYOUTS, ROI_SETTINGS
from ..sections import Section
from .core import FrameSpec, make_detector_model, write_raw


def star_field(layout_key: str, xbin: int, ybin: int, ra: float, dec: float, n: int,
               seed: int) -> Table:
    """Random stars over the mosaic footprint (plus margin): ra, dec (deg), flux_e."""
    lay = LAYOUTS[layout_key]
    rng = np.random.default_rng([seed, 11])
    _, _, nx, ny = geometry.mosaic_frame(lay.detid, xbin, ybin)
    scale = lay.pixel_scale * ybin / 3600.0
    half_x = nx / 2 * scale * 1.05
    half_y = ny / 2 * scale * 1.05
    # a square sky patch covering the footprint whatever the position angle
    half = max(half_x, half_y)
    dra = rng.uniform(-half, half, n) / np.cos(np.radians(dec))
    ddec = rng.uniform(-half, half, n)
    flux = 10 ** rng.uniform(3.0, 6.3, n)  # electrons per exposure through the full pupil
    return Table({"id": np.arange(n), "ra": ra + dra, "dec": dec + ddec, "flux_e": flux})


def _write_set(outdir: str, layout_key: str, xbin: int, ybin: int, specs: list[FrameSpec],
               *, roi: Section | None, seed: int, stars: Table | None,
               compress: Callable[[str], str] | None = None) -> list[str]:
    os.makedirs(outdir, exist_ok=True)
    truth_dir = os.path.join(outdir, "truth")
    os.makedirs(truth_dir, exist_ok=True)
    model = make_detector_model(LAYOUTS[layout_key], xbin, ybin, roi, seed=seed)
    paths, truth = [], {}
    for spec in specs:
        name = spec.name + ".fits"
        if compress:
            name = compress(spec.name)
        path = os.path.join(outdir, name)
        truth[spec.name] = write_raw(path, model, spec, stars, seed=seed)
        truth[spec.name].update({"kind": spec.kind, "sky_e": spec.sky_e,
                                 "exptime": spec.exptime, "poffset": spec.poffset,
                                 "qoffset": spec.qoffset, "seeing": spec.seeing,
                                 "fringe_amplitude_e": spec.fringe_amplitude_e})
        paths.append(path)
    with open(os.path.join(truth_dir, "frames.json"), "w") as fh:
        json.dump({"layout": layout_key, "xbin": xbin, "ybin": ybin, "seed": seed,
                   "qe_twilight": model.qe_twilight, "qe_night": model.qe_night,
                   "frames": truth}, fh, indent=1)
    if stars is not None:
        stars.write(os.path.join(truth_dir, "stars.ecsv"), overwrite=True)
    np.savez_compressed(
        os.path.join(truth_dir, "detector.npz"),
        **{f"response_{i}": r for i, r in enumerate(model.response)},
        **{f"illumination_{i}": r for i, r in enumerate(model.illumination)},
        **{f"pattern_{i}": p for i, p in enumerate(model.pattern)},
        **{f"bad_{i}": b for i, b in enumerate(model.bad)},
        **{f"fringe_{i}": f for i, f in enumerate(model.fringe)},
        bias_offset=np.array(model.bias_offset), dead_rows=np.array(model.dead_rows),
    )
    return paths


def _night(layout_key: str, xbin: int, ybin: int, outdir: str, seed: int, *,
           prefix: str, bias_dates: list[tuple[str, int, int]],
           flat_date: tuple[str, int, int], sci_date: tuple[str, int, int],
           filter2: str, n_sci: int, sci_exptime: float, flat_exptimes: list[float],
           roi: Section | None = None, fringe_e: float | list[float] = 0.0,
           dithers: list[tuple[float, float]] | None = None,
           cosmic_rays: int = 40, n_stars: int = 300) -> list[str]:
    specs: list[FrameSpec] = []
    for day, first, count in bias_dates:
        d = dt.datetime.fromisoformat(day) + dt.timedelta(hours=19)
        for k in range(count):
            specs.append(FrameSpec("bias", f"{prefix}{d:%Y%m%d}S{first + k:04d}",
                                   d + dt.timedelta(minutes=2 * k), 0.0,
                                   datalab=f"{prefix[:1]}CAL-{first + k}"))
    day, first, _ = flat_date
    d = dt.datetime.fromisoformat(day) + dt.timedelta(hours=5, minutes=30)
    for k, t in enumerate(flat_exptimes):
        specs.append(FrameSpec("flat", f"{prefix}{d:%Y%m%d}S{first + k:04d}",
                               d + dt.timedelta(minutes=3 * k), t, filter2=filter2,
                               object="Twilight", sky_e=30000.0 * (0.85 ** k)))
    day, first, _ = sci_date
    d = dt.datetime.fromisoformat(day) + dt.timedelta(hours=9)
    dithers = dithers or [(0, 0), (10, 5), (-10, 5), (5, -10), (-5, -10), (12, -6)]
    stars = star_field(layout_key, xbin, ybin, 285.00429583, 24.98093611, n_stars, seed)
    program = f"G{prefix[:1]}-2017A-Q-1"
    amplitudes = fringe_e if isinstance(fringe_e, list) else [fringe_e] * n_sci
    for k in range(n_sci):
        p, q = dithers[k % len(dithers)]
        specs.append(FrameSpec("science", f"{prefix}{d:%Y%m%d}S{first + k:04d}",
                               d + dt.timedelta(minutes=1 * k), sci_exptime, filter2=filter2,
                               object="starfield", sky_e=800.0, poffset=p, qoffset=q,
                               cosmic_rays=cosmic_rays,
                               fringe_amplitude_e=amplitudes[k],
                               program=program, obsid=f"{program}-5",
                               datalab=f"{program}-5-{k + 1:03d}"))
    return _write_set(outdir, layout_key, xbin, ybin, specs, roi=roi, seed=seed, stars=stars)


def preset_tutorial(outdir: str, seed: int = 1) -> list[str]:
    """The DRAGONS GMOS imaging tutorial's file set: GN Hamamatsu 2x2 full frame, i band."""
    return _night("GN-Ham", 2, 2, outdir, seed, prefix="N",
                  bias_dates=[("2017-06-13", 180, 5), ("2017-06-15", 534, 5)],
                  flat_date=("2017-07-02", 178, 5), sci_date=("2017-06-14", 201, 5),
                  filter2="i_G0302", n_sci=5, sci_exptime=10.0,
                  flat_exptimes=[40.0, 34.0, 28.0, 22.0, 16.0])


def preset_small(outdir: str, seed: int = 1) -> list[str]:
    """A fast GN Hamamatsu 4x4 set for tests: 5 biases, 3 twilights, 3 science frames."""
    return _night("GN-Ham", 4, 4, outdir, seed, prefix="N",
                  bias_dates=[("2017-06-13", 180, 5)], flat_date=("2017-07-02", 178, 3),
                  sci_date=("2017-06-14", 201, 3), filter2="i_G0302", n_sci=3,
                  sci_exptime=10.0, flat_exptimes=[40.0, 30.0, 20.0], cosmic_rays=15,
                  n_stars=200)


#: Fringe amplitudes (electrons per unbinned pixel) of the fringe presets' science frames:
#: they differ from frame to frame, as the night-sky lines that make fringes vary.
FRINGE_AMPLITUDES_E = [30.0, 35.0, 40.0, 45.0, 50.0, 40.0]


def preset_fringe(outdir: str, seed: int = 1) -> list[str]:
    """GN Hamamatsu 2x2, z' band with fringes, 6 dithered science frames."""
    return _night("GN-Ham", 2, 2, outdir, seed, prefix="N",
                  bias_dates=[("2018-03-01", 10, 5)], flat_date=("2018-03-02", 50, 5),
                  sci_date=("2018-03-01", 100, 6), filter2="z_G0304", n_sci=6,
                  sci_exptime=60.0, flat_exptimes=[20.0] * 5,
                  fringe_e=list(FRINGE_AMPLITUDES_E))


def preset_fringe_small(outdir: str, seed: int = 1) -> list[str]:
    """A fast GN Hamamatsu 4x4 z' set with fringes for tests: 5 biases, 3 twilights, 6
    dithered science frames, fringes twice as strong as in the 2x2 preset (same relative
    precision with 4x fewer pixels per control-pair box)."""
    return _night("GN-Ham", 4, 4, outdir, seed, prefix="N",
                  bias_dates=[("2018-03-01", 10, 5)], flat_date=("2018-03-02", 50, 3),
                  sci_date=("2018-03-01", 100, 6), filter2="z_G0304", n_sci=6,
                  sci_exptime=60.0, flat_exptimes=[20.0] * 3,
                  fringe_e=[2 * a for a in FRINGE_AMPLITUDES_E], cosmic_rays=15,
                  n_stars=200)


def preset_gmos_s(outdir: str, seed: int = 1) -> list[str]:
    """GMOS-S Hamamatsu (2023 CCDs) 2x2, r band."""
    return _night("GS-Ham2023", 2, 2, outdir, seed, prefix="S",
                  bias_dates=[("2024-02-01", 10, 5)], flat_date=("2024-02-02", 40, 5),
                  sci_date=("2024-02-02", 88, 4), filter2="r_G0326", n_sci=4,
                  sci_exptime=30.0, flat_exptimes=[20.0] * 5)


def preset_eev(outdir: str, seed: int = 1) -> list[str]:
    """GMOS-N EEV 3-amp 2x2, i band (fringing on EEV)."""
    return _night("GN-EEV", 2, 2, outdir, seed, prefix="N",
                  bias_dates=[("2008-05-01", 10, 5)], flat_date=("2008-05-02", 40, 5),
                  sci_date=("2008-05-02", 88, 4), filter2="i_G0302", n_sci=4,
                  sci_exptime=60.0, flat_exptimes=[20.0] * 5, fringe_e=30.0)


def preset_e2v(outdir: str, seed: int = 1) -> list[str]:
    """GMOS-N e2v DD 6-amp 2x2, g band."""
    return _night("GN-e2vDD", 2, 2, outdir, seed, prefix="N",
                  bias_dates=[("2014-05-01", 10, 5)], flat_date=("2014-05-02", 40, 5),
                  sci_date=("2014-05-02", 88, 4), filter2="g_G0301", n_sci=4,
                  sci_exptime=60.0, flat_exptimes=[20.0] * 5)


def preset_roi(outdir: str, seed: int = 1) -> list[str]:
    """GN Hamamatsu 2x2 Central Stamp ROI, r band."""
    y1, y2, x1, x2 = ROI_SETTINGS["Hamamatsu-N"]["Central Stamp"]
    return _night("GN-Ham", 2, 2, outdir, seed, prefix="N",
                  bias_dates=[("2019-05-01", 10, 5)], flat_date=("2019-05-02", 40, 3),
                  sci_date=("2019-05-02", 88, 3), filter2="r_G0303", n_sci=3,
                  sci_exptime=30.0, flat_exptimes=[20.0] * 3, roi=Section(x1, x2, y1, y2),
                  n_stars=2000, cosmic_rays=2)


PRESETS: dict[str, Callable[..., list[str]]] = {
    "tutorial": preset_tutorial,
    "small": preset_small,
    "fringe": preset_fringe,
    "fringe-small": preset_fringe_small,
    "gmos-s": preset_gmos_s,
    "eev": preset_eev,
    "e2v": preset_e2v,
    "roi": preset_roi,
}


def simulate_preset(name: str, outdir: str, seed: int = 1) -> list[str]:
    """Write the named preset's raw files (and truth/) into outdir; return the file paths."""
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; choose from {', '.join(PRESETS)}")
    return PRESETS[name](outdir, seed=seed)
