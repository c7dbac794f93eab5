"""Importing the children lists communes keep in Excel (issue 3 §5), with the phones' matching.

A file (CSV or XLSX, `server.registry.import_files`) becomes validated rows or refusals with the
spreadsheet's row number and a reason; each valid row becomes an immutable `ChildRecord`
(``source="import"``, ``source_key="<source>#<record_id>"``) and goes through the very path phone
submissions take, `server.registry.sync.place_records`: one household group at a time, in file
order, so rows sharing a ``submission_id`` (one household visit) are never one child, and a child
already reported by a phone is linked to, not duplicated.

Decisions where the issue is silent:

* **One transaction per file.** The caller's unit of work commits the whole file or, on an
  unexpected error, nothing; refused rows do not stop the others. ``dry_run`` does all the work
  in a savepoint and rolls it back, so the report says exactly what an import would do.
* **An invalid personal ID refuses the row** (rather than importing it without the ID): a wrong
  number would either block a true match (two different valid IDs are never one child) or look
  like one, and the commune can fix the cell and import again.
* **Idempotence by source key**: a row whose ``<source>#<record_id>`` is already in the project
  is reported as ``already imported`` and left alone (source rows are never overwritten). A
  second row of one file with the same source key is refused.
* The row's own ``source`` column, when filled, wins over the caller's default source.
* Household key ``import:<source>#<submission_id>``: an export of ODK data may carry the phone's
  instanceID as submission_id, and those rows must *match* the phone's records, not be ruled out
  as the same visit. A row without submission_id is a household of its own.
* Dates: ``YYYY-MM-DD``, ``YYYY-MM``, ``YYYY``, an Excel date, and also ``dd/mm/yyyy`` (the
  Vietnamese paper habit `sync.dates` already reads); a date in the future is refused.
* Special circumstances: codes of the catalogue separated by ``;`` (``,`` also accepted), any
  case; each row keeps them as derived categories (so they are recomputable after an unmerge)
  and `server.registry.categories.apply_codes` opens them on the child and raises the flags.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.db import utcnow
from server.models import ChildMembership, ChildRecord, Project, Village
from server.models.registry import RecordSource
from server.registry import villages
from server.registry.categories import apply_codes, codes_as_derived, derived_to_json
from server.registry.errors import NotFound
from server.registry.import_files import FileRefused, Table, read_table
from server.registry.sync import ProjectMatcher, SyncSummary, place_records, project_matcher
from server.storage import BlobStore
from sync.categories import default_catalogue
from sync.dates import PartialDate
from sync.matching import Band, MatchModel
from sync.matching import ChildRecord as MatchInput
from sync.matching.records import Sex, parse_sex
from sync.personal_id import check_personal_id
from sync.vietnamese import clean, fold

__all__ = ["FileRefused", "ImportReport", "Outcome", "RowResult", "import_file"]

TEMPLATE_COLUMNS = (
    "record_id", "source", "submission_id", "collaborator_id", "submitted_at", "commune_code",
    "commune", "village", "household_head", "full_name", "sex", "dob", "mother_name",
    "father_name", "guardian_name", "personal_id", "special_circumstances",
)
REQUIRED_COLUMNS = ("record_id", "full_name", "village")
NAME_COLUMNS = ("full_name", "household_head", "mother_name", "father_name", "guardian_name")
MAX_TEXT = 255  # the name columns of child_records
MAX_KEY = 120  # record_id, source, submission_id: the household key fits in 255
_UNKNOWN_SEX = frozenset({"u", "khong ro", "?", "-"})
_QUERY_CHUNK = 500


class Outcome(StrEnum):
    CREATED = "created"  # a new registry child
    LINKED = "linked"  # the same child as one already in the registry
    QUEUED = "queued"  # possibly an existing child: a new child for now, and a person decides
    REFUSED = "refused"
    ALREADY_IMPORTED = "already_imported"


_BAND_OUTCOME = {Band.AUTO_LINK: Outcome.LINKED, Band.REVIEW: Outcome.QUEUED,
                 Band.NEW: Outcome.CREATED}


@dataclass
class RowResult:
    row: int  # as the spreadsheet shows it: the header is row 1
    record_id: str
    outcome: Outcome
    reason: str = ""
    child_id: str | None = None


@dataclass
class ImportReport:
    dry_run: bool
    results: list[RowResult] = field(default_factory=list)
    villages_created: list[str] = field(default_factory=list)

    def count(self, outcome: Outcome) -> int:
        return sum(1 for result in self.results if result.outcome is outcome)

    @property
    def refused(self) -> list[RowResult]:
        return [result for result in self.results if result.outcome is Outcome.REFUSED]

    def as_json(self) -> dict[str, Any]:
        return {
            "dryRun": self.dry_run,
            "counts": {outcome.value: self.count(outcome) for outcome in Outcome},
            "villagesCreated": self.villages_created,
            "rows": [{"row": r.row, "recordId": r.record_id, "outcome": r.outcome.value,
                      "reason": r.reason or None, "childId": r.child_id}
                     for r in self.results],
        }


@dataclass(frozen=True)
class ImportRow:
    """A valid row, ready to become a `ChildRecord`."""

    number: int
    record_id: str
    source: str
    submission_id: str
    village: Village
    full_name: str
    sex: Sex
    dob: PartialDate | None
    household_head: str
    mother_name: str
    father_name: str
    guardian_name: str
    personal_id: str
    codes: tuple[str, ...]
    raw: dict[str, Any]

    @property
    def source_key(self) -> str:
        return f"{self.source}#{self.record_id}"

    @property
    def household_key(self) -> str:
        if self.submission_id:
            return f"import:{self.source}#{self.submission_id}"
        return f"import:{self.source_key}"


class RowRefused(Exception):
    """One row cannot be imported; the message is the reason the report gives."""


# --- columns and cells -----------------------------------------------------------------------


def column_name(header: str) -> str:
    """``Full Name`` → ``full_name``: headers are compared ignoring case, spacing and marks."""
    return "_".join(fold(clean(header)).replace("-", " ").split())


def _columns(table: Table) -> dict[str, int]:
    """Template column → position; raises `FileRefused` for duplicates or missing ones."""
    positions: dict[str, int] = {}
    for position, header in enumerate(table.header):
        name = column_name(header)
        if not name:
            continue
        if name in positions:
            raise FileRefused(f"the column {header!r} appears twice in the header")
        positions[name] = position
    missing = [name for name in REQUIRED_COLUMNS if name not in positions]
    if missing:
        raise FileRefused("missing required column(s): " + ", ".join(missing)
                          + " (the header row must name record_id, full_name and village)")
    return positions


def _text(value: Any) -> str:
    if isinstance(value, date):
        return value.isoformat()
    return clean(str(value)) if value is not None else ""


@dataclass
class _Cells:
    """One row's cells by template column name."""

    values: dict[str, Any]

    def text(self, name: str) -> str:
        return _text(self.values.get(name, ""))

    def raw(self, name: str) -> Any:
        return self.values.get(name, "")


