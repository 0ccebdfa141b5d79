"""gmoslib: GMOS imaging reduction primitives used by the gmos-snake workflow.

Everything here is a plain function over numpy arrays and FITS headers; nothing in this
package imports Snakemake or reads the workflow configuration.
"""

__version__ = "0.1.0"
