"""XLSX files for officers: typed cells, constant memory, and a first sheet saying what it is.

Every workbook the server writes for people (the children export, the reports) goes through
`write_book`, so all of them:

* open with a sheet "Thông tin" (about) naming who exported what, when (Vietnamese time), with
  which filters, and whether it is full or redacted (docs/privacy.md §5: exports are marked
  with the user and time, because files get forwarded);
* type every cell: text with `write_string` (never a formula, README "Spreadsheet formulas"),
  whole and decimal numbers as numbers, dates and times as dates, a `Link` as a hyperlink;
* are written by XlsxWriter in constant-memory mode, row by row, to a file: a workbook of
  500,000 children never sits in memory (docs/reports.md §5).
"""

from __future__ import annotations

import pickle
import re
import subprocess
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from itertools import islice
from pathlib import Path
from typing import IO, Any, Final, Literal

import xlsxwriter

ABOUT_SHEET = "Thông tin"
_BAD_SHEET_CHARS = re.compile(r"[\[\]:*?/\\]")


@dataclass(frozen=True)
class Link:
    """A cell that opens `url`, showing `text`."""

    url: str
    text: str


Cell = str | int | float | date | datetime | Link | None

# What a column of a `Sheet` holds, when every cell of it is of one type (or empty).
ColumnKind = Literal["text", "number", "date", "any"]
TEXT: Final = "text"
NUMBER: Final = "number"
DATE: Final = "date"
ANY: Final = "any"  # a date, a number or text: asked cell by cell
# Excel's day 0 (the 1900 date system, XlsxWriter's default; 1900-02-29 never existed, so days
# from 1900-03-01 on count from 1899-12-30).
_EXCEL_EPOCH = date(1899, 12, 30).toordinal()
_FIRST_PLAIN_DAY = date(1900, 3, 1).toordinal() - _EXCEL_EPOCH


@dataclass
class Sheet:
    """One worksheet: a title (cut to Excel's 31 characters), a header row, then rows.

    `kinds`, when given, says each column's type: its cells are then written by the one
    XlsxWriter method of that type, without asking each cell what it is — 500,000 rows of
    dozens of cells make that question cost more than the reading of the rows
    (docs/reports.md §5). Empty cells (None, "") are skipped either way."""

    title: str
    header: Sequence[str]
    rows: Iterable[Sequence[Cell]]
    widths: Sequence[float] = field(default_factory=tuple)
    kinds: Sequence[ColumnKind] = field(default_factory=tuple)


def sheet_title(title: str, taken: set[str]) -> str:
    """An Excel-valid, unique sheet name (≤ 31 characters, none of []:*?/\\)."""
    base = _BAD_SHEET_CHARS.sub("-", title).strip("'") or "Sheet"
    name = base[:31]
    number = 2
    while name.lower() in taken:
        suffix = f" ({number})"
        name = base[:31 - len(suffix)] + suffix
        number += 1
    taken.add(name.lower())
    return name


class _Writer:
    def __init__(self, book: Any) -> None:
        self.book = book
        self.date = book.add_format({"num_format": "dd/mm/yyyy"})
        self.datetime = book.add_format({"num_format": "dd/mm/yyyy hh:mm"})
        self.header = book.add_format({"bold": True, "text_wrap": True, "valign": "top"})
        self.link = book.add_format({"font_color": "blue", "underline": 1})

    def cell(self, sheet: Any, row: int, column: int, value: Cell) -> None:
        if value is None or value == "":
            return
        if isinstance(value, bool):
            sheet.write_string(row, column, "x" if value else "")
        elif isinstance(value, int | float):
            sheet.write_number(row, column, value)
        elif isinstance(value, datetime):
            sheet.write_datetime(row, column, value, self.datetime)
        elif isinstance(value, date):
            sheet.write_datetime(row, column, datetime(value.year, value.month, value.day),
                                 self.date)
        elif isinstance(value, Link):
            sheet.write_url(row, column, value.url, self.link, string=value.text)
        else:
            sheet.write_string(row, column, str(value))

    def typed(self, sheet: Any, kinds: Sequence[ColumnKind]) -> list[Callable[[int, int, Any],
                                                                             object]]:
        """One writer per column: XlsxWriter's own method for text and numbers; a date as
        the number of its day with the date format (what `write_datetime` writes, without
        converting through a datetime)."""
        date_format = self.date

        def write_date(row: int, column: int, value: date) -> object:
            day = value.toordinal() - _EXCEL_EPOCH
            if day < _FIRST_PLAIN_DAY or isinstance(value, datetime):
                self.cell(sheet, row, column, value)
                return None
            return sheet.write_number(row, column, day, date_format)

        def write_any(row: int, column: int, value: Cell) -> object:
            self.cell(sheet, row, column, value)
            return None

        writers = {TEXT: sheet.write_string, NUMBER: sheet.write_number, DATE: write_date,
                   ANY: write_any}
        return [writers[kind] for kind in kinds]

    def rows(self, sheet: Any, first: int, rows: Iterable[Sequence[Cell]]) -> int:
        count = 0
        for count, cells in enumerate(rows, start=1):
            for column, value in enumerate(cells):
                self.cell(sheet, first + count - 1, column, value)
        return count

    def typed_rows(self, sheet: Any, first: int, rows: Iterable[Sequence[Cell]],
                   kinds: Sequence[ColumnKind]) -> int:
        writers = self.typed(sheet, kinds)
        number = first - 1
        for number, cells in enumerate(rows, start=first):
            for column, value in enumerate(cells):
                if value is not None and value != "":
                    writers[column](number, column, value)
        return number - first + 1

    def sheet(self, spec: Sheet, title: str) -> int:
        sheet = self.book.add_worksheet(title)
        for column, width in enumerate(spec.widths):
            sheet.set_column(column, column, width)
        for column, label in enumerate(spec.header):
            sheet.write_string(0, column, label, self.header)
        if spec.header:
            sheet.freeze_panes(1, 0)
        first = 1 if spec.header else 0  # the about sheet has no header row
        if spec.kinds:
            return self.typed_rows(sheet, first, spec.rows, spec.kinds)
        return self.rows(sheet, first, spec.rows)


