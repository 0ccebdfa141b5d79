"""The bad-input corpus: messy raw directories built from the simulator, each with the
outcome the workflow must give (issues 8 and 17).

Every :class:`Case` is one thing astronomers find in real raw directories.  ``build(base,
case_dir)`` writes it, starting from ``base`` (the ``small`` simulator preset, never
modified), and returns what the test needs.  Three kinds of case:

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

from gmoslib.lookups import LAYOUTS, ROI_SETTINGS
from gmoslib.sections import Section
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
    from gmoslib.manifest import build_manifest, write_manifest

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


# ------------------------------------------------ issue 17: entries that are not regular files
def dangling_link(base, d):
    (d / "N20170614S0330.fits").symlink_to(d / "moved_away" / "N20170614S0330.fits")
    return "N20170614S0330.fits"


def folder_named_fits(base, d):
    (d / "N20170614S0331.fits").mkdir()
    return "N20170614S0331.fits"


def fifo_named_fits(base, d):
    os.mkfifo(d / "N20170614S0332.fits")
    return "N20170614S0332.fits"


def device_named_fits(base, d):
    """A link to /dev/zero: reading it never ends."""
    (d / "N20170614S0333.fits").symlink_to("/dev/zero")
    return "N20170614S0333.fits"


def link_loop(base, d):
    (d / "N20170614S0334.fits").symlink_to(d / "N20170614S0334.fits")
    return "N20170614S0334.fits"




def xz_compressed(base, d):
    import lzma

    (d / "N20170614S0336.fits.xz").write_bytes(lzma.compress(_src(base).read_bytes()[:28800]))
    return "N20170614S0336.fits.xz"


def fit_suffix(base, d):
    shutil.copy(_src(base), d / "N20170614S0337.fit")
    return "N20170614S0337.fit"


# ------------------------------------------------ issue 17: header values later steps need
def zero_exptime_science(base, d):
    return _edited(base, d / "N20170614S0350.fits", _phu(EXPTIME=0.0))


def negative_exptime_flat(base, d):
    return _edited(base, d / "N20170702S0351.fits", _phu(EXPTIME=-1.0), frame=FLAT)


def nan_exptime(base, d):
    def edit(hdul):  # a NaN written as text, as some archive tools do
        hdul[0].header["EXPTIME"] = "NaN"
    return _edited(base, d / "N20170614S0352.fits", edit)


def date_obs_clock_not_set(base, d):
    return _edited(base, d / "N20170614S0361.fits", _phu(DATE_OBS="1970-01-01"))


def date_obs_in_the_future(base, d):
    return _edited(base, d / "N20170614S0362.fits", _phu(DATE_OBS="2917-06-14"))


def wcs_not_a_number(base, d):
    return _edited(base, d / "N20170614S0353.fits", _ext(3, CRPIX1="abc"))


def wcs_singular_cd(base, d):
    return _edited(base, d / "N20170614S0354.fits",
                   _ext(1, CD1_1=0.0, CD1_2=0.0, CD2_1=0.0, CD2_2=0.0))


def wcs_crval_missing(base, d):
    return _edited(base, d / "N20170614S0355.fits", _ext(2, CRVAL2=None))


def poffset_not_a_number(base, d):
    return _edited(base, d / "N20170614S0356.fits", _phu(POFFSET="INDEF"))




def detsec_contradicts_datasec(base, d):
    return _edited(base, d / "N20170614S0358.fits", _ext(5, DETSEC="[1:100,1:4224]"))


def malformed_ccdsec(base, d):
    return _edited(base, d / "N20170614S0359.fits", _ext(8, CCDSEC="[1:512;1:4224]"))




# ------------------------------------------------ issue 17: file names (used, under a safe name)
def _renamed(base, d, name: str, n: int) -> str:
    """A distinct science frame (its own data label and one pixel changed) under name."""
    def edit(hdul):
        hdul[0].header["DATALAB"] = f"GN-2017A-Q-1-5-{n:03d}"
        hdul[1].data[10, 10] += 1
    _edited(base, d / "tmp_rename.fits", edit)
    os.replace(d / "tmp_rename.fits", os.path.join(os.fsencode(d), os.fsencode(name)))
    return name


def non_ascii_name(base, d):
    return _renamed(base, d, "N20170614S0370_é.fits", 370)


def braces_name(base, d):
    return _renamed(base, d, "N20170614S0371{a}.fits", 371)


def control_characters_name(base, d):
    return _renamed(base, d, "N20170614S0372\x07\tx.fits", 372)


def space_in_name(base, d):
    return _renamed(base, d, "N20170614S0373 copy.fits", 373)


def only_an_extension(base, d):
    return _renamed(base, d, ".fits", 374)


def name_near_limit(base, d):
    return _renamed(base, d, "N20170614S0375_" + "x" * 230 + ".fits", 375)


def leading_dash_name(base, d):
    return _renamed(base, d, "-N20170614S0376.fits", 376)


def non_utf8_name(base, d):
    name = os.fsdecode(b"N20170614S0377_\xff.fits")
    return _renamed(base, d, name, 377)


# ------------------------------------------------ issue 17: compressed files
def _zeros_streams(compress, megabytes: int) -> bytes:
    """Concatenated compressed streams (members) of 1 MB of zeros each: a few hundred bytes
    per expanded megabyte."""
    return compress(bytes(1 << 20)) * megabytes


def bz2_bomb_after_hdus(base, d):
    """A good frame followed, in the same .bz2, by 300 MB of zeros (300 KB compressed)."""
    packed = bz2.compress(_src(base).read_bytes(), 1) + _zeros_streams(bz2.compress, 300)
    (d / "N20170614S0380.fits.bz2").write_bytes(packed)
    return "N20170614S0380.fits.bz2"


def gzip_bomb_after_hdus(base, d):
    packed = gzip.compress(_src(base).read_bytes(), 1) + _zeros_streams(gzip.compress, 300)
    (d / "N20170614S0381.fits.gz").write_bytes(packed)
    return "N20170614S0381.fits.gz"


def bz2_bomb_declared(base, d):
    """A primary header declaring a 100000 x 100000 16-bit image (20 GB), 200 MB of zeros."""
    hdr = fits.Header({"SIMPLE": True, "BITPIX": 16, "NAXIS": 2, "NAXIS1": 100000,
                       "NAXIS2": 100000, "INSTRUME": "GMOS-N"})
    packed = bz2.compress(hdr.tostring().encode()) + _zeros_streams(bz2.compress, 200)
    (d / "N20170614S0382.fits.bz2").write_bytes(packed)
    return "N20170614S0382.fits.bz2"


def _fpack(base, dst: Path, frame: str = SCIENCE, datalab: str | None = None) -> None:
    """A raw frame tile-compressed (Rice) as fpack writes it: 16-bit values kept exactly."""
    with fits.open(_src(base, frame)) as hdul:
        phu = hdul[0].header.copy()
        if datalab:
            phu["DATALAB"] = datalab
        out = [fits.PrimaryHDU(header=phu)]
        out += [fits.CompImageHDU(data=h.data, header=h.header, compression_type="RICE_1")
                for h in hdul[1:]]
        fits.HDUList(out).writeto(dst)


def fpack_frame(base, d):
    _fpack(base, d / "N20170614S0383.fits.fz", datalab="GN-2017A-Q-1-5-383")
    return "N20170614S0383.fits.fz"


def fpack_corrupt(base, d):
    _fpack(base, d / "tmp.fits.fz")
    data = (d / "tmp.fits.fz").read_bytes()
    (d / "tmp.fits.fz").unlink()
    (d / "N20170614S0384.fits.fz").write_bytes(_corrupt(data[:len(data) // 2]))
    return "N20170614S0384.fits.fz"


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
    # issue 17: every entry of the raw directory gets one outcome
    Case("dangling_link", "manifest", "skip", "dangling symbolic link",
         "a symbolic link whose target was moved away", dangling_link),
    Case("folder_named_fits", "manifest", "skip", "a folder, not a file",
         "a folder named like a FITS file", folder_named_fits),
    Case("fifo_named_fits", "manifest", "skip", "a named pipe (FIFO), not a file",
         "a named pipe named like a FITS file (reading it would block)", fifo_named_fits),
    Case("device_named_fits", "manifest", "skip", "a character device, not a file",
         "a link to /dev/zero (reading it never ends)", device_named_fits),
    Case("link_loop", "manifest", "skip", "unreadable: Too many levels of symbolic links",
         "a symbolic link to itself", link_loop),
    Case("xz_compressed", "manifest", "skip", "unsupported file name",
         "a .fits.xz (a compression gmos-snake does not read)", xz_compressed),
    Case("fit_suffix", "manifest", "skip", "unsupported file name",
         "a FITS file named .fit", fit_suffix),
    # issue 17: values later steps rely on
    Case("zero_exptime_science", "manifest", "skip",
         "keyword EXPTIME: 0.0; a science frame needs an exposure time > 0",
         "a science frame with EXPTIME = 0", zero_exptime_science),
    Case("negative_exptime_flat", "manifest", "skip",
         "keyword EXPTIME: -1.0; a flat frame needs an exposure time > 0",
         "a twilight flat with EXPTIME = -1", negative_exptime_flat),
    Case("nan_exptime", "manifest", "skip", "keyword EXPTIME: 'NaN'",
         "EXPTIME = 'NaN'", nan_exptime),
    Case("date_obs_clock_not_set", "manifest", "skip",
         "keyword DATE-OBS: observation date 1970-01-01 is not between 2001-01-01",
         "DATE-OBS = 1970-01-01 (a clock that was not set)", date_obs_clock_not_set),
    Case("date_obs_in_the_future", "manifest", "skip",
         "keyword DATE-OBS: observation date 2917-06-14 is not between",
         "DATE-OBS = 2917-06-14 (a typo)", date_obs_in_the_future),
    Case("wcs_not_a_number", "manifest", "skip",
         "extension 3 keyword CRPIX1: not a finite number ('abc')",
         "CRPIX1 = 'abc' in extension 3", wcs_not_a_number),
    Case("wcs_singular_cd", "manifest", "skip", "the CD matrix is singular",
         "a CD matrix of zeros", wcs_singular_cd),
    Case("wcs_crval_missing", "manifest", "skip", "extension 2 keyword CRVAL2: missing",
         "CRVAL2 deleted from extension 2, the rest of the WCS kept", wcs_crval_missing),
    Case("poffset_not_a_number", "manifest", "skip", "keyword POFFSET: not a finite number",
         "POFFSET = 'INDEF'", poffset_not_a_number),
    Case("detsec_contradicts_datasec", "manifest", "skip", "extension 5 keyword DETSEC",
         "DETSEC narrower than DATASEC x binning", detsec_contradicts_datasec),
    Case("malformed_ccdsec", "manifest", "skip", "extension 8 keyword CCDSEC",
         "CCDSEC '[1:512;1:4224]'", malformed_ccdsec),
    Case("non_utf8_name", "manifest", "skip", "file name is not valid UTF-8",
         "a file name with a byte that is not UTF-8", non_utf8_name),
    # issue 17: compressed files: bounded decompression, fpack read
    Case("bz2_bomb_after_hdus", "manifest", "skip", "decompresses to more than its headers",
         "a good frame + 300 MB of zeros in one 300 KB .bz2", bz2_bomb_after_hdus),
    Case("gzip_bomb_after_hdus", "manifest", "skip", "decompresses to more than its headers",
         "a good frame + 300 MB of zeros in one .gz", gzip_bomb_after_hdus),
    Case("bz2_bomb_declared", "manifest", "skip", "headers declare 20000 MB of data",
         "a header declaring a 20 GB image, in a tiny .bz2", bz2_bomb_declared),
    Case("fpack_corrupt", "manifest", "skip", "unreadable:",
         "a damaged, truncated .fits.fz", fpack_corrupt),
    Case("fpack_frame", "manifest", "use", "N20170614S0383",
         "a science frame as the archive's fpack .fits.fz", fpack_frame),
    # issue 17: legal but awkward names are used under a safe frame name (fragment: its start)
    Case("non_ascii_name", "manifest", "use", "N20170614S0370__-",
         "a name with a non-ASCII letter", non_ascii_name),
    Case("braces_name", "manifest", "skip", "file name has braces",
         "a name with braces (Snakemake wildcards, which no escape turns off in inputs)",
         braces_name),
    Case("control_characters_name", "manifest", "use", "N20170614S0372__x-",
         "a name with a bell and a tab", control_characters_name),
    Case("space_in_name", "manifest", "use", "N20170614S0373_copy-",
         "a name with a space ('... copy.fits')", space_in_name),
    Case("only_an_extension", "manifest", "use", "frame-",
         "a file named just '.fits'", only_an_extension),
    Case("name_near_limit", "manifest", "use", "N20170614S0375_xxxxxxxxxx",
         "a 250-character name (too long once a product suffix is added)", name_near_limit),
    Case("leading_dash_name", "manifest", "use", "N20170614S0376-",
         "a name starting with a dash", leading_dash_name),
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


def misspelt_nested_config_key(base, d):
    raw = _raw_dir(base, d)
    return WorkflowSetup(_work(d), {"raw_dir": str(raw),
                                    "user_cal": f"{{processed_bais: {d}/x_bias.fits}}"},
                         dry_run=True)


def config_value_not_allowed(base, d):
    raw = _raw_dir(base, d)
    return WorkflowSetup(_work(d), {"raw_dir": str(raw), "fringe": "sometimes"},
                         dry_run=True)


def user_cal_is_a_directory(base, d):
    raw = _raw_dir(base, d)
    (d / "masters").mkdir()
    return WorkflowSetup(_work(d), {"raw_dir": str(raw),
                                    "user_cal": f"{{processed_bias: {d}/masters}}"},
                         dry_run=True)


def corrupt_file_in_calibration_dirs(base, d):
    """A damaged file among the processed calibrations: noted, the run goes on."""
    raw = _raw_dir(base, d)
    (d / "caldb").mkdir()
    (d / "caldb" / "N20170101S0001_bias.fits").write_bytes(b"SIMPLE  =" + bytes(100))
    return WorkflowSetup(_work(d), {"raw_dir": str(raw),
                                    "calibration_dirs": f"[{d}/caldb]"},
                         ("manifest/manifest.tsv",))


def _old_products(work: Path) -> None:
    """Products of a frame that has left the raw directory, from an earlier run."""
    for rel in ("work/mosaic/N20170614S0999_mosaic.fits", "results/N20170614S0999_stack.fits",
                "qa/mosaic/N20170614S0999_mosaic.png"):
        (work / rel).parent.mkdir(parents=True, exist_ok=True)
        (work / rel).write_bytes(b"old")


def products_of_removed_frames(base, d):
    raw = _raw_dir(base, d)
    work = _work(d)
    _old_products(work)
    return WorkflowSetup(work, {"raw_dir": str(raw)}, ("manifest/manifest.tsv",))


def products_of_removed_frames_moved(base, d):
    raw = _raw_dir(base, d)
    work = _work(d)
    _old_products(work)
    return WorkflowSetup(work, {"raw_dir": str(raw), "stale_products": "move"},
                         ("manifest/manifest.tsv",))


def odd_entries_do_not_block(base, d):
    """A dangling link, a folder and a link loop named like raw files among the good frames:
    the manifest sets them aside and the run goes on (Snakemake never sees them as inputs)."""
    raw = _raw_dir(base, d)
    dangling_link(base, raw)
    folder_named_fits(base, raw)
    link_loop(base, raw)
    return WorkflowSetup(_work(d), {"raw_dir": str(raw)}, ("manifest/manifest.tsv",))


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
    Case("misspelt_nested_config_key", "workflow", "fatal",
         "unknown key user_cal.processed_bais (did you mean user_cal.processed_bias?)",
         "user_cal: {processed_bais: ...} (a typo in a nested key)",
         misspelt_nested_config_key),
    Case("config_value_not_allowed", "workflow", "fatal",
         "allowed: one of auto, always, never", "fringe: sometimes",
         config_value_not_allowed),
    Case("user_cal_is_a_directory", "workflow", "fatal",
         "masters is a folder, not a file: name the file itself",
         "user_cal.processed_bias names a folder", user_cal_is_a_directory),
    # outcome "runs": the run goes on; the manifest sets the entries aside (fragment: a reason)
    Case("odd_entries_do_not_block", "workflow", "runs", "dangling symbolic link",
         "a dangling link, a folder and a link loop named *.fits among good frames",
         odd_entries_do_not_block),
    Case("corrupt_file_in_calibration_dirs", "workflow", "runs",
         "N20170101S0001_bias.fits: not a readable FITS file (the primary header has no END "
         "card) (not used)", "a damaged file among the processed calibrations",
         corrupt_file_in_calibration_dirs),
    Case("products_of_removed_frames", "workflow", "runs",
         "3 product(s) of frames no longer in the raw directory (or no longer usable) kept "
         "(set stale_products: move to move them to stale/): qa/mosaic/N20170614S0999_mosaic"
         ".png, results/N20170614S0999_stack.fits, work/mosaic/N20170614S0999_mosaic.fits",
         "an earlier run's products of a frame since removed", products_of_removed_frames),
    Case("products_of_removed_frames_moved", "workflow", "runs",
         "3 product(s) of frames no longer in the raw directory (or no longer usable) moved "
         "to stale/", "the same with stale_products: move", products_of_removed_frames_moved),
]



# ------------------------------------------------------------------------------ call level
# level="call": ``build`` returns a function to call (a recipe, a job's error handling, the
# download client, ...); calling it must end with one line containing ``fragment`` (an
# exception naming the file, or SystemExit as a workflow job ends), never a bare traceback.
def _reduced_stack(path: Path, *, filter2: str = "r_G0303", ccdsum: str | None = "2 2",
                   bunit: str = "electron", exptime: float = 30.0, cd: float = 4e-5) -> str:
    """A tiny reduced stack (one SCI/VAR/DQ, electrons, sky WCS), as alignAndStack reads."""
    from gmoslib.fitsio import write_frame
    from gmoslib.frame import Extension, Frame

    hdr = {"BUNIT": bunit, "CTYPE1": "RA---TAN", "CTYPE2": "DEC--TAN", "CRVAL1": 150.0,
           "CRVAL2": 2.0, "CRPIX1": 16.0, "CRPIX2": 16.0, "CD1_1": -cd, "CD1_2": 0.0,
           "CD2_1": 0.0, "CD2_2": cd}
    if ccdsum:
        hdr["CCDSUM"] = ccdsum
    phu = {"EXPTIME": exptime, "FILTER1": "open1-6", "FILTER2": filter2}
    shape = (32, 32)
    write_frame(str(path), Frame(fits.Header(phu), [Extension(
        np.ones(shape, np.float32), np.ones(shape, np.float32), np.zeros(shape, np.uint16),
        fits.Header(hdr))]))
    return str(path)


def _aas(paths):
    from gmoslib.align_and_stack import align_and_stack

    def call():
        align_and_stack(paths, detect={}, align={}, resample_order=1, stack={},
                        memory_bytes=1 << 22, scratch_dir=os.path.dirname(paths[0]),
                        provenance={})
    return call


def aas_different_filters(base, d):
    return _aas([_reduced_stack(d / "A_stack.fits"),
                 _reduced_stack(d / "B_stack.fits", filter2="i_G0302")])


def aas_different_binning(base, d):
    return _aas([_reduced_stack(d / "A_stack.fits"),
                 _reduced_stack(d / "B_stack.fits", ccdsum="4 4", cd=8e-5)])


def aas_pixel_scale_differs(base, d):
    """No CCDSUM to compare, but twice the pixel scale: another binning."""
    return _aas([_reduced_stack(d / "A_stack.fits", ccdsum=None),
                 _reduced_stack(d / "B_stack.fits", ccdsum=None, cd=8e-5)])


def aas_device_input(base, d):
    """A path to a device (reading it never ends) among the inputs."""
    return _aas([_reduced_stack(d / "A_stack.fits"), "/dev/zero"])


def aas_not_fits(base, d):
    (d / "notes.fits").write_text("stack of the night: see log\n")
    return _aas([_reduced_stack(d / "A_stack.fits"), str(d / "notes.fits")])


def aas_zero_exptime(base, d):
    return _aas([_reduced_stack(d / "A_stack.fits"),
                 _reduced_stack(d / "B_stack.fits", exptime=0.0)])




def disk_full_in_job(base, d):
    """A job writing its product meets a full disk (/dev/full answers ENOSPC)."""
    from gmoslib.joberrors import reported_errors

    def call():
        with reported_errors("stack_bias", "calibrations/processed_bias/N1_bias.fits"), \
                open("/dev/full", "wb") as fh:
            fh.write(b"x" * 100_000)
            fh.flush()
    return call


def output_folder_is_a_file_in_job(base, d):
    """The product's folder is a file (made by hand, or a failed copy)."""
    from gmoslib.fitsio import atomic_output
    from gmoslib.joberrors import reported_errors

    (d / "mosaic").write_text("")
    target = d / "mosaic" / "N1_mosaic.fits"

    def call():
        with reported_errors("reduce_science_frame", str(target)), \
                atomic_output(str(target)) as tmp:
            Path(tmp).write_bytes(b"")
    return call


