"""Importing the children lists communes keep in Excel (README "Importing the lists a commune
already has"), with the phones' matching.

A file (CSV or XLSX, `server.registry.import_files`) becomes validated rows or refusals with the
spreadsheet's row number and every reason found in the row (`RowProblem`: Vietnamese, English,
the column), so one correction pass fixes it; each valid row becomes an immutable `ChildRecord`
(``source="import"``, ``source_key="<source>#<record_id>"``) and goes through the very path phone
submissions take, `server.registry.placement.place_records`: one household group at a time, in file
order, so rows sharing a ``submission_id`` (one household visit) are never one child, and a child
already reported by a phone is linked to, not duplicated.

Decisions the README leaves open:

* **One transaction per file, or one per batch.** The caller's unit of work commits the whole
  file or, on an unexpected error, nothing; refused rows do not stop the others. With
  ``commit_batches`` (``diemtua registry import``) each batch of `BATCH_ROWS` rows is committed
  as it is placed: a province's list then holds SQLite's write lock and PostgreSQL's
  child-number row for a fraction of a second at a time, not for minutes, and an import that
  stopped half-way is finished by importing the same file again (idempotence below).
  ``dry_run`` does all the work in a savepoint and rolls it back, so the report says exactly
  what an import would do.
* **Speed.** A batch's records are stored in one statement, then placed as one held batch
  (`placement.place_held`, as the phones' sync places a group of visits): its blocking keys
  looked up in one query, its child numbers reserved in one update, its children, keys and
  memberships written together, and the categories and views of the existing children it
  linked records to worked out once at its end (`placement.refresh_linked`); households are still
  matched one by one in file order, each seeing those placed before it (README "Benchmarks").
* **Memory.** The file is read as a stream within the limits of `server.registry.import_files`;
  its valid rows are held until it is read (a household's rows may lie anywhere in it) — at
  most ``DIEMTUA_IMPORT_MAX_ROWS`` of them, small ones — and let go household by household as
  they are placed. Measured with 50,000 plausible rows: see README, "Importing the lists a
  commune already has".
* **A doubtful field never refuses a row** (docs/registry.md, "Doubtful fields"): a personal
  ID that fails its checks, a date of birth in the future or unreadable, a sex that is not one,
  an unknown category code. The row is imported with what was given (an unreadable value
  blank, an unknown code left out), the field listed in ``child_records.doubtful`` and in the
  row's report; the matcher does not see a doubtful ID or date (`sync.doubtful`), so a wrong
  number neither blocks a true match nor makes a false one. Only wrong rows are refused: no
  name, no village or one the caller may not import into, a source key twice, another
  commune's code.
* **Idempotence by source key**: a row whose ``<source>#<record_id>`` is already in the project
  is reported as ``already imported`` and left alone (source rows are never overwritten). A
  second row of one file with the same source key is refused.
* The row's own ``source`` column, when filled, wins over the caller's default source.
* Household key ``import:<source>#<submission_id>``: an export of ODK data may carry the phone's
  instanceID as submission_id, and those rows must *match* the phone's records, not be ruled out
  as the same visit. A row without submission_id is a household of its own.
* Dates: ``YYYY-MM-DD``, ``YYYY-MM``, ``YYYY``, an Excel date, and also ``dd/mm/yyyy`` (the
  Vietnamese paper habit `sync.dates` already reads); a date in the future is kept, doubtful.
* Special circumstances: codes of the catalogue separated by ``;`` (``,`` also accepted), any
  case; each row keeps them as derived categories (so they are recomputable after an unmerge)
  and the registry opens them on the child and raises the flags like a phone's answers.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import IO, Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from server.config import DEFAULT_IMPORT_MAX_ROWS
from server.db import insert_objects, utcnow
from server.models import ChildMembership, ChildRecord, Project
from server.models.registry import RecordSource
from server.registry import villages
from server.registry.categories import codes_as_derived, derived_to_json
from server.registry.errors import NotFound
from server.registry.import_files import FileRefused, open_table
from server.registry.import_rows import (
    QUERY_CHUNK,
    ImportReport,
    ImportRow,
    Outcome,
    RowContext,
    RowProblem,
    RowResult,
    parse_rows,
)
from server.registry.placement import (
    ProjectMatcher,
    SyncSummary,
    place_held,
    prepare_visit,
    project_matcher,
)
from server.registry.sync import wait_for_project
from server.storage import BlobStore
from sync.doubtful import Doubt, day_in_vietnam
from sync.doubtful import Reason as DoubtReason
from sync.matching import Band, MatchModel
from sync.matching import ChildRecord as MatchInput
from sync.vietnamese import clean

__all__ = ["FileRefused", "ImportReport", "Outcome", "RowProblem", "RowResult", "import_file"]

# Rows placed between two look-ups of the registry (and, with ``commit_batches``, two commits):
# one query for a batch's candidates instead of one per household, and a write lock (SQLite)
# held for a fraction of a second.
BATCH_ROWS = 500

_BAND_OUTCOME = {Band.AUTO_LINK: Outcome.LINKED, Band.REVIEW: Outcome.QUEUED,
                 Band.NEW: Outcome.CREATED}



# --- storing and placing ---------------------------------------------------------------------


def _already_imported(session: Session, project_id: int, keys: Sequence[str]
                      ) -> dict[str, str | None]:
    """Source keys already in the project → the child holding each (None if not placed)."""
    found: dict[str, str | None] = {}
    for start in range(0, len(keys), QUERY_CHUNK):
        chunk = keys[start:start + QUERY_CHUNK]
        found.update(session.execute(
            select(ChildRecord.source_key, ChildMembership.child_id)
            .outerjoin(ChildMembership, ChildMembership.record_id == ChildRecord.id)
            .where(ChildRecord.project_id == project_id, ChildRecord.source_key.in_(chunk)))
            .all())
    return found


def _derived(row: ImportRow) -> list[dict[str, Any]]:
    return [derived_to_json(item) for item in codes_as_derived(row.codes, source=row.source_key)]


def _record(row: ImportRow, project: Project) -> dict[str, Any]:
    """The columns of a row's `ChildRecord` (stored a batch at a time by `_store_batch`)."""
    raw = row.raw
    return {
        "project_id": project.id, "source": RecordSource.IMPORT.value,
        "submission_def_id": None, "source_key": row.source_key,
        "household_key": row.household_key, "full_name": row.full_name, "sex": row.sex.value,
        "dob": row.dob.iso() if row.dob else None,
        "dob_precision": row.dob.precision.value if row.dob else None, "dob_estimated": False,
        "village_code": row.village.code, "commune_code": project.commune_code or "",
        "household_id": "", "household_head": row.household_head,
        "mother_name": row.mother_name, "father_name": row.father_name,
        "guardian_name": row.guardian_name, "personal_id": row.personal_id,
        "home_name": row.home_name, "doubtful": [doubt.as_json() for doubt in row.doubtful],
        "raw": raw, "derived_categories": _derived(row),
        "reported_at": reported_at(raw.get("submitted_at", "")), "created_at": utcnow()}


