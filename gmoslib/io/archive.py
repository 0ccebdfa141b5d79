"""Download raw files from the Gemini Observatory Archive over HTTP (tutorial chapter 6).

``GET {base}/jsonfilelist/canonical/{selection}`` lists the files of a program ID
(``GN-2017A-LP-1``), a data label (``GN-2017A-LP-1-15-007``) or a selection path
(``GMOS-N/20170614/filepre=N20170614S02``): JSON objects with ``name`` (``N20170614S0201.fits``),
``filename`` (stored, usually ``.fits.bz2``), ``compressed``, ``file_md5``/``file_size`` (stored
file), ``data_md5``/``data_size`` (decompressed) and ``data_label``.  ``GET {base}/file/{filename}``
gives a file: through ``<file>.part``, continued by an HTTP ``Range`` request after an
interruption, renamed once its size and MD5 match.  Standard library only.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import json
import os
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

DEFAULT_BASE_URL = "https://archive.gemini.edu"
CHUNK = 1 << 20
USER_AGENT = "gmos-snake-download"


class ArchiveError(RuntimeError):
    """A file list or a file cannot be fetched or fails its checks; the message names it."""


@dataclass(frozen=True)
class ArchiveFile:
    """One entry of the archive's file list.  Sizes in bytes; MD5s as hex strings."""

    name: str
    filename: str
    file_md5: str
    file_size: int | None
    data_md5: str | None
    data_size: int | None
    compressed: bool
    data_label: str = ""
    #: why this entry cannot be downloaded ('' when it can); the other files go on
    problem: str = ""


#: Longest file name (bytes) accepted: the 255-byte limit of most file systems, less ".part".
MAX_NAME_BYTES = 255 - len(".part")
#: Largest body written when neither the file list nor the server announces a size (bytes).
MAX_UNANNOUNCED_BYTES = 1 << 30


def _check_name(value: str, what: str, source: str) -> str:
    if (not value or "/" in value or "\\" in value or value in (".", "..")
            or value.startswith(".") or any(ord(c) < 32 or ord(c) == 127 for c in value)):
        raise ArchiveError(f"{source}: unsafe or empty {what} {_shown(value)} in the file list "
                           "(a path, a hidden name, NUL or another control character)")
    size = len(value.encode("utf-8", "surrogateescape"))
    if size > MAX_NAME_BYTES:
        raise ArchiveError(f"{source}: {what} {_shown(value)} is {size} bytes long, more than a "
                           f"file name can be ({MAX_NAME_BYTES})")
    return value


def _shown(value: str, limit: int = 60) -> str:
    """A name as it can be printed on one line (escaped, shortened)."""
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 5] + "...'"


def parse_file_list(payload: bytes | str, source: str) -> list[ArchiveFile]:
    """Entries of a ``jsonfilelist`` answer.  ``source`` (the URL) names it in errors."""
    try:
        items = json.loads(payload)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ArchiveError(f"{source}: the answer is not JSON ({exc})") from exc
    if not isinstance(items, list):
        raise ArchiveError(f"{source}: expected a JSON list of files, got {type(items).__name__}")
    files = []
    for k, item in enumerate(items):
        try:
            files.append(_entry(item, k, source))
        except ArchiveError as exc:  # this entry only: the others are still downloaded
            label = f"entry {k}"
            if isinstance(item, dict) and item.get("filename"):
                label += f" {_shown(str(item['filename']), 40)}"
            files.append(ArchiveFile(name=label, filename=label, file_md5="", file_size=None,
                                     data_md5=None, data_size=None, compressed=False,
                                     problem=str(exc)))
    return files


def _entry(item, k: int, source: str) -> ArchiveFile:
    """One checked entry of a file list (ArchiveError naming the entry otherwise)."""
    if not isinstance(item, dict):
        raise ArchiveError(f"{source}: entry {k} is not an object")
    missing = [key for key in ("filename", "file_md5") if not item.get(key)]
    if missing:
        raise ArchiveError(f"{source}: entry {k} has no {', '.join(missing)}")
    filename = _check_name(str(item["filename"]), "filename", source)
    name = _check_name(str(item.get("name") or filename), "name", source)
    where = f"{source}: entry {k} ({filename})"
    return ArchiveFile(
        name=name, filename=filename, file_md5=str(item["file_md5"]).lower(),
        file_size=_opt_int(item.get("file_size"), "file_size", where),
        data_md5=str(item["data_md5"]).lower() if item.get("data_md5") else None,
        data_size=_opt_int(item.get("data_size"), "data_size", where),
        compressed=bool(item.get("compressed", filename != name)),
        data_label=str(item.get("data_label") or ""))


