"""ODK Central's CSV export ("Briefcase" layout), streamed: one main table, one per repeat.

Column rules follow Central (lib/data/briefcase.js): `SubmissionDate`, then every field in
document order named by its path with `-` between groups, geopoints split into
`-Latitude/-Longitude/-Altitude/-Accuracy`, then Central's metadata columns. Repeat tables hold
their own fields, then `PARENT_KEY` and `KEY`, and are named `<formId>-<repeat>.csv` (`~1`, `~2`
when two repeats share a name). Rows come newest first.

Cells are spreadsheet-safe (exports/cells.py) unless a machine client asks for Central's bytes
(`neutralise=False`).

The main table streams out as it is made. Repeat rows appear while main rows are read, but a zip
holds members one after another, so they wait in spooled temporary files (memory first, disk
past a few MB) and follow the main table.
"""

from __future__ import annotations

import csv
import io
import re
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import IO

from exports.cells import FORMULA_STARTS, safe_row
from exports.records import InstanceReader, Node, iso_utc, repeat_rows
from exports.schema import REPEAT, STRUCTURE, Field, FormSchema
from exports.source import ExportRow, MediaFile
from exports.zipstream import CHUNK, ZipStream, rechunk

META_COLUMNS = ("KEY", "SubmitterID", "SubmitterName", "AttachmentsPresent",
                "AttachmentsExpected", "Status", "ReviewState", "DeviceID", "Edits",
                "FormVersion")
GEOPOINT_PARTS = ("Latitude", "Longitude", "Altitude", "Accuracy")
SPOOL_BYTES = 4 * 1024 * 1024

# A cell start, in a row joined by NUL (which XML text cannot hold), that needs quoting.
_FORMULA_STARTS_JOINED = tuple("\x00" + start for start in FORMULA_STARTS)
_UNSAFE_FILE_CHARS = re.compile(r'[/\\?<>:*|"\x00-\x1f\x80-\x9f]')


def safe_file_name(name: str) -> str:
    """What sanitize-filename leaves of a name (Central names export files with it)."""
    cleaned = _UNSAFE_FILE_CHARS.sub("", name).rstrip(". ")
    return cleaned if cleaned not in {"", ".", ".."} else "_"


@dataclass
class Table:
    """One CSV file: the submission table (`repeat is None`) or one repeat's table."""

    file_name: str
    repeat: Field | None
    fields: list[Field] = field(default_factory=list)
    header: list[str] = field(default_factory=list)
    # Each column's field path and, for a geopoint's four columns, which part (else -1).
    columns: list[tuple[str, int]] = field(default_factory=list)


def _column_names(item: Field, table: Table) -> list[str]:
    base_path = table.repeat.path if table.repeat else ""
    base = item.path[len(base_path) + 1:].replace("/", "-")
    if item.type == "geopoint":
        return [f"{base}-{part}" for part in GEOPOINT_PARTS]
    return [base]


def _collect(fields: Iterable[Field], table: Table, tables: list[Table]) -> None:
    for item in fields:
        if item.type == REPEAT:
            sub = Table(file_name="", repeat=item)
            tables.append(sub)
            _collect(item.children, sub, tables)
            sub.header += ["PARENT_KEY", "KEY"]
        elif item.type == STRUCTURE:
            _collect(item.children, table, tables)
        else:
            table.fields.append(item)
            table.header += _column_names(item, table)
            parts = range(len(GEOPOINT_PARTS)) if item.type == "geopoint" else (-1,)
            table.columns += [(item.path, part) for part in parts]


def layout(schema: FormSchema, form_id: str) -> list[Table]:
    """The main table first, then one table per repeat in document order."""
    main = Table(file_name=f"{safe_file_name(form_id)}.csv", repeat=None,
                 header=["SubmissionDate"])
    tables = [main]
    _collect(schema.fields, main, tables)
    main.header += list(META_COLUMNS)
    repeats = tables[1:]
    totals: dict[str, int] = {}
    for table in repeats:
        assert table.repeat is not None
        totals[table.repeat.name] = totals.get(table.repeat.name, 0) + 1
    seen: dict[str, int] = {}
    for table in repeats:
        assert table.repeat is not None
        name = table.repeat.name
        if totals[name] > 1:
            seen[name] = seen.get(name, 0) + 1
            name = f"{name}~{seen[name]}"
        table.file_name = safe_file_name(f"{form_id}-{name}.csv")
    return tables


def _part(value: str | None, index: int) -> str:
    parts = value.split() if value else []
    return parts[index] if index < len(parts) else ""


def _cells(node: Node, table: Table) -> list[str]:
    values = node.values
    return [(values.get(path) or "") if part < 0 else _part(values.get(path), part)
            for path, part in table.columns]