# --- one row ---------------------------------------------------------------------------------


@dataclass
class _Context:
    session: Session
    project: Project
    directory: villages.VillageDirectory
    default_source: str
    create_villages: bool
    allowed_villages: frozenset[str] | None
    today: date
    report: ImportReport


def _sex(text: str) -> Sex:
    if not text or fold(text) in _UNKNOWN_SEX:
        return Sex.UNKNOWN
    sex = parse_sex(text)
    if sex is Sex.UNKNOWN:
        raise RowRefused(f"sex {text!r} is not M/F or Nam/Nữ (leave it blank when unknown)")
    return sex


def _dob(value: Any, today: date) -> PartialDate | None:
    if value in ("", None):
        return None
    if isinstance(value, int) and 1900 <= value <= 9999:
        value = str(value)  # a year typed into a number cell
    parsed = PartialDate.parse(value if isinstance(value, date) else _text(value))
    if parsed is None:
        raise RowRefused(f"dob {_text(value)!r} is not a date (YYYY-MM-DD, YYYY-MM or YYYY)")
    if parsed.iso() > today.isoformat()[:len(parsed.iso())]:
        raise RowRefused(f"dob {parsed.iso()} is in the future")
    return parsed


def _personal_id(value: Any, sex: Sex, dob: PartialDate | None) -> str:
    # Excel drops the leading zeros of a number cell (001… is Hà Nội): put them back.
    text = str(value).zfill(12) if isinstance(value, int) else _text(value)
    check = check_personal_id(text, sex=sex.value if sex is not Sex.UNKNOWN else None,
                              birth_year=dob.year if dob else None)
    if check.digits is None:
        return ""
    if not check.valid:
        problems = ", ".join(problem.value.replace("_", " ") for problem in check.problems)
        raise RowRefused(f"personal_id {text!r} is not valid ({problems})")
    return check.digits


def _codes(text: str) -> tuple[str, ...]:
    catalogue = default_catalogue()
    codes = [part.strip().upper() for part in text.replace(",", ";").split(";")]
    codes = [code for code in dict.fromkeys(codes) if code]
    unknown = [code for code in codes if code not in catalogue]
    if unknown:
        raise RowRefused("unknown special_circumstances code(s): " + ", ".join(unknown))
    return tuple(codes)


