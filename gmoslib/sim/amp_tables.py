"""Amplifier gain, read noise and nominal bias level of every GMOS amplifier (the simulator's
own copy, transcribed from the reference, section 2.2, independently of
``gmoslib.instrument``).

Each row is ``"AMPNAME": "g rn bias; g rn bias; g rn bias; g rn bias"`` for the read modes of
:data:`READ_MODES` in that order; g in electrons/ADU, rn (read noise) in electrons, bias
(nominal level) in ADU.  Tables are named by detector and era; :func:`amplifier` picks the
table by camera era (see ``cameras.CAMERAS``).
"""

from __future__ import annotations

from typing import NamedTuple

#: (read speed, gain setting) in the order of the columns of every row.
READ_MODES = (("slow", "low"), ("fast", "low"), ("fast", "high"), ("slow", "high"))


class AmpSetting(NamedTuple):
    """One amplifier in one read mode: gain (e-/ADU), read noise (e-), bias level (ADU)."""

    gain: float
    read_noise: float
    bias: float


_ROWS: dict[str, dict[str, str]] = {
    # GMOS-N Hamamatsu (UT date >= 2017-02-24; same values in DRAGONS' current and
    # 'Before20231214' dicts)
    "GN_HAMAMATSU": {
        "BI13-20-4k-1, 1": "1.568 3.99 446; 1.91 5.88 501; 5.04 8.17 501; 1 0 0",
        "BI13-20-4k-1, 2": "1.62 4.12 448; 1.97 6.01 499; 5.05 8.75 502; 1 0 0",
        "BI13-20-4k-1, 3": "1.618 4.12 456; 1.95 6.88 501; 5.18 8.94 502; 1 0 0",
        "BI13-20-4k-1, 4": "1.675 4.06 456; 2.01 8.02 499; 5.21 9.9 500; 1 0 0",
        "BI12-09-4k-2, 1": "1.664 4.2 448; 2.01 5.86 501; 5.29 8.84 500; 1 0 0",
        "BI12-09-4k-2, 2": "1.633 3.88 451; 1.96 5.39 500; 5.14 8.19 500; 1 0 0",
        "BI12-09-4k-2, 3": "1.65 3.98 452; 1.97 6.34 501; 5.13 8.91 500; 1 0 0",
        "BI12-09-4k-2, 4": "1.69 4.2 439; 2.03 6.71 499; 5.29 9.42 500; 1 0 0",
        "BI13-18-4k-2, 1": "1.654 4.55 456; 1.95 6.79 499; 5.09 8.8 501; 1 0 0",
        "BI13-18-4k-2, 2": "1.587 4.02 456; 1.89 5.98 499; 4.86 8.03 502; 1 0 0",
        "BI13-18-4k-2, 3": "1.63 4.35 456; 1.95 6.13 501; 5.1 8.53 501; 1 0 0",
        "BI13-18-4k-2, 4": "1.604 4.04 441; 1.95 6.1 500; 5.03 8.13 501; 1 0 0",
    },
    # GMOS-S Hamamatsu, original CCDs, 2014 install to 2015-08-26
    "GS_HAMAMATSU_2014": {
        "BI5-36-4k-2, 1": "1.652 4.24 3218; 1.44 7.725 1829; 4.857 10.426 1932; 1 0 0",
        "BI5-36-4k-2, 2": "1.72 4 3359; 1.495 6.891 2430; 5.062 8.109 2288; 1 0 0",
        "BI5-36-4k-2, 3": "1.7 4.25 3270; 1.51 7.244 1901; 4.849 8.248 1760; 1 0 0",
        "BI5-36-4k-2, 4": "1.626 4.03 3316; 1.437 7.114 2494; 4.688 8.283 2098; 1 0 0",
        "BI11-33-4k-1, 1": "1.664 4.12 3025; 1.422 5.986 2113; 4.867 8.223 1890; 1 0 0",
        "BI11-33-4k-1, 2": "1.691 3.83 2942; 1.409 6.66 2067; 4.706 7.939 2106; 1 0 0",
        "BI11-33-4k-1, 3": "1.673 3.98 2948; 1.333 5.658 2342; 4.902 7.65 2217; 1 0 0",
        "BI11-33-4k-1, 4": "1.739 3.8 2985; 1.561 7.49 1808; 4.938 8.255 1947; 1 0 0",
        "BI12-34-4k-1, 1": "1.519 3.46 3162; 1.304 6.556 2745; 4.343 7.46 2467; 1 0 0",
        "BI12-34-4k-1, 2": "1.51 3.35 3113; 1.304 5.401 1823; 4.334 6.522 1962; 1 0 0",
        "BI12-34-4k-1, 3": "1.51 3.25 3071; 1.336 5.907 2201; 4.384 7.383 2142; 1 0 0",
        "BI12-34-4k-1, 4": "1.613 3.5 3084; 1.424 5.446 1263; 4.588 6.574 1617; 1 0 0",
    },
    # GMOS-S Hamamatsu, original CCDs after the 2015 video-board change, 2015-08-26 to
    # 2023-12-14 (same numbers in the 'Before20170224' and 'Before20231214' dicts)
    "GS_HAMAMATSU_2015": {
        "BI5-36-4k-2, 1": "1.852 4.21 500; 1.566 6.68 819; 5.24 8.93 2811; 1 0 0",
        "BI5-36-4k-2, 2": "1.878 4.24 897; 1.592 7.1 1040; 5.33 9.13 2854; 1 0 0",
        "BI5-36-4k-2, 3": "1.874 4.28 633; 1.593 6.35 856; 5.3 8.85 2932; 1 0 0",
        "BI5-36-4k-2, 4": "1.834 4.04 730; 1.556 5.49 841; 5.183 8.07 2909; 1 0 0",
        "BI11-33-4k-1, 1": "1.878 4.29 990; 1.613 5.19 2682; 5.334 8.35 3334; 1 0 0",
        "BI11-33-4k-1, 2": "1.84 4.07 760; 1.582 6.14 2551; 5.225 8.59 3272; 1 0 0",
        "BI11-33-4k-1, 3": "1.933 4.24 495; 1.648 7.38 2114; 5.459 8.62 3091; 1 0 0",
        "BI11-33-4k-1, 4": "1.908 3.9 905; 1.634 5.77 2172; 5.407 8.02 3252; 1 0 0",
        "BI12-34-4k-1, 1": "1.652 3.53 795; 1.445 6.36 1856; 4.828 7.94 3078; 1 0 0",
        "BI12-34-4k-1, 2": "1.761 3.72 470; 1.545 6.8 1322; 5.129 8.3 3078; 1 0 0",
        "BI12-34-4k-1, 3": "1.724 3.61 525; 1.478 7.88 1445; 4.894 7.99 3003; 1 0 0",
        "BI12-34-4k-1, 4": "1.813 4.15 230; 1.549 7.72 893; 5.12 9.34 3058; 1 0 0",
    },
    # GMOS-S Hamamatsu, 2023 CCD replacement, UT date ≥ 2023-12-14
    "GS_HAMAMATSU_2023": {
        "BI11-41-4k-2, 1": "2.038 4.22 331; 1.719 7.01 547; 5.758 11.74 2691; 1 0 0",
        "BI11-41-4k-2, 2": "2.016 4.29 312; 1.711 6.93 910; 5.708 10.19 2821; 1 0 0",
        "BI11-41-4k-2, 3": "2.02 4.2 360; 1.715 6.37 796; 5.719 10.45 2945; 1 0 0",
        "BI11-41-4k-2, 4": "1.943 4.05 512; 1.652 5.19 1033; 5.518 9.06 2976; 1 0 0",
        "BI13-19-4k-3, 1": "1.798 3.79 776; 1.533 5.2 3065; 5.091 11.27 3451; 1 0 0",
        "BI13-19-4k-3, 2": "1.745 3.68 108; 1.498 5.82 2278; 4.956 9.46 3193; 1 0 0",
        "BI13-19-4k-3, 3": "1.787 3.59 158; 1.525 5.24 1856; 5.082 7.99 3020; 1 0 0",
        "BI13-19-4k-3, 4": "1.787 4.22 1073; 1.531 5.46 3260; 5.1 9.52 3584; 1 0 0",
        "BI12-34-4k-1, 1": "1.594 3.39 514; 1.445 4.66 1890; 4.581 8.85 3046; 1 0 0",
        "BI12-34-4k-1, 2": "1.699 3.67 497; 1.545 5.1 1324; 4.893 7.96 3037; 1 0 0",
        "BI12-34-4k-1, 3": "1.681 3.39 525; 1.478 5.39 1449; 4.825 8.48 2963; 1 0 0",
        "BI12-34-4k-1, 4": "1.77 3.53 507; 1.549 9.57 920; 5.082 7.83 3033; 1 0 0",
    },
    # GMOS-N e2v deep-depletion (in use Nov 2011 to Feb 2017; same entries in the
    # "Before20150826" and "Before20170224" dicts)
    "GN_E2V_DD": {
        "e2v 10031-23-05, right": "2.31 3.17 1176; 2.53 4.2 1036; 5.34 7.8 768; 4.52 3.2 889",
        "e2v 10031-01-03, right": "2.27 3.22 909; 2.5 4.1 757; 5.27 5.8 429; 4.39 1.5 551",
        "e2v 10031-18-04, left": "2.17 3.46 1188; 2.43 4.3 1099; 5.16 6.4 787; 4.82 2.8 886",
        "e2v 10031-23-05, left": "2.31 3.41 1055; 2.53 4.3 917; 5.36 7 653; 4.59 3.1 776",
        "e2v 10031-01-03, left": "2.21 3.2 1099; 2.41 4.1 934; 5.1 5.7 560; 4.59 2.4 695",
        "e2v 10031-18-04, right": "2.33 3.44 1105; 2.56 4.4 997; 5.41 6.3 727; 4.33 3.1 827",
    },
    # EEV (GMOS-N and GMOS-S), UT 2006-08-31 to 2015-08-26 (gains as before 2006; read
    # noise and bias differ for some GS amps)
    "EEV_FROM_2006": {
        "EEV 9273-16-03, right": "2.1 3.5 738; 2.302 4.9 645; 4.839 6.6 580; 4.405 5.1 680",
        "EEV 9273-20-04, right": "2.337 3.3 608; 2.578 4.7 506; 5.432 7 455; 4.916 5.1 561",
        "EEV 9273-20-03, left": "2.3 3 370; 2.56 4.8 332; 5.397 6.9 224; 4.841 4.8 295",
        "EEV 9273-16-03, left": "2.012 3.5 485; 2.189 4.5 361; 4.629 5.9 283; 4.247 4.6 404",
        "EEV 9273-20-04, left": "2.28 3.9 669; 2.498 4.8 593; 5.275 11 533; 4.809 4.8 619",
        "EEV 9273-20-03, right": "2.257 3.3 737; 2.526 4.7 635; 5.354 8 570; 4.779 5 673",
        "EEV 8056-20-03, left": "1.94 3.2 602; 2.4 4.4 503; 5.3 6.8 443; 4.1 4.2 547",
        "EEV 8194-19-04, left": "2.076 3.85 667; 2.295 4.42 535; 5.051 7.35 449; 4.532 4.81 571",
        "EEV 8261-07-04, right": "2.097 3.16 644; 2.26 4.09 559; 4.833 7.88 448; 4.411 4.34 536",
        "EEV 8056-20-03, right": "2 3.4 579; 2.4 4.3 443; 5.3 6.3 370; 4.2 4.9 488",
        "EEV 8194-19-04, right": "2.131 3.83 674; 2.288 5.03 571; 4.95 11.37 494; 4.592 4.96 610",
        "EEV 8261-07-04, left": "2.056 3.27 784; 2.264 4.63 663; 4.868 8.56 528; 4.381 4.81 647",
        "EEV 2037-06-03, left": "2.372 3.98 714; 2.408 4.49 583; 5.054 6.84 517; 4.954 5.7 634",
        "EEV 2037-06-03, right": "2.403 4.01 572; 2.551 5.07 448; 5.253 6.54 377; 4.862 5.19 492",
    }
}
# EEV (GMOS-N and GMOS-S), before 2006-08-31: the 2006 table but for these amplifiers
_ROWS["EEV_BEFORE_2006"] = {**_ROWS["EEV_FROM_2006"], **{
    "EEV 8194-19-04, left": "2.076 3.69 579; 2.295 4.73 486; 5.051 6.14 392; 4.532 4.69 497",
    "EEV 8261-07-04, right": "2.097 3.31 627; 2.26 4.58 622; 4.833 6.2 784; 4.411 4.45 532",
    "EEV 8194-19-04, right": "2.131 3.93 614; 2.288 5.25 533; 4.95 8.41 459; 4.592 5.46 552",
    "EEV 8261-07-04, left": "2.056 3.65 749; 2.264 4.99 663; 4.868 6.92 536; 4.381 4.85 634",
    "EEV 2037-06-03, left": "2.372 3.97 609; 2.408 4.94 534; 5.054 6.33 456; 4.954 5.13 548",
    "EEV 2037-06-03, right": "2.403 4.28 566; 2.551 4.81 439; 5.253 6.28 369; 4.862 5.48 480",
}}


