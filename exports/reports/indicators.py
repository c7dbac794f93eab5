"""The indicator sheet (docs/reports.md §3): the commune plan's figures for one period.

Each indicator is a count (`value`), often over a `denominator`, broken down by sex, age group
(completed years on the period's last day), Article 10 category and village — the very
definitions of the children list's filters (`server.registry.children_query`: `AGE_GROUPS`,
`support_clause`, `CARE_FORMS`), so that a number on the dashboard opens the children it
counts. Targets, the plan-approval deadline and the child-friendly commune points are data
(`exports/indicators.json`), read once.

How it counts, and why this way:

* **Two queries, not one pass over every child.** Reading 500,000 children as export rows
  (`exports.registry_rows.iter_child_rows`) took over a minute on PostgreSQL; the sheet must
  take seconds. The population is one SQL `GROUP BY` (sex, village, age group); everything
  else is about children holding a category, a small share, read as one joined query of their
  episodes and grouped here. Both start from `children_query` with the caller's access and
  filters, so the figures are those of counting the children export (a test recounts them).
* **An episode counts as a category from when it was opened until it ended.** A referral still
  waiting for the officer is not (yet) a category, and a referral the officer dismissed never
  was one: an ended episode whose history never held an open status is left out.
* **Missing answers are never "supported"**: no support answer, or "don't know", counts in the
  denominator and in `unknown`; an unknown care arrangement is not alternative care.
* **Redacted callers** (docs/access.md, `presentation.sees_everything`) get no indicator about
  a sensitive category, and count only the categories they may name: no sensitive code
  appears anywhere, and a child known only by a sensitive category is not counted. They get
  no child-friendly points either (wrong without the sensitive cases); `notes` says so.

Plain Python over a read-snapshot session, no Flask.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

from sqlalchemy import ColumnElement, Select, case, func, null, or_, select

from exports.periods import Period, vietnam_day
from exports.reports import ReportContext, ReportResult, report
from exports.reports.presentation import shows_code
from exports.xlsx_book import Cell, Sheet
from server.db import plan_for_whole_results
from server.models import Child, ChildCategoryEpisode, Village
from server.models.registry import VitalStatus
from server.registry.access import is_sensitive_code
from server.registry.children_query import (
    AGE_GROUPS,
    CARE_FORMS,
    OPEN_STATUSES,
    SEXES,
    birthday_cutoff,
    children_query,
    support_clause,
    vietnam_day_start,
)
from sync.categories import default_catalogue

CONFIG_FILE = Path(__file__).resolve().parents[1] / "indicators.json"

CHILD_AGE = 16  # a child is a person under 16 (docs/categories.md §1)
AGE_KEYS = ("0-6", "6-11", "11-16", "16-18", "18+", "unknown")
UNDER_16 = frozenset({"0-6", "6-11", "11-16", "unknown"})  # no date: counted as a child
UNKNOWN = "unknown"
ORPHANS = ("HCDB-A", "HCDB-C")
ABANDONED = "HCDB-B"
CONFLICT = "HCDB-E"
DRUGS = "HCDB-G"
AGEOUT = "AGEOUT-16-22"
ALLOWANCE = "monthly_allowance"


# --- configuration ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    op: str  # ">" or ">="
    percent: float

    def met(self, value: int, denominator: int) -> bool | None:
        """Compared exactly (never after rounding); None when there is nothing to count."""
        if not denominator:
            return None
        if self.op == ">":
            return value * 100 > self.percent * denominator
        return value * 100 >= self.percent * denominator

    def text(self) -> str:
        return f"{'≥' if self.op == '>=' else '>'} {self.percent:g} %"


@dataclass(frozen=True)
class CriterionPart:
    id: str
    indicator: str
    target: Target
    points: int
    label_vi: str
    label_en: str


@dataclass(frozen=True)
class Config:
    targets: dict[str, Target]
    alternative_care: frozenset[str]
    plan_codes: tuple[str, ...]
    plan_deadline_days: int
    plan_deadline_unverified: str
    criterion_max: int
    criterion_parts: tuple[CriterionPart, ...]
    points_when_no_cases: bool
    criterion_unverified: str


def _target(data: Mapping[str, Any]) -> Target:
    if data["op"] not in (">", ">="):
        raise ValueError(f"{CONFIG_FILE.name}: a target's op is > or >=, not {data['op']!r}")
    return Target(str(data["op"]), float(data["percent"]))


@cache
def load_config(path: Path = CONFIG_FILE) -> Config:
    """`exports/indicators.json`, read once per process and checked against the filters'
    care forms and the catalogue's codes."""
    data = json.loads(path.read_text(encoding="utf-8"))
    forms = frozenset(data["alternative_care_forms"])
    plan = data["plan_approval"]
    criterion = data["child_friendly_criterion_6"]
    if not forms <= set(CARE_FORMS):
        raise ValueError(f"{path.name}: unknown care forms {sorted(forms - set(CARE_FORMS))}")
    for code in plan["codes"]:
        default_catalogue().get(code)  # UnknownCategory for a code the catalogue lacks
    return Config(
        targets={name: _target(item) for name, item in data["targets"].items()},
        alternative_care=forms, plan_codes=tuple(plan["codes"]),
        plan_deadline_days=int(plan["deadline_days"]),
        plan_deadline_unverified=str(plan.get("unverified", "")),
        criterion_max=int(criterion["max"]),
        criterion_parts=tuple(CriterionPart(p["id"], p["indicator"], _target(p), int(p["points"]),
                                            p["label_vi"], p["label_en"])
                              for p in criterion["parts"]),
        points_when_no_cases=bool(criterion["points_when_no_cases"]),
        criterion_unverified=str(criterion.get("unverified", "")))


