"""Preparing a raw frame (the tutorial's prepare, overscanCorrect, addDQ, addVAR): per
amplifier the overscan subtracted and trimmed, DQ and read-noise VAR attached; and the raw
rows a stack reads back from the file.  Raw files are read, never modified.
"""

from __future__ import annotations

import os

import numpy as np

from gmoslib.calibration import overscan as oscan
from gmoslib.calibration import prepare as prep
from gmoslib.config.schema import step_values
from gmoslib.instrument import illum
from gmoslib.instrument.descriptors import Descriptors
from gmoslib.instrument.sections import format_section, parse_section
from gmoslib.io import dq as dqbits
from gmoslib.io.errors import RecipeError
from gmoslib.io.fitsio import Header, _scaled_float32, read_raw
from gmoslib.io.frame import Extension, Frame


def prepare_raw_frame(
    frame: Frame,
    desc: Descriptors,
    *,
    overscan: dict,
    bpm: Frame | None = None,
    copy_headers: bool = True,
    update_headers: bool = True,
    defer_sci: bool = False,
) -> Frame:
    """Overscan-correct, trim, and attach DQ and read-noise VAR to every amplifier.

    frame : raw (float32 ADU or the stored integers).  Per amplifier: SCI (ADU, DATASEC, bias
    level removed), VAR = (read noise / gain)^2 ADU^2 (read-only broadcast), DQ: saturated
    (raw >= saturation level), ``bpm``, illumination mask (not biases, darks), Hamamatsu dead
    bottom rows (UNILLUMINATED | NO_DATA).  ``copy_headers=False`` updates the raw headers in
    place, ``update_headers=False`` leaves them.  ``defer_sci`` (unscaled raw integers of a
    frame only stacked): SCI a :class:`~gmoslib.calibration.overscan.RowLevelImage`, a DQ of
    whole-row flags only a :class:`~gmoslib.calibration.prepare.RowPlane`.
    """
    overscan = step_values("overscanCorrect", overscan)
    datasecs = desc.data_section()
    biassecs = desc.overscan_section()
    gains = desc.gain()
    read_noises = desc.read_noise()
    saturation = desc.saturation_level()
    xbin, ybin = desc.detector_x_bin(), desc.detector_y_bin()
    nbiascontam = overscan.get("nbiascontam")
    if nbiascontam is None:
        nbiascontam = desc.nbiascontam()
    hamamatsu = desc.detector_name(pretty=True).startswith("Hamamatsu")
    gain_setting = desc.gain_setting()
    illum_masks, illum_label = None, None
    if desc.observation_type().upper() not in ("BIAS", "DARK"):
        try:
            illum_masks, illum_label = illum.frame_illumination_masks(
                desc, [d.shape for d in datasecs], frame.filename)
        except illum.IllumMaskError as exc:
            raise RecipeError(str(exc)) from exc

    exts = []
    for i, ext in enumerate(frame.exts):
        datasec, biassec = datasecs[i], biassecs[i]
        gain, rn = float(gains[i]), float(read_noises[i])
        # stored integers (ADU = stored + BZERO): overscan measured and subtracted in stored
        # units (BZERO cancels), the data converted once, in the subtraction
        stored = np.asarray(ext.sci)
        bzero = 0.0
        if stored.dtype.kind in "iu":
            if float(ext.header.get("BSCALE", 1.0)) != 1.0:  # scaled integers: values first
                stored = _scaled_float32(stored, ext.header)
            else:
                bzero = float(ext.header.get("BZERO", 0.0))
        try:
            level, info = oscan.measure_overscan(
                stored, datasec, biassec, nbiascontam=nbiascontam, read_noise_adu=rn / gain,
                gain=gain, **{k: overscan[k] for k in ("function", "order", "lsigma", "hsigma",
                                                       "niter")})
        except ValueError as exc:
            raise RecipeError(f"{frame.filename} extension {i + 1}: {exc}") from exc
        if info.get("OVERSCAN") is not None:
            info["OVERSCAN"] = float(info["OVERSCAN"]) + bzero
        raw_data = stored[datasec.slice]  # a view: only the data section is converted
        integers = raw_data.dtype.kind in "iu"  # (finite: no need to look for NaN/inf)
        if defer_sci and integers:
            source = None
            if ext.source is not None and stored is ext.sci:
                path, offset = ext.source
                row_bytes = stored.strides[0]
                source = (path, offset + datasec.y1 * row_bytes
                          + datasec.x1 * stored.strides[1], row_bytes)
            sci = oscan.RowLevelImage(raw_data, level[datasec.y1:datasec.y2], source)
        else:
            sci = oscan.subtract_rows(raw_data, level[datasec.y1:datasec.y2])
        bpm_amp = _bpm_for_amp(bpm, ext.header, datasec.shape, xbin, ybin) if bpm else None
        row_bits = np.zeros(sci.shape[0], np.uint16)  # flags of whole rows
        if hamamatsu:
            dead = prep.hamamatsu_dead_rows(sci.shape[0], ybin,
                                            parse_section(ext.header["CCDSEC"]).y1)
            row_bits[dead] = dqbits.UNILLUMINATED | dqbits.NO_DATA
        unillum = illum_masks[i] if illum_masks is not None else None
        if unillum is not None and not unillum.any():
            unillum = None
        # saturation judged on the raw values (bias level in): stored >= level - BZERO
        saturation_stored = float(saturation[i]) - bzero
        if (defer_sci and integers and bpm_amp is None and unillum is None
                and not prep.any_saturated(raw_data, saturation_stored)):
            dq = prep.RowPlane(row_bits, sci.shape[1])
        else:
            dq = prep.make_dq(raw_data, saturation_stored, bpm=bpm_amp, unilluminated=unillum,
                              finite=integers)
            if row_bits.any():
                dq |= row_bits[:, None]
        var = np.broadcast_to(np.float32((rn / gain) ** 2), sci.shape)
        hdr = ext.header.copy() if copy_headers else ext.header
        exts.append(Extension(sci, var, dq, hdr))
        if not update_headers:
            continue
        ny, nx = sci.shape
        hdr["TRIMSEC"] = (format_section(datasec), "Raw data section before trimming")
        if "CRPIX1" in hdr and "CRPIX2" in hdr:  # the WCS reference pixel moves with the origin
            hdr["CRPIX1"] = float(hdr["CRPIX1"]) - datasec.x1
            hdr["CRPIX2"] = float(hdr["CRPIX2"]) - datasec.y1
        hdr["DATASEC"] = f"[1:{nx},1:{ny}]"
        hdr.remove("BIASSEC", ignore_missing=True)
        for key in ("OVERSEC", "OVERSCAN", "OVERRMS", "OVERRDNS"):
            if info.get(key) is not None:
                hdr[key] = info[key]
        hdr["GAIN"] = (gain, "Gain (e-/ADU), lookup table")
        hdr["RDNOISE"] = (rn, "Read noise (e-), lookup table")
        hdr["GAINSET"] = (gain_setting, "Gain setting")
        overscan_level = float(info.get("OVERSCAN") or 0.0)
        hdr["SATLEVEL"] = (float(saturation[i]) - overscan_level, "Saturation level (ADU)")
        hdr["BUNIT"] = "adu"

    phu = frame.phu.copy() if copy_headers else frame.phu
    if not update_headers:
        return Frame(phu, exts, frame.filename)
    phu["PREPARE"] = ("gmos-snake", "Frame prepared")
    phu["SUBOVER"] = ("gmos-snake", "Overscan subtracted")
    phu["TRIMOVER"] = ("gmos-snake", "Overscan trimmed")
    phu["TRIMMED"] = "yes"
    if illum_label is not None:
        # (a comment only where the card has room: astropy would truncate it, warning)
        comment = "Illumination mask (addIllumMaskToDQ)"
        phu["ILLUMMSK"] = (illum_label[:68], comment if len(illum_label) <= 28 else "")
    return Frame(phu, exts, frame.filename)


