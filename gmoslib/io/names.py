"""Frame names that every later step can use, and printable forms of any text.

A raw file's name is any POSIX name: non-ASCII letters, braces (Snakemake wildcards), spaces,
control characters, bytes that are not UTF-8, a bare ``.fits``, or a name so long that a
product suffix takes it past the file-system limit.  The manifest's ``frame`` column is the
name products are called after: the raw name without its suffix when it is safe, else a safe
form of it (:func:`safe_frame_name`); the ``path`` column keeps the raw file itself.
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
    """ASCII text without control characters: non-ASCII characters and undecodable bytes as
    backslash escapes (``\\xe9``), control characters as ``\\n``-style escapes (for FITS
    HISTORY cards, PNG titles, log lines)."""
    raw = text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    out = raw.encode("ascii", "backslashreplace").decode("ascii")
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in out)


def safe_frame_name(root: str) -> str:
    """A frame name for the raw name root (the file name without .fits/.fits.gz/...).

    Unchanged when it is made of ASCII letters, digits and ``._+-``, does not start with a
    dot or a dash and is at most :data:`MAX_FRAME_NAME` characters; otherwise unsafe
    characters become ``_``, the name is shortened, and 8 hex digits of the raw name's SHA-1
    are appended (two raw names never share a frame name)."""
    if (root and not _UNSAFE.search(root) and root[0] not in ".-"
            and len(root) <= MAX_FRAME_NAME):
        return root
    digest = hashlib.sha1(root.encode("utf-8", "surrogateescape")).hexdigest()[:8]
    base = _UNSAFE.sub("_", root).lstrip(".-")[: MAX_FRAME_NAME - 9] or "frame"
    return f"{base}-{digest}"
