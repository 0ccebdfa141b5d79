"""`gmos download` against a loopback HTTP server that replays recorded archive answers.

tests/data/archive/ holds two recorded ``jsonfilelist`` answers of a made-up program and its
three bz2-compressed raw files (made by make_fixture.py there).  The server below serves them
on 127.0.0.1 only, with switches for byte ranges, a cut connection and a corrupted body.
"""

from __future__ import annotations

import bz2
import hashlib
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from astropy.io import fits

from gmoslib.cli import main as gmos_main
from gmoslib.io import archive

DATA = Path(__file__).parent / "data" / "archive"
PROGRAM = "GN-2017A-Q-99"
LISTING = json.loads((DATA / "jsonfilelist" / "canonical" / f"{PROGRAM}.json").read_text())
NAMES = [e["filename"] for e in LISTING]


class _Archive(BaseHTTPRequestHandler):
    """GET /jsonfilelist/canonical/<sel> and GET /file/<filename> from DATA."""

    ranges = True  # honour "Range: bytes=N-"
    corrupt: set = set()  # filenames served with one byte flipped
    cut: dict = {}  # filename -> bytes sent before the connection is dropped (once)
    longer: dict = {}  # filename -> bytes of zeros sent after the file, no Content-Length
    listings: dict = {}  # selection -> JSON text served instead of the recorded one
    log: list = []

    def log_message(self, *args):  # keep pytest output clean
        pass

    def do_GET(self):  # noqa: N802 (http.server's name)
        path = self.path
        selection = path.split("/", 3)[3] if path.startswith("/jsonfilelist/") else None
        if selection in self.listings:
            body = self.listings[selection].encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        if path.startswith("/jsonfilelist/canonical/"):
            target = DATA / "jsonfilelist" / "canonical" / (path.split("/", 3)[3] + ".json")
        elif path.startswith("/file/"):
            target = DATA / "file" / path[len("/file/"):]
        else:
            target = None
        if target is None or not target.is_file():
            self.log.append((path, self.headers.get("Range"), 404))
            self.send_error(404, "Not Found")
            return
        body = target.read_bytes()
        name = target.name
        if name in self.corrupt:
            body = body[:100] + bytes([body[100] ^ 0xFF]) + body[101:]
        start = 0
        asked = self.headers.get("Range")
        if asked and self.ranges:
            start = int(asked.split("=")[1].split("-")[0])
            if start >= len(body):
                self.log.append((path, asked, 416))
                self.send_error(416, "Range Not Satisfiable")
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
        else:
            self.send_response(200)
        self.log.append((path, asked, 206 if start else 200))
        payload = body[start:]
        if name in self.longer:  # a misbehaving server: the body goes on, no length given
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(payload)
            for _ in range(self.longer[name] >> 20):
                self.wfile.write(bytes(1 << 20))
            self.close_connection = True
            return
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("Content-Type", "application/octet-stream")
        self.end_headers()
        if name in self.cut:
            self.wfile.write(payload[:self.cut.pop(name)])
            self.wfile.flush()
            self.close_connection = True
            return
        self.wfile.write(payload)


@pytest.fixture
def server():
    handler = type("Handler", (_Archive,), {"ranges": True, "corrupt": set(), "cut": {},
                                            "longer": {}, "listings": {}, "log": []})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    try:
        yield handler, f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


def _md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def test_fixture_matches_its_listing():
    for entry in LISTING:
        stored = (DATA / "file" / entry["filename"]).read_bytes()
        assert hashlib.md5(stored).hexdigest() == entry["file_md5"]
        assert len(stored) == entry["file_size"]
        assert hashlib.md5(bz2.decompress(stored)).hexdigest() == entry["data_md5"]


def test_parse_file_list_checks_entries():
    files = archive.parse_file_list(json.dumps(LISTING), "x")
    assert [f.filename for f in files] == NAMES
    assert files[0].name == "N20170614S0201.fits" and files[0].compressed
    assert files[0].data_label == f"{PROGRAM}-5-001"
    # a bad entry is set aside with its reason, the others are kept
    (bad,) = archive.parse_file_list('[{"filename": "a.fits"}]', "URL")
    assert bad.problem == "URL: entry 0 has no file_md5"
    (bad,) = archive.parse_file_list('[{"filename": "../a.fits", "file_md5": "0"}]', "URL")
    assert "unsafe" in bad.problem
    with pytest.raises(archive.ArchiveError, match="URL: the answer is not JSON"):
        archive.parse_file_list("<html>", "URL")
    assert archive.file_list_url("http://h/", "GN-2017A-Q-99") == \
        "http://h/jsonfilelist/canonical/GN-2017A-Q-99"
    assert archive.read_labels(["# labels", "GN-1-2-003  # first", "", " GN-1-2-004"]) == \
        ["GN-1-2-003", "GN-1-2-004"]