def _commune(cells: _Cells, project: Project) -> None:
    given, ours = cells.text("commune_code"), (project.commune_code or "").strip()
    if not given or not ours:
        return
    same = given.lstrip("0") == ours.lstrip("0") if given.isdigit() and ours.isdigit() \
        else given.lower() == ours.lower()
    if not same:
        raise RowRefused(f"commune_code {given} is not this project's commune ({ours})")


def _village(cells: _Cells, ctx: _Context) -> Village:
    text = cells.text("village")
    village = ctx.directory.find(text)
    if village is None:
        if not ctx.create_villages:
            raise RowRefused(f"unknown village {text!r} (not a code or name of this commune's "
                             "villages; --create-villages adds it)")
        if ctx.allowed_villages is not None:
            raise RowRefused(f"unknown village {text!r}; only a user of every village may add "
                             "one")
        try:
            village = villages.create(ctx.session, ctx.project.id, text)
        except ValueError as exc:
            raise RowRefused(f"village {text!r}: {exc}") from None
        ctx.directory.add(village)
        ctx.report.villages_created.append(village.code)
    if ctx.allowed_villages is not None and village.code not in ctx.allowed_villages:
        raise RowRefused(f"village {village.code} is not one of your villages")
    return village


def _required(cells: _Cells) -> None:
    empty = [name for name in REQUIRED_COLUMNS if not cells.text(name)]
    if empty:
        raise RowRefused("empty " + ", ".join(empty))
    for name in ("record_id", "submission_id"):
        if len(cells.text(name)) > MAX_KEY:
            raise RowRefused(f"{name} is longer than {MAX_KEY} characters")
    for name in NAME_COLUMNS:
        if len(cells.text(name)) > MAX_TEXT:
            raise RowRefused(f"{name} is longer than {MAX_TEXT} characters")


def _parse_row(number: int, cells: _Cells, extra: dict[str, Any], ctx: _Context) -> ImportRow:
    """A valid row, or `RowRefused` with the first reason found (the village last, so a row
    refused for anything else never adds a village)."""
    _required(cells)
    source = cells.text("source") or ctx.default_source
    if len(source) > MAX_KEY:
        raise RowRefused(f"source is longer than {MAX_KEY} characters")
    _commune(cells, ctx.project)
    sex = _sex(cells.text("sex"))
    dob = _dob(cells.raw("dob"), ctx.today)
    personal_id = _personal_id(cells.raw("personal_id"), sex, dob)
    codes = _codes(cells.text("special_circumstances"))
    village = _village(cells, ctx)
    mother, father, guardian = (cells.text(n) for n in ("mother_name", "father_name",
                                                        "guardian_name"))
    raw = {"row": number, "record_id": cells.text("record_id"), "source": source,
           "village_as_written": cells.text("village"),
           **{name: cells.text(name) for name in ("collaborator_id", "submitted_at",
                                                  "commune_code", "commune")
              if cells.text(name)},
           "special_circumstances": list(codes), "extra": extra}
    return ImportRow(
        number=number, record_id=cells.text("record_id"), source=source,
        submission_id=cells.text("submission_id"), village=village,
        full_name=cells.text("full_name"), sex=sex, dob=dob,
        household_head=cells.text("household_head"), mother_name=mother, father_name=father,
        # The carer is a parent already named: not a third person (as for the phones' form).
        guardian_name="" if guardian in (mother, father) else guardian,
        personal_id=personal_id, codes=codes, raw=raw)


def _rows(table: Table, ctx: _Context) -> list[ImportRow | RowResult]:
    """Each non-blank row parsed, or its refusal; duplicates of a source key refused."""
    positions = _columns(table)
    extras = {p: h for p, h in enumerate(table.header)
              if h.strip() and column_name(h) not in TEMPLATE_COLUMNS}
    first_seen: dict[str, int] = {}
    out: list[ImportRow | RowResult] = []
    for number, cells in table.rows:
        padded = list(cells) + [""] * (len(table.header) - len(cells))
        values = _Cells({name: padded[p] for name, p in positions.items()})
        extra = {header: _text(padded[p]) for p, header in extras.items() if _text(padded[p])}
        try:
            row = _parse_row(number, values, extra, ctx)
        except RowRefused as exc:
            out.append(RowResult(number, values.text("record_id"), Outcome.REFUSED, str(exc)))
            continue
        if row.source_key in first_seen:
            out.append(RowResult(number, row.record_id, Outcome.REFUSED,
                                 f"record_id {row.record_id} appears again (first on row "
                                 f"{first_seen[row.source_key]})"))
            continue
        first_seen[row.source_key] = number
        out.append(row)
    return out


# --- storing and placing ---------------------------------------------------------------------


