"""`diemtua registry`: import a commune's Excel list, and write the files officers work from.

* ``import FILE --project ID`` — `server.registry.importer.import_file`, committed a batch of
  households at a time (a province's list holds no lock for minutes; run again, it finishes), then
  a summary and one line per problem of each refused row (``row 12: <vi> — <en>``, as the
  spreadsheet numbers rows; every problem of the row, so one pass fixes it). Exit 0 when every
  row was taken, 2 when some were refused (the others are imported; ``--dry-run``: would be),
  1 when the file was refused whole.
* ``links --project ID --out FILE`` — ``record_id,child_id`` for every imported or submitted
  record: an import row's own record_id, a submission record's ``<instanceID>#<n>``; the child
  is the one the record belongs to now, merges followed.
* ``review-queue --project ID --out FILE`` — the open review-queue rows, both sides side by side.
* ``export --project ID --format csv|xlsx --out FILE`` — the children list as the officers'
  download (`exports.children_export`), with the list's filters; the operator reads it in full,
  or as an office role without sensitive rights with ``--redacted``. Audited like a download.

These files are for spreadsheets, so their cells are spreadsheet-safe (exports/cells.py); ``--raw``
writes them exactly as stored.
"""

from __future__ import annotations

import csv
import sys
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from pathlib import Path

import click
from sqlalchemy import select
from sqlalchemy.orm import Session

from exports import children_export as export
from exports.cells import safe_row
from exports.children_csv_sql import children_csv
from exports.registry_rows import count_children, iter_child_rows
from server.auth.principal import ANONYMOUS
from server.cli_audit import cli_audit, system_user
from server.cli_progress import Counter, progress
from server.config import load_settings
from server.db import utcnow
from server.models import Child, ChildMembership, ChildRecord, MatchCandidate, Project
from server.models.registry import CandidateStatus, RecordSource
from server.operations.audit_records import record_registry_export
from server.registry.access import RegistryAccess
from server.registry.children_query import (
    VIETNAM,
    ChildFilters,
    InvalidFilter,
    children_query,
    parse_filters,
)
from server.registry.errors import NotFound
from server.registry.import_rows import RowResult, doubt_problem
from server.registry.importer import FileRefused, ImportReport, Outcome, import_file
from server.registry.match_keys import rebuild_match_keys
from server.services import Services

REVIEW_COLUMNS = (
    "candidate_id", "score", "reasons", "record_key", "record_name", "record_sex", "record_dob",
    "record_village", "record_mother", "child_id", "child_name", "child_sex", "child_dob",
    "child_village", "child_mother",
)


# Exit status when some rows were refused (1 is the file refused whole): scripts tell a
# partial import from a complete one.
REFUSED_ROWS = 2


@click.group("registry")
def registry_group() -> None:
    """The master registry of children: imports and the files officers work from."""


def _services() -> Services:
    return Services.from_settings(load_settings())


def summary_line(report: ImportReport) -> str:
    return (f"created {report.count(Outcome.CREATED)}, linked {report.count(Outcome.LINKED)}, "
            f"queued for review {report.count(Outcome.QUEUED)}, "
            f"refused {report.count(Outcome.REFUSED)}, "
            f"already imported {report.count(Outcome.ALREADY_IMPORTED)}")


@registry_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--project", "project_id", type=int, required=True, help="Project (commune) id.")
@click.option("--source", default=None,
              help="Name of the list, for rows whose source column is empty "
                   "(default: the file name without extension).")
