"""GMOS itself: lookup tables, sections, geometry, tags, descriptors,
illumination masks and header validation.
"""
