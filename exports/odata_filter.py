"""OData `$filter` on submission metadata, parsed by hand into a SQLAlchemy condition.

Central accepts comparisons (`eq ne lt le gt ge`), `and`, `or`, `not`, parentheses, and the
functions `year month day hour minute second now` over a few `__system/…` fields
(lib/data/odata-filter.js). The expression comes from a URL, so it is tokenised and parsed by
a small recursive-descent parser into bound SQL parameters — never evaluated, never pasted
into SQL text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, Integer, and_, cast, extract, literal, not_, or_
from sqlalchemy.orm import InstrumentedAttribute

from server.db import utcnow
from server.models import Submission


class QueryError(ValueError):
    """An OData option we cannot use (`$filter`, `$select`, `$skiptoken` …); `code` is
    Central's problem code for it (400.18, 400.23, 400.35, 501.5 …)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


FIELDS: dict[str, InstrumentedAttribute[Any]] = {
    "__system/submissionDate": Submission.created_at,
    "__system/updatedAt": Submission.updated_at,
    "__system/submitterId": Submission.submitter_id,
    "__system/reviewState": Submission.review_state,
    "__system/deletedAt": Submission.deleted_at,
}
_DATETIME_FIELDS = {"__system/submissionDate", "__system/updatedAt", "__system/deletedAt"}
_FUNCTIONS = {"year", "month", "day", "hour", "minute", "second"}
_COMPARISONS = {"eq", "ne", "lt", "le", "gt", "ge"}

_TOKEN = re.compile(r"""
    (?P<space>\s+)
  | (?P<string>'(?:[^']|'')*')
  | (?P<date>\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2})?)?)
  | (?P<number>-?\d+(?:\.\d+)?)
  | (?P<name>\$?[A-Za-z_][A-Za-z0-9_]*(?:/[A-Za-z_][A-Za-z0-9_]*)*)
  | (?P<punct>[(),])
""", re.VERBOSE)


@dataclass(frozen=True)
class _Token:
    kind: str
    text: str
    at: int


def _tokens(expression: str) -> list[_Token]:
    found: list[_Token] = []
    position = 0
    while position < len(expression):
        match = _TOKEN.match(expression, position)
        if match is None:
            raise QueryError("400.18", f"unexpected character at {position}")
        kind = match.lastgroup or ""
        if kind != "space":
            found.append(_Token(kind, match.group(), position))
        position = match.end()
    return found


@dataclass(frozen=True)
class _Field:
    name: str


@dataclass(frozen=True)
class _Call:
    function: str
    argument: Any


def _parse_datetime(text: str) -> datetime:
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value


