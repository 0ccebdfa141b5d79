"""Safe frame names (the manifest's ``frame`` column, which products are named after) for any
POSIX raw name (non-ASCII, braces, control characters, non-UTF-8 bytes, too long), and
printable forms of any text.
"""

from __future__ import annotations

import hashlib
import re

#: Characters kept in a frame name (others become '_').
_UNSAFE = re.compile(r"[^A-Za-z0-9._+-]")
#: Longest frame name: products add up to ~40 characters (".NAME_mosaic.fits.XXXXXXXX.tmp",
#: ".NAME_stack.fits.scratch", output_suffix) to the 255-byte file-name limit.
MAX_FRAME_NAME = 120


def printable(text: str) -> str:
    """ASCII text for HISTORY cards, PNG titles and logs: non-ASCII characters, undecodable
    bytes and control characters as backslash escapes (``\\xe9``, ``\\n``)."""
    raw = text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    out = raw.encode("ascii", "backslashreplace").decode("ascii")
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in out)


def safe_frame_name(root: str) -> str:
    """A frame name for a raw name root (the name without .fits/.fits.gz/...): unchanged when
    made of ASCII letters, digits and ``._+-``, not starting with ``.`` or ``-``, at most
    :data:`MAX_FRAME_NAME` long; else unsafe characters become ``_``, the name is shortened
    and 8 hex digits of its SHA-1 are appended (two raw names never share a frame name)."""
    if (root and not _UNSAFE.search(root) and root[0] not in ".-"
            and len(root) <= MAX_FRAME_NAME):
        return root
    digest = hashlib.sha1(root.encode("utf-8", "surrogateescape")).hexdigest()[:8]
    base = _UNSAFE.sub("_", root).lstrip(".-")[: MAX_FRAME_NAME - 9] or "frame"
    return f"{base}-{digest}"