@click.option("--create-villages", is_flag=True, help="Add villages the project does not know.")
@click.option("--dry-run", is_flag=True, help="Match and report, save nothing.")
def import_command(file: Path, project_id: int, source: str | None, create_villages: bool,
                   dry_run: bool) -> None:
    """Import a children list (CSV UTF-8 or XLSX) with the phones' matching."""
    svc = _services()
    bar = Counter(f"Nhập {file.name}")
    try:
        with file.open("rb") as stream, svc.database.unit_of_work() as session:
            report = import_file(session, project_id, stream,
                                 source=source or file.stem, create_villages=create_villages,
                                 dry_run=dry_run, store=svc.store,
                                 max_rows=svc.settings.import_max_rows,
                                 on_progress=bar.update, commit_batches=True)
            if not dry_run:
                cli_audit(session, "registry.import", f"project:{project_id}", {
                    "source": source or file.stem,
                    "counts": {o.value: report.count(o) for o in Outcome},
                    "villagesCreated": report.villages_created})
    except FileRefused as exc:
        click.echo(f"{file.name}: file refused: {exc.vi} — {exc}", err=True)
        sys.exit(1)
    except NotFound as exc:
        raise click.ClickException(f"no such project: {exc}") from exc
    finally:
        bar.close()
        svc.database.dispose()
    lead = "Dry run, nothing saved" if dry_run else f"Imported {file.name}"
    click.echo(f"{lead} (project {project_id}): {summary_line(report)}.")
    if report.villages_created:
        click.echo("Villages added: " + ", ".join(report.villages_created))
    refused = report.refused
    for result in refused:
        for problem in result.problems:
            click.echo(f"row {result.row}: {problem.vi} — {problem.en}")
        _echo_doubts(result)
    for result in report.with_doubts:  # imported; the field is listed (docs/registry.md)
        _echo_doubts(result)
    if report.with_doubts:
        click.echo(f"{len(report.with_doubts)} dòng đã nhập có trường nghi sai (xem báo cáo "
                   f"data-quality). ({len(report.with_doubts)} rows imported with doubtful "
                   "fields: see the data-quality report.)")
    if refused:
        click.echo(f"{len(refused)} dòng bị từ chối: sửa rồi nhập lại tệp, các dòng đã nhập sẽ "
                   f"được bỏ qua. ({len(refused)} rows refused: fix them and import the file "
                   "again; rows already imported are skipped.)", err=True)
        sys.exit(REFUSED_ROWS)


def _echo_doubts(result: RowResult) -> None:
    """A row's doubtful fields, each on a line of its own, after its refusals if any."""
    for doubt in result.doubtful:
        problem = doubt_problem(doubt)
        click.echo(f"row {result.row} (nghi sai / doubtful): {problem.vi} — {problem.en}")


def _project(session: Session, project_id: int) -> Project:
    project = session.get(Project, project_id)
    if project is None or project.deleted_at is not None:
        raise click.ClickException(f"no such project: {project_id}")
    return project


def current_children(session: Session, project_id: int) -> dict[str, str]:
    """Every child id of the project → the child it is now (itself, or where merges led)."""
    merged = dict(session.execute(select(Child.id, Child.merged_into)
                                  .where(Child.project_id == project_id)).all())
    resolved: dict[str, str] = {}
    for start in merged:
        child, seen = start, {start}
        while (after := merged.get(child)) and after not in seen:  # a cycle would be a bug
            child = after
            seen.add(after)
        resolved[start] = child
    return resolved


def own_record_id(record: ChildRecord) -> str:
    """An import row's record_id as its list wrote it; a submission record's source key."""
    if record.source == RecordSource.IMPORT.value:
        own = (record.raw or {}).get("record_id")
        return str(own) if own else record.source_key.split("#", 1)[-1]
    return record.source_key


def link_rows(session: Session, project_id: int) -> Iterator[tuple[str, str]]:
    """(record_id, current child_id) of every placed record, oldest record first."""
    children = current_children(session, project_id)
    rows = session.execute(
        select(ChildRecord, ChildMembership.child_id)
        .join(ChildMembership, ChildMembership.record_id == ChildRecord.id)
        .where(ChildRecord.project_id == project_id).order_by(ChildRecord.id))
    for record, child_id in rows:
        yield own_record_id(record), children.get(child_id, child_id)


def review_rows(session: Session, project_id: int) -> Iterator[list[str]]:
    """The open queue rows (`REVIEW_COLUMNS`), in the order they were queued."""
    children = current_children(session, project_id)
    rows = session.execute(
        select(MatchCandidate, ChildRecord)
        .join(ChildRecord, ChildRecord.id == MatchCandidate.record_id)
        .where(ChildRecord.project_id == project_id,
               MatchCandidate.status == CandidateStatus.OPEN.value)
        .order_by(MatchCandidate.id))
    for candidate, record in rows:
        child = session.get_one(Child, children.get(candidate.child_id, candidate.child_id))
        yield [str(candidate.id), f"{candidate.score:.2f}", " ".join(candidate.reasons or ()),
               own_record_id(record), record.full_name, record.sex, record.dob or "",
               record.village_code, record.mother_name, child.id, child.full_name, child.sex,
               child.dob or "", child.village_code, child.mother_name]


