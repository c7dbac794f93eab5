"""Registry children as export rows: what every officer's output reads (docs/reports.md).

The children export, the reports and the dashboard all count from these rows, so a figure of
the indicator sheet can be recomputed from the children export and must agree with it. A row
is one *current* child (a merged id is never a row) as one caller may see it: its villages
only (`RegistryAccess.child_clause`), and only the categories and flags it may read — hidden
means absent, as everywhere else (docs/access.md).

Rows are read as three streams in the list's order — children, their categories, their
flags — fetched `PAGE_SIZE` rows at a time, from a session the caller opens with
`Database.read_snapshot()`: every fetch then sees the same registry even while a sync commits,
and phones keep submitting.

Plain Python over SQLAlchemy, no Flask.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from server.db import plan_for_whole_results
from server.models import Child, ChildCategoryEpisode, Flag, Village
from server.models.registry import FlagStatus
from server.registry.access import FlagView, RegistryAccess
from server.registry.ageing import earliest_birthday
from server.registry.child_code import format_code
from server.registry.children_query import ChildFilters, children_query
from sync.categories import default_catalogue
from sync.categories.age import completed_years

PAGE_SIZE = 2000


@dataclass(frozen=True, slots=True)
class EpisodeRow:
    """One category episode of a child, as the caller may see it."""

    code: str
    subcode: str | None
    status: str  # provisional / confirmed / referred / ended
    opened_at: datetime
    ended_at: datetime | None
    plan_approved_at: datetime | None
    urgent_signal: bool
    confidential: bool

    @property
    def is_open(self) -> bool:
        return self.status in ("provisional", "confirmed")


@dataclass(frozen=True, slots=True)
class FlagRow:
    """One unclosed flag of a child that the caller sees in full."""

    code: str
    kind: str
    status: str
    raised_at: datetime
    deadline: datetime | None


@dataclass(frozen=True, slots=True)
class ChildRow:
    """One current registry child, with what the caller may see of it."""

    id: str
    number: int
    full_name: str
    home_name: str  # tên thường gọi ở nhà, "" when none was reported
    sex: str  # M / F / U
    dob: str | None  # ISO, maybe partial: 2015-03-04, 2015-03, 2015
    dob_precision: str | None
    village_code: str
    village_name: str
    household_head: str
    mother_name: str
    father_name: str
    guardian_name: str
    personal_id: str
    vital_status: str
    school_status: str
    support: tuple[str, ...]  # codes of the `support` list
    care_arrangement: str  # a `carer_type` code, or ""
    care_registered: str
    last_visit: str | None
    report_count: int
    first_reported_at: datetime | None
    episodes: tuple[EpisodeRow, ...]  # every episode it may see, ended ones too, legal order
    flags: tuple[FlagRow, ...]  # its unclosed flags it may see in full

    @property
    def code(self) -> str:
        """The code people read aloud and write on paper (`server.registry.child_code`)."""
        return format_code(self.number)

    def age_on(self, day: date) -> int | None:
        return age_on(self.dob, day)

    @property
    def open_episodes(self) -> tuple[EpisodeRow, ...]:
        return tuple(e for e in self.episodes if e.is_open)


def age_on(dob: str | None, day: date) -> int | None:
    """Completed years on `day` of a child born `dob`, counted from its earliest possible
    birthday (docs/reports.md §1)."""
    born = earliest_birthday(dob)
    return None if born is None else completed_years(born, day)


def _legal_order() -> dict[str, int]:
    """Catalogue order: the Article 10 groups in the law's order, then the plan markers."""
    return {category.code: index for index, category in enumerate(default_catalogue())}


_EPISODE_COLUMNS = (
    ChildCategoryEpisode.child_id, ChildCategoryEpisode.code, ChildCategoryEpisode.subcode,
    ChildCategoryEpisode.status, ChildCategoryEpisode.opened_at, ChildCategoryEpisode.ended_at,
    ChildCategoryEpisode.plan_approved_at, ChildCategoryEpisode.urgent_signal,
    ChildCategoryEpisode.confidential,
)
_FLAG_COLUMNS = (Flag.child_id, Flag.code, Flag.kind, Flag.status, Flag.raised_at,
                 Flag.deadline, Flag.confidential)


class _ByChild:
    """A stream of rows (child id first) in the children's order, taken child by child."""

    def __init__(self, rows: Iterable[Sequence[Any]]) -> None:
        self._rows = iter(rows)
        self._next = next(self._rows, None)

    def take(self, child_id: str) -> list[Sequence[Any]]:
        taken: list[Sequence[Any]] = []
        while self._next is not None and self._next[0] == child_id:
            taken.append(self._next)
            self._next = next(self._rows, None)
        return taken


