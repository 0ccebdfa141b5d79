"""Descriptors: named, typed values computed from GMOS headers (reference sections 1-4).

``Descriptors(phu, exts, filename)`` wraps the headers of one file, raw or processed;
method names follow DRAGONS.  A missing or malformed required keyword raises
:class:`DescriptorError` naming the file and the keyword.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from typing import TYPE_CHECKING

from gmoslib.instrument import amplifiers, detectors
from gmoslib.instrument.sections import Section, parse_section
from gmoslib.instrument.tags import tags as _tags
from gmoslib.io.errors import DescriptorError

if TYPE_CHECKING:
    from astropy.io import fits


_FILTER_ID = re.compile(r"_G.*$")  # reference 4: everything from the first "_G"


def pretty_filter_name(filter1: str, filter2: str) -> str:
    """DRAGONS' pretty filter name: component ids removed, open/Clear/ND wheels dropped,
    'open' if nothing remains, 'blank'/'dark' appended for blocking filters."""
    names, extra = [], []
    for raw in (filter1, filter2):
        name = _FILTER_ID.sub("", raw.strip())
        if "Block" in raw or "Dark" in raw:
            extra.append("blank")
        if "DK" in raw:
            extra.append("dark")
        lower = name.lower()
        if not name or "open" in lower or "clear" in lower or lower.startswith("nd"):
            continue
        names.append(name)
    names = names[:2] or ["open"]
    for word in ("blank", "dark"):  # blank wins over dark
        if word in extra:
            names = [word] if names == ["open"] else [*names, word]
            break
    return "&".join(names[:2])


class Descriptors:
    """Descriptor values of one GMOS file.  Each keyword is read from the headers once: a
    Descriptors describes them as they were when first asked (make a new one after
    changing them)."""

    def __init__(self, phu: fits.Header, exts: list[fits.Header], filename: str = ""):
        self.phu = phu
        self.exts = list(exts)
        self.filename = filename
        self._read: dict[tuple[bool, str], object] = {}  # (extensions?, key) -> raw value(s)

    def _raw(self, key: str, exts: bool):
        """The header value of ``key`` (PHU), or the list of values (extensions); None when
        missing (astropy header lookups are slow, and descriptors ask for some keys often)."""
        if (exts, key) not in self._read:
            self._read[exts, key] = ([h.get(key) for h in self.exts] if exts
                                     else self.phu.get(key))
        return self._read[exts, key]

    # ------------------------------------------------------------------ keyword access
    def _err(self, key: str, problem: str, ext: int | None = None) -> DescriptorError:
        where = f"extension {ext + 1} " if ext is not None else "primary header "
        name = self.filename or "<headers>"
        return DescriptorError(f"{name}: {where}keyword {key}: {problem}")

    def _phu(self, key: str, *, required: bool = True, default=None):
        value = self._raw(key, False)
        if value is not None and str(value).strip() != "":
            return value.strip() if isinstance(value, str) else value
        if required:
            raise self._err(key, "missing")
        return default

    def _ext(self, key: str, *, required: bool = True) -> list:
        if not self.exts:
            raise DescriptorError(f"{self.filename or '<headers>'}: no image extensions")
        out = []
        for i, value in enumerate(self._raw(key, True)):
            if value is None and required:
                raise self._err(key, "missing", i)
            out.append(value.strip() if isinstance(value, str) else value)
        return out

    def _number(self, key: str, value, ext: int | None = None) -> float:
        try:
            return float(value)
        except (TypeError, ValueError) as exc:
            raise self._err(key, f"not a number ({value!r})", ext) from exc

    def _sections(self, key: str) -> list[Section]:
        out = []
        for i, text in enumerate(self._ext(key)):
            try:
                out.append(parse_section(str(text)))
            except ValueError as exc:
                raise self._err(key, str(exc), i) from exc
        return out

    # ------------------------------------------------------------------ identity
    def instrument(self) -> str:
        return str(self._phu("INSTRUME"))

    def telescope(self) -> str:
        return str(self._phu("OBSERVAT", required=False) or self._phu("TELESCOP", default=""))

    def observation_type(self) -> str:
        return str(self._phu("OBSTYPE"))

    def observation_class(self) -> str:
        return str(self._phu("OBSCLASS", required=False, default=""))

    def object(self) -> str:
        return str(self._phu("OBJECT", required=False, default=""))

    def data_label(self) -> str:
        return str(self._phu("DATALAB", required=False, default=""))

    def observation_id(self) -> str:
        return str(self._phu("OBSID", required=False, default=""))

    def program_id(self) -> str:
        return str(self._phu("GEMPRGID", required=False, default=""))

    def tags(self) -> frozenset[str]:
        return _tags(self.phu, self.exts)

    # ------------------------------------------------------------------ optics
    def filter_name(self, pretty: bool = False) -> str:
        f1 = str(self._phu("FILTER1"))
        f2 = str(self._phu("FILTER2"))
        if pretty:
            return pretty_filter_name(f1, f2)
        return f"{f1}&{f2}"

    def disperser(self) -> str:
        return str(self._phu("GRATING", required=False, default=""))

    def focal_plane_mask(self) -> str:
        mask = str(self._phu("MASKNAME", required=False, default="None"))
        return "Imaging" if mask == "None" else mask

    def exposure_time(self) -> float | None:
        t = self._number("EXPTIME", self._phu("EXPTIME"))
        return None if t < 0 or t > 10000 else t

    # ------------------------------------------------------------------ time
    def _time_of_day(self, key: str) -> dt.timedelta | None:
        text = self._phu(key, required=False)
        if text is None:
            return None
        try:
            hh, mm, ss = str(text).split(":")
            seconds = int(hh) * 3600 + int(mm) * 60 + float(ss)
        except ValueError as exc:
            raise self._err(key, f"malformed time ({text!r}), expected hh:mm:ss.s") from exc
        if not 0 <= seconds < 86400 + 1:  # allow a leap second
            raise self._err(key, f"time out of range ({text!r})")
        return dt.timedelta(microseconds=round(seconds * 1e6))

    def _mjd_datetime(self) -> dt.datetime | None:
        for i, h in [(None, self.phu), *enumerate(self.exts)]:
            if "MJD-OBS" in h and h["MJD-OBS"] is not None:
                mjd = self._number("MJD-OBS", h["MJD-OBS"], i)
                if mjd > 0:
                    from astropy.time import Time

                    return Time(mjd, format="mjd", scale="utc").to_datetime()
        return None

    def ut_datetime(self) -> dt.datetime:
        """UT start (naive datetime, UTC), reference section 4: DATE-OBS (as is when it holds
        a time), else UTDATE, plus UT, TIME-OBS, STARTUT or UTSTART; else MJD-OBS.  Never the
        file-write time DATE (which DRAGONS copies into DATE-OBS for GMOS-N Hamamatsu files).
        """
        key = "DATE-OBS" if self._phu("DATE-OBS", required=False) is not None else "UTDATE"
        date_text = self._phu(key, required=False)
        if date_text is not None:
            date_text = str(date_text)
            if "T" in date_text:
                try:
                    return dt.datetime.fromisoformat(date_text.rstrip("Z"))
                except ValueError as exc:
                    raise self._err(key, f"malformed ({date_text!r}), expected "
                                    "YYYY-MM-DD or YYYY-MM-DDThh:mm:ss") from exc
            try:
                date = dt.date.fromisoformat(date_text)
            except ValueError as exc:
                raise self._err(key, f"malformed date ({date_text!r}), expected "
                                "YYYY-MM-DD") from exc
            midnight = dt.datetime.combine(date, dt.time())
            for tkey in ("UT", "TIME-OBS", "STARTUT", "UTSTART"):
                since = self._time_of_day(tkey)
                if since is not None:
                    return midnight + since
            mjd = self._mjd_datetime()
            if mjd is not None and mjd.date() == date:
                return mjd
            return midnight
        mjd = self._mjd_datetime()
        if mjd is not None:
            return mjd
        raise self._err("DATE-OBS", "missing (and no UTDATE or MJD-OBS)")

    def ut_date(self) -> dt.date:
        return self.ut_datetime().date()

    # ------------------------------------------------------------------ detector
    def detector_name(self, pretty: bool = False) -> str:
        if pretty:
            dettype = str(self._phu("DETTYPE"))
            if dettype not in detectors.DETTYPE_PRETTY:
                raise self._err("DETTYPE", f"unknown GMOS detector type {dettype!r}")
            return detectors.DETTYPE_PRETTY[dettype]
        return str(self._phu("DETID"))

    def _binning(self) -> tuple[int, int]:
        values = set()
        for i, text in enumerate(self._ext("CCDSUM")):
            try:
                x, y = (int(v) for v in str(text).split())
            except ValueError as exc:
                raise self._err("CCDSUM", f"malformed ({text!r}), expected 'x y'", i) from exc
            values.add((x, y))
        if len(values) != 1:
            raise DescriptorError(f"{self.filename or '<headers>'}: keyword CCDSUM: "
                                  f"extensions disagree ({sorted(values)})")
        return values.pop()

    def detector_x_bin(self) -> int:
        return self._binning()[0]

    def detector_y_bin(self) -> int:
        return self._binning()[1]

    def binning(self) -> str:
        x, y = self._binning()
        return f"{x}x{y}"

    def array_name(self) -> list[str]:
        return [str(v) for v in self._ext("AMPNAME")]

    def data_section(self) -> list[Section]:
        return self._sections("DATASEC")

    def overscan_section(self) -> list[Section]:
        return self._sections("BIASSEC")

    def detector_section(self) -> list[Section]:
        return self._sections("DETSEC")

    def array_section(self) -> list[Section]:
        return self._sections("CCDSEC")

    def amp_read_area(self) -> list[str]:
        return [f"'{a}':{d}" for a, d in zip(self.array_name(), self._ext("DETSEC"), strict=True)]

    def read_speed_setting(self) -> str:
        limit = 8000 if self.detector_name(pretty=True).startswith("Hamamatsu") else 2000
        return "slow" if self._number("AMPINTEG", self._phu("AMPINTEG")) > limit else "fast"

    def gain_setting(self) -> str:
        """'low' or 'high': GAINSET, else GAIN < 3 is low; all but one extension must agree."""
        settings = []
        for i, (gainset, orig, gain) in enumerate(zip(
                *(self._raw(k, True) for k in ("GAINSET", "GAINORIG", "GAIN")), strict=True)):
            if gainset is not None:
                settings.append(str(gainset).strip())
                continue
            key, value = ("GAINORIG", orig) if orig is not None else ("GAIN", gain)
            if value is None:
                raise self._err("GAIN", "missing", i)
            settings.append("low" if self._number(key, value, i) < 3.0 else "high")
        for s in ("low", "high"):
            if settings.count(s) >= len(settings) - 1:
                return s
        raise self._err("GAIN", "extensions disagree on the gain setting")

    def read_mode(self) -> str:
        return {("low", "slow"): "Normal", ("high", "fast"): "Bright",
                ("low", "fast"): "Acquisition", ("high", "slow"): "Engineering"}[
            (self.gain_setting(), self.read_speed_setting())]

    def _lut(self, which: int) -> list[float]:
        speed, gain = self.read_speed_setting(), self.gain_setting()
        date = self.ut_date()
        out = []
        for i, amp in enumerate(self.array_name()):
            try:
                out.append(amplifiers.amp_parameters(amp, speed, gain, date)[which])
            except KeyError as exc:
                raise self._err("AMPNAME", str(exc.args[0]), i) from exc
        return out

    def _prepared_or_lut(self, key: str, which: int) -> list[float]:
        if "PREPARED" in self.tags():
            return [float(v) for v in self._ext(key)]
        return self._lut(which)

    def gain(self) -> list[float]:
        """Gain per extension (e-/ADU): lookup table on raw data (not the raw GAIN keyword),
        GAIN once prepared."""
        return self._prepared_or_lut("GAIN", 0)

    def read_noise(self) -> list[float]:
        """Read noise per extension (electrons): lookup table on raw data, RDNOISE once
        prepared."""
        return self._prepared_or_lut("RDNOISE", 1)

    def bias_level(self) -> list[float]:
        """Nominal bias level per extension (ADU) from the lookup table (an estimate)."""
        return self._lut(2)

    def nbiascontam(self) -> int:
        return detectors.NBIASCONTAM[self.detector_name(pretty=True)]

    def saturation_level(self) -> list[float]:
        """Saturation (= non-linear) level per extension in ADU (reference 2.3).

        P = 65535 - b, b the bias level already removed (OVERSCAN; 0 on raw data).  EEV, or
        binning x*y > 2: P.  Else min((well + b*g)/g, P), well = FULL_WELL[DETECTOR][AMPNAME]
        (electrons) * x*y, g the lookup gain; P for an amplifier without a full well.
        """
        pretty = self.detector_name(pretty=True)
        x, y = self._binning()
        gains = self.gain()
        detector = str(self._phu("DETECTOR", required=False, default=""))
        wells = amplifiers.FULL_WELL.get(detector, {})
        out = []
        for i, (amp, g) in enumerate(zip(self.array_name(), gains, strict=True)):
            bias = self._number("OVERSCAN", self.exts[i].get("OVERSCAN", 0.0), i)
            adc = 65535.0 - bias
            if pretty == "EEV" or x * y > 2 or amp not in wells:
                out.append(adc)
                continue
            well = wells[amp] * x * y
            out.append(min((well + bias * g) / g, adc))
        return out

    def non_linear_level(self) -> list[float]:
        """Same as saturation_level() for GMOS (no separate non-linearity threshold)."""
        return self.saturation_level()

    def pixel_scale(self) -> float:
        """Arcsec per binned pixel (lookup value times the y binning)."""
        key = (self.instrument(), self.detector_name(pretty=True))
        if key not in detectors.PIXEL_SCALE:
            raise self._err("INSTRUME", f"no pixel scale for {key}")
        return detectors.PIXEL_SCALE[key] * self.detector_y_bin()

    def detector_rois_requested(self) -> list[tuple[int, int, int, int]]:
        """Requested ROIs, 0-based unbinned (y1, y2, x1, x2), from DETNROI and DETRO<n>X, XS,
        Y, YS (start 1-based unbinned, size binned); empty without DETRO keywords."""
        try:
            nroi = int(self.phu.get("DETNROI", 1))
        except (TypeError, ValueError) as exc:
            raise self._err("DETNROI", f"not an integer ({self.phu['DETNROI']!r})") from exc
        rois = []
        for n in range(1, nroi + 1):
            keys = [f"DETRO{n}X", f"DETRO{n}XS", f"DETRO{n}Y", f"DETRO{n}YS"]
            if not all(k in self.phu for k in keys):
                break
            try:
                x0, nx, y0, ny = (int(self.phu[k]) for k in keys)
            except (TypeError, ValueError) as exc:
                raise self._err(keys[0], "ROI keywords are not integers") from exc
            xb, yb = self._binning()
            rois.append((y0 - 1, y0 - 1 + ny * yb, x0 - 1, x0 - 1 + nx * xb))
        return rois

    def detector_roi_setting(self) -> str:
        """Name of the first requested ROI (:func:`detectors.roi_name`), 'Undefined' without
        DETRO keywords (reference 2.4)."""
        rois = self.detector_rois_requested()
        if not rois:
            return "Undefined"
        return detectors.roi_name(rois[0])

    # ------------------------------------------------------------------ pointing
    def _float(self, key: str, default: float = math.nan) -> float:
        try:
            return float(self._phu(key, required=False, default=default))
        except (TypeError, ValueError):
            return default

    def telescope_x_offset(self) -> float:
        return self._float("POFFSET")

    def telescope_y_offset(self) -> float:
        return self._float("QOFFSET")

    def position_angle(self) -> float:
        return self._float("PA")

    def ra(self) -> float:
        return self._float("RA")

    def dec(self) -> float:
        return self._float("DEC")

    def _port_sign(self, flipped_on: str) -> int:
        """-1 for ``flipped_on`` (INSTRUME) on the bottom port (INPORT 1), else 1."""
        return -1 if self.instrument() == flipped_on and int(self._float("INPORT", 0)) == 1 else 1

    def detector_x_offset(self) -> float:
        """POFFSET in binned pixels, sign flipped for GMOS-N on the bottom port."""
        return self._port_sign("GMOS-N") * (self.telescope_x_offset() / self.pixel_scale()
                                            * self.detector_y_bin() / self.detector_x_bin())

    def detector_y_offset(self) -> float:
        """QOFFSET in binned pixels, sign flipped for GMOS-S on the bottom port."""
        return self._port_sign("GMOS-S") * (self.telescope_y_offset() / self.pixel_scale())

    def qa_state(self) -> str:
        pireq = str(self._phu("RAWPIREQ", required=False, default="")).upper()
        gemqa = str(self._phu("RAWGEMQA", required=False, default="")).upper()
        if gemqa == "BAD":
            return "Fail"
        if gemqa == "CHECK" or pireq == "CHECK":
            return "CHECK"
        if pireq == "YES" and gemqa == "USABLE":
            return "Pass"
        if pireq == "NO" and gemqa == "USABLE":
            return "Usable"
        return "Undefined"

    def group_id(self) -> str:
        """Frames that may be combined share a group id (reference 4)."""
        parts = [self.binning().replace("x", "_"), self.read_mode(),
                 "+".join(self.amp_read_area())]
        tags = self.tags()
        if "BIAS" in tags:
            return "_".join(parts)
        if "FLAT" in tags:
            return "_".join([self.filter_name(pretty=True), *parts])
        return "_".join([self.observation_id(), self.filter_name(pretty=True), *parts])