# --- the indicators ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Indicator:
    id: str
    label_vi: str
    label_en: str
    # The categories it is about, when it names some: one sensitive code hides it from a
    # redacted caller (the two about every Article 10 group count what the caller may name).
    codes: tuple[str, ...]
    ratio: bool
    has_unknown: bool = False
    care: bool = False  # broken down by care form too


def indicators(config: Config) -> tuple[Indicator, ...]:
    """Every indicator, in the sheet's order (ids and definitions: docs/reports.md §3)."""
    return (
        Indicator("child_population", "Trẻ em dưới 16 tuổi trên địa bàn",
                  "Children under 16 in the commune", (), ratio=False, has_unknown=True),
        Indicator("special_circumstances", "Trẻ em có hoàn cảnh đặc biệt (Điều 10)",
                  "Children in special circumstances (Article 10)", (), ratio=True),
        Indicator("special_supported", "Trẻ em có hoàn cảnh đặc biệt được hỗ trợ",
                  "Children in special circumstances receiving support", (), ratio=True,
                  has_unknown=True),
        Indicator("abandoned_found", "Trẻ em bị bỏ rơi được phát hiện trong kỳ",
                  "Abandoned children found in the period", (ABANDONED,), ratio=False),
        Indicator("abandoned_in_alternative_care",
                  "Trẻ em bị bỏ rơi được chăm sóc thay thế",
                  "Abandoned children in alternative care", (ABANDONED,), ratio=True,
                  has_unknown=True, care=True),
        Indicator("orphans_in_alternative_care",
                  "Trẻ em mồ côi, không nơi nương tựa được chăm sóc thay thế",
                  "Orphans and children with no one to rely on in alternative care", ORPHANS,
                  ratio=True, has_unknown=True, care=True),
        Indicator("abuse_cases_plan_in_time",
                  "Vụ việc xâm hại tình dục, bỏ rơi, mua bán trẻ em có kế hoạch hỗ trợ, can "
                  "thiệp được phê duyệt đúng hạn",
                  "Sexual-abuse, abandonment and trafficking cases with an intervention plan "
                  "approved in time", config.plan_codes, ratio=True),
        Indicator("conflict_with_law", "Trẻ em vi phạm pháp luật",
                  "Children in conflict with the law", (CONFLICT,), ratio=False),
        Indicator("drug_use", "Trẻ em nghiện ma túy", "Children addicted to drugs", (DRUGS,),
                  ratio=False),
        Indicator("allowance_16_22",
                  "Người từ 16 đến dưới 22 tuổi còn được hưởng, đang nhận trợ cấp hàng tháng",
                  "Young people 16–22 still entitled who receive the monthly allowance",
                  (AGEOUT,), ratio=True, has_unknown=True),
    )


def shown(indicator: Indicator, redacted: bool) -> bool:
    """A redacted caller gets no indicator about a sensitive category at all."""
    return not (redacted and any(is_sensitive_code(code) for code in indicator.codes))


