"""Reading an import file's rows: columns, cell values, the checks that refuse a row and
the doubtful fields a kept row carries.

The rules of the template (README "Importing the lists a commune already has") and the
decisions about what a row may contain are in `server.registry.importer`'s docstring; this
module is their code, and the report types that both modules share (`Outcome`, `RowResult`,
`ImportReport`). A row is refused only when it is a wrong row (no name, no village, a village
of another commune or outside the caller's villages, a source key twice, another commune's
code); one doubtful field (a personal ID, date of birth, sex or category code that does not
check out) keeps the row with the field listed (`sync.doubtful`, docs/registry.md "Doubtful
fields").
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Any, TypeVar

from sqlalchemy.orm import Session

from server.models import Project, Village
from server.registry import villages
from server.registry.import_files import FileRefused, Table
from sync.categories import default_catalogue
from sync.dates import PartialDate
from sync.doubtful import ID_DOUBT_WORDS, UNKNOWN_SEX_WORDS, Doubt, Reason, doubtful_fields
from sync.matching.records import Sex, parse_sex
from sync.personal_id import clean_personal_id
from sync.vietnamese import clean, fold

TEMPLATE_COLUMNS = (
    "record_id", "source", "submission_id", "collaborator_id", "submitted_at", "commune_code",
    "commune", "village", "household_head", "full_name", "sex", "dob", "mother_name",
    "father_name", "guardian_name", "personal_id", "special_circumstances", "home_name",
)
REQUIRED_COLUMNS = ("record_id", "full_name", "village")
NAME_COLUMNS = ("full_name", "household_head", "mother_name", "father_name", "guardian_name",
                "home_name")
MAX_TEXT = 255  # the name columns of child_records
MAX_KEY = 120  # record_id, source, submission_id: the household key fits in 255
MAX_PERSONAL_ID = 32  # child_records.personal_id; a longer doubtful one is kept in `doubtful`
QUERY_CHUNK = 500
T = TypeVar("T")


class Outcome(StrEnum):
    CREATED = "created"  # a new registry child
    LINKED = "linked"  # the same child as one already in the registry
    QUEUED = "queued"  # possibly an existing child: a new child for now, and a person decides
    REFUSED = "refused"
    ALREADY_IMPORTED = "already_imported"


@dataclass(frozen=True, slots=True)
class RowProblem:
    """One reason a row is refused: Vietnamese (what a commune officer reads first), English,
    and the template column to fix ("" when it is the row as a whole)."""

    vi: str
    en: str
    column: str = ""

    def as_json(self) -> dict[str, str | None]:
        return {"vi": self.vi, "en": self.en, "column": self.column or None}


_NOT_MATCHED = ("đã giữ nhưng không dùng để ghép trẻ", "kept, not used for matching")


def doubt_problem(doubt: Doubt) -> RowProblem:
    """A kept row's doubtful field as the import's report says it: what is doubtful and what
    was done with it, Vietnamese first."""
    value = doubt.value
    if doubt.field == "personal_id":
        vi, en = ID_DOUBT_WORDS.get(doubt.reason, (doubt.reason, doubt.reason))
        return RowProblem(f"mã định danh {value!r} nghi sai ({vi}): {_NOT_MATCHED[0]}",
                          f"personal_id {value!r} is doubtful ({en}): {_NOT_MATCHED[1]}",
                          "personal_id")
    if doubt.reason == Reason.IN_FUTURE:
        return RowProblem(f"ngày sinh {value} ở tương lai: {_NOT_MATCHED[0]}",
                          f"dob {value} is in the future: {_NOT_MATCHED[1]}", "dob")
    if doubt.reason == Reason.NOT_A_DATE:
        return RowProblem(f"ngày sinh {value!r} không phải ngày (YYYY-MM-DD, YYYY-MM hoặc "
                          "YYYY): để trống",
                          f"dob {value!r} is not a date (YYYY-MM-DD, YYYY-MM or YYYY): left "
                          "blank", "dob")
    if doubt.reason == Reason.NOT_A_SEX:
        return RowProblem(f"giới tính {value!r} không phải Nam/Nữ: để trống",
                          f"sex {value!r} is not M/F or Nam/Nữ: left blank", "sex")
    return RowProblem(f"mã hoàn cảnh đặc biệt {value} không có trong danh mục: bỏ qua",
                      f"special_circumstances code {value} is not in the catalogue: left out",
                      "special_circumstances")


@dataclass(slots=True)
class RowResult:
    row: int  # as the spreadsheet shows it: the header is row 1
    record_id: str
    outcome: Outcome
    reason: str = ""  # English; the first of `problems` for a refused row
    child_id: str | None = None
    reason_vi: str = ""
    # Every reason a refused row has, so one correction pass fixes the whole row.
    problems: list[RowProblem] = field(default_factory=list)
    # The row's full_name as written: the import page names the rows it lists (the API's
    # JSON keeps its shape without it).
    full_name: str = ""
    # A kept row's doubtful fields (`sync.doubtful`): imported, and listed for the officer.
    doubtful: list[Doubt] = field(default_factory=list)

    @classmethod
    def refused(cls, row: int, record_id: str, problems: list[RowProblem],
                full_name: str = "", doubtful: Sequence[Doubt] = ()) -> RowResult:
        return cls(row, record_id, Outcome.REFUSED, problems[0].en, reason_vi=problems[0].vi,
                   problems=list(problems), full_name=full_name, doubtful=list(doubtful))


@dataclass
class ImportReport:
    dry_run: bool
    results: list[RowResult] = field(default_factory=list)
    villages_created: list[str] = field(default_factory=list)

    def count(self, outcome: Outcome) -> int:
        return sum(1 for result in self.results if result.outcome is outcome)

    @property
    def with_doubts(self) -> list[RowResult]:
        """Rows imported (or that a dry run would import) with doubtful fields."""
        return [result for result in self.results
                if result.doubtful and result.outcome is not Outcome.REFUSED]

    @property
    def refused(self) -> list[RowResult]:
        return [result for result in self.results if result.outcome is Outcome.REFUSED]

    def as_json(self) -> dict[str, Any]:
        return {
            "dryRun": self.dry_run,
            "counts": {outcome.value: self.count(outcome) for outcome in Outcome},
            "villagesCreated": self.villages_created,
            "keptWithDoubts": len(self.with_doubts),
            "rows": [{"row": r.row, "recordId": r.record_id, "outcome": r.outcome.value,
                      "reason": r.reason or None, "reasonVi": r.reason_vi or None,
                      "problems": [problem.as_json() for problem in r.problems],
                      "doubtful": [{**d.as_json(), **doubt_problem(d).as_json()}
                                   for d in r.doubtful],
                      "childId": r.child_id}
                     for r in self.results],
        }


@dataclass(frozen=True, slots=True)
class ImportRow:
    """A valid row, ready to become a `ChildRecord`.

    Every valid row of a file is held until the file has been read (households are placed
    together, wherever their rows are), so a row is kept small: slots, and the record's
    ``raw`` (the row as written, with the commune's own columns) as its JSON text.
    """

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
    raw_json: str
    home_name: str = ""
    doubtful: tuple[Doubt, ...] = ()

    @property
    def raw(self) -> dict[str, Any]:
        value: dict[str, Any] = json.loads(self.raw_json)
        return value

    @property
    def source_key(self) -> str:
        return f"{self.source}#{self.record_id}"

    @property
    def household_key(self) -> str:
        if self.submission_id:
            return f"import:{self.source}#{self.submission_id}"
        return f"import:{self.source_key}"


class RowRefused(Exception):
    """One check of a row failed: the reason in Vietnamese (what a commune officer reads
    first) and in English (``str(exc)``), and the column it is about."""

    def __init__(self, vi: str, en: str, column: str = "") -> None:
        super().__init__(en)
        self.vi = vi
        self.column = column

    @property
    def problem(self) -> RowProblem:
        return RowProblem(self.vi, str(self), self.column)


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
            raise FileRefused(f"cột {header!r} có hai lần trong dòng tiêu đề",
                              f"the column {header!r} appears twice in the header")
        positions[name] = position
    missing = [name for name in REQUIRED_COLUMNS if name not in positions]
    if missing:
        raise FileRefused("thiếu cột bắt buộc: " + ", ".join(missing)
                          + " (dòng tiêu đề phải có record_id, full_name và village)",
                          "missing required column(s): " + ", ".join(missing)
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
    # Each cell's text, cleaned once: a row's checks ask for most cells several times.
    texts: dict[str, str] = field(default_factory=dict)

    def text(self, name: str) -> str:
        found = self.texts.get(name)
        if found is None:
            found = self.texts[name] = _text(self.values.get(name, ""))
        return found

    def raw(self, name: str) -> Any:
        return self.values.get(name, "")


# --- one row ---------------------------------------------------------------------------------


@dataclass
class RowContext:
    session: Session
    project: Project
    directory: villages.VillageDirectory
    default_source: str
    create_villages: bool
    allowed_villages: frozenset[str] | None
    today: date
    report: ImportReport


def _sex(text: str) -> Sex:
    """M/F, Nam/Nữ…; unknown for a blank, "không rõ" or a word that is not a sex (the last
    is a doubtful field, `sync.doubtful`)."""
    if not text or fold(text) in UNKNOWN_SEX_WORDS:
        return Sex.UNKNOWN
    return parse_sex(text)


def _dob_text(value: Any) -> str:
    if isinstance(value, int) and 1900 <= value <= 9999:
        return str(value)  # a year typed into a number cell
    return _text(value)


def _dob(value: Any) -> PartialDate | None:
    """The date of birth, or None when blank or unreadable (then a doubtful field)."""
    if value in ("", None):
        return None
    return PartialDate.parse(value if isinstance(value, date) else _dob_text(value))


def _personal_id_text(value: Any) -> str:
    # Excel drops the leading zeros of a number cell (001… is Hà Nội): put them back.
    return str(value).zfill(12) if isinstance(value, int) else _text(value)


def _stored_personal_id(text: str) -> str:
    """The number as stored: digits without separators, kept even when doubtful (what was
    given), unless longer than the column (the `doubtful` item keeps it then)."""
    digits = clean_personal_id(text) or ""
    return digits if len(digits) <= MAX_PERSONAL_ID else ""


def _codes(text: str) -> tuple[tuple[str, ...], list[Doubt]]:
    """The catalogue's codes of the row; unknown ones are left out, each a doubtful field."""
    catalogue = default_catalogue()
    codes = [part.strip().upper() for part in text.replace(",", ";").split(";")]
    codes = [code for code in dict.fromkeys(codes) if code]
    return (tuple(code for code in codes if code in catalogue),
            [Doubt("special_circumstances", code, Reason.UNKNOWN_CODE)
             for code in codes if code not in catalogue])


def _commune(cells: _Cells, project: Project) -> None:
    given, ours = cells.text("commune_code"), (project.commune_code or "").strip()
    if not given or not ours:
        return
    same = given.lstrip("0") == ours.lstrip("0") if given.isdigit() and ours.isdigit() \
        else given.lower() == ours.lower()
    if not same:
        raise RowRefused(f"mã xã {given} không phải xã của dự án này ({ours})",
                         f"commune_code {given} is not this project's commune ({ours})",
                         "commune_code")


def _village(cells: _Cells, ctx: RowContext, *, may_create: bool) -> Village | None:
    """The row's village; an unknown one is created (``--create-villages``) only when
    `may_create`, else None: a row refused for another reason never adds a village."""
    text = cells.text("village")
    village = ctx.directory.find(text)
    if village is None:
        if not ctx.create_villages:
            raise RowRefused(f"không có thôn {text!r} trong xã (không trùng mã hay tên thôn "
                             "nào; --create-villages để thêm)",
                             f"unknown village {text!r} (not a code or name of this commune's "
                             "villages; --create-villages adds it)", "village")
        if ctx.allowed_villages is not None:
            raise RowRefused(f"không có thôn {text!r}; chỉ người phụ trách mọi thôn mới được "
                             "thêm thôn",
                             f"unknown village {text!r}; only a user of every village may add "
                             "one", "village")
        if not may_create:
            return None
        try:
            village = villages.create(ctx.session, ctx.project.id, text)
        except ValueError as exc:
            raise RowRefused(f"thôn {text!r}: {exc}", f"village {text!r}: {exc}",
                             "village") from None
        ctx.directory.add(village)
        ctx.report.villages_created.append(village.code)
    if ctx.allowed_villages is not None and village.code not in ctx.allowed_villages:
        raise RowRefused(f"thôn {village.code} không thuộc các thôn bạn phụ trách",
                         f"village {village.code} is not one of your villages", "village")
    return village


def _too_long(name: str, limit: int) -> RowProblem:
    return RowProblem(f"{name} dài quá {limit} ký tự", f"{name} is longer than {limit} characters",
                      name)


def _required(cells: _Cells) -> list[RowProblem]:
    """An empty required cell, or a cell longer than its column holds: one problem each."""
    found = [RowProblem(f"để trống {name}", f"empty {name}", name)
             for name in REQUIRED_COLUMNS if not cells.text(name)]
    found += [_too_long(name, MAX_KEY) for name in ("record_id", "submission_id")
              if len(cells.text(name)) > MAX_KEY]
    found += [_too_long(name, MAX_TEXT) for name in NAME_COLUMNS
              if len(cells.text(name)) > MAX_TEXT]
    return found


class RowInvalid(Exception):
    """A row with at least one problem; `problems` holds every one found, `doubtful` the
    doubtful fields to check too while the row is fixed."""

    def __init__(self, problems: list[RowProblem], doubtful: Sequence[Doubt] = ()) -> None:
        super().__init__(problems[0].en)
        self.problems = problems
        self.doubtful = doubtful


def _checked(found: list[RowProblem], check: Callable[[], T], fallback: T) -> T:
    """Run one check of a row; a refusal joins `found` and the row goes on with `fallback`,
    so the next checks still run and the officer hears every problem at once."""
    try:
        return check()
    except RowRefused as exc:
        found.append(exc.problem)
        return fallback


def _source(cells: _Cells, ctx: RowContext) -> str:
    return cells.text("source") or ctx.default_source


def _parse_row(number: int, cells: _Cells, extra: dict[str, Any], ctx: RowContext) -> ImportRow:
    """A row to import, with its doubtful fields, or `RowInvalid` with every problem found.
    The village comes last, and is created only for a row without another problem."""
    found = _required(cells)
    source = _source(cells, ctx)
    if len(source) > MAX_KEY:
        found.append(_too_long("source", MAX_KEY))
    _checked(found, lambda: _commune(cells, ctx.project), None)
    sex, dob = _sex(cells.text("sex")), _dob(cells.raw("dob"))
    personal_id = _personal_id_text(cells.raw("personal_id"))
    codes, unknown_codes = _codes(cells.text("special_circumstances"))
    doubts = doubtful_fields(today=ctx.today, sex_given=cells.text("sex"), sex=sex,
                             dob_given=_dob_text(cells.raw("dob")), dob=dob,
                             personal_id=personal_id) + unknown_codes
    village = None
    if cells.text("village"):
        village = _checked(found, lambda: _village(cells, ctx, may_create=not found), None)
    if found or village is None:
        raise RowInvalid(found, doubts)
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
        personal_id=_stored_personal_id(personal_id), codes=codes,
        raw_json=json.dumps(raw, ensure_ascii=False), home_name=cells.text("home_name"),
        doubtful=tuple(doubts))


def _repeated(record_id: str, first: int) -> RowProblem:
    return RowProblem(f"record_id {record_id} bị lặp lại (lần đầu ở dòng {first})",
                      f"record_id {record_id} appears again (first on row {first})",
                      "record_id")


def parse_rows(table: Table, ctx: RowContext) -> list[ImportRow | RowResult]:
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
        except RowInvalid as exc:
            record_id = values.text("record_id")
            first = first_seen.get(f"{_source(values, ctx)}#{record_id}")
            repeated = [_repeated(record_id, first)] if record_id and first else []
            out.append(RowResult.refused(number, record_id, exc.problems + repeated,
                                         values.text("full_name"), exc.doubtful))
            continue
        if row.source_key in first_seen:
            out.append(RowResult.refused(number, row.record_id,
                                         [_repeated(row.record_id, first_seen[row.source_key])],
                                         row.full_name, row.doubtful))
            continue
        first_seen[row.source_key] = number
        out.append(row)
    return out
