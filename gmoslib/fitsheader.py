"""FITS headers without astropy: parse, look up, edit and format 80-character cards.

A :class:`Header` is an ordered list of cards (keyword, value, comment) with the part of
astropy's ``Header`` interface that gmos-snake uses (``h[key]``, ``h[key] = value`` or
``(value, comment)``, ``get``, ``in``, ``remove``, ``copy``, ``add_history``, ``comments``,
``cards``, ``tostring``/``fromstring``), so that a job that only reads raw files, does
arithmetic and writes a product never imports astropy (whose import costs ~0.25 s, more
than a master bias's arithmetic).  Code that needs astropy (WCS, tables) converts with
:func:`to_astropy`.

Values follow the FITS standard (4.0, section 4.2): strings in single quotes (a doubled
quote inside; trailing blanks are not significant) continued over ``CONTINUE`` cards when
longer than one card, logical ``T``/``F``, integers, floats (``E`` or ``D`` exponent),
complex ``(re, im)``, and an empty value field (undefined, read as None).  ``COMMENT``,
``HISTORY`` and blank-keyword cards are commentary: their text is the value.  Keywords
longer than 8 characters or with characters outside ``A-Z 0-9 - _`` are written with the
``HIERARCH`` convention.  A card read from a file and not changed is written back
byte-identical.
"""

from __future__ import annotations

import math
import re
from collections import namedtuple
from collections.abc import Iterable, Iterator

CARD = 80
BLOCK = 2880
COMMENTARY = frozenset({"COMMENT", "HISTORY", ""})
_STANDARD_KEY = re.compile(r"^[A-Z0-9_-]{0,8}$")
_INT = re.compile(r"^[+-]?\d+$")
_FLOAT = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([EDed][+-]?\d+)?$")
_COMPLEX = re.compile(r"^\(\s*([^,]+?)\s*,\s*([^)]+?)\s*\)$")

#: One card: keyword (upper case, without HIERARCH), value, comment.
Card = namedtuple("Card", "keyword value comment")


class HeaderError(ValueError):
    """A header card or value that cannot be parsed or written."""


# ----------------------------------------------------------------------------- values
def _parse_number(text: str):
    if _INT.match(text):
        return int(text)
    if _FLOAT.match(text):
        return float(text.replace("D", "E").replace("d", "e"))
    m = _COMPLEX.match(text)
    if m:
        return complex(_parse_number(m.group(1)), _parse_number(m.group(2)))
    raise HeaderError(f"unreadable value {text!r}")


def _string_field(s: str) -> tuple[str, str]:
    """(text between the quotes, as written; what follows the closing quote) of a value
    field that starts with a quote.  The closing quote is one that is not doubled and is
    followed by a blank, '/' or the end of the card, so that a doubled quote split over two
    ``CONTINUE`` cards (``...x'&'`` then ``''y...``) stays inside the string."""
    i = 1
    while True:
        j = s.find("'", i)
        if j < 0:  # no closing quote: take the rest (as astropy does, leniently)
            return s[1:], ""
        after = s[j + 1:j + 2]
        if after == "'":
            i = j + 2
        elif after in ("", " ", "/"):
            return s[1:j], s[j + 1:]
        else:
            i = j + 1


def _comment_of(rest: str) -> str:
    return rest.split("/", 1)[1].strip() if "/" in rest else ""


def _split_value(field: str) -> tuple[object, str, bool]:
    """(value, comment, continued) of the value field of a card (columns 11-80).

    ``continued``: the value is a string ending in ``&`` (a long string continued on
    ``CONTINUE`` cards)."""
    s = field.lstrip(" ")
    if s.startswith("'"):
        raw, rest = _string_field(s)  # quotes inside are doubled
        value = raw.replace("''", "'").rstrip(" ")
        return value, _comment_of(rest), value.endswith("&")
    text, _, comment = s.partition("/")
    text = text.strip()
    comment = comment.strip()
    if text == "":
        return None, comment, False
    if text == "T":
        return True, comment, False
    if text == "F":
        return False, comment, False
    return _parse_number(text), comment, False


