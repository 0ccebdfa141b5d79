"""The descriptor columns of one file's manifest row, and the kind of frame it is."""

from __future__ import annotations

from typing import TYPE_CHECKING

from gmoslib.instrument.descriptors import Descriptors

if TYPE_CHECKING:
    from astropy.io import fits

#: Manifest columns computed by :func:`describe`, in order.
DESCRIBED_COLUMNS = (
    "tags", "kind", "instrument", "observation_type", "observation_class", "object",
    "data_label", "observation_id", "program_id", "filter_name", "filter", "exposure_time",
    "ut_datetime", "ut_date", "detector_name", "detector", "detector_x_bin", "detector_y_bin",
    "binning", "read_speed_setting", "gain_setting", "read_mode", "roi", "amp_read_area",
    "array_name", "n_ext", "qa_state", "poffset", "qoffset", "pa", "ra", "dec", "group_id",
)


def frame_kind(tags: frozenset[str], observation_type: str) -> str:
    """'bias', 'flat' (twilight imaging flat), 'science', 'fringe' (processed) or 'other'."""
    if "FRINGE" in tags and "PROCESSED" in tags:
        return "fringe"
    if "RAW" not in tags or "BPM" in tags:
        return "other"
    if "BIAS" in tags:
        return "bias"
    if {"TWILIGHT", "FLAT", "IMAGE"} <= tags:
        return "flat"
    if ("IMAGE" in tags and not tags & {"CAL", "ACQUISITION", "THRUSLIT", "SPECT"}
            and observation_type == "OBJECT"):
        return "science"
    return "other"


#: Columns that are not the raw-form value of the descriptor of the same name.
_COMPUTED = {
    "tags": lambda d: ",".join(sorted(d.tags())),
    "kind": lambda d: frame_kind(d.tags(), d.observation_type()),
    "filter": lambda d: d.filter_name(pretty=True),
    "ut_datetime": lambda d: d.ut_datetime().isoformat(timespec="microseconds"),
    "ut_date": lambda d: d.ut_date().isoformat(),
    "detector": lambda d: d.detector_name(pretty=True),
    "roi": Descriptors.detector_roi_setting,
    "amp_read_area": lambda d: "+".join(d.amp_read_area()),
    "array_name": lambda d: "+".join(d.array_name()),
    "n_ext": lambda d: len(d.exts),
    "poffset": Descriptors.telescope_x_offset,
    "qoffset": Descriptors.telescope_y_offset,
    "pa": Descriptors.position_angle,
}


def describe(phu: fits.Header, exts: list[fits.Header], filename: str = "", *,
             descriptors: Descriptors | None = None) -> dict:
    """The descriptor columns of one file's manifest row (see DESCRIBED_COLUMNS), computed
    in that order (the first malformed keyword raises its DescriptorError); ``descriptors``:
    the file's Descriptors when the caller has them already."""
    d = descriptors or Descriptors(phu, exts, filename)
    return {col: _COMPUTED[col](d) if col in _COMPUTED else getattr(d, col)()
            for col in DESCRIBED_COLUMNS}
