"""Calibrations: overscan, raw-frame preparation, bad pixels, master bias and
flat, and the association of calibrations to frames.
"""
