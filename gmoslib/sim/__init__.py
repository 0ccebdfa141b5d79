"""Raw GMOS data simulator with known truth: an independent witness for the pipeline.

Every instrument fact comes from the simulator's own tables (cameras, amp_tables,
focal_plane, field, fringe_pairs), transcribed from the reference and real headers; nothing is
imported from the rest of gmoslib (tests/test_sim_tables.py compares the two entry by entry).

Public API
----------
simulate_preset(name, outdir, seed=1) -> list of paths
    The data sets of presets.py (e.g. "small"); truth in ``outdir/truth/`` (truth.py).
make_detector_model(camera, xbin, ybin, roi=None, seed=1), FrameSpec(...), write_raw(path,
model, spec, stars=None, seed=1) -> truth: one file at a time.  camera: a key of CAMERAS.
"""

from .cameras import CAMERAS
from .core import DetectorModel, FrameSpec, make_detector_model, write_raw
from .presets import PRESETS, simulate_preset, star_field

__all__ = ["CAMERAS", "DetectorModel", "FrameSpec", "PRESETS", "make_detector_model",
           "simulate_preset", "star_field", "write_raw"]
