"""The rule language: each operator, missing answers, named conditions, parameters, and a
strict parser that refuses anything it does not know (nothing is evaluated as code)."""

from __future__ import annotations

from typing import Any

import pytest

from sync.categories import RulesInvalid
from sync.categories.rules import ConditionParser, Context, FieldRef, Scope

PARAMS = {"limit": 16.0}


def holds(
    condition: Any,
    child: dict[str, str] | None = None,
    household: dict[str, str] | None = None,
    age: int | None = 10,
    named: dict[str, object] | None = None,
) -> bool:
    parsed = ConditionParser(named or {}, PARAMS).parse(condition, "test")
    return parsed.holds(Context(child or {}, household or {}, age))


@pytest.mark.parametrize(
    ("condition", "child", "expected"),
    [
        ({"field": "x", "equals": "dead"}, {"x": "dead"}, True),
        ({"field": "x", "equals": "dead"}, {"x": "alive"}, False),
        ({"field": "x", "in": ["poor", "near_poor"]}, {"x": "near_poor"}, True),
        ({"field": "x", "in": ["poor", "near_poor"]}, {"x": "none"}, False),
        ({"field": "x", "selected": "work_earn"}, {"x": "cost work_earn"}, True),
        ({"field": "x", "selected": "work"}, {"x": "work_earn"}, False),
        ({"field": "x", "selected_any": ["a", "b"]}, {"x": "c b"}, True),
        ({"field": "x", "answered": True}, {"x": "heavy_loads"}, True),
        ({"field": "x", "answered": True}, {"x": ""}, False),
        ({"field": "x", "answered": False}, {}, True),
        ({"field": "x", "lt": 9}, {"x": "8"}, True),
        ({"field": "x", "lt": 9}, {"x": "9"}, False),
        ({"field": "x", "le": 9}, {"x": "9"}, True),
        ({"field": "x", "gt": 40}, {"x": "41"}, True),
        ({"field": "x", "ge": 40}, {"x": "40"}, True),
        ({"field": "x", "gt": {"param": "limit"}}, {"x": "17"}, True),
    ],
)
def test_field_tests(condition: dict[str, Any], child: dict[str, str], expected: bool) -> None:
    assert holds(condition, child) is expected


@pytest.mark.parametrize(
    "condition",
    [
        {"field": "x", "equals": "dead"},
        {"field": "x", "in": ["dead"]},
        {"field": "x", "selected": "dead"},
        {"field": "x", "lt": 9},
        {"field": "x", "gt": -1},
    ],
)
def test_a_missing_or_blank_answer_satisfies_no_test(condition: dict[str, Any]) -> None:
    assert not holds(condition, {})
    assert not holds(condition, {"x": ""})
    assert holds({"not": condition}, {})


def test_numbers_that_are_not_numbers_compare_false() -> None:
    assert not holds({"field": "x", "lt": 9}, {"x": "nine"})


def test_household_fields_are_read_from_the_household() -> None:
    condition = {"household_field": "hh_poverty", "equals": "poor"}
    assert holds(condition, household={"hh_poverty": "poor"})
    assert not holds(condition, child={"hh_poverty": "poor"})


def test_all_any_not() -> None:
    a, b = {"field": "a", "equals": "1"}, {"field": "b", "equals": "1"}
    assert holds({"all": [a, b]}, {"a": "1", "b": "1"})
    assert not holds({"all": [a, b]}, {"a": "1"})
    assert holds({"any": [a, b]}, {"b": "1"})
    assert not holds({"any": [a, b]}, {})
    assert holds({"not": {"any": [a, b]}}, {})


@pytest.mark.parametrize(("age", "expected"), [(15, True), (16, False), (None, True)])
def test_age_bounds_and_unknown_age(age: int | None, expected: bool) -> None:
    condition = {"age": {"lt": {"param": "limit"}}, "if_unknown": True}
    assert holds(condition, age=age) is expected


def test_age_ranges_and_unknown_age_false_by_default() -> None:
    condition = {"age": {"ge": 16, "lt": 22}}
    assert [holds(condition, age=a) for a in (15, 16, 21, 22)] == [False, True, True, False]
    assert not holds(condition, age=None)


def test_named_conditions_and_the_fields_they_read() -> None:
    named: dict[str, object] = {
        "dead_mother": {"field": "m", "equals": "dead"},
        "orphan": {"all": [{"ref": "dead_mother"}, {"field": "f", "equals": "dead"}]},
    }
    parser = ConditionParser(named, PARAMS)
    orphan = parser.parse({"ref": "orphan"}, "test")
    assert orphan.holds(Context({"m": "dead", "f": "dead"}, {}, 3))
    assert set(orphan.fields()) == {FieldRef(Scope.CHILD, "m"), FieldRef(Scope.CHILD, "f")}


@pytest.mark.parametrize(
    "condition",
    [
        "c_mother_status == 'dead'",  # a string is never evaluated
        {"field": "x", "equal": "dead"},  # typo in the operator
        {"field": "x", "equals": "a", "in": ["b"]},  # two operators
        {"field": "x"},  # no operator
        {"field": "x", "household_field": "y", "equals": "a"},
        {"field": "x y", "equals": "a"},  # not a field name
        {"field": "x", "in": []},
        {"field": "x", "lt": "9"},
        {"field": "x", "lt": True},
        {"field": "x", "lt": {"param": "nope"}},
        {"all": []},
        {"all": [{"field": "x", "equals": "a"}], "any": [{"field": "x", "equals": "a"}]},
        {"ref": "nope"},
        {"age": {"below": 16}},
        {"age": {}},
        {"xpath": "${c_age} < 16"},
    ],
)
def test_unknown_shapes_are_refused(condition: Any) -> None:
    with pytest.raises(RulesInvalid):
        holds(condition)


def test_named_conditions_may_not_refer_to_each_other_in_a_cycle() -> None:
    named: dict[str, object] = {"a": {"ref": "b"}, "b": {"not": {"ref": "a"}}}
    with pytest.raises(RulesInvalid, match="cycle"):
        ConditionParser(named, PARAMS).parse({"ref": "a"}, "test")
