"""Report pictures stay small: a preview of an unbinned-width, noise-dominated image at the
workflow's preview width is at most 300 kB, so a 100-frame report stays browsable."""

from __future__ import annotations

import re

import numpy as np

from gmoslib.qa.preview import MAX_WIDTH, write_preview
from tests.workflow_helpers import REPO


def _workflow_width() -> int:
    text = (REPO / "rules" / "common.smk").read_text()
    return int(re.search(r"^PREVIEW_MAX_WIDTH = (\d+)", text, re.M).group(1))


def test_preview_of_a_full_frame_is_under_300_kB(tmp_path):
    rng = np.random.default_rng(3)
    # a GMOS-N Hamamatsu mosaic at 2x2 (3100 x 2300 pixels): sky, noise, stars, a masked gap
    image = rng.normal(800.0, 28.0, (2300, 3100)).astype(np.float32)
    ys, xs = rng.integers(0, 2300, 300), rng.integers(0, 3100, 300)
    image[ys, xs] += rng.uniform(1e3, 1e5, 300).astype(np.float32)
    mask = np.zeros(image.shape, bool)
    mask[:, 1020:1060] = True
    assert _workflow_width() == MAX_WIDTH
    path = tmp_path / "frame.png"
    write_preview(str(path), image, mask, title="N20170614S0201: calibrated mosaic",
                  unit="electron", max_width=_workflow_width())
    assert path.stat().st_size <= 300_000, path.stat().st_size