def reported_at(text: str) -> datetime | None:
    """A row's ``submitted_at`` (ISO date or date-time; a zone is converted to UTC), or None
    when it is blank or unreadable: it only orders reports, so it never refuses a row."""
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment


def _match_input(row: ImportRow, record: ChildRecord) -> MatchInput:
    return MatchInput(
        record_id=str(record.id), submission_id=record.household_key, full_name=row.full_name,
        sex=row.sex, dob=row.dob, village=record.village_code, commune=record.commune_code,
        household_head=row.household_head, mother_name=row.mother_name,
        father_name=row.father_name, guardian_name=record.guardian_name,
        personal_id=row.personal_id, home_name=row.home_name)


def _shared_in_visit(record: ChildRecord) -> list[Doubt]:
    """The doubt placing the row added: a number another child of its visit gives too
    (`placement.mark_ids_shared_in_visit`), which the row alone could not show."""
    return [Doubt(item["field"], item["value"], item["reason"]) for item in record.doubtful or ()
            if item.get("reason") == DoubtReason.SHARED_IN_VISIT]


def _households(rows: Sequence[ImportRow]) -> list[list[ImportRow]]:
    """Rows grouped by household visit, groups in the order of their first row."""
    groups: dict[str, list[ImportRow]] = {}
    for row in rows:
        groups.setdefault(row.household_key, []).append(row)
    return list(groups.values())


def import_file(session: Session, project_id: int, file: IO[bytes] | bytes, *, source: str,
                create_villages: bool = False, dry_run: bool = False,
                allowed_villages: frozenset[str] | None = None,
                store: BlobStore | None = None, model: MatchModel | None = None,
                now: datetime | None = None,
                max_rows: int = DEFAULT_IMPORT_MAX_ROWS,
                on_progress: Callable[[int, int], None] | None = None,
                commit_batches: bool = False) -> ImportReport:
    """Import one file into a project's registry in the caller's transaction.

    ``file`` is read as a stream (it must be seekable: an open file, a spooled upload);
    ``source`` names the list for rows with an empty ``source`` column; ``allowed_villages``
    (None for all) refuses rows of other villages; a file with more than ``max_rows``
    non-blank rows is refused while it is read. Raises `FileRefused` when nothing of the file
    can be imported and `NotFound` for an unknown project. It never commits, unless
    ``commit_batches`` (and not ``dry_run``): then the session is committed after each batch of
    households (`BATCH_ROWS`), so a province's list neither holds the database's write lock nor
    keeps its statistics stale for minutes, and an import stopped half-way is finished by
    importing the file again (its stored rows are ``already imported``). ``on_progress``
    hears (rows placed so far, rows to place) after each household (the CLI's progress bar).
    """
    project = session.get(Project, project_id)
    if project is None or project.deleted_at is not None:
        raise NotFound(f"project {project_id}")
    now = now or utcnow()
    report = ImportReport(dry_run=dry_run)
    savepoint = session.begin_nested() if dry_run else None
    try:
        if store is not None:
            villages.ensure_villages(session, store, project_id)
        ctx = RowContext(session, project, villages.load_directory(session, project_id),
                         clean(source) or "import", create_villages, allowed_villages,
                         day_in_vietnam(now), report)
        with open_table(file, max_rows=max_rows) as table:
            households = _households_to_place(session, project, parse_rows(table, ctx),
                                              report)
        _place_households(session, project, households, report, model, on_progress,
                          commit_batches and not dry_run)
    finally:
        if savepoint is not None:
            savepoint.rollback()
    report.results.sort(key=lambda result: result.row)
    return report


