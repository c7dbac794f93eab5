"""`by-category`: the master list of the commune's children by special-circumstance group
(docs/reports.md §2).

One sheet per category in the catalogue's order — the Article 10 groups of the Law on
Children in the law's order (a, b, c, d, đ, e, g, h, i, k, l, m, n, o), then the commune plan's
markers (PLAN-*), RISK and AGEOUT-16-22 — each listing the children with an open (provisional
or confirmed) episode of it: code, name, sex, age, village, who cares for the child, the
support it receives, the episode's status and since when. A first sheet, "Tổng hợp", counts
them per category and village, with the number of distinct children in an Article 10 group.

It is the registry as it stands when the report is made: the period only names the report.
For a redacted caller the sensitive categories (docs/privacy.md §4) have no sheet, no line in
the summary and no mention anywhere — absent, not masked.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from exports.periods import vietnam_day
from exports.registry_rows import ChildRow, EpisodeRow, iter_child_rows, village_names
from exports.reports import ReportContext, ReportResult, report
from exports.reports.presentation import (
    CHILD_COLUMNS,
    NO_VILLAGE,
    Column,
    Item,
    care_label,
    category_label,
    child_item,
    episode_status,
    say,
    shows_code,
    support_labels,
    table_sheet,
)
from exports.xlsx_book import Sheet
from sync.categories import Category, default_catalogue

NAME = "by-category"
COLUMNS = (*CHILD_COLUMNS,
           Column("subgroup", "Nhóm nhỏ (NĐ 56)", "Sub-group (Decree 56)", 30),
           Column("care", "Người chăm sóc", "Care arrangement", 22),
           Column("support", "Hỗ trợ đang nhận", "Support received", 36),
           Column("status", "Tình trạng", "Status", 14),
           Column("since", "Từ ngày", "Since", 12))
TOTAL = ("Tổng", "Total")
SHEET_NAME_LIMIT = 31
DISTINCT = ("Số trẻ có ít nhất một nhóm HCĐB (Điều 10)",
            "Children in at least one Article 10 group")


def shown_categories(context: ReportContext) -> list[Category]:
    """The categories this report has a sheet for, in catalogue (legal) order."""
    return [c for c in default_catalogue() if c.active and shows_code(context, c.code)]


def sheet_name(context: ReportContext, category: Category) -> str:
    """`HCDB-A Trẻ em mồ côi cả cha và mẹ`, cut at a word to Excel's 31 characters."""
    text = f"{category.code} {category_label(context, category.code)}"
    if len(text) <= SHEET_NAME_LIMIT:
        return text
    cut = text[:SHEET_NAME_LIMIT + 1]
    return cut[:cut.rfind(" ")].rstrip(" ,(/-")


def _subgroup(context: ReportContext, category: Category, episode: EpisodeRow) -> str:
    sub = category.subcode(episode.subcode) if episode.subcode else None
    if sub is None:
        return episode.subcode or ""
    return f"{sub.code} {say(context, sub.label_vi, sub.label_en)}"


def _item(context: ReportContext, row: ChildRow, category: Category, episode: EpisodeRow
          ) -> Item:
    return {**child_item(context, row), "subgroup": _subgroup(context, category, episode),
            "subcode": episode.subcode, "care": care_label(context, row.care_arrangement),
            "careCode": row.care_arrangement,
            "support": support_labels(context, row.support), "supportCodes": list(row.support),
            "status": episode_status(context, episode.status), "statusCode": episode.status,
            "since": vietnam_day(episode.opened_at)}


def _villages(context: ReportContext, counted: set[str]) -> list[tuple[str, str]]:
    """(code, name) of the villages the caller sees, and of any other village a child it
    sees lives in (none for a limited caller); children without a village last."""
    names = village_names(context.session, context.project_id)
    codes = {code for code in names if context.access.sees_child(code)} | counted
    ordered = sorted(code for code in codes if code)
    villages = [(code, names.get(code, code)) for code in ordered]
    if "" in counted:
        villages.append(("", say(context, *NO_VILLAGE)))
    return villages


def _summary_sheet(context: ReportContext, villages: list[tuple[str, str]],
                   lines: list[dict[str, Any]]) -> Sheet:
    header = [say(context, "Mã nhóm", "Code"), say(context, "Nhóm hoàn cảnh", "Category"),
              *(name for _, name in villages), say(context, *TOTAL)]
    rows = [[line["code"], line["label"], *(line["counts"].get(code, 0) for code, _ in villages),
             line["total"]] for line in lines]
    return Sheet(say(context, "Tổng hợp", "Summary"), header, rows,
                 widths=(14, 44, *(12 for _ in villages), 10))


@report(NAME)
def build(context: ReportContext) -> ReportResult:
    categories = shown_categories(context)
    wanted = {c.code: c for c in categories}
    items: dict[str, list[Item]] = {c.code: [] for c in categories}
    counts: dict[str, Counter[str]] = {c.code: Counter() for c in categories}
    distinct: Counter[str] = Counter()
    for row in iter_child_rows(context.session, context.project_id, context.access,
                               context.filters, context.today):
        article10 = False
        for episode in row.open_episodes:
            category = wanted.get(episode.code)
            if category is None:
                continue
            items[category.code].append(_item(context, row, category, episode))
            counts[category.code][row.village_code] += 1
            article10 = article10 or category.is_article10
        if article10:
            distinct[row.village_code] += 1
    villages = _villages(context, {code for counter in counts.values() for code in counter})
    lines = [{"code": c.code, "label": category_label(context, c.code), "group": c.group.value,
              "counts": dict(counts[c.code]), "total": sum(counts[c.code].values())}
             for c in categories]
    lines.append({"code": "", "label": say(context, *DISTINCT), "group": "",
                  "counts": dict(distinct), "total": sum(distinct.values())})
    sheets = [_summary_sheet(context, villages, lines)]
    sheets += [table_sheet(context, sheet_name(context, c), COLUMNS, items[c.code])
               for c in categories]
    document = {
        "villages": [{"code": code, "name": name} for code, name in villages],
        "summary": lines,
        "categories": [{"code": c.code, "label": category_label(context, c.code),
                        "group": c.group.value, "article10Point": c.article10_point,
                        "children": items[c.code]} for c in categories],
    }
    return ReportResult(NAME, document, sheets, rows=sum(len(v) for v in items.values()))
