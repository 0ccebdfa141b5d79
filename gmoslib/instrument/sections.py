"""FITS/IRAF section strings <-> numpy slices.

Header sections (``DATASEC``, ``CCDSEC``, ...) are ``[x1:x2,y1:y2]``: 1-based, inclusive, x
(column) first; a :class:`Section` is 0-based, half-open ``(x1, x2, y1, y2)``.
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
        """numpy index ``(slice(y1, y2), slice(x1, x2))`` of a ``(ny, nx)`` array."""
        return (slice(self.y1, self.y2), slice(self.x1, self.x2))

    shape = property(lambda self: (self.y2 - self.y1, self.x2 - self.x1), doc="(ny, nx)")
    nx = property(lambda self: self.x2 - self.x1)
    ny = property(lambda self: self.y2 - self.y1)

    def to_string(self) -> str:
        """The header form ``[x1:x2,y1:y2]`` (1-based, inclusive)."""
        return format_section(self)

    def contains(self, other: Section) -> bool:
        return (self.x1 <= other.x1 and other.x2 <= self.x2
                and self.y1 <= other.y1 and other.y2 <= self.y2)


def parse_section(text: str) -> Section:
    """``'[x1:x2,y1:y2]'`` as a :class:`Section` (ValueError naming a malformed text)."""
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
