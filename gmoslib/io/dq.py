"""Data-quality (DQ) bit definitions, as used by Gemini for GMOS (reference section 9).

DQ planes are ``uint16``; flags combine with bitwise OR.
"""

import numpy as np

GOOD = 0
BAD_PIXEL = 1
NON_LINEAR = 2
SATURATED = 4
COSMIC_RAY = 8
NO_DATA = 16
OVERLAP = 32
UNILLUMINATED = 64

#: Composite: pixels that carry no usable signal (bad, saturated, cosmic ray, no data).
FAIL = BAD_PIXEL | SATURATED | COSMIC_RAY | NO_DATA
#: Composite: everything except non-linear and saturated.
NOT_SIGNAL = 65535 ^ (NON_LINEAR | SATURATED)

DQ_DTYPE = np.uint16

#: Stacking preference, best class first (reference 5.8): for every output pixel only input
#: pixels of the best available class are combined.  Class 0 holds good, non-linear and
#: saturated pixels.
BADNESS_ORDER = (
    GOOD | NON_LINEAR | SATURATED,
    COSMIC_RAY,
    OVERLAP,
    BAD_PIXEL,
    UNILLUMINATED,
    NO_DATA,
)
