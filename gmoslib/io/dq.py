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

DQ_DTYPE = np.uint16
