"""A matcher's explanation (`sync.matching.decide.Explanation.as_dict`) in plain words that are
true for the pair shown.

A reviewer at the health station needs "the given names differ by their tone marks", not
"given_name diacritic_diff (-2.1)": each field becomes its name and its level, in the page's
language, split into what agreed and what did not, largest contribution first. The score is
placed against the thresholds in words ("20,8 — below the automatic-link threshold 21,25, above
the review threshold 20,5"), read from the explanation (the model that decided) or else from
the model file the server matches with (`sync/matching/model.json`). A rule's wording must not
say what the records contradict: two records with the same valid personal ID are never called
"possible twins" — the number says they are one child, or that it was copied onto a sibling.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from babel.numbers import format_decimal

from server.web.format import coded
from server.web.i18n import has, language, t
from sync.matching import MatchModel
from sync.personal_id import check_personal_id

TWIN_RULE = "POSSIBLE_TWIN"
# The twin rules: twin evidence alone, and twin evidence against an identical personal ID
# (docs/matching.md §3.3). When both sides carry the same *valid* number the page says so
# before anything about twins: one child written two ways, or a sibling's number copied.
TWIN_RULES = frozenset({TWIN_RULE, "TWIN_SHARED_ID"})


@dataclass(frozen=True)
class Plain:
    score: str | None = None
    thresholds: str | None = None
    rule: str | None = None
    agreed: list[str] = field(default_factory=list)
    disagreed: list[str] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Person:
    """What the personal-ID check of one side of a pair needs."""

    personal_id: str | None
    sex: str | None
    dob: str | None


def personal_id_valid(person: Person) -> bool:
    """Well formed and consistent with the person's sex and birth year (the matcher's test)."""
    year = int(person.dob[:4]) if person.dob and person.dob[:4].isdigit() else None
    return check_personal_id(person.personal_id, sex=person.sex, birth_year=year).valid


def personal_id_text(person: Person) -> str:
    """The number as the side-by-side shows it, said to be invalid when it is."""
    if not (person.personal_id or "").strip():
        return "—"
    if personal_id_valid(person):
        return str(person.personal_id)
    return t("explain.personal_id_invalid", number=person.personal_id)


def same_valid_personal_id(a: Person, b: Person) -> bool:
    """Both sides carry the same personal ID, valid for each of them."""
    return bool(a.personal_id and a.personal_id.strip() == (b.personal_id or "").strip()
                and personal_id_valid(a) and personal_id_valid(b))


@lru_cache(maxsize=1)
def _model_thresholds() -> dict[str, float]:
    model = MatchModel.load()
    return {"auto_link": model.auto_link, "review": model.review}


def number(value: Any) -> str:
    """20.812 → "20,81" in Vietnamese, "20.81" in English (the locale's digits, by Babel, as
    `server.web.charts.number` but to two decimals: thresholds such as 21.25); "—" for none."""
    try:
        return format_decimal(float(value), format="#,##0.##", locale=language())
    except (TypeError, ValueError):
        return "—"


def _field_phrase(item: Mapping[str, Any]) -> str:
    return f"{coded('field', str(item.get('field')))}: {coded('level', str(item.get('level')))}"


def _rule(rule: str | None, explanation: Mapping[str, Any], same_id: bool) -> str | None:
    if not rule:
        return None
    if rule in TWIN_RULES and same_id:
        return t("rule.POSSIBLE_TWIN_SAME_ID")
    key = f"rule.{rule}"
    return t(key) if has(key) else str(explanation.get("rule_message") or rule)


def _score_in_words(total: float, limits: Mapping[str, Any], rule: str | None) -> str:
    """Where the score lies against the two thresholds (above the automatic-link one, only a
    rule keeps a pair from being linked: the words say so)."""
    auto, review = float(limits["auto_link"]), float(limits["review"])
    values = {"score": number(total), "auto": number(auto), "review": number(review)}
    if total >= auto:
        return t("explain.above_auto_rule" if rule else "explain.above_auto", **values)
    if total >= review:
        return t("explain.between", **values)
    return t("explain.below_review", **values)


def plain(explanation: Mapping[str, Any] | None, reasons: Iterable[str] = (),
          score: float | None = None, *, same_valid_id: bool = False) -> Plain:
    """What a person reads beside a pair or a link; ``same_valid_id``: both sides carry the
    same valid personal ID (`same_valid_personal_id`)."""
    data = explanation or {}
    fields = sorted((f for f in data.get("fields") or [] if isinstance(f, Mapping)),
                    key=lambda f: -abs(float(f.get("weight") or 0)))
    total = score if score is not None else data.get("total")
    limits = data.get("thresholds") or _model_thresholds()
    rule = data.get("rule")
    shown_reasons = [r for r in reasons if r != rule
                     and not (r in TWIN_RULES and same_valid_id)]
    return Plain(
        score=t("explain.score", score=number(total)) if total is not None else None,
        thresholds=(_score_in_words(float(total), limits, rule) if total is not None
                    else None),
        rule=_rule(rule, data, same_valid_id),
        agreed=[_field_phrase(f) for f in fields if float(f.get("weight") or 0) > 0],
        disagreed=[_field_phrase(f) for f in fields if float(f.get("weight") or 0) < 0],
        reasons=[t(f"reason.{r}") if has(f"reason.{r}") else r for r in shown_reasons],
    )