def _archive_entry(**changes):
    """One file-list entry of the archive, with changes: checking it must fail alone."""
    from gmoslib import archive

    item = {"name": "N20170614S0201.fits", "filename": "N20170614S0201.fits.bz2",
            "file_md5": "0" * 32, "file_size": 1000, **changes}

    def call():
        archive._entry(item, 4, "https://archive.gemini.edu/jsonfilelist/canonical/X")
    return call


def download_name_with_nul(base, d):
    return _archive_entry(filename="N20170614S0201\x00.fits.bz2")


def download_name_too_long(base, d):
    return _archive_entry(filename="N" + "9" * 260 + ".fits.bz2")


def download_size_not_a_number(base, d):
    return _archive_entry(file_size="1.2 MB")


def download_negative_size(base, d):
    return _archive_entry(data_size=-5)


def download_body_longer_than_announced(base, d):
    """A server that sends a file and then zeros without end (no Content-Length)."""
    from gmoslib import archive

    entry = archive.ArchiveFile("N1.fits", "N1.fits", "0" * 32, 4000, None, None, False)

    class Endless:
        status, headers = 200, {}

        def read(self, n):
            return bytes(n)

        def __enter__(self):
            return self

        def __exit__(self, *a):
            return False

    def call():
        real = archive._open
        archive._open = lambda *a, **k: Endless()
        try:
            archive.download_file(entry, str(d), base_url="http://test")
        finally:
            archive._open = real
            assert not list(d.glob("N1.fits*"))  # nothing kept
    return call


