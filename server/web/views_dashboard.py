"""The commune's overview (Tổng quan), where officers land after signing in.

Every number on it is a count of the children list for some filters, made with the list's own
query (`server.registry.children_query`), and links to that list: the officer who doubts a
figure opens exactly the children it counts. The caller's `RegistryAccess` limits every count
to its villages and to the categories it may read, so a category hidden from the caller is
neither counted nor named.

Beside the counts: the indicator sheet of the chosen period (`exports.reports`, "indicators",
docs/reports.md §3) with its targets, and three charts drawn on the server
(`server.web.charts`). The counts never depend on the report: when it cannot be made, the page
says so and shows the rest.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from flask import render_template, request, url_for
from flask.typing import ResponseReturnValue
from markupsafe import Markup
from sqlalchemy import func
from sqlalchemy.orm import Session

from exports.children_export import is_redacted
from exports.periods import InvalidPeriod, Period, current_quarter, parse_period
from exports.reports import ReportContext, build_report
from server.auth.principal import Principal
from server.context import api_base, db, services
from server.db import utcnow
from server.models import Child, Project, Village
from server.registry.access import RegistryAccess
from server.registry.children_query import (
    AGE_GROUPS,
    SEXES,
    SUPPORT_VALUES,
    VIETNAM,
    children_query,
    parse_filters,
)
from server.route_access import caller
from server.web import blueprint, error_page, queries
from server.web.charts import Series, bar_chart, percent
from server.web.format import category_label, coded, sex
from server.web.i18n import language, t
from sync.categories import default_catalogue

logger = logging.getLogger(__name__)


# --- figures: a count and the list it counts ----------------------------------------------------


@dataclass(frozen=True)
class Figure:
    """How many children the list shows for `params`, and the address of that list."""

    value: int
    href: str


@dataclass
class Counts:
    """Counts of one commune's children list, as one caller sees it, on one day."""

    session: Session
    project_id: int
    access: RegistryAccess
    today: date

    def figure(self, **params: str) -> Figure:
        """The list's row count for these query parameters, and the list's address."""
        query = children_query(self.project_id, self.access, parse_filters(params), self.today)
        return Figure(queries.count(self.session, query), self._href(params))

    def by_village(self, villages: list[Village], **params: str
                   ) -> tuple[dict[str, Figure], Figure]:
        """The same count in each village, each linked with `village`, and in all (children
        of no known village included): one grouped query."""
        query = children_query(self.project_id, self.access, parse_filters(params), self.today)
        counted: dict[str | None, int] = dict(self.session.execute(
            query.with_only_columns(Child.village_code, func.count())
            .group_by(Child.village_code).order_by(None)).all())
        return ({v.code: Figure(counted.get(v.code, 0),
                                self._href({**params, "village": v.code})) for v in villages},
                Figure(sum(counted.values()), self._href(params)))

    def _href(self, params: Mapping[str, Any]) -> str:
        return url_for("web.children", project_id=self.project_id, **params)


@dataclass(frozen=True)
class CategoryRow:
    code: str
    label: str
    by_village: dict[str, Figure]
    total: Figure


@dataclass(frozen=True)
class Breakdown:
    """Children in special circumstances split one way (sex, age group, support)."""

    key: str  # i18n key of its title
    parts: list[tuple[str, Figure]]  # (label, figure)


def category_rows(counts: Counts, villages: list[Village], codes: list[str]
                  ) -> tuple[list[CategoryRow], list[CategoryRow]]:
    """Per visible category, its children in each village: Article 10 groups first (legal
    order), then the plan's other markers."""
    article10 = {c.code for c in default_catalogue() if c.is_article10}
    rows = [CategoryRow(code, category_label(code), *counts.by_village(villages, category=code))
            for code in codes]
    return ([row for row in rows if row.code in article10],
            [row for row in rows if row.code not in article10])


def breakdowns(counts: Counts) -> list[Breakdown]:
    special = {"special": "true"}
    return [
        Breakdown("dashboard.by_sex", [
            (sex(code), counts.figure(**special, sex=code)) for code in SEXES]),
        Breakdown("dashboard.by_age", [
            (coded("age", group), counts.figure(**special, ageGroup=group))
            for group in AGE_GROUPS]),
        Breakdown("dashboard.by_support", [
            (coded("support", value), counts.figure(**special, support=value))
            for value in SUPPORT_VALUES]),
    ]


