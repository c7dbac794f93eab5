"""A small declarative rule language for deriving categories from one child's answers.

Rules are JSON data (one file per form, see `derive.FORM_RULES`), so the mapping table of
docs/screening.md §7 lives in one readable place and a commune can adjust an unverified
threshold without touching code. Nothing is ever `eval`-ed: each JSON object is parsed into
one of the condition classes below, and an unknown shape is refused at load time.

Conditions (``field`` reads the child's repeat, ``household_field`` the household/root level):

* ``{"field": F, "equals": V}`` · ``{"field": F, "in": [V, …]}``
* ``{"field": F, "selected": V}`` · ``{"field": F, "selected_any": [V, …]}`` — select_multiple
  answers are space-separated codes, as ODK submits them
* ``{"field": F, "answered": true}`` — a non-blank answer
* ``{"field": F, "lt" | "le" | "gt" | "ge": N}`` — numeric; N may be ``{"param": name}``
* ``{"age": {"lt": N, "ge": N, …}, "if_unknown": false}`` — completed years on the day of
  derivation (`sync.categories.age`)
* ``{"all": [C, …]}`` · ``{"any": [C, …]}`` · ``{"not": C}`` · ``{"ref": name}`` — a named
  condition from the file's ``conditions``

A missing or blank answer satisfies no test (as in XPath, where ``'' = 'x'`` and ``'' < 9`` are
false), so ``not`` of a test on a missing answer is true.
"""

from __future__ import annotations

import operator
import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum

from sync.categories._schema import Fields
from sync.categories.errors import RulesInvalid

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")
_COMPARISONS: dict[str, Callable[[float, float], bool]] = {
    "lt": operator.lt,
    "le": operator.le,
    "gt": operator.gt,
    "ge": operator.ge,
}


class Scope(StrEnum):
    CHILD = "child"
    HOUSEHOLD = "household"


@dataclass(frozen=True, slots=True)
class FieldRef:
    scope: Scope
    name: str


@dataclass(frozen=True, slots=True)
class Context:
    """What a condition is evaluated against: one child, their household, their age."""

    child: Mapping[str, str]
    household: Mapping[str, str]
    age: int | None

    def value(self, field: FieldRef) -> str:
        source = self.child if field.scope is Scope.CHILD else self.household
        return source.get(field.name, "")


class Condition(ABC):
    @abstractmethod
    def holds(self, context: Context) -> bool: ...

    @abstractmethod
    def fields(self) -> Iterator[FieldRef]:
        """Every field the condition reads (through named conditions too)."""


@dataclass(frozen=True, slots=True)
class OneOf(Condition):
    """The answer is one of `values` (``equals`` is the one-value case)."""

    field: FieldRef
    values: tuple[str, ...]

    def holds(self, context: Context) -> bool:
        return context.value(self.field) in self.values

    def fields(self) -> Iterator[FieldRef]:
        yield self.field


@dataclass(frozen=True, slots=True)
class Selected(Condition):
    """At least one of `values` among a select_multiple answer's codes."""

    field: FieldRef
    values: tuple[str, ...]

    def holds(self, context: Context) -> bool:
        return not set(self.values).isdisjoint(context.value(self.field).split())

    def fields(self) -> Iterator[FieldRef]:
        yield self.field


@dataclass(frozen=True, slots=True)
class Answered(Condition):
    field: FieldRef
    expected: bool = True

    def holds(self, context: Context) -> bool:
        return bool(context.value(self.field)) == self.expected

    def fields(self) -> Iterator[FieldRef]:
        yield self.field


@dataclass(frozen=True, slots=True)
class Compare(Condition):
    """A numeric answer against a bound; a blank or non-numeric answer compares false."""

    field: FieldRef
    op: str
    bound: float

    def holds(self, context: Context) -> bool:
        try:
            number = float(context.value(self.field))
        except ValueError:
            return False
        return _COMPARISONS[self.op](number, self.bound)

    def fields(self) -> Iterator[FieldRef]:
        yield self.field


@dataclass(frozen=True, slots=True)
class AgeIn(Condition):
    """Every bound holds for the child's age; `if_unknown` when the age cannot be told."""

    bounds: tuple[tuple[str, float], ...]
    if_unknown: bool = False

    def holds(self, context: Context) -> bool:
        if context.age is None:
            return self.if_unknown
        return all(_COMPARISONS[op](context.age, bound) for op, bound in self.bounds)

    def fields(self) -> Iterator[FieldRef]:
        return iter(())


@dataclass(frozen=True, slots=True)
class AllOf(Condition):
    parts: tuple[Condition, ...]

    def holds(self, context: Context) -> bool:
        return all(part.holds(context) for part in self.parts)

    def fields(self) -> Iterator[FieldRef]:
        for part in self.parts:
            yield from part.fields()


@dataclass(frozen=True, slots=True)
class AnyOf(Condition):
    parts: tuple[Condition, ...]

    def holds(self, context: Context) -> bool:
        return any(part.holds(context) for part in self.parts)

    def fields(self) -> Iterator[FieldRef]:
        for part in self.parts:
            yield from part.fields()


