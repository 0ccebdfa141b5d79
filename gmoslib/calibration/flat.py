"""The master twilight flat (the tutorial's makeProcessedFlat, reference 5.8, 5.9): scaling,
rejection choice, normalisation, and the recipe that chains them.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Sequence

import numpy as np

from gmoslib.calibration.badpix import flat_dq_checks
from gmoslib.calibration.ccds import ccd2_statistics_region
from gmoslib.calibration.correct import subtract_master, to_electrons
from gmoslib.calibration.raw_frame import load_prepared
from gmoslib.calibration.stack_prepared import combine_kwargs, stack_header, stack_prepared
from gmoslib.config.schema import step_values
from gmoslib.io.errors import RecipeError
from gmoslib.io.fitsio import read_frame
from gmoslib.io.frame import Frame

#: Histogram bins at most: DRAGONS' int(max/0.1) bins give ~200000 bins of a few counts for
#: flats of ~20000 e-, whose fullest bin is Poisson noise.  The mode only centres the +-3
#: sigma window whose median is the result, so the cap moves it by less than the noise.
MAX_HISTOGRAM_BINS = 20000


def flat_scale_factors(regions: Sequence[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    """Factors bringing each flat to the level of the first: mean(ref)/mean(flat) over the
    pixels good (DQ == 0, finite) in both.  regions: (sci, dq) of the statistics region."""
    ref_sci, ref_dq = regions[0]
    factors = [1.0]
    for sci, dq in regions[1:]:
        good = (ref_dq == 0) & (dq == 0) & np.isfinite(ref_sci) & np.isfinite(sci)
        if not good.any():
            raise ValueError("no pixel is good in both flats' statistics regions")
        f = float(np.mean(ref_sci[good], dtype=np.float64)
                  / np.mean(sci[good], dtype=np.float64))
        if not np.isfinite(f) or f <= 0:
            raise ValueError(f"flat {len(factors) + 1}: scale factor {f} is not positive")
        factors.append(f)
    return np.asarray(factors)


def flat_rejection_for_count(n: int) -> tuple[str, int, int]:
    """(reject, nlow, nhigh) used to stack n twilight flats."""
    if n <= 2:
        return "none", 0, 0
    if n <= 5:
        return "minmax", 1, 1
    if n <= 10:
        return "minmax", 2, 2
    return "minmax", 2, 3


def flat_normalisation(sci: np.ndarray, dq: np.ndarray) -> float:
    """Normalisation level (electrons) of a stacked flat (reference 5.9).

    sci, dq : (ny, nx) float32 electrons, uint16, of the statistics region
    (:func:`gmoslib.calibration.ccds.ccd2_stat_region`).  Of the DQ == 0, finite, > 0 pixels:
    mode = left edge of the fullest of int(max/0.1) bins (at most MAX_HISTOGRAM_BINS), the
    median of those within mode +- 3 std.  Raises ValueError when no pixel is good.
    """
    good = (dq == 0) & np.isfinite(sci) & (sci > 0)
    values = np.asarray(sci[good], np.float64)
    if values.size == 0:
        raise ValueError("no good pixel to normalise the flat")
    top = float(values.max())
    nbins = int(min(max(top / 0.1, 1), MAX_HISTOGRAM_BINS))
    counts, edges = np.histogram(values, bins=nbins)  # range (min, max), as numpy's default
    mode = edges[int(np.argmax(counts))]
    sigma = float(values.std())
    window = values[(values >= mode - 3 * sigma) & (values <= mode + 3 * sigma)]
    return float(np.median(window if window.size else values))


def normalize_flat(scis, vars_, dqs, factor: float):
    """New lists: every extension / factor (VAR / factor^2), dimensionless; SCI = 1 where
    DQ > 0.  scis, vars_, dqs : per extension (ny, nx) float32 electrons, float32 or None,
    uint16 or None; factor : normalisation level (electrons, > 0)."""
    if not np.isfinite(factor) or factor <= 0:
        raise ValueError(f"flat normalisation factor {factor} is not positive")
    out_sci, out_var, out_dq = [], [], []
    for s, v, d in zip(scis, vars_, dqs, strict=True):
        s2 = (np.asarray(s, np.float64) / factor).astype(np.float32)
        if d is not None:
            s2[np.asarray(d) > 0] = 1.0
        out_sci.append(s2)
        out_var.append(None if v is None
                       else (np.asarray(v, np.float64) / factor**2).astype(np.float32))
        out_dq.append(None if d is None else np.array(d, np.uint16))
    return out_sci, out_var, out_dq


def make_master_flat(
    paths: Sequence[str],
    bias_path: str,
    *,
    overscan: dict,
    stack: dict,
    memory_bytes: int,
    scratch_dir: str,
    bpm: Frame | None = None,
    threads: int = 1,
) -> Frame:
    """Master twilight flat: prepare, subtract the bias, electrons with Poisson VAR, scale
    each flat to the first on the central CCD, stack (minmax rejection by number of flats
    unless given), :func:`~gmoslib.calibration.badpix.flat_dq_checks`, normalise
    (:func:`flat_normalisation`); SCI = 1 where DQ is set.
    """
    paths = list(paths)
    if not paths:
        raise RecipeError("a master flat needs at least one twilight frame")
    bias = read_frame(bias_path)
    stack = step_values("stackFlats", stack)
    combine = combine_kwargs(stack)
    if stack["reject_method"] == "auto":
        reject, nlow, nhigh = flat_rejection_for_count(len(paths))
        combine["reject"] = reject
        combine["nlow"] = nlow if stack["nlow"] is None else stack["nlow"]
        combine["nhigh"] = nhigh if stack["nhigh"] is None else stack["nhigh"]
    regions: list[tuple[np.ndarray, np.ndarray]] = []

    def frame(k):
        f = load_prepared(paths[k], overscan=overscan, bpm=bpm)
        return to_electrons(subtract_master(f, bias, "master bias"))

    @functools.cache  # (once for the stack, again for the header)
    def factors():
        return np.asarray(flat_scale_factors(regions), dtype=np.float64)

    out = stack_prepared(frame, len(paths), combine=combine, memory_bytes=memory_bytes,
                         scratch_dir=scratch_dir, threads=threads, scale=factors,
                         on_frame=lambda k, f: regions.append(ccd2_statistics_region(f)))
    norm = float(flat_normalisation(*ccd2_statistics_region(out)))
    if not np.isfinite(norm) or norm <= 0:
        raise RecipeError(f"flat from {paths[0]}: normalisation level {norm} is not positive")
    scis, variances = [e.sci for e in out.exts], [e.var for e in out.exts]
    dqs, counts = flat_dq_checks(
        scis, variances, [e.dq for e in out.exts],
        [str(e.header.get("AMPNAME", k + 1)) for k, e in enumerate(out.exts)], norm,
        os.path.basename(paths[0]), threads)
    for e, *planes in zip(out.exts, *normalize_flat(scis, variances, dqs, norm), strict=True):
        e.sci, e.var, e.dq = planes
        e.header["BUNIT"] = ""
    phu = out.phu
    phu["BIASIM"] = (os.path.basename(bias_path), "Master bias used")
    phu["FLATNORM"] = (norm, "Normalisation level (electrons)")
    for key, comment in (("ILLUMLOW", "Pixels dark in the flat, flagged unilluminated"),
                         ("ILLUMHI", "Masked unilluminated, bright in the flat"),
                         ("FLATBAD", "Bad pixels found in the flat (DQ 1)")):
        phu[key] = (counts[key], comment)
    for k, f in enumerate(factors(), start=1):
        phu[f"RELINT{k:02d}"] = (float(f), f"Scale factor of input {k}")
    phu["PROCFLAT"] = ("gmos-snake", "Processed flat")
    stack_header(phu, paths, "makeProcessedFlat",
                 {"overscanCorrect": overscan, "stackFlats": combine}, [*paths, bias_path])
    return out