# --- counting ---------------------------------------------------------------------------------

Where = Mapping[str, str | tuple[str, ...]]


class Tally:
    """One indicator's counts, in total and by breakdown key (keys with 0 are kept)."""

    def __init__(self, indicator: Indicator, keys: Mapping[str, Sequence[str]]) -> None:
        dims = {d: k for d, k in keys.items() if d != "care" or indicator.care}
        self.indicator = indicator
        self.value = 0
        self.denominator = 0
        self.unknown = 0
        self.values: dict[str, dict[str, int]] = {d: dict.fromkeys(k, 0) for d, k in dims.items()}
        self.denominators = {d: dict.fromkeys(k, 0) for d, k in dims.items()}
        self.details: dict[str, int] = {}

    def count(self, where: Where, *, counted: bool = True, unknown: bool = False,
              times: int = 1) -> None:
        """One child or case: in the denominator, and in the value when `counted`."""
        self.denominator += times
        _bump(self.denominators, where, times)
        if counted:
            self.value += times
            _bump(self.values, where, times)
        if unknown:
            self.unknown += times


def _bump(table: dict[str, dict[str, int]], where: Where, times: int) -> None:
    for dim, keys in where.items():
        counts = table.get(dim)
        if counts is None:
            continue
        for key in (keys,) if isinstance(keys, str) else keys:
            if dim == "category" and key not in counts:
                continue  # a code this caller is not shown
            counts[key] = counts.get(key, 0) + times


@dataclass(slots=True)
class _ChildCases:
    """What one child's episodes say for the period."""

    where: dict[str, str | tuple[str, ...]]
    in_population: bool
    alive: bool
    supported: bool
    support_unknown: bool
    care: str
    allowance: bool
    open_codes: set[str] = field(default_factory=set)  # open at the period's end
    cases: list[tuple[str, datetime, datetime | None]] = field(default_factory=list)


def _age_group(on: date) -> ColumnElement[str]:
    """`AGE_GROUPS` on `on` in SQL, as `age_clause` says it: a child not yet born counts in
    0-6, 18 and over in "18+", no date of birth in "unknown"."""
    whens: list[tuple[ColumnElement[bool], str]] = [(Child.dob.is_(None), UNKNOWN)]
    for key in AGE_KEYS[:4]:
        whens.append((Child.dob > birthday_cutoff(AGE_GROUPS[key][1], on), key))
    return case(*whens, else_="18+")


def _care_form() -> ColumnElement[str]:
    """`care_clause` in SQL: the `CARE_FORMS` group of the answer, else "unknown"."""
    return case(*[(Child.care_arrangement.in_(codes), form)
                  for form, codes in CARE_FORMS.items()], else_=UNKNOWN)


def _born(on: date) -> ColumnElement[bool]:
    return or_(Child.dob.is_(None), Child.dob <= birthday_cutoff(0, on))


def _base(context: ReportContext) -> Select[Any]:
    """The caller's children, with its filters: those the children export would list."""
    return children_query(context.project_id, context.access, context.filters,
                          context.today).order_by(None)


def _population(context: ReportContext, tally: Tally) -> None:
    """Children alive (vital status active), born and under 16 on the period's last day (no
    date of birth: counted, docs/categories.md §1), by sex, village and age group."""
    last = context.period.last
    group = _age_group(last).label("age_group")
    query = (_base(context)
             .with_only_columns(Child.sex, Child.village_code, group, func.count())
             .where(Child.vital_status == VitalStatus.ACTIVE.value, _born(last),
                    or_(Child.dob.is_(None), Child.dob > birthday_cutoff(CHILD_AGE, last)))
             .group_by(Child.sex, Child.village_code, group))
    for sex, village, age, count in context.session.execute(query):
        tally.count({"sex": sex, "village": village or UNKNOWN, "ageGroup": age}, times=count)
    tally.unknown = tally.values["ageGroup"][UNKNOWN]


def _never_opened(status: str, history: Any) -> bool:
    """A referral the officer dismissed: it ended without ever being an open category."""
    if status != "ended" or not history:
        return False
    return not any(entry.get("status") in OPEN_STATUSES for entry in history)