def _already_imported(session: Session, project_id: int, keys: Sequence[str]
                      ) -> dict[str, str | None]:
    """Source keys already in the project → the child holding each (None if not placed)."""
    found: dict[str, str | None] = {}
    for start in range(0, len(keys), _QUERY_CHUNK):
        chunk = keys[start:start + _QUERY_CHUNK]
        found.update(session.execute(
            select(ChildRecord.source_key, ChildMembership.child_id)
            .outerjoin(ChildMembership, ChildMembership.record_id == ChildRecord.id)
            .where(ChildRecord.project_id == project_id, ChildRecord.source_key.in_(chunk)))
            .all())
    return found


def _derived(row: ImportRow) -> list[dict[str, Any]]:
    return [derived_to_json(item) for item in codes_as_derived(row.codes, source=row.source_key)]


def _record(row: ImportRow, project: Project) -> ChildRecord:
    return ChildRecord(
        project_id=project.id, source=RecordSource.IMPORT.value, submission_def_id=None,
        source_key=row.source_key, household_key=row.household_key, full_name=row.full_name,
        sex=row.sex.value, dob=row.dob.iso() if row.dob else None,
        dob_precision=row.dob.precision.value if row.dob else None, dob_estimated=False,
        village_code=row.village.code, commune_code=project.commune_code or "",
        household_id="", household_head=row.household_head, mother_name=row.mother_name,
        father_name=row.father_name, guardian_name=row.guardian_name,
        personal_id=row.personal_id, raw=row.raw, derived_categories=_derived(row),
        reported_at=reported_at(row.raw.get("submitted_at", "")))


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
        personal_id=row.personal_id)


def _place_household(session: Session, pm: ProjectMatcher, project: Project,
                     group: list[ImportRow], report: ImportReport, now: datetime) -> None:
    records = [_record(row, project) for row in group]
    session.add_all(records)
    session.flush()
    placements = place_records(session, pm, records,
                               [_match_input(r, rec) for r, rec in zip(group, records,
                                                                        strict=True)],
                               SyncSummary())
    for row, placement in zip(group, placements, strict=True):
        report.results.append(RowResult(row.number, row.record_id, _BAND_OUTCOME[placement.band],
                                        child_id=placement.child_id))
        if row.codes:
            apply_codes(session, placement.child_id, list(row.codes), source=row.source_key,
                        by="import", now=now, record_id=placement.row.id)


def _households(rows: Sequence[ImportRow]) -> list[list[ImportRow]]:
    """Rows grouped by household visit, groups in the order of their first row."""
    groups: dict[str, list[ImportRow]] = {}
    for row in rows:
        groups.setdefault(row.household_key, []).append(row)
    return list(groups.values())


def import_file(session: Session, project_id: int, data: bytes, *, source: str,
                create_villages: bool = False, dry_run: bool = False,
                allowed_villages: frozenset[str] | None = None,
                store: BlobStore | None = None, model: MatchModel | None = None,
                now: datetime | None = None) -> ImportReport:
    """Import one file into a project's registry in the caller's transaction.

    ``source`` names the list for rows with an empty ``source`` column; ``allowed_villages``
    (None for all) refuses rows of other villages. Raises `FileRefused` when nothing of the
    file can be imported and `NotFound` for an unknown project; never commits.
    """
    project = session.get(Project, project_id)
    if project is None or project.deleted_at is not None:
        raise NotFound(f"project {project_id}")
    table = read_table(data)
    now = now or utcnow()
    report = ImportReport(dry_run=dry_run)
    savepoint = session.begin_nested() if dry_run else None
    try:
        if store is not None:
            villages.ensure_villages(session, store, project_id)
        ctx = _Context(session, project, villages.load_directory(session, project_id),
                       clean(source) or "import", create_villages, allowed_villages,
                       now.date(), report)
        parsed = _rows(table, ctx)
        _import_parsed(session, project, parsed, report, model, now)
    finally:
        if savepoint is not None:
            savepoint.rollback()
    report.results.sort(key=lambda result: result.row)
    return report


def _import_parsed(session: Session, project: Project, parsed: list[ImportRow | RowResult],
                   report: ImportReport, model: MatchModel | None, now: datetime) -> None:
    valid = [row for row in parsed if isinstance(row, ImportRow)]
    report.results.extend(row for row in parsed if isinstance(row, RowResult))
    done = _already_imported(session, project.id, [row.source_key for row in valid])
    for row in valid:
        if row.source_key in done:
            report.results.append(RowResult(row.number, row.record_id,
                                            Outcome.ALREADY_IMPORTED, "already imported",
                                            done[row.source_key]))
    fresh = [row for row in valid if row.source_key not in done]
    pm = project_matcher(session, project.id, {}, model or MatchModel.load())
    for group in _households(fresh):
        _place_household(session, pm, project, group, report, now)
