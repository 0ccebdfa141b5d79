"""QA numbers: sky statistics against known noise, the per-frame and per-stack tables."""

from __future__ import annotations

import math

import numpy as np
import pytest

from gmoslib.io import dq as dqbits
from gmoslib.qa.tables import (
    FRAME_COLUMNS,
    STACK_COLUMNS,
    count_masked,
    frame_qa_record,
    frame_table,
    image_qa,
    sky_statistics,
    stack_row,
)


def _sky(seed=1, sky=500.0, sigma=12.0, shape=(400, 300)):
    rng = np.random.default_rng(seed)
    image = rng.normal(sky, sigma, shape)
    dq = np.zeros(shape, np.uint16)
    # stars and cosmic rays (unmasked) and a masked gap holding garbage
    image[rng.integers(0, shape[0], 300), rng.integers(0, shape[1], 300)] += 5000.0
    image[:, 100:110] = -1e4
    dq[:, 100:110] = dqbits.NO_DATA
    dq[5, 5] = dqbits.NON_LINEAR  # not a masked bit: stays in the statistics
    return image, dq


def test_sky_statistics_recovers_level_and_noise():
    image, dq = _sky()
    bg, noise = sky_statistics(image, dq, stride=1)
    assert bg == pytest.approx(500.0, abs=0.3)
    assert noise == pytest.approx(12.0, rel=0.03)
    # a large unilluminated region (vignetted, ~100 e-) is left out only through the DQ
    image[:, 150:] -= 400.0
    dq[:, 150:] |= dqbits.UNILLUMINATED
    assert sky_statistics(image, dq, stride=1)[0] == pytest.approx(500.0, abs=0.5)
    assert sky_statistics(image, None, stride=1)[0] < 400.0


def test_sky_statistics_all_masked_is_nan():
    image, dq = _sky()
    dq[:] = dqbits.BAD_PIXEL
    assert all(math.isnan(v) for v in sky_statistics(image, dq))


def test_image_qa_and_count_masked():
    image, dq = _sky()
    assert count_masked(dq) == 400 * 10
    assert count_masked(None) == 0
    qa = image_qa(image, dq, 42, None)
    assert qa["n_sources"] == 42 and qa["n_masked"] == 4000
    assert math.isnan(qa["seeing_fwhm"])
    assert image_qa(image, dq, 1, 0.75)["seeing_fwhm"] == 0.75


def test_frame_qa_record_holds_the_image_numbers_of_image_qa():
    """What a science job records in its catalogue is what the stack's QA would measure."""
    image, dq = _sky()
    record = frame_qa_record(image, dq)
    qa = image_qa(image, dq, 0, None)
    assert record == {k: qa[k] for k in ("background", "noise", "n_masked")}
    assert abs(record["background"] - 500.0) < 0.5 and abs(record["noise"] - 12.0) < 0.3


def _frames():
    base = {"background": 10.0, "noise": 1.0, "seeing_fwhm": 0.8, "n_sources": 5,
            "n_masked": 7, "exptime": 30.0}
    return [dict(base, frame=f"F{k}") for k in range(3)]


def _records():
    return [
        {"frame": "F0_mosaic.fits", "method": "reference", "dx": 0.0, "dy": 0.0,
         "n_matched": 5, "rms": 0.0, "n_cosmic": 3, "scale": 1.0, "offset": 0.0},
        {"frame": "F1_mosaic.fits", "method": "sources", "dx": 3.0, "dy": 4.0,
         "n_matched": 4, "rms": 0.05, "n_cosmic": 1, "scale": 0.5, "offset": -2.0},
        {"frame": "F2_mosaic.fits", "method": "offsets", "dx": -6.0, "dy": 8.0,
         "n_matched": 0, "rms": float("nan"), "n_cosmic": float("nan"), "scale": 2.0,
         "offset": 1.5, "reason": "too few sources"},
    ]


def test_frame_table_joins_image_numbers_and_stacking_records():
    rows = frame_table(_frames(), _records())
    assert [list(r) for r in rows] == [list(FRAME_COLUMNS)] * 3
    assert rows[1]["dx"] == 3.0 and rows[1]["scale"] == 0.5 and rows[1]["offset"] == -2.0
    assert rows[1]["align_method"] == "sources" and rows[1]["n_matched"] == 4
    assert rows[2]["n_cosmic"] == 0 and math.isnan(rows[2]["align_rms"])
    with pytest.raises(ValueError, match="3 frames but 2"):
        frame_table(_frames(), _records()[:2])


def test_stack_row_summaries():
    rows = frame_table(_frames(), _records())
    measured = {"background": 10.0, "noise": 0.6, "seeing_fwhm": 0.82, "n_sources": 9,
                "n_masked": 11}
    row = stack_row("F0_stack", measured, rows, n_rejected=17, n_pixels_rejected=12,
                    exptime=30.0)
    assert list(row) == list(STACK_COLUMNS)
    assert row["n_frames"] == 3 and row["n_rejected"] == 17 and row["n_pixels_rejected"] == 12
    assert row["max_shift"] == pytest.approx(10.0)  # hypot(-6, 8)
    assert row["max_align_rms"] == pytest.approx(0.05)
    assert row["n_fallback"] == 1
