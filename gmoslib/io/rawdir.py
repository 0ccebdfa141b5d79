"""The FITS-like entries of a raw directory, each one manifest row: read, or set aside with a
reason found without reading it (reading a pipe or a device may never end).  The manifest
rule's input is exactly the entries :func:`entry_problem` passes.
"""

from __future__ import annotations

import os
import re
import stat

#: Name endings read as raw files (lower case); the frame name is the name without them.
READ_SUFFIXES = (".fits.bz2", ".fits.gz", ".fits.fz", ".fits")
#: Names that look like FITS files: listed in the manifest, read or set aside.
_FITS_LIKE = re.compile(r"\.(fits?|fts)(\.[a-z0-9]{1,4})?(\.part)?$", re.IGNORECASE)


def is_fits_like(name: str) -> bool:
    """Whether a directory entry's name says FITS (and so gets a manifest row)."""
    return bool(_FITS_LIKE.search(name))


def list_entries(raw_dir: str) -> list[str]:
    """Absolute paths of the FITS-like entries directly in raw_dir (hidden ones included,
    whatever their type), sorted by name."""
    return [os.path.abspath(os.path.join(raw_dir, n)) for n in sorted(os.listdir(raw_dir))
            if is_fits_like(n)]


#: What a directory entry that is not a regular file is, by its file type (stat.S_IFMT).
_KINDS = {stat.S_IFDIR: "a folder", stat.S_IFIFO: "a named pipe (FIFO)",
          stat.S_IFCHR: "a character device", stat.S_IFBLK: "a block device",
          stat.S_IFSOCK: "a socket"}


def entry_problem(path: str) -> str:
    """'' for a regular file (links followed) that opens for reading, not read; else why it
    is set aside (one line, no path)."""
    name = os.path.basename(path)
    lower = name.lower()
    if lower.endswith(".part"):
        return ("an unfinished download (.part, left by gmos download): run gmos download "
                "again to complete it")
    if not lower.endswith(READ_SUFFIXES):
        return ("unsupported file name: gmos-snake reads *.fits, *.fits.gz, *.fits.bz2 and "
                "*.fits.fz (rename the file, or uncompress it, to use it)")
    if "{" in name or "}" in name:
        return ("file name has braces, which Snakemake reads as wildcards (they cannot be "
                "escaped in input files): rename the file, e.g. braces to '_', to use it")
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        from gmoslib.io.names import printable

        return f"file name is not valid UTF-8 ({printable(name)}): rename the file to use it"
    try:
        st = os.stat(path)
    except FileNotFoundError:
        try:
            target = os.readlink(path)
        except OSError:
            return "unreadable: the file vanished while the folder was read"
        return f"unreadable: dangling symbolic link (its target {target} does not exist)"
    except OSError as exc:  # a link loop, a name too long, ...
        return f"unreadable: {exc.strerror or exc}"
    if not stat.S_ISREG(st.st_mode):
        kind = _KINDS.get(stat.S_IFMT(st.st_mode), "not a regular file")
        return f"unreadable: {kind}, not a file"
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as exc:
        if exc.errno in (13, 1):  # EACCES, EPERM
            return ("unreadable: no read permission (mode "
                    f"{stat.filemode(st.st_mode)}): make it readable (chmod a+r) to use it")
        return f"unreadable: {exc.strerror or exc}"
    os.close(fd)
    return ""


def workflow_inputs(raw_dir: str) -> list[str]:
    """The manifest rule's input: the readable regular files ([] when raw_dir is no folder)."""
    if not os.path.isdir(raw_dir):
        return []
    return [p for p in list_entries(raw_dir) if not entry_problem(p)]


def listing_signature(raw_dir: str) -> str:
    """Names and outcomes of every FITS-like entry: a manifest rule parameter, so adding or
    removing any entry remakes the manifest."""
    if not os.path.isdir(raw_dir):
        return ""
    from gmoslib.io.names import printable

    return "\n".join(f"{printable(os.path.basename(p))}\t{entry_problem(p)[:40]}"
                     for p in list_entries(raw_dir))