def test_program_download_then_rerun_skips_everything(server, tmp_path, capsys):
    handler, url = server
    raw = tmp_path / "raw"
    assert gmos_main(["download", "--program", PROGRAM, "-o", str(raw), "--base-url", url]) == 0
    for entry in LISTING:
        assert _md5(raw / entry["filename"]) == entry["file_md5"]
    assert not list(raw.glob("*.part"))
    # the downloaded files are readable raw FITS (compressed as the archive stores them)
    assert fits.getheader(raw / "N20170614S0201.fits.bz2")["DATALAB"] == f"{PROGRAM}-5-001"
    out = capsys.readouterr().out
    assert "3 downloaded" in out

    handler.log.clear()
    assert gmos_main(["download", "--program", PROGRAM, "-o", str(raw), "--base-url", url]) == 0
    assert "3 present" in capsys.readouterr().out
    assert [p for p, _, _ in handler.log] == [f"/jsonfilelist/canonical/{PROGRAM}"]


def test_decompressed_copy_counts_as_present(server, tmp_path):
    handler, url = server
    raw = tmp_path / "raw"
    raw.mkdir()
    stored = (DATA / "file" / "N20170614S0202.fits.bz2").read_bytes()
    (raw / "N20170614S0202.fits").write_bytes(bz2.decompress(stored))
    outcomes = archive.download([f"{PROGRAM}-5-002"], str(raw), base_url=url)
    assert [(o.filename, o.status) for o in outcomes] == [("N20170614S0202.fits.bz2",
                                                           "present")]
    assert not (raw / "N20170614S0202.fits.bz2").exists()
    assert not any(p.startswith("/file/") for p, _, _ in handler.log)


def test_interrupted_download_resumes_with_a_range_request(server, tmp_path):
    handler, url = server
    raw = tmp_path / "raw"
    target = "N20170614S0201.fits.bz2"
    handler.cut = {target: 3000}
    outcomes = {o.filename: o for o in archive.download([PROGRAM], str(raw), base_url=url)}
    assert outcomes[target].status == "failed"
    assert target in outcomes[target].message and "interrupted" in outcomes[target].message
    assert (raw / (target + ".part")).stat().st_size == 3000
    assert not (raw / target).exists()
    assert outcomes["N20170614S0202.fits.bz2"].status == "downloaded"

    handler.log.clear()
    outcomes = {o.filename: o for o in archive.download([PROGRAM], str(raw), base_url=url)}
    assert outcomes[target].status == "resumed"
    assert (f"/file/{target}", "bytes=3000-", 206) in handler.log
    assert _md5(raw / target) == LISTING[0]["file_md5"]
    assert not (raw / (target + ".part")).exists()
    assert {o.status for f, o in outcomes.items() if f != target} == {"present"}


def test_resume_without_range_support_starts_again(server, tmp_path):
    handler, url = server
    handler.ranges = False
    raw = tmp_path / "raw"
    raw.mkdir()
    target = "N20170614S0202.fits.bz2"
    stored = (DATA / "file" / target).read_bytes()
    (raw / (target + ".part")).write_bytes(stored[:1000])
    outcomes = archive.download([f"{PROGRAM}-5-002"], str(raw), base_url=url)
    assert outcomes[0].status == "downloaded"
    assert (f"/file/{target}", "bytes=1000-", 200) in handler.log
    assert (raw / target).read_bytes() == stored


def test_bad_kept_part_is_fetched_again_from_the_start(server, tmp_path):
    handler, url = server
    raw = tmp_path / "raw"
    raw.mkdir()
    target = "N20170614S0202.fits.bz2"
    stored = (DATA / "file" / target).read_bytes()
    (raw / (target + ".part")).write_bytes(b"\0" * 1000)  # not a prefix of the file
    outcomes = archive.download([f"{PROGRAM}-5-002"], str(raw), base_url=url)
    assert outcomes[0].status == "downloaded"
    assert (raw / target).read_bytes() == stored


def test_corrupted_file_is_reported_by_name_and_not_kept(server, tmp_path, capsys):
    handler, url = server
    target = "N20170613S0180.fits.bz2"
    handler.corrupt = {target}
    raw = tmp_path / "raw"
    code = gmos_main(["download", "--program", PROGRAM, "-o", str(raw), "--base-url", url])
    assert code == 1
    err = capsys.readouterr().err
    assert f"failed     {target}" in err and "MD5 checksum mismatch" in err
    assert LISTING[2]["file_md5"] in err
    assert not (raw / target).exists() and not (raw / (target + ".part")).exists()
    assert (raw / "N20170614S0201.fits.bz2").exists()  # the others are fine