# --- the period ---------------------------------------------------------------------------------


def chosen_period(now: datetime) -> Period:
    """`?period=` (2026-Q4, 2026-H2, 2026), by default the quarter of today."""
    asked = request.args.get("period", "")
    return parse_period(asked) if asked else current_quarter(now)


def period_choices(now: datetime) -> list[tuple[str, str]]:
    """This year's and last year's quarters, halves and years, newest year first."""
    year = now.astimezone(VIETNAM).year
    choices = []
    for one in (year, year - 1):
        names = [*(f"{one}-Q{q}" for q in range(1, 5)), f"{one}-H1", f"{one}-H2", str(one)]
        choices += [(name, period_label(parse_period(name))) for name in names]
    return choices


def period_label(period: Period) -> str:
    """"Quý 4/2026", "6 tháng cuối năm 2026", "Năm 2026"."""
    year, _, part = period.name.partition("-")
    if not part:
        return t("period.year", year=year)
    if part.startswith("Q"):
        return t("period.quarter", quarter=part[1], year=year)
    return t(f"period.half{part[1]}", year=year)


@blueprint.errorhandler(InvalidPeriod)
def _invalid_period(_error: InvalidPeriod) -> ResponseReturnValue:
    return error_page(400, "error.400", t("period.invalid"))


# --- indicators -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Indicator:
    """One line of the indicator sheet, as the page shows it."""

    id: str
    label: str
    value: int
    denominator: int | None
    percent: float | None
    target: float | None  # the target percentage
    target_text: str  # "> 95 %", "≥ 100 %", or "" without a target
    met: bool | None
    unknown: int | None
    breakdown: list[tuple[str, list[tuple[str, int, int | None]]]] = field(
        default_factory=list)  # (dimension, [(key's label, value, denominator)])


def indicator_sheet(project: Project, who: Principal, access: RegistryAccess, period: Period,
                    now: datetime) -> dict[str, Any] | None:
    """The indicator report's JSON document, or None when it cannot be made: the page then
    says so and still shows its counts (the report is another module's work, and a failure
    there must not hide the registry)."""
    try:
        with services().database.read_snapshot() as session:
            context = ReportContext(
                session=session, project_id=project.id, project_name=project.name,
                principal=who, access=access, redacted=is_redacted(access), period=period,
                today=now.astimezone(VIETNAM).date(), now=utcnow(), language=language(),
                base_url=api_base())
            return build_report("indicators", context).document
    except Exception as error:  # any failure of the report leaves the counts shown
        # The type only: a message could quote a row's values.
        logger.warning("the dashboard's indicator sheet could not be made: %s",
                       type(error).__name__)
        return None


_DIMENSIONS = ("sex", "ageGroup", "category", "village", "care")


def _breakdown_label(dimension: str, key: str, village_names: Mapping[str, str]) -> str:
    if dimension == "sex":
        return sex(key)
    if dimension == "category":
        return f"{key} – {category_label(key)}"
    if dimension == "village":
        return village_names.get(key, t("common.unknown_village") if key == "unknown" else key)
    return coded({"ageGroup": "age", "care": "care"}[dimension], key)


def _target_text(target: Mapping[str, Any] | None) -> str:
    if not target:
        return ""
    op = "≥" if target.get("op") == ">=" else ">"
    return f"{op} {percent(target.get('percent'))}"


def indicators(document: Mapping[str, Any], codes: list[str],
               village_names: Mapping[str, str]) -> list[Indicator]:
    """The report's indicators in the page's language. A breakdown names only categories and
    villages the caller may see, whatever the report holds."""
    seen = {"category": set(codes), "village": {*village_names, "unknown"}}
    shown = []
    for item in document.get("indicators", []):
        parts = []
        for dimension in _DIMENSIONS:
            values = (item.get("breakdown") or {}).get(dimension) or {}
            over = (item.get("denominatorBreakdown") or {}).get(dimension) or {}
            lines = [(_breakdown_label(dimension, key, village_names), value, over.get(key))
                     for key, value in values.items()
                     if key in seen.get(dimension, {key}) and (value or over.get(key))]
            if lines:
                parts.append((t(f"dashboard.breakdown.{dimension}"), lines))
        target = item.get("target") or None
        shown.append(Indicator(
            id=str(item.get("id", "")),
            label=str(item.get("label_vi" if language() == "vi" else "label_en", "")),
            value=item.get("value") or 0, denominator=item.get("denominator"),
            percent=item.get("percent"), target=target.get("percent") if target else None,
            target_text=_target_text(target), met=item.get("met"),
            unknown=item.get("unknown"), breakdown=parts))
    return shown