def _value_field(image: str) -> str:
    return image.partition("=")[2] if image.startswith("HIERARCH") else image[10:CARD]


def _join_continued(images: list[str]) -> tuple[str, str]:
    """(value, comment) of a long string: the first card's string and those of the
    ``CONTINUE`` cards after it, each but the last ending in '&', joined as written (a
    doubled quote may be split between two cards) and then read."""
    pieces, comments = [], []
    for k, image in enumerate(images):
        s = (_value_field(image) if k == 0 else image[8:CARD]).lstrip(" ")
        raw, rest = _string_field(s) if s.startswith("'") else ("", s)
        raw = raw.rstrip(" ")
        if k < len(images) - 1 and raw.endswith("&"):
            raw = raw[:-1]
        pieces.append(raw)
        if _comment_of(rest):
            comments.append(_comment_of(rest))
    return "".join(pieces).replace("''", "'").rstrip(" "), " ".join(comments)


def _format_float(value: float) -> str:
    if not math.isfinite(value):
        raise HeaderError(f"{value} is not allowed as a FITS header value")
    text = repr(float(value)).replace("e", "E")
    if "E" in text:
        mant, exp = text.split("E")
        sign = "-" if exp.startswith("-") else "+"
        if "." not in mant:
            mant += ".0"
        text = f"{mant}E{sign}{int(exp.lstrip('+-')):02d}"
    elif "." not in text:
        text += ".0"
    if len(text) > 20:
        text = f"{value:.15G}"
        if "E" not in text and "." not in text:
            text += ".0"
    return text


def _format_value(value) -> str:
    """The value field of a card (without the string case)."""
    if isinstance(value, bool):
        return f"{'T' if value else 'F':>20}"
    if isinstance(value, int):
        return f"{value:>20d}"
    if isinstance(value, float):
        return f"{_format_float(value):>20}"
    if isinstance(value, complex):
        return f"({_format_float(value.real)}, {_format_float(value.imag)})"
    if value is None:
        return " " * 20
    # numpy scalars and the like
    if hasattr(value, "item"):
        return _format_value(value.item())
    raise HeaderError(f"cannot write a {type(value).__name__} ({value!r}) in a FITS header")


def _head(keyword: str) -> str:
    if _STANDARD_KEY.match(keyword):
        return f"{keyword:<8}= "
    return f"HIERARCH {keyword} = "


def format_card(keyword: str, value, comment: str = "") -> list[str]:
    """80-character card images (several for a long string: ``CONTINUE``; for long
    commentary text: one card per 72 characters)."""
    keyword = keyword.upper()
    if keyword in COMMENTARY:
        text = "" if value is None else str(value)
        chunks = [text[i:i + 72] for i in range(0, len(text), 72)] or [""]
        return [f"{keyword:<8}{c:<72}" for c in chunks]
    head = _head(keyword)
    if len(head) > CARD - 2:
        raise HeaderError(f"keyword {keyword!r} is too long for a card")
    if not isinstance(value, str):
        field = _format_value(value)
        if len(head) + len(field.strip()) > CARD:
            raise HeaderError(f"value of {keyword} does not fit in a card")
        body = head + field + (" / " + comment if comment else "")
        return [f"{body[:CARD]:<80}"]
    # a string: quoted, doubled quotes, at least 8 characters between the quotes
    escaped = value.replace("'", "''")
    room = CARD - len(head) - 2  # between the quotes on the first card
    if len(escaped) <= room:
        quoted = f"'{escaped:<8}'"
        body = f"{head}{quoted:<20}"
        if comment:
            body += " / " + comment
        return [f"{body[:CARD]:<80}"]
    # long string: pieces ending in '&' on CONTINUE cards (a doubled quote is not split)
    pieces, rest, first = [], escaped, True
    while rest:
        width = (room if first else CARD - 10 - 2) - 1  # room for the '&'
        piece = rest[:width]
        if (len(piece) - len(piece.rstrip("'"))) % 2:
            piece = piece[:-1]  # a doubled quote is not split between two cards
        rest = rest[len(piece):]
        pieces.append(piece)
        first = False
    cards = []
    for k, piece in enumerate(pieces):
        last = k == len(pieces) - 1
        text = f"'{piece}'" if last else f"'{piece}&'"
        prefix = head if k == 0 else "CONTINUE  "
        cards.append(f"{prefix}{text}"[:CARD].ljust(CARD))
    if comment:
        # the comment on a last CONTINUE card of its own when it does not fit
        tail = cards[-1].rstrip()
        if len(tail) + 3 + len(comment) <= CARD:
            cards[-1] = f"{tail} / {comment}"[:CARD].ljust(CARD)
        else:
            cards[-1] = (cards[-1].rstrip()[:-1] + "&'").ljust(CARD)
            cards.append(f"CONTINUE  '' / {comment}"[:CARD].ljust(CARD))
    return cards


