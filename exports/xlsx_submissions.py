"""`submissions.xlsx`: a form's submissions as a workbook an officer reads and forwards.

The same tables as the CSV zip (`exports.csv_export.layout`): the submissions, then one sheet
per repeat group, its rows tied to their parent row by Central's `PARENT_KEY` → `KEY`. What
changes is what a person needs: headers are the questions' labels in Vietnamese or English
(`exports.form_labels`), choices show their labels, numbers are numbers, dates and times are
Excel dates in Vietnam time (UTC+7), a received file is a link to its API URL, and a first
sheet "Thông tin" says who exported what and when, and whether answers were hidden from them
(docs/privacy.md §8: exports are marked, because files get forwarded). Every text cell is
written as a string, never as a formula (README "Spreadsheet formulas").

The workbook is written by XlsxWriter in constant-memory mode (`exports.xlsx_book`), row by
row, to a temporary file that is streamed back and deleted. Submissions are read once: while
the main sheet is written, repeat rows wait in spooled temporary files, as in the CSV zip.
"""

from __future__ import annotations

import itertools
import os
import pickle
import re
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path
from typing import IO
from urllib.parse import quote

from exports.csv_export import Table, layout
from exports.form_labels import FormLabels
from exports.periods import VIETNAM_OFFSET
from exports.records import InstanceReader, Node, repeat_rows
from exports.schema import Field, FormSchema
from exports.source import ExportRow
from exports.xlsx_book import Cell, Link, Sheet, sheet_title, write_book
from exports.zipstream import CHUNK

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
VIETNAM = timezone(VIETNAM_OFFSET, "UTC+7")
# Excel's limits: rows of a sheet (less the header), hyperlinks of a sheet, characters of a
# link. Past them a table goes on in a sheet "… (2)", and a link is shown as its URL.
MAX_ROWS = 1_048_575
MAX_LINKS = 65_530
MAX_URL = 2_079
SPOOL_BYTES = 4 * 1024 * 1024

_INT = re.compile(r"[+-]?[0-9]{1,15}")  # more digits than Excel keeps stay text
_DECIMAL = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
GEOPOINT_PARTS = {"vi": ("vĩ độ", "kinh độ", "độ cao", "độ chính xác"),
                  "en": ("latitude", "longitude", "altitude", "accuracy")}

# (Vietnamese, English) words of the sheets; the API's `?lang=` picks one.
WORDS: dict[str, tuple[str, str]] = {
    "SubmissionDate": ("Ngày gửi (giờ Việt Nam)", "Submitted (Vietnam time)"),
    "SubmitterID": ("Mã người gửi", "Submitter ID"),
    "SubmitterName": ("Người gửi", "Submitter"),
    "AttachmentsPresent": ("Số tệp đã nhận", "Attachments present"),
    "AttachmentsExpected": ("Số tệp cần có", "Attachments expected"),
    "ReviewState": ("Tình trạng duyệt", "Review state"),
    "DeviceID": ("Mã thiết bị", "Device ID"),
    "Edits": ("Số lần sửa", "Edits"),
    "FormVersion": ("Phiên bản biểu mẫu", "Form version"),
    "hasIssues": ("Có vấn đề", "Has issues"),
    "edited": ("Đã sửa", "Edited"),
    "approved": ("Đã duyệt", "Approved"),
    "rejected": ("Từ chối", "Rejected"),
}


def word(key: str, language: str) -> str:
    vietnamese, english = WORDS[key]
    return english if language == "en" else vietnamese


@dataclass(frozen=True)
class ExportInfo:
    """What the file is, for its first sheet, and where its links point."""

    exported_by: str
    exported_at: datetime  # aware
    project_name: str
    form_id: str
    form_title: str
    form_version: str
    language: str  # "vi" or "en"
    redacted: bool  # answers hidden from this caller are absent
    villages: frozenset[str] | None  # None: every village
    form_url: str  # `{public}/v1/projects/{p}/forms/{f}`, for links to received files

    def attachment_url(self, instance_id: str, name: str) -> str:
        return (f"{self.form_url}/submissions/{quote(instance_id, safe=':')}/attachments/"
                f"{quote(name, safe='')}")


# --- cells --------------------------------------------------------------------------------

Maker = Callable[[str, str], Cell]  # (answer text, instanceID) → cell


def _integer(text: str) -> Cell:
    stripped = text.strip()
    return int(stripped) if _INT.fullmatch(stripped) else text


def _decimal(text: str) -> Cell:
    stripped = text.strip()
    if not _DECIMAL.fullmatch(stripped):
        return text
    number = float(stripped)
    return number if abs(number) < 1e300 else text


def _date(text: str) -> Cell:
    stripped = text.strip()
    if not _DATE.fullmatch(stripped):
        return text
    try:
        day = date.fromisoformat(stripped)
    except ValueError:
        return text
    return day if day.year >= 1900 else text  # Excel has no earlier dates


