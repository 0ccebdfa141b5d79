"""Files: FITS through astropy (raw reading, SCI/VAR/DQ products, atomic writes), raw
directory entries, safe names, compressed raw files, provenance cards, the archive.
"""
