"""Reading a commune's children list (CSV or XLSX) as a header and a stream of numbered rows.

Only the file format is handled here; what the columns mean is `server.registry.importer`'s job.
Row numbers are the ones the spreadsheet shows (the header is row 1), so a refusal can say
"row 12" and the commune finds the row at once. Wholly blank rows are skipped.

The file is read as it is imported, never held whole (README, "Importing the lists a commune
already has", gives the limits):

* at most `MAX_COLUMNS` columns: the template's 17 and room for a commune's own notes. A header
  naming more is refused — it is not a children list, and dropping named columns would lose
  data the commune thinks it imported; cells right of the header are ignored, as always.
* at most `MAX_CELL_CHARS` characters a cell, Excel's own limit: a longer cell did not come
  from a spreadsheet (in a CSV it is nearly always a quote mark that is never closed).
* at most ``max_rows`` non-blank rows below the header (``DIEMTUA_IMPORT_MAX_ROWS``), counted
  while reading, so a file over the limit is refused before it is all read.

CSV must be UTF-8 (with or without the BOM Excel's "CSV UTF-8" writes); anything else is refused
with a message saying how to save the file, rather than guessed at: a wrongly decoded name would
match nobody and silently create duplicates. Excel in a Vietnamese locale may separate columns
with ";" (the decimal comma takes ","), so the delimiter is taken from the header line. Each
row is decoded and handed to the csv module alone, at most `MAX_CSV_ROW_BYTES` long.

XLSX: the first worksheet, streamed by `server.registry.import_xlsx`. A cell Excel stored as a
date comes back as a date (written ``YYYY-MM-DD``); a whole number stored as a number comes
back without ``.0``.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from typing import IO, Any, NamedTuple

from server.config import DEFAULT_IMPORT_MAX_ROWS
from server.registry.errors import RegistryError

MAX_COLUMNS = 64
MAX_CELL_CHARS = 32_767
# One CSV row, in bytes: a cell at Excel's limit written in Vietnamese (3 bytes a letter) fits,
# and Python's csv field limit (131,072 characters) is never the one that refuses first.
MAX_CSV_ROW_BYTES = 131_072

_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0"  # legacy .xls
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
_LINE_END = re.compile(rb"\r\n|\r|\n")
_CHUNK = 1 << 16


class FileRefused(RegistryError):
    """The whole file cannot be imported (unreadable, wrong encoding, missing columns, over a
    limit): the reason in Vietnamese (``vi``, what a commune officer reads first) and in
    English (``str(exc)``)."""

    def __init__(self, vi: str, en: str) -> None:
        super().__init__(en)
        self.vi = vi


class SheetRow(NamedTuple):
    """One row as read: its number, its first `MAX_COLUMNS` cells, and the position of its
    last non-empty cell even past those (how wide the header really is)."""

    number: int
    cells: list[Any]
    width: int


@dataclass(frozen=True)
class Table:
    """The header as written, and the non-blank rows below it as (row number, cells),
    read from the file as they are iterated (once)."""

    header: list[str]
    rows: Iterator[tuple[int, list[Any]]]


Binary = IO[bytes]


@contextmanager
def open_table(file: Binary | bytes, *,
               max_rows: int = DEFAULT_IMPORT_MAX_ROWS) -> Iterator[Table]:
    """The file's first sheet (XLSX) or its text (CSV), read while ``rows`` is iterated
    inside the ``with`` block; raises `FileRefused`, at once or while reading."""
    stream: Binary = io.BytesIO(file) if isinstance(file, bytes) else file
    magic = stream.read(len(_ZIP_MAGIC))
    stream.seek(0)
    if magic.startswith(_OLE_MAGIC):
        raise FileRefused("đây là tệp Excel cũ (.xls): hãy lưu thành .xlsx hoặc CSV UTF-8",
                          "this is an old Excel file (.xls): save it as .xlsx or as CSV UTF-8")
    if magic.startswith(_ZIP_MAGIC):
        from server.registry.import_xlsx import first_sheet_rows  # only XLSX pays for it

        with first_sheet_rows(stream, max_rows=max_rows) as rows:
            yield _table(rows, max_rows)
    else:
        yield _table(_csv_rows(stream), max_rows)


# --- CSV -------------------------------------------------------------------------------------


def _not_utf8(row: int) -> FileRefused:
    return FileRefused(
        f"dòng {row} không phải chữ UTF-8: hãy lưu tệp dạng 'CSV UTF-8 (Comma delimited)' "
        "hoặc .xlsx",
        f"the file is not UTF-8 text (row {row} cannot be read): save it as "
        "'CSV UTF-8 (Comma delimited)' or as .xlsx")


def _too_long_row(row: int) -> FileRefused:
    return FileRefused(
        f"dòng {row} dài quá {vi_number(MAX_CSV_ROW_BYTES)} byte — thường do một dấu ngoặc "
        "kép (\") không được đóng",
        f"row {row} is longer than {MAX_CSV_ROW_BYTES:,} bytes — usually a quote mark (\") "
        "that is never closed")


def _raw_lines(stream: Binary) -> Iterator[bytes]:
    """The file's lines as bytes, ends kept (``\r\n``, ``\n``, or the ``\r`` of old Mac
    files, as the csv module expects); a line grows no longer than `MAX_CSV_ROW_BYTES` and a
    chunk before it is handed on (and refused)."""
    pending = b""
    while True:
        chunk = stream.read(_CHUNK)
        pending += chunk
        start = 0
        for end in _LINE_END.finditer(pending):
            if chunk and end.end() == len(pending) and end.group() == b"\r":
                break  # its "\n" may start the next chunk
            yield pending[start:end.end()]
            start = end.end()
        pending = pending[start:]
        if not chunk or len(pending) > MAX_CSV_ROW_BYTES:
            if pending:
                yield pending
            if not chunk:
                return
            pending = b""


class _Lines:
    """The file's lines, decoded one at a time, for `csv.reader`, counting the bytes of the
    row being read: a row longer than `MAX_CSV_ROW_BYTES` is refused before the csv module
    has to hold it."""

    def __init__(self, stream: Binary) -> None:
        self.raw = _raw_lines(stream)
        self.decoder = codecs.getincrementaldecoder("utf-8-sig")()  # the BOM, once
        self.row = 1  # the row being read, as the spreadsheet numbers it
        self.row_bytes = 0

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        line = next(self.raw)
        self.row_bytes += len(line)
        if self.row_bytes > MAX_CSV_ROW_BYTES:
            raise _too_long_row(self.row)
        try:
            # A line ends at a CR or LF byte, which UTF-8 never uses inside a character.
            return self.decoder.decode(line)
        except UnicodeDecodeError:
            raise _not_utf8(self.row) from None

    def next_row(self) -> None:
        self.row += 1
        self.row_bytes = 0


def _delimiter(first_line: str) -> str:
    counts = {d: first_line.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def _csv_rows(stream: Binary) -> Iterator[SheetRow]:
    if stream.read(2) in _UTF16_BOMS:
        raise FileRefused("tệp là chữ UTF-16 ('Unicode Text' của Excel): hãy lưu dạng "
                          "'CSV UTF-8 (Comma delimited)' hoặc .xlsx",
                          "the file is UTF-16 text (Excel's 'Unicode Text'): save it as "
                          "'CSV UTF-8 (Comma delimited)' or as .xlsx")
    stream.seek(0)
    lines = _Lines(stream)
    first = next(lines, "")
    reader = csv.reader(_chain(first, lines), delimiter=_delimiter(first))
    try:
        for cells in reader:
            width = len(cells)
            while width and not cells[width - 1].strip():
                width -= 1
            yield SheetRow(lines.row, cells[:MAX_COLUMNS], width)
            lines.next_row()
    except csv.Error as exc:
        raise FileRefused(f"không đọc được CSV ở dòng {lines.row}: {exc}",
                          f"the CSV cannot be read at row {lines.row}: {exc}") from None


def _chain(first: str, rest: Iterable[str]) -> Iterator[str]:
    if first:
        yield first
    yield from rest


# --- both formats ----------------------------------------------------------------------------


def vi_number(number: int) -> str:
    """``50000`` → ``50.000``: Vietnamese groups thousands with a dot."""
    return f"{number:,}".replace(",", ".")


def _cell(value: Any) -> Any:
    """Dates as dates, whole numbers without '.0', everything else as text ('' for empty)."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, bool):
        return str(value).upper()
    return value if isinstance(value, int) else str(value)


