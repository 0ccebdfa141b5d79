"""Science frames: QE correction, mosaic, detection, WCS checks, alignment,
resampling, cosmic rays, fringe frames and corrections, the final stack.
"""
