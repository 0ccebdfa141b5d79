"""Raw GMOS data simulator with known truth: an independent witness for the pipeline.

Every instrument fact (gains, read noise, bias levels, full wells, amplifier layouts, mosaic
geometry, pixel scales, ROIs, fringe control pairs, field stop) comes from the simulator's own
tables (cameras, amp_tables, focal_plane, field, fringe_pairs), transcribed from the
reference and real headers; nothing is imported from the rest of gmoslib
(tests/test_sim_tables.py compares the two entry by entry).

Public API
----------
simulate_preset(name, outdir, seed=1) -> list of paths
    Presets (see presets.py): tutorial (GN Hamamatsu 2x2, the DRAGONS tutorial's file names),
    small (GN Hamamatsu 4x4, fast, for tests), fringe, fringe-small (z'), gmos-s, eev, e2v,
    roi (Central Stamp), roi-small (Central Spectrum 4x4), and one r-band night per camera
    and binning: gn-ham, gs-ham, gs-ham-orig, gn-e2v, gn-eev, gs-eev x 1x1, 2x2, 4x4
    (e.g. "gs-eev-4x4").  Every preset has the field stop and vignetting of the real camera.
    Truth goes to ``outdir/truth/`` (documented in truth.py): frames.json, stars.ecsv and
    detector.npz (per amplifier: pixel response, illumination, unilluminated mask, bias
    pattern, bad pixels, fringe pattern).
make_detector_model(camera, xbin, ybin, roi=None, seed=1), FrameSpec(...), write_raw(path,
model, spec, stars=None, seed=1) -> truth: one file at a time.  camera: a key of CAMERAS.
"""

from .cameras import CAMERAS
from .core import DetectorModel, FrameSpec, make_detector_model, write_raw
from .presets import PRESETS, simulate_preset, star_field

__all__ = ["CAMERAS", "DetectorModel", "FrameSpec", "PRESETS", "make_detector_model",
           "simulate_preset", "star_field", "write_raw"]
