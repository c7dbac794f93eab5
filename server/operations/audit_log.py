"""Reading the audit log: Central's filters (`action` with its groups, `start`, `end`), paging,
and Central's JSON shape, for `GET /v1/audits` and `diemtua audit export` alike.

The log is append-only (README "Audit log"): rows are written by the change they record, in
the same unit of work (`server.route_access.audit`), and on PostgreSQL a trigger refuses
UPDATE and DELETE on `audits` (the data-protection migration; SQLite has the same trigger).

Our `actee` is a readable reference, `<kind>:<id>` (`form:3`, `actor:7`, `child:<uuid>`),
where Central keeps a UUID of its own `actees` table; `acteeId` carries that reference as is.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, not_, select
from sqlalchemy.orm import Session

from exports.records import iso_utc
from server.models import Actor, Audit

# Central's action groups (central-backend lib/model/query/audits.js, `actionCondition`),
# with the actions Điểm Tựa adds to a group Central has: `user` also holds failed and
# throttled sign-ins, `field_key` our `field_key.update`, `form` the submission exports,
# `submission` a look at sensitive answers, `dataset` the entity list downloads.
ACTION_GROUPS: dict[str, frozenset[str]] = {
    "user": frozenset({
        "user.create", "user.update", "user.delete", "user.assignment.create",
        "user.assignment.delete", "user.session.create", "user.session.create.failure",
        "user.session.throttled",
    }),
    "field_key": frozenset({
        "field_key.create", "field_key.update", "field_key.assignment.create",
        "field_key.assignment.delete", "field_key.session.end", "field_key.delete",
    }),
    "project": frozenset({"project.create", "project.update", "project.delete"}),
    "form": frozenset({
        "form.create", "form.update", "form.delete", "form.restore", "form.purge",
        "form.attachment.update", "form.submission.export", "form.update.draft.set",
        "form.update.draft.delete", "form.update.draft.replace", "form.update.publish",
    }),
    "submission": frozenset({
        "submission.create", "submission.update", "submission.update.version",
        "submission.attachment.update", "submission.delete", "submission.restore",
        "submission.purge", "submission.read_sensitive",
    }),
    "dataset": frozenset({
        "dataset.create", "dataset.update", "dataset.delete", "dataset.entity.export",
        "dataset.entity.list", "entity.bulk.delete", "entity.bulk.restore",
    }),
    "entity": frozenset({
        "entity.create", "entity.bulk.create", "entity.error", "entity.update.version",
        "entity.update.resolve", "entity.delete", "entity.restore", "entity.purge",
        "entity.bulk.delete", "entity.bulk.restore",
    }),
}
# `nonverbose` leaves out what happens once per submission or entity (Central's list).
VERBOSE_ACTIONS = frozenset({
    "entity.create", "entity.bulk.create", "entity.error", "entity.update.version",
    "entity.update.resolve", "entity.delete", "entity.restore", "entity.purge",
    "submission.create", "submission.update", "submission.update.version",
    "submission.attachment.update", "submission.delete", "submission.restore",
    "user.preference.update", "user.preference.delete", "backup", "analytics",
})
# Our own groups: everything the master registry records, and every export of personal data.
PREFIX_GROUPS = {"registry": "registry."}
EXPORT_SUFFIX = ".export"
GROUPS = frozenset({*ACTION_GROUPS, "nonverbose", "export", *PREFIX_GROUPS})


class BadMoment(ValueError):
    """A `start`/`end`/`--since` that is not an ISO 8601 date or timestamp."""


@dataclass(frozen=True)
class AuditFilter:
    """What to read: an action or a group of them, and a time window (both ends inclusive)."""

    action: str | None = None
    start: datetime | None = None
    end: datetime | None = None


# A date with a zone and no time ("2000-01-01z", "2000-01-01+08"), which ruODK documents for
# Central and Python's `fromisoformat` refuses.
_DATE_WITH_ZONE = re.compile(r"^(\d{4}-\d{2}-\d{2})([zZ]|[+-]\d{2}(?::?\d{2})?)$")
_DATE = re.compile(r"^\d{4}-?\d{2}-?\d{2}$")


def _zone(text: str) -> str:
    if text in ("z", "Z"):
        return "+00:00"
    sign, digits = text[0], text[1:].replace(":", "")
    return f"{sign}{digits[:2]}:{digits[2:4] or '00'}"


def parse_moment(text: str, *, end: bool = False) -> datetime:
    """An ISO 8601 date or timestamp as naive UTC (the log's clock, `server.db.utcnow`).

    A timestamp without a zone is UTC, as on Central's server. A date alone is the start of
    that day, or with `end` its last instant, so `end=2026-12-04` includes all of the 4th.
    """
    text = text.strip()
    if match := _DATE_WITH_ZONE.match(text):
        text = f"{match.group(1)}T00:00{_zone(match.group(2))}"
        date_only = True
    else:
        date_only = bool(_DATE.match(text))
    try:
        moment = datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError:
        raise BadMoment(text) from None
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    if date_only and end:
        moment += timedelta(days=1) - timedelta(microseconds=1)
    return moment


def day_start(day: date) -> datetime:
    return datetime.combine(day, time.min)


def action_clause(action: str) -> ColumnElement[bool]:
    """Central's `action` filter: one action exactly, or a group's name."""
    column = Audit.action
    if action == "nonverbose":
        return not_(column.in_(sorted(VERBOSE_ACTIONS)))
    if action in ACTION_GROUPS:
        return column.in_(sorted(ACTION_GROUPS[action]))
    if action in PREFIX_GROUPS:
        return column.startswith(PREFIX_GROUPS[action], autoescape=True)
    if action == "export":
        return column.endswith(EXPORT_SUFFIX, autoescape=True)
    return column == action


def audit_query(wanted: AuditFilter) -> Select[Audit]:
    """Matching rows, newest first (Central: `loggedAt` desc, then id desc)."""
    conditions: list[ColumnElement[bool]] = []
    if wanted.action:
        conditions.append(action_clause(wanted.action))
    if wanted.start is not None:
        conditions.append(Audit.logged_at >= wanted.start)
    if wanted.end is not None:
        conditions.append(Audit.logged_at <= wanted.end)
    query = select(Audit)
    if conditions:
        query = query.where(and_(*conditions))
    return query.order_by(Audit.logged_at.desc(), Audit.id.desc())


def read_audits(db: Session, wanted: AuditFilter, limit: int | None = None,
                offset: int = 0) -> list[Audit]:
    query = audit_query(wanted).offset(offset or None)
    if limit is not None:
        query = query.limit(limit)
    return list(db.scalars(query))


def stream_audits(db: Session, wanted: AuditFilter, batch: int = 1000) -> Iterator[Audit]:
    """Every matching row, oldest first (an export reads like a ledger), a batch at a time."""
    query = audit_query(wanted).order_by(None).order_by(Audit.logged_at, Audit.id)
    yield from db.scalars(query.execution_options(yield_per=batch))


def audit_json(row: Audit) -> dict[str, Any]:
    """Central's audit shape (lib/model/frames.js `Audit.forApi`)."""
    return {"actorId": row.actor_id, "action": row.action, "acteeId": row.actee,
            "details": row.details, "loggedAt": iso_utc(row.logged_at)}


def actee_kind(actee: str | None) -> tuple[str, str] | None:
    """`form:3` → ("form", "3"); None for no actee or one without a kind."""
    if not actee or ":" not in actee:
        return None
    kind, _, ident = actee.partition(":")
    return kind, ident


def actors_by_id(db: Session, rows: list[Audit]) -> dict[int, Actor]:
    """The actors the rows name, whether they are actors or actees, in one query."""
    ids = {row.actor_id for row in rows if row.actor_id is not None}
    for row in rows:
        parts = actee_kind(row.actee)
        if parts and parts[0] == "actor" and parts[1].isdigit():
            ids.add(int(parts[1]))
    if not ids:
        return {}
    return {actor.id: actor for actor in db.scalars(select(Actor).where(Actor.id.in_(ids)))}
