"""GMOS amplifiers: gain, read noise and nominal bias level by era and read mode, full-well
depths (facts from the reference, sections 2.1-2.3)."""

from __future__ import annotations

import datetime as _dt

READ_MODES = (("slow", "low"), ("fast", "low"), ("fast", "high"), ("slow", "high"))

#: Hamamatsu CCDs are not read in (slow, high): DRAGONS' placeholder row for that mode.
_NO_SLOW_HIGH = (1.0, 0.0, 0.0)


def _hamamatsu(rows: dict) -> dict:
    """Hamamatsu rows given for the first three read modes, with the (slow, high) placeholder."""
    return {amp: [*modes, _NO_SLOW_HIGH] for amp, modes in rows.items()}


# (gain e-/ADU, read noise e-, nominal bias ADU) per amplifier for the read modes
# (slow, low), (fast, low), (fast, high), (slow, high), transcribed from reference 2.2;
# tables newest first (the order of the fallback in _row).
_AMP_TABLES = {
    "GN_HAM": _hamamatsu({
        "BI13-20-4k-1, 1": [(1.568, 3.99, 446.0), (1.91, 5.88, 501.0), (5.04, 8.17, 501.0)],
        "BI13-20-4k-1, 2": [(1.62, 4.12, 448.0), (1.97, 6.01, 499.0), (5.05, 8.75, 502.0)],
        "BI13-20-4k-1, 3": [(1.618, 4.12, 456.0), (1.95, 6.88, 501.0), (5.18, 8.94, 502.0)],
        "BI13-20-4k-1, 4": [(1.675, 4.06, 456.0), (2.01, 8.02, 499.0), (5.21, 9.9, 500.0)],
        "BI12-09-4k-2, 1": [(1.664, 4.2, 448.0), (2.01, 5.86, 501.0), (5.29, 8.84, 500.0)],
        "BI12-09-4k-2, 2": [(1.633, 3.88, 451.0), (1.96, 5.39, 500.0), (5.14, 8.19, 500.0)],
        "BI12-09-4k-2, 3": [(1.65, 3.98, 452.0), (1.97, 6.34, 501.0), (5.13, 8.91, 500.0)],
        "BI12-09-4k-2, 4": [(1.69, 4.2, 439.0), (2.03, 6.71, 499.0), (5.29, 9.42, 500.0)],
        "BI13-18-4k-2, 1": [(1.654, 4.55, 456.0), (1.95, 6.79, 499.0), (5.09, 8.8, 501.0)],
        "BI13-18-4k-2, 2": [(1.587, 4.02, 456.0), (1.89, 5.98, 499.0), (4.86, 8.03, 502.0)],
        "BI13-18-4k-2, 3": [(1.63, 4.35, 456.0), (1.95, 6.13, 501.0), (5.1, 8.53, 501.0)],
        "BI13-18-4k-2, 4": [(1.604, 4.04, 441.0), (1.95, 6.1, 500.0), (5.03, 8.13, 501.0)],
    }),
    "GS_HAM_2023": _hamamatsu({
        "BI11-41-4k-2, 1": [(2.038, 4.22, 331.0), (1.719, 7.01, 547.0), (5.758, 11.74, 2691.0)],
        "BI11-41-4k-2, 2": [(2.016, 4.29, 312.0), (1.711, 6.93, 910.0), (5.708, 10.19, 2821.0)],
        "BI11-41-4k-2, 3": [(2.02, 4.2, 360.0), (1.715, 6.37, 796.0), (5.719, 10.45, 2945.0)],
        "BI11-41-4k-2, 4": [(1.943, 4.05, 512.0), (1.652, 5.19, 1033.0), (5.518, 9.06, 2976.0)],
        "BI13-19-4k-3, 1": [(1.798, 3.79, 776.0), (1.533, 5.2, 3065.0), (5.091, 11.27, 3451.0)],
        "BI13-19-4k-3, 2": [(1.745, 3.68, 108.0), (1.498, 5.82, 2278.0), (4.956, 9.46, 3193.0)],
        "BI13-19-4k-3, 3": [(1.787, 3.59, 158.0), (1.525, 5.24, 1856.0), (5.082, 7.99, 3020.0)],
        "BI13-19-4k-3, 4": [(1.787, 4.22, 1073.0), (1.531, 5.46, 3260.0), (5.1, 9.52, 3584.0)],
        "BI12-34-4k-1, 1": [(1.594, 3.39, 514.0), (1.445, 4.66, 1890.0), (4.581, 8.85, 3046.0)],
        "BI12-34-4k-1, 2": [(1.699, 3.67, 497.0), (1.545, 5.1, 1324.0), (4.893, 7.96, 3037.0)],
        "BI12-34-4k-1, 3": [(1.681, 3.39, 525.0), (1.478, 5.39, 1449.0), (4.825, 8.48, 2963.0)],
        "BI12-34-4k-1, 4": [(1.77, 3.53, 507.0), (1.549, 9.57, 920.0), (5.082, 7.83, 3033.0)],
    }),
    "GS_HAM_2015": _hamamatsu({
        "BI5-36-4k-2, 1": [(1.852, 4.21, 500.0), (1.566, 6.68, 819.0), (5.24, 8.93, 2811.0)],
        "BI5-36-4k-2, 2": [(1.878, 4.24, 897.0), (1.592, 7.1, 1040.0), (5.33, 9.13, 2854.0)],
        "BI5-36-4k-2, 3": [(1.874, 4.28, 633.0), (1.593, 6.35, 856.0), (5.3, 8.85, 2932.0)],
        "BI5-36-4k-2, 4": [(1.834, 4.04, 730.0), (1.556, 5.49, 841.0), (5.183, 8.07, 2909.0)],
        "BI11-33-4k-1, 1": [(1.878, 4.29, 990.0), (1.613, 5.19, 2682.0), (5.334, 8.35, 3334.0)],
        "BI11-33-4k-1, 2": [(1.84, 4.07, 760.0), (1.582, 6.14, 2551.0), (5.225, 8.59, 3272.0)],
        "BI11-33-4k-1, 3": [(1.933, 4.24, 495.0), (1.648, 7.38, 2114.0), (5.459, 8.62, 3091.0)],
        "BI11-33-4k-1, 4": [(1.908, 3.9, 905.0), (1.634, 5.77, 2172.0), (5.407, 8.02, 3252.0)],
        "BI12-34-4k-1, 1": [(1.652, 3.53, 795.0), (1.445, 6.36, 1856.0), (4.828, 7.94, 3078.0)],
        "BI12-34-4k-1, 2": [(1.761, 3.72, 470.0), (1.545, 6.8, 1322.0), (5.129, 8.3, 3078.0)],
        "BI12-34-4k-1, 3": [(1.724, 3.61, 525.0), (1.478, 7.88, 1445.0), (4.894, 7.99, 3003.0)],
        "BI12-34-4k-1, 4": [(1.813, 4.15, 230.0), (1.549, 7.72, 893.0), (5.12, 9.34, 3058.0)],
    }),
    "GS_HAM_2014": _hamamatsu({
        "BI5-36-4k-2, 1": [(1.652, 4.24, 3218.0), (1.44, 7.725, 1829.0), (4.857, 10.426, 1932.0)],
        "BI5-36-4k-2, 2": [(1.72, 4.0, 3359.0), (1.495, 6.891, 2430.0), (5.062, 8.109, 2288.0)],
        "BI5-36-4k-2, 3": [(1.7, 4.25, 3270.0), (1.51, 7.244, 1901.0), (4.849, 8.248, 1760.0)],
        "BI5-36-4k-2, 4": [(1.626, 4.03, 3316.0), (1.437, 7.114, 2494.0), (4.688, 8.283, 2098.0)],
        "BI11-33-4k-1, 1": [(1.664, 4.12, 3025.0), (1.422, 5.986, 2113.0), (4.867, 8.223, 1890.0)],
        "BI11-33-4k-1, 2": [(1.691, 3.83, 2942.0), (1.409, 6.66, 2067.0), (4.706, 7.939, 2106.0)],
        "BI11-33-4k-1, 3": [(1.673, 3.98, 2948.0), (1.333, 5.658, 2342.0), (4.902, 7.65, 2217.0)],
        "BI11-33-4k-1, 4": [(1.739, 3.8, 2985.0), (1.561, 7.49, 1808.0), (4.938, 8.255, 1947.0)],
        "BI12-34-4k-1, 1": [(1.519, 3.46, 3162.0), (1.304, 6.556, 2745.0), (4.343, 7.46, 2467.0)],
        "BI12-34-4k-1, 2": [(1.51, 3.35, 3113.0), (1.304, 5.401, 1823.0), (4.334, 6.522, 1962.0)],
        "BI12-34-4k-1, 3": [(1.51, 3.25, 3071.0), (1.336, 5.907, 2201.0), (4.384, 7.383, 2142.0)],
        "BI12-34-4k-1, 4": [(1.613, 3.5, 3084.0), (1.424, 5.446, 1263.0), (4.588, 6.574, 1617.0)],
    }),
    "GN_E2V": {
        "e2v 10031-23-05, right": [(2.31, 3.17, 1176.0), (2.53, 4.2, 1036.0), (5.34, 7.8, 768.0), (4.52, 3.2, 889.0)],
        "e2v 10031-01-03, right": [(2.27, 3.22, 909.0), (2.5, 4.1, 757.0), (5.27, 5.8, 429.0), (4.39, 1.5, 551.0)],
        "e2v 10031-18-04, left": [(2.17, 3.46, 1188.0), (2.43, 4.3, 1099.0), (5.16, 6.4, 787.0), (4.82, 2.8, 886.0)],
        "e2v 10031-23-05, left": [(2.31, 3.41, 1055.0), (2.53, 4.3, 917.0), (5.36, 7.0, 653.0), (4.59, 3.1, 776.0)],
        "e2v 10031-01-03, left": [(2.21, 3.2, 1099.0), (2.41, 4.1, 934.0), (5.1, 5.7, 560.0), (4.59, 2.4, 695.0)],
        "e2v 10031-18-04, right": [(2.33, 3.44, 1105.0), (2.56, 4.4, 997.0), (5.41, 6.3, 727.0), (4.33, 3.1, 827.0)],
    },
    "EEV_2006": {
        "EEV 9273-16-03, right": [(2.1, 3.5, 738.0), (2.302, 4.9, 645.0), (4.839, 6.6, 580.0), (4.405, 5.1, 680.0)],
        "EEV 9273-20-04, right": [(2.337, 3.3, 608.0), (2.578, 4.7, 506.0), (5.432, 7.0, 455.0), (4.916, 5.1, 561.0)],
        "EEV 9273-20-03, left": [(2.3, 3.0, 370.0), (2.56, 4.8, 332.0), (5.397, 6.9, 224.0), (4.841, 4.8, 295.0)],
        "EEV 9273-16-03, left": [(2.012, 3.5, 485.0), (2.189, 4.5, 361.0), (4.629, 5.9, 283.0), (4.247, 4.6, 404.0)],
        "EEV 9273-20-04, left": [(2.28, 3.9, 669.0), (2.498, 4.8, 593.0), (5.275, 11.0, 533.0), (4.809, 4.8, 619.0)],
        "EEV 9273-20-03, right": [(2.257, 3.3, 737.0), (2.526, 4.7, 635.0), (5.354, 8.0, 570.0), (4.779, 5.0, 673.0)],
        "EEV 8056-20-03, left": [(1.94, 3.2, 602.0), (2.4, 4.4, 503.0), (5.3, 6.8, 443.0), (4.1, 4.2, 547.0)],
        "EEV 8194-19-04, left": [(2.076, 3.85, 667.0), (2.295, 4.42, 535.0), (5.051, 7.35, 449.0), (4.532, 4.81, 571.0)],
        "EEV 8261-07-04, right": [(2.097, 3.16, 644.0), (2.26, 4.09, 559.0), (4.833, 7.88, 448.0), (4.411, 4.34, 536.0)],
        "EEV 8056-20-03, right": [(2.0, 3.4, 579.0), (2.4, 4.3, 443.0), (5.3, 6.3, 370.0), (4.2, 4.9, 488.0)],
        "EEV 8194-19-04, right": [(2.131, 3.83, 674.0), (2.288, 5.03, 571.0), (4.95, 11.37, 494.0), (4.592, 4.96, 610.0)],
        "EEV 8261-07-04, left": [(2.056, 3.27, 784.0), (2.264, 4.63, 663.0), (4.868, 8.56, 528.0), (4.381, 4.81, 647.0)],
        "EEV 2037-06-03, left": [(2.372, 3.98, 714.0), (2.408, 4.49, 583.0), (5.054, 6.84, 517.0), (4.954, 5.7, 634.0)],
        "EEV 2037-06-03, right": [(2.403, 4.01, 572.0), (2.551, 5.07, 448.0), (5.253, 6.54, 377.0), (4.862, 5.19, 492.0)],
    },
}
# Before 2006-08-31 only the GMOS-S EEV CCDs differ.
_AMP_TABLES["EEV_PRE2006"] = {**_AMP_TABLES["EEV_2006"], **{
    "EEV 8194-19-04, left": [(2.076, 3.69, 579.0), (2.295, 4.73, 486.0), (5.051, 6.14, 392.0), (4.532, 4.69, 497.0)],
    "EEV 8261-07-04, right": [(2.097, 3.31, 627.0), (2.26, 4.58, 622.0), (4.833, 6.2, 784.0), (4.411, 4.45, 532.0)],
    "EEV 8194-19-04, right": [(2.131, 3.93, 614.0), (2.288, 5.25, 533.0), (4.95, 8.41, 459.0), (4.592, 5.46, 552.0)],
    "EEV 8261-07-04, left": [(2.056, 3.65, 749.0), (2.264, 4.99, 663.0), (4.868, 6.92, 536.0), (4.381, 4.85, 634.0)],
    "EEV 2037-06-03, left": [(2.372, 3.97, 609.0), (2.408, 4.94, 534.0), (5.054, 6.33, 456.0), (4.954, 5.13, 548.0)],
    "EEV 2037-06-03, right": [(2.403, 4.28, 566.0), (2.551, 4.81, 439.0), (5.253, 6.28, 369.0), (4.862, 5.48, 480.0)],
}}

