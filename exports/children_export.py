"""The children export: the commune's merged list of children, as CSV or XLSX (docs/reports.md).

One row per *current* child the caller may see (`exports.registry_rows`: a merged id is never a
row), in the children list's order and with its filters, so the file holds exactly what the
list showed. The columns, Vietnamese headers by default, English with ``language="en"``:

    code · full name · home name · sex · date of birth · its precision · age on the export day ·
    village · village code · household head · mother · father · guardian · personal ID ·
    one column per category · care arrangement · alternative care registered · support received ·
    school status · vital status · last visit · open flags · their kinds · first reported ·
    source reports

A category has a column only when the caller could see that code on some child of its
villages (`visible_codes`): for a redacted caller the sensitive categories' columns are
absent, not empty — an empty column headed "Trẻ em bị xâm hại tình dục" would still say the
commune keeps such a list (docs/privacy.md §4, §8). Columns follow the catalogue's order:
Article 10 in the law's order, then the plan markers.

A category cell of the CSV says the status and its dates in words an officer reads:
"Xác nhận từ 12/03/2026", "Tạm thời từ …", "Chờ xem xét từ …" (a confidential referral),
"Đã kết thúc 01/10/2026". The XLSX gives each category three columns instead — the status
alone, the day it opened, the day it ended — because in Excel an officer filters a column on
"Xác nhận" and sorts or filters the dates as dates, which one sentence per cell would not let
them do. A child with several episodes of one category shows its open one, else its latest.

CSV text cells are spreadsheet-safe (`exports.cells.safe_cell`) unless ``raw``; labels the
server writes itself go through `safe_cell` once, when their table is built. XLSX cells are
typed (`exports.xlsx_book`): text as text (a name `=HYPERLINK(…)` stays text), numbers as
numbers, dates as dates; a partial date of birth ("2015-03") stays text, since a date cell
would claim a day nobody knows.

Dates are Vietnamese calendar days (UTC+7); the CSV writes dates as ISO text (2026-03-12),
which every spreadsheet reads in every locale, and the category sentences as dd/mm/yyyy.

Plain Python, no Flask: the API (`server.api.v1.registry_exports`) and the CLI
(`diemtua registry export`) both write through these functions.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache, partial
from itertools import islice
from pathlib import Path
from typing import IO

from exports.cells import FORMULA_STARTS, safe_cell
from exports.periods import VIETNAM_OFFSET, vietnam_day
from exports.registry_rows import ChildRow, EpisodeRow
from exports.xlsx_book import (
    ANY,
    DATE,
    NUMBER,
    TEXT,
    Cell,
    ColumnKind,
    Sheet,
    write_book,
    write_book_in_child,
)
from server.registry.access import RegistryAccess, is_health_code, is_sensitive_code
from server.registry.children_query import ChildFilters
from sync.categories import default_catalogue
from sync.vietnamese import clean, fold
from xlsforms.sheet import EN, VI, Row
from xlsforms.sources.choices import CARER_TYPE, SCHOOL_STATUS, SUPPORT

LANGUAGES = ("vi", "en")
BOM = b"\xef\xbb\xbf"
CHUNK_BYTES = 64 * 1024
_CSV_BATCH = 200  # rows handed to csv.writer.writerows at once (about one chunk)
CSV_TYPE = "text/csv; charset=utf-8"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# Stored timestamps are naive UTC (server.db.utcnow); officers read Vietnamese days.

# (Vietnamese, English) of every fixed header, in column order around the categories.
_BEFORE_CATEGORIES: tuple[tuple[str, str], ...] = (
    ("Mã trẻ", "Child code"),
    ("Họ và tên", "Full name"),
    ("Tên thường gọi ở nhà", "Home name"),
    ("Giới tính", "Sex"),
    ("Ngày sinh", "Date of birth"),
    ("Độ chính xác ngày sinh", "Date of birth precision"),
    ("Tuổi (vào ngày xuất)", "Age on export day"),
    ("Thôn", "Village"),
    ("Mã thôn", "Village code"),
    ("Chủ hộ", "Household head"),
    ("Họ tên mẹ", "Mother"),
    ("Họ tên cha", "Father"),
    ("Người giám hộ", "Guardian"),
    ("Số định danh cá nhân", "Personal ID"),
)
_AFTER_CATEGORIES: tuple[tuple[str, str], ...] = (
    ("Hình thức chăm sóc", "Care arrangement"),
    ("Đã đăng ký chăm sóc thay thế", "Alternative care registered"),
    ("Hỗ trợ đã nhận", "Support received"),
    ("Tình trạng đi học", "School status"),
    ("Tình trạng", "Vital status"),
    ("Lần thăm gần nhất", "Last visit"),
    ("Số cảnh báo đang mở", "Open flags"),
    ("Loại cảnh báo đang mở", "Open flag kinds"),
    ("Báo cáo lần đầu", "First reported"),
    ("Số báo cáo nguồn", "Source reports"),
)
# XLSX: after each category's status column (headed like the CSV's), its two dates.
_CATEGORY_DATES = (("từ ngày", "since"), ("ngày kết thúc", "ended"))

_SEX = {"M": ("Nam", "Male"), "F": ("Nữ", "Female"), "U": ("Không rõ", "Unknown")}
# Both vocabularies the registry stores (`sync.dates` precisions and the form's words).
_PRECISION = {
    "day": ("Đủ ngày, tháng, năm", "Full date"), "full": ("Đủ ngày, tháng, năm", "Full date"),
    "month": ("Tháng và năm", "Month and year"),
    "month_year": ("Tháng và năm", "Month and year"),
    "year": ("Chỉ năm", "Year only"), "year_only": ("Chỉ năm", "Year only"),
    "estimated": ("Ước tính", "Estimated"),
}
_YES_NO = {"yes": ("Có", "Yes"), "no": ("Không", "No"), "dont_know": ("Không rõ", "Don't know"),
           "dk": ("Không rõ", "Don't know")}
_VITAL = {"active": ("Đang ở địa phương", "Living here"),
          "moved_away": ("Đã chuyển đi", "Moved away"), "died": ("Đã mất", "Died")}
_FLAG_KINDS = {
    "new_special_circumstance": ("Trẻ mới có hoàn cảnh đặc biệt",
                                 "New child in special circumstances"),
    "urgent": ("Khẩn cấp", "Urgent"),
    "referral": ("Chuyển cán bộ xem xét", "Referral to the officer"),
    "followup_not_applied": ("Lượt thăm lại chưa được áp dụng", "Follow-up visit not applied"),
}
# An episode's status alone (XLSX), and as the start of a sentence with its date (CSV).
_STATUS = {"provisional": ("Tạm thời", "Provisional"), "confirmed": ("Xác nhận", "Confirmed"),
           "referred": ("Chờ xem xét", "Referred"), "ended": ("Đã kết thúc", "Ended")}
_SINCE = ("từ", "since")
_SCOPE = (("Đầy đủ", "Full"),
          ("Đã lược bỏ thông tin nhạy cảm", "Sensitive information left out"))
_ABOUT = {
    "what": ("Nội dung", "Contents"),
    "what_value": ("Danh sách trẻ em trong sổ theo dõi", "Children of the registry"),
    "project": ("Xã (dự án)", "Commune (project)"),
    "by": ("Người xuất", "Exported by"),
    "at": ("Thời điểm xuất (giờ Việt Nam, UTC+7)", "Exported at (Vietnam time, UTC+7)"),
    "ages": ("Tuổi tính đến ngày", "Ages counted on"),
    "filters": ("Bộ lọc", "Filters"),
    "no_filter": ("Không lọc (tất cả trẻ được xem)", "None (every child one may see)"),
    "scope": ("Mức độ", "Scope"),
}
DATA_SHEET = ("Trẻ em", "Children")


class UnknownLanguage(ValueError):
    """Headers and labels exist in Vietnamese (vi) and English (en) only."""


def language_index(language: str) -> int:
    try:
        return LANGUAGES.index(language or "vi")
    except ValueError:
        raise UnknownLanguage(f"{language!r} is not one of {', '.join(LANGUAGES)}") from None


def _choices(rows: Sequence[Row]) -> dict[str, tuple[str, str]]:
    return {row["name"]: (row[f"label::{VI}"], row[f"label::{EN}"]) for row in rows}


@dataclass(frozen=True)
class _Labels:
    """Every label of one language, each already through `safe_cell`."""

    sex: Mapping[str, str]
    precision: Mapping[str, str]
    care: Mapping[str, str]
    yes_no: Mapping[str, str]
    support: Mapping[str, str]
    school: Mapping[str, str]
    vital: Mapping[str, str]
    flag_kinds: Mapping[str, str]
    status: Mapping[str, str]
    since: str


@cache
def _labels(index: int) -> _Labels:
    def pick(table: Mapping[str, tuple[str, str]]) -> dict[str, str]:
        return {code: safe_cell(pair[index]) for code, pair in table.items()}

    return _Labels(
        sex=pick(_SEX), precision=pick(_PRECISION), care=pick(_choices(CARER_TYPE)),
        yes_no=pick(_YES_NO), support=pick(_choices(SUPPORT)),
        school=pick(_choices(SCHOOL_STATUS)), vital=pick(_VITAL), flag_kinds=pick(_FLAG_KINDS),
        status=pick(_STATUS), since=_SINCE[index])


def visible_codes(access: RegistryAccess) -> tuple[str, ...]:
    """Catalogue codes (in catalogue order) the caller could see on some child of its
    villages: every code with `registry.read_sensitive` somewhere; otherwise the codes that
    are not sensitive, and the health ones for the health station (`RegistryAccess`)."""
    if access.read.is_empty:
        return ()
    return tuple(c.code for c in default_catalogue()
                 if not access.sensitive.is_empty or not is_sensitive_code(c.code)
                 or (is_health_code(c.code) and not access.health.is_empty))


def is_redacted(access: RegistryAccess) -> bool:
    """Whether anything is left out for this caller: it reads sensitive categories not in
    every village it reads (or nowhere)."""
    return not access.sees_everything


def _day_text(day: date) -> str:
    return f"{day.day:02d}/{day.month:02d}/{day.year}"


def _full_date(text: str | None) -> date | None:
    if text is None or len(text) != 10:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def shown_episodes(row: ChildRow) -> dict[str, EpisodeRow]:
    """One episode per category: the open one, else the latest (episodes come oldest first
    within a category, those opened at the same time in the order they were made; of two
    open ones, the later)."""
    shown: dict[str, EpisodeRow] = {}
    for episode in row.episodes:
        best = shown.get(episode.code)
        if best is None or episode.is_open or not best.is_open:
            shown[episode.code] = episode
    return shown


def _same(text: str) -> str:
    return text


_FORMULA_FIRST = frozenset(start[0] for start in FORMULA_STARTS)
_NEVER: frozenset[str] = frozenset()
# CSV columns before the categories that hold free text (names … personal ID).
_FREE_TEXT_BEFORE = (1, 2, 7, 8, 9, 10, 11, 12, 13)
_AGE = 6  # the CSV column of the age on the export day


class ChildrenLayout:
    """The columns of one export: its language, its category columns, the day ages count on.

    Built once per export; it keeps what every row would otherwise recompute (labels, the
    empty category cells, the age of each distinct date of birth), since a commune's file
    has 500,000 rows (docs/reports.md).
    """

    def __init__(self, language: str, codes: Sequence[str], today: date) -> None:
        self.index = language_index(language)
        self.language = LANGUAGES[self.index]
        self.codes = tuple(codes)
        self.today = today
        self._labels = _labels(self.index)
        self._no_categories = [""] * len(self.codes)
        self._ages: dict[str, int | None] = {}

    @classmethod
    def for_caller(cls, access: RegistryAccess, language: str, today: date) -> ChildrenLayout:
        return cls(language, visible_codes(access), today)

    @property
    def labels(self) -> _Labels:
        return self._labels

    def _category_titles(self) -> list[str]:
        catalogue = default_catalogue()
        return [f"{code} {(catalogue.get(code).label_vi, catalogue.get(code).label_en)[self.index]}"
                for code in self.codes]

    def _fixed(self, headers: tuple[tuple[str, str], ...]) -> list[str]:
        return [pair[self.index] for pair in headers]

    def csv_header(self) -> list[str]:
        return [*self._fixed(_BEFORE_CATEGORIES), *self._category_titles(),
                *self._fixed(_AFTER_CATEGORIES)]

    def xlsx_header(self) -> list[str]:
        since, ended = (pair[self.index] for pair in _CATEGORY_DATES)
        categories = [title for code, status in zip(self.codes, self._category_titles(),
                                                    strict=True)
                      for title in (status, f"{code} {since}", f"{code} {ended}")]
        return [*self._fixed(_BEFORE_CATEGORIES), *categories, *self._fixed(_AFTER_CATEGORIES)]

    def xlsx_widths(self) -> list[float]:
        return [9, 26, 14, 9, 11, 12, 8, 16, 9, 24, 24, 24, 24, 15,
                *([14, 11, 11] * len(self.codes)), 22, 12, 30, 20, 16, 11, 9, 26, 11, 9]

    def xlsx_kinds(self) -> list[ColumnKind]:
        """Each XLSX column's type (`xlsx_cells`): a date of birth or a last visit is a date
        when it is a full one, else text."""
        text: list[ColumnKind] = [TEXT] * 7
        category: list[ColumnKind] = [TEXT, DATE, DATE]
        situation: list[ColumnKind] = [TEXT] * 5
        return [TEXT, TEXT, TEXT, TEXT, ANY, TEXT, NUMBER, *text, *(category * len(self.codes)),
                *situation, ANY, NUMBER, TEXT, DATE, NUMBER]

    # --- cells ----------------------------------------------------------------------------

    def age(self, row: ChildRow) -> int | None:
        """`ChildRow.age_on` the export day, once per distinct date of birth."""
        if row.dob is None:
            return None
        if row.dob not in self._ages:
            self._ages[row.dob] = row.age_on(self.today)
        return self._ages[row.dob]

    def _category_sentence(self, episode: EpisodeRow | None) -> str:
        if episode is None:
            return ""
        labels = self._labels
        status = labels.status.get(episode.status) or safe_cell(episode.status)
        if episode.status == "ended":
            ended = vietnam_day(episode.ended_at)
            return f"{status} {_day_text(ended)}" if ended else status
        opened = vietnam_day(episode.opened_at)
        return f"{status} {labels.since} {_day_text(opened)}" if opened else status

    def csv_cells(self, row: ChildRow, *, raw: bool = False) -> list[str]:
        """The row's CSV cells; free text spreadsheet-safe unless `raw`.

        Written out rather than through helpers: 500,000 rows make every call count
        (docs/reports.md §5). A cell is made safe only when its first character could start
        a formula (`_FORMULA_FIRST`), which few names do."""
        labels = self._labels
        first_chars = _NEVER if raw else _FORMULA_FIRST
        text = _same if raw else safe_cell
        cells = [
            row.code, row.full_name, row.home_name, _label(labels.sex, row.sex, text),
            row.dob or "",
            _label(labels.precision, row.dob_precision, text), "", row.village_name,
            row.village_code, row.household_head, row.mother_name, row.father_name,
            row.guardian_name, row.personal_id]
        for column in _FREE_TEXT_BEFORE:
            value = cells[column]
            if value and value[0] in first_chars:
                cells[column] = safe_cell(value)
        age = self.age(row)
        if age is not None:
            cells[_AGE] = str(age)
        if row.episodes:
            shown = shown_episodes(row)
            cells += [self._category_sentence(shown.get(code)) for code in self.codes]
        else:
            cells += self._no_categories
        cells += _situation(row, labels, text)
        last_visit = row.last_visit or ""
        if last_visit and last_visit[0] in first_chars:
            last_visit = safe_cell(last_visit)
        first = row.first_reported_at
        cells += (last_visit, str(len(row.flags)) if row.flags else "0",
                  _flag_kinds(row, labels, text) if row.flags else "",
                  "" if first is None else (first + VIETNAM_OFFSET).date().isoformat(),
                  str(row.report_count))
        return cells

    def xlsx_cells(self, row: ChildRow) -> list[Cell]:
        """The row's XLSX cells: dates as dates, numbers as numbers, text as text."""
        labels = self._labels
        categories: list[Cell] = []
        if row.episodes:
            shown = shown_episodes(row)
            for code in self.codes:
                episode = shown.get(code)
                if episode is None:
                    categories += (None, None, None)
                else:
                    categories += (labels.status.get(episode.status, episode.status),
                                   vietnam_day(episode.opened_at),
                                   vietnam_day(episode.ended_at))
        else:
            categories = [None] * (3 * len(self.codes))
        return [
            row.code, row.full_name, row.home_name, labels.sex.get(row.sex, row.sex),
            _full_date(row.dob) or row.dob, _label(labels.precision, row.dob_precision, _same),
            self.age(row), row.village_name, row.village_code, row.household_head,
            row.mother_name, row.father_name, row.guardian_name, row.personal_id,
            *categories, *_situation(row, labels, _same),
            _full_date(row.last_visit) or row.last_visit, len(row.flags),
            _flag_kinds(row, labels, _same), vietnam_day(row.first_reported_at),
            row.report_count,
        ]