def _episode_rows(context: ReportContext, codes: Iterable[str]) -> Iterator[Any]:
    """Every episode of `codes` the caller sees, with its child's answers, by child."""
    last = context.period.last
    episode = ChildCategoryEpisode
    query = (_base(context)
             .with_only_columns(
                 Child.id, Child.sex, Child.village_code, Child.vital_status,
                 _age_group(last), _born(last), support_clause("yes"), support_clause("unknown"),
                 # One code of the `support` list is a substring of no other: a token test.
                 Child.support.contains(ALLOWANCE, autoescape=True), _care_form(),
                 episode.code, episode.status, episode.opened_at, episode.ended_at,
                 episode.plan_approved_at,
                 case((episode.status == "ended", episode.history), else_=null()))
             .join_from(Child, episode, episode.child_id == Child.id)
             .where(episode.code.in_(sorted(set(codes))), episode.status != "referred",
                    context.access.episode_clause())
             .order_by(Child.id))
    return iter(context.session.execute(query.execution_options(yield_per=5000)))


def _children_with_cases(context: ReportContext, codes: Iterable[str]) -> Iterator[_ChildCases]:
    period: Period = context.period
    start, end = period.start_utc, period.end_utc
    for _, rows in itertools.groupby(_episode_rows(context, codes), key=lambda r: r[0]):
        child: _ChildCases | None = None
        for (_, sex, village, vital, age, born, supported, unknown, allowance, care, code,
             status, opened, ended, plan, history) in rows:
            if child is None:
                alive = vital == VitalStatus.ACTIVE.value
                child = _ChildCases(
                    {"sex": sex, "village": village or UNKNOWN, "ageGroup": age, "care": care},
                    in_population=alive and bool(born) and age in UNDER_16, alive=alive,
                    supported=bool(supported), support_unknown=bool(unknown), care=care,
                    allowance=bool(allowance))
            if _never_opened(status, history):
                continue
            if opened < end and (status != "ended" or (ended is not None and ended >= end)):
                child.open_codes.add(code)
            if start <= opened < end:
                child.cases.append((code, opened, plan))
        if child is not None:
            yield child


def in_time(opened: datetime, approved: datetime | None, days: int) -> bool:
    """Approved on or before the `days`-th Vietnamese calendar day after the case opened."""
    if approved is None:
        return False
    return approved < vietnam_day_start(vietnam_day(opened) + timedelta(days=days + 1))


@dataclass
class Figures:
    """The tallies of one report, by indicator id, and the names of its villages."""

    tallies: dict[str, Tally]
    village_names: dict[str, str]
    config: Config


def _keys(context: ReportContext) -> tuple[dict[str, list[str]], dict[str, str]]:
    """Breakdown keys shown with 0: every sex, age group, Article 10 code the caller is
    shown, village in its scope (and filter), care form."""
    access = context.access
    codes = [c.code for c in default_catalogue() if c.is_article10 and shows_code(context, c.code)]
    villages = context.session.execute(select(Village.code, Village.name).where(
        Village.project_id == context.project_id))
    names = {code: name for code, name in villages if access.sees_child(code)
             and (not context.filters.village or code == context.filters.village)}
    keys = {"sex": list(SEXES), "ageGroup": list(AGE_KEYS), "category": codes,
            "village": sorted(names), "care": [*CARE_FORMS, UNKNOWN]}
    return keys, names


def compute(context: ReportContext, config: Config | None = None) -> Figures:
    """Every indicator's tally for the caller, the period and the filters of `context`."""
    config = config or load_config()
    plan_for_whole_results(context.session)  # every episode of the commune is read
    keys, names = _keys(context)
    tallies = {i.id: Tally(i, keys) for i in indicators(config)}
    _population(context, tallies["child_population"])
    article10 = {c.code for c in default_catalogue() if c.is_article10}
    # A redacted report counts only what it may name (as every report does,
    # `exports.reports.presentation`): a child whose only category is sensitive is not one of
    # its children in special circumstances, since the count would betray the hidden case.
    wanted = {code for code in article10 | {AGEOUT, *config.plan_codes}
              if shows_code(context, code)}
    for child in _children_with_cases(context, wanted):
        _count_child(child, tallies, article10, config)
    figures = Figures(tallies, names, config)
    _ratio_over_population(figures)
    return figures


