"""File selection: the dataselect equivalent over the manifest.

Expressions: descriptor names, ``== != < > <= >=``, ``and``, ``or``, ``not``, parentheses,
e.g. ``filter_name=="i" and exposure_time > 5``.  As in DRAGONS' non-strict mode,
``filter_name`` and ``detector_name`` compare with the pretty names, ``exposure_time==x`` is a
closeness test, ``ut_date``/``ut_datetime`` compare as dates.  Parsed by recursive descent
(no ``eval``).
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable, Iterable, Sequence

import pandas as pd

from gmoslib.workflow.manifest import build_manifest


class ExpressionError(ValueError):
    """A selection expression cannot be parsed; the message gives the position."""


#: DRAGONS descriptor name -> manifest column where they differ (other columns are their own).
ALIASES = {"filter_name": "filter", "detector_name": "detector", "detector_roi_setting": "roi",
           "raw_filter_name": "filter_name", "raw_detector_name": "detector_name"}

#: Descriptors compared (and shown by ``gmos showd``) in DRAGONS' pretty form, e.g. filter_name
#: ``i``; ``raw_<name>`` is the header's, e.g. raw_filter_name ``open1-6&i_G0302``.
PRETTY = ("filter_name", "detector_name")


def descriptor_value(descriptors, name: str):
    """Descriptor ``name`` of a :class:`gmoslib.instrument.descriptors.Descriptors`, in the
    form expressions compare (:data:`PRETTY`)."""
    if name in PRETTY:
        return getattr(descriptors, name)(pretty=True)
    if name.startswith("raw_") and name[4:] in PRETTY:
        return getattr(descriptors, name[4:])()
    method = getattr(descriptors, name, None)
    if method is None or name.startswith("_") or not callable(method):
        raise ValueError(f"unknown descriptor {name!r}")
    return method()


def split_tags(values: Iterable[str] | None) -> list[str]:
    """Tags given as DRAGONS does, comma-separated and/or repeated: ``["BIAS,FLAT", "CAL"]``
    -> ``["BIAS", "FLAT", "CAL"]``."""
    return [t.strip() for v in values or () for t in str(v).split(",") if t.strip()]

_TOKEN = re.compile(r"""
    (?P<ws>\s+)
  | (?P<op>==|!=|<=|>=|<|>)
  | (?P<lpar>\()
  | (?P<rpar>\))
  | (?P<string>"[^"]*"|'[^']*')
  | (?P<number>[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?(?![\w:-]))
  | (?P<word>[A-Za-z_][A-Za-z0-9_.:-]*|\d[\w:.-]*)
""", re.VERBOSE)


def _tokenize(text: str) -> list[tuple[str, str, int]]:
    tokens, pos = [], 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            raise ExpressionError(f"cannot read {text[pos:]!r} at position {pos} of {text!r}")
        kind = m.lastgroup
        if kind != "ws":
            tokens.append((kind, m.group(), pos))
        pos = m.end()
    return tokens


Predicate = Callable[[pd.Series], bool]


def _compare(column: str, op: str, literal, text: str) -> Predicate:
    def as_date(v):
        if isinstance(v, dt.datetime | dt.date):
            return v
        s = str(v)
        return dt.datetime.fromisoformat(s) if "T" in s or " " in s or ":" in s \
            else dt.date.fromisoformat(s)

    def pred(row) -> bool:
        value = row[column]
        if value is None or (not isinstance(value, str) and pd.isna(value)):
            return op == "!="
        lit = literal
        try:
            if column in ("ut_date", "ut_datetime"):
                lhs = as_date(value)
                rhs = as_date(lit)
                if isinstance(rhs, dt.datetime) and not isinstance(lhs, dt.datetime):
                    lhs = dt.datetime.combine(lhs, dt.time())
                elif isinstance(lhs, dt.datetime) and not isinstance(rhs, dt.datetime):
                    lhs = lhs.date()
            elif isinstance(lit, float):
                lhs, rhs = float(value), lit
                if column == "exposure_time" and op in ("==", "!="):
                    close = math.isclose(lhs, rhs, rel_tol=1e-6, abs_tol=1e-6)
                    return close if op == "==" else not close
            else:
                lhs, rhs = str(value), str(lit)
        except (TypeError, ValueError) as exc:
            raise ExpressionError(f"cannot compare {column}={value!r} with {lit!r} in "
                                  f"{text!r}: {exc}") from exc
        return {"==": lhs == rhs, "!=": lhs != rhs, "<": lhs < rhs, ">": lhs > rhs,
                "<=": lhs <= rhs, ">=": lhs >= rhs}[op]

    return pred


class _Parser:
    def __init__(self, text: str, columns: Sequence[str]):
        self.text = text
        self.tokens = _tokenize(text)
        self.i = 0
        self.columns = set(columns)

    def peek(self):
        return self.tokens[self.i] if self.i < len(self.tokens) else ("end", "", len(self.text))

    def take(self):
        tok = self.peek()
        self.i += 1
        return tok

    def fail(self, what: str):
        kind, value, pos = self.peek()
        found = "end of expression" if kind == "end" else repr(value)
        raise ExpressionError(f"expected {what} at position {pos} of {self.text!r}, "
                              f"found {found}")

    def parse(self) -> Predicate:
        pred = self.or_expr()
        if self.peek()[0] != "end":
            self.fail("'and', 'or' or the end")
        return pred

    def or_expr(self) -> Predicate:
        return self.joined("or", self.and_expr, lambda a, b: lambda r: a(r) or b(r))

    def and_expr(self) -> Predicate:
        return self.joined("and", self.not_expr, lambda a, b: lambda r: a(r) and b(r))

    def joined(self, word: str, operand, join) -> Predicate:
        """Operands separated by ``word`` (and/or), joined left to right."""
        left = operand()
        while self.peek()[:2] == ("word", word):
            self.take()
            left = join(left, operand())
        return left

    def not_expr(self) -> Predicate:
        if self.peek()[:2] == ("word", "not"):
            self.take()
            inner = self.not_expr()
            return lambda r: not inner(r)
        return self.atom()

    def atom(self) -> Predicate:
        kind, value, pos = self.peek()
        if kind == "lpar":
            self.take()
            inner = self.or_expr()
            if self.peek()[0] != "rpar":
                self.fail("')'")
            self.take()
            return inner
        if kind != "word" or value in ("and", "or", "not"):
            self.fail("a descriptor name or '('")
        self.take()
        column = ALIASES.get(value, value)
        if column not in self.columns:
            raise ExpressionError(
                f"unknown descriptor {value!r} at position {pos} of {self.text!r}; known: "
                f"{', '.join(sorted(set(ALIASES) | self.columns))}")
        if self.peek()[0] != "op":
            self.fail("a comparison operator (== != < > <= >=)")
        op = self.take()[1]
        kind, lit, _ = self.peek()
        if kind == "string":
            literal = lit[1:-1]
        elif kind == "number":
            literal = float(lit)
        elif kind == "word" and lit not in ("and", "or", "not"):
            literal = lit
        else:
            self.fail("a value")
        self.take()
        if column in ("ut_date", "ut_datetime") and not isinstance(literal, str):
            literal = str(lit)
        return _compare(column, op, literal, self.text)


def parse_expression(text: str, columns: Iterable[str] | None = None) -> Predicate:
    """A predicate over a manifest row (pandas Series) for a selection expression."""
    from gmoslib.workflow.manifest import COLUMNS

    return _Parser(text, list(columns) if columns is not None else list(COLUMNS)).parse()


def select_data(inputs, tags: Sequence[str] = (), xtags: Sequence[str] = (),
                expression: str | None = None) -> list[str]:
    """Paths of the usable files with all ``tags``, none of ``xtags``, satisfying the
    expression.  inputs: a manifest DataFrame, a raw directory, or a list of paths."""
    table = inputs if isinstance(inputs, pd.DataFrame) else build_manifest(inputs)
    pred = parse_expression(expression, table.columns) if expression else None
    out = []
    for _, row in table.iterrows():
        row_tags = set(str(row["tags"]).split(","))
        if (row["usable"] and set(tags) <= row_tags and not set(xtags) & row_tags
                and (pred is None or pred(row))):
            out.append(str(row["path"]))
    return out
