"""Calibrating a prepared frame extension by extension (the tutorial's biasCorrect,
ADUToElectrons, flatCorrect), after checking that the calibration fits the frame; and
:func:`calibrated_frame`, the raw-to-flat-fielded chain of a science frame.
"""

from __future__ import annotations

import os

from gmoslib.calibration import prepare as prep
from gmoslib.calibration.raw_frame import load_prepared
from gmoslib.instrument.descriptors import Descriptors
from gmoslib.io.errors import RecipeError
from gmoslib.io.fitsio import read_frame
from gmoslib.io.frame import Extension, Frame


def check_compatible(first: Frame, other: Frame, what: str = "") -> None:
    """Same number of extensions and shapes; the message names both files."""
    label = f"{what} {other.filename}" if what else other.filename
    if len(other.exts) != len(first.exts):
        raise RecipeError(
            f"{label} has {len(other.exts)} extensions but {first.filename} has "
            f"{len(first.exts)}: they do not fit together"
        )
    for i, (a, b) in enumerate(zip(first.exts, other.exts, strict=True)):
        if a.sci.shape != b.sci.shape:
            raise RecipeError(
                f"{label} extension {i + 1} has shape {b.sci.shape}, "
                f"{first.filename} has {a.sci.shape}: they do not fit together"
            )


def _apply_calibration(frame: Frame, cal: Frame, kind: str, primitive, keyword: str,
                       comment: str) -> Frame:
    """``primitive(sci, var, dq, cal_sci, cal_var, cal_dq)`` on every extension of a frame
    the calibration fits; its name goes in the PHU ``keyword``."""
    check_compatible(frame, cal, kind)
    exts = []
    for e, c in zip(frame.exts, cal.exts, strict=True):
        sci, var, dq = primitive(e.sci, e.var, e.dq, c.sci, c.var, c.dq)
        exts.append(Extension(sci, var, dq, e.header))
    phu = frame.phu.copy()
    phu[keyword] = (os.path.basename(cal.filename), comment)
    return Frame(phu, exts, frame.filename)


def subtract_master(frame: Frame, master: Frame, kind: str) -> Frame:
    """Subtract a master bias (same units) from every extension; checks shapes."""
    return _apply_calibration(frame, master, kind, prep.subtract_bias, "BIASIM",
                              "Master bias used")


def to_electrons(frame: Frame) -> Frame:
    """ADU -> electrons with each amplifier's GAIN keyword, then add Poisson VAR."""
    exts = []
    for e in frame.exts:
        gain = float(e.header["GAIN"])
        sci, var = prep.adu_to_electrons(e.sci, e.var, gain)
        var = prep.add_poisson_var(var, sci)
        hdr = e.header.copy()
        hdr["BUNIT"] = "electron"
        hdr["GAIN"] = (1.0, "Data in electrons")
        hdr["GAINORIG"] = (gain, "Gain applied (e-/ADU)")
        if "SATLEVEL" in hdr:
            hdr["SATLEVEL"] = round(float(hdr["SATLEVEL"]) * gain, 3)
        exts.append(Extension(sci, var, e.dq, hdr))
    phu = frame.phu.copy()
    phu["ADUTOELE"] = ("gmos-snake", "Converted to electrons")
    return Frame(phu, exts, frame.filename)


def flat_correct_frame(frame: Frame, flat: Frame) -> Frame:
    """Divide every extension by the master flat (VAR propagated, DQ OR-ed)."""
    return _apply_calibration(frame, flat, "master flat", prep.flat_correct, "FLATIM",
                              "Master flat used")


def calibrated_frame(raw_path: str, bias_path: str, flat_path: str, *, overscan: dict,
                     bpm: Frame | None = None) -> tuple[Frame, Descriptors]:
    """Overscan, bias, gain (electrons, Poisson VAR) and flat: the per-amplifier frame
    (electrons) that both the science chain and the fringe frame start from."""
    frame = load_prepared(raw_path, overscan=overscan, bpm=bpm)
    desc = Descriptors(frame.phu, [e.header for e in frame.exts], raw_path)
    frame = subtract_master(frame, read_frame(bias_path), "master bias")
    frame = flat_correct_frame(to_electrons(frame), read_frame(flat_path))
    return frame, desc