# Which tables DRAGONS consults for a UT date (newest era first): (start date, whether the
# read-noise choice excludes the start date itself, tables).  Reference 2.1: gain and bias
# switch to the newer tables ON the boundary date (>=), read noise only the day after (>) for
# the 2017-02-24 and 2023-12-14 boundaries; the 2015-08-26 and 2006-08-31 boundaries are >=
# for all.
_ERAS = (
    (_dt.date(2023, 12, 14), True, ("GN_HAM", "GS_HAM_2023")),
    (_dt.date(2017, 2, 24), True, ("GN_HAM", "GS_HAM_2015")),
    (_dt.date(2015, 8, 26), False, ("GS_HAM_2015", "GN_E2V")),
    (_dt.date(2006, 8, 31), False, ("EEV_2006", "GS_HAM_2014", "GN_E2V")),
)
_OLDEST_ERA = ("EEV_PRE2006",)


def _tables_for(date: _dt.date, for_read_noise: bool) -> tuple[str, ...]:
    """Names of the amplifier tables DRAGONS would consult on this UT date."""
    for start, rn_exclusive, tables in _ERAS:
        if date > start or (date == start and not (for_read_noise and rn_exclusive)):
            return tables
    return _OLDEST_ERA


def _row(ampname: str, tables: tuple[str, ...]) -> list[tuple[float, float, float]] | None:
    for name in (*tables, *_AMP_TABLES):
        row = _AMP_TABLES[name].get(ampname)
        if row is not None:
            return row
    return None


def amp_parameters(ampname: str, read_speed: str, gain_setting: str,
                   date: _dt.date) -> tuple[float, float, float]:
    """(gain e-/ADU, read noise e-, nominal bias ADU) of one amplifier on a UT date.

    The tables are chosen by UT date as DRAGONS does (reference 2.1): gain and bias with the
    ``>=`` rule, read noise with the ``>`` rule on 2017-02-24 and 2023-12-14.  An amplifier
    absent from that era's tables (data taken outside the detector's nominal period) falls
    back to the newest table that knows it.  Raises KeyError naming the amplifier when no
    table knows it, ValueError for an unknown read mode.
    """
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


def _wells(ccds, values):
    """{"<CCD>, <amp>": well} for amplifiers 1-4 of each CCD."""
    return {f"{ccd}, {amp}": float(w) for ccd, wells in zip(ccds, values, strict=True)
            for amp, w in zip((1, 2, 3, 4), wells, strict=True)}


#: Full-well depth (electrons, unbinned, slow/low) keyed by PHU DETECTOR then AMPNAME
#: (DRAGONS gmosThresholds, reference 2.3).  EEV has none (always ADC-limited).
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