def write_book(target: str | Path | IO[bytes], about: Sequence[tuple[str, Cell]],
               sheets: Iterable[Sheet]) -> list[int]:
    """Write the about sheet, then `sheets` in order; returns each sheet's row count.

    `about` is (label, value) pairs: who, when, what, filters, full or redacted. Sheets are
    consumed one at a time, so a sheet's rows may be a generator over a database snapshot.
    """
    book = xlsxwriter.Workbook(target, {"constant_memory": True, "strings_to_formulas": False,
                                        "strings_to_urls": False, "in_memory": False})
    writer = _Writer(book)
    taken = {ABOUT_SHEET.lower()}
    writer.sheet(Sheet(ABOUT_SHEET, (), [(label, value) for label, value in about],
                       widths=(28, 60)), ABOUT_SHEET)
    counts = [writer.sheet(spec, sheet_title(spec.title, taken)) for spec in sheets]
    book.close()
    return counts


# --- in a child process -------------------------------------------------------------------
# XlsxWriter's own work is most of a big workbook's cost (about 110 µs a row of 20 written
# cells, measured with bench/exports_registry.py); the request process reads and formats the
# rows meanwhile, so the two together take about as long as XlsxWriter alone. A plain pipe
# of pickled batches, no multiprocessing: the child is `python -m exports.xlsx_book PATH`,
# importing XlsxWriter only.

_BATCH_ROWS = 500
_ROOT = Path(__file__).resolve().parents[1]


class BookWriterFailed(RuntimeError):
    """The child process writing a workbook stopped before the workbook was complete."""


def write_book_in_child(target: str | Path, about: Sequence[tuple[str, Cell]],
                        sheets: Iterable[Sheet]) -> list[int]:
    """`write_book` to the file `target`, XlsxWriter running in a child process fed through a
    pipe, batch by batch: rows stream as in `write_book` (memory stays flat); the rows are
    read and formatted here while the child writes the previous batch."""
    child = subprocess.Popen(  # noqa: S603 (this interpreter, this module, a path we chose)
        [sys.executable, "-m", "exports.xlsx_book", str(target)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd=_ROOT)
    pipe, answer = child.stdin, child.stdout
    assert pipe is not None and answer is not None
    try:
        def send(message: object) -> None:
            # One pickle per message (a Pickler kept open would keep every row in its memo).
            pickle.dump(message, pipe, protocol=pickle.HIGHEST_PROTOCOL)

        send(list(about))
        for spec in sheets:
            send((spec.title, list(spec.header), list(spec.widths), list(spec.kinds)))
            # Whole rows: pickling a row's empty cells (one byte each) costs the child less
            # than unpickling (column, value) pairs of the others (measured, 500,000 rows).
            rows = iter(spec.rows)
            while batch := [list(cells) for cells in islice(rows, _BATCH_ROWS)]:
                send(batch)
            send(None)  # the sheet's end
        send(None)  # the book's end
        pipe.close()
        counts = answer.read()
    except BrokenPipeError:
        counts = b""  # the child stopped: its exit status says so below
    except BaseException:
        child.kill()
        child.wait()
        raise
    finally:
        answer.close()
    if child.wait() != 0:
        raise BookWriterFailed(f"the workbook writer exited with {child.returncode}")
    return [int(count) for count in counts.split()]


def _received_sheets(source: IO[bytes]) -> Iterator[Sheet]:
    def rows() -> Iterator[Sequence[Cell]]:
        while (batch := pickle.load(source)) is not None:  # noqa: S301 (our parent's pipe)
            yield from batch

    while (spec := pickle.load(source)) is not None:  # noqa: S301 (our parent's pipe)
        title, header, widths, kinds = spec
        yield Sheet(title, header, rows(), widths, kinds)


def _child_main(target: str) -> None:
    source = sys.stdin.buffer
    about = pickle.load(source)  # noqa: S301 (our parent's pipe)
    counts = write_book(target, about, _received_sheets(source))
    sys.stdout.write(" ".join(str(count) for count in counts))


if __name__ == "__main__":
    # Through the package's module, not `__main__`'s copy of it: a `Link` the parent pickled
    # is an `exports.xlsx_book.Link`, and `_Writer.cell` must know it as one.
    from exports.xlsx_book import _child_main as child_main

    child_main(sys.argv[1])
