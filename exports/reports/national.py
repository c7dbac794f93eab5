"""`national`: the commune's list for the national child-information system (docs/reports.md §2).

The official template — the annex of Ministry of Health Decision 3978/QĐ-BYT — was not
obtained, so the columns are data, not code: `exports/national_layout.json` names each column
(its id, its headers in Vietnamese and English) and where its value comes from, a field of the
registry's child row (`exports.registry_rows.ChildRow`) or one of the small set of computed
values below (`COMPUTED`). Mapping the ministry's template later is an edit of that file; the
layout is checked when it is read, so a misspelt source fails at once, naming the column,
instead of exporting an empty column. The file also says which children are listed
(`children`: `article10`, the children in special circumstances, or `all`).

Personal IDs are written as text (leading zeros kept). A redacted caller's list leaves out
sensitive categories, and with `children: article10` the children whose only Article 10
groups are sensitive.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, fields
from functools import cache
from pathlib import Path
from typing import Any

from sqlalchemy import select

from exports.periods import vietnam_day, vietnam_time
from exports.registry_rows import ChildRow, EpisodeRow, iter_child_rows
from exports.reports import ReportContext, ReportResult, report
from exports.reports.presentation import (
    Column,
    Item,
    care_label,
    category_label,
    open_episodes,
    say,
    sex_label,
    support_labels,
    table_sheet,
)
from exports.xlsx_book import Cell
from server.models import Project
from server.registry.access import category_of

NAME = "national"
LAYOUT_FILE = Path(__file__).resolve().parent.parent / "national_layout.json"
COMPUTED_PREFIX = "computed:"
CHILDREN_CHOICES = ("article10", "all")
# ChildRow fields that are not one value each.
_NOT_COLUMNS = {"episodes", "flags"}


class LayoutInvalid(ValueError):
    """`national_layout.json` names a source, or a choice, this module does not know."""


def _is_article10(code: str) -> bool:
    category = category_of(code)
    return category is not None and category.is_article10


def _point(code: str) -> str:
    category = category_of(code)
    return (category.article10_point if category else None) or ""


@dataclass(frozen=True)
class Facts:
    """What the computed sources are made of, for one child."""

    row: ChildRow
    context: ReportContext
    commune_code: str

    def article10(self) -> list[EpisodeRow]:
        return [e for e in open_episodes(self.context, self.row) if _is_article10(e.code)]

    def others(self) -> list[str]:
        return [e.code for e in open_episodes(self.context, self.row)
                if not _is_article10(e.code)]


def _since(facts: Facts) -> Any:
    opened = [episode.opened_at for episode in facts.article10()]
    return vietnam_day(min(opened)) if opened else None


COMPUTED: dict[str, Callable[[Facts], Any]] = {
    "code": lambda f: f.row.code,
    "age": lambda f: f.row.age_on(f.context.today),
    "sex_label": lambda f: sex_label(f.context, f.row.sex),
    "commune_code": lambda f: f.commune_code,
    "commune_name": lambda f: f.context.project_name,
    "article10_codes": lambda f: [e.code for e in f.article10()],
    "article10_points": lambda f: [_point(e.code) for e in f.article10()],
    "article10_labels": lambda f: [category_label(f.context, e.code) for e in f.article10()],
    "article10_since": _since,
    "other_codes": lambda f: f.others(),
    "care_label": lambda f: care_label(f.context, f.row.care_arrangement),
    "support_labels": lambda f: support_labels(f.context, f.row.support),
}
ROW_FIELDS = frozenset(field.name for field in fields(ChildRow)) - _NOT_COLUMNS


@dataclass(frozen=True)
class LayoutColumn:
    id: str
    header_vi: str
    header_en: str
    source: str

    def value(self, facts: Facts) -> Any:
        if self.source.startswith(COMPUTED_PREFIX):
            return COMPUTED[self.source[len(COMPUTED_PREFIX):]](facts)
        value = getattr(facts.row, self.source)
        if isinstance(value, tuple):
            return list(value)
        return vietnam_time(value) if self.source == "first_reported_at" else value


@dataclass(frozen=True)
class Layout:
    columns: tuple[LayoutColumn, ...]
    children: str
    about_vi: str
    about_en: str


def _column(data: Any, number: int) -> LayoutColumn:
    where = f"national_layout.json columns[{number}]"
    if not isinstance(data, dict):
        raise LayoutInvalid(f"{where}: not an object")
    try:
        column = LayoutColumn(*(str(data[key]) for key in ("id", "header_vi", "header_en",
                                                             "source")))
    except KeyError as missing:
        raise LayoutInvalid(f"{where}: {missing} is missing") from None
    source = column.source
    known = (source[len(COMPUTED_PREFIX):] in COMPUTED if source.startswith(COMPUTED_PREFIX)
             else source in ROW_FIELDS)
    if not known:
        raise LayoutInvalid(f"{where} ({column.id}): unknown source {source!r}")
    return column


def parse_layout(data: Any) -> Layout:
    """A layout from the file's JSON; `LayoutInvalid` names what is wrong."""
    if not isinstance(data, dict) or not isinstance(data.get("columns"), list):
        raise LayoutInvalid("national_layout.json: expected an object with a `columns` list")
    columns = tuple(_column(item, n) for n, item in enumerate(data["columns"]))
    ids = [column.id for column in columns]
    if len(set(ids)) != len(ids):
        raise LayoutInvalid("national_layout.json: two columns share an id")
    children = data.get("children", "article10")
    if children not in CHILDREN_CHOICES:
        raise LayoutInvalid(f"national_layout.json: children must be one of {CHILDREN_CHOICES}")
    return Layout(columns, children, str(data.get("about_vi", "")),
                  str(data.get("about_en", "")))


@cache
def default_layout() -> Layout:
    return parse_layout(json.loads(LAYOUT_FILE.read_text(encoding="utf-8")))


def _item(layout: Layout, facts: Facts) -> Item:
    return {column.id: column.value(facts) for column in layout.columns}


def build_with(context: ReportContext, layout: Layout) -> ReportResult:
    """The report under a given layout (the registered report uses the file's)."""
    commune_code = context.session.scalar(
        select(Project.commune_code).where(Project.id == context.project_id)) or ""
    items = []
    for row in iter_child_rows(context.session, context.project_id, context.access,
                               context.filters, context.today):
        facts = Facts(row, context, commune_code)
        if layout.children == "all" or facts.article10():
            items.append(_item(layout, facts))
    columns = [Column(c.id, c.header_vi, c.header_en, 18) for c in layout.columns]
    document = {"columns": [{"id": c.id, "header": say(context, c.header_vi, c.header_en),
                             "source": c.source} for c in layout.columns],
                "children": items}
    sheet = table_sheet(context, say(context, "Danh sách", "List"), columns, items)
    about: list[tuple[str, Cell]] = [
        (say(context, "Mẫu biểu", "Template"), say(context, layout.about_vi, layout.about_en))]
    return ReportResult(NAME, document, [sheet], rows=len(items), about=about)


@report(NAME)
def build(context: ReportContext) -> ReportResult:
    return build_with(context, default_layout())