def _opt_int(value, key: str = "size", where: str = "") -> int | None:
    """A size in bytes (None when absent); ArchiveError for anything but a whole number >= 0."""
    if value is None or value == "":
        return None
    try:
        if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
            raise ValueError
        n = int(value)
    except (TypeError, ValueError, OverflowError):
        raise ArchiveError(f"{where}: {key} {_shown(str(value))} is not a whole number of "
                           "bytes") from None
    if n < 0:
        raise ArchiveError(f"{where}: {key} {n} is negative")
    return n


def file_list_url(base_url: str, selection: str) -> str:
    """URL of the canonical file list of one selection (a program ID, a data label or an
    archive selection path such as ``GMOS-N/20170614``)."""
    selection = selection.strip().strip("/")
    if not selection:
        raise ValueError("empty archive selection")
    quoted = "/".join(urllib.parse.quote(part, safe="=-_.:") for part in selection.split("/"))
    return f"{base_url.rstrip('/')}/jsonfilelist/canonical/{quoted}"


def file_url(base_url: str, filename: str) -> str:
    return f"{base_url.rstrip('/')}/file/{urllib.parse.quote(filename)}"


def _open(url: str, *, timeout: float, headers: dict | None = None):
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT, **(headers or {})})
    return urllib.request.urlopen(request, timeout=timeout)


def fetch_file_list(selections: Sequence[str], *, base_url: str = DEFAULT_BASE_URL,
                    timeout: float = 60.0) -> list[ArchiveFile]:
    """Files of every selection, in the archive's order, each file once."""
    seen: dict[str, ArchiveFile] = {}
    for selection in selections:
        url = file_list_url(base_url, selection)
        try:
            with _open(url, timeout=timeout) as response:
                payload = response.read()
        except urllib.error.HTTPError as exc:
            raise ArchiveError(f"file list {url}: HTTP {exc.code} {exc.reason}") from exc
        except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
            reason = getattr(exc, "reason", exc)
            raise ArchiveError(f"file list {url}: cannot fetch ({reason})") from exc
        entries = parse_file_list(payload, url)
        if not entries:
            raise ArchiveError(f"file list {url}: the archive has no files for "
                               f"{selection!r}")
        for entry in entries:
            seen.setdefault(entry.filename, entry)
    return list(seen.values())


def md5_file(path: str, *, decompress: bool = False) -> str:
    """MD5 (hex) of a file's bytes, or of its decompressed bytes (``.bz2``/``.gz``)."""
    import bz2
    import gzip

    h = hashlib.md5()
    suffix = os.path.splitext(path.lower())[1] if decompress else ""
    with {".bz2": bz2.open, ".gz": gzip.open}.get(suffix, open)(path, "rb") as fh:
        while block := fh.read(CHUNK):
            h.update(block)
    return h.hexdigest()


def local_copy(entry: ArchiveFile, raw_dir: str) -> tuple[str | None, str]:
    """Where ``entry`` already is in ``raw_dir``: (path, "ok") for the stored file with the
    right MD5 or the decompressed FITS with the right data MD5; (path, "differs") for a file
    of that name with another MD5; (None, "missing") otherwise."""
    for name, md5 in ((entry.filename, entry.file_md5), (entry.name, entry.data_md5)):
        path = os.path.join(raw_dir, name)
        if os.path.exists(path):
            return path, "ok" if md5 and md5_file(path) == md5 else "differs"
    return None, "missing"


def download_file(entry: ArchiveFile, raw_dir: str, *, base_url: str = DEFAULT_BASE_URL,
                  timeout: float = 60.0) -> str:
    """Download one file into ``raw_dir`` through ``<filename>.part``, check size and MD5,
    rename it.  Returns "resumed" (an earlier part was used) or "downloaded".  Raises
    :class:`ArchiveError`; a failed check removes the part (a resumed one is retried once)."""
    final = os.path.join(raw_dir, entry.filename)
    part = final + ".part"
    url = file_url(base_url, entry.filename)
    have = os.path.getsize(part) if os.path.exists(part) else 0
    if have and entry.file_size is not None and have >= entry.file_size:
        # a complete .part (interrupted between the last byte and the rename)
        if have == entry.file_size and md5_file(part) == entry.file_md5:
            os.replace(part, final)
            return "resumed"
        os.remove(part)
    resumed = _fetch(url, part, entry, timeout=timeout)
    problem = _verify(part, entry)
    if problem and resumed:
        os.remove(part)  # the kept part may have been bad: one more try from the start
        resumed = _fetch(url, part, entry, timeout=timeout)
        problem = _verify(part, entry)
    if problem:
        with contextlib.suppress(OSError):
            os.remove(part)
        raise ArchiveError(f"{entry.filename}: {problem} (downloaded from {url}; "
                           "removed, run again to retry)")
    os.replace(part, final)
    return "resumed" if resumed else "downloaded"


