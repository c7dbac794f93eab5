"""The fast ways of `exports.xlsx_book` write the very workbook the plain way writes.

Columns of a known type (`Sheet.kinds`) skip the per-cell type question, and
`write_book_in_child` runs XlsxWriter in a child process (docs/reports.md §5): both must keep
every cell typed as before — text never a formula, dates as dates, numbers as numbers.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterator, Sequence
from datetime import date, datetime
from pathlib import Path

import pytest
from openpyxl import load_workbook

from exports.xlsx_book import (
    ANY,
    DATE,
    NUMBER,
    TEXT,
    BookWriterFailed,
    Cell,
    ColumnKind,
    Link,
    Sheet,
    write_book,
    write_book_in_child,
)

ABOUT: list[tuple[str, Cell]] = [("Người xuất", "Cán bộ"), ("Lúc", datetime(2026, 12, 4, 9, 30))]
KINDS: list[ColumnKind] = [TEXT, NUMBER, DATE, ANY, TEXT]
ROWS: list[list[Cell]] = [
    ["=HYPERLINK(\"http://x\",\"y\")", 0, date(2026, 3, 12), date(2015, 3, 4), "Nguyễn Thị Ỷ"],
    ["+84912345678", 3.5, None, "2015-03", ""],
    ["", None, date(1900, 1, 5), None, "-@cmd"],
    ["Đặng Văn Ợi", 17, date(1900, 3, 1), 12, None],
]


def _sheets(kinds: Sequence[ColumnKind]) -> list[Sheet]:
    return [Sheet("Trẻ em", ["Tên", "Tuổi", "Ngày", "Sinh", "Ghi chú"], iter(ROWS),
                  (20, 8, 11, 11, 20), kinds)]


def _parts(path: Path) -> dict[str, bytes]:
    """The workbook's XML parts, without the one that holds the time it was written."""
    with zipfile.ZipFile(path) as book:
        return {name: book.read(name) for name in book.namelist()
                if name != "docProps/core.xml"}


def test_typed_columns_write_the_same_workbook_as_cell_by_cell(tmp_path: Path) -> None:
    plain, typed = tmp_path / "plain.xlsx", tmp_path / "typed.xlsx"
    assert write_book(plain, ABOUT, _sheets(())) == [len(ROWS)]
    assert write_book(typed, ABOUT, _sheets(KINDS)) == [len(ROWS)]
    assert _parts(typed) == _parts(plain)


def test_typed_cells_keep_their_types(tmp_path: Path) -> None:
    target = tmp_path / "typed.xlsx"
    write_book(target, ABOUT, _sheets(KINDS))
    sheet = load_workbook(target)["Trẻ em"]
    first = [cell.value for cell in sheet[2]]
    assert first[0] == "=HYPERLINK(\"http://x\",\"y\")" and sheet["A2"].data_type == "s"
    assert first[1] == 0 and sheet["B2"].data_type == "n"
    assert first[2] == datetime(2026, 3, 12) and sheet["C2"].is_date
    assert first[3] == datetime(2015, 3, 4)
    assert sheet["D3"].value == "2015-03" and sheet["E3"].value is None  # "" is no cell
    assert sheet["C4"].value == datetime(1900, 1, 5)  # before Excel's missing 29 February


def test_a_child_process_writes_the_same_workbook(tmp_path: Path) -> None:
    here, there = tmp_path / "here.xlsx", tmp_path / "there.xlsx"
    def second() -> Sheet:
        return Sheet("Hai", ["a"], [["b"], [1], [Link("https://xa.test/1", "Hồ sơ")]])

    write_book(here, ABOUT, [*_sheets(KINDS), second()])
    counts = write_book_in_child(there, ABOUT, [*_sheets(KINDS), second()])
    assert counts == [len(ROWS), 3]
    assert _parts(there) == _parts(here)
    assert load_workbook(there)["Hai"]["A4"].hyperlink.target == "https://xa.test/1"


def test_rows_failing_midway_stop_the_child_and_raise(tmp_path: Path) -> None:
    def rows() -> Iterator[list[Cell]]:
        yield from [["a"]] * 1200  # more than one batch reaches the child
        raise LookupError("the database went away")

    with pytest.raises(LookupError):
        write_book_in_child(tmp_path / "broken.xlsx", ABOUT, [Sheet("x", ["h"], rows())])


def test_a_child_that_cannot_write_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(BookWriterFailed):
        write_book_in_child(tmp_path / "no-such-folder" / "x.xlsx", ABOUT,
                            [Sheet("x", ["h"], [["a"]])])