def _count_child(child: _ChildCases, tallies: dict[str, Tally], article10: set[str],
                 config: Config) -> None:
    where = {**child.where, "category": tuple(sorted(child.open_codes & article10))}
    alternative = child.care in config.alternative_care
    if child.in_population:
        # Counted by SQL (`_population`); only its categories come from the episodes.
        _bump(tallies["child_population"].values, {"category": where["category"]}, 1)
        if where["category"]:
            tallies["special_circumstances"].count(where)
            tallies["special_supported"].count(where, counted=child.supported,
                                               unknown=child.support_unknown)
        if child.open_codes & set(ORPHANS):
            tallies["orphans_in_alternative_care"].count(where, counted=alternative,
                                                         unknown=child.care == UNKNOWN)
        if CONFLICT in child.open_codes:
            tallies["conflict_with_law"].count(where)
        if DRUGS in child.open_codes:
            tallies["drug_use"].count(where)
    if child.alive and AGEOUT in child.open_codes:
        tallies["allowance_16_22"].count(where, counted=child.allowance,
                                         unknown=child.support_unknown)
    for code, opened, approved in child.cases:
        case_where = {**child.where, "category": (code,)}
        if code == ABANDONED:
            tallies["abandoned_found"].count(case_where)
            tallies["abandoned_in_alternative_care"].count(
                case_where, counted=alternative, unknown=child.care == UNKNOWN)
        if code in config.plan_codes:
            _count_plan(tallies["abuse_cases_plan_in_time"], case_where, opened, approved,
                        config.plan_deadline_days)


def _count_plan(tally: Tally, where: Where, opened: datetime, approved: datetime | None,
                days: int) -> None:
    timely = in_time(opened, approved, days)
    tally.count(where, counted=timely)
    outcome = "inTime" if timely else ("late" if approved is not None else "noPlan")
    tally.details[outcome] = tally.details.get(outcome, 0) + 1


def _ratio_over_population(figures: Figures) -> None:
    """`special_circumstances` is a share of the child population, group by group."""
    special, population = (figures.tallies[name] for name in
                           ("special_circumstances", "child_population"))
    special.denominator = population.value
    special.denominators = {dim: dict(counts) for dim, counts in population.values.items()}


# --- the JSON document ------------------------------------------------------------------------


def percent(value: int, denominator: int | None) -> float | None:
    return round(value * 100 / denominator, 1) if denominator else None


def _indicator_json(tally: Tally, config: Config) -> dict[str, Any]:
    indicator = tally.indicator
    target = config.targets.get(indicator.id)
    denominator = tally.denominator if indicator.ratio else None
    item: dict[str, Any] = {
        "id": indicator.id, "label_vi": indicator.label_vi, "label_en": indicator.label_en,
        "value": tally.value, "denominator": denominator,
        "percent": percent(tally.value, denominator),
        "target": {"op": target.op, "percent": target.percent} if target else None,
        "met": target.met(tally.value, tally.denominator) if target else None,
        "unknown": tally.unknown if indicator.has_unknown else None,
        "breakdown": tally.values,
    }
    if indicator.ratio:
        item["denominatorBreakdown"] = tally.denominators
    if indicator.id == "abuse_cases_plan_in_time":
        item["details"] = {"inTime": tally.details.get("inTime", 0),
                           "late": tally.details.get("late", 0),
                           "noPlan": tally.details.get("noPlan", 0),
                           "deadlineDays": config.plan_deadline_days,
                           "codes": list(config.plan_codes)}
    return item


def criterion_6(figures: Figures) -> dict[str, Any]:
    """Child-friendly commune criterion 6 (QĐ 06/2019): the points each part earns."""
    config = figures.config
    parts = []
    for part in config.criterion_parts:
        tally = figures.tallies[part.indicator]
        met = part.target.met(tally.value, tally.denominator)
        earned = met if met is not None else config.points_when_no_cases
        parts.append({"id": part.id, "label_vi": part.label_vi, "label_en": part.label_en,
                      "indicator": part.indicator,
                      "target": {"op": part.target.op, "percent": part.target.percent},
                      "percent": percent(tally.value, tally.denominator), "met": met,
                      "noCases": met is None, "points": part.points if earned else 0,
                      "max": part.points})
    return {"criterion": 6, "points": sum(p["points"] for p in parts),
            "max": config.criterion_max, "parts": parts,
            "unverified": config.criterion_unverified}


