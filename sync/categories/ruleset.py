"""One form's rule file: which answers set which category, with a reason in both languages.

A rule file (e.g. `screening_rules.json`) holds, for one form:

* ``age`` — where the form keeps the date of birth (`sync.categories.age.AgeFields`);
* ``confidential_fields`` — answers only the child-protection officer may read (Section F,
  docs/privacy.md §2). A rule that reads one gives a *confidential* reason, so the reason text
  never reaches list views or phones even when the category itself is not sensitive;
* ``parameters`` — numeric thresholds, each with its legal basis or an ``unverified`` note
  (the HCDB-K placeholders, docs/categories.md §7);
* ``conditions`` — named conditions the rules share (the form's ``flag_*`` calculations);
* ``rules`` — each: ``id``, ``code`` (a catalogue code), ``spec`` (the mapping-table wording it
  implements), ``when``, ``reason`` ``{vi, en}``, optional ``subcodes`` (first match wins),
  ``outcome`` (``provisional``, or ``referral`` for categories the officer decides, never set
  automatically — docs/screening.md §7, HCDB-E/G/I/L/M) and ``urgent`` (a screening signal
  that starts Decree 56 Art. 26's 12-hour clock by itself: no carer, immediate danger).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from enum import StrEnum
from importlib import resources
from pathlib import Path

from sync.categories._schema import Fields
from sync.categories.age import AgeFields
from sync.categories.catalogue import Catalogue
from sync.categories.errors import RulesInvalid
from sync.categories.rules import Condition, ConditionParser, Context, FieldRef, Scope


class Outcome(StrEnum):
    PROVISIONAL = "provisional"  # opens the category with status provisional
    REFERRAL = "referral"  # a confidential referral: the officer decides whether it applies


@dataclass(frozen=True, slots=True)
class Text:
    vi: str
    en: str


@dataclass(frozen=True, slots=True)
class SubcodeRule:
    when: Condition
    subcode: str


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    code: str
    spec: str
    when: Condition
    reason: Text
    outcome: Outcome = Outcome.PROVISIONAL
    urgent: bool = False
    subcodes: tuple[SubcodeRule, ...] = ()
    confidential: bool = False
    unverified: tuple[str, ...] = ()

    def fields(self) -> set[FieldRef]:
        found = set(self.when.fields())
        for sub in self.subcodes:
            found.update(sub.when.fields())
        return found

    def subcode_for(self, context: Context) -> str | None:
        return next((sub.subcode for sub in self.subcodes if sub.when.holds(context)), None)


@dataclass(frozen=True, slots=True)
class Parameter:
    name: str
    value: float
    basis: str | None = None
    unverified: str | None = None


@dataclass(frozen=True)
class RuleSet:
    form_id: str
    rules: tuple[Rule, ...]
    age_fields: AgeFields
    parameters: tuple[Parameter, ...]
    confidential_fields: frozenset[str]
    source: str

    def fields(self) -> set[FieldRef]:
        """Every answer the rules read, including the date-of-birth fields."""
        found = {field for rule in self.rules for field in rule.fields()}
        found.update(FieldRef(Scope.CHILD, name) for name in self.age_fields.child_fields())
        found.update(FieldRef(Scope.HOUSEHOLD, name) for name in self.age_fields.household_fields())
        return found

    def codes(self) -> set[str]:
        return {rule.code for rule in self.rules}

    def problems_with(self, catalogue: Catalogue) -> list[str]:
        """Codes and sub-codes the catalogue does not hold (empty when consistent)."""
        problems = []
        for rule in self.rules:
            if rule.code not in catalogue:
                problems.append(f"rule {rule.id}: unknown category {rule.code}")
                continue
            category = catalogue.get(rule.code)
            problems += [
                f"rule {rule.id}: {rule.code} has no sub-code {sub.subcode}"
                for sub in rule.subcodes
                if category.subcode(sub.subcode) is None
            ]
        return problems


def _age_fields(data: object, where: str) -> AgeFields:
    fields = Fields(data, where, RulesInvalid)
    child = Fields(fields.mapping("child_fields"), f"{where}.child_fields", RulesInvalid)
    household = Fields(
        fields.mapping("household_fields", optional=True), f"{where}.household_fields", RulesInvalid
    )
    codes = Fields(fields.mapping("precision_codes"), f"{where}.precision_codes", RulesInvalid)
    age = AgeFields(
        dob=child.text("dob"),
        precision=child.text("precision"),
        birth_year=child.text("birth_year"),
        birth_month=child.text("birth_month"),
        estimated_age=child.text("estimated_age"),
        age=child.optional_text("age"),
        screening_date=household.optional_text("screening_date"),
        full=codes.text("full"),
        month_year=codes.text("month_year"),
        year_only=codes.text("year_only"),
        estimated=codes.text("estimated"),
    )
    for part in (fields, child, household, codes):
        part.done()
    return age


def _parameters(data: dict[str, object], where: str) -> tuple[Parameter, ...]:
    parameters = []
    for name, spec in data.items():
        fields = Fields(spec, f"{where}.{name}", RulesInvalid)
        value = fields.raw("value")
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise fields.fail("value", "expected a number")
        basis, unverified = fields.optional_text("basis"), fields.optional_text("unverified")
        fields.done()
        if basis is None and unverified is None:
            raise RulesInvalid(f"{where}.{name}: give its basis, or say it is unverified")
        parameters.append(Parameter(name, float(value), basis, unverified))
    return tuple(parameters)


def _named_conditions(data: dict[str, object], where: str) -> dict[str, object]:
    named = {}
    for name, spec in data.items():
        fields = Fields(spec, f"{where}.{name}", RulesInvalid)
        fields.text("about")
        named[name] = fields.raw("when")
        fields.done()
    return named


def _rule(data: object, where: str, parser: ConditionParser, confidential: frozenset[str]) -> Rule:
    fields = Fields(data, where, RulesInvalid)
    reason = Fields(fields.raw("reason"), f"{where}.reason", RulesInvalid)
    subcodes = []
    for n, item in enumerate(fields.objects("subcodes", optional=True)):
        sub = Fields(item, f"{where}.subcodes[{n}]", RulesInvalid)
        subcodes.append(
            SubcodeRule(parser.parse(sub.raw("when"), f"{sub.where}.when"), sub.text("subcode"))
        )
        sub.done()
    try:
        outcome = Outcome(fields.optional_text("outcome") or Outcome.PROVISIONAL)
    except ValueError:
        raise fields.fail("outcome", "expected provisional or referral") from None
    rule = Rule(
        id=fields.text("id"),
        code=fields.text("code"),
        spec=fields.text("spec"),
        when=parser.parse(fields.raw("when"), f"{where}.when"),
        reason=Text(reason.text("vi"), reason.text("en")),
        outcome=outcome,
        urgent=fields.flag("urgent", default=False),
        subcodes=tuple(subcodes),
        unverified=fields.texts("unverified", optional=True),
    )
    reason.done()
    fields.done()
    reads_confidential = any(field.name in confidential for field in rule.fields())
    return replace(rule, confidential=reads_confidential)


def parse_ruleset(data: object, *, source: str) -> RuleSet:
    """Validate decoded JSON into a `RuleSet` (raises `RulesInvalid`)."""
    fields = Fields(data, source, RulesInvalid)
    fields.optional_text("about")
    form_id = fields.text("form_id")
    age_fields = _age_fields(fields.raw("age"), f"{source}.age")
    confidential = frozenset(fields.texts("confidential_fields", optional=True))
    parameters = _parameters(fields.mapping("parameters", optional=True), f"{source}.parameters")
    parser = ConditionParser(
        _named_conditions(fields.mapping("conditions", optional=True), f"{source}.conditions"),
        {parameter.name: parameter.value for parameter in parameters},
    )
    rules = tuple(
        _rule(item, f"{source}.rules[{n}]", parser, confidential)
        for n, item in enumerate(fields.objects("rules"))
    )
    fields.done()
    ids = [rule.id for rule in rules]
    if len(set(ids)) != len(ids):
        raise RulesInvalid(f"{source}: rule ids must be unique")
    outcomes: dict[str, Outcome] = {}
    for rule in rules:
        if outcomes.setdefault(rule.code, rule.outcome) is not rule.outcome:
            raise RulesInvalid(f"{source}: rules for {rule.code} mix provisional and referral")
    return RuleSet(form_id, rules, age_fields, parameters, confidential, source)


def load_ruleset(name_or_path: str | Path) -> RuleSet:
    """A packaged rule file by name (``screening_rules.json``) or any file by path."""
    if isinstance(name_or_path, Path):
        text, source = name_or_path.read_text("utf-8"), str(name_or_path)
    else:
        text = resources.files(__package__).joinpath(name_or_path).read_text("utf-8")
        source = name_or_path
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise RulesInvalid(f"{source}: not JSON ({error})") from None
    return parse_ruleset(data, source=source)
