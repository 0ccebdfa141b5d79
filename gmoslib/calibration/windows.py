"""Observing nights and calibration windows of bounded span (reference section 6): which
raw calibrations of many nights make one master, and the time a master is dated by.
"""

from __future__ import annotations

import datetime as dt
import itertools

#: Hours added to UT to get the local standard time at each site: Maunakea (Hawaii, UT-10,
#: no daylight saving) for GMOS-N, Cerro Pachon (Chile standard time, UT-4) for GMOS-S.
SITE_UTC_OFFSET_HOURS = {"GMOS-N": -10.0, "GMOS-S": -4.0}


def observing_night(when: dt.datetime, instrument: str) -> dt.date:
    """The night a frame belongs to, named by the local date of its evening: from local noon
    at the instrument's site to the next (an unknown instrument: UT noon)."""
    offset = SITE_UTC_OFFSET_HOURS.get(str(instrument).strip().upper(), 0.0)
    return (when + dt.timedelta(hours=offset - 12.0)).date()


def bounded_windows(times: list[dt.datetime], nights: list, max_span_days: float
                    ) -> list[list[int]]:
    """Consecutive windows (lists of indices) spanning at most max_span_days, packed with
    whole nights; a night is cut only when it alone spans more.

    times : the frames' UT start times, sorted; nights : each frame's night (any label)."""
    limit = dt.timedelta(days=float(max_span_days))
    windows: list[list[int]] = []
    for _, night in itertools.groupby(range(len(times)), key=lambda k: nights[k]):
        night = list(night)
        if windows and times[night[-1]] - times[windows[-1][0]] <= limit:
            windows[-1] += night
            continue
        windows.append([])
        for k in night:  # a new window; a night longer than the limit is cut by time
            if windows[-1] and times[k] - times[windows[-1][0]] > limit:
                windows.append([])
            windows[-1].append(k)
    return windows


def median_time(times: list[dt.datetime]) -> dt.datetime:
    """Median of UT times (the mean of the two middle ones for an even count)."""
    if not times:
        raise ValueError("median_time of no times")
    s = sorted(times)
    low, high = s[(len(s) - 1) // 2], s[len(s) // 2]
    return low + (high - low) / 2