def _write_csv(out: Path, header: Sequence[str], rows: Iterable[Sequence[str]],
               raw: bool = False) -> int:
    """Officers open these files in a spreadsheet: cells are spreadsheet-safe
    (exports/cells.py) unless `raw`."""
    count = 0
    with out.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        for row in rows:
            writer.writerow(row if raw else safe_row(row))
            count += 1
    return count


RAW_HELP = "Write cells exactly as stored, formulas included (for programs, not spreadsheets)."


@registry_group.command("rebuild-keys")
@click.option("--project", "project_id", type=int, required=True,
              help="Project (commune) id (see `diemtua project list`).")
def rebuild_keys_command(project_id: int) -> None:
    """Recompute every record's matching keys (once after an upgrade that adds keys)."""
    svc = _services()
    try:
        with svc.database.unit_of_work() as session:
            _project(session, project_id)
            total = session.query(ChildRecord).filter_by(project_id=project_id).count()
        bar = Counter("Khoá so khớp", unit="bản ghi")
        summary = rebuild_match_keys(svc.database.unit_of_work, project_id,
                                     progress=lambda done: bar.update(done, total))
        bar.close()
        with svc.database.unit_of_work() as session:
            cli_audit(session, "registry.keys.rebuild", f"project:{project_id}",
                      {"projectId": project_id, "records": summary.records,
                       "keysBefore": summary.keys_before, "keysAfter": summary.keys_after})
    finally:
        svc.database.dispose()
    click.echo(f"Rebuilt the keys of {summary.records} records: {summary.keys_before} keys "
               f"before, {summary.keys_after} now")


@registry_group.command("links")
@click.option("--project", "project_id", type=int, required=True,
              help="Project (commune) id (see `diemtua project list`).")
@click.option("--out", type=click.Path(dir_okay=False, writable=True, path_type=Path),
              required=True, help="CSV file to write.")
@click.option("--raw", is_flag=True, help=RAW_HELP)
def links_command(project_id: int, out: Path, raw: bool) -> None:
    """Write record_id,child_id for every imported or submitted record."""
    svc = _services()
    try:
        with svc.database.unit_of_work() as session:
            _project(session, project_id)
            count = _write_csv(out, ("record_id", "child_id"), link_rows(session, project_id),
                               raw)
            cli_audit(session, "registry.links.export", f"project:{project_id}",
                      {"projectId": project_id, "rows": count, "raw": raw,
                       "out": str(out.resolve())})
    finally:
        svc.database.dispose()
    click.echo(f"Wrote {count} records to {out}")


@registry_group.command("review-queue")
@click.option("--project", "project_id", type=int, required=True,
              help="Project (commune) id (see `diemtua project list`).")
@click.option("--out", type=click.Path(dir_okay=False, writable=True, path_type=Path),
              required=True, help="CSV file to write.")
@click.option("--raw", is_flag=True, help=RAW_HELP)
def review_queue_command(project_id: int, out: Path, raw: bool) -> None:
    """Write the pairs waiting for a person (record and candidate child side by side)."""
    svc = _services()
    try:
        with svc.database.unit_of_work() as session:
            _project(session, project_id)
            count = _write_csv(out, REVIEW_COLUMNS, review_rows(session, project_id), raw)
            cli_audit(session, "registry.review_queue.export", f"project:{project_id}",
                      {"projectId": project_id, "rows": count, "raw": raw,
                       "out": str(out.resolve())})
    finally:
        svc.database.dispose()
    click.echo(f"Wrote {count} pairs waiting for review to {out}")


# The export's filter options and the list's query parameters they stand for.
_FILTER_OPTIONS = {"village": "village", "category": "category", "flag": "flag",
                   "status": "status", "q": "q", "reported_from": "reportedFrom",
                   "reported_to": "reportedTo", "sex": "sex", "age_group": "ageGroup",
                   "support": "support", "care": "care", "special": "special"}


