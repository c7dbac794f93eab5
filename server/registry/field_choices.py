"""Which value of a field is right when a child's records disagree (docs/registry.md §2).

A child merged from several reports may be written "Phan Thị Trâm" by the commune's list and
"Phan Thi Tarm" by a phone. The current view takes a default by rule (`server.registry.view`);
a reviewer may choose another of the values the child's records hold, with a reason. The
choice becomes the current value of that field, for the view, the lists, the exports and the
phones alike, and survives every later recomputation (a re-report, a merge into this child).

Only values some record of the child holds can be chosen: the view stays a function of the
child's sources, never a value typed in. A choice whose value no record holds any more (its
record was taken out) is kept but does nothing, until a record holding it comes back.
Choices are withdrawn, never deleted: withdrawing one (or choosing anew) puts the field back
to its default and keeps the row as the record of who chose what, when and why. A choice
stays with the child id it was made on: merged away, it rests with the redirect and applies
again if the merge is undone.

Plain Python on a session (no Flask): the API and the pages both call `choose` and
`withdraw`, after checking who may (`registry.review` in the child's village), and audit it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.db import utcnow
from server.models import Child, ChildFieldChoice, ChildRecord
from server.registry.errors import InvalidDecision, NotFound
from server.registry.view import (
    CHOOSABLE,
    chosen_record,
    default_record,
    record_order,
    records_of,
    refresh_child,
    value_of,
)
from sync.vietnamese import clean

__all__ = ["CHOOSABLE", "FieldValue", "FieldValues", "active_choices", "choose",
           "field_values", "withdraw"]

MAX_REASON = 1000


@dataclass(frozen=True)
class FieldValue:
    """One distinct value of a field among a child's records."""

    value: str
    records: tuple[ChildRecord, ...]  # the records holding it, most recently reported first
    default: bool  # the value the view's rule takes when nobody chose
    current: bool  # the value the view shows now


@dataclass(frozen=True)
class FieldValues:
    """A field of one child: its distinct values and the reviewer's choice in force."""

    field: str
    values: tuple[FieldValue, ...]
    choice: ChildFieldChoice | None

    @property
    def disagree(self) -> bool:
        return len(self.values) > 1

    @property
    def choice_applies(self) -> bool:
        """A choice whose value some record still holds (else the default stands)."""
        return self.choice is not None and any(v.value == self.choice.value
                                               for v in self.values)


def _known(field: str) -> None:
    if field not in CHOOSABLE:
        raise NotFound(f"field {field} cannot be chosen")


def active_choices(session: Session, child_id: str) -> dict[str, ChildFieldChoice]:
    """The choices in force on a child, by field (the latest one if several slipped in)."""
    rows = session.scalars(select(ChildFieldChoice).where(
        ChildFieldChoice.child_id == child_id, ChildFieldChoice.withdrawn_at.is_(None))
        .order_by(ChildFieldChoice.chosen_at, ChildFieldChoice.id))
    return {row.field: row for row in rows}


def field_values(session: Session, child: Child,
                 records: Sequence[ChildRecord] | None = None) -> list[FieldValues]:
    """Every choosable field of the child, in `CHOOSABLE` order, with its distinct values."""
    held = list(records) if records is not None else records_of(session, child.id)
    choices = active_choices(session, child.id)
    found = []
    for field in CHOOSABLE:
        by_value: dict[str, list[ChildRecord]] = {}
        for record in sorted(held, key=record_order, reverse=True):
            if value := value_of(record, field):
                by_value.setdefault(value, []).append(record)
        default = default_record(held, field)
        default_value = value_of(default, field) if default is not None else None
        choice = choices.get(field)
        current = (choice.value if choice is not None
                   and chosen_record(held, field, choice.value) is not None else default_value)
        found.append(FieldValues(field, tuple(
            FieldValue(value, tuple(holders), value == default_value, value == current)
            for value, holders in by_value.items()), choice))
    return found


def _withdraw_active(session: Session, child_id: str, field: str, actor_id: int | None,
                     now: datetime) -> list[ChildFieldChoice]:
    rows = list(session.scalars(select(ChildFieldChoice).where(
        ChildFieldChoice.child_id == child_id, ChildFieldChoice.field == field,
        ChildFieldChoice.withdrawn_at.is_(None))))
    for row in rows:
        row.withdrawn_at, row.withdrawn_by = now, actor_id
    return rows


def choose(session: Session, child: Child, field: str, value: str, reason: str,
           actor_id: int | None, now: datetime | None = None) -> ChildFieldChoice:
    """Make ``value`` the child's value of ``field``; a choice already in force on the field
    is withdrawn. Raises `NotFound` for a field that cannot be chosen and `InvalidDecision`
    (nothing written) without a reason or for a value no record of the child holds."""
    _known(field)
    why = clean(reason)[:MAX_REASON]
    if not why:
        raise InvalidDecision("choosing a value needs a reason")
    if chosen_record(records_of(session, child.id), field, value) is None:
        raise InvalidDecision(f"no record of this child holds that value of {field}")
    now = now or utcnow()
    _withdraw_active(session, child.id, field, actor_id, now)
    row = ChildFieldChoice(child_id=child.id, field=field, value=value, reason=why,
                           chosen_by=actor_id, chosen_at=now)
    session.add(row)
    refresh_child(session, child)  # flushes the row first
    return row


def withdraw(session: Session, child: Child, field: str, actor_id: int | None,
             now: datetime | None = None) -> ChildFieldChoice:
    """Withdraw the choice in force on ``field``: the view's default takes over again.
    Raises `InvalidDecision` when there is none."""
    _known(field)
    withdrawn = _withdraw_active(session, child.id, field, actor_id, now or utcnow())
    if not withdrawn:
        raise InvalidDecision(f"no choice of {field} to withdraw")
    refresh_child(session, child)
    return withdrawn[-1]