def _fetch(url: str, part: str, entry: ArchiveFile, *, timeout: float) -> bool:
    """Bytes of ``url`` into ``part``, appended when the server answers the Range request
    with 206 (returns True), else the whole file (False)."""
    have = os.path.getsize(part) if os.path.exists(part) else 0
    headers = {"Range": f"bytes={have}-"} if have else {}
    try:
        response = _open(url, timeout=timeout, headers=headers)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and have:  # our part is no prefix of the file: start again
            os.remove(part)
            return _fetch(url, part, entry, timeout=timeout)
        raise ArchiveError(f"{entry.filename}: HTTP {exc.code} {exc.reason} from {url}") from exc
    except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
        reason = getattr(exc, "reason", exc)
        raise ArchiveError(f"{entry.filename}: cannot fetch {url} ({reason})") from exc
    with response:
        append = have and response.status == 206 and _range_start(response) == have
        if have and not append and response.status == 206:
            raise ArchiveError(f"{entry.filename}: {url} answered a range starting at "
                               f"{_range_start(response)}, asked for {have}")
        try:
            length = _opt_int(response.headers.get("Content-Length"))
        except ArchiveError:  # a malformed Content-Length: as if there were none
            length = None
        # at most the announced size is written (an endless body would fill the disk)
        if entry.file_size is not None:
            limit = entry.file_size - (have if append else 0)
        else:
            limit = length if length is not None else MAX_UNANNOUNCED_BYTES
        received = 0
        longer = False
        try:
            with open(part, "ab" if append else "wb") as fh:
                while block := response.read(min(CHUNK, limit - received + 1)):
                    if received + len(block) > limit:
                        fh.write(block[:limit - received])
                        longer = True
                        break
                    fh.write(block)
                    received += len(block)
        except (OSError, http.client.HTTPException) as exc:
            raise ArchiveError(
                f"{entry.filename}: download from {url} interrupted after "
                f"{os.path.getsize(part)} bytes ({exc!r}); run again to continue") from exc
    if longer:
        with contextlib.suppress(OSError):
            os.remove(part)
        raise ArchiveError(
            f"{entry.filename}: {url} sent more than the announced {limit} bytes; stopped "
            "there and removed (run again to retry)")
    # http.client ends a body cut short by the server without an error: compare lengths
    short = (length is not None and received < length) or (
        entry.file_size is not None and os.path.getsize(part) < entry.file_size)
    if short:
        raise ArchiveError(
            f"{entry.filename}: download from {url} interrupted after "
            f"{os.path.getsize(part)} of {entry.file_size or length} bytes; "
            "run again to continue")
    return bool(append)


def _range_start(response) -> int | None:
    text = response.headers.get("Content-Range", "")
    # "bytes START-END/TOTAL"
    try:
        return int(text.split()[1].split("-")[0])
    except (IndexError, ValueError):
        return None


def _verify(path: str, entry: ArchiveFile) -> str:
    """'' when ``path`` has the listed size and MD5, else what is wrong."""
    size = os.path.getsize(path)
    if entry.file_size is not None and size != entry.file_size:
        return f"size {size} bytes, the archive lists {entry.file_size}"
    got = md5_file(path)
    if got != entry.file_md5:
        return f"MD5 checksum mismatch: got {got}, the archive lists {entry.file_md5}"
    return ""


@dataclass
class Outcome:
    filename: str
    status: str  # present | downloaded | resumed | failed | differs | listed
    message: str = ""


def download(selections: Sequence[str], raw_dir: str, *, base_url: str = DEFAULT_BASE_URL,
             timeout: float = 60.0, dry_run: bool = False,
             report: Callable[[Outcome], None] | None = None) -> list[Outcome]:
    """Fetch every file of the selections into ``raw_dir``: present with the right MD5 (of
    the stored or the decompressed file), skipped; with another MD5, left alone and reported.
    One failure does not stop the others.  Returns an :class:`Outcome` per file, each also
    passed to ``report`` as it happens."""
    entries = fetch_file_list(selections, base_url=base_url, timeout=timeout)
    os.makedirs(raw_dir, exist_ok=True)
    outcomes = []
    for entry in entries:
        outcomes.append(_fetch_entry(entry, raw_dir, base_url, timeout, dry_run))
        if report is not None:
            report(outcomes[-1])
    return outcomes