def _filters(options: dict[str, str | None]) -> ChildFilters:
    try:
        return parse_filters({_FILTER_OPTIONS[key]: value for key, value in options.items()
                              if value})
    except InvalidFilter as exc:
        option = next(key for key, name in _FILTER_OPTIONS.items() if name == exc.name)
        raise click.BadParameter(exc.reason,
                                 param_hint="--" + option.replace("_", "-")) from None


@registry_group.command("export")
@click.option("--project", "project_id", type=int, required=True, help="Project (commune) id.")
@click.option("--format", "output", type=click.Choice(["csv", "xlsx"]), required=True,
              help="csv (UTF-8) or xlsx (typed cells, an about sheet first).")
@click.option("--village", help="Only this village (its code).")
@click.option("--category", help="Only children with an open episode of this category code.")
@click.option("--flag", help="Only children with an unclosed flag: true, or a flag kind.")
@click.option("--status", help="Vital status: active, moved_away or died.")
@click.option("--q", help="Part of the name; marks and case ignored.")
@click.option("--reported-from", help="First reported on or after this day (YYYY-MM-DD).")
@click.option("--reported-to", help="First reported on or before this day (YYYY-MM-DD).")
@click.option("--sex", help="M, F or U.")
@click.option("--age-group", help="0-6, 6-11, 11-16, 16-18 or 16-22 (completed years today).")
@click.option("--support", help="yes, no or unknown (support received).")
@click.option("--care", help="parents, kin, non_kin, adoption, facility, none or unknown.")
@click.option("--special", help="true: only children with an open Article 10 category.")
@click.option("--bom", is_flag=True, help="CSV: start with a UTF-8 byte order mark (old Excel).")
@click.option("--lang", type=click.Choice(export.LANGUAGES), default="vi", show_default=True,
              help="Language of headers and labels.")
@click.option("--redacted", is_flag=True,
              help="Leave sensitive categories out, as for the commune chair.")
@click.option("--raw", is_flag=True, help="CSV: " + RAW_HELP)
@click.option("--out", type=click.Path(dir_okay=False, writable=True, path_type=Path),
              required=True, help="File to write (put in place once the export is audited).")
def export_command(project_id: int, output: str, bom: bool, lang: str, redacted: bool,
                   raw: bool, out: Path, **options: str | None) -> None:
    """Write the children list (one row per child, merged children once) to a file."""
    filters = _filters(options)
    access = RegistryAccess.operator(redacted=redacted)
    layout = export.ChildrenLayout.for_caller(access, lang, datetime.now(VIETNAM).date())
    partial = out.with_name(f".{out.name}.partial")
    svc = _services()
    try:
        with svc.database.read_snapshot() as session:
            project = _project(session, project_id)
            total = count_children(session, children_query(project_id, access, filters,
                                                           layout.today))
            if output == "csv":
                bar = Counter("Trẻ em", unit="trẻ")
                try:
                    with partial.open("wb") as handle:
                        for chunk in children_csv(session, project_id, access, filters, layout,
                                                  bom=bom, raw=raw,
                                                  on_rows=lambda done: bar.update(done, total)):
                            handle.write(chunk)
                finally:
                    bar.close()
            else:
                rows = progress(iter_child_rows(session, project_id, access, filters,
                                                layout.today),
                                total=total, label="Trẻ em", unit="trẻ")
                by = f"diemtua registry export ({system_user() or '?'})"
                export.write_xlsx(partial, rows, layout,
                                  export.About(project.name, by, utcnow(), filters, redacted))
        # A file is only left behind once its export is logged (as `diemtua audit export`).
        with svc.database.unit_of_work() as session:
            record_registry_export(session, ANONYMOUS, project_id, "children", format=output,
                                   rows=total, redacted=redacted, filters=filters.as_dict(),
                                   via="cli")
        partial.replace(out)
    finally:
        partial.unlink(missing_ok=True)
        svc.database.dispose()
    click.echo(f"Wrote {total} children to {out}" + (" (redacted)" if redacted else ""))


def register(main: click.Group) -> None:
    main.add_command(registry_group)