def _blank(cells: list[Any]) -> bool:
    return all(str(cell).strip() == "" for cell in cells)


def _checked(row: SheetRow) -> list[Any]:
    cells = [_cell(value) for value in row.cells]
    for column, cell in enumerate(cells, start=1):
        if isinstance(cell, str) and len(cell) > MAX_CELL_CHARS:
            raise FileRefused(
                f"dòng {row.number}, cột {column}: ô dài hơn {vi_number(MAX_CELL_CHARS)} ký tự, "
                "giới hạn của chính Excel — trong tệp CSV thường do một dấu ngoặc kép (\") "
                "không được đóng",
                f"row {row.number}, column {column}: a cell is longer than {MAX_CELL_CHARS:,} "
                "characters, Excel's own limit — in a CSV usually a quote mark (\") that is "
                "never closed")
    return cells


def _header(rows: Iterator[SheetRow]) -> list[str]:
    first = next(rows, None)
    if first is None:
        raise FileRefused("tệp trống", "the file is empty")
    cells = _checked(first)
    if first.number != 1 or _blank(cells):  # a sheet's XML may simply leave row 1 out
        if not _blank(cells) or any(not _blank(_checked(row)) for row in rows):
            raise FileRefused("dòng 1 phải là dòng tiêu đề (tên các cột); dòng này trống",
                              "row 1 must be the header (the column names); it is empty")
        raise FileRefused("tệp trống", "the file is empty")
    if first.width > MAX_COLUMNS:
        raise FileRefused(
            f"dòng tiêu đề kéo dài đến cột {first.width}; chỉ đọc {MAX_COLUMNS} cột đầu (mẫu "
            "có 17): hãy xoá các cột không cần",
            f"the header runs to column {first.width}; only the first {MAX_COLUMNS} columns "
            "are read (the template has 17): delete the columns that are not needed")
    header = [str(cell).strip() for cell in cells]
    while header and not header[-1]:
        header.pop()
    return header


def _too_many_rows(max_rows: int) -> FileRefused:
    return FileRefused(
        f"tệp có hơn {vi_number(max_rows)} dòng dữ liệu, giới hạn của máy chủ "
        "(DIEMTUA_IMPORT_MAX_ROWS): hãy chia danh sách thành nhiều tệp, ví dụ theo thôn",
        f"the file has more than {max_rows:,} rows below the header, this server's limit "
        "(DIEMTUA_IMPORT_MAX_ROWS): split the list into several files, e.g. by village")


def _data_rows(rows: Iterator[SheetRow], max_rows: int) -> Iterator[tuple[int, list[Any]]]:
    count = 0
    for row in rows:
        cells = _checked(row)
        if _blank(cells):
            continue
        count += 1
        if count > max_rows:
            raise _too_many_rows(max_rows)
        yield row.number, cells


def _table(rows: Iterator[SheetRow], max_rows: int) -> Table:
    header = _header(rows)
    return Table(header, _data_rows(rows, max_rows))
