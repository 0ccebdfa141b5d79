"""Observing nights and calibration windows of bounded span (reference section 6): which
raw calibrations of many nights make one master, and the time a master is dated by.
"""

from __future__ import annotations

import datetime as dt

#: Hours added to UT to get the local standard time at each site: Maunakea (Hawaii, UT-10,
#: no daylight saving) for GMOS-N, Cerro Pachon (Chile standard time, UT-4) for GMOS-S.
SITE_UTC_OFFSET_HOURS = {"GMOS-N": -10.0, "GMOS-S": -4.0}


def observing_night(when: dt.datetime, instrument: str) -> dt.date:
    """The night a frame belongs to, named by the local date of its evening.

    A night runs from local noon to the next local noon at the instrument's site, so the
    afternoon biases, the evening and morning twilights and the science frames of one night
    share a date whichever side of UT midnight they fall (an unknown instrument: UT noon)."""
    offset = SITE_UTC_OFFSET_HOURS.get(str(instrument).strip().upper(), 0.0)
    return (when + dt.timedelta(hours=offset - 12.0)).date()


def bounded_windows(times: list[dt.datetime], nights: list, max_span_days: float
                    ) -> list[list[int]]:
    """Split frames in time order into consecutive windows spanning at most max_span_days.

    times : the frames' UT start times, sorted; nights : each frame's observing night (any
    label, equal for frames of one night).  Returns the windows as lists of indices.  Whole
    nights are packed into a window while its span (last time - first time) stays within the
    limit; a night is cut only when it alone spans more than the limit."""
    limit = dt.timedelta(days=float(max_span_days))
    windows: list[list[int]] = []
    current: list[int] = []
    i, n = 0, len(times)
    while i < n:
        j = i
        while j < n and nights[j] == nights[i]:
            j += 1
        block = list(range(i, j))  # one night
        if current and times[j - 1] - times[current[0]] <= limit:
            current += block
        else:
            if current:
                windows.append(current)
            current = []
            for k in block:  # a new window; a night longer than the limit is cut by time
                if current and times[k] - times[current[0]] > limit:
                    windows.append(current)
                    current = []
                current.append(k)
        i = j
    if current:
        windows.append(current)
    return windows


def median_time(times: list[dt.datetime]) -> dt.datetime:
    """Median of UT times (the mean of the two middle ones for an even count)."""
    if not times:
        raise ValueError("median_time of no times")
    s = sorted(times)
    mid = len(s) // 2
    if len(s) % 2:
        return s[mid]
    return s[mid - 1] + (s[mid] - s[mid - 1]) / 2