def _parse(row: str) -> tuple[AmpSetting, ...]:
    modes = tuple(AmpSetting(*(float(v) for v in cell.split())) for cell in row.split(";"))
    if len(modes) != len(READ_MODES):
        raise ValueError(f"amplifier row {row!r} has {len(modes)} read modes, not 4")
    return modes


#: table name -> AMPNAME -> one AmpSetting per read mode (READ_MODES order).
AMP_TABLES: dict[str, dict[str, tuple[AmpSetting, ...]]] = {
    table: {amp: _parse(row) for amp, row in rows.items()} for table, rows in _ROWS.items()
}


def amplifier(table: str, ampname: str, read_speed: str = "slow",
              gain_setting: str = "low") -> AmpSetting:
    """Gain, read noise and bias level of one amplifier from one named table.

    Raises KeyError naming the table and the amplifier, ValueError for an unknown read mode.
    """
    if (read_speed, gain_setting) not in READ_MODES:
        raise ValueError(f"unknown read mode ({read_speed!r}, {gain_setting!r}); expected one "
                         f"of {READ_MODES}")
    if ampname not in AMP_TABLES.get(table, {}):
        raise KeyError(f"amplifier {ampname!r} is not in simulator table {table!r}")
    return AMP_TABLES[table][ampname][READ_MODES.index((read_speed, gain_setting))]
