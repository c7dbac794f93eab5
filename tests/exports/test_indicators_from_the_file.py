"""The indicator sheet agrees with the children export *file* an officer downloads.

On the demo commune (synthetic households sent through the phones' path, then synced), the
full children export is written as an XLSX workbook and read back with openpyxl, and the
current quarter's headline figures are counted again from its cells alone — the columns a
person would filter in Excel: vital status, date of birth, sex, village, the Article 10
categories' status columns and "Support received". Each must equal the report's figure
(docs/reports.md §3). The current quarter is used because the file shows the registry as it is
today, and nothing can yet have changed between today and the quarter's end.
"""

from __future__ import annotations

import io
from collections import Counter
from datetime import date, datetime
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from exports import children_export as export
from exports.periods import current_quarter
from exports.registry_rows import iter_child_rows
from exports.reports import ReportContext, build_report
from server.auth.principal import Principal
from server.demo import DEMO_PROJECT
from server.models import Project
from server.registry.access import RegistryAccess
from server.registry.ageing import earliest_birthday
from server.registry.children_query import VIETNAM, ChildFilters
from server.registry.sync import sync_pending
from server.services import Services
from sync.categories import default_catalogue
from sync.categories.age import completed_years
from tests.registry.helpers import load_households

HOUSEHOLDS = 120
OPEN = {"Provisional", "Confirmed"}
NOTHING_RECEIVED = {"None", "Don't know"}


@pytest.fixture
def demo(services: Services) -> int:
    load_households(services, HOUSEHOLDS)
    sync_pending(services.database.sessions)
    with services.database.unit_of_work() as db:
        return db.scalars(select(Project.id).where(Project.name == DEMO_PROJECT)).one()


def _workbook_rows(services: Services, project_id: int, today: date) -> list[dict[str, Any]]:
    access = RegistryAccess.operator()
    layout = export.ChildrenLayout.for_caller(access, "en", today)
    about = export.About("demo", "test", datetime(2026, 12, 4), ChildFilters(), False)
    target = io.BytesIO()
    with services.database.read_snapshot() as session:
        export.write_xlsx(target, iter_child_rows(session, project_id, access, today=today),
                          layout, about)
    sheet = load_workbook(io.BytesIO(target.getvalue()), read_only=True)["Children"]
    header, *rows = list(sheet.iter_rows(values_only=True))
    return [dict(zip(header, row, strict=True)) for row in rows]


def _born(cell: Any) -> date | None:
    if isinstance(cell, datetime):
        return cell.date()
    return earliest_birthday(str(cell)) if cell else None


def _recount(rows: list[dict[str, Any]], last_day: date) -> dict[str, Any]:
    article10 = [f"{c.code} {c.label_en}" for c in default_catalogue() if c.is_article10]
    population = special = supported = unknown = 0
    by_village: Counter[str] = Counter()
    by_sex: Counter[str] = Counter()
    for row in rows:
        born = _born(row["Date of birth"])
        if row["Vital status"] != "Living here":
            continue
        if born is not None and (born > last_day or completed_years(born, last_day) >= 16):
            continue
        population += 1
        if not any(row.get(title) in OPEN for title in article10):
            continue
        special += 1
        by_village[row["Village code"]] += 1
        by_sex[row["Sex"]] += 1
        support = set(filter(None, (row["Support received"] or "").split(", ")))
        if support - NOTHING_RECEIVED:
            supported += 1
        elif not support or support == {"Don't know"}:
            unknown += 1
    return {"population": population, "special": special, "supported": supported,
            "unknown": unknown, "village": by_village, "sex": by_sex}


def test_the_headline_indicators_equal_a_recount_of_the_downloaded_file(
        services: Services, demo: int) -> None:
    now = datetime.now(VIETNAM)
    period = current_quarter(now)
    rows = _workbook_rows(services, demo, now.date())
    expected = _recount(rows, period.last)
    assert expected["special"] > 10, expected  # the demo has children in special circumstances
    assert expected["supported"] and len(expected["village"]) > 2
    with services.database.read_snapshot() as session:
        document = build_report("indicators", ReportContext(
            session=session, project_id=demo, project_name="demo", principal=Principal(),
            access=RegistryAccess.operator(), redacted=False, period=period,
            today=now.date(), now=datetime(2026, 12, 4), language="en")).document
    figures = {item["id"]: item for item in document["indicators"]}
    assert figures["child_population"]["value"] == expected["population"]
    assert figures["special_circumstances"]["value"] == expected["special"]
    assert figures["special_supported"]["value"] == expected["supported"]
    assert figures["special_supported"]["unknown"] == expected["unknown"]
    by_village = figures["special_circumstances"]["breakdown"]["village"]
    assert {k: v for k, v in by_village.items() if v} == dict(expected["village"])
    sexes = {"M": "Male", "F": "Female", "U": "Unknown"}
    by_sex = figures["special_circumstances"]["breakdown"]["sex"]
    assert {sexes[k]: v for k, v in by_sex.items() if v} == dict(expected["sex"])