def _date_time(text: str) -> Cell:
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        return text
    if moment.tzinfo is not None:
        moment = moment.astimezone(VIETNAM).replace(tzinfo=None)
    return moment if moment.year >= 1900 else text


_CONVERTERS: dict[str, Callable[[str], Cell]] = {
    "int": _integer, "decimal": _decimal, "date": _date, "dateTime": _date_time}


def _geopoint_part(index: int) -> Maker:
    def part(text: str, _instance_id: str) -> Cell:
        parts = text.split()
        return _decimal(parts[index]) if index < len(parts) else None
    return part


class _Links:
    """Links to one table's received files, up to Excel's limit for a sheet (counted over the
    table: one continued on further sheets links its first files only); then the URL."""

    def __init__(self, info: ExportInfo) -> None:
        self.info = info
        self.written = 0

    def cell(self, name: str, instance_id: str) -> Cell:
        url = self.info.attachment_url(instance_id, name)
        if self.written >= MAX_LINKS or len(url) > MAX_URL:
            return url
        self.written += 1
        return Link(url, name)


def _makers(item: Field, labels: FormLabels, links: _Links) -> tuple[Maker, ...]:
    """What makes the cells of a field's columns (a geopoint has four)."""
    kind = item.type
    if item.path in labels.choices:
        path, many = item.path, item.select_multiple
        return (lambda text, _id: labels.choice_labels(path, text, many),)
    if kind == "geopoint":
        return tuple(_geopoint_part(index) for index in range(4))
    if kind == "binary":
        return (lambda text, instance_id: links.cell(text.strip(), instance_id),)
    convert = _CONVERTERS.get(kind)
    if convert is None:
        return (lambda text, _id: text,)
    return (lambda text, _id: convert(text),)


def _header(table: Table, labels: FormLabels, language: str) -> list[str]:
    header: list[str] = []
    for item in table.fields:
        label = labels.question(item.path, item.name)
        if item.type == "geopoint":
            header += [f"{label} ({part})" for part in GEOPOINT_PARTS[language]]
        else:
            header.append(label)
    return header


# --- tables ---------------------------------------------------------------------------------


MAIN_META = ("KEY", "SubmitterID", "SubmitterName", "AttachmentsPresent", "AttachmentsExpected",
             "ReviewState", "DeviceID", "Edits", "FormVersion")


@dataclass
class _Table:
    """One table of the layout with what turns its nodes into rows, and its spool (repeats)."""

    table: Table
    title: str
    header: list[str]
    columns: list[tuple[str, tuple[Maker, ...]]]  # field path, its columns' makers
    spool: IO[bytes] | None = None

    def cells(self, node: Node, instance_id: str) -> list[Cell]:
        values = node.values
        cells: list[Cell] = []
        for path, makers in self.columns:
            text = values.get(path)
            if text:
                cells += [maker(text, instance_id) for maker in makers]
            else:
                cells += [None] * len(makers)
        return cells


def _table(table: Table, title: str, labels: FormLabels, info: ExportInfo) -> _Table:
    links = _Links(info)
    return _Table(table, title, _header(table, labels, info.language),
                  [(item.path, _makers(item, labels, links)) for item in table.fields])


def _main_cells(row: ExportRow, cells: list[Cell], language: str) -> list[Cell]:
    review = word(row.review_state, language) if row.review_state in WORDS else row.review_state
    # Stored in naive UTC; Vietnam keeps no summer time.
    return [row.created_at + VIETNAM_OFFSET, *cells, row.instance_id, row.submitter_id,
            row.submitter_name, row.attachments_present, row.attachments_expected, review,
            row.device_id, row.edits, row.form_version]


def _spool_repeats(node: Node, instance_id: str, tables: dict[str, _Table]) -> None:
    for path, sub, parent_key, key in repeat_rows(node, instance_id):
        target = tables[path]
        assert target.spool is not None
        cells = [*target.cells(sub, instance_id), parent_key, key]
        target.spool.write(pickle.dumps(cells, pickle.HIGHEST_PROTOCOL))


def _spooled(spool: IO[bytes]) -> Iterator[list[Cell]]:
    spool.seek(0)
    while True:
        try:
            yield pickle.load(spool)  # noqa: S301 (our own spool, written just now)
        except EOFError:
            return


def _continued(title: str, header: Sequence[str], rows: Iterable[Sequence[Cell]]
               ) -> Iterator[Sheet]:
    """A table as one sheet, or as many as Excel's row limit needs ("Trẻ em", "Trẻ em (2)").
    `write_book` reads each sheet's rows before it asks for the next sheet."""
    rows = iter(rows)
    for part in itertools.count(1):
        first = next(rows, None)
        if first is None and part > 1:
            return
        body = [] if first is None else itertools.chain(
            [first], itertools.islice(rows, MAX_ROWS - 1))
        yield Sheet(title if part == 1 else f"{title} ({part})", header, body,
                    widths=[20.0] * len(header))
        if first is None:
            return


