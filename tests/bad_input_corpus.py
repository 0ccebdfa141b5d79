"""The bad-input corpus: messy raw directories built from the simulator, each with the
outcome the workflow must give (issues 8 and 17).

Every :class:`Case` is one thing astronomers find in real raw directories.  ``build(base,
case_dir)`` writes it, starting from ``base`` (the ``small`` simulator preset, never
modified), and returns what the test needs (issue 17's cases are in
tests/bad_input_corpus_hostile.py).  Three kinds of case:

* ``level="manifest"``: ``build`` writes one bad file (plus, for a duplicate, its twin) into
  ``case_dir`` and returns its file name; the manifest must list it ``usable=False`` with a
  reason containing ``fragment`` (outcome ``skip``), every other file staying usable.
  Outcome ``use`` (issue 17): the file is used, under a frame name that starts with
  ``fragment`` and that every later step can take.
* ``level="workflow"``: ``build`` prepares ``case_dir/raw`` (symbolic links to the good files
  plus the case's changes) and returns a :class:`WorkflowSetup`; Snakemake must stop with a
  non-zero status and a message containing ``fragment`` (outcome ``fatal``) before any
  product is written; or (outcome ``runs``) the run and a dry run of the whole night succeed
  and ``fragment`` is a manifest reason or a note of the run.
* ``level="call"`` (issue 17): ``build`` returns a function (a recipe, a job's error
  handling, the download client's checks); calling it must raise an error (or SystemExit,
  as a job ends) whose one-line message contains ``fragment`` (outcome ``error``).

Pixel data are only edited through astropy with ``do_not_scale_image_data=True`` (the raw
uint16 bytes stay as written by the simulator) on copies; ``base`` is opened read-only.
"""

from __future__ import annotations

import bz2
import datetime as dt
import gzip
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from astropy.io import fits

from gmoslib.instrument.detectors import LAYOUTS, ROI_SETTINGS
from gmoslib.instrument.sections import Section
from gmoslib.sim import FrameSpec, make_detector_model, write_raw

SCIENCE = "N20170614S0201"  # first science frame of the small preset
BIAS = "N20170613S0180"
FLAT = "N20170702S0178"
GOOD_FRAMES = ([f"N20170613S{i:04d}" for i in range(180, 185)]
               + [f"N20170702S{i:04d}" for i in range(178, 181)]
               + [f"N20170614S{i:04d}" for i in range(201, 204)])


@dataclass(frozen=True)
class WorkflowSetup:
    """How to run Snakemake for a workflow-level case."""

    workdir: Path
    config: dict = field(default_factory=dict)
    targets: tuple[str, ...] = ()
    dry_run: bool = False
    #: extra Snakemake arguments (before --config)
    args: tuple[str, ...] = ()
    #: called after the run (e.g. to undo chattr +i), whatever its outcome
    cleanup: Callable[[], None] | None = None


@dataclass(frozen=True)
class Case:
    name: str
    level: str  # "manifest" | "workflow"
    outcome: str  # "skip" | "fatal"
    fragment: str  # part of the skip reason / fatal message
    what: str  # one line for people
    build: Callable[[Path, Path], object]


# ------------------------------------------------------------------------------ helpers
def _src(base: Path, frame: str = SCIENCE) -> Path:
    return base / f"{frame}.fits"


def _edited(base: Path, dst: Path, edit: Callable[[fits.HDUList], None],
            frame: str = SCIENCE) -> str:
    """Copy of a good raw file with ``edit(hdul)`` applied (headers or raw stored values)."""
    with fits.open(_src(base, frame), mode="readonly", memmap=False,
                   do_not_scale_image_data=True) as hdul:
        for h in hdul:
            h.data  # noqa: B018 -- load the stored values before editing
        edit(hdul)
        hdul.writeto(dst, overwrite=True, output_verify="silentfix")
    return dst.name


