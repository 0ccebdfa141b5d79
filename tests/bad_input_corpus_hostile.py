"""Issue 17's cases of the bad-input corpus (see tests/bad_input_corpus.py for the levels and
outcomes): raw-directory entries that are not regular files, header values later steps rely
on, compressed files (bombs, fpack), awkward file names, config errors, old products, and the
``call`` level (alignAndStack inputs, system errors in jobs, the download client).
"""

from __future__ import annotations

import bz2
import gzip
import os
import shutil
from pathlib import Path

import numpy as np
from astropy.io import fits

from tests.bad_input_corpus import (
    FLAT,
    SCIENCE,
    Case,
    WorkflowSetup,
    _corrupt,
    _edited,
    _ext,
    _phu,
    _raw_dir,
    _src,
    _work,
)


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


def unfinished_download(base, d):
    (d / "N20170614S0338.fits.bz2.part").write_bytes(b"BZh91AY&SY" + bytes(100))
    return "N20170614S0338.fits.bz2.part"


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
    Case("unfinished_download", "manifest", "skip", "an unfinished download (.part",
         "a .fits.bz2.part left by an interrupted gmos download", unfinished_download),
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


def aligned_input_is_a_device(base, d):
    raw = _raw_dir(base, d)
    return WorkflowSetup(_work(d), {"raw_dir": str(raw), "align_and_stack":
                                    "{night: [results/N20170614S0201_stack.fits, /dev/zero]}"},
                         dry_run=True)


def odd_entries_do_not_block(base, d):
    """A dangling link, a folder and a link loop named like raw files among the good frames:
    the manifest sets them aside and the run goes on (Snakemake never sees them as inputs)."""
    raw = _raw_dir(base, d)
    dangling_link(base, raw)
    folder_named_fits(base, raw)
    link_loop(base, raw)
    return WorkflowSetup(_work(d), {"raw_dir": str(raw)}, ("manifest/manifest.tsv",))


WORKFLOW_CASES = [
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
    Case("aligned_input_is_a_device", "workflow", "fatal",
         "align_and_stack.night: /dev/zero is not a regular file",
         "config align_and_stack names /dev/zero", aligned_input_is_a_device),
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
    from gmoslib.io.fitsio import write_frame
    from gmoslib.io.frame import Extension, Frame

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
    from gmoslib.science.align_and_stack import align_and_stack

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
    from gmoslib.workflow.joberrors import reported_errors

    def call():
        with reported_errors("stack_bias", "calibrations/processed_bias/N1_bias.fits"), \
                open("/dev/full", "wb") as fh:
            fh.write(b"x" * 100_000)
            fh.flush()
    return call


def output_folder_is_a_file_in_job(base, d):
    """The product's folder is a file (made by hand, or a failed copy)."""
    from gmoslib.io.fitsio import atomic_output
    from gmoslib.workflow.joberrors import reported_errors

    (d / "mosaic").write_text("")
    target = d / "mosaic" / "N1_mosaic.fits"

    def call():
        with reported_errors("reduce_science_frame", str(target)), \
                atomic_output(str(target)) as tmp:
            Path(tmp).write_bytes(b"")
    return call


def _archive_entry(**changes):
    """One file-list entry of the archive, with changes: checking it must fail alone."""
    from gmoslib.io import archive

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
    from gmoslib.io import archive

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

