"""`diemtua report NAME --project ID --out FILE`: an officer's report as a file (docs/reports.md).

The same reports as `GET /v1/projects/{id}/registry/reports/{name}` (`exports.reports`), as
JSON or XLSX by FILE's extension. The command runs on the server as its operator, who reads
the whole registry: the report is full, unless `--redacted` asks for what a role without
`registry.read_sensitive` gets (no sensitive category anywhere; no `audit` report).

It reads one consistent registry (`Database.read_snapshot`), writes the file beside FILE,
records the export (`registry.export`, `via: cli`, the system account), and only once that
row is committed puts the file in place: no report leaves the server unrecorded.
"""

from __future__ import annotations

import json
import os
from datetime import datetime
from pathlib import Path
from typing import Any

import click

from exports.periods import InvalidPeriod, Period, current_quarter, parse_period
from exports.reports import ReportContext, ReportResult, build_report, report_names
from exports.reports.audit_report import AuditReportRefused
from exports.reports.presentation import LANGUAGES, envelope, write_xlsx
from server.auth.principal import Principal
from server.cli_audit import cli_audit
from server.config import load_settings
from server.db import utcnow
from server.models import Project
from server.registry.access import RegistryAccess
from server.registry.children_query import (
    VIETNAM,
    ChildFilters,
    InvalidFilter,
    parse_filters,
)
from server.services import Services

FORMATS = {".json": "json", ".xlsx": "xlsx"}


def _format(out: Path) -> str:
    try:
        return FORMATS[out.suffix.lower()]
    except KeyError:
        raise click.BadParameter("the file must end in .json or .xlsx",
                                 param_hint="--out") from None


def _period(text: str | None) -> Period:
    try:
        return parse_period(text) if text else current_quarter()
    except InvalidPeriod as exc:
        raise click.BadParameter(str(exc), param_hint="--period") from None


def _filters(pairs: tuple[str, ...]) -> ChildFilters:
    values: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep:
            raise click.BadParameter(f"{pair!r}: write name=value", param_hint="--filter")
        values[name.strip()] = value.strip()
    try:
        return parse_filters(values)
    except InvalidFilter as exc:
        raise click.BadParameter(f"{exc.name}: {exc.reason}", param_hint="--filter") from None


def _write(out: Path, fmt: str, context: ReportContext, result: ReportResult) -> None:
    if fmt == "json":
        out.write_text(json.dumps(envelope(context, result), ensure_ascii=False, indent=1),
                       encoding="utf-8")
    else:
        write_xlsx(out, context, result, via="cli")


def _details(context: ReportContext, result: ReportResult, fmt: str, out: Path
             ) -> dict[str, Any]:
    """What `record_registry_export` records for the API, and where the file went."""
    return {"projectId": context.project_id, "export": f"report:{result.name}", "format": fmt,
            "rows": result.rows, "redacted": context.redacted,
            "filters": {**context.filters.as_dict(), "period": context.period.name,
                        "lang": context.language},
            "out": str(out.resolve())}


@click.command("report")
@click.argument("name")
@click.option("--project", "project_id", type=int, required=True, help="Project (commune) id.")
@click.option("--period", default=None,
              help="2026, 2026-H2 or 2026-Q4 (default: the current quarter).")
@click.option("--lang", type=click.Choice(LANGUAGES), default="vi", show_default=True,
              help="Language of labels and sheet names.")
@click.option("--redacted", is_flag=True, help="Leave out every sensitive category.")
@click.option("--filter", "filter_pairs", multiple=True, metavar="NAME=VALUE",
              help="A children filter, as the API's query (village=T01, category=HCDB-A…).")
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="File to write: .json or .xlsx.")
def report_command(name: str, project_id: int, period: str | None, lang: str, redacted: bool,
                   filter_pairs: tuple[str, ...], out: Path) -> None:
    """Write a report of the registry: new-children, by-category, indicators, national,
    data-quality or audit."""
    fmt = _format(out)
    if name not in report_names():
        raise click.BadParameter(f"no report {name!r}; one of: {', '.join(report_names())}",
                                 param_hint="NAME")
    chosen, filters = _period(period), _filters(filter_pairs)
    settings = load_settings()
    svc = Services.from_settings(settings)
    part = out.with_name(f".{out.name}.part")
    try:
        with svc.database.read_snapshot() as session:
            project = session.get(Project, project_id)
            if project is None or project.deleted_at is not None:
                raise click.ClickException(f"no such project: {project_id}")
            base = f"{settings.public_url}/v1" if settings.public_url else ""
            context = ReportContext(
                session=session, project_id=project_id, project_name=project.name,
                principal=Principal(), access=RegistryAccess.operator(redacted=redacted),
                redacted=redacted, period=chosen, today=datetime.now(VIETNAM).date(),
                now=utcnow(), language=lang, filters=filters, base_url=base)
            try:
                result = build_report(name, context)
            except AuditReportRefused:
                raise click.ClickException("the audit report is never redacted: run it "
                                           "without --redacted") from None
            _write(part, fmt, context, result)
        with svc.database.unit_of_work() as session:
            cli_audit(session, "registry.export", f"project:{project_id}",
                      _details(context, result, fmt, out))
        os.replace(part, out)
    finally:
        part.unlink(missing_ok=True)
        svc.database.dispose()
    click.echo(f"Wrote {name} ({chosen.name}, {'redacted' if redacted else 'full'}): "
               f"{result.rows} rows to {out}")


def register(main: click.Group) -> None:
    main.add_command(report_command)