REDACTED_NOTE = {
    "vi": "Bản lược bớt: không có chỉ tiêu về các nhóm hoàn cảnh nhạy cảm, không đếm các nhóm "
          "đó, và không chấm điểm tiêu chí 6 xã phù hợp với trẻ em.",
    "en": "Redacted: no indicator about sensitive categories, which are not counted either, "
          "and no child-friendly commune criterion 6 points.",
}


def document(context: ReportContext, figures: Figures) -> dict[str, Any]:
    config = figures.config
    period = context.period
    listed = [t for t in figures.tallies.values() if shown(t.indicator, context.redacted)]
    doc: dict[str, Any] = {
        "period": period.name, "from": period.first.isoformat(),
        "to": period.last.isoformat(), "redacted": context.redacted,
        "planDeadlineDays": config.plan_deadline_days,
        "planDeadlineUnverified": config.plan_deadline_unverified,
        "indicators": [_indicator_json(tally, config) for tally in listed],
        "notes": [REDACTED_NOTE] if context.redacted else [],
    }
    if not context.redacted:
        doc["childFriendly"] = criterion_6(figures)
    return doc


# --- the sheets -------------------------------------------------------------------------------

TEXT: dict[str, dict[str, str]] = {
    "vi": {"indicators": "Chỉ tiêu", "criterion": "Tiêu chí 6", "sex": "Theo giới tính",
           "ageGroup": "Theo nhóm tuổi", "category": "Theo nhóm HCĐB", "village": "Theo thôn",
           "care": "Theo hình thức chăm sóc", "id": "Mã", "label": "Chỉ tiêu",
           "value": "Số lượng", "denominator": "Mẫu số", "percent": "%", "unknown": "Chưa rõ",
           "target": "Mục tiêu", "met": "Đánh giá", "yes": "Đạt", "no": "Chưa đạt",
           "key": "Nhóm", "part": "Nội dung", "points": "Điểm", "max": "Điểm tối đa",
           "total": "Tổng", "no_cases": "Không có trường hợp", "period": "Kỳ báo cáo",
           "deadline": "Hạn phê duyệt kế hoạch (ngày, theo lịch)",
           "unverified": "Chưa kiểm chứng", "redacted": "Ghi chú"},
    "en": {"indicators": "Indicators", "criterion": "Criterion 6", "sex": "By sex",
           "ageGroup": "By age group", "category": "By category", "village": "By village",
           "care": "By care arrangement", "id": "Id", "label": "Indicator", "value": "Value",
           "denominator": "Denominator", "percent": "%", "unknown": "Unknown",
           "target": "Target", "met": "Assessment", "yes": "Met", "no": "Not met",
           "key": "Group", "part": "Part", "points": "Points", "max": "Maximum",
           "total": "Total", "no_cases": "No case", "period": "Period",
           "deadline": "Plan approval deadline (calendar days)", "unverified": "Unverified",
           "redacted": "Note"},
}
KEY_LABELS: dict[str, dict[str, tuple[str, str]]] = {
    "sex": {"M": ("Nam", "Male"), "F": ("Nữ", "Female"), "U": ("Không rõ", "Unknown")},
    "ageGroup": {"0-6": ("Dưới 6 tuổi", "Under 6"), "6-11": ("Từ 6 đến dưới 11", "6 to 10"),
                 "11-16": ("Từ 11 đến dưới 16", "11 to 15"),
                 "16-18": ("Từ 16 đến dưới 18", "16 and 17"),
                 "18+": ("Từ 18 trở lên", "18 and over"),
                 UNKNOWN: ("Không rõ ngày sinh", "Date of birth unknown")},
    "care": {"parents": ("Cha mẹ", "Parents"), "kin": ("Người thân thích", "Relatives"),
             "non_kin": ("Gia đình không phải người thân", "Non-relative family"),
             "adoption": ("Nhận con nuôi", "Adoption"),
             "facility": ("Cơ sở trợ giúp xã hội", "Social-assistance facility"),
             "none": ("Không có người chăm sóc", "No one"), UNKNOWN: ("Không rõ", "Unknown")},
}


def _label(figures: Figures, dim: str, key: str, language: str) -> str:
    english = language == "en"
    if dim == "category":
        category = default_catalogue().get(key)
        return category.label_en if english else category.label_vi
    if dim == "village":
        return figures.village_names.get(key, "")
    pair = KEY_LABELS.get(dim, {}).get(key)
    return (pair[1] if english else pair[0]) if pair else key


