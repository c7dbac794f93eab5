"""The household_screening rules read only fields that the compiled form has, in the right
place (child repeat or household), compare only choice codes the field offers, and compare
numbers only on numeric fields — so a renamed question or choice breaks this test, not a
commune's flags."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from xml.etree.ElementTree import Element

import pytest
from defusedxml import ElementTree as SafeET
from pyxform.xls2xform import convert

import xlsforms
from sync.categories import default_catalogue, ruleset_for
from sync.categories.rules import (
    AgeIn,
    AllOf,
    Answered,
    AnyOf,
    Compare,
    Condition,
    FieldRef,
    Not,
    OneOf,
    Ref,
    Scope,
    Selected,
)
from sync.categories.ruleset import RuleSet
from xlsforms.sources.screening_rules import CATEGORY_RULES

X = "{http://www.w3.org/2002/xforms}"
H = "{http://www.w3.org/1999/xhtml}"
JR_TEMPLATE = "{http://openrosa.org/javarosa}template"


@dataclass(frozen=True)
class FormFields:
    child: set[str]
    household: set[str]
    types: dict[str, str]  # field name → bind type
    selects: dict[str, tuple[str, set[str]]]  # field name → (select1 | select, choice codes)

    def has(self, field: FieldRef) -> bool:
        return field.name in (self.child if field.scope is Scope.CHILD else self.household)


def _leaves(element: Element, path: str) -> Iterator[tuple[str, str]]:
    children = list(element)
    if not children:
        yield path, path.rsplit("/", 1)[-1]
    for child in children:
        yield from _leaves(child, f"{path}/{child.tag.split('}')[-1]}")


def _attr(element: Element, name: str) -> str:
    value = element.get(name)
    assert value is not None, (element.tag, name)
    return value


def _last(path: str) -> str:
    return path.rsplit("/", 1)[-1]


def read_form(form_id: str) -> FormFields:
    """The fields of a committed form, compiled by pyxform (no ODK Validate: fast)."""
    root = SafeET.fromstring(convert(xlsform=xlsforms.form_path(form_id)).xform)
    model = root.find(f"{H}head/{X}model")
    assert model is not None
    instances = model.findall(f"{X}instance")
    (data,) = list(instances[0])
    child, household = set(), set()
    for path, name in _leaves(data, "/data"):
        if path.startswith("/data/household/child/"):
            if "/meta/" not in path:
                child.add(name)
        else:
            household.add(name)
    types = {
        _last(_attr(bind, "nodeset")): bind.get("type", "string")
        for bind in model.findall(f"{X}bind")
    }
    lists = {
        _attr(instance, "id"): {name.text or "" for name in instance.iter(f"{X}name")}
        for instance in instances[1:]
    }
    selects = {}
    for kind in ("select1", "select"):
        for select in root.iter(f"{X}{kind}"):
            itemset = select.find(f"{X}itemset")
            if itemset is not None:
                codes = lists[_attr(itemset, "nodeset").split("'")[1]]
            else:
                codes = {value.text or "" for value in select.iter(f"{X}value")}
            selects[_last(_attr(select, "ref"))] = (kind, codes)
    return FormFields(child, household, types, selects)


@pytest.fixture(scope="module")
def form() -> FormFields:
    return read_form("household_screening")


@pytest.fixture(scope="module")
def rules() -> RuleSet:
    return ruleset_for("household_screening")


def leaf_tests(condition: Condition) -> Iterator[Condition]:
    """Every leaf test inside a condition (through named conditions)."""
    if isinstance(condition, AllOf | AnyOf):
        for part in condition.parts:
            yield from leaf_tests(part)
    elif isinstance(condition, Not):
        yield from leaf_tests(condition.part)
    elif isinstance(condition, Ref):
        yield from leaf_tests(condition.target)
    else:
        yield condition


def all_tests(rules: RuleSet) -> Iterator[tuple[str, Condition]]:
    for rule in rules.rules:
        for test in leaf_tests(rule.when):
            yield rule.id, test
        for sub in rule.subcodes:
            for test in leaf_tests(sub.when):
                yield rule.id, test


def test_the_form_was_read(form: FormFields) -> None:
    assert {"c_mother_status", "d_see", "f_type"} <= form.child
    assert {"hh_poverty", "today", "village"} <= form.household
    assert form.selects["c_hazard"][0] == "select"


def test_every_field_exists_in_its_scope(form: FormFields, rules: RuleSet) -> None:
    missing = sorted(f"{f.scope}:{f.name}" for f in rules.fields() if not form.has(f))
    assert missing == []


def test_every_compared_code_is_a_choice_of_its_field(form: FormFields, rules: RuleSet) -> None:
    for rule_id, test in all_tests(rules):
        if isinstance(test, OneOf | Selected):
            kind, choices = form.selects[test.field.name]
            assert set(test.values) <= choices, (rule_id, test)
            expected = "select" if isinstance(test, Selected) else "select1"
            assert kind == expected, (rule_id, test.field.name)


def test_numbers_are_compared_only_on_numeric_fields(form: FormFields, rules: RuleSet) -> None:
    numeric = [t for _, t in all_tests(rules) if isinstance(t, Compare)]
    assert numeric
    for test in numeric:
        assert form.types[test.field.name] in {"int", "decimal"}, test.field.name


def test_answered_tests_are_on_real_fields(form: FormFields, rules: RuleSet) -> None:
    for _, test in all_tests(rules):
        if isinstance(test, Answered):
            assert form.has(test.field)


def test_age_is_read_from_the_forms_date_of_birth(form: FormFields, rules: RuleSet) -> None:
    age = rules.age_fields
    assert form.types[age.dob] == "date"
    assert form.types[age.birth_year] == form.types[age.estimated_age] == "int"
    _, precisions = form.selects[age.precision]
    assert {age.full, age.month_year, age.year_only, age.estimated} == precisions
    assert any(isinstance(t, AgeIn) for _, t in all_tests(rules))


def test_confidential_fields_are_the_protection_section(form: FormFields, rules: RuleSet) -> None:
    assert rules.confidential_fields == {"f_concern", "f_type", "f_urgency", "f_note"}
    assert rules.confidential_fields <= form.child


def test_every_code_the_phone_previews_has_a_server_rule(rules: RuleSet) -> None:
    assert {code for code, _ in CATEGORY_RULES} <= rules.codes()


def test_rules_name_only_catalogue_codes_and_sub_codes(rules: RuleSet) -> None:
    assert rules.problems_with(default_catalogue()) == []


def test_health_station_and_officer_only_codes_have_no_screening_rule(rules: RuleSet) -> None:
    # HCDB-DD and PLAN-HIVAFF: "Do not ask at the door. Only the health station sets it."
    assert not {"HCDB-DD", "PLAN-HIVAFF"} & rules.codes()


def test_the_follow_up_rules_read_the_follow_up_forms_own_protection_section() -> None:
    followup = read_form("child_followup")
    names = followup.child | followup.household
    rules = ruleset_for("child_followup")
    read = {field.name for rule in rules.rules for field in rule.fields()}
    assert read and read <= names  # (its age block is unused: no rule asks an age)
    assert {rule.code for rule in rules.rules} == {
        rule.code for rule in ruleset_for("household_screening").rules
        if {f.name for f in rule.fields()} & rules.confidential_fields}
    for rule_id, test in all_tests(rules):
        if isinstance(test, OneOf | Selected):
            assert set(test.values) <= followup.selects[test.field.name][1], rule_id
