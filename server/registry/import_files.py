"""Reading a commune's children list (CSV or XLSX) into a header and numbered rows of text.

Only the file format is handled here; what the columns mean is `server.registry.importer`'s job.
Row numbers are the ones the spreadsheet shows (the header is row 1), so a refusal can say
"row 12" and the commune finds the row at once. Wholly blank rows are skipped.

CSV must be UTF-8 (with or without the BOM Excel's "CSV UTF-8" writes); anything else is refused
with a message saying how to save the file, rather than guessed at: a wrongly decoded name would
match nobody and silently create duplicates. Excel in a Vietnamese locale may separate columns
with ";" (the decimal comma takes ","), so the delimiter is taken from the header line.

XLSX: the first sheet, read with openpyxl in read-only mode. A cell Excel stored as a date comes
back as a date (written ``YYYY-MM-DD``); a whole number stored as a number comes back without
``.0``.
"""

from __future__ import annotations

import csv
import io
import zipfile
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from server.registry.errors import RegistryError

_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0"  # legacy .xls
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


class FileRefused(RegistryError):
    """The whole file cannot be imported (unreadable, wrong encoding, missing columns)."""


@dataclass(frozen=True)
class Table:
    """The header as written and each non-blank row as (spreadsheet row number, cells)."""

    header: list[str]
    rows: list[tuple[int, list[Any]]]


def read_table(data: bytes) -> Table:
    """The file's first sheet (XLSX) or its text (CSV); raises `FileRefused`."""
    if data.startswith(_ZIP_MAGIC):
        return _read_xlsx(data)
    if data.startswith(_OLE_MAGIC):
        raise FileRefused("this is an old Excel file (.xls): save it as .xlsx or as CSV UTF-8")
    return _read_csv(data)


def _decode(data: bytes) -> str:
    if data.startswith(_UTF16_BOMS):
        raise FileRefused("the file is UTF-16 text (Excel's 'Unicode Text'): save it as "
                          "'CSV UTF-8 (Comma delimited)' or as .xlsx")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FileRefused(
            f"the file is not UTF-8 text (byte {exc.start + 1} cannot be read): save it as "
            "'CSV UTF-8 (Comma delimited)' or as .xlsx") from None


def _delimiter(first_line: str) -> str:
    counts = {d: first_line.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def _read_csv(data: bytes) -> Table:
    text = _decode(data)
    if not text.strip():
        raise FileRefused("the file is empty")
    reader = csv.reader(io.StringIO(text, newline=""),
                        delimiter=_delimiter(text.split("\n", 1)[0]))
    try:
        lines = list(reader)
    except csv.Error as exc:
        raise FileRefused(f"the CSV cannot be read: {exc}") from None
    return _table(enumerate(lines, start=1))


def _read_xlsx(data: bytes) -> Table:
    from openpyxl import load_workbook  # only imports that need it pay for it

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise FileRefused(f"the file is not a readable .xlsx workbook ({exc})") from None
    try:
        if not workbook.worksheets:
            raise FileRefused("the workbook has no sheet")
        sheet = workbook.worksheets[0]
        rows = enumerate(sheet.iter_rows(min_row=1, values_only=True), start=1)
        return _table((number, [_cell(value) for value in cells]) for number, cells in rows)
    finally:
        workbook.close()


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


def _table(lines: Any) -> Table:
    header: list[str] | None = None
    rows: list[tuple[int, list[Any]]] = []
    for number, cells in lines:
        cells = list(cells)
        if header is None:
            if _blank(cells):
                raise FileRefused("row 1 must be the header (the column names); it is empty")
            header = [str(cell).strip() for cell in cells]
        elif not _blank(cells):
            rows.append((number, cells))
    if header is None:
        raise FileRefused("the file is empty")
    return Table(header, rows)