# ----------------------------------------------------------------------------- header
#: The value and comment of a card read from a file, not parsed yet (see Header._resolve).
_LAZY = object()


def _resolve(card: list) -> list:
    """Parse the value and comment of a card read from a file on first use (most cards of
    a raw header are never looked at)."""
    if card[1] is _LAZY:
        field = _value_field(card[3])
        try:
            card[1], card[2], _ = _split_value(field)
        except HeaderError:
            # an unreadable value: kept as text, so that the card is not lost
            card[1], card[2] = field.strip(), ""
    return card


class _Comments:
    """``header.comments[key]`` (read and write), as in astropy."""

    def __init__(self, header: Header):
        self._header = header

    def __getitem__(self, key: str) -> str:
        return _resolve(self._header._cards[self._header._first(key)])[2]

    def __setitem__(self, key: str, comment: str) -> None:
        i = self._header._first(key)
        k, v, _, _ = _resolve(self._header._cards[i])
        self._header._cards[i] = [k, v, str(comment), None]


class Header:
    """An ordered FITS header (see the module documentation).

    Each card is kept as [keyword, value, comment, image]: ``image`` is the card's
    80-character text(s) as read (written back unchanged), None once the card is edited.
    Keywords are case-insensitive; ``h[key]`` is the first card with that keyword (for
    ``COMMENT`` and ``HISTORY``: the list of their texts).
    """

    __slots__ = ("_cards", "_index")

    def __init__(self, cards: Iterable | None = None):
        self._cards: list[list] = []
        self._index: dict[str, list[int]] | None = {}
        if cards is not None:
            if isinstance(cards, Header):
                self._cards = [list(c) for c in cards._cards]
                self._index = None
            else:
                for card in cards:
                    if isinstance(card, (tuple, list)) and len(card) in (2, 3):
                        self.append(*card)
                    else:  # an astropy Card
                        self.append(card.keyword, card.value, card.comment)

    # ------------------------------------------------------------------ parsing
    @classmethod
    def fromstring(cls, text: str | bytes, sep: str = "") -> Header:
        """Parse the cards of a header up to END (``text``: 80-character card images,
        concatenated, or separated by ``sep``)."""
        if isinstance(text, bytes):
            text = text.decode("ascii", "replace")
        if sep:
            images = [line.ljust(CARD)[:CARD] for line in text.split(sep)]
        else:
            images = [text[i:i + CARD] for i in range(0, len(text), CARD)]
        h = cls()
        cards = h._cards
        for image in images:
            if len(image) < CARD:
                image = image.ljust(CARD)
            key = image[:8].rstrip().upper()
            if key == "END" and image[3:].strip() == "":
                break
            if key == "CONTINUE" and cards and cards[-1][3] is not None \
                    and isinstance(_resolve(cards[-1])[1], str) \
                    and cards[-1][1].endswith("&") and image[8:10] != "= ":
                prev = cards[-1]
                prev[3] = prev[3] + image
                prev[1], prev[2] = _join_continued(
                    [prev[3][i:i + CARD] for i in range(0, len(prev[3]), CARD)])
                continue
            if key in COMMENTARY:
                cards.append([key, image[8:].rstrip(), "", image])
                continue
            if key == "HIERARCH" and "=" in image:
                key = image[9:].partition("=")[0].strip().upper()
            elif image[8:10] != "= ":
                # not a value card (no "= " in columns 9-10): keep its text as commentary
                cards.append([key, image[8:].rstrip(), "", image])
                continue
            cards.append([key, _LAZY, _LAZY, image])
        h._index = None
        return h

    def tostring(self, sep: str = "", endcard: bool = True, padding: bool = True) -> str:
        """The header as card images (END and blank padding to 2880 bytes by default)."""
        images = []
        for key, value, comment, image in self._cards:
            images.extend([image[i:i + CARD] for i in range(0, len(image), CARD)]
                          if image is not None else format_card(key, value, comment))
        if endcard:
            images.append("END".ljust(CARD))
        text = sep.join(images)
        if padding and not sep:
            text += " " * (-len(text) % BLOCK)
        return text

    # ------------------------------------------------------------------ lookup
    def _build_index(self) -> dict[str, list[int]]:
        index: dict[str, list[int]] = {}
        for i, card in enumerate(self._cards):
            index.setdefault(card[0], []).append(i)
        self._index = index
        return index

    def _positions(self, key: str) -> list[int]:
        index = self._index if self._index is not None else self._build_index()
        key = key.upper()
        if key not in index and key.startswith("HIERARCH "):
            key = key[9:].strip()
        return index.get(key, [])

    def _first(self, key: str) -> int:
        pos = self._positions(key)
        if not pos:
            raise KeyError(f"Keyword {key!r} not found.")
        return pos[0]

    def __contains__(self, key) -> bool:
        return isinstance(key, str) and bool(self._positions(key))

    def __getitem__(self, key):
        if isinstance(key, int):
            return _resolve(self._cards[key])[1]
        if key.upper() in ("COMMENT", "HISTORY"):
            return [self._cards[i][1] for i in self._positions(key)]
        return _resolve(self._cards[self._first(key)])[1]

    def get(self, key: str, default=None):
        pos = self._positions(key)
        if not pos:
            return default
        if key.upper() in ("COMMENT", "HISTORY"):
            return [self._cards[i][1] for i in pos]
        return _resolve(self._cards[pos[0]])[1]

    def count(self, key: str) -> int:
        return len(self._positions(key))

    def index(self, key: str) -> int:
        return self._first(key)

    def __len__(self) -> int:
        return len(self._cards)

    def __iter__(self) -> Iterator[str]:
        return (c[0] for c in self._cards)

    def keys(self) -> list[str]:
        return [c[0] for c in self._cards]

    def values(self) -> list:
        return [_resolve(c)[1] for c in self._cards]

    def items(self) -> list[tuple[str, object]]:
        return [(c[0], _resolve(c)[1]) for c in self._cards]

    @property
    def cards(self) -> list[Card]:
        return [Card(c[0], *_resolve(c)[1:3]) for c in self._cards]

    @property
    def comments(self) -> _Comments:
        return _Comments(self)

    # ------------------------------------------------------------------ editing
    @staticmethod
    def _check(key: str, value) -> tuple[str, object]:
        key = key.upper()
        if key.startswith("HIERARCH "):
            key = key[9:].strip()
        if isinstance(value, float) and not math.isfinite(value):
            raise HeaderError(f"{key} = {value}: not allowed as a FITS header value")
        if hasattr(value, "item") and not isinstance(value, (str, bytes)):
            value = value.item()  # numpy scalars -> Python numbers
            if isinstance(value, float) and not math.isfinite(value):
                raise HeaderError(f"{key} = {value}: not allowed as a FITS header value")
        if isinstance(value, str) and not value.isascii():
            raise HeaderError(f"{key}: FITS header strings must be ASCII, got {value!r}")
        return key, value

    def __setitem__(self, key: str, value) -> None:
        if isinstance(value, tuple):
            if len(value) == 2:
                self.set(key, value[0], value[1])
                return
            if len(value) == 1:
                self.set(key, value[0])
                return
        self.set(key, value)

    def set(self, key: str, value=None, comment: str | None = None) -> None:
        """Set the first card with ``key`` (its comment kept unless given), or append one.
        ``COMMENT``/``HISTORY`` always append."""
        key, value = self._check(key, value)
        if key in ("COMMENT", "HISTORY"):
            self.append(key, value, "")
            return
        pos = self._positions(key)
        if pos:
            card = _resolve(self._cards[pos[0]])
            new_comment = card[2] if comment is None else str(comment)
            if card[1] == value and type(card[1]) is type(value) and new_comment == card[2]:
                return
            self._cards[pos[0]] = [key, value, new_comment, None]
        else:
            self.append(key, value, "" if comment is None else str(comment))

    def append(self, key: str, value=None, comment: str = "") -> None:
        key, value = self._check(key, value)
        self._cards.append([key, value, str(comment or ""), None])
        if self._index is not None:
            self._index.setdefault(key, []).append(len(self._cards) - 1)

    def extend(self, other) -> None:
        """Append every card of another header (as they are, duplicates included)."""
        other = as_header(other)
        self._cards.extend(list(c) for c in other._cards)
        self._index = None

    def add_history(self, text: str) -> None:
        self.append("HISTORY", str(text))

    def add_comment(self, text: str) -> None:
        self.append("COMMENT", str(text))

    def remove(self, key: str, ignore_missing: bool = False, remove_all: bool = False) -> None:
        pos = self._positions(key)
        if not pos:
            if ignore_missing:
                return
            raise KeyError(f"Keyword {key!r} not found.")
        drop = set(pos if remove_all else pos[:1])
        self._cards = [c for i, c in enumerate(self._cards) if i not in drop]
        self._index = None

    def __delitem__(self, key: str) -> None:
        self.remove(key, remove_all=True)

    def update(self, other=None, **kwargs) -> None:
        """Set every (key, value) of a mapping, a Header or keyword arguments."""
        if other is not None:
            if isinstance(other, Header):
                for k, v, c, _ in map(_resolve, other._cards):
                    if k in COMMENTARY:
                        self.append(k, v)
                    else:
                        self.set(k, v, c)
            else:
                for k, v in (other.items() if hasattr(other, "items") else other):
                    self[k] = v
        for k, v in kwargs.items():
            self[k] = v

    def copy(self) -> Header:
        h = Header()
        h._cards = [list(c) for c in self._cards]
        h._index = None
        return h

    def __eq__(self, other) -> bool:
        if not isinstance(other, Header):
            return NotImplemented
        return ([_resolve(c)[:3] for c in self._cards]
                == [_resolve(c)[:3] for c in other._cards])

    def __repr__(self) -> str:
        return self.tostring(sep="\n", endcard=False, padding=False)


