"""QA tables: per calibrated mosaic (electrons), sky background and noise, seeing, sources,
masked pixels and what stacking recorded (alignment, scale, offset, cosmic rays); per stack,
the same measured on it, the clipping's rejections and alignment summaries.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Sequence

import numpy as np
from astropy.stats import mad_std, sigma_clip

from gmoslib.io import dq as dqbits

#: DQ bits that keep a pixel out of the sky statistics and count as "masked".
MASKED_BITS = dqbits.FAIL | dqbits.UNILLUMINATED

#: Columns of the per-frame table, in order.
FRAME_COLUMNS = ("frame", "exptime", "background", "noise", "seeing_fwhm", "n_sources",
                 "n_masked", "qe_factor1", "qe_factor3", "align_method", "dx", "dy",
                 "n_matched", "align_rms", "scale", "offset", "n_cosmic", "align_note")
#: Columns of the per-stack table, in order.
STACK_COLUMNS = ("stack", "n_frames", "exptime", "background", "noise", "seeing_fwhm",
                 "n_sources", "n_masked", "n_rejected", "n_pixels_rejected",
                 "max_shift", "max_align_rms", "n_fallback", "n_set_aside")


def sky_statistics(sci: np.ndarray, dq: np.ndarray | None = None, *, stride: int = 2,
                   nsigma: float = 3.0, iterations: int = 5,
                   max_samples: int = 250_000) -> tuple[float, float]:
    """(background, noise) in sci's unit: median and 1.4826 x MAD of the pixels without
    :data:`MASKED_BITS`, clipped at ``nsigma``, on every ``stride``-th row and column (larger
    to keep ~``max_samples`` pixels: noise to ~0.2 %).  (NaN, NaN) without a pixel."""
    sci = np.asarray(sci)
    stride = max(int(stride), int(np.ceil(np.sqrt(sci.size / max_samples))))
    s = sci[::stride, ::stride].astype(np.float64)
    good = np.isfinite(s)
    if dq is not None:
        good &= (np.asarray(dq)[::stride, ::stride] & MASKED_BITS) == 0
    values = s[good]
    if values.size == 0:
        return float("nan"), float("nan")
    values = sigma_clip(values, sigma=nsigma, maxiters=iterations, stdfunc="mad_std",
                        masked=False)
    return float(np.median(values)), float(mad_std(values))


def count_masked(dq: np.ndarray | None) -> int:
    """Number of pixels with any of :data:`MASKED_BITS` set (0 without a DQ plane)."""
    if dq is None:
        return 0
    return int(np.count_nonzero(np.asarray(dq) & MASKED_BITS))


def image_qa(sci: np.ndarray, dq: np.ndarray | None, n_sources: int | None,
             seeing_fwhm: float | None) -> dict:
    """:func:`frame_qa_record` (sci in electrons) plus seeing FWHM (arcsec) and number of
    sources, NaN when unknown."""
    return {**frame_qa_record(sci, dq),
            "seeing_fwhm": float("nan") if seeing_fwhm is None else float(seeing_fwhm),
            "n_sources": float("nan") if n_sources is None else int(n_sources)}


#: Image numbers of a frame that :func:`frame_qa_record` stores in its catalogue's metadata.
IMAGE_QA_KEYS = ("background", "noise", "n_masked")


def frame_qa_record(sci: np.ndarray, dq: np.ndarray | None) -> dict:
    """Background and noise (electrons, :func:`sky_statistics`) and masked pixels of a
    calibrated mosaic, kept in its catalogue's metadata for its stack's QA table."""
    background, noise = sky_statistics(sci, dq)
    return {"background": background, "noise": noise, "n_masked": count_masked(dq)}


def frame_table(frames: Sequence[dict], stack_records: Sequence[dict]) -> list[dict]:
    """Per-frame rows (:data:`FRAME_COLUMNS`): ``frames[k]`` (:func:`image_qa` plus ``frame``,
    ``exptime``, QE factors ``qe_factor1``/``qe_factor3`` of CCD1/CCD3) joined with
    ``stack_records[k]`` (method, dx, dy, n_matched, rms, scale, offset, n_cosmic, reason)."""
    if len(frames) != len(stack_records):
        raise ValueError(f"frame_table: {len(frames)} frames but {len(stack_records)} "
                         "stacking records")
    return [{"frame": f["frame"], "exptime": f.get("exptime", float("nan")),
             **{k: f[k] for k in FRAME_COLUMNS[2:7]},  # background .. n_masked
             "qe_factor1": _num(f.get("qe_factor1")), "qe_factor3": _num(f.get("qe_factor3")),
             "align_method": r.get("method", ""), "dx": _num(r.get("dx")),
             "dy": _num(r.get("dy")), "n_matched": _int(r.get("n_matched")),
             "align_rms": _num(r.get("rms")), "scale": _num(r.get("scale"), 1.0),
             "offset": _num(r.get("offset"), 0.0), "n_cosmic": _int(r.get("n_cosmic")),
             "align_note": _text(r.get("reason"))}
            for f, r in zip(frames, stack_records, strict=True)]


def stack_row(name: str, stack: dict, frame_rows: Sequence[dict], *, n_rejected: int,
              n_pixels_rejected: int, exptime: float) -> dict:
    """The per-stack row (:data:`STACK_COLUMNS`): ``stack`` (:func:`image_qa`), the clipping
    counts (input values; output pixels), the frames' largest shift and alignment rms, and
    how many fell back to header offsets or were set aside (``n_fallback``) or set aside."""
    shifts = [np.hypot(r["dx"], r["dy"]) for r in frame_rows
              if np.isfinite(r["dx"]) and np.isfinite(r["dy"])]
    rms = [r["align_rms"] for r in frame_rows[1:] if np.isfinite(r["align_rms"])]
    methods = [str(r["align_method"]) for r in frame_rows[1:]]
    return {"stack": name, "n_frames": len(frame_rows), "exptime": float(exptime),
            **{k: stack[k] for k in STACK_COLUMNS[3:8]},  # background .. n_masked
            "n_rejected": int(n_rejected), "n_pixels_rejected": int(n_pixels_rejected),
            "max_shift": float(max(shifts)) if shifts else 0.0,
            "max_align_rms": float(max(rms)) if rms else 0.0,
            "n_fallback": sum(m not in ("sources", "reference") for m in methods),
            "n_set_aside": sum(m == "set aside" for m in methods)}


def _num(value, default=float("nan")) -> float:
    if value is None or (isinstance(value, str) and not value.strip()):
        return default
    try:
        out = float(value)
    except (TypeError, ValueError):
        return default
    return default if np.isnan(out) and not np.isnan(default) else out


def _text(value) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    return str(value)


def _int(value) -> int:
    v = _num(value, 0.0)
    return int(v) if np.isfinite(v) else 0


# --------------------------------------------------------------------------- from files
def stack_qa(mosaic_paths: Sequence[str], catalogue_paths: Sequence[str], stack_path: str,
             records_path: str, *, detect: dict | None = None) -> tuple[list[dict], dict]:
    """QA of one stack and its frames, from the products on disk.

    mosaic_paths, catalogue_paths : the calibrated mosaics (electrons) and their ECSV source
        catalogues, in stacking order (the first is the reference).
    stack_path : the stack written by the workflow (PHU keywords NREJECT, NREJPIX, EXPTIME).
    records_path : the stacking records (``results/<name>_qa.tsv``), one row per frame.
    detect : :func:`gmoslib.science.detect.detect_sources` parameters for the stack.
    Returns (per-frame rows, per-stack row).
    """
    import pandas as pd
    from astropy.io import fits
    from astropy.table import Table

    from gmoslib.io.fitsio import read_frame
    from gmoslib.science.reduce import detect_catalogue, frame_seeing

    frames = []
    for mpath, cpath in zip(mosaic_paths, catalogue_paths, strict=True):
        cat = Table.read(cpath, format="ascii.ecsv")
        seeing = cat.meta.get("seeing_fwhm_arcsec")
        recorded = cat.meta.get("qa")
        if isinstance(recorded, dict) and set(IMAGE_QA_KEYS) <= set(recorded):
            # measured by the job that made the mosaic (frame_qa_record)
            row = {k: recorded[k] for k in IMAGE_QA_KEYS}
        else:
            ext = read_frame(mpath).exts[0]
            row = frame_qa_record(ext.sci, ext.dq)
            del ext
        row["seeing_fwhm"] = float("nan") if seeing is None else float(seeing)
        row["n_sources"] = len(cat)
        row["frame"] = os.path.basename(mpath).removesuffix("_mosaic.fits")
        phu = fits.getheader(mpath, 0)
        row["exptime"] = float(phu.get("EXPTIME", float("nan")))
        row["qe_factor1"] = _num(phu.get("QEFACT1"))
        row["qe_factor3"] = _num(phu.get("QEFACT3"))
        frames.append(row)
    records = pd.read_csv(records_path, sep="\t", keep_default_na=True)
    names = [os.path.basename(p) for p in mosaic_paths]
    if list(records["frame"]) != names:
        raise ValueError(f"{records_path}: frames {list(records['frame'])} are not the "
                         f"mosaics {names}")
    rows = frame_table(frames, records.to_dict("records"))

    stack = read_frame(stack_path)
    phu, ext = stack.phu, stack.exts[0]
    for key in ("NREJECT", "NREJPIX"):
        if key not in stack.phu:
            raise ValueError(f"{stack_path}: no {key} keyword (not written by stack_science?)")
    # A failed detection (e.g. sep's pixel buffer overflowing on a crowded field) must not
    # cost the stack made in the same job: the numbers needing sources are left empty.
    try:
        cat = detect_catalogue(ext, **(detect or {}))
        seeing, n_sources = frame_seeing(ext, cat), len(cat)
    except Exception as exc:  # noqa: BLE001 -- sep raises plain Exceptions
        message = (f"{stack_path}: sources of the stack not detected for its QA table "
                   f"({type(exc).__name__}: {exc}); n_sources and seeing_fwhm left empty")
        logging.getLogger(__name__).warning(message)
        print(f"WARNING: {message}", file=sys.stderr)
        seeing, n_sources = None, None
    measured = image_qa(ext.sci, ext.dq, n_sources, seeing)
    return rows, stack_row(os.path.basename(stack_path).removesuffix(".fits"), measured, rows,
                           n_rejected=int(phu["NREJECT"]), n_pixels_rejected=int(phu["NREJPIX"]),
                           exptime=float(phu.get("EXPTIME", float("nan"))))
