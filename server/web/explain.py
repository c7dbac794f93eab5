"""A matcher's explanation (`sync.matching.decide.Explanation.as_dict`) in plain words.

A reviewer at the health station needs "the given names differ by their tone marks", not
"given_name diacritic_diff (-2.1)": each field becomes its name and its level, in the page's
language, split into what agreed and what did not, largest contribution first.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from server.web.format import coded
from server.web.i18n import has, t


@dataclass(frozen=True)
class Plain:
    score: str | None = None
    thresholds: str | None = None
    rule: str | None = None
    agreed: list[str] = field(default_factory=list)
    disagreed: list[str] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)


def _number(value: Any) -> str:
    try:
        return f"{float(value):.1f}"
    except (TypeError, ValueError):
        return "—"


def _field_phrase(item: Mapping[str, Any]) -> str:
    return f"{coded('field', str(item.get('field')))}: {coded('level', str(item.get('level')))}"


def _rule(explanation: Mapping[str, Any]) -> str | None:
    rule = explanation.get("rule")
    if not rule:
        return None
    key = f"rule.{rule}"
    return t(key) if has(key) else str(explanation.get("rule_message") or rule)


def plain(explanation: Mapping[str, Any] | None, reasons: Iterable[str] = (),
          score: float | None = None) -> Plain:
    """What a person reads beside a pair or a link."""
    data = explanation or {}
    fields = sorted((f for f in data.get("fields") or [] if isinstance(f, Mapping)),
                    key=lambda f: -abs(float(f.get("weight") or 0)))
    total = score if score is not None else data.get("total")
    limits = data.get("thresholds") or {}
    return Plain(
        score=t("explain.score", score=_number(total)) if total is not None else None,
        thresholds=(t("explain.thresholds", auto=_number(limits.get("auto_link")),
                      review=_number(limits.get("review"))) if limits else None),
        rule=_rule(data),
        agreed=[_field_phrase(f) for f in fields if float(f.get("weight") or 0) > 0],
        disagreed=[_field_phrase(f) for f in fields if float(f.get("weight") or 0) < 0],
        reasons=[t(f"reason.{r}") if has(f"reason.{r}") else r for r in reasons
                 if r != data.get("rule")],
    )