def sheet_notes(document: Mapping[str, Any] | None) -> list[str]:
    """The report's notes (what a redacted sheet leaves out) in the page's language."""
    return [str(note.get(language(), "")) for note in (document or {}).get("notes", [])
            if isinstance(note, Mapping)]


# --- charts ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Chart:
    id: str
    title: str
    note: str  # where the same figures are on the page, in words
    svg: Markup


def _chart(chart_id: str, title_key: str, note_key: str, labels: list[str],
           series: list[Series], **options: Any) -> Chart:
    title = t(title_key)
    return Chart(chart_id, title, t(note_key),
                 bar_chart(chart_id, title, labels, series, **options))


def charts(rows: list[CategoryRow], villages: list[Village], by_village: dict[str, Figure],
           sheet: list[Indicator]) -> list[Chart]:
    """Children by category and by village (each bar a link), and the indicators against
    their targets when the sheet has any."""
    drawn = [
        _chart("chart-category", "dashboard.chart_category", "dashboard.chart_note",
               [r.label for r in rows], [Series(t("dashboard.children"),
                                                [r.total.value for r in rows],
                                                [r.total.href for r in rows])]),
        _chart("chart-village", "dashboard.chart_village", "dashboard.chart_note",
               [v.name for v in villages], [Series(t("dashboard.children"),
                                                   [by_village[v.code].value for v in villages],
                                                   [by_village[v.code].href for v in villages])]),
    ]
    targeted = [i for i in sheet if i.target is not None and i.percent is not None]
    if targeted:
        drawn.append(_chart(
            "chart-targets", "dashboard.chart_targets", "dashboard.chart_targets_note",
            [i.label for i in targeted],
            [Series(t("dashboard.achieved"), [i.percent for i in targeted]),
             Series(t("dashboard.target"), [i.target for i in targeted])],
            formatter=percent, maximum=100))
    return drawn


# --- the page -------------------------------------------------------------------------------------


@blueprint.get("/ui/p/<int:project_id>/dashboard")
def dashboard(project_id: int) -> ResponseReturnValue:
    who, access = caller(project_id)
    now = datetime.now(VIETNAM)
    period = chosen_period(now)
    project = db().get_one(Project, project_id)
    villages = queries.villages(db(), project_id, access)
    village_names = {v.code: v.name for v in villages}
    codes = queries.filter_codes(access)
    counts = Counts(db(), project_id, access, now.date())
    article10, others = category_rows(counts, villages, codes)
    special_by_village, special_total = counts.by_village(villages, special="true")
    in_period = {"reportedFrom": period.first.isoformat(),
                 "reportedTo": period.last.isoformat()}
    totals = [
        ("total-children", "dashboard.total_children", counts.figure()),
        ("total-special", "dashboard.total_special", special_total),
        ("total-new", "dashboard.total_new", counts.figure(**in_period)),
        ("total-new-special", "dashboard.total_new_special",
         counts.figure(special="true", **in_period)),
        ("total-flagged", "dashboard.total_flagged", counts.figure(flag="true")),
    ]
    # The indicator sheet as the report gives it (docs/reports.md §5: full or redacted all
    # through); the counts above are the children pages' own, so every link opens them.
    document = indicator_sheet(project, who, access.for_outputs(), period, now)
    sheet = indicators(document, codes, village_names) if document is not None else []
    return render_template(
        "web/dashboard.html", project=project, period=period, period_label=period_label(period),
        periods=period_choices(now), villages=villages, totals=totals, article10=article10,
        others=others, special_by_village=special_by_village,
        special_total=special_total, breakdowns=breakdowns(counts),
        sheet=sheet, sheet_failed=document is None, notes=sheet_notes(document),
        criterion=(document or {}).get("childFriendly"),
        charts=charts(article10, villages, special_by_village, sheet))
