"""The first worksheet of an XLSX children list, streamed in bounded memory.

openpyxl's read-only mode streams rows, but not within bounds (measured with openpyxl 3.1.5):
it builds a whole ``<row>`` element before cutting it to the columns asked for (a 44 KB
workbook whose one row holds two million empty cells took 1 GB); it pads every row to the
width the ``<dimension>`` element claims (a workbook claiming 16,384 columns took 2.5 GB for
20,000 short rows); opening a sheet without that element parses all its rows to learn its
size; and its style objects cost some 45 times their XML. Python's zipfile, too, builds an
object per entry of the archive's directory (an 81 MB upload of a million empty entries took
536 MB).

So the few parts an import needs are read here with expat callbacks that keep only what is
asked for — the workbook's sheets and date system, which styles are dates, the shared strings,
and the cells of the first `MAX_COLUMNS` columns of each row — within these bounds:

* the archive's directory at most `MAX_DIRECTORY_BYTES`;
* a part read whole (relationships, workbook, styles) at most `MAX_PART_BYTES` unpacked; the
  shared strings at most `STRING_BYTES_PER_ROW` for each row the import allows;
* the sheet at most `MAX_SHEET_BYTES` unpacked (it is streamed: this bounds the time);
* no single XML token (a tag, a comment) longer than `MAX_TOKEN_BYTES`, which expat would
  otherwise hold and scan again with every chunk;
* no DTD (Excel never writes one; it is how entity expansion attacks start).

The ``<dimension>`` element is never read. openpyxl still decides Excel's date rules: which
number formats are dates or durations, and a serial number as a date.
"""

from __future__ import annotations

import io
import posixpath
import struct
import zipfile
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import IO, Any
from xml.parsers import expat

from openpyxl.styles.numbers import BUILTIN_FORMATS, is_date_format, is_timedelta_format
from openpyxl.utils.datetime import CALENDAR_MAC_1904, WINDOWS_EPOCH, from_excel, from_ISO8601

from server.registry.import_files import (
    MAX_CELL_CHARS,
    MAX_COLUMNS,
    FileRefused,
    SheetRow,
    vi_number,
)

MAX_DIRECTORY_BYTES = 1 << 20
MAX_PART_BYTES = 8 << 20
STRING_BYTES_PER_ROW = 400  # ~175 for a typical row: names, parents, notes
MIN_STRING_BYTES = 1 << 20
MAX_SHEET_BYTES = 256 << 20
MAX_TOKEN_BYTES = 1 << 20
_CHUNK = 1 << 16
_NUMBER, _DATE, _DURATION = 0, 1, 2


def unreadable(why: str) -> FileRefused:
    return FileRefused(f"tệp không phải bảng tính .xlsx đọc được ({why})",
                       f"the file is not a readable .xlsx workbook ({why})")


@contextmanager
def first_sheet_rows(stream: IO[bytes], *, max_rows: int) -> Iterator[Iterator[SheetRow]]:
    """The rows of the workbook's first worksheet, read as they are iterated."""
    _check_directory(stream)
    try:
        archive = zipfile.ZipFile(stream)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise unreadable(str(exc)) from None
    with archive:
        book = _Book.read(archive, max(MIN_STRING_BYTES, max_rows * STRING_BYTES_PER_ROW))
        yield _sheet_rows(archive, book)


# --- the archive -----------------------------------------------------------------------------


def _check_directory(stream: IO[bytes]) -> None:
    """Refuse an archive whose directory is too big to list, before zipfile lists it.

    Finds the sizes as zipfile does: the end record at the very end (no comment), else the
    last one within a comment's reach; then a ZIP64 end record just before it, which wins.
    """
    end = stream.seek(0, io.SEEK_END)
    stream.seek(max(0, end - (22 + 0xFFFF + 20 + 56)))
    tail = stream.read()
    stream.seek(0)
    at = (len(tail) - 22 if tail[-22:-18] == b"PK\x05\x06" and tail[-2:] == b"\0\0"
          else tail.rfind(b"PK\x05\x06"))
    if at < 0 or len(tail) - at < 22:
        raise unreadable("no zip directory")
    size: int = struct.unpack("<I", tail[at + 12:at + 16])[0]
    zip64 = tail[max(0, at - 76):at - 20]
    if tail[at - 20:at - 16] == b"PK\x06\x07" and zip64[:4] == b"PK\x06\x06" and len(zip64) == 56:
        size = struct.unpack("<Q", zip64[40:48])[0]
    if size > MAX_DIRECTORY_BYTES:
        raise unreadable(f"its list of parts is over {MAX_DIRECTORY_BYTES:,} bytes")


