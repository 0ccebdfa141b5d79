"""In-memory model of a GMOS frame: a primary header plus extensions.

Raw files hold one unnamed ``uint16`` image extension per amplifier.  Processed files hold, for
each amplifier (or for the single mosaic), three HDUs ``SCI`` (float32), ``VAR`` (float32) and
``DQ`` (uint16) that share one ``EXTVER``.  In memory each such set is an :class:`Extension`.
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
    """A (ny, nx) plane computed where it is read, row block by row block: ``np.asarray``
    gives its values, ``rows(y0, y1)`` the plane of rows y0:y1 (still lazy).  An
    :class:`Extension` may hold one as sci or dq (a prepared bias's overscan-corrected raw
    integers, :class:`gmoslib.calibration.overscan.RowLevelImage`; a DQ constant along rows,
    :class:`gmoslib.calibration.prepare.RowPlane`); a stacking reader may return one."""

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
    source : (file path, byte offset) of sci's pixels as stored in an uncompressed file,
        when sci is exactly them (raw integers from ``read_raw(scaled=False)``), so that
        rows can be read again from the file instead of being kept; else None
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