def _phu(**cards) -> Callable[[fits.HDUList], None]:
    def edit(hdul):
        for key, value in cards.items():
            key = key.replace("_", "-") if key == "DATE_OBS" else key
            if value is None:
                del hdul[0].header[key]
            else:
                hdul[0].header[key] = value
    return edit


def _ext(index: int, **cards) -> Callable[[fits.HDUList], None]:
    def edit(hdul):
        for key, value in cards.items():
            if value is None:
                del hdul[index].header[key]
            else:
                hdul[index].header[key] = value
    return edit


def _raw_dir(base: Path, case_dir: Path, frames=GOOD_FRAMES) -> Path:
    """case_dir/raw with symbolic links to the named good frames of base."""
    raw = case_dir / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    for f in frames:
        (raw / f"{f}.fits").symlink_to(_src(base, f))
    return raw


def _work(case_dir: Path) -> Path:
    work = case_dir / "work"
    work.mkdir(parents=True, exist_ok=True)
    return work


def _dry_after_manifest(case_dir: Path, raw: Path, config: dict | None = None,
                        args: tuple[str, ...] = ()) -> WorkflowSetup:
    """A dry run of the whole workflow once the manifest exists (written here with gmoslib,
    the manifest rule's own code, to save a Snakemake job): the input functions that run
    after the manifest checkpoint meet the problem, as they would in a real run."""
    from gmoslib.workflow.manifest import build_manifest, write_manifest

    work = _work(case_dir)
    write_manifest(build_manifest(str(raw)), str(work / "manifest" / "manifest.tsv"))
    return WorkflowSetup(work, {"raw_dir": str(raw), **(config or {})}, dry_run=True,
                         args=args)


# ------------------------------------------------------------------------------ manifest level
def zero_byte(base, d):
    (d / "N20170614S0301.fits").write_bytes(b"")
    return "N20170614S0301.fits"


def text_named_fits(base, d):
    (d / "N20170614S0302.fits").write_text("SIMPLE = T  just a note, not FITS\n" * 100)
    return "N20170614S0302.fits"


def text_named_fits_gz(base, d):
    (d / "N20170614S0303.fits.gz").write_bytes(gzip.compress(b"observing log, not FITS\n" * 200))
    return "N20170614S0303.fits.gz"


def truncated_mid_extension(base, d):
    data = _src(base).read_bytes()
    with fits.open(_src(base)) as hdul:
        info = hdul[7].fileinfo()  # cut halfway through the 7th extension's pixels
        cut = info["datLoc"] + hdul[7].header["NAXIS1"] * hdul[7].header["NAXIS2"]
    (d / "N20170614S0304.fits").write_bytes(data[:cut])
    return "N20170614S0304.fits"


def _corrupt(packed: bytes) -> bytes:
    mid = len(packed) // 2
    return packed[:mid] + bytes(255 - b for b in packed[mid:mid + 64]) + packed[mid + 64:]


def corrupt_gzip(base, d):
    packed = gzip.compress(_src(base).read_bytes(), compresslevel=1)
    (d / "N20170614S0305.fits.gz").write_bytes(_corrupt(packed))
    return "N20170614S0305.fits.gz"


def corrupt_bzip2(base, d):
    packed = bz2.compress(_src(base).read_bytes(), compresslevel=1)
    (d / "N20170614S0306.fits.bz2").write_bytes(_corrupt(packed))
    return "N20170614S0306.fits.bz2"


