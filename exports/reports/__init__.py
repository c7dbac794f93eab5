"""The officers' reports (docs/reports.md): one module per report, one shape for all.

Each report is a function `build(context) -> ReportResult` registered in `REPORTS` under its
name (`new-children`, `by-category`, `indicators`, `national`, `data-quality`, `audit`). The
result carries both forms of the same figures — the JSON document the API answers and the
sheets of the XLSX file — so the API, the CLI (`diemtua report`) and the pages never compute a
report twice or differently. `ReportContext` says whose report it is: the caller's
`RegistryAccess` decides which children and categories it counts (docs/access.md), `redacted`
whether sensitive categories were left out.

Plain Python over a database session (opened with `Database.read_snapshot()`), no Flask.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy.orm import Session

from exports.periods import Period
from exports.xlsx_book import Cell, Sheet
from server.auth.principal import Principal
from server.registry.access import RegistryAccess
from server.registry.children_query import ChildFilters


@dataclass(frozen=True)
class ReportContext:
    """Whose report, over what: the caller's view of one commune's registry."""

    session: Session
    project_id: int
    project_name: str
    principal: Principal
    access: RegistryAccess
    redacted: bool  # sensitive categories are absent for this caller
    period: Period
    today: date  # Vietnamese calendar day the report is made on (ages are counted on it)
    now: datetime  # naive UTC, when it was made
    language: str = "vi"  # labels in sheets: "vi" or "en"
    filters: ChildFilters = field(default_factory=ChildFilters)
    base_url: str = ""  # the API's public base, for links to children and submissions


@dataclass
class ReportResult:
    """A report in its two forms: the JSON document and the XLSX sheets (after "Thông tin")."""

    name: str
    document: dict[str, Any]
    sheets: list[Sheet]
    rows: int  # how many rows (children, cases…) it lists, for the audit row
    about: list[tuple[str, Cell]] = field(default_factory=list)  # extra lines for "Thông tin"


Builder = Callable[[ReportContext], ReportResult]
REPORTS: dict[str, Builder] = {}


class UnknownReport(LookupError):
    """No report of that name."""


def report(name: str) -> Callable[[Builder], Builder]:
    """Register a report builder under `name`."""
    def register(builder: Builder) -> Builder:
        REPORTS[name] = builder
        return builder
    return register


def build_report(name: str, context: ReportContext) -> ReportResult:
    _load_all()
    try:
        builder = REPORTS[name]
    except KeyError:
        raise UnknownReport(name) from None
    return builder(context)


def report_names() -> list[str]:
    _load_all()
    return list(REPORTS)


def _load_all() -> None:
    """Import the report modules (each registers itself) on first use."""
    from exports.reports import (  # noqa: F401
        audit_report,
        by_category,
        data_quality,
        indicators,
        national,
        new_children,
    )
