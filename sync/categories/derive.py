"""Provisional categories for one screened child, from their answers and their household's.

The rules of each form are declared in ONE rule file (`FORM_RULES`); this module only runs
them. The result is provisional by nature (docs/categories.md §6): the commune's Culture-Society
officer confirms it, the health station confirms health and disability items, and referral
categories (HCDB-E/G/I/L/M, docs/screening.md §7) are opened only by the officer.

AGEOUT-16-22 (docs/categories.md §4) is one of the rules: it holds from the 16th birthday while the
HCDB-A/B/C circumstances hold and the young person is still studying. Article 10 rules carry
the ``is_child`` guard (under 16, docs/categories.md §1), so at 16 the Article 10 codes stop being
derived and AGEOUT-16-22 takes over — the child is kept, never dropped.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache

from sync.categories.age import child_age
from sync.categories.catalogue import Catalogue, default_catalogue
from sync.categories.errors import NoRulesForForm, RulesInvalid
from sync.categories.rules import Context
from sync.categories.ruleset import Outcome, RuleSet, load_ruleset

# form_id → its rule file, packaged next to this module. One entry per form, one file per form.
FORM_RULES: Mapping[str, str] = {
    "household_screening": "screening_rules.json",
    "child_followup": "followup_rules.json",
}


@dataclass(frozen=True, slots=True)
class Reason:
    """Why a category was derived: the rule, its text in both languages, and how to treat it.

    `confidential` reasons come from Section F answers (docs/privacy.md §2): show them to the
    child-protection officer only. `urgent` marks a screening signal that starts the 12-hour
    clock by itself (Decree 56 Art. 26).
    """

    rule_id: str
    vi: str
    en: str
    confidential: bool = False
    urgent: bool = False


@dataclass(frozen=True, slots=True)
class DerivedCategory:
    code: str
    reasons: tuple[Reason, ...]
    subcode: str | None = None
    referral: bool = False  # the officer decides; never opened as provisional automatically

    @property
    def urgent_signal(self) -> bool:
        return any(reason.urgent for reason in self.reasons)

    @property
    def confidential(self) -> bool:
        """Every reason is confidential: even the fact of the category came from Section F."""
        return all(reason.confidential for reason in self.reasons)


def forms_with_rules() -> tuple[str, ...]:
    return tuple(FORM_RULES)


@cache
def ruleset_for(form_id: str) -> RuleSet:
    """The form's rules, checked against the packaged catalogue; read once per process."""
    if form_id not in FORM_RULES:
        raise NoRulesForForm(form_id)
    ruleset = load_ruleset(FORM_RULES[form_id])
    if ruleset.form_id != form_id:
        raise RulesInvalid(f"{ruleset.source} declares form {ruleset.form_id!r}, not {form_id!r}")
    problems = ruleset.problems_with(default_catalogue())
    if problems:
        raise RulesInvalid(f"{ruleset.source}: " + "; ".join(problems))
    return ruleset


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, date | datetime):
        return value.isoformat()
    return str(value).strip()


def answers_by_name(answers: Mapping[str, object]) -> dict[str, str]:
    """Answers keyed by field name, as strings.

    Keys may be paths (``household/child/d_functioning/d_see``): the leaf name is what rules
    use, and XLSForm names are unique within a form. Non-string values (an int from the
    database, a date) become the text ODK would have submitted.
    """
    return {key.rsplit("/", 1)[-1]: _text(value) for key, value in answers.items()}


def evaluate(
    ruleset: RuleSet,
    household_answers: Mapping[str, object],
    child_answers: Mapping[str, object],
    today: date,
    catalogue: Catalogue,
) -> list[DerivedCategory]:
    """Run `ruleset` for one child; one entry per category, in catalogue order."""
    return _evaluate(ruleset, answers_by_name(household_answers), answers_by_name(child_answers),
                     today, catalogue)


def _evaluate(ruleset: RuleSet, household: Mapping[str, str], child: Mapping[str, str],
              today: date, catalogue: Catalogue) -> list[DerivedCategory]:
    """`evaluate` on answers already keyed by field name, as strings (`answers_by_name`)."""
    context = Context(child, household, child_age(child, household, ruleset.age_fields, today))
    reasons: dict[str, list[Reason]] = {}
    subcodes: dict[str, str] = {}
    referral: dict[str, bool] = {}
    for rule in ruleset.rules:
        if not catalogue.get(rule.code).active or not rule.when.holds(context):
            continue
        text = rule.reason
        reasons.setdefault(rule.code, []).append(
            Reason(rule.id, text.vi, text.en, rule.confidential, rule.urgent)
        )
        referral[rule.code] = rule.outcome is Outcome.REFERRAL
        subcode = rule.subcode_for(context)
        if subcode is not None:
            subcodes.setdefault(rule.code, subcode)
    return [
        DerivedCategory(code, tuple(found), subcodes.get(code), referral[code])
        for code, found in sorted(reasons.items(), key=lambda item: catalogue.order(item[0]))
    ]


def provisional_categories(
    form_id: str,
    household_answers: Mapping[str, object],
    child_answers: Mapping[str, object],
    today: date,
    *,
    catalogue: Catalogue | None = None,
) -> list[DerivedCategory]:
    """The categories one child's answers point to, on `today` (ages are counted that day).

    `household_answers` are the root and ``household`` group fields of the submission
    (``hh_poverty``, ``today``…), `child_answers` one instance of the ``child`` repeat.
    Raises `NoRulesForForm` for a form without a rule file.
    """
    [derived] = provisional_categories_each(form_id, household_answers, [child_answers], today,
                                            catalogue=catalogue)
    return derived


def provisional_categories_each(
    form_id: str,
    household_answers: Mapping[str, object],
    children_answers: Sequence[Mapping[str, object]],
    today: date,
    *,
    catalogue: Catalogue | None = None,
) -> list[list[DerivedCategory]]:
    """`provisional_categories` of each child repeat of one submission, in repeat order: the
    household's answers are put in shape once for all its children (the sync derives every
    child of every household visit, README "Benchmarks")."""
    ruleset, catalogue = ruleset_for(form_id), catalogue or default_catalogue()
    household = answers_by_name(household_answers)
    return [_evaluate(ruleset, household, answers_by_name(child), today, catalogue)
            for child in children_answers]