def truncated_bzip2(base, d):
    packed = bz2.compress(_src(base).read_bytes(), compresslevel=1)
    (d / "N20170614S0307.fits.bz2").write_bytes(packed[: len(packed) * 2 // 3])
    return "N20170614S0307.fits.bz2"


def duplicate_fits_and_bz2(base, d):
    shutil.copy(_src(base), d / f"{SCIENCE}.fits")
    (d / f"{SCIENCE}.fits.bz2").write_bytes(bz2.compress(_src(base).read_bytes(), 1))
    return f"{SCIENCE}.fits.bz2"


def non_gmos_instrument(base, d):
    return _edited(base, d / "N20170614S0308.fits", _phu(INSTRUME="NIRI"))


def gmos_longslit(base, d):
    return _edited(base, d / "N20170614S0309.fits", _phu(
        GRATING="R400+_G5305", MASKTYP=1, MASKNAME="1.0arcsec", OBSMODE="LONGSLIT",
        GRWLEN=700.0))


def gmos_mos(base, d):
    return _edited(base, d / "N20170614S0310.fits", _phu(
        GRATING="B600+_G5307", MASKTYP=1, MASKNAME="GN2017AQ001-01", OBSMODE="MOS"))


def gmos_ifu(base, d):
    return _edited(base, d / "N20170614S0311.fits", _phu(
        GRATING="R831+_G5302", MASKTYP=-1, MASKNAME="IFU-R", OBSMODE="IFU"))


def gmos_arc(base, d):
    return _edited(base, d / "N20170614S0312.fits", _phu(
        OBSTYPE="ARC", OBJECT="CuAr", OBSCLASS="progCal", GRATING="R400+_G5305", MASKTYP=1,
        MASKNAME="1.0arcsec"))


def gmos_acquisition(base, d):
    return _edited(base, d / "N20170614S0313.fits", _phu(OBSCLASS="acq"))


def missing_datasec(base, d):
    return _edited(base, d / "N20170614S0314.fits", _ext(3, DATASEC=None))


def malformed_ccdsum(base, d):
    return _edited(base, d / "N20170614S0315.fits", _ext(2, CCDSUM="4x4"))


def extensions_disagree_on_binning(base, d):
    return _edited(base, d / "N20170614S0316.fits", _ext(5, CCDSUM="2 2"))


def missing_filter2(base, d):
    return _edited(base, d / "N20170614S0317.fits", _phu(FILTER2=None))


def malformed_date_obs(base, d):
    return _edited(base, d / "N20170614S0318.fits", _phu(DATE_OBS="2017-06-31"))


def missing_exptime(base, d):
    return _edited(base, d / "N20170614S0319.fits", _phu(EXPTIME=None))


def unknown_detector(base, d):
    return _edited(base, d / "N20170614S0320.fits", _phu(DETTYPE="S10892-99"))


def wrong_extension_count(base, d):
    def edit(hdul):
        del hdul[-1]
    return _edited(base, d / "N20170614S0321.fits", edit)


def amplifiers_missing(base, d):
    """6 of the 12 Hamamatsu amplifiers of a full-frame read: a count GMOS can write
    (e2vDD), but not for this detector and ROI."""
    def edit(hdul):
        del hdul[7:]
    return _edited(base, d / "N20170614S0322.fits", edit)


def shape_contradicts_datasec(base, d):
    def edit(hdul):
        hdul[4].data = np.ascontiguousarray(hdul[4].data[:, :40])
    return _edited(base, d / "N20170614S0323.fits", edit)


def nan_inf_pixels(base, d):
    def edit(hdul):
        for h in hdul[1:]:
            data = h.data.astype(np.float32) + np.float32(h.header.get("BZERO", 0))
            data[5, 5:9] = [np.nan, np.inf, -np.inf, np.nan]
            for key in ("BZERO", "BSCALE"):
                h.header.remove(key, ignore_missing=True)
            h.data = data
    return _edited(base, d / "N20170614S0324.fits", edit)


def fully_saturated(base, d):
    def edit(hdul):
        for h in hdul[1:]:
            h.data[:] = np.int16(32767)  # stored value: 65535 ADU with BZERO = 32768
    return _edited(base, d / "N20170614S0325.fits", edit)


def processed_file_in_raw(base, d):
    return _edited(base, d / "N20170614S0326_bias.fits", _phu(PROCBIAS="gmos-snake",
                                                              OBSTYPE="BIAS"), frame=BIAS)


MANIFEST_CASES = [
    Case("zero_byte", "manifest", "skip", "empty file (0 bytes)",
         "a zero-byte .fits (failed download)", zero_byte),
    Case("text_named_fits", "manifest", "skip", "not a readable FITS file",
         "a text file named .fits", text_named_fits),
    Case("text_named_fits_gz", "manifest", "skip", "not a readable FITS file",
         "gzip-compressed text named .fits.gz", text_named_fits_gz),
    Case("truncated_mid_extension", "manifest", "skip", "truncated",
         "FITS file cut in the middle of extension 7's pixels", truncated_mid_extension),
    Case("corrupt_gzip", "manifest", "skip", "corrupt compressed file",
         ".fits.gz with 64 damaged bytes", corrupt_gzip),
    Case("corrupt_bzip2", "manifest", "skip", "corrupt compressed file",
         ".fits.bz2 with 64 damaged bytes", corrupt_bzip2),
    Case("truncated_bzip2", "manifest", "skip", "corrupt compressed file",
         ".fits.bz2 cut at two thirds", truncated_bzip2),
    Case("duplicate_fits_and_bz2", "manifest", "skip", f"duplicate of {SCIENCE}.fits",
         "the same frame as .fits and .fits.bz2 (the .fits is used)", duplicate_fits_and_bz2),
    Case("non_gmos_instrument", "manifest", "skip", "not GMOS (INSTRUME='NIRI')",
         "another instrument's file", non_gmos_instrument),
    Case("gmos_longslit", "manifest", "skip", "not GMOS imaging: tags SPECT,LS",
         "GMOS long-slit spectrum", gmos_longslit),
    Case("gmos_mos", "manifest", "skip", "not GMOS imaging: tags SPECT,MOS",
         "GMOS multi-object spectrum", gmos_mos),
    Case("gmos_ifu", "manifest", "skip", "not GMOS imaging: tags SPECT,IFU",
         "GMOS IFU spectrum", gmos_ifu),
    Case("gmos_arc", "manifest", "skip", "not GMOS imaging: tags SPECT,LS,ARC",
         "GMOS CuAr arc", gmos_arc),
    Case("gmos_acquisition", "manifest", "skip", "not a raw bias, twilight flat or science",
         "GMOS acquisition image (OBSCLASS=acq)", gmos_acquisition),
    Case("missing_datasec", "manifest", "skip", "extension 3: keyword DATASEC missing",
         "DATASEC deleted from extension 3", missing_datasec),
    Case("malformed_ccdsum", "manifest", "skip", "keyword CCDSUM: malformed ('4x4')",
         "CCDSUM '4x4' instead of '4 4'", malformed_ccdsum),
    Case("extensions_disagree_on_binning", "manifest", "skip", "CCDSUM: extensions disagree",
         "one extension says CCDSUM '2 2', the others '4 4'", extensions_disagree_on_binning),
    Case("missing_filter2", "manifest", "skip", "keyword FILTER2: missing",
         "FILTER2 deleted", missing_filter2),
    Case("malformed_date_obs", "manifest", "skip", "keyword DATE-OBS: malformed date",
         "DATE-OBS = 2017-06-31", malformed_date_obs),
    Case("missing_exptime", "manifest", "skip", "keyword EXPTIME: missing",
         "EXPTIME deleted", missing_exptime),
    Case("unknown_detector", "manifest", "skip", "unknown GMOS detector type",
         "DETTYPE of no known GMOS CCD", unknown_detector),
    Case("wrong_extension_count", "manifest", "skip", "11 image extensions",
         "11 of 12 extensions", wrong_extension_count),
    Case("amplifiers_missing", "manifest", "skip", "6 image extensions; Hamamatsu-N",
         "6 of 12 extensions (a count other GMOS detectors have)", amplifiers_missing),
    Case("shape_contradicts_datasec", "manifest", "skip", "does not fit the 40x",
         "extension 4 is 40 columns wide, DATASEC says more", shape_contradicts_datasec),
    Case("nan_inf_pixels", "manifest", "skip", "NaN/inf pixels",
         "float32 pixels with NaN and +-inf", nan_inf_pixels),
    Case("fully_saturated", "manifest", "skip", "saturated: 100.0% of the data pixels",
         "every pixel at 65535 ADU", fully_saturated),
    Case("processed_file_in_raw", "manifest", "skip", "a processed file, not raw data",
         "a processed master bias dropped among the raw files", processed_file_in_raw),
]


# ------------------------------------------------------------------------------ workflow level
def empty_raw_dir(base, d):
    (d / "raw").mkdir()
    (d / "raw" / "README.txt").write_text("nothing here yet\n")
    return WorkflowSetup(_work(d), {"raw_dir": str(d / "raw")}, ("manifest/manifest.tsv",))


def missing_raw_dir(base, d):
    return WorkflowSetup(_work(d), {"raw_dir": str(d / "no_such_dir")},
                         ("manifest/manifest.tsv",))


def only_junk_raw_dir(base, d):
    raw = d / "raw"
    raw.mkdir()
    zero_byte(base, raw)
    gmos_longslit(base, raw)
    return _dry_after_manifest(d, raw)


def unknown_config_key(base, d):
    raw = _raw_dir(base, d)
    return WorkflowSetup(_work(d), {"raw_dir": str(raw), "bias_frames": 3}, dry_run=True)


def unknown_step_parameter(base, d):
    raw = _raw_dir(base, d)
    return WorkflowSetup(_work(d), {"raw_dir": str(raw),
                                    "params": "{stackBiases: {lsgima: 5}}"}, dry_run=True)


def wrong_config_type(base, d):
    raw = _raw_dir(base, d)
    return WorkflowSetup(_work(d), {"raw_dir": str(raw), "stack_memory_mb": "lots"},
                         dry_run=True)


def no_bias(base, d):
    raw = _raw_dir(base, d, [f for f in GOOD_FRAMES if not f.startswith("N20170613")])
    return _dry_after_manifest(d, raw)


def no_flat(base, d):
    raw = _raw_dir(base, d, [f for f in GOOD_FRAMES if not f.startswith("N20170702")])
    return _dry_after_manifest(d, raw)


def science_outside_bias_window(base, d):
    """The science frames dated 100 days after the biases (bias window: 90 days); the
    twilights stay within 180 days of them."""
    raw = _raw_dir(base, d, [f for f in GOOD_FRAMES if not f.startswith("N20170614")])
    for f in GOOD_FRAMES:
        if f.startswith("N20170614"):
            _edited(base, raw / f"{f}.fits", _phu(DATE_OBS="2017-09-22"), frame=f)
    return _dry_after_manifest(d, raw)


def user_cal_missing(base, d):
    raw = _raw_dir(base, d)
    return WorkflowSetup(_work(d), {"raw_dir": str(raw),
                                    "user_cal": f"{{processed_bias: {d}/nope_bias.fits}}"},
                         dry_run=True)


def _fake_processed(base: Path, dst: Path, frame: str, xbin: int, **phu) -> Path:
    """Headers of a processed calibration (data 1x1 pixel per extension): what check_user_cal
    reads."""
    with fits.open(_src(base, frame)) as hdul:
        hdus = [fits.PrimaryHDU(header=hdul[0].header.copy())]
        for h in hdul[1:]:
            hdr = h.header.copy()
            hdr["CCDSUM"] = f"{xbin} {xbin}"
            hdus.append(fits.ImageHDU(np.zeros((1, 1), np.float32), header=hdr, name="SCI"))
    for key, value in phu.items():
        hdus[0].header[key] = value
    fits.HDUList(hdus).writeto(dst)
    return dst


def user_cal_wrong_binning(base, d):
    raw = _raw_dir(base, d)
    cal = _fake_processed(base, d / "N20170613S0180_bias.fits", BIAS, 2, PROCBIAS="gmos-snake")
    return _dry_after_manifest(d, raw, {"user_cal": f"{{processed_bias: {cal}}}"})


def user_cal_wrong_filter(base, d):
    raw = _raw_dir(base, d)
    cal = _fake_processed(base, d / "N20170702S0178_flat.fits", FLAT, 4, PROCFLAT="gmos-snake",
                          FILTER2="r_G0303")
    return _dry_after_manifest(d, raw, {"user_cal": f"{{processed_flat: {cal}}}"})


def user_cal_not_a_calibration(base, d):
    raw = _raw_dir(base, d)
    return _dry_after_manifest(
        d, raw, {"user_cal": f"{{processed_bias: {_src(base, SCIENCE)}}}"})


def bpm_missing(base, d):
    raw = _raw_dir(base, d)
    return WorkflowSetup(_work(d), {"raw_dir": str(raw), "bpm": f"{d}/no_bpm.fits"},
                         dry_run=True)


def calibration_dir_missing(base, d):
    raw = _raw_dir(base, d)
    return WorkflowSetup(_work(d), {"raw_dir": str(raw),
                                    "calibration_dirs": f"[{d}/no_such_caldb]"}, dry_run=True)


def mixed_binning_science(base, d):
    """A 2x2 frame of the same target and filter among the 4x4 ones: a group of its own,
    which has no 2x2 calibration."""
    raw = _raw_dir(base, d)
    model = make_detector_model(LAYOUTS["GN-Ham"], 2, 2, None, seed=5)
    program = "GN-2017A-Q-1"
    write_raw(str(raw / "N20170614S0204.fits"), model, FrameSpec(
        "science", "N20170614S0204", dt.datetime(2017, 6, 14, 9, 4), 10.0, filter2="i_G0302",
        object="starfield", sky_e=800.0, program=program, obsid=f"{program}-5",
        datalab=f"{program}-5-004"), None, seed=5)
    return _dry_after_manifest(d, raw)


def mixed_roi_science(base, d):
    raw = _raw_dir(base, d)
    y1, y2, x1, x2 = ROI_SETTINGS["Hamamatsu"]["CCD2"]
    model = make_detector_model(LAYOUTS["GN-Ham"], 4, 4, Section(x1, x2, y1, y2), seed=5)
    program = "GN-2017A-Q-1"
    write_raw(str(raw / "N20170614S0205.fits"), model, FrameSpec(
        "science", "N20170614S0205", dt.datetime(2017, 6, 14, 9, 5), 10.0, filter2="i_G0302",
        object="starfield", sky_e=800.0, program=program, obsid=f"{program}-5",
        datalab=f"{program}-5-005"), None, seed=5)
    return _dry_after_manifest(d, raw)


def _make_read_only(path: Path) -> Callable[[], None]:
    """chmod a-w, and chattr +i when running as root (root ignores permission bits)."""
    import subprocess

    mode = path.stat().st_mode
    path.chmod(0o555)
    immutable = False
    if os.geteuid() == 0:
        immutable = subprocess.run(["chattr", "+i", str(path)], capture_output=True,
                                   check=False).returncode == 0

    def undo():
        if immutable:
            subprocess.run(["chattr", "-i", str(path)], check=False)
        path.chmod(mode)
    return undo


def read_only_output_dir(base, d):
    raw = _raw_dir(base, d)
    work = _work(d)
    return WorkflowSetup(work, {"raw_dir": str(raw)}, dry_run=True,
                         cleanup=_make_read_only(work))


def read_only_results_dir(base, d):
    raw = _raw_dir(base, d)
    work = _work(d)
    (work / "results").mkdir()
    return WorkflowSetup(work, {"raw_dir": str(raw)}, dry_run=True,
                         cleanup=_make_read_only(work / "results"))


def file_disappears_after_manifest(base, d):
    """The manifest is made, then a bias is deleted before the stacking jobs read it.  The
    run is started with rerun triggers limited to mtime, so the manifest (newer than every
    remaining raw file) is not remade: the input functions meet the vanished file."""
    raw = d / "raw"
    raw.mkdir()
    for f in GOOD_FRAMES:
        shutil.copy(_src(base, f), raw / f"{f}.fits")
    setup = _dry_after_manifest(d, raw, args=("--rerun-triggers", "mtime"))
    (raw / "N20170613S0182.fits").unlink()
    return setup


WORKFLOW_CASES = [
    Case("empty_raw_dir", "workflow", "fatal",
         "holds no *.fits, *.fits.gz, *.fits.bz2 or *.fits.fz",
         "raw_dir with no FITS files", empty_raw_dir),
    Case("missing_raw_dir", "workflow", "fatal", "is not a directory",
         "raw_dir does not exist", missing_raw_dir),
    Case("only_junk_raw_dir", "workflow", "fatal", "no usable raw GMOS imaging file",
         "raw_dir whose files are all unusable", only_junk_raw_dir),
    Case("unknown_config_key", "workflow", "fatal", "unknown key bias_frames",
         "a config key the schema does not know", unknown_config_key),
    Case("unknown_step_parameter", "workflow", "fatal",
         "unknown parameter 'lsgima' of step stackBiases",
         "a misspelt step parameter", unknown_step_parameter),
    Case("wrong_config_type", "workflow", "fatal", "'lots' is not of type 'integer'",
         "stack_memory_mb: 'lots'", wrong_config_type),
    Case("no_bias", "workflow", "fatal", "no processed_bias for",
         "no bias frames at all for the flats and science frames", no_bias),
    Case("no_flat", "workflow", "fatal", "no processed_flat for N20170614S0201",
         "no twilight flats for the science frames", no_flat),
    Case("science_outside_bias_window", "workflow", "fatal",
         "no processed_bias for N20170614S0201: none with",
         "the only biases are 100 days before the science frames", science_outside_bias_window),
    Case("user_cal_missing", "workflow", "fatal", "nope_bias.fits does not exist",
         "user_cal names a file that does not exist", user_cal_missing),
    Case("user_cal_wrong_binning", "workflow", "fatal", "binning 2x2 but",
         "user_cal bias with another binning", user_cal_wrong_binning),
    Case("user_cal_wrong_filter", "workflow", "fatal", "does not fit: filter",
         "user_cal flat through another filter", user_cal_wrong_filter),
    Case("user_cal_not_a_calibration", "workflow", "fatal", "is not a processed bias",
         "user_cal processed_bias names a raw science frame", user_cal_not_a_calibration),
    Case("bpm_missing", "workflow", "fatal", "no_bpm.fits does not exist",
         "bpm names a file that does not exist", bpm_missing),
    Case("calibration_dir_missing", "workflow", "fatal", "no_such_caldb is not a directory",
         "calibration_dirs names a folder that does not exist", calibration_dir_missing),
    Case("mixed_binning_science", "workflow", "fatal", "no processed_bias for N20170614S0204",
         "a 2x2 frame among 4x4 frames of one target, no 2x2 calibrations",
         mixed_binning_science),
    Case("mixed_roi_science", "workflow", "fatal",
         "no processed_bias for N20170614S0205 that can be applied",
         "a CCD2-ROI frame among full-frame ones, no CCD2 calibrations",
         mixed_roi_science),
    Case("read_only_output_dir", "workflow", "fatal", "is not writable",
         "the working directory (-d) is read-only", read_only_output_dir),
    Case("read_only_results_dir", "workflow", "fatal", "is not writable",
         "an existing output folder (results/) is read-only", read_only_results_dir),
    Case("file_disappears_after_manifest", "workflow", "fatal",
         "N20170613S0182.fits is listed in manifest/manifest.tsv but",
         "a raw file deleted between the manifest and its use",
         file_disappears_after_manifest),
]

CASES = MANIFEST_CASES + WORKFLOW_CASES