def _member(archive: zipfile.ZipFile, name: str, limit: int) -> zipfile.ZipInfo:
    try:
        info = archive.getinfo(name)
    except KeyError:
        raise unreadable(f"{name} is missing") from None
    if info.file_size > limit:
        raise FileRefused(
            f"phần {name} của bảng tính lớn hơn {vi_number(limit)} byte: hãy lưu danh sách "
            "dạng CSV UTF-8",
            f"the workbook's {name} is over {limit:,} bytes unpacked: save the list as "
            "CSV UTF-8")
    return info


def _refuse_dtd(*_args: Any) -> None:
    raise unreadable("it declares a DTD")


def _parse(archive: zipfile.ZipFile, info: zipfile.ZipInfo, start: Callable[..., None],
           end: Callable[[str], None] | None = None,
           data: Callable[[str], None] | None = None) -> Iterator[None]:
    """Feed one part to expat in chunks, yielding after each so rows can be handed on."""
    parser = expat.ParserCreate()
    parser.buffer_text = True
    parser.StartDoctypeDeclHandler = _refuse_dtd
    parser.EntityDeclHandler = _refuse_dtd
    parser.StartElementHandler = start
    if end is not None:
        parser.EndElementHandler = end
    if data is not None:
        parser.CharacterDataHandler = data
    fed = 0
    try:
        with archive.open(info) as source:
            while chunk := source.read(_CHUNK):
                fed += len(chunk)
                parser.Parse(chunk, False)
                if fed - parser.CurrentByteIndex > MAX_TOKEN_BYTES:
                    raise unreadable(f"{info.filename} holds an XML token over "
                                     f"{MAX_TOKEN_BYTES:,} bytes")
                yield
            parser.Parse(b"", True)
    except (expat.ExpatError, zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
        raise unreadable(f"{info.filename}: {exc}") from None


def _read_whole(archive: zipfile.ZipFile, name: str, limit: int, start: Callable[..., None],
                end: Callable[[str], None] | None = None,
                data: Callable[[str], None] | None = None) -> None:
    for _ in _parse(archive, _member(archive, name, limit), start, end, data):
        pass


def _local(name: str) -> str:
    """``x:c`` → ``c``: some writers prefix SpreadsheetML's names; only the local part counts."""
    return name.rpartition(":")[2]


def _attribute(attrs: dict[str, str], local: str) -> str | None:
    for name, value in attrs.items():
        if _local(name) == local:
            return value
    return None


# --- the workbook ----------------------------------------------------------------------------


def _relationships(archive: zipfile.ZipFile, part: str) -> dict[str, tuple[str, str]]:
    """A part's relationships: id → (type, target part), internal targets only."""
    folder, name = posixpath.split(part)
    rels_name = posixpath.join(folder, "_rels", name + ".rels")
    found: dict[str, tuple[str, str]] = {}

    def start(tag: str, attrs: dict[str, str]) -> None:
        if _local(tag) == "Relationship" and attrs.get("TargetMode") != "External":
            target = attrs.get("Target", "")
            path = target.lstrip("/") if target.startswith("/") else posixpath.normpath(
                posixpath.join(folder, target))
            found[attrs.get("Id", "")] = (attrs.get("Type", ""), path)

    if rels_name in archive.namelist():
        _read_whole(archive, rels_name, MAX_PART_BYTES, start)
    return found


@lru_cache(maxsize=512)
def _format_kind(code: str) -> int:
    if is_timedelta_format(code):
        return _DURATION
    return _DATE if is_date_format(code) else _NUMBER


class _Book:
    """What reading the first sheet's cells needs from the rest of the workbook."""

    def __init__(self, sheet: str, strings: list[str], style_kinds: bytearray,
                 epoch: Any) -> None:
        self.sheet = sheet
        self.strings = strings
        self.style_kinds = style_kinds
        self.epoch = epoch

    @classmethod
    def read(cls, archive: zipfile.ZipFile, string_bytes: int) -> _Book:
        office = [target for kind, target in _relationships(archive, "").values()
                  if kind.endswith("/officeDocument")]
        if not office:
            raise unreadable("it names no workbook")
        workbook = office[0]
        rels = _relationships(archive, workbook)
        sheet_ids: list[str] = []
        date1904: list[bool] = []

        def start(tag: str, attrs: dict[str, str]) -> None:
            name = _local(tag)
            if name == "sheet":
                sheet_ids.append(_attribute(attrs, "id") or "")
            elif name == "workbookPr":
                date1904.append(attrs.get("date1904", "").lower() in {"1", "true"})

        _read_whole(archive, workbook, MAX_PART_BYTES, start)
        sheets = [rels[rid][1] for rid in sheet_ids
                  if rid in rels and rels[rid][0].endswith("/worksheet")]
        if not sheets:
            raise FileRefused("bảng tính không có trang nào", "the workbook has no sheet")
        parts = {kind.rpartition("/")[2]: target for kind, target in rels.values()}
        return cls(sheets[0], _shared_strings(archive, parts.get("sharedStrings"), string_bytes),
                   _style_kinds(archive, parts.get("styles")),
                   CALENDAR_MAC_1904 if any(date1904) else WINDOWS_EPOCH)


def _style_kinds(archive: zipfile.ZipFile, part: str | None) -> bytearray:
    """For each cell style (``s`` of a cell), whether its number format is a date, a duration
    or a plain number: one byte a style, however many the file declares."""
    kinds = bytearray()
    custom: dict[int, int] = {}
    in_cell_formats = [False]

    def number(attrs: dict[str, str]) -> int:
        try:
            return int(attrs.get("numFmtId") or 0)
        except ValueError:
            raise unreadable("a style has no number format id") from None

    def start(tag: str, attrs: dict[str, str]) -> None:
        name = _local(tag)
        if name == "numFmt":
            custom[number(attrs)] = _format_kind(attrs.get("formatCode", ""))
        elif name == "cellXfs":
            in_cell_formats[0] = True
        elif name == "xf" and in_cell_formats[0]:
            fmt = number(attrs)
            kinds.append(custom[fmt] if fmt in custom
                         else _format_kind(BUILTIN_FORMATS.get(fmt) or ""))

    def end(tag: str) -> None:
        if _local(tag) == "cellXfs":
            in_cell_formats[0] = False

    if part is not None:
        _read_whole(archive, part, MAX_PART_BYTES, start, end)
    return kinds


class _TextCollector:
    """The text of ``<t>`` (and ``<v>``) elements inside one item, rich-text runs joined and
    phonetic guides (``<rPh>``) left out, as Excel shows the cell; refuses past Excel's
    limit."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.size = 0
        self.collecting = False
        self.phonetic = 0

    def reset(self) -> None:
        self.parts, self.size, self.collecting = [], 0, False

    def start(self, name: str) -> None:
        if name == "rPh":
            self.phonetic += 1
        elif name in {"t", "v"} and not self.phonetic:
            self.collecting = True

    def end(self, name: str) -> None:
        if name == "rPh":
            self.phonetic -= 1
        elif name in {"t", "v"}:
            self.collecting = False

    def data(self, text: str) -> None:
        if self.collecting:
            self.size += len(text)
            if self.size > MAX_CELL_CHARS:
                raise FileRefused(
                    f"bảng tính có ô dài hơn {vi_number(MAX_CELL_CHARS)} ký tự, giới hạn của "
                    "chính Excel",
                    f"the workbook holds a cell longer than {MAX_CELL_CHARS:,} characters, "
                    "Excel's own limit")
            self.parts.append(text)

    def text(self) -> str:
        return "".join(self.parts)


def _shared_strings(archive: zipfile.ZipFile, part: str | None, limit: int) -> list[str]:
    """The workbook's table of texts, which cells of type ``s`` point into."""
    strings: list[str] = []
    text = _TextCollector()

    def start(tag: str, _attrs: dict[str, str]) -> None:
        name = _local(tag)
        if name == "si":
            text.reset()
        else:
            text.start(name)

    def end(tag: str) -> None:
        name = _local(tag)
        if name == "si":
            strings.append(text.text())
        else:
            text.end(name)

    if part is not None:
        _read_whole(archive, part, limit, start, end, text.data)
    return strings


# --- the sheet -------------------------------------------------------------------------------


def _column(reference: str | None) -> int | None:
    """``AB12`` → 28."""
    number = 0
    for char in reference or "":
        if "A" <= char <= "Z":
            number = number * 26 + ord(char) - 64
        elif "a" <= char <= "z":
            number = number * 26 + ord(char) - 96
        else:
            break
    return number or None


def _number(text: str) -> int | float | str:
    try:
        return float(text) if any(c in text for c in ".eE") else int(text)
    except ValueError:
        return text


class _Sheet:
    """expat callbacks turning ``<row>``/``<c>`` into `SheetRow`s, keeping only the cells of
    the first `MAX_COLUMNS` columns (and, past them, only whether a cell had text)."""

    def __init__(self, book: _Book) -> None:
        self.book = book
        self.rows: list[SheetRow] = []
        self.number = 0
        self.cells: dict[int, Any] = {}
        self.width = 0
        self.column = 0
        self.kind = ""
        self.style = 0
        self.in_cell = False
        self.text = _TextCollector()

    def start(self, tag: str, attrs: dict[str, str]) -> None:
        name = _local(tag)
        if name == "c":
            self.column = _column(attrs.get("r")) or self.column + 1
            self.kind = attrs.get("t", "n")
            self.style = int(attrs["s"]) if attrs.get("s", "").isdigit() else 0
            self.in_cell = True
            self.text.reset()
        elif self.in_cell:
            self.text.start(name)
        elif name == "row":
            reference = attrs.get("r", "")
            self.number = int(reference) if reference.isdigit() else self.number + 1
            self.cells, self.width, self.column = {}, 0, 0

    def end(self, tag: str) -> None:
        name = _local(tag)
        if name == "c":
            self.in_cell = False
            self._keep_cell()
        elif self.in_cell:
            self.text.end(name)
        elif name == "row":
            last = max(self.cells, default=0)
            self.rows.append(SheetRow(self.number, [self.cells.get(column)
                                                    for column in range(1, last + 1)],
                                      self.width))

    def data(self, text: str) -> None:
        if not self.in_cell:
            return
        if self.column <= MAX_COLUMNS:
            self.text.data(text)
        elif self.text.collecting and text.strip():
            self.width = max(self.width, self.column)  # past the cap: only that it is filled

    def _keep_cell(self) -> None:
        if self.column > MAX_COLUMNS:
            return
        value = self._value(self.text.text())
        if value is not None and str(value).strip():
            self.cells[self.column] = value
            self.width = max(self.width, self.column)

    def _value(self, text: str) -> Any:
        """The cell as openpyxl would give it with ``data_only``: text, number, date, bool."""
        if self.kind in {"inlineStr", "str", "e"}:
            return text
        if not text:
            return None
        if self.kind == "s":
            try:
                return self.book.strings[int(text)]
            except (ValueError, IndexError):
                raise unreadable(f"row {self.number} points to a text that is not "
                                 "there") from None
        if self.kind == "b":
            return text.strip() in {"1", "true"}
        if self.kind == "d":
            try:
                return from_ISO8601(text)
            except ValueError:
                return text
        return self._dated(_number(text))

    def _dated(self, number: int | float | str) -> Any:
        kinds = self.book.style_kinds
        kind = kinds[self.style] if self.style < len(kinds) else _NUMBER
        if isinstance(number, str) or kind == _NUMBER:
            return number
        try:
            return from_excel(number, self.book.epoch, timedelta=kind == _DURATION)
        except (OverflowError, ValueError):
            return number


def _sheet_rows(archive: zipfile.ZipFile, book: _Book) -> Iterator[SheetRow]:
    sheet = _Sheet(book)
    for _ in _parse(archive, _member(archive, book.sheet, MAX_SHEET_BYTES), sheet.start,
                    sheet.end, sheet.data):
        rows, sheet.rows = sheet.rows, []
        yield from rows