def test_local_file_with_another_checksum_is_left_alone(server, tmp_path, capsys):
    _, url = server
    raw = tmp_path / "raw"
    raw.mkdir()
    mine = raw / "N20170614S0202.fits.bz2"
    mine.write_bytes(b"my own edited copy")
    code = gmos_main(["download", "--data-label", f"{PROGRAM}-5-002", "-o", str(raw),
                      "--base-url", url])
    assert code == 1
    assert "exists with another MD5" in capsys.readouterr().err
    assert mine.read_bytes() == b"my own edited copy"


def test_http_errors_name_the_url(server, tmp_path, capsys):
    _, url = server
    code = gmos_main(["download", "--program", "GN-2099A-Q-1", "-o", str(tmp_path / "raw"),
                      "--base-url", url])
    assert code == 1
    err = capsys.readouterr().err
    assert "HTTP 404" in err and "/jsonfilelist/canonical/GN-2099A-Q-1" in err

    listing = [dict(LISTING[0], filename="N20991231S0001.fits.bz2")]
    entry = archive.parse_file_list(json.dumps(listing), "test")[0]
    with pytest.raises(archive.ArchiveError, match=r"N20991231S0001\.fits\.bz2: HTTP 404"):
        archive.download_file(entry, str(tmp_path), base_url=url)


def test_labels_file_and_dry_run(server, tmp_path, capsys):
    handler, url = server
    labels = tmp_path / "labels.txt"
    labels.write_text(f"# the tutorial's science frame\n{PROGRAM}-5-002\n")
    raw = tmp_path / "raw"
    code = gmos_main(["download", "--labels", str(labels), "-o", str(raw), "--base-url", url,
                      "--dry-run"])
    assert code == 0
    assert "listed     N20170614S0202.fits.bz2" in capsys.readouterr().out
    assert not list(raw.iterdir())
    assert not any(p.startswith("/file/") for p, _, _ in handler.log)



def _bad_listing():
    """The recorded listing with three bad entries among the good ones."""
    good = [dict(e) for e in LISTING]
    return json.dumps([
        good[0],
        dict(good[1], filename="N20170614S0299\u0000.fits.bz2"),  # NUL
        dict(good[1], filename="N" + "9" * 260 + ".fits.bz2"),  # over-long
        dict(good[1], file_size="about 1 MB"),  # non-numeric size
        good[2],
    ])


def test_bad_entries_fail_alone_and_are_listed_at_the_end(server, tmp_path, capsys):
    handler, url = server
    handler.listings = {"BAD": _bad_listing()}
    raw = tmp_path / "raw"
    code = gmos_main(["download", "--selection", "BAD", "-o", str(raw), "--base-url", url])
    assert code == 1
    assert sorted(p.name for p in raw.iterdir()) == sorted([LISTING[0]["filename"],
                                                            LISTING[2]["filename"]])
    err = capsys.readouterr().err.splitlines()
    tail = err[err.index("gmos download: 3 file(s) not downloaded:"):]
    assert len(tail) == 4, err
    assert "NUL or another control character" in tail[1]
    assert "more than a file name can be (250)" in tail[2]
    assert "file_size 'about 1 MB' is not a whole number of bytes" in tail[3]
    assert not any("Traceback" in line for line in err)


def test_body_longer_than_announced_is_cut_at_the_announced_size(server, tmp_path,
                                                                  monkeypatch):
    handler, url = server
    target = LISTING[0]["filename"]
    handler.longer = {target: 64 << 20}  # 64 MB more than the listed size
    written = []
    real_remove = archive.os.remove

    def remove(path):  # what was on disk when the download gave up
        written.append(archive.os.path.getsize(path))
        real_remove(path)

    monkeypatch.setattr(archive.os, "remove", remove)
    raw = tmp_path / "raw"
    outcomes = archive.download([PROGRAM], str(raw), base_url=url)
    failed = {o.filename: o.message for o in outcomes if o.status == "failed"}
    assert list(failed) == [target]
    assert f"sent more than the announced {LISTING[0]['file_size']} bytes" in failed[target]
    assert written == [LISTING[0]["file_size"]]
    assert not (raw / target).exists() and not (raw / (target + ".part")).exists()
    assert (raw / LISTING[1]["filename"]).exists()  # the others are downloaded
