"""What the child's page shows beyond the API's detail (docs/pages.md, "The child's page"):
the child's code instead of ids, each record's source in words with a link to its visit,
the fields whose records disagree with the value in force, and what the caller may do —
change a category, merge with another child, choose a field's value.

Every "may" here asks the rule the matching route enforces (`server.registry.access`), so a
button is shown exactly when pressing it would be allowed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.models import Actor, Child, ChildRecord
from server.registry.access import RegistryAccess, category_of
from server.registry.category_actions import CategoryAction
from server.registry.child_code import format_code
from server.registry.field_choices import FieldValues, field_values
from server.registry.view import records_of
from server.web.explain import Person, same_valid_personal_id
from server.web.format import partial_date, sex
from server.web.record_sources import Source, record_sources

# What a person may do with an episode in each status (sync.categories.status.ALLOWED).
_ACTIONS = {
    "referred": (CategoryAction.ACCEPT, CategoryAction.CONFIRM, CategoryAction.END),
    "provisional": (CategoryAction.CONFIRM, CategoryAction.END),
    "confirmed": (CategoryAction.END,),
}


@dataclass(frozen=True)
class LinkShown:
    """An edge between two records, each said by its source."""

    edge: Mapping[str, Any]
    a: Source | None
    b: Source | None
    same_valid_id: bool


@dataclass(frozen=True)
class ChildPage:
    code: str
    merged_codes: list[str]
    sources: dict[int, Source]  # record id → source
    history_sources: dict[str, Source]  # a history entry's `source` (a record's key) → source
    links: list[LinkShown]
    fields: list[FieldValues]  # only those whose records disagree, or that a person chose
    chooser_names: dict[int, str]
    actions: dict[str, tuple[CategoryAction, ...]]  # category code → allowed actions
    subcodes: dict[str, list[tuple[str, str, str]]]  # code → (subcode, label vi, label en)
    may_review: bool


def value_text(field: str, value: str) -> str:
    """A field's value as the page shows it (sex in words, a date day first)."""
    if field == "sex":
        return sex(value)
    if field == "dob":
        return partial_date(value)
    return value


def _actions(access: RegistryAccess, child: Child, shown: Sequence[Mapping[str, Any]]
             ) -> dict[str, tuple[CategoryAction, ...]]:
    return {c["code"]: _ACTIONS.get(c["status"], ()) for c in shown
            if access.may_change_category(c["code"], child.village_code,
                                          confidential=bool(c.get("confidential")))}


def _subcodes(codes: Sequence[str]) -> dict[str, list[tuple[str, str, str]]]:
    found = {}
    for code in codes:
        category = category_of(code)
        if category is not None and category.subcodes:
            found[code] = [(s.code, s.label_vi, s.label_en) for s in category.subcodes]
    return found


def child_page(session: Session, access: RegistryAccess, child: Child,
               detail: Mapping[str, Any], village_names: Mapping[str, str]) -> ChildPage:
    records = records_of(session, child.id)
    own = {record.id for record in records}
    named = {edge[side] for edge in detail["links"] for side in ("recordA", "recordB")}
    others = list(session.scalars(select(ChildRecord).where(
        ChildRecord.id.in_(named - own)))) if named - own else []
    by_id = {record.id: record for record in (*records, *others)}
    sources = record_sources(session, child.project_id, by_id.values(), village_names)
    merged = session.scalars(select(Child.number).where(Child.merged_into == child.id)
                             .order_by(Child.number))
    fields = [f for f in field_values(session, child, records) if f.disagree or f.choice]
    choosers = {f.choice.chosen_by for f in fields if f.choice and f.choice.chosen_by}
    names: dict[int, str] = dict(session.execute(
        select(Actor.id, Actor.display_name).where(Actor.id.in_(choosers))).all()
        ) if choosers else {}

    def person(record_id: int) -> Person | None:
        record = by_id.get(record_id)
        return Person(record.personal_id, record.sex, record.dob) if record else None

    links = []
    for edge in detail["links"]:
        a, b = person(edge["recordA"]), person(edge["recordB"])
        links.append(LinkShown(edge, sources.get(edge["recordA"]), sources.get(edge["recordB"]),
                               bool(a and b and same_valid_personal_id(a, b))))
    shown = detail["categories"]
    return ChildPage(
        code=format_code(child.number), merged_codes=[format_code(n) for n in merged],
        sources={record.id: sources[record.id] for record in records},
        history_sources={by_id[i].source_key: sources[i] for i in by_id},
        links=links, fields=fields, chooser_names=names,
        actions=_actions(access, child, shown),
        subcodes=_subcodes([c["code"] for c in shown]),
        may_review=access.review.covers(child.village_code))
