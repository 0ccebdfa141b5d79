"""FITS/IRAF section strings <-> numpy slices.

Header sections (``DATASEC``, ``BIASSEC``, ``CCDSEC``, ``DETSEC``, ...) are written as
``[x1:x2,y1:y2]``: 1-based, inclusive, x (column) first.  Inside ``gmoslib`` a section is a
:class:`Section` with 0-based, half-open bounds ``(x1, x2, y1, y2)``; ``section.slice`` gives the
numpy index ``(slice(y1, y2), slice(x1, x2))`` (row first).
"""

from __future__ import annotations

import re
from typing import NamedTuple

_SECTION_RE = re.compile(r"^\s*\[\s*(\d+)\s*:\s*(\d+)\s*,\s*(\d+)\s*:\s*(\d+)\s*\]\s*$")


class Section(NamedTuple):
    """0-based, half-open rectangle ``x1 <= x < x2``, ``y1 <= y < y2`` (pixels)."""

    x1: int
    x2: int
    y1: int
    y2: int

    @property
    def slice(self) -> tuple[slice, slice]:
        """numpy index ``(rows, columns)`` for a ``(ny, nx)`` array."""
        return (slice(self.y1, self.y2), slice(self.x1, self.x2))

    @property
    def shape(self) -> tuple[int, int]:
        """``(ny, nx)`` of the section."""
        return (self.y2 - self.y1, self.x2 - self.x1)

    @property
    def nx(self) -> int:
        return self.x2 - self.x1

    @property
    def ny(self) -> int:
        return self.y2 - self.y1

    def to_string(self) -> str:
        """The header form ``[x1:x2,y1:y2]`` (1-based, inclusive)."""
        return format_section(self)

    def contains(self, other: Section) -> bool:
        return (self.x1 <= other.x1 and other.x2 <= self.x2
                and self.y1 <= other.y1 and other.y2 <= self.y2)


def parse_section(text: str) -> Section:
    """Parse ``'[x1:x2,y1:y2]'`` (1-based inclusive) into a 0-based half-open :class:`Section`.

    Raises ``ValueError`` naming the text when it is not a well-formed, increasing section.
    """
    if not isinstance(text, str):
        raise ValueError(f"section must be a string like '[1:32,1:2112]', got {text!r}")
    m = _SECTION_RE.match(text)
    if m is None:
        raise ValueError(f"malformed section {text!r}: expected '[x1:x2,y1:y2]'")
    x1, x2, y1, y2 = (int(v) for v in m.groups())
    if x1 < 1 or y1 < 1 or x2 < x1 or y2 < y1:
        raise ValueError(f"section {text!r} is not 1-based and increasing")
    return Section(x1 - 1, x2, y1 - 1, y2)


def format_section(sec: Section) -> str:
    """Inverse of :func:`parse_section`."""
    return f"[{sec.x1 + 1}:{sec.x2},{sec.y1 + 1}:{sec.y2}]"