def _fetch_entry(entry: ArchiveFile, raw_dir: str, base_url: str, timeout: float,
                 dry_run: bool) -> Outcome:
    """The outcome of one entry of :func:`download`."""
    if entry.problem:
        return Outcome(entry.filename, "failed", entry.problem)
    path, state = local_copy(entry, raw_dir)
    if state == "ok":
        return Outcome(entry.filename, "present", os.path.basename(path))
    if state == "differs":
        return Outcome(entry.filename, "differs",
                       f"{path} exists with another MD5 than the archive's; it is left "
                       "untouched: move it away to download the archive's copy")
    if dry_run:
        return Outcome(entry.filename, "listed", entry.data_label)
    try:
        status = download_file(entry, raw_dir, base_url=base_url, timeout=timeout)
    except ArchiveError as exc:
        return Outcome(entry.filename, "failed", str(exc))
    except OSError as exc:  # writing in raw_dir (disk full, permissions, ...)
        return Outcome(entry.filename, "failed", f"{entry.filename}: cannot write "
                       f"{exc.filename or raw_dir} ({exc.strerror or exc})")
    return Outcome(entry.filename, status, entry.data_label)


def read_labels(lines: Iterable[str]) -> list[str]:
    """Data labels (or selections) from a list file: one per line, '#' starts a comment."""
    return [text for line in lines if (text := line.split("#", 1)[0].strip())]


# --------------------------------------------------------------------------- command line
def add_subcommand(subparsers) -> None:
    """``gmos download``: raw files from the Gemini Observatory Archive into a raw dir."""
    p = subparsers.add_parser(
        "download", help="fetch raw files from the Gemini Observatory Archive",
        description="Fetch the raw files of a program ID, of data labels or of archive "
                    "selections into a raw directory, with MD5 checks; files already "
                    "there are skipped and interrupted downloads are continued.")
    p.add_argument("--program", action="append", default=[], metavar="ID",
                   help="program ID, e.g. GN-2017A-LP-1 (repeatable)")
    p.add_argument("--data-label", action="append", default=[], metavar="LABEL",
                   help="data label, e.g. GN-2017A-LP-1-15-007 (repeatable)")
    p.add_argument("--labels", metavar="FILE",
                   help="file with one data label (or selection) per line")
    p.add_argument("--selection", action="append", default=[], metavar="PATH",
                   help="any archive selection, e.g. GMOS-N/20170614/filepre=N20170614S02")
    p.add_argument("-o", "--raw-dir", required=True, help="where the raw files go (raw_dir)")
    p.add_argument("--base-url", default=DEFAULT_BASE_URL,
                   help=f"archive address (default {DEFAULT_BASE_URL})")
    p.add_argument("--timeout", type=float, default=60.0, help="seconds per request")
    p.add_argument("-n", "--dry-run", action="store_true",
                   help="list what would be downloaded, download nothing")
    p.set_defaults(func=_cli_download)


def _cli_download(args) -> int:
    import sys

    selections = list(args.program) + list(args.data_label) + list(args.selection)
    if args.labels:
        with open(args.labels) as fh:
            selections += read_labels(fh)
    if not selections:
        raise ValueError("nothing to download: give --program, --data-label, --labels or "
                         "--selection")

    def show(o: Outcome) -> None:
        stream = sys.stderr if o.status in ("failed", "differs") else sys.stdout
        print(f"{o.status:10s} {o.filename}" + (f"  {o.message}" if o.message else ""),
              file=stream, flush=True)

    outcomes = download(selections, args.raw_dir, base_url=args.base_url, timeout=args.timeout,
                        dry_run=args.dry_run, report=show)
    counts = Counter(o.status for o in outcomes)
    print("gmos download: " + ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
          + f" into {args.raw_dir}")
    problems = [o for o in outcomes if o.status in ("failed", "differs")]
    if problems:  # each failure again, together at the end (the lines above scroll away)
        print(f"gmos download: {len(problems)} file(s) not downloaded:", file=sys.stderr)
        for o in problems:
            print(f"  {o.filename}: {o.message}", file=sys.stderr)
    return 1 if counts.get("failed") or counts.get("differs") else 0
