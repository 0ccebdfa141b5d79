"""Science frames: QE correction, mosaic, detection, WCS checks, alignment, resampling,
cosmic rays, fringe frames, the final stack.

Recipes, in the tutorial's order: :mod:`.reduce` (one science frame), :mod:`.fringe_frame`,
:mod:`.stack` (stackScience), :mod:`.align_and_stack`; the other modules are array primitives.
"""
