"""Raw GMOS data simulator with known truth.

Public API
----------
simulate_preset(name, outdir, seed=1) -> list of paths
    Presets: tutorial (GN Hamamatsu 2x2, the DRAGONS tutorial's file names), small (GN
    Hamamatsu 4x4, fast, for tests), fringe (z'), gmos-s, eev, e2v, roi (Central Stamp).
    Truth goes to ``outdir/truth/``: frames.json (per frame and amplifier: gain, read noise,
    overscan level, bias offset, dead rows, cosmic rays), stars.ecsv (ra, dec, flux_e) and
    detector.npz (pixel response, illumination, bias pattern, bad pixels, fringe pattern per
    amplifier data section).
make_detector_model(layout, xbin, ybin, roi=None, seed=1), FrameSpec(...), write_raw(path,
model, spec, stars=None, seed=1) -> truth: one file at a time.
"""

from .core import DetectorModel, FrameSpec, make_detector_model, write_raw
from .presets import PRESETS, simulate_preset, star_field

__all__ = ["DetectorModel", "FrameSpec", "PRESETS", "make_detector_model", "simulate_preset",
           "star_field", "write_raw"]
