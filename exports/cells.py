"""Cells a spreadsheet opens as data, never as a formula (README, "Spreadsheet formulas").

Excel, LibreOffice and Google Sheets read a CSV cell that begins with `=`, `+`, `-` or `@` as
a formula, and treat a leading tab or carriage return specially too, so an answer typed on a
phone or a name in an imported list such as `=HYPERLINK("http://…","…")` or
`+cmd|' /C calc'!A0` would run when an officer opens the export. The rule (OWASP, "CSV
Injection"):

* a cell beginning with one of `= + - @ TAB CR` gets a single quote `'` in front; spreadsheets
  show the quote, and the cell is text;
* except a plain number — an optional sign, digits, an optional decimal part (`-3`, `-0.5`,
  `+84912345678`, a geopoint's `-105.8542`): spreadsheets read those as numbers, which is
  what they are, and they can hold no formula;
* every other cell is written as it is.

The same function serves every CSV the server offers for a person to open: `submissions.csv`
and `.csv.zip` (main and repeat tables), the datasets API's `entities.csv`, and
`diemtua registry links` / `review-queue`. Machine clients that need Central's exact bytes ask
for them (`?raw=true`, `--raw`). The phones' `children.csv` is never touched: Collect reads it
as data, and its md5 is announced in the form manifest.

XLSX files are safe by construction when every cell is written as a string (`write_text_row`).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# A plain number (`PLAIN_NUMBER.fullmatch`); the SQL of `exports.children_csv_sql` anchors it.
PLAIN_NUMBER = re.compile(r"[+-]?[0-9]+(?:\.[0-9]+)?")


def safe_cell(value: str) -> str:
    """`value` as a spreadsheet will show it and never evaluate it (rule above)."""
    if value.startswith(FORMULA_STARTS) and not PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value


def safe_row(cells: Iterable[str]) -> list[str]:
    return [safe_cell(cell) for cell in cells]


def safe_csv(content: bytes, lineterminator: str = "\n") -> bytes:
    """A UTF-8 CSV already written (by `csv.writer` with `lineterminator`), every cell made
    safe; a CSV with nothing to neutralise comes back byte for byte."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator=lineterminator)
    for row in csv.reader(io.StringIO(content.decode("utf-8"), newline="")):
        writer.writerow(safe_row(row))
    return out.getvalue().encode("utf-8")


def write_text_row(worksheet: Any, row: int, cells: Sequence[str]) -> None:
    """One XLSX row through xlsxwriter, every cell a string cell: `write()` would turn a
    leading `=` into a formula, `write_string()` never does."""
    for column, cell in enumerate(cells):
        worksheet.write_string(row, column, cell)
