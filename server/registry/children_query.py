"""Which registry children a list asks for: the one place the children filters live.

The JSON list, the children page, the children exports (CSV, XLSX) and the dashboard's links
all filter with `ChildFilters` and `children_query`, so a number on the dashboard opens exactly
the children it counts and an export holds exactly what the list showed (docs/reports.md §1).
Every query starts from the caller's `RegistryAccess`: a child outside its villages, or a
category it may not read, never matches.

Plain Python over SQLAlchemy (no Flask): `parse_filters` reads a mapping of query-string
values and raises `InvalidFilter` (a domain error the HTTP layer maps to 400) for a value it
does not understand.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, exists, not_, or_, select

from server.models import Child, ChildCategoryEpisode, Flag
from server.models.registry import ChildStatus, FlagStatus, VitalStatus
from server.registry.access import RegistryAccess
from sync.categories import default_catalogue
from sync.vietnamese import clean, fold

# Dates people type and periods they count are Vietnamese calendar days (UTC+7); stored
# timestamps are naive UTC (server.db.utcnow).
VIETNAM = timezone(timedelta(hours=7))
OPEN_STATUSES = ("provisional", "confirmed")

# Age groups of the indicator sheet (docs/reports.md §3), in completed years: [from, to).
AGE_GROUPS: dict[str, tuple[int, int]] = {
    "0-6": (0, 6), "6-11": (6, 11), "11-16": (11, 16), "16-18": (16, 18), "16-22": (16, 22),
}
# Support answers that say nothing was received, or nothing is known (`support` list).
NO_SUPPORT = "none"
UNKNOWN_SUPPORT = "dont_know"
# How the screening's `carer_type` answers group into care arrangements (docs/reports.md §3).
CARE_FORMS: dict[str, tuple[str, ...]] = {
    "parents": ("both_parents", "mother_only", "father_only"),
    "kin": ("grandparent", "other_relative"),
    "non_kin": ("non_relative_family",),
    "adoption": ("adoptive_parents",),
    "facility": ("social_facility",),
    "none": ("no_one",),
}
SUPPORT_VALUES = ("yes", "no", "unknown")
SEXES = ("M", "F", "U")


class InvalidFilter(ValueError):
    """A filter value the list does not understand: `name` is the query parameter."""

    def __init__(self, name: str, reason: str) -> None:
        super().__init__(f"{name}: {reason}")
        self.name = name
        self.reason = reason


@dataclass(frozen=True)
class ChildFilters:
    """What a list of children was asked for; empty values filter nothing."""

    village: str = ""
    category: str = ""
    flag: str = ""  # "true"/"any" for any unclosed flag, or a flag kind
    status: str = ""  # vital status
    q: str = ""
    reported_from: date | None = None
    reported_to: date | None = None
    sex: str = ""
    age_group: str = ""
    support: str = ""  # yes / no / unknown
    care: str = ""  # a `CARE_FORMS` key, or "unknown"
    special: bool = False  # only children with an open Article 10 category

    def as_dict(self) -> dict[str, Any]:
        """The filters that were set, under their query-parameter names (for audit rows and
        the first sheet of an XLSX export)."""
        values = {"village": self.village, "category": self.category, "flag": self.flag,
                  "status": self.status, "q": self.q,
                  "reportedFrom": self.reported_from.isoformat() if self.reported_from else "",
                  "reportedTo": self.reported_to.isoformat() if self.reported_to else "",
                  "sex": self.sex, "ageGroup": self.age_group, "support": self.support,
                  "care": self.care, "special": "true" if self.special else ""}
        return {name: value for name, value in values.items() if value}


def _date(name: str, text: str) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidFilter(name, f"{text!r} is not a date (YYYY-MM-DD)") from None


def _one_of(name: str, text: str, allowed: Any) -> str:
    if text and text not in allowed:
        raise InvalidFilter(name, f"{text!r} is not one of {', '.join(sorted(allowed))}")
    return text


def parse_filters(args: Mapping[str, str]) -> ChildFilters:
    """`ChildFilters` from query-string values (the API's and the pages' parameter names)."""
    category = args.get("category", "")
    if category and category not in default_catalogue():
        raise InvalidFilter("category", f"{category} is not a category code")
    special = args.get("special", "")
    return ChildFilters(
        village=args.get("village", ""), category=category, flag=args.get("flag", ""),
        status=_one_of("status", args.get("status", ""), {v.value for v in VitalStatus}),
        q=args.get("q", ""),
        reported_from=_date("reportedFrom", args.get("reportedFrom", "")),
        reported_to=_date("reportedTo", args.get("reportedTo", "")),
        sex=_one_of("sex", args.get("sex", ""), SEXES),
        age_group=_one_of("ageGroup", args.get("ageGroup", ""), AGE_GROUPS),
        support=_one_of("support", args.get("support", ""), SUPPORT_VALUES),
        care=_one_of("care", args.get("care", ""), {*CARE_FORMS, "unknown"}),
        special=_one_of("special", special, {"true", "false"}) == "true")


# --- pieces of SQL, shared with the reports ---------------------------------------------------


def vietnam_day_start(day: date) -> datetime:
    """The naive-UTC instant a Vietnamese calendar day begins (00:00 UTC+7)."""
    return datetime.combine(day, time(), VIETNAM).astimezone(UTC).replace(tzinfo=None)


def birthday_cutoff(years: int, on: date) -> str:
    """The latest date of birth of a child at least `years` old on `on`, as ISO text.

    Partial dates count from their earliest possible birthday (docs/categories.md §1,
    `sync.categories.age`): "2015" is 2015-01-01 and "2015-03" is 2015-03-01. Compared as text,
    a partial date sorts just before its first day, so `Child.dob <= cutoff` says the same.
    """
    try:
        return on.replace(year=on.year - years).isoformat()
    except ValueError:  # 29 February: the birthday is reached on 1 March
        return (on.replace(year=on.year - years, day=28)).isoformat()


def age_clause(group: str, on: date) -> ColumnElement[bool]:
    """Children whose age on `on` is within the group (a child without a date: never)."""
    low, high = AGE_GROUPS[group]
    return and_(Child.dob.is_not(None), Child.dob <= birthday_cutoff(low, on),
                Child.dob > birthday_cutoff(high, on))


def _only_tokens(tokens: tuple[str, ...]) -> list[str]:
    """Every way a space-separated answer can hold nothing but `tokens` (each once)."""
    if len(tokens) == 1:
        return [tokens[0]]
    first, second = tokens
    return [first, second, f"{first} {second}", f"{second} {first}"]


def support_clause(value: str) -> ColumnElement[bool]:
    """`yes`: some support was received; `no`: the answer was "none"; `unknown`: no answer,
    or "don't know" (never counted as supported, docs/reports.md §3)."""
    nothing_known = or_(Child.support == "", Child.support.in_(_only_tokens((UNKNOWN_SUPPORT,))))
    if value == "unknown":
        return nothing_known
    if value == "no":
        return Child.support.in_(_only_tokens((NO_SUPPORT,)))
    return and_(not_(nothing_known),
                Child.support.not_in(_only_tokens((NO_SUPPORT, UNKNOWN_SUPPORT))))


def care_clause(form: str) -> ColumnElement[bool]:
    if form == "unknown":
        known = [code for codes in CARE_FORMS.values() for code in codes]
        return Child.care_arrangement.not_in(known)
    return Child.care_arrangement.in_(CARE_FORMS[form])


def article10_codes() -> list[str]:
    return [c.code for c in default_catalogue() if c.is_article10]


def open_episode_clause(access: RegistryAccess, codes: list[str]) -> ColumnElement[bool]:
    """The child has an open episode of one of `codes` that the caller may see."""
    return exists().where(
        ChildCategoryEpisode.child_id == Child.id, ChildCategoryEpisode.code.in_(codes),
        ChildCategoryEpisode.status.in_(OPEN_STATUSES), access.episode_clause())


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def name_pattern(filters: ChildFilters) -> str | None:
    """The LIKE pattern `children_query` matches folded names with, for the `q` filter."""
    text = fold(clean(filters.q))
    return _like(text) if text else None


def children_query(project_id: int, access: RegistryAccess, filters: ChildFilters,
                   today: date | None = None) -> Select[Any]:
    """Current (not merged) children of the project the caller may see, filtered, by name.

    `today` (a Vietnamese calendar day) is the day ages are counted on.
    """
    today = today or datetime.now(VIETNAM).date()
    query = select(Child).where(Child.project_id == project_id,
                                Child.status == ChildStatus.ACTIVE.value,
                                access.child_clause())
    if filters.village:
        query = query.where(Child.village_code == filters.village)
    if filters.status:
        query = query.where(Child.vital_status == filters.status)
    if pattern := name_pattern(filters):
        query = query.where(Child.name_folded.like(pattern, escape="\\"))
    if filters.category:
        query = query.where(open_episode_clause(access, [filters.category]))
    if filters.special:
        query = query.where(open_episode_clause(access, article10_codes()))
    if filters.flag:
        wanted = [Flag.child_id == Child.id, Flag.status != FlagStatus.CLOSED.value,
                  access.flag_clause()]
        if filters.flag not in ("true", "any"):
            wanted.append(Flag.kind == filters.flag)
        query = query.where(exists().where(*wanted))
    if filters.reported_from:
        query = query.where(Child.first_reported_at >= vietnam_day_start(filters.reported_from))
    if filters.reported_to:
        query = query.where(Child.first_reported_at
                            < vietnam_day_start(filters.reported_to + timedelta(days=1)))
    if filters.sex:
        query = query.where(Child.sex == filters.sex)
    if filters.age_group:
        query = query.where(age_clause(filters.age_group, today))
    if filters.support:
        query = query.where(support_clause(filters.support))
    if filters.care:
        query = query.where(care_clause(filters.care))
    return query.order_by(Child.name_folded, Child.id)
