"""A GMOS frame in memory: a primary header and one :class:`Extension` per amplifier (raw:
one unnamed ``uint16`` image each) or mosaic (products: SCI, VAR float32 and DQ uint16 HDUs
sharing one ``EXTVER``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import numpy as np

if TYPE_CHECKING:
    from astropy.io.fits import Header


def _empty_header() -> Header:
    from astropy.io import fits

    return fits.Header()


@runtime_checkable
class LazyPlane(Protocol):
    """A (ny, nx) plane computed when read: ``np.asarray`` gives its values, ``rows(y0, y1)``
    rows y0:y1 (still lazy).  E.g. :class:`gmoslib.calibration.overscan.RowLevelImage` (sci),
    :class:`gmoslib.calibration.prepare.RowPlane` (dq)."""

    shape: tuple[int, int]
    dtype: np.dtype

    def rows(self, y0: int, y1: int) -> LazyPlane: ...

    def __array__(self, dtype=None, copy=None) -> np.ndarray: ...


@dataclass
class Extension:
    """One amplifier (or mosaic) of a frame.

    sci : (ny, nx) float32 -- pixel values, ADU or electrons (``header['BUNIT']``); or a
        :class:`LazyPlane` of them
    var : (ny, nx) float32 or None -- variance, in the square of sci's unit
    dq : (ny, nx) uint16 or None -- data-quality bits (:mod:`gmoslib.io.dq`); or a LazyPlane
    header : the extension header (an astropy ``fits.Header``: geometry, per-amp keywords)
    source : (file path, byte offset) of sci's pixels in an uncompressed file when sci is
        exactly them (``read_raw(scaled=False)``), so rows can be read again; else None
    """

    sci: np.ndarray
    var: np.ndarray | None
    dq: np.ndarray | None
    header: Header = field(default_factory=_empty_header)
    source: tuple[str, int] | None = None

    @property
    def shape(self) -> tuple[int, int]:
        return self.sci.shape


@dataclass
class Frame:
    """A primary header and its extensions, in file order.  ``filename`` is informative only."""

    phu: Header
    exts: list[Extension]
    filename: str = ""

    def __len__(self) -> int:
        return len(self.exts)