def _bpm_for_amp(bpm: Frame, header: Header, shape: tuple[int, int],
                 xbin: int, ybin: int) -> np.ndarray:
    """The part of a static BPM that covers one amplifier's data (boolean, ``shape``)."""
    ampname = header.get("AMPNAME")
    for ext in bpm.exts:
        if ext.header.get("AMPNAME") != ampname:
            continue
        bx, by = (int(v) for v in str(ext.header.get("CCDSUM", "1 1")).split())
        if (bx, by) != (xbin, ybin):
            raise RecipeError(
                f"BPM {bpm.filename} amplifier {ampname!r} has binning {bx}x{by}, "
                f"the data {xbin}x{ybin}"
            )
        mask = ext.dq if ext.dq is not None else ext.sci
        if "DATASEC" in ext.header:
            mask = mask[parse_section(ext.header["DATASEC"]).slice]
        bpm_ccd = parse_section(ext.header["CCDSEC"])
        amp_ccd = parse_section(header["CCDSEC"])
        x0 = (amp_ccd.x1 - bpm_ccd.x1) // xbin
        y0 = (amp_ccd.y1 - bpm_ccd.y1) // ybin
        if x0 < 0 or y0 < 0 or y0 + shape[0] > mask.shape[0] or x0 + shape[1] > mask.shape[1]:
            raise RecipeError(
                f"BPM {bpm.filename} amplifier {ampname!r} covers CCDSEC "
                f"{ext.header['CCDSEC']}, which does not contain the data's {header['CCDSEC']}"
            )
        return np.asarray(mask[y0:y0 + shape[0], x0:x0 + shape[1]]) != 0
    raise RecipeError(f"BPM {bpm.filename} has no amplifier {ampname!r}")


def load_prepared(path: str, *, overscan: dict, bpm: Frame | None = None,
                  update_headers: bool = True, defer_sci: bool = False) -> Frame:
    """Read a raw file and prepare it (:func:`prepare_raw_frame`)."""
    raw = read_raw(path, scaled=False)
    desc = Descriptors(raw.phu, [e.header for e in raw.exts], path)
    return prepare_raw_frame(raw, desc, overscan=overscan, bpm=bpm, copy_headers=False,
                             update_headers=update_headers, defer_sci=defer_sci)


class RawRows:
    """The raw integers of a RowLevelImage with a file source, read back from the
    uncompressed file a few rows at a time (``os.pread``), with their row levels."""

    __slots__ = ("path", "fd", "offset", "row_bytes", "dtype", "nx", "level")

    def __init__(self, image: oscan.RowLevelImage, fd: int):
        self.path, self.offset, self.row_bytes = image.source
        self.fd = fd
        self.dtype = image.stored.dtype
        self.nx = image.stored.shape[1]
        self.level = image.level

    def rows(self, y0: int, y1: int) -> oscan.RowLevelImage:
        width = self.nx * self.dtype.itemsize
        size = (y1 - y0 - 1) * self.row_bytes + width if y1 > y0 else 0
        buf = os.pread(self.fd, size, self.offset + y0 * self.row_bytes)
        if len(buf) != size:
            raise RecipeError(f"{self.path}: the raw file changed while it was read (got "
                              f"{len(buf)} of {size} bytes at offset "
                              f"{self.offset + y0 * self.row_bytes})")
        stored = np.ndarray((y1 - y0, self.nx), self.dtype, buffer=buf,
                            strides=(self.row_bytes, self.dtype.itemsize))
        return oscan.RowLevelImage(stored, self.level[y0:y1])
