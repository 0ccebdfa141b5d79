"""Atomic outputs and scratch folders beside a product (no half-written files, no left-overs
of a killed job)."""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import tempfile
from collections.abc import Iterator


@contextlib.contextmanager
def atomic_output(path: str) -> Iterator[str]:
    """Yield a temporary path beside ``path``; on success it is flushed to disk (fsync) and
    renamed to ``path``, on error it is removed and ``path`` is left untouched."""
    directory = os.path.dirname(os.path.abspath(path)) or "."
    os.makedirs(directory, exist_ok=True)
    prefix = f".{os.path.basename(path)}."
    # left-overs of a killed writer of this path (one job writes a given product at a time)
    for stale in glob.glob(os.path.join(glob.escape(directory),
                                        glob.escape(prefix) + "?" * 8 + ".tmp")):
        with contextlib.suppress(OSError):
            os.remove(stale)
    fd, tmp = tempfile.mkstemp(prefix=prefix, suffix=".tmp", dir=directory)
    os.close(fd)
    try:
        yield tmp
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        # mkstemp makes the file private (0600); a product gets the usual permissions
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        raise


@contextlib.contextmanager
def scratch_dir_for(path: str) -> Iterator[str]:
    """A private scratch folder ``.NAME.scratch`` beside the product ``path``, removed on exit
    (and on entry: the left-overs of a killed job)."""
    directory = os.path.dirname(os.path.abspath(path)) or "."
    scratch = os.path.join(directory, f".{os.path.basename(path)}.scratch")
    shutil.rmtree(scratch, ignore_errors=True)
    os.makedirs(scratch)
    try:
        yield scratch
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