@dataclass(frozen=True, slots=True)
class Not(Condition):
    part: Condition

    def holds(self, context: Context) -> bool:
        return not self.part.holds(context)

    def fields(self) -> Iterator[FieldRef]:
        return self.part.fields()


@dataclass(frozen=True, slots=True)
class Ref(Condition):
    """A named condition of the rule file (resolved at load time)."""

    name: str
    target: Condition

    def holds(self, context: Context) -> bool:
        return self.target.holds(context)

    def fields(self) -> Iterator[FieldRef]:
        return self.target.fields()


class ConditionParser:
    """Turns JSON condition objects into `Condition` values, refusing anything unknown.

    `named` holds the file's raw named conditions; they are parsed on first use, with a
    guard against cycles. `params` are the file's numeric parameters.
    """

    def __init__(self, named: Mapping[str, object], params: Mapping[str, float]) -> None:
        self._raw = dict(named)
        self._params = dict(params)
        self._parsed: dict[str, Condition] = {}
        self._resolving: list[str] = []

    def named(self, name: str, where: str) -> Condition:
        if name in self._parsed:
            return self._parsed[name]
        if name not in self._raw:
            raise RulesInvalid(f"{where}: unknown named condition {name!r}")
        if name in self._resolving:
            cycle = " → ".join([*self._resolving, name])
            raise RulesInvalid(f"{where}: named conditions refer to each other in a cycle: {cycle}")
        self._resolving.append(name)
        try:
            parsed = self.parse(self._raw[name], f"conditions.{name}")
        finally:
            self._resolving.pop()
        self._parsed[name] = parsed
        return parsed

    def parse(self, data: object, where: str) -> Condition:
        if not isinstance(data, dict):
            raise RulesInvalid(f"{where}: a condition is a JSON object, got {data!r}")
        fields = Fields(data, where, RulesInvalid)
        if fields.has("all") or fields.has("any"):
            key = "all" if fields.has("all") else "any"
            parts = tuple(
                self.parse(part, f"{where}.{key}[{n}]")
                for n, part in enumerate(fields.objects(key))
            )
            if not parts:
                raise fields.fail(key, "needs at least one condition")
            fields.done()
            return AllOf(parts) if key == "all" else AnyOf(parts)
        if fields.has("not"):
            part = self.parse(fields.raw("not"), f"{where}.not")
            fields.done()
            return Not(part)
        if fields.has("ref"):
            name = fields.text("ref")
            fields.done()
            return Ref(name, self.named(name, where))
        if fields.has("age"):
            return self._age(fields)
        return self._field_test(fields)

    def _number(self, value: object, where: str) -> float:
        if isinstance(value, dict) and set(value) == {"param"}:
            name = value["param"]
            if name not in self._params:
                raise RulesInvalid(f"{where}: unknown parameter {name!r}")
            return self._params[name]
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise RulesInvalid(f'{where}: expected a number or {{"param": name}}')
        return float(value)

    def _age(self, fields: Fields) -> Condition:
        bounds_data = fields.mapping("age")
        bounds = []
        for op, value in bounds_data.items():
            if op not in _COMPARISONS:
                raise fields.fail("age", f"unknown comparison {op!r} (use lt, le, gt, ge)")
            bounds.append((op, self._number(value, f"{fields.where}.age.{op}")))
        if not bounds:
            raise fields.fail("age", "needs at least one bound")
        if_unknown = fields.flag("if_unknown", default=False)
        fields.done()
        return AgeIn(tuple(bounds), if_unknown)

    def _field_test(self, fields: Fields) -> Condition:
        if fields.has("field") == fields.has("household_field"):
            raise RulesInvalid(
                f"{fields.where}: expected exactly one of all, any, not, ref, age, field, "
                f"household_field (got {', '.join(sorted(fields.data)) or 'nothing'})"
            )
        scope = Scope.CHILD if fields.has("field") else Scope.HOUSEHOLD
        name = fields.text("field" if scope is Scope.CHILD else "household_field")
        if not _NAME.match(name):
            raise RulesInvalid(f"{fields.where}: {name!r} is not a field name")
        field = FieldRef(scope, name)
        tests = [
            key
            for key in ("equals", "in", "selected", "selected_any", "answered", *_COMPARISONS)
            if fields.has(key)
        ]
        if len(tests) != 1:
            raise RulesInvalid(f"{fields.where}: a field test needs exactly one operator")
        (test,) = tests
        condition: Condition
        if test == "equals":
            condition = OneOf(field, (fields.text("equals"),))
        elif test == "in":
            condition = OneOf(field, _values(fields, "in"))
        elif test == "selected":
            condition = Selected(field, (fields.text("selected"),))
        elif test == "selected_any":
            condition = Selected(field, _values(fields, "selected_any"))
        elif test == "answered":
            condition = Answered(field, fields.flag("answered"))
        else:
            condition = Compare(field, test, self._number(fields.raw(test), fields.where))
        fields.done()
        return condition


def _values(fields: Fields, key: str) -> tuple[str, ...]:
    values = fields.texts(key)
    if not values:
        raise fields.fail(key, "needs at least one value")
    return values
