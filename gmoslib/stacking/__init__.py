"""The combiner every stacking step uses (reference 5.8).

For each output pixel of N frames (:func:`combine_block`): 1. choose the inputs of the best
available DQ class, never NO_DATA or non-finite ones; 2. reject by minmax, sigma clipping or
variance clipping (:mod:`.reject`); 3. combine by mean, median, lower median or
inverse-variance weighted mean, with the VAR that goes with it and the OR of the kept DQ.
:func:`stack_frames` does it in row blocks, so that memory is set by a budget, not by the
number of frames (:mod:`.blocks`).  The plain path works on float64 values in which an
unused input is NaN; beside it one fast path (:mod:`.clean`) takes the mean of the pixels
that a clipped mean leaves whole, tested equal to the plain path.
"""

from .blocks import BYTES_PER_PIXEL, block_rows, stack_frames
from .clean import median_rows
from .combine import OPERATIONS, REJECTIONS, combine_block

__all__ = ["BYTES_PER_PIXEL", "OPERATIONS", "REJECTIONS", "block_rows", "combine_block",
           "median_rows", "stack_frames"]