def _assessment(met: bool | None, text: Mapping[str, str]) -> str:
    return "" if met is None else text["yes" if met else "no"]


def _summary_sheet(items: Sequence[Mapping[str, Any]], config: Config, language: str) -> Sheet:
    text = TEXT[language]
    rows: list[list[Cell]] = []
    for item in items:
        target = config.targets.get(item["id"])
        rows.append([item["id"], item["label_en" if language == "en" else "label_vi"],
                     item["value"], item["denominator"], item["percent"], item["unknown"],
                     target.text() if target else "", _assessment(item["met"], text)])
    header = [text[n] for n in ("id", "label", "value", "denominator", "percent", "unknown",
                                "target", "met")]
    return Sheet(text["indicators"], header, rows, widths=(30, 60, 10, 10, 8, 10, 10, 12))


def _breakdown_sheet(figures: Figures, items: Sequence[Mapping[str, Any]], dim: str,
                     language: str) -> Sheet:
    """One row per key of `dim`, the indicators as columns (a % column after each share)."""
    text = TEXT[language]
    columns = [item for item in items if dim in item["breakdown"]]
    header = [text["key"], ""]
    for item in columns:
        label = item["label_en" if language == "en" else "label_vi"]
        header += [label, f"{label} (%)"] if item["denominator"] is not None else [label]
    keys = list(columns[0]["breakdown"][dim]) if columns else []
    for item in columns:
        keys += [k for k in item["breakdown"][dim] if k not in keys]
    rows: list[list[Cell]] = []
    for key in keys:
        row: list[Cell] = [key, _label(figures, dim, key, language)]
        for item in columns:
            value = item["breakdown"][dim].get(key, 0)
            row.append(value)
            if item["denominator"] is not None:
                row.append(percent(value, item["denominatorBreakdown"][dim].get(key, 0)))
        rows.append(row)
    return Sheet(text[dim], header, rows, widths=(14, 36, *([16] * (len(header) - 2))))


def _criterion_sheet(criterion: Mapping[str, Any], language: str) -> Sheet:
    text = TEXT[language]
    rows: list[list[Cell]] = []
    for part in criterion["parts"]:
        target = Target(part["target"]["op"], part["target"]["percent"])
        assessment = text["no_cases"] if part["noCases"] else _assessment(part["met"], text)
        rows.append([part["label_en" if language == "en" else "label_vi"], part["indicator"],
                     part["percent"], target.text(), assessment, part["points"], part["max"]])
    rows.append([text["total"], "", None, "", "", criterion["points"], criterion["max"]])
    header = [text[n] for n in ("part", "id", "percent", "target", "met", "points", "max")]
    return Sheet(text["criterion"], header, rows, widths=(70, 28, 8, 10, 20, 8, 12))


def sheets(context: ReportContext, figures: Figures, doc: Mapping[str, Any]) -> list[Sheet]:
    language = "en" if context.language == "en" else "vi"
    items = doc["indicators"]
    result = [_summary_sheet(items, figures.config, language)]
    result += [_breakdown_sheet(figures, items, dim, language)
               for dim in ("sex", "ageGroup", "category", "village", "care")]
    if "childFriendly" in doc:
        result.append(_criterion_sheet(doc["childFriendly"], language))
    return result


def _about(context: ReportContext, config: Config) -> list[tuple[str, Cell]]:
    text = TEXT["en" if context.language == "en" else "vi"]
    about: list[tuple[str, Cell]] = [
        (text["period"], f"{context.period.name} ({context.period.first.isoformat()} – "
                         f"{context.period.last.isoformat()})"),
        (text["deadline"], config.plan_deadline_days),
        (text["unverified"], config.plan_deadline_unverified)]
    if context.redacted:
        about.append((text["redacted"], REDACTED_NOTE["en" if context.language == "en"
                                                      else "vi"]))
    return about


@report("indicators")
def build(context: ReportContext) -> ReportResult:
    """The indicator sheet of `context.period` as the caller may see it."""
    config = load_config()
    figures = compute(context, config)
    doc = document(context, figures)
    return ReportResult("indicators", doc, sheets(context, figures, doc),
                        rows=len(doc["indicators"]), about=_about(context, config))
