"""Science frames: QE correction, mosaic, detection, WCS checks, alignment,
resampling, cosmic rays, fringe frames and corrections, the final stack.

The recipes, in the tutorial's order: :mod:`.reduce` (one science frame), :mod:`.fringe_frame`
(making and subtracting the processed fringe), :mod:`.stack` (stackScience) and
:mod:`.align_and_stack` (alignAndStack); the other modules hold their array primitives.
"""