def _households_to_place(session: Session, project: Project,
                         parsed: list[ImportRow | RowResult],
                         report: ImportReport) -> list[list[ImportRow]]:
    """The rows to place, by household; refused and already imported rows go to the report."""
    valid = [row for row in parsed if isinstance(row, ImportRow)]
    report.results.extend(row for row in parsed if isinstance(row, RowResult))
    done = _already_imported(session, project.id, [row.source_key for row in valid])
    for row in valid:
        if row.source_key in done:
            report.results.append(RowResult(row.number, row.record_id,
                                            Outcome.ALREADY_IMPORTED, "already imported",
                                            done[row.source_key], "đã nhập trước đây",
                                            full_name=row.full_name))
    return _households([row for row in valid if row.source_key not in done])


def _place_households(session: Session, project: Project, households: list[list[ImportRow]],
                      report: ImportReport, model: MatchModel | None,
                      on_progress: Callable[[int, int], None] | None = None,
                      commit_batches: bool = False) -> None:
    """Place each household in file order, a batch of households at a time, letting go of
    their rows once placed: the file's rows and the matcher's cache of the records it has
    compared are never both whole."""
    pm = project_matcher(session, project.id, {}, model or MatchModel.load())
    total = sum(len(household) for household in households)
    placed = 0
    households.reverse()
    analysed_at = 0
    while households:
        batch = _next_batch(households)
        _place_batch(session, pm, project, batch, report)
        for household in batch:
            placed += len(household)
            if on_progress is not None:
                on_progress(placed, total)
        if commit_batches:
            session.commit()
            if placed >= 2 * analysed_at:
                analysed_at = placed
                _refresh_statistics(session)


# The tables an import grows; their planner statistics are refreshed as the import doubles
# them (PostgreSQL's autovacuum would do it a minute later at best, and may be off).
_GROWN_TABLES = ("child_records", "match_keys", "child_memberships", "children")


def _refresh_statistics(session: Session) -> None:
    """ANALYZE the tables a committed batch grew (PostgreSQL; SQLite plans without them)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text(f"ANALYZE {', '.join(_GROWN_TABLES)}"))
        session.commit()


def _next_batch(households: list[list[ImportRow]]) -> list[list[ImportRow]]:
    """Households taken from the end of ``households`` (reversed file order), `BATCH_ROWS`
    rows or a little more: a household is never split."""
    batch: list[list[ImportRow]] = []
    rows = 0
    while households and rows < BATCH_ROWS:
        batch.append(households.pop())
        rows += len(batch[-1])
    return batch


def _place_batch(session: Session, pm: ProjectMatcher, project: Project,
                 batch: list[list[ImportRow]], report: ImportReport) -> None:
    """Store a batch's records in one statement, then place its households as one held batch
    (`placement.place_held`), each seeing those placed before it."""
    wait_for_project(session, project.id)
    stored = _store_batch(session, project, batch)
    visits = [prepare_visit(records, [_match_input(row, record)
                                      for row, record in zip(household, records, strict=True)])
              for household, records in zip(batch, stored, strict=True)]
    placed = place_held(session, pm, visits, SyncSummary())
    for household, placements in zip(batch, placed, strict=True):
        for row, placement in zip(household, placements, strict=True):
            report.results.append(RowResult(
                row.number, row.record_id, _BAND_OUTCOME[placement.band],
                child_id=placement.child_id, full_name=row.full_name,
                doubtful=[*row.doubtful, *_shared_in_visit(placement.row)]))


def _store_batch(session: Session, project: Project, batch: list[list[ImportRow]]
                 ) -> list[list[ChildRecord]]:
    """The batch's records, inserted at once (`server.db.insert_objects`: a third of the cost
    of constructing and flushing them one by one), by household."""
    loaded = iter(insert_objects(
        session, ChildRecord, [_record(row, project) for household in batch for row in household]))
    return [[next(loaded) for _ in household] for household in batch]