def _label(table: Mapping[str, str], code: str | None, text: Callable[[str], str]) -> str:
    """A code's label; a code the table does not know as it is (made safe)."""
    if not code:
        return ""
    return table.get(code) or text(code)


def _situation(row: ChildRow, labels: _Labels, text: Callable[[str], str]) -> list[str]:
    """Care arrangement, whether it is registered, support, school and vital status.

    `_label` written out: five cells of 500,000 rows."""
    care, registered = row.care_arrangement, row.care_registered
    school, vital = row.school_status, row.vital_status
    return [
        (labels.care.get(care) or text(care)) if care else "",
        (labels.yes_no.get(registered) or text(registered)) if registered else "",
        support_cell(row.support, labels, text) if row.support else "",
        (labels.school.get(school) or text(school)) if school else "",
        (labels.vital.get(vital) or text(vital)) if vital else "",
    ]


def support_cell(codes: Sequence[str], labels: _Labels, text: Callable[[str], str]) -> str:
    """The support received: each code's label, or the code (made safe), joined by "; "."""
    return "; ".join([labels.support.get(code) or text(code) for code in codes])


def _flag_kinds(row: ChildRow, labels: _Labels, text: Callable[[str], str]) -> str:
    """The kinds of the child's open flags, each once, oldest flag first."""
    if not row.flags:
        return ""
    kinds = dict.fromkeys(flag.kind for flag in row.flags)
    return "; ".join(_label(labels.flag_kinds, kind, text) for kind in kinds)


