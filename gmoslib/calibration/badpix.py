"""Bad pixels found in a master flat (BAD_PIXEL, DQ bit 1): dead, weak or hot pixels,
columns and rows.

A pixel is bad when its response departs significantly (against the flat's VAR) from both
the median of the ``WINDOW // 2`` pixels on its left and of those on its right (for rows:
below, above); a pixel on a smooth slope (vignetting, the field's edge) lies between the
two.  Pixels with no valid neighbour on one side are not judged.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor

import bottleneck as bn
import numpy as np

from gmoslib.instrument.illum import LOW_RESPONSE, check_flat_illumination, log_flat_check
from gmoslib.io import dq as dqbits

log = logging.getLogger(__name__)

#: Width (binned pixels) of the neighbourhood: WINDOW // 2 pixels on each side.
WINDOW = 11
#: Relative departure from both sides above which a pixel is bad (10 %).
THRESHOLD = 0.1
#: ... and the departure must exceed this many standard deviations of the flat's VAR.
NSIGMA = 5.0
#: Pixels flagged with these bits are left out of the neighbourhood and not judged.
SKIP_BITS = dqbits.UNILLUMINATED | dqbits.NO_DATA


def side_medians(values: np.ndarray, half: int, axis: int) -> tuple[np.ndarray, np.ndarray]:
    """(before, after) float32 (ny, nx): the median of the ``half`` pixels before and after
    each pixel along ``axis`` (mirrored at the edges; NaNs ignored, NaN if a side has none)."""
    a = np.asarray(values, np.float32)
    n = a.shape[axis]
    h = max(1, min(int(half), n - 1))
    pad = [(0, 0), (0, 0)]
    pad[axis] = (h, h)
    m = bn.move_median(np.pad(a, pad, mode="reflect"), h, axis=axis, min_count=1)  # float32
    # m[j] = median of padded[j-h+1 .. j]; pixel i sits at padded index i + h
    return (np.take(m, np.arange(h - 1, h - 1 + n), axis=axis),
            np.take(m, np.arange(2 * h, 2 * h + n), axis=axis))


def flat_bad_pixels(response: np.ndarray, var: np.ndarray | None, dq: np.ndarray | None, *,
                    window: int = WINDOW, threshold: float = THRESHOLD,
                    nsigma: float = NSIGMA, min_level: float = LOW_RESPONSE) -> np.ndarray:
    """Bad pixels (bool (ny, nx)) of one amplifier of a master flat.

    response : (ny, nx) flat / normalisation level; var : its VAR or None (no significance
    test); dq : uint16 or None.  Unilluminated or no-data pixels, and those whose
    neighbourhood is below ``min_level`` (the illumination check's business), are never bad.
    """
    r = np.asarray(response, np.float32)
    skip = ~np.isfinite(r)
    if dq is not None:
        skip |= (np.asarray(dq) & SKIP_BITS) != 0
    if skip.all():  # (an amplifier off the field)
        return np.zeros(r.shape, bool)
    masked = np.where(skip, np.float32(np.nan), r)
    sigma = None if var is None else np.sqrt(np.maximum(np.asarray(var, np.float32), 0))
    bad = np.zeros(r.shape, bool)
    with np.errstate(invalid="ignore"):
        for axis in (1, 0):  # along rows (finds columns), along columns (finds rows)
            before, after = side_medians(masked, max(1, window // 2), axis)
            lo, hi = np.minimum(before, after), np.maximum(before, after)  # NaN: unjudged
            low = r < lo * (1 - threshold)
            high = r > hi * (1 + threshold)
            test = (low | high) & (lo > min_level)  # NaN sides compare False
            if sigma is not None:
                test &= np.where(low, lo - r, r - hi) > nsigma * sigma
            bad |= test
    bad &= ~skip
    return bad


def _amp_checks(sci: np.ndarray, var: np.ndarray | None, d: np.ndarray | None,
                inv: np.float32) -> tuple[np.ndarray, np.ndarray, int, int]:
    """:func:`flat_dq_checks` of one amplifier: (new uint16 DQ, newly bad bool, ILLUMLOW,
    ILLUMHI)."""
    response = np.multiply(sci, inv, dtype=np.float32)
    d = np.zeros(response.shape, np.uint16) if d is None else np.asarray(d, np.uint16)
    d, n_dark, n_lit = check_flat_illumination(response, d)
    rel_var = None if var is None else np.multiply(var, inv * inv, dtype=np.float32)
    bad = flat_bad_pixels(response, rel_var, d)
    new = bad & ((d & dqbits.BAD_PIXEL) == 0)
    d[bad] |= np.uint16(dqbits.BAD_PIXEL)
    return d, new, n_dark, n_lit


def flat_dq_checks(scis: list[np.ndarray], variances: list[np.ndarray | None],
                   dqs: list[np.ndarray | None], names: list[str], level: float,
                   flat_name: str = "", threads: int = 1
                   ) -> tuple[list[np.ndarray], dict[str, int]]:
    """Checks of a stacked, not yet normalised master flat, per amplifier (``threads`` at
    once: bottleneck and numpy release the GIL) and logged in order (``names``: AMPNAME):
    :func:`gmoslib.instrument.illum.check_flat_illumination` (dark -> UNILLUMINATED), then
    :func:`flat_bad_pixels` (-> BAD_PIXEL).

    scis, variances : per amplifier (ny, nx) electrons, electrons^2; dqs : uint16 or None;
    level : normalisation level (electrons).  Returns (new uint16 DQs, counts ``ILLUMLOW``
    (made unilluminated), ``ILLUMHI`` (masked but bright), ``FLATBAD`` (newly bad)))."""
    inv = np.float32(1.0 / level)
    args = (scis, variances, dqs, [inv] * len(scis))
    with ThreadPoolExecutor(max_workers=max(1, int(threads))) as pool:
        results = list(pool.map(_amp_checks, *args))
    out = []
    counts = {"ILLUMLOW": 0, "ILLUMHI": 0, "FLATBAD": 0}
    for (d, new, n_dark, n_lit), name in zip(results, names, strict=True):
        log_flat_check(name, n_dark, n_lit, new.size, flat_name)
        out.append(d)
        n = int(new.sum())
        for key, value in zip(counts, (n_dark, n_lit, n), strict=True):
            counts[key] += value
        if n:
            cols = np.flatnonzero(new.sum(axis=0) > new.shape[0] // 2)
            log.info("bad pixels from the flat: %s amplifier %s: %d pixels%s", flat_name
                     or "<flat>", name, n,
                     f" (columns {', '.join(str(c + 1) for c in cols[:10])}"
                     f"{' ...' if cols.size > 10 else ''} mostly bad)" if cols.size else "")
    return out, counts
