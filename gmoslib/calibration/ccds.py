"""The CCDs of a frame: its extensions grouped by CCD, one CCD's amplifiers tiled side by
side, and the central CCD's statistics region (flat scaling and normalisation).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from gmoslib.instrument.sections import Section, parse_section
from gmoslib.io import dq as dqbits
from gmoslib.io.fitsio import Header
from gmoslib.io.frame import Extension, Frame


def ccd_groups(headers: Sequence[Header]) -> list[list[int]]:
    """Extension indices grouped by CCD (left to right on the detector), each group sorted
    by amplifier position (CCDSEC x)."""
    by_ccd: dict[str, list[int]] = {}
    for i, h in enumerate(headers):
        by_ccd.setdefault(h.get("CCDNAME", ""), []).append(i)
    groups = sorted(by_ccd.values(),
                    key=lambda idx: min(parse_section(headers[i]["DETSEC"]).x1 for i in idx))
    return [sorted(g, key=lambda i: parse_section(headers[i]["CCDSEC"]).x1) for g in groups]


def ccd_index_of_extensions(frame: Frame) -> list[int]:
    """CCD index (0, 1, 2 from left to right) of every extension, in file order."""
    index = [0] * len(frame.exts)
    for k, group in enumerate(ccd_groups([e.header for e in frame.exts])):
        for i in group:
            index[i] = k
    return index


def tile_ccd(exts: Sequence[Extension], indices: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    """Place the trimmed amplifiers of one CCD side by side by CCDSEC: (sci, dq) of the
    covered area; uncovered pixels get DQ NO_DATA."""
    secs = []
    for i in indices:
        h = exts[i].header
        xbin, ybin = (int(v) for v in str(h["CCDSUM"]).split())
        c = parse_section(h["CCDSEC"])
        secs.append(Section(c.x1 // xbin, c.x1 // xbin + exts[i].sci.shape[1],
                            c.y1 // ybin, c.y1 // ybin + exts[i].sci.shape[0]))
    x0 = min(s.x1 for s in secs)
    y0 = min(s.y1 for s in secs)
    shape = (max(s.y2 for s in secs) - y0, max(s.x2 for s in secs) - x0)
    sci = np.zeros(shape, np.float32)
    dq = np.full(shape, dqbits.NO_DATA, np.uint16)
    for i, s in zip(indices, secs, strict=True):
        sl = (slice(s.y1 - y0, s.y2 - y0), slice(s.x1 - x0, s.x2 - x0))
        sci[sl] = exts[i].sci
        dq[sl] = exts[i].dq if exts[i].dq is not None else 0
    return sci, dq


def ccd2_stat_region(shape: tuple[int, int], *, min_border: int = 20,
                     fraction: float = 0.05) -> tuple[slice, slice]:
    """Slices of a (ny, nx) CCD image without a border of max(5% of the size, 20 px)."""
    ny, nx = shape
    by = max(int(fraction * ny), min_border)
    bx = max(int(fraction * nx), min_border)
    if 2 * by >= ny or 2 * bx >= nx:
        by, bx = min(by, ny // 4), min(bx, nx // 4)
    return slice(by, ny - by), slice(bx, nx - bx)


def ccd2_statistics_region(frame: Frame) -> tuple[np.ndarray, np.ndarray]:
    """(sci, dq) of the central CCD (the whole frame if it has a single CCD) without the
    border used for flat scaling and normalisation (reference 5.8)."""
    groups = ccd_groups([e.header for e in frame.exts])
    sci, dq = tile_ccd(frame.exts, groups[len(groups) // 2])
    region = ccd2_stat_region(sci.shape)
    return sci[region], dq[region]
