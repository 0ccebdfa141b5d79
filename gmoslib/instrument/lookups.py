"""Lookup tables for GMOS imaging (facts from the reference, sections 1, 2, 5.12-5.14, 7).

Amplifier gain / read noise / nominal bias level by era and read mode, full-well depths,
pixel scales, named ROIs, detector layouts of every detector generation, fringe decision.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass

from gmoslib.instrument.sections import Section

READ_MODES = (("slow", "low"), ("fast", "low"), ("fast", "high"), ("slow", "high"))

# (gain e-/ADU, read noise e-, nominal bias ADU) per amplifier for the read modes
# (slow, low), (fast, low), (fast, high), (slow, high), transcribed from reference 2.2.
_AMP_TABLES = {
    'GN_HAM': {
        'BI13-20-4k-1, 1': [(1.568, 3.99, 446.0), (1.91, 5.88, 501.0), (5.04, 8.17, 501.0), (1.0, 0.0, 0.0)],
        'BI13-20-4k-1, 2': [(1.62, 4.12, 448.0), (1.97, 6.01, 499.0), (5.05, 8.75, 502.0), (1.0, 0.0, 0.0)],
        'BI13-20-4k-1, 3': [(1.618, 4.12, 456.0), (1.95, 6.88, 501.0), (5.18, 8.94, 502.0), (1.0, 0.0, 0.0)],
        'BI13-20-4k-1, 4': [(1.675, 4.06, 456.0), (2.01, 8.02, 499.0), (5.21, 9.9, 500.0), (1.0, 0.0, 0.0)],
        'BI12-09-4k-2, 1': [(1.664, 4.2, 448.0), (2.01, 5.86, 501.0), (5.29, 8.84, 500.0), (1.0, 0.0, 0.0)],
        'BI12-09-4k-2, 2': [(1.633, 3.88, 451.0), (1.96, 5.39, 500.0), (5.14, 8.19, 500.0), (1.0, 0.0, 0.0)],
        'BI12-09-4k-2, 3': [(1.65, 3.98, 452.0), (1.97, 6.34, 501.0), (5.13, 8.91, 500.0), (1.0, 0.0, 0.0)],
        'BI12-09-4k-2, 4': [(1.69, 4.2, 439.0), (2.03, 6.71, 499.0), (5.29, 9.42, 500.0), (1.0, 0.0, 0.0)],
        'BI13-18-4k-2, 1': [(1.654, 4.55, 456.0), (1.95, 6.79, 499.0), (5.09, 8.8, 501.0), (1.0, 0.0, 0.0)],
        'BI13-18-4k-2, 2': [(1.587, 4.02, 456.0), (1.89, 5.98, 499.0), (4.86, 8.03, 502.0), (1.0, 0.0, 0.0)],
        'BI13-18-4k-2, 3': [(1.63, 4.35, 456.0), (1.95, 6.13, 501.0), (5.1, 8.53, 501.0), (1.0, 0.0, 0.0)],
        'BI13-18-4k-2, 4': [(1.604, 4.04, 441.0), (1.95, 6.1, 500.0), (5.03, 8.13, 501.0), (1.0, 0.0, 0.0)],
    },
    'GS_HAM_2014': {
        'BI5-36-4k-2, 1': [(1.652, 4.24, 3218.0), (1.44, 7.725, 1829.0), (4.857, 10.426, 1932.0), (1.0, 0.0, 0.0)],
        'BI5-36-4k-2, 2': [(1.72, 4.0, 3359.0), (1.495, 6.891, 2430.0), (5.062, 8.109, 2288.0), (1.0, 0.0, 0.0)],
        'BI5-36-4k-2, 3': [(1.7, 4.25, 3270.0), (1.51, 7.244, 1901.0), (4.849, 8.248, 1760.0), (1.0, 0.0, 0.0)],
        'BI5-36-4k-2, 4': [(1.626, 4.03, 3316.0), (1.437, 7.114, 2494.0), (4.688, 8.283, 2098.0), (1.0, 0.0, 0.0)],
        'BI11-33-4k-1, 1': [(1.664, 4.12, 3025.0), (1.422, 5.986, 2113.0), (4.867, 8.223, 1890.0), (1.0, 0.0, 0.0)],
        'BI11-33-4k-1, 2': [(1.691, 3.83, 2942.0), (1.409, 6.66, 2067.0), (4.706, 7.939, 2106.0), (1.0, 0.0, 0.0)],
        'BI11-33-4k-1, 3': [(1.673, 3.98, 2948.0), (1.333, 5.658, 2342.0), (4.902, 7.65, 2217.0), (1.0, 0.0, 0.0)],
        'BI11-33-4k-1, 4': [(1.739, 3.8, 2985.0), (1.561, 7.49, 1808.0), (4.938, 8.255, 1947.0), (1.0, 0.0, 0.0)],
        'BI12-34-4k-1, 1': [(1.519, 3.46, 3162.0), (1.304, 6.556, 2745.0), (4.343, 7.46, 2467.0), (1.0, 0.0, 0.0)],
        'BI12-34-4k-1, 2': [(1.51, 3.35, 3113.0), (1.304, 5.401, 1823.0), (4.334, 6.522, 1962.0), (1.0, 0.0, 0.0)],
        'BI12-34-4k-1, 3': [(1.51, 3.25, 3071.0), (1.336, 5.907, 2201.0), (4.384, 7.383, 2142.0), (1.0, 0.0, 0.0)],
        'BI12-34-4k-1, 4': [(1.613, 3.5, 3084.0), (1.424, 5.446, 1263.0), (4.588, 6.574, 1617.0), (1.0, 0.0, 0.0)],
    },
    'GS_HAM_2015': {
        'BI5-36-4k-2, 1': [(1.852, 4.21, 500.0), (1.566, 6.68, 819.0), (5.24, 8.93, 2811.0), (1.0, 0.0, 0.0)],
        'BI5-36-4k-2, 2': [(1.878, 4.24, 897.0), (1.592, 7.1, 1040.0), (5.33, 9.13, 2854.0), (1.0, 0.0, 0.0)],
        'BI5-36-4k-2, 3': [(1.874, 4.28, 633.0), (1.593, 6.35, 856.0), (5.3, 8.85, 2932.0), (1.0, 0.0, 0.0)],
        'BI5-36-4k-2, 4': [(1.834, 4.04, 730.0), (1.556, 5.49, 841.0), (5.183, 8.07, 2909.0), (1.0, 0.0, 0.0)],
        'BI11-33-4k-1, 1': [(1.878, 4.29, 990.0), (1.613, 5.19, 2682.0), (5.334, 8.35, 3334.0), (1.0, 0.0, 0.0)],
        'BI11-33-4k-1, 2': [(1.84, 4.07, 760.0), (1.582, 6.14, 2551.0), (5.225, 8.59, 3272.0), (1.0, 0.0, 0.0)],
        'BI11-33-4k-1, 3': [(1.933, 4.24, 495.0), (1.648, 7.38, 2114.0), (5.459, 8.62, 3091.0), (1.0, 0.0, 0.0)],
        'BI11-33-4k-1, 4': [(1.908, 3.9, 905.0), (1.634, 5.77, 2172.0), (5.407, 8.02, 3252.0), (1.0, 0.0, 0.0)],
        'BI12-34-4k-1, 1': [(1.652, 3.53, 795.0), (1.445, 6.36, 1856.0), (4.828, 7.94, 3078.0), (1.0, 0.0, 0.0)],
        'BI12-34-4k-1, 2': [(1.761, 3.72, 470.0), (1.545, 6.8, 1322.0), (5.129, 8.3, 3078.0), (1.0, 0.0, 0.0)],
        'BI12-34-4k-1, 3': [(1.724, 3.61, 525.0), (1.478, 7.88, 1445.0), (4.894, 7.99, 3003.0), (1.0, 0.0, 0.0)],
        'BI12-34-4k-1, 4': [(1.813, 4.15, 230.0), (1.549, 7.72, 893.0), (5.12, 9.34, 3058.0), (1.0, 0.0, 0.0)],
    },
    'GS_HAM_2023': {
        'BI11-41-4k-2, 1': [(2.038, 4.22, 331.0), (1.719, 7.01, 547.0), (5.758, 11.74, 2691.0), (1.0, 0.0, 0.0)],
        'BI11-41-4k-2, 2': [(2.016, 4.29, 312.0), (1.711, 6.93, 910.0), (5.708, 10.19, 2821.0), (1.0, 0.0, 0.0)],
        'BI11-41-4k-2, 3': [(2.02, 4.2, 360.0), (1.715, 6.37, 796.0), (5.719, 10.45, 2945.0), (1.0, 0.0, 0.0)],
        'BI11-41-4k-2, 4': [(1.943, 4.05, 512.0), (1.652, 5.19, 1033.0), (5.518, 9.06, 2976.0), (1.0, 0.0, 0.0)],
        'BI13-19-4k-3, 1': [(1.798, 3.79, 776.0), (1.533, 5.2, 3065.0), (5.091, 11.27, 3451.0), (1.0, 0.0, 0.0)],
        'BI13-19-4k-3, 2': [(1.745, 3.68, 108.0), (1.498, 5.82, 2278.0), (4.956, 9.46, 3193.0), (1.0, 0.0, 0.0)],
        'BI13-19-4k-3, 3': [(1.787, 3.59, 158.0), (1.525, 5.24, 1856.0), (5.082, 7.99, 3020.0), (1.0, 0.0, 0.0)],
        'BI13-19-4k-3, 4': [(1.787, 4.22, 1073.0), (1.531, 5.46, 3260.0), (5.1, 9.52, 3584.0), (1.0, 0.0, 0.0)],
        'BI12-34-4k-1, 1': [(1.594, 3.39, 514.0), (1.445, 4.66, 1890.0), (4.581, 8.85, 3046.0), (1.0, 0.0, 0.0)],
        'BI12-34-4k-1, 2': [(1.699, 3.67, 497.0), (1.545, 5.1, 1324.0), (4.893, 7.96, 3037.0), (1.0, 0.0, 0.0)],
        'BI12-34-4k-1, 3': [(1.681, 3.39, 525.0), (1.478, 5.39, 1449.0), (4.825, 8.48, 2963.0), (1.0, 0.0, 0.0)],
        'BI12-34-4k-1, 4': [(1.77, 3.53, 507.0), (1.549, 9.57, 920.0), (5.082, 7.83, 3033.0), (1.0, 0.0, 0.0)],
    },
    'GN_E2V': {
        'e2v 10031-23-05, right': [(2.31, 3.17, 1176.0), (2.53, 4.2, 1036.0), (5.34, 7.8, 768.0), (4.52, 3.2, 889.0)],
        'e2v 10031-01-03, right': [(2.27, 3.22, 909.0), (2.5, 4.1, 757.0), (5.27, 5.8, 429.0), (4.39, 1.5, 551.0)],
        'e2v 10031-18-04, left': [(2.17, 3.46, 1188.0), (2.43, 4.3, 1099.0), (5.16, 6.4, 787.0), (4.82, 2.8, 886.0)],
        'e2v 10031-23-05, left': [(2.31, 3.41, 1055.0), (2.53, 4.3, 917.0), (5.36, 7.0, 653.0), (4.59, 3.1, 776.0)],
        'e2v 10031-01-03, left': [(2.21, 3.2, 1099.0), (2.41, 4.1, 934.0), (5.1, 5.7, 560.0), (4.59, 2.4, 695.0)],
        'e2v 10031-18-04, right': [(2.33, 3.44, 1105.0), (2.56, 4.4, 997.0), (5.41, 6.3, 727.0), (4.33, 3.1, 827.0)],
    },
    'EEV_2006': {
        'EEV 9273-16-03, right': [(2.1, 3.5, 738.0), (2.302, 4.9, 645.0), (4.839, 6.6, 580.0), (4.405, 5.1, 680.0)],
        'EEV 9273-20-04, right': [(2.337, 3.3, 608.0), (2.578, 4.7, 506.0), (5.432, 7.0, 455.0), (4.916, 5.1, 561.0)],
        'EEV 9273-20-03, left': [(2.3, 3.0, 370.0), (2.56, 4.8, 332.0), (5.397, 6.9, 224.0), (4.841, 4.8, 295.0)],
        'EEV 9273-16-03, left': [(2.012, 3.5, 485.0), (2.189, 4.5, 361.0), (4.629, 5.9, 283.0), (4.247, 4.6, 404.0)],
        'EEV 9273-20-04, left': [(2.28, 3.9, 669.0), (2.498, 4.8, 593.0), (5.275, 11.0, 533.0), (4.809, 4.8, 619.0)],
        'EEV 9273-20-03, right': [(2.257, 3.3, 737.0), (2.526, 4.7, 635.0), (5.354, 8.0, 570.0), (4.779, 5.0, 673.0)],
        'EEV 8056-20-03, left': [(1.94, 3.2, 602.0), (2.4, 4.4, 503.0), (5.3, 6.8, 443.0), (4.1, 4.2, 547.0)],
        'EEV 8194-19-04, left': [(2.076, 3.85, 667.0), (2.295, 4.42, 535.0), (5.051, 7.35, 449.0), (4.532, 4.81, 571.0)],
        'EEV 8261-07-04, right': [(2.097, 3.16, 644.0), (2.26, 4.09, 559.0), (4.833, 7.88, 448.0), (4.411, 4.34, 536.0)],
        'EEV 8056-20-03, right': [(2.0, 3.4, 579.0), (2.4, 4.3, 443.0), (5.3, 6.3, 370.0), (4.2, 4.9, 488.0)],
        'EEV 8194-19-04, right': [(2.131, 3.83, 674.0), (2.288, 5.03, 571.0), (4.95, 11.37, 494.0), (4.592, 4.96, 610.0)],
        'EEV 8261-07-04, left': [(2.056, 3.27, 784.0), (2.264, 4.63, 663.0), (4.868, 8.56, 528.0), (4.381, 4.81, 647.0)],
        'EEV 2037-06-03, left': [(2.372, 3.98, 714.0), (2.408, 4.49, 583.0), (5.054, 6.84, 517.0), (4.954, 5.7, 634.0)],
        'EEV 2037-06-03, right': [(2.403, 4.01, 572.0), (2.551, 5.07, 448.0), (5.253, 6.54, 377.0), (4.862, 5.19, 492.0)],
    },
    'EEV_PRE2006': {
        'EEV 9273-16-03, right': [(2.1, 3.5, 738.0), (2.302, 4.9, 645.0), (4.839, 6.6, 580.0), (4.405, 5.1, 680.0)],
        'EEV 9273-20-04, right': [(2.337, 3.3, 608.0), (2.578, 4.7, 506.0), (5.432, 7.0, 455.0), (4.916, 5.1, 561.0)],
        'EEV 9273-20-03, left': [(2.3, 3.0, 370.0), (2.56, 4.8, 332.0), (5.397, 6.9, 224.0), (4.841, 4.8, 295.0)],
        'EEV 9273-16-03, left': [(2.012, 3.5, 485.0), (2.189, 4.5, 361.0), (4.629, 5.9, 283.0), (4.247, 4.6, 404.0)],
        'EEV 9273-20-04, left': [(2.28, 3.9, 669.0), (2.498, 4.8, 593.0), (5.275, 11.0, 533.0), (4.809, 4.8, 619.0)],
        'EEV 9273-20-03, right': [(2.257, 3.3, 737.0), (2.526, 4.7, 635.0), (5.354, 8.0, 570.0), (4.779, 5.0, 673.0)],
        'EEV 8056-20-03, left': [(1.94, 3.2, 602.0), (2.4, 4.4, 503.0), (5.3, 6.8, 443.0), (4.1, 4.2, 547.0)],
        'EEV 8194-19-04, left': [(2.076, 3.69, 579.0), (2.295, 4.73, 486.0), (5.051, 6.14, 392.0), (4.532, 4.69, 497.0)],
        'EEV 8261-07-04, right': [(2.097, 3.31, 627.0), (2.26, 4.58, 622.0), (4.833, 6.2, 784.0), (4.411, 4.45, 532.0)],
        'EEV 8056-20-03, right': [(2.0, 3.4, 579.0), (2.4, 4.3, 443.0), (5.3, 6.3, 370.0), (4.2, 4.9, 488.0)],
        'EEV 8194-19-04, right': [(2.131, 3.93, 614.0), (2.288, 5.25, 533.0), (4.95, 8.41, 459.0), (4.592, 5.46, 552.0)],
        'EEV 8261-07-04, left': [(2.056, 3.65, 749.0), (2.264, 4.99, 663.0), (4.868, 6.92, 536.0), (4.381, 4.85, 634.0)],
        'EEV 2037-06-03, left': [(2.372, 3.97, 609.0), (2.408, 4.94, 534.0), (5.054, 6.33, 456.0), (4.954, 5.13, 548.0)],
        'EEV 2037-06-03, right': [(2.403, 4.28, 566.0), (2.551, 4.81, 439.0), (5.253, 6.28, 369.0), (4.862, 5.48, 480.0)],
    },
}

# Which tables DRAGONS consults for a UT date (newest era first): (start date, whether the
# read-noise choice excludes the start date itself, tables).  Reference 2.1: gain and bias
# switch to the newer dict ON the boundary date (>=), read noise only the day after (>) for the
# 2017-02-24 and 2023-12-14 boundaries; the 2015-08-26 and 2006-08-31 boundaries are >= for all.
_ERAS = (
    (_dt.date(2023, 12, 14), True, ("GN_HAM", "GS_HAM_2023")),
    (_dt.date(2017, 2, 24), True, ("GN_HAM", "GS_HAM_2015")),
    (_dt.date(2015, 8, 26), False, ("GS_HAM_2015", "GN_E2V")),
    (_dt.date(2006, 8, 31), False, ("EEV_2006", "GS_HAM_2014", "GN_E2V")),
)
_OLDEST_ERA = ("EEV_PRE2006",)
_ALL_TABLES_NEWEST_FIRST = ("GN_HAM", "GS_HAM_2023", "GS_HAM_2015", "GS_HAM_2014", "GN_E2V",
                            "EEV_2006", "EEV_PRE2006")

#: Public name of the era boundaries (UT dates) for documentation and tests.
ERA_BOUNDARIES = tuple(start for start, _, _ in _ERAS)


def _tables_for(date: _dt.date, for_read_noise: bool) -> tuple[str, ...]:
    """Names of the amplifier tables DRAGONS would consult on this UT date."""
    for start, rn_exclusive, tables in _ERAS:
        if date > start or (date == start and not (for_read_noise and rn_exclusive)):
            return tables
    return _OLDEST_ERA


def _row(ampname: str, tables: tuple[str, ...]) -> list[tuple[float, float, float]] | None:
    for name in (*tables, *_ALL_TABLES_NEWEST_FIRST):
        row = _AMP_TABLES[name].get(ampname)
        if row is not None:
            return row
    return None


def amp_parameters(ampname: str, read_speed: str, gain_setting: str, date: _dt.date,
                   *, for_read_noise: bool = False) -> tuple[float, float, float]:
    """(gain e-/ADU, read noise e-, nominal bias ADU) of one amplifier on a UT date.

    The tables are chosen by UT date as DRAGONS does (reference 2.1): gain and bias with the
    ``>=`` rule, read noise with the ``>`` rule on 2017-02-24 and 2023-12-14, so on those two
    days the read noise comes from the older table.  An amplifier absent from that era's
    tables (data taken outside the detector's nominal period) falls back to the newest table
    that knows it.  ``for_read_noise`` is accepted for backwards compatibility and has no
    effect (every element of the tuple already follows its own rule).
    Raises KeyError naming the amplifier when no table knows it, ValueError for an unknown
    read mode.
    """
    del for_read_noise
    if (read_speed, gain_setting) not in READ_MODES:
        raise ValueError(f"unknown GMOS read mode ({read_speed!r}, {gain_setting!r}); expected "
                         f"one of {READ_MODES}")
    mode = READ_MODES.index((read_speed, gain_setting))
    row = _row(ampname, _tables_for(date, for_read_noise=False))
    rn_row = _row(ampname, _tables_for(date, for_read_noise=True))
    if row is None or rn_row is None:
        raise KeyError(f"amplifier {ampname!r} is in no GMOS gain/read-noise table")
    return row[mode][0], rn_row[mode][1], row[mode][2]


def amp_gain(ampname, read_speed, gain_setting, date) -> float:
    """Gain (e-/ADU) from the lookup table."""
    return amp_parameters(ampname, read_speed, gain_setting, date)[0]


def amp_read_noise(ampname, read_speed, gain_setting, date) -> float:
    """Read noise (electrons) from the lookup table (boundary dates go to the older era)."""
    return amp_parameters(ampname, read_speed, gain_setting, date)[1]


def amp_bias_level(ampname, read_speed, gain_setting, date) -> float:
    """Nominal bias level (ADU) from the lookup table."""
    return amp_parameters(ampname, read_speed, gain_setting, date)[2]


# Full-well depth (electrons, unbinned, slow/low) keyed by PHU DETECTOR then AMPNAME
# (DRAGONS gmosThresholds, reference 2.3).  EEV has none (always ADC-limited).
def _wells(ccds, values):
    out = {}
    for ccd, wells in zip(ccds, values, strict=True):
        for amp, w in zip((1, 2, 3, 4), wells, strict=True):
            out[f"{ccd}, {amp}"] = float(w)
    return out


FULL_WELL = {
    "GMOS-N + Hamamatsu": _wells(
        ("BI13-20-4k-1", "BI12-09-4k-2", "BI13-18-4k-2"),
        ((129000,) * 4, (124000, 121000, 123000, 123000), (123000, 125000, 124000, 126000))),
    "GMOS + Hamamatsu": _wells(
        ("BI5-36-4k-2", "BI11-33-4k-1", "BI12-34-4k-1"),
        ((108289, 113419, 111421, 106558), (109060, 110814, 110155, 113986),
         (99539.4, 98963.6, 98813.4, 105683))),
    "GMOS + Hamamatsu_new": _wells(
        ("BI5-36-4k-2", "BI11-33-4k-1", "BI12-34-4k-1"),
        ((120435, 121390, 121652, 118871), (121234, 119157, 125719, 123307),
         (106966, 114605, 112054, 118424))),
    "GMOS + Ham-2": _wells(
        ("BI11-41-4k-2", "BI13-19-4k-3", "BI12-34-4k-1"),
        ((131823, 130389, 130550, 125326), (115493, 113239, 115900, 114230),
         (105466, 112550, 111018, 116744))),
    "GMOS + e2v DD CCD42-90": {
        "e2v 10031-23-05, left": 110900.0, "e2v 10031-23-05, right": 105100.0,
        "e2v 10031-01-03, left": 115500.0, "e2v 10031-01-03, right": 108900.0,
        "e2v 10031-18-04, left": 115700.0, "e2v 10031-18-04, right": 109200.0,
    },
}

#: DRAGONS' name for the same table.
GMOS_THRESHOLDS = FULL_WELL

#: DETTYPE -> pretty detector name (reference 1.1).
DETTYPE_PRETTY = {
    "SDSU II CCD": "EEV",
    "SDSU II e2v DD CCD42-90": "e2vDD",
    "S10892": "Hamamatsu-S",
    "S10892-N": "Hamamatsu-N",
}

#: Unbinned pixel scale (arcsec/pixel) keyed by (INSTRUME, pretty detector) (reference 2.4).
PIXEL_SCALE = {
    ("GMOS-N", "EEV"): 0.0727,
    ("GMOS-N", "e2vDD"): 0.07288,
    ("GMOS-N", "Hamamatsu-N"): 0.0807,
    ("GMOS-S", "EEV"): 0.073,
    ("GMOS-S", "Hamamatsu-S"): 0.0800,
}

#: Overscan columns next to the data that are contaminated (reference 2.3, 5.5).
NBIASCONTAM = {"EEV": 4, "e2vDD": 5, "Hamamatsu-N": 4, "Hamamatsu-S": 4}

#: Integer gaps (unbinned pixels) between CCDs for simple tiling (reference 5.14).
TILE_GAP = {"Hamamatsu-N": 67, "Hamamatsu-S": 61, "EEV": 37, "e2vDD": 37}

#: Named ROIs, 0-based unbinned (y1, y2, x1, x2) per detector family (reference 2.4; the
#: EEV/e2vDD CCD2, Central Spectrum and Central Stamp entries are DRAGONS' gmosRoiSettings
#: values, which the reference does not list).  "Hamamatsu-N" holds GN-only variants.
ROI_SETTINGS = {
    "Hamamatsu": {
        "Full Frame": (0, 4224, 0, 6144),
        "CCD2": (0, 4224, 2048, 4096),
        "Central Spectrum": (1624, 2648, 0, 6144),
        "Central Stamp": (1986, 2286, 2922, 3222),
    },
    "Hamamatsu-N": {"Central Stamp": (1986, 2294, 2922, 3222)},
    "EEV": {
        "Full Frame": (0, 4608, 0, 6144),
        "CCD2": (0, 4608, 2048, 4096),
        "Central Spectrum": (1792, 2816, 0, 6144),
        "Central Stamp": (2154, 2454, 2922, 3222),
    },
    "EEV-2010": {"Central Spectrum": (1791, 2815, 0, 6144)},  # 1-row adjustment circa 2010
}


def roi_name(roi: tuple[int, int, int, int]) -> str:
    """Name of a 0-based unbinned (y1, y2, x1, x2) ROI, 'Custom' if it is none of the named
    ones.  Like DRAGONS, any detector family's definition of a name matches."""
    for table in ROI_SETTINGS.values():
        for name, sec in table.items():
            if tuple(roi) == sec:
                return name
    return "Custom"


#: Hamamatsu CCDs: bottom unbinned rows that are unsuitable for science (reference 1.1).
HAMAMATSU_DEAD_ROWS = 48


def needs_fringe(filter_pretty: str, detector_pretty: str) -> bool:
    """Whether a frame needs fringe correction (reference 7): z or Y on any detector, i,
    CaT or Z on EEV and e2vDD."""
    if filter_pretty in ("z", "Y"):
        return True
    return filter_pretty in ("i", "CaT", "Z") and detector_pretty in ("EEV", "e2vDD")


#: Fringe control pairs per detector set (DETID): ((x, y) of a fringe peak, (x, y) of the
#: neighbouring trough), 0-based unbinned detector-section pixels, about 20 per detector set
#: spread over the three CCDs (reference 5.12; values from DRAGONS' lookup table).  Detector
#: sets without pairs (the 2023 GMOS-S CCDs, the early GMOS-S EEV CCD1) are scaled by least
#: squares instead.
FRINGE_CONTROL_PAIRS = {
    # GMOS-N EEV
    "EEV9273-16-03EEV9273-20-04EEV9273-20-03": (
        ((997, 2724), (1117, 2724)), ((1312, 3570), (1309, 3666)),
        ((1480, 936), (1438, 1023)), ((1720, 4221), (1837, 4245)),
        ((1816, 1788), (1888, 1848)), ((2157, 735), (2250, 696)),
        ((2220, 4254), (2340, 4329)), ((2646, 1176), (2640, 1092)),
        ((2748, 1944), (2880, 1893)), ((2955, 3528), (2925, 3618)),
        ((2970, 3024), (2991, 3129)), ((3192, 1389), (3288, 1416)),
        ((3519, 2466), (3546, 2547)), ((3840, 3474), (3926, 3536)),
        ((3846, 1362), (3885, 1428)), ((3936, 2142), (3963, 2043)),
        ((4511, 462), (4571, 354)), ((4538, 1185), (4658, 1173)),
        ((4775, 4212), (4688, 4209)), ((5186, 2205), (5090, 2292)),
    ),
    # GMOS-S EEV (after the CCD1 replacement)
    "EEV2037-06-03EEV8194-19-04EEV8261-07-04": (
        ((1500, 3524), (1422, 3470)), ((1668, 1364), (1670, 1448)),
        ((1802, 2200), (1852, 2204)), ((1856, 3352), (1913, 3336)),
        ((1880, 1344), (1922, 1280)), ((2248, 3060), (2282, 3034)),
        ((2250, 1398), (2178, 1344)), ((2416, 2114), (2448, 2108)),
        ((2584, 4380), (2655, 4377)), ((2814, 3134), (2808, 3082)),
        ((3138, 2724), (3148, 2680)), ((3342, 1918), (3410, 1922)),
        ((3398, 810), (3451, 806)), ((3481, 3346), (3473, 3301)),
        ((3846, 1734), (3904, 1757)), ((3918, 2500), (3948, 2504)),
        ((4270, 734), (4332, 776)), ((4482, 3210), (4464, 3296)),
        ((4678, 2004), (4718, 1996)), ((5096, 2168), (5106, 2244)),
    ),
    # GMOS-N e2v deep depletion
    "e2v 10031-23-05,10031-01-03,10031-18-04": (
        ((1701, 980), (1765, 968)), ((1717, 1384), (1771, 1392)),
        ((1913, 1764), (1893, 1848)), ((1945, 3800), (1949, 3708)),
        ((2488, 3048), (2512, 3144)), ((2508, 3420), (2488, 3332)),
        ((2564, 1844), (2600, 1700)), ((2535, 2607), (2499, 2622)),
        ((2572, 2148), (2592, 2285)), ((2624, 856), (2882, 836)),
        ((2796, 1350), (2752, 1352)), ((2952, 1984), (2892, 1936)),
        ((3186, 346), (3142, 342)), ((3540, 3171), (3624, 3183)),
        ((3560, 1636), (3508, 1648)), ((3838, 2222), (3878, 2230)),
        ((3792, 4232), (3720, 4196)), ((4347, 1248), (4447, 1260)),
        ((4471, 2212), (4527, 2206)), ((4559, 1970), (4500, 1970)),
    ),
    # GMOS-S Hamamatsu (original CCDs, 2014-2023)
    "BI5-36-4k-2,BI11-33-4k-1,BI12-34-4k-1": (
        ((1285, 1766), (1325, 1777)), ((1473, 2822), (1517, 2766)),
        ((1519, 1874), (1527, 1814)), ((1867, 1970), (1895, 2020)),
        ((1963, 3336), (1973, 3400)), ((2527, 3488), (2611, 3448)),
        ((2583, 2650), (2587, 2681)), ((2668, 3530), (2620, 3454)),
        ((2706, 2212), (2716, 2253)), ((2782, 603), (2833, 574)),
        ((2995, 4027), (3031, 4050)), ((3024, 1132), (3060, 1134)),
        ((3056, 3638), (2998, 3636)), ((3398, 1361), (3473, 1402)),
        ((3535, 2993), (3673, 3006)), ((3555, 725), (3574, 765)),
        ((3726, 1580), (3820, 1608)), ((3750, 1950), (3750, 2006)),
        ((4462, 947), (4507, 893)), ((4681, 1448), (4755, 1442)),
    ),
    # GMOS-N Hamamatsu
    "BI13-20-4k-1,BI12-09-4k-2,BI13-18-4k-2": (
        ((1582, 3800), (1615, 3822)), ((1734, 1743), (1759, 1710)),
        ((1938, 1782), (1915, 1770)), ((2307, 3711), (2256, 3750)),
        ((2321, 681), (2353, 615)), ((2334, 3900), (2327, 3891)),
        ((2454, 2139), (2526, 2127)), ((2676, 1617), (2682, 1686)),
        ((2955, 2682), (2886, 2691)), ((3165, 1560), (3066, 1560)),
        ((3278, 3483), (3294, 3513)), ((3366, 2496), (3370, 2436)),
        ((3534, 1572), (3468, 1554)), ((3849, 645), (3967, 657)),
        ((3894, 3243), (3948, 3297)), ((4050, 1761), (3960, 1776)),
        ((4226, 3258), (4262, 3201)), ((4382, 1800), (4434, 1782)),
        ((4763, 1578), (4766, 1539)), ((4868, 1914), (4928, 1908)),
    ),
}


# ----------------------------------------------------------------------------- layouts
@dataclass(frozen=True)
class AmpLayout:
    """One amplifier of a detector: CCD, its read area and where its overscan is."""

    ampname: str
    ccdname: str
    ccd_index: int  # 0, 1, 2 from left to right on the detector
    ccdsec: Section  # unbinned, 0-based, within the CCD
    detsec: Section  # unbinned, 0-based, within the 3-CCD detector (no gaps)
    overscan_side: str  # 'left' or 'right' of the data columns


@dataclass(frozen=True)
class DetectorLayout:
    """A GMOS detector generation as it is read out (amplifiers in file order)."""

    key: str
    instrument: str
    observatory: str
    dettype: str
    detid: str
    detector: str  # PHU DETECTOR
    pretty: str
    namps_per_ccd: int
    ccd_shape: tuple[int, int]  # (nx, ny) unbinned read area of one CCD
    ccdsize: str  # CCDSIZE keyword
    amps: tuple[AmpLayout, ...]

    @property
    def pixel_scale(self) -> float:
        return PIXEL_SCALE[(self.instrument, self.pretty)]

    @property
    def nccds(self) -> int:
        return 3


def _ham_amps(ccds: tuple[str, str, str]) -> tuple[AmpLayout, ...]:
    amps = []
    for k, ccd in enumerate(ccds):
        for j, amp in enumerate((4, 3, 2, 1)):
            x1 = 512 * j
            amps.append(AmpLayout(
                f"{ccd}, {amp}", ccd, k, Section(x1, x1 + 512, 0, 4224),
                Section(2048 * k + x1, 2048 * k + x1 + 512, 0, 4224),
                "right" if amp in (4, 2) else "left"))
    return tuple(amps)


def _eev3_amps(ccds: tuple[str, str, str], sides: tuple[str, str, str]) -> tuple[AmpLayout, ...]:
    """3-amp EEV read: one amplifier per CCD ('left'/'right' = amp name; overscan opposite)."""
    amps = []
    for k, (ccd, side) in enumerate(zip(ccds, sides, strict=True)):
        amps.append(AmpLayout(
            f"EEV {ccd}, {side}", f"EEV {ccd}", k, Section(0, 2048, 0, 4608),
            Section(2048 * k, 2048 * (k + 1), 0, 4608),
            "left" if side == "right" else "right"))
    return tuple(amps)


def _e2v_amps() -> tuple[AmpLayout, ...]:
    ids = ("10031-23-05", "10031-01-03", "10031-18-04")
    order = ((0, "right"), (0, "left"), (1, "right"), (1, "left"), (2, "left"), (2, "right"))
    amps = []
    for k, side in order:
        x1 = 1024 if side == "right" else 0
        amps.append(AmpLayout(
            f"e2v {ids[k]}, {side}", f"e2v DD ML2AR CCD42-90-1-F43 {ids[k]}", k,
            Section(x1, x1 + 1024, 0, 4608),
            Section(2048 * k + x1, 2048 * k + x1 + 1024, 0, 4608),
            "left" if side == "right" else "right"))
    return tuple(amps)


LAYOUTS: dict[str, DetectorLayout] = {
    "GN-Ham": DetectorLayout(
        "GN-Ham", "GMOS-N", "Gemini-North", "S10892-N",
        "BI13-20-4k-1,BI12-09-4k-2,BI13-18-4k-2", "GMOS-N + Hamamatsu", "Hamamatsu-N", 4,
        (2048, 4224), "[1:2048,1:4224]",
        _ham_amps(("BI13-20-4k-1", "BI12-09-4k-2", "BI13-18-4k-2"))),
    "GS-Ham": DetectorLayout(
        "GS-Ham", "GMOS-S", "Gemini-South", "S10892",
        "BI5-36-4k-2,BI11-33-4k-1,BI12-34-4k-1", "GMOS + Hamamatsu_new", "Hamamatsu-S", 4,
        (2048, 4224), "[1:2048,1:4224]",
        _ham_amps(("BI5-36-4k-2", "BI11-33-4k-1", "BI12-34-4k-1"))),
    "GS-Ham2023": DetectorLayout(
        "GS-Ham2023", "GMOS-S", "Gemini-South", "S10892",
        "BI11-41-4k-2,BI13-19-4k-3,BI12-34-4k-1", "GMOS + Ham-2", "Hamamatsu-S", 4,
        (2048, 4224), "[1:2048,1:4224]",
        _ham_amps(("BI11-41-4k-2", "BI13-19-4k-3", "BI12-34-4k-1"))),
    "GN-e2vDD": DetectorLayout(
        "GN-e2vDD", "GMOS-N", "Gemini-North", "SDSU II e2v DD CCD42-90",
        "e2v 10031-23-05,10031-01-03,10031-18-04", "GMOS + e2v DD CCD42-90", "e2vDD", 2,
        (2048, 4608), "[1:2048,1:4644]", _e2v_amps()),
    "GN-EEV": DetectorLayout(
        "GN-EEV", "GMOS-N", "Gemini-North", "SDSU II CCD",
        "EEV9273-16-03EEV9273-20-04EEV9273-20-03", "GMOS + Red1", "EEV", 1,
        (2048, 4608), "[1:2048,1:4644]",
        _eev3_amps(("9273-16-03", "9273-20-04", "9273-20-03"), ("right", "right", "left"))),
    "GS-EEV": DetectorLayout(
        "GS-EEV", "GMOS-S", "Gemini-South", "SDSU II CCD",
        "EEV2037-06-03EEV8194-19-04EEV8261-07-04", "GMOS + Blue1 + new CCD1", "EEV", 1,
        (2048, 4608), "[1:2048,1:4644]",
        _eev3_amps(("2037-06-03", "8194-19-04", "8261-07-04"), ("left", "left", "right"))),
    "GS-EEV-early": DetectorLayout(
        "GS-EEV-early", "GMOS-S", "Gemini-South", "SDSU II CCD",
        "EEV8056-20-03EEV8194-19-04EEV8261-07-04", "GMOS + Blue1", "EEV", 1,
        (2048, 4608), "[1:2048,1:4644]",
        _eev3_amps(("8056-20-03", "8194-19-04", "8261-07-04"), ("left", "left", "right"))),
}

OVERSCAN_COLUMNS = 32  # binned columns of serial overscan per amplifier

#: GS Hamamatsu video-board change: PHU DETECTOR becomes 'GMOS + Hamamatsu_new' (reference 1.1;
#: seen in a real 2019 GS header) and the amplifier tables change (reference 2.1).
GS_HAM_NEW_BOARDS = _dt.date(2015, 8, 26)


def detector_keyword(layout: DetectorLayout, date: _dt.date) -> str:
    """PHU DETECTOR string of a layout on a UT date: the GS original-CCD Hamamatsu read 'GMOS +
    Hamamatsu' before 2015-08-26 and 'GMOS + Hamamatsu_new' from then on; other layouts
    have a single value (``layout.detector``)."""
    if layout.key == "GS-Ham" and date < GS_HAM_NEW_BOARDS:
        return "GMOS + Hamamatsu"
    return layout.detector


def layout_for_detid(detid: str) -> DetectorLayout:
    """The layout whose DETID matches (KeyError naming the DETID otherwise)."""
    for layout in LAYOUTS.values():
        if layout.detid == detid:
            return layout
    raise KeyError(f"unknown GMOS DETID {detid!r}")


def raw_amp_sections(layout: DetectorLayout, xbin: int, ybin: int,
                     roi: Section | None = None) -> list[dict]:
    """Raw geometry of every amplifier read for a binning and an optional ROI.

    roi : unbinned 0-based detector section (None = full frame).  Returns, in file order and
    only for amplifiers that overlap the ROI: ampname, ccdname, ccd_index, ccdsec and detsec
    (unbinned, clipped to the ROI), datasec and biassec (binned, within the raw extension),
    naxis1, naxis2.
    """
    if xbin < 1 or ybin < 1:
        raise ValueError(f"binning must be positive, got {xbin}x{ybin}")
    out = []
    for amp in layout.amps:
        det, ccd = amp.detsec, amp.ccdsec
        if roi is not None:
            x1, x2 = max(det.x1, roi.x1), min(det.x2, roi.x2)
            y1, y2 = max(det.y1, roi.y1), min(det.y2, roi.y2)
            if x1 >= x2 or y1 >= y2:
                continue
            dx, dy = det.x1 - ccd.x1, det.y1 - ccd.y1
            det = Section(x1, x2, y1, y2)
            ccd = Section(x1 - dx, x2 - dx, y1 - dy, y2 - dy)
        if det.nx % xbin or det.ny % ybin:
            raise ValueError(
                f"ROI {roi} cut to amplifier {amp.ampname!r} gives {det.nx} x {det.ny} unbinned "
                f"pixels, not a multiple of the binning {xbin}x{ybin}")
        nx = det.nx // xbin
        ny = det.ny // ybin
        if amp.overscan_side == "right":
            datasec = Section(0, nx, 0, ny)
            biassec = Section(nx, nx + OVERSCAN_COLUMNS, 0, ny)
        else:
            biassec = Section(0, OVERSCAN_COLUMNS, 0, ny)
            datasec = Section(OVERSCAN_COLUMNS, OVERSCAN_COLUMNS + nx, 0, ny)
        out.append({
            "ampname": amp.ampname, "ccdname": amp.ccdname, "ccd_index": amp.ccd_index,
            "ccdsec": ccd, "detsec": det, "datasec": datasec, "biassec": biassec,
            "naxis1": nx + OVERSCAN_COLUMNS, "naxis2": ny,
        })
    if not out:
        raise ValueError(f"ROI {roi} overlaps no amplifier of {layout.key}")
    return out