def _meta_cells(row: ExportRow) -> list[str]:
    return [row.instance_id,
            "" if row.submitter_id is None else str(row.submitter_id),
            row.submitter_name or "", str(row.attachments_present),
            str(row.attachments_expected), "", row.review_state or "", row.device_id or "",
            str(row.edits), row.form_version]


class _CsvLines:
    """Turns rows of cells into UTF-8 CSV text the way csv-stringify writes it (`\\n`),
    spreadsheet-safe when `neutralise`. Lines gather until taken, a chunk at a time."""

    def __init__(self, neutralise: bool = True) -> None:
        self._text = io.StringIO()
        self._writer = csv.writer(self._text, lineterminator="\n")
        self._neutralise = neutralise

    def add(self, cells: list[str]) -> None:
        # A few substring searches over the joined row tell whether any cell needs quoting;
        # most rows have none, and then no cell is looked at one by one.
        if self._neutralise:
            joined = "\x00" + "\x00".join(cells)
            if any(start in joined for start in _FORMULA_STARTS_JOINED):
                cells = safe_row(cells)
        self._writer.writerow(cells)

    def held(self) -> int:
        return self._text.tell()

    def take(self) -> bytes:
        encoded = self._text.getvalue().encode("utf-8")
        self._text.seek(0)
        self._text.truncate()
        return encoded

    def line(self, cells: list[str]) -> bytes:
        self.add(cells)
        return self.take()


RepeatSink = Callable[[Table, list[str]], None]


def _repeat_rows(node: Node, instance_id: str, tables: dict[str, Table],
                 sink: RepeatSink) -> None:
    for path, sub, parent_key, key in repeat_rows(node, instance_id):
        table = tables[path]
        sink(table, [*_cells(sub, table), parent_key, key])


def main_table_lines(schema: FormSchema, tables: list[Table], rows: Iterable[ExportRow],
                     sink: RepeatSink | None = None, neutralise: bool = True) -> Iterator[bytes]:
    """The main CSV, a chunk of lines at a time; repeat rows go to `sink` (dropped when it is
    None)."""
    main = tables[0]
    by_path = {t.repeat.path: t for t in tables[1:] if t.repeat is not None}
    lines = _CsvLines(neutralise)
    reader = InstanceReader(schema)
    lines.add(main.header)
    for row in rows:
        node = reader.read(row.xml)
        lines.add([iso_utc(row.created_at) or "", *_cells(node, main), *_meta_cells(row)])
        if sink is not None:
            _repeat_rows(node, row.instance_id, by_path, sink)
        if lines.held() >= CHUNK:
            yield lines.take()
    yield lines.take()


def csv_stream(schema: FormSchema, form_id: str, rows: Iterable[ExportRow],
               neutralise: bool = True) -> Iterator[bytes]:
    """`submissions.csv`: the main table alone."""
    tables = layout(schema, form_id)
    return rechunk(main_table_lines(schema, tables, rows, neutralise=neutralise))


class _Spool:
    """One repeat table's lines, waiting for the main table to finish."""

    def __init__(self, table: Table, neutralise: bool) -> None:
        self.file: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)
        self.lines = _CsvLines(neutralise)
        self.lines.add(table.header)

    def add(self, cells: list[str]) -> None:
        self.lines.add(cells)
        if self.lines.held() >= CHUNK:
            self.file.write(self.lines.take())

    def chunks(self) -> Iterator[bytes]:
        self.file.write(self.lines.take())
        self.file.seek(0)
        while chunk := self.file.read(CHUNK):
            yield chunk
        self.file.close()


def zip_stream(schema: FormSchema, form_id: str, rows: Iterable[ExportRow],
               media: Iterable[MediaFile] = (),
               open_blob: Callable[[str], Iterable[bytes]] | None = None,
               neutralise: bool = True) -> Iterator[bytes]:
    """`submissions.csv.zip`: all tables, then `media/<name>` for each received file."""
    tables = layout(schema, form_id)
    spools = {table.file_name: _Spool(table, neutralise) for table in tables[1:]}

    def sink(table: Table, cells: list[str]) -> None:
        spools[table.file_name].add(cells)

    archive = ZipStream()
    try:
        yield from archive.add(tables[0].file_name,
                               rechunk(main_table_lines(schema, tables, rows, sink,
                                                        neutralise)))
        for name, spool in spools.items():
            yield from archive.add(name, spool.chunks())
        if open_blob is not None:
            yield from _media(archive, media, open_blob)
        yield from archive.finish()
    finally:
        for spool in spools.values():
            spool.file.close()


def _media(archive: ZipStream, media: Iterable[MediaFile],
           open_blob: Callable[[str], Iterable[bytes]]) -> Iterator[bytes]:
    written: set[tuple[str, str]] = set()
    for item in media:
        # The same bytes under the same name once; same name, other bytes: both, like Central.
        if (item.name, item.sha256) in written:
            continue
        written.add((item.name, item.sha256))
        yield from archive.add(f"media/{safe_file_name(item.name)}", open_blob(item.sha256))