class _Visible:
    """The caller's access asked once per kind of episode or flag (code, village, confidential,
    urgent): a few dozen answers serve a commune's 500,000 children."""

    def __init__(self, access: RegistryAccess) -> None:
        self.access = access
        self._categories: dict[tuple[str, str, bool], bool] = {}
        self._flags: dict[tuple[str, str, bool, bool], bool] = {}
        self._order = _legal_order()

    def episodes(self, rows: list[Sequence[Any]], village: str) -> list[EpisodeRow]:
        found: list[EpisodeRow] = []
        for _, code, subcode, status, opened, ended, plan, urgent, confidential in rows:
            key = (code, village, confidential)
            seen = self._categories.get(key)
            if seen is None:
                seen = self._categories[key] = self.access.sees_category(
                    code, village, confidential=confidential)
            if seen:
                found.append(EpisodeRow(code, subcode, status, opened, ended, plan, urgent,
                                        confidential))
        if len(found) > 1:
            order = self._order
            found.sort(key=lambda e: (order.get(e.code, len(order)), e.opened_at))
        return found

    def flags(self, rows: list[Sequence[Any]], village: str) -> list[FlagRow]:
        found: list[FlagRow] = []
        for _, code, kind, status, raised, deadline, confidential in rows:
            key = (code, village, confidential, deadline is not None)
            seen = self._flags.get(key)
            if seen is None:
                seen = self._flags[key] = self.access.flag_view(
                    code, village, confidential=confidential,
                    urgent=deadline is not None) is FlagView.FULL
            if seen:
                found.append(FlagRow(code, kind, status, raised, deadline))
        return found


def village_names(session: Session, project_id: int) -> dict[str, str]:
    # A list: a Result has .keys() (its column names), so dict(result) would index it.
    rows = session.execute(select(Village.code, Village.name)
                           .where(Village.project_id == project_id)).all()
    return dict(rows)


# The columns of `children` a row is made of, read as plain tuples (an ORM object per child
# costs more than the rest of the row).
_CHILD_COLUMNS = (
    Child.id, Child.number, Child.full_name, Child.home_name, Child.sex, Child.dob,
    Child.dob_precision, Child.village_code, Child.household_head, Child.mother_name,
    Child.father_name, Child.guardian_name, Child.personal_id, Child.vital_status,
    Child.school_status, Child.support, Child.care_arrangement, Child.care_registered,
    Child.last_visit, Child.report_count, Child.first_reported_at,
)
_VILLAGE_AT = 7  # where `Child.village_code` sits in `_CHILD_COLUMNS`


def _row(child: Sequence[Any], names: dict[str, str], episodes: list[EpisodeRow],
         flags: list[FlagRow]) -> ChildRow:
    (child_id, number, full_name, home_name, sex, dob, dob_precision, village, household_head,
     mother, father, guardian, personal_id, vital_status, school_status, support, care, registered,
     last_visit, report_count, first_reported_at) = child
    return ChildRow(
        id=child_id, number=number, full_name=full_name, home_name=home_name, sex=sex, dob=dob,
        dob_precision=dob_precision, village_code=village, village_name=names.get(village, ""),
        household_head=household_head, mother_name=mother, father_name=father,
        guardian_name=guardian, personal_id=personal_id, vital_status=vital_status,
        school_status=school_status, support=tuple(support.split()), care_arrangement=care,
        care_registered=registered, last_visit=last_visit, report_count=report_count,
        first_reported_at=first_reported_at, episodes=tuple(episodes), flags=tuple(flags))


def count_children(session: Session, query: Select[Any]) -> int:
    """How many rows `iter_child_rows` will yield for the same query (for progress bars)."""
    return session.scalar(select(func.count()).select_from(
        query.order_by(None).subquery())) or 0


def _stream(session: Session, query: Select[*tuple[Any, ...]]) -> Iterator[Sequence[Any]]:
    """The query's rows fetched `PAGE_SIZE` at a time (a server-side cursor on PostgreSQL):
    memory stays flat whatever the registry's size. Plain rows through the session's
    connection: the ORM's result machinery would cost more than the rest of a row."""
    yield from session.connection().execute(query, execution_options={"yield_per": PAGE_SIZE})


def iter_child_rows(session: Session, project_id: int, access: RegistryAccess,
                    filters: ChildFilters | None = None, today: date | None = None
                    ) -> Iterator[ChildRow]:
    """Every current child matching `filters` that the caller may see, by name.

    Three streams in the list's order (folded name, id) — the children, their categories,
    their unclosed flags — read side by side, so each table is read once whatever the
    registry's size (pages of children with their categories looked up by id cost a query
    per page and table, 20 s for 500,000 children). Open `session` with
    `Database.read_snapshot()`: the streams then read one consistent registry.
    """
    # The categories by one hash join and sort (0.9 s for 500,000 children), not one index
    # look-up per child (3.5 s).
    plan_for_whole_results(session)
    query = children_query(project_id, access, filters or ChildFilters(), today)
    chosen = query.with_only_columns(Child.id, Child.name_folded).order_by(None).subquery()
    order = (chosen.c.name_folded, chosen.c.id)
    names = village_names(session, project_id)
    visible = _Visible(access)
    # Episodes sharing an opening time keep the order they were made in (`_Visible.episodes`
    # sorts stably), so "the open one, else the latest" is the same episode on every read
    # and in the database's own CSV (`exports.children_csv_sql`).
    episodes = _ByChild(_stream(session, select(*_EPISODE_COLUMNS).join(
        chosen, chosen.c.id == ChildCategoryEpisode.child_id)
        .order_by(*order, ChildCategoryEpisode.id)))
    flags = _ByChild(_stream(session, select(*_FLAG_COLUMNS).join(
        chosen, chosen.c.id == Flag.child_id).where(Flag.status != FlagStatus.CLOSED.value)
        .order_by(*order, Flag.raised_at, Flag.id)))
    for child in _stream(session, query.with_only_columns(*_CHILD_COLUMNS)):
        child_id, village = child[0], child[_VILLAGE_AT]
        yield _row(child, names, visible.episodes(episodes.take(child_id), village),
                   visible.flags(flags.take(child_id), village))