# --- writing ------------------------------------------------------------------------------


def csv_header_cells(layout: ChildrenLayout, *, raw: bool = False) -> list[str]:
    return layout.csv_header() if raw else [safe_cell(h) for h in layout.csv_header()]


def csv_chunks(rows: Iterable[ChildRow], layout: ChildrenLayout, *, bom: bool = False,
               raw: bool = False) -> Iterator[bytes]:
    """The CSV (UTF-8, CRLF lines as RFC 4180 and Excel write them) in chunks of about
    `CHUNK_BYTES`; a UTF-8 byte order mark first with `bom` (older Excel needs it to read
    Vietnamese). With no rows: the header line alone. The download and the CLI come through
    `exports.children_csv_sql.children_csv`, which has PostgreSQL write these same bytes."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(csv_header_cells(layout, raw=raw))
    first = BOM if bom else b""
    cells = partial(layout.csv_cells, raw=raw)
    rows = iter(rows)
    while batch := list(islice(rows, _CSV_BATCH)):
        writer.writerows(map(cells, batch))
        if buffer.tell() >= CHUNK_BYTES:
            yield first + buffer.getvalue().encode("utf-8")
            first = b""
            buffer.seek(0)
            buffer.truncate()
    yield first + buffer.getvalue().encode("utf-8")


@dataclass(frozen=True)
class About:
    """What the first sheet says of an export (docs/privacy.md §8: files get forwarded)."""

    project: str
    exported_by: str
    exported_at: datetime  # naive UTC
    filters: ChildFilters
    redacted: bool


def about_lines(about: About, layout: ChildrenLayout) -> list[tuple[str, Cell]]:
    index = layout.index

    def label(key: str) -> str:
        return _ABOUT[key][index]

    filters = about.filters.as_dict()
    shown = "; ".join(f"{name}={value}" for name, value in filters.items())
    return [
        (label("what"), label("what_value")),
        (label("project"), about.project),
        (label("by"), about.exported_by),
        (label("at"), about.exported_at + VIETNAM_OFFSET),
        (label("ages"), layout.today),
        (label("filters"), shown or label("no_filter")),
        (label("scope"), _SCOPE[about.redacted][index]),
    ]


def write_xlsx(target: str | Path | IO[bytes], rows: Iterable[ChildRow],
               layout: ChildrenLayout, about: About) -> int:
    """The about sheet, then one sheet of children (constant memory); returns the rows.

    To a file, XlsxWriter runs in a child process while this one reads and formats the rows
    (`write_book_in_child`: a commune's 500,000 children in about the time XlsxWriter alone
    takes); to an open handle, all in this process."""
    sheet = Sheet(DATA_SHEET[layout.index], layout.xlsx_header(),
                  map(layout.xlsx_cells, rows), layout.xlsx_widths(), layout.xlsx_kinds())
    if isinstance(target, str | Path):
        return write_book_in_child(target, about_lines(about, layout), [sheet])[0]
    return write_book(target, about_lines(about, layout), [sheet])[0]


def file_name(project: str, day: date, extension: str) -> str:
    """``tre-em-xa-hoa-binh-20261205.csv``: the commune's name without marks, and the day."""
    slug = "".join(c if c.isascii() and c.isalnum() else "-" for c in fold(clean(project)))
    slug = "-".join(part for part in slug.split("-") if part) or "xa"
    return f"tre-em-{slug}-{day:%Y%m%d}.{extension}"