def _titles(tables: list[Table], labels: FormLabels, info: ExportInfo) -> list[str]:
    """Sheet names: the form's title, then each repeat's label (Excel-safe, unique)."""
    taken = {"thông tin", "history"}  # the first sheet; a name Excel keeps for itself
    titles = [sheet_title(info.form_title or info.form_id, taken)]
    for table in tables[1:]:
        assert table.repeat is not None
        titles.append(sheet_title(labels.question(table.repeat.path, table.repeat.name), taken))
    return titles


def _about(info: ExportInfo, tables: list[_Table]) -> list[tuple[str, Cell]]:
    hidden = ("Có: những câu trả lời mà vai trò của người xuất không được xem đã bị bỏ ra "
              "(không có cột) / Yes: answers the exporter's role may not read are left out "
              "(no column)") if info.redacted else (
              "Không: có đủ mọi câu trả lời / No: every answer is here")
    villages = ("Tất cả / All" if info.villages is None
                else ", ".join(sorted(info.villages)) or "Không thôn nào / None")
    about: list[tuple[str, Cell]] = [
        ("Tệp này / This file", "Các lượt gửi của một biểu mẫu, xuất từ Điểm Tựa / "
                                "A form's submissions, exported from Điểm Tựa"),
        ("Người xuất / Exported by", info.exported_by),
        ("Thời điểm xuất (giờ Việt Nam, UTC+7) / Exported at (Vietnam time, UTC+7)",
         info.exported_at.astimezone(VIETNAM).replace(tzinfo=None)),
        ("Dự án / Project", info.project_name),
        ("Biểu mẫu / Form", f"{info.form_title} ({info.form_id})" if info.form_title
         else info.form_id),
        ("Phiên bản / Version", info.form_version),
        ("Câu trả lời bị ẩn / Answers hidden", hidden),
        ("Thôn / Villages", villages),
        ("Ngôn ngữ của nhãn / Labels in", "English" if info.language == "en" else "Tiếng Việt"),
        ("Ngày giờ / Dates and times", "Giờ Việt Nam (UTC+7) / Vietnam time (UTC+7)"),
    ]
    for number, table in enumerate(tables):
        what = ("mỗi dòng một lượt gửi, KEY là mã lượt gửi / one row a submission, KEY its id"
                if number == 0 else
                "mỗi dòng một lần lặp, PARENT_KEY là KEY của dòng chứa nó / one row a repeat, "
                "PARENT_KEY the KEY of the row holding it")
        about.append((f"Trang / Sheet «{table.title}»",
                      f"{table.table.file_name}: {what}"))
    return about


def write_submissions(target: str | Path, schema: FormSchema, labels: FormLabels,
                      info: ExportInfo, rows: Iterable[ExportRow]) -> list[int]:
    """Write the workbook to `target`; returns the row count of each table's sheet(s)."""
    tables = layout(schema, info.form_id)
    titles = _titles(tables, labels, info)
    made = [_table(table, title, labels, info)
            for table, title in zip(tables, titles, strict=True)]
    main, repeats = made[0], made[1:]
    main.header = [word("SubmissionDate", info.language), *main.header,
                   *(key if key == "KEY" else word(key, info.language) for key in MAIN_META)]
    for table in repeats:
        table.header += ["PARENT_KEY", "KEY"]
        table.spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)
    by_path = {table.table.repeat.path: table for table in repeats
               if table.table.repeat is not None}
    reader = InstanceReader(schema)

    def main_rows() -> Iterator[list[Cell]]:
        for row in rows:
            node = reader.read(row.xml)
            yield _main_cells(row, main.cells(node, row.instance_id), info.language)
            _spool_repeats(node, row.instance_id, by_path)

    def sheets() -> Iterator[Sheet]:
        yield from _continued(main.title, main.header, main_rows())
        for table in repeats:
            assert table.spool is not None
            yield from _continued(table.title, table.header, _spooled(table.spool))

    try:
        return write_book(target, _about(info, made), sheets())
    finally:
        for table in repeats:
            if table.spool is not None:
                table.spool.close()


def stream_built_file(build: Callable[[Path], object], suffix: str = ".xlsx"
                      ) -> Iterator[bytes]:
    """Build a file in a temporary place, then yield its bytes in chunks. The file is unlinked
    as soon as it is open, so it is gone when the stream ends or is dropped."""
    handle, name = tempfile.mkstemp(prefix="diemtua-", suffix=suffix)
    os.close(handle)
    path = Path(name)
    try:
        build(path)
        with path.open("rb") as built:
            path.unlink()
            while chunk := built.read(CHUNK):
                yield chunk
    finally:
        path.unlink(missing_ok=True)


def xlsx_stream(schema: FormSchema, labels: FormLabels, info: ExportInfo,
                rows: Iterable[ExportRow]) -> Iterator[bytes]:
    """`submissions.xlsx` as chunks of bytes; nothing is read before the first is asked for."""
    return stream_built_file(lambda path: write_submissions(path, schema, labels, info, rows))