CALL_CASES = [
    Case("aas_different_filters", "call", "error", "filter i but the first input",
         "alignAndStack of an r and an i stack", aas_different_filters),
    Case("aas_different_binning", "call", "error", "binning (CCDSUM) 4x4 but the first",
         "alignAndStack of a 2x2 and a 4x4 stack", aas_different_binning),
    Case("aas_pixel_scale_differs", "call", "error", "pixel scale 0.2880 arcsec but",
         "alignAndStack inputs with no CCDSUM and twice the pixel scale",
         aas_pixel_scale_differs),
    Case("aas_device_input", "call", "error", "/dev/zero: not a regular file",
         "alignAndStack given /dev/zero", aas_device_input),
    Case("aas_not_fits", "call", "error", "notes.fits: not a readable FITS file",
         "alignAndStack given a text file named .fits", aas_not_fits),
    Case("aas_zero_exptime", "call", "error", "keyword EXPTIME: 0.0",
         "alignAndStack input with EXPTIME = 0", aas_zero_exptime),
    Case("disk_full_in_job", "call", "error",
         "rule stack_bias: calibrations/processed_bias/N1_bias.fits not made: "
         "No space left on device (ENOSPC): while writing in ", "a full disk while a job writes",
         disk_full_in_job),
    Case("output_folder_is_a_file_in_job", "call", "error",
         "N1_mosaic.fits not made: File exists (EEXIST): ",
         "the product's folder is a file", output_folder_is_a_file_in_job),
    Case("download_name_with_nul", "call", "error", "NUL or another control character",
         "a file-list entry whose name holds a NUL", download_name_with_nul),
    Case("download_name_too_long", "call", "error", "more than a file name can be (250)",
         "a file-list entry with a 270-character name", download_name_too_long),
    Case("download_size_not_a_number", "call", "error",
         "file_size '1.2 MB' is not a whole number of bytes",
         "a file-list entry whose size is not a number", download_size_not_a_number),
    Case("download_negative_size", "call", "error", "data_size -5 is negative",
         "a file-list entry with a negative size", download_negative_size),
    Case("download_body_longer_than_announced", "call", "error",
         "N1.fits: http://test/file/N1.fits sent more than the announced 4000 bytes",
         "a server sending zeros without end after the file", download_body_longer_than_announced),
]

CASES = MANIFEST_CASES + WORKFLOW_CASES + CALL_CASES
