"""Raw-directory entries and frame names (issue 17): every entry named like a FITS file has
one outcome, the workflow's manifest inputs are exactly the entries the manifest reads, and
frame names are safe for every later step."""

from __future__ import annotations

import errno
import os
import shutil
import tempfile
from pathlib import Path

from gmoslib.io import rawdir
from gmoslib.io.names import MAX_FRAME_NAME, printable, safe_frame_name

PARENT = os.getpid()


def _files(d, *names):
    for n in names:
        (d / n).write_bytes(b"SIMPLE  =")
    return [str(d / n) for n in names]


def test_unreadable_file_is_set_aside_and_not_a_workflow_input(tmp_path, monkeypatch):
    good, locked = _files(tmp_path, "N1.fits", "N2.fits")
    real_open = os.open

    def no_permission(path, flags, *a, **k):  # what chmod 000 does to a non-root user
        if os.path.abspath(path) == locked:
            raise PermissionError(errno.EACCES, "Permission denied", path)
        return real_open(path, flags, *a, **k)

    monkeypatch.setattr(rawdir.os, "open", no_permission)
    assert rawdir.entry_problem(locked).startswith("unreadable: no read permission (mode -rw")
    assert rawdir.entry_problem(good) == ""
    assert rawdir.workflow_inputs(str(tmp_path)) == [good]


def test_chmod_000_file_is_set_aside():
    """A real chmod 000 file.  Root reads any file, so as root the check runs in a child
    process that has given up root (uid 65534, "nobody") on a folder it may enter."""
    d = Path(tempfile.mkdtemp(prefix="gmos-chmod-"))
    try:
        os.chmod(d, 0o755)
        (locked,) = _files(d, "N2.fits")
        os.chmod(locked, 0)
        pid = os.fork() if os.geteuid() == 0 else 0
        if pid == 0:
            ok = False
            try:
                if os.geteuid() == 0:
                    os.setgid(65534)
                    os.setuid(65534)
                ok = ("no read permission" in rawdir.entry_problem(locked)
                      and rawdir.workflow_inputs(str(d)) == [])
            finally:
                if os.getpid() != PARENT:
                    os._exit(0 if ok else 1)
            assert ok
        else:
            _, status = os.waitpid(pid, 0)
            assert os.WEXITSTATUS(status) == 0, "the unreadable file was not set aside"
    finally:
        shutil.rmtree(d)


def test_listing_follows_every_entry(tmp_path):
    _files(tmp_path, "N1.fits", "notes.txt", ".hidden.FITS.GZ")
    (tmp_path / "N3.fits").symlink_to(tmp_path / "gone.fits")
    names = [os.path.basename(p) for p in rawdir.list_entries(str(tmp_path))]
    assert names == [".hidden.FITS.GZ", "N1.fits", "N3.fits"]
    before = rawdir.listing_signature(str(tmp_path))
    (tmp_path / "N4.fits").mkdir()  # a new entry that is not an input changes the listing
    assert rawdir.listing_signature(str(tmp_path)) != before
    assert [os.path.basename(p) for p in rawdir.workflow_inputs(str(tmp_path))] == [
        ".hidden.FITS.GZ", "N1.fits"]


def test_safe_frame_names():
    assert safe_frame_name("N20170614S0201") == "N20170614S0201"
    assert safe_frame_name("S20200101S0001+2") == "S20200101S0001+2"
    odd = ["a{b}", "a}b{", "é", "e", "a b", "a\tb", "", ".x", "-x", "x" * 300,
           os.fsdecode(b"\xff")]
    safe = [safe_frame_name(n) for n in odd]
    assert len(set(safe)) == len(safe)  # no two raw names share a frame name
    for s in safe:
        assert s.isascii() and s.isprintable() and s[0] not in ".-"
        assert not set(s) & set("{}/ \\\t")
        assert 0 < len(s) <= MAX_FRAME_NAME
    assert safe[0].startswith("a_b_-") and safe[6].startswith("frame-")


def test_printable_text_is_ascii_without_control_characters():
    assert printable("N1_é\x07\n.fits") == "N1_\\xe9\\x07\\n.fits"
    assert printable(os.fsdecode(b"a\xffb")) == "a\\xffb"