def date_obs_from_mjd(mjd: float) -> str:
    """ISO 8601 date and time (UTC, to the millisecond) of a Modified Julian Date (days)."""
    import datetime as dt

    moment = dt.datetime(1858, 11, 17) + dt.timedelta(days=float(mjd))
    return moment.isoformat(timespec="milliseconds")


def add_date_obs(header) -> None:
    """Give a header (ours or astropy's) that has ``MJD-OBS`` but no ``DATE-OBS`` the
    ``DATE-OBS`` card astropy's WCS reads (else its 'datfix' sets it and warns)."""
    if "DATE-OBS" not in header and header.get("MJD-OBS") is not None:
        header["DATE-OBS"] = (date_obs_from_mjd(header["MJD-OBS"]),
                              "UTC start of the exposure (from MJD-OBS)")


def as_header(header) -> Header:
    """A :class:`Header` from a Header (itself) or anything with ``tostring()`` (an
    astropy Header)."""
    if isinstance(header, Header):
        return header
    if hasattr(header, "tostring"):
        return Header.fromstring(header.tostring())
    return Header(header)


def to_astropy(header):
    """An astropy ``fits.Header`` with the same cards (imports astropy)."""
    from astropy.io import fits

    if isinstance(header, fits.Header):
        return header
    return fits.Header.fromstring(as_header(header).tostring(endcard=True, padding=False))
