"""The combiner every stacking step uses (reference 5.8).

Per output pixel of N frames (:func:`combine_block`): choose the inputs of the best DQ
class (never NO_DATA or non-finite), reject (minmax, sigma or variance clipping,
:mod:`.reject`), combine (mean, median, lower median, inverse-variance weighted mean) with
its VAR and the OR of the kept DQ.  :func:`stack_frames` works in row blocks whose memory is
set by a budget (:mod:`.blocks`); :mod:`.clean` is the one fast path beside the plain one.
"""

from .blocks import BYTES_PER_PIXEL, block_rows, stack_frames
from .clean import median_rows
from .combine import OPERATIONS, REJECTIONS, combine_block

__all__ = ["BYTES_PER_PIXEL", "OPERATIONS", "REJECTIONS", "block_rows", "combine_block",
           "median_rows", "stack_frames"]