class _Parser:
    """expr := or ; or := and ('or' and)* ; and := unary ('and' unary)* ;
    unary := 'not' unary | comparison ; comparison := operand (op operand)? ;
    operand := '(' expr ')' | function '(' [operand] ')' | field | literal"""

    def __init__(self, expression: str) -> None:
        self.tokens = _tokens(expression)
        self.position = 0

    def peek(self) -> _Token | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def take(self, text: str | None = None) -> _Token:
        token = self.peek()
        if token is None or (text is not None and token.text != text):
            raise QueryError("400.18", f"expected {text or 'more'} at the end of the expression"
                              if token is None else f"expected {text} at {token.at}")
        self.position += 1
        return token

    def keyword(self, word: str) -> bool:
        token = self.peek()
        if token is not None and token.kind == "name" and token.text == word:
            self.position += 1
            return True
        return False

    def parse(self) -> ColumnElement[bool]:
        condition = self.disjunction()
        if self.peek() is not None:
            raise QueryError("400.18", f"unexpected {self.peek().text!r} at {self.peek().at}")  # type: ignore[union-attr]
        return condition

    def disjunction(self) -> ColumnElement[bool]:
        parts = [self.conjunction()]
        while self.keyword("or"):
            parts.append(self.conjunction())
        return parts[0] if len(parts) == 1 else or_(*parts)

    def conjunction(self) -> ColumnElement[bool]:
        parts = [self.unary()]
        while self.keyword("and"):
            parts.append(self.unary())
        return parts[0] if len(parts) == 1 else and_(*parts)

    def unary(self) -> ColumnElement[bool]:
        if self.keyword("not"):
            return not_(self.unary())
        return self.comparison()

    def comparison(self) -> ColumnElement[bool]:
        token = self.peek()
        if token is not None and token.text == "(":
            self.take("(")
            inner = self.disjunction()
            self.take(")")
            return inner
        left = self.operand()
        operator = self.peek()
        if operator is None or operator.text not in _COMPARISONS:
            raise QueryError("501.4", "The given OData filter expression uses features not "
                              "supported by this server: a comparison was expected")
        self.position += 1
        return _compare(operator.text, left, self.operand())

    def operand(self) -> Any:
        token = self.take()
        if token.kind == "string":
            return token.text[1:-1].replace("''", "'")
        if token.kind == "date":
            return _parse_datetime(token.text)
        if token.kind == "number":
            return float(token.text) if "." in token.text else int(token.text)
        if token.kind != "name":
            raise QueryError("400.18", f"unexpected {token.text!r} at {token.at}")
        return self.named(token)

    def named(self, token: _Token) -> Any:
        if token.text in {"null", "true", "false"}:
            return {"null": None, "true": True, "false": False}[token.text]
        if token.text in _FUNCTIONS or token.text == "now":
            self.take("(")
            argument = None if token.text == "now" else self.operand()
            self.take(")")
            return utcnow() if token.text == "now" else _Call(token.text, argument)
        name = token.text.removeprefix("$root/Submissions/")
        if name not in FIELDS:
            raise QueryError("501.5", "The given OData filter expression references fields "
                              f"not supported by this server: {token.text} at {token.at}")
        return _Field(name)


def _coerce(value: Any, field: _Field) -> Any:
    """Literals take the type of the field they are compared with (dates, actor ids)."""
    if isinstance(value, str) and field.name in _DATETIME_FIELDS:
        try:
            return _parse_datetime(value)
        except ValueError as exc:
            raise QueryError("400.18", f"{value!r} is not a date") from exc
    if isinstance(value, str) and field.name == "__system/submitterId":
        if not value.isdigit():
            raise QueryError("400.18", f"{value!r} is not an actor id")
        return int(value)
    return value


def _sql(operand: Any, other: Any) -> Any:
    if isinstance(operand, _Field):
        return FIELDS[operand.name]
    if isinstance(operand, _Call):
        if not isinstance(operand.argument, _Field):
            raise QueryError("501.4", f"{operand.function}() needs a field")
        return cast(extract(operand.function, FIELDS[operand.argument.name]), Integer)
    if isinstance(other, _Field):
        operand = _coerce(operand, other)
    return literal(operand)


def _compare(operator: str, left: Any, right: Any) -> ColumnElement[bool]:
    if left is None and right is None:
        return literal(operator == "eq")
    if left is None or right is None:
        side = _sql(right if left is None else left, None)
        # Central: `eq null` is IS NULL, `ne null` its negation; other operators never match.
        if operator not in {"eq", "ne"}:
            return literal(False)
        return side.is_(None) if operator == "eq" else side.is_not(None)
    lhs, rhs = _sql(left, right), _sql(right, left)
    if operator in {"eq", "ne"}:
        same = lhs.is_not_distinct_from(rhs)
        return same if operator == "eq" else not_(same)
    return {"lt": lhs < rhs, "le": lhs <= rhs, "gt": lhs > rhs, "ge": lhs >= rhs}[operator]


def parse_filter(expression: str | None) -> ColumnElement[bool] | None:
    """A condition on `Submission` columns, or None when there is no filter."""
    if expression is None or not expression.strip():
        return None
    return _Parser(expression).parse()


def mentions_deleted(expression: str | None) -> bool:
    """Central shows deleted submissions only to a filter that asks about `deletedAt`."""
    return bool(expression) and "__system/deletedAt" in (expression or "")
