"""Named data sets written by ``gmos simulate --preset NAME OUTDIR``: tutorial, small, fringe,
fringe-small, gmos-s, eev, e2v, roi, roi-small; an r-band night ``<family>-<b>x<b>`` per family
of CAMERA_FAMILIES and b = 1, 2, 4 (4x4: small and fast, for tests); ``gn-ham-2x2-fast`` (read
fast).  Every preset models the field stop (``field.py``).
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from astropy.table import Table

from .cameras import NAMED_ROIS, Box, camera
from .core import FrameSpec
from .focal_plane import mosaic_grid
from .truth import write_set


def star_field(layout_key: str, xbin: int, ybin: int, ra: float, dec: float, n: int,
               seed: int) -> Table:
    """Random stars over the mosaic footprint (plus margin): ra, dec (deg), flux_e."""
    lay = camera(layout_key)
    rng = np.random.default_rng([seed, 11])
    _, _, nx, ny = mosaic_grid(lay, xbin, ybin)
    scale = lay.pixel_scale * ybin / 3600.0
    # a square sky patch covering the footprint whatever the position angle
    half = max(nx, ny) / 2 * scale * 1.05
    dra = rng.uniform(-half, half, n) / np.cos(np.radians(dec))
    ddec = rng.uniform(-half, half, n)
    flux = 10 ** rng.uniform(3.0, 6.3, n)  # electrons per exposure through the full pupil
    return Table({"id": np.arange(n), "ra": ra + dra, "dec": dec + ddec, "flux_e": flux})


def _night(layout_key: str, xbin: int, ybin: int, outdir: str, seed: int = 1, *,
           prefix: str, bias_dates: list[tuple[str, int, int]],
           flat_date: tuple[str, int, int], sci_date: tuple[str, int, int],
           filter2: str, n_sci: int, sci_exptime: float, flat_exptimes: list[float],
           roi: Box | None = None, fringe_e: float | list[float] = 0.0,
           dithers: list[tuple[float, float]] | None = None,
           cosmic_rays: int = 40, n_stars: int = 300, read_speed: str = "slow",
           noise_seed: int | None = None) -> list[str]:
    """Biases (evening, 19h UT), twilight flats (5:30 UT) and dithered science frames (9h UT)
    of one camera; file serial numbers from each date's ``first``."""
    specs: list[FrameSpec] = []
    for day, first, count in bias_dates:
        d = dt.datetime.fromisoformat(day) + dt.timedelta(hours=19)
        specs += [FrameSpec("bias", f"{prefix}{d:%Y%m%d}S{first + k:04d}",
                            d + dt.timedelta(minutes=2 * k), 0.0, read_speed=read_speed)
                  for k in range(count)]
    day, first, _ = flat_date
    d = dt.datetime.fromisoformat(day) + dt.timedelta(hours=5, minutes=30)
    for k, t in enumerate(flat_exptimes):
        specs.append(FrameSpec("flat", f"{prefix}{d:%Y%m%d}S{first + k:04d}",
                               d + dt.timedelta(minutes=3 * k), t, filter2=filter2,
                               object="Twilight", sky_e=30000.0 * (0.85 ** k),
                               read_speed=read_speed))
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
                               cosmic_rays=cosmic_rays, fringe_amplitude_e=amplitudes[k],
                               program=program, obsid=f"{program}-5",
                               datalab=f"{program}-5-{k + 1:03d}", read_speed=read_speed))
    seed = seed if noise_seed is None else noise_seed  # the stars stay those of ``seed``
    return write_set(outdir, layout_key, xbin, ybin, specs, roi=roi, seed=seed, stars=stars)


#: Fringe amplitudes (electrons per unbinned pixel) of the fringe presets' science frames:
#: they differ from frame to frame, as the night-sky lines that make fringes vary.
FRINGE_AMPLITUDES_E = [30.0, 35.0, 40.0, 45.0, 50.0, 40.0]


def preset_fringe(outdir: str, seed: int = 1, binning: int = 2) -> list[str]:
    """GN Hamamatsu z' band with fringes: 5 biases, 5 twilights, 6 dithered science frames at
    2x2; at 4x4 3 twilights, fewer stars and cosmic rays and fringes twice as strong (same
    precision with 4x fewer pixels per control-pair box)."""
    small = binning == 4
    n_flat = 3 if small else 5
    return _night("GN-Ham", binning, binning, outdir, seed, prefix="N",
                  bias_dates=[("2018-03-01", 10, 5)], flat_date=("2018-03-02", 50, n_flat),
                  sci_date=("2018-03-01", 100, 6), filter2="z_G0304", n_sci=6,
                  sci_exptime=60.0, flat_exptimes=[20.0] * n_flat,
                  fringe_e=[(2 if small else 1) * a for a in FRINGE_AMPLITUDES_E],
                  cosmic_rays=15 if small else 40, n_stars=200 if small else 300)


@dataclass(frozen=True)
class _Family:
    """A camera's r-band night: camera key, file prefix, UT day of the biases (science the
    next night, twilights the morning after), r filter."""

    camera: str
    prefix: str
    day: str
    filter2: str


