"""The submissions list's filters and query: one form's live submissions in the caller's
villages (`visible_data.village_clause`, the API list's own clause), newest first, by village,
by Vietnamese calendar day, by review state and by registry sync state.

Days are the commune's (UTC+7): "from 01/12/2026" starts at 00:00 Vietnam time, "to" ends at
the last moment of that day. A date may be typed as the date field sends it (2026-12-01) or as
people write it (1/12/2026), so an old browser without a date picker still filters.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import aliased

from server.auth.visibility import DataView
from server.models import Actor, Form, ReviewState, Submission, SubmissionDef
from server.operations import visible_data
from server.registry.children_query import InvalidFilter, vietnam_day_start
from server.registry.sync_status import SyncStatus, status_clause

RECEIVED = "received"  # Central's review state NULL: nobody has reviewed it yet
REVIEW_STATES = (RECEIVED, *(state.value for state in ReviewState))
SYNC_STATES = tuple(status.value for status in SyncStatus)
UNKNOWN_VILLAGE = "_none"  # the village filter's value for "village not known"
_DAY_MONTH_YEAR = re.compile(r"^\s*(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})\s*$")


@dataclass(frozen=True)
class SubmissionFilters:
    village: str = ""
    day_from: date | None = None
    day_to: date | None = None
    review: str = ""
    sync: str = ""

    def as_dict(self) -> dict[str, str]:
        """The filters as query-string values (empty ones left out)."""
        values = {"village": self.village,
                  "from": self.day_from.isoformat() if self.day_from else "",
                  "to": self.day_to.isoformat() if self.day_to else "",
                  "review": self.review, "sync": self.sync}
        return {name: value for name, value in values.items() if value}


def _day(name: str, text: str) -> date | None:
    text = text.strip()
    if not text:
        return None
    found = _DAY_MONTH_YEAR.match(text)
    try:
        if found:
            return date(int(found.group(3)), int(found.group(2)), int(found.group(1)))
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidFilter(name, f"{text!r} is not a day (dd/mm/yyyy)") from None


def _one_of(name: str, text: str, allowed: tuple[str, ...]) -> str:
    if text and text not in allowed:
        raise InvalidFilter(name, f"{text!r} is not one of {', '.join(allowed)}")
    return text


def parse_filters(args: Mapping[str, str]) -> SubmissionFilters:
    return SubmissionFilters(
        village=args.get("village", "").strip(), day_from=_day("from", args.get("from", "")),
        day_to=_day("to", args.get("to", "")),
        review=_one_of("review", args.get("review", ""), REVIEW_STATES),
        sync=_one_of("sync", args.get("sync", ""), SYNC_STATES))


def submissions_query(form: Form, view: DataView, filters: SubmissionFilters
                      ) -> Select[*tuple[Any, ...]]:
    """Rows of (submission, its current version's sync state and instanceName, the first
    sender's name), newest first."""
    sender = aliased(Actor)
    query = (
        select(Submission, SubmissionDef.sync_state, SubmissionDef.instance_name,
               sender.display_name)
        .join(SubmissionDef, (SubmissionDef.submission_id == Submission.id)
              & SubmissionDef.current.is_(True))
        .outerjoin(sender, sender.id == Submission.submitter_id)
        .where(Submission.form_id == form.id, Submission.deleted_at.is_(None),
               visible_data.village_clause(view))
        .order_by(Submission.created_at.desc(), Submission.id.desc()))
    if filters.village == UNKNOWN_VILLAGE:
        query = query.where(Submission.village_code.is_(None))
    elif filters.village:
        query = query.where(Submission.village_code == filters.village)
    if filters.day_from:
        query = query.where(Submission.created_at >= vietnam_day_start(filters.day_from))
    if filters.day_to:
        query = query.where(
            Submission.created_at < vietnam_day_start(filters.day_to + timedelta(days=1)))
    if filters.review == RECEIVED:
        query = query.where(Submission.review_state.is_(None))
    elif filters.review:
        query = query.where(Submission.review_state == filters.review)
    if filters.sync:
        query = query.where(status_clause(form, SyncStatus(filters.sync)))
    return query
