"""Helpers for the fitsio/manifest/select tests: simulated raw files plus junk files."""

from __future__ import annotations

import bz2
import gzip
import os
import shutil
from pathlib import Path

from astropy.io import fits


def small_raw(small_preset: Path, outdir) -> list[str]:
    """A copy in outdir of the simulator's 'small' preset, seed 1 (5 biases, 3 i-band
    twilights, 3 science frames; the ``small_preset`` fixture of conftest): the paths in
    simulate_preset's order."""
    shutil.copytree(small_preset / "raw", outdir, dirs_exist_ok=True)
    names = (small_preset / "files.txt").read_text().split()
    return [os.path.join(str(outdir), name) for name in names]


def add_junk(raw_dir, template: str) -> dict[str, str]:
    """Write junk files into raw_dir (template: a good raw .fits file).
    Returns file name -> a word the manifest reason must contain."""
    raw_dir = str(raw_dir)
    with open(template, "rb") as fh:
        good = fh.read()
    junk = {}

    open(os.path.join(raw_dir, "empty.fits"), "wb").close()
    junk["empty.fits"] = "empty"

    with open(os.path.join(raw_dir, "notes.fits"), "w") as fh:
        fh.write("this is not a FITS file\n" * 200)
    junk["notes.fits"] = "not a readable FITS"

    with open(os.path.join(raw_dir, "N20990101S0001.fits"), "wb") as fh:
        fh.write(good[: len(good) // 2])
    junk["N20990101S0001.fits"] = "truncated"

    packed = gzip.compress(good)
    with open(os.path.join(raw_dir, "N20990101S0002.fits.gz"), "wb") as fh:
        fh.write(packed[: len(packed) // 2] + b"\x00" * 64 + packed[len(packed) // 2 + 64:])
    junk["N20990101S0002.fits.gz"] = "corrupt compressed"

    hdr = fits.Header({"INSTRUME": "NIRI", "OBSTYPE": "OBJECT"})
    fits.HDUList([fits.PrimaryHDU(header=hdr), fits.ImageHDU(data=None)]).writeto(
        os.path.join(raw_dir, "niri.fits"))
    junk["niri.fits"] = "not GMOS"

    with fits.open(template) as hdul:
        hdul[0].header["GRATING"] = "R400+_G5305"
        hdul[0].header["MASKTYP"] = 1
        hdul[0].header["MASKNAME"] = "0.75arcsec"
        hdul[0].header["OBSMODE"] = "LONGSLIT"
        hdul.writeto(os.path.join(raw_dir, "N20990101S0003.fits"))
    junk["N20990101S0003.fits"] = "SPECT"

    with fits.open(template) as hdul:
        del hdul[-1]
        hdul.writeto(os.path.join(raw_dir, "N20990101S0004.fits"))
    junk["N20990101S0004.fits"] = "extensions"

    with fits.open(template) as hdul:
        hdul[1].header["DATASEC"] = "[1:5000,1:5000]"
        hdul.writeto(os.path.join(raw_dir, "N20990101S0005.fits"))
    junk["N20990101S0005.fits"] = "DATASEC"

    root = os.path.basename(template)[: -len(".fits")]
    with open(os.path.join(raw_dir, root + ".fits.bz2"), "wb") as fh:
        fh.write(bz2.compress(good))
    junk[root + ".fits.bz2"] = "duplicate of " + root + ".fits"
    shutil.copy(template, os.path.join(raw_dir, "ignored.txt"))
    return junk