#: One r-band night per camera; presets "<family>-<binning>" (binning 1x1, 2x2 or 4x4).
CAMERA_FAMILIES = {
    "gn-ham": _Family("GN-Ham", "N", "2019-05-01", "r_G0303"),
    "gs-ham": _Family("GS-Ham2023", "S", "2024-02-01", "r_G0326"),
    "gs-ham-orig": _Family("GS-Ham", "S", "2019-03-01", "r_G0326"),
    "gn-e2v": _Family("GN-e2vDD", "N", "2014-05-01", "r_G0303"),
    "gn-eev": _Family("GN-EEV", "N", "2008-05-01", "r_G0303"),
    "gs-eev": _Family("GS-EEV", "S", "2010-09-01", "r_G0326"),
}
#: binning -> (biases, twilights, science frames, stars, cosmic rays per frame)
#: (Enough stars that each CCD keeps ~8 isolated bright ones inside the field stop.)
_SIZES = {1: (3, 3, 3, 800, 60), 2: (5, 5, 4, 600, 40), 4: (5, 3, 3, 400, 15)}


def camera_night(family: str, binning: int, outdir: str, seed: int = 1,
                 read_speed: str = "slow", noise_seed: int | None = None, *,
                 sizes: tuple[int, int, int, int, int] | None = None, **night) -> list[str]:
    """An r-band night of one camera (CAMERA_FAMILIES) at binning x binning, read at
    ``read_speed``.  ``seed`` draws the stars, ``noise_seed`` (default ``seed``) the noise,
    detector and cosmic rays; ``sizes`` replaces the binning's _SIZES entry; ``night``
    overrides other arguments of _night (filter2, sci_exptime, roi, fringe_e)."""
    fam = CAMERA_FAMILIES[family]
    n_bias, n_flat, n_sci, n_stars, crs = sizes or _SIZES[binning]
    day = dt.date.fromisoformat(fam.day)
    nxt = (day + dt.timedelta(days=1)).isoformat()
    return _night(fam.camera, binning, binning, outdir, seed, **{
        "prefix": fam.prefix, "bias_dates": [(fam.day, 10, n_bias)],
        "flat_date": (nxt, 40, n_flat), "sci_date": (nxt, 88, n_sci), "filter2": fam.filter2,
        "n_sci": n_sci, "sci_exptime": 30.0, "flat_exptimes": [20.0] * n_flat,
        "n_stars": n_stars, "cosmic_rays": crs, "read_speed": read_speed,
        "noise_seed": noise_seed, **night})


PRESETS: dict[str, Callable[..., list[str]]] = {
    # the DRAGONS GMOS imaging tutorial's file set: GN Hamamatsu 2x2 full frame, i band
    "tutorial": functools.partial(
        _night, "GN-Ham", 2, 2, prefix="N",
        bias_dates=[("2017-06-13", 180, 5), ("2017-06-15", 534, 5)],
        flat_date=("2017-07-02", 178, 5), sci_date=("2017-06-14", 201, 5), filter2="i_G0302",
        n_sci=5, sci_exptime=10.0, flat_exptimes=[40.0, 34.0, 28.0, 22.0, 16.0]),
    # a fast GN Hamamatsu 4x4 set for tests: 5 biases, 3 twilights, 3 science frames
    "small": functools.partial(
        _night, "GN-Ham", 4, 4, prefix="N", bias_dates=[("2017-06-13", 180, 5)],
        flat_date=("2017-07-02", 178, 3), sci_date=("2017-06-14", 201, 3), filter2="i_G0302",
        n_sci=3, sci_exptime=10.0, flat_exptimes=[40.0, 30.0, 20.0], cosmic_rays=15,
        n_stars=200),
    "fringe": preset_fringe,
    "fringe-small": functools.partial(preset_fringe, binning=4),
    # GMOS-S Hamamatsu (2023 CCDs) 2x2, r band
    "gmos-s": functools.partial(camera_night, "gs-ham", 2),
    # GMOS-N EEV 3-amp 2x2, i band (fringing on EEV)
    "eev": functools.partial(camera_night, "gn-eev", 2, sizes=(5, 5, 4, 300, 40),
                             filter2="i_G0302", sci_exptime=60.0, fringe_e=30.0),
    # GMOS-N e2v DD 6-amp 2x2, g band
    "e2v": functools.partial(camera_night, "gn-e2v", 2, sizes=(5, 5, 4, 300, 40),
                             filter2="g_G0301", sci_exptime=60.0),
    # GN Hamamatsu 2x2 Central Stamp ROI, r band
    "roi": functools.partial(camera_night, "gn-ham", 2, sizes=(5, 3, 3, 2000, 2),
                             roi=NAMED_ROIS["Hamamatsu-N"]["Central Stamp"]),
    # GN Hamamatsu 4x4 Central Spectrum ROI (full width, 1024 unbinned rows): the ROI crosses
    # the field stop, so its outer amplifiers are unilluminated
    "roi-small": functools.partial(camera_night, "gn-ham", 4, sizes=(5, 3, 3, 300, 5),
                                   roi=NAMED_ROIS["Hamamatsu"]["Central Spectrum"]),
    **{f"{family}-{b}x{b}": functools.partial(camera_night, family, b)
       for family in CAMERA_FAMILIES for b in (1, 2, 4)},
    "gn-ham-2x2-fast": functools.partial(camera_night, "gn-ham", 2, read_speed="fast"),
}


def simulate_preset(name: str, outdir: str, seed: int = 1) -> list[str]:
    """Write the named preset's raw files (and truth/) into outdir; return the file paths."""
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; choose from {', '.join(PRESETS)}")
    return PRESETS[name](outdir, seed=seed)
