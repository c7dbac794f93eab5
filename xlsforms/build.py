"""Build the XLSForm workbooks from their text sources.

    python -m xlsforms.build            # write every xlsforms/<form_id>.xlsx
    python -m xlsforms.build --check    # exit 1 if a committed .xlsx differs from its source
    python -m xlsforms.build --diff F   # list the cells where F (e.g. edited in Excel)
                                        # differs from the source of its form_id

Comparisons are by cell value, never by bytes. The written files are byte-for-byte
reproducible anyway (fixed zip and document timestamps), so rebuilding an unchanged
source leaves git clean.
"""

from __future__ import annotations

import argparse
import io
import re
import sys
import zipfile
from collections.abc import Sequence
from pathlib import Path

from openpyxl import Workbook, load_workbook
from openpyxl.styles import Font

from xlsforms import FORMS_DIR
from xlsforms.sheet import Form, used_columns
from xlsforms.sources import SOURCES

Cells = dict[str, list[list[str]]]

# 1980-01-01 is the earliest date a zip entry can carry.
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)
_DOC_TIME = "1980-01-01T00:00:00Z"
_DOC_TIMES = re.compile(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*(</dcterms:)")


def expected_cells(form: Form) -> Cells:
    """Sheet name → rows of cell text (header first), as the source defines them."""
    cells: Cells = {}
    for sheet, (order, rows) in form.sheets().items():
        columns = used_columns(order, rows)
        cells[sheet] = [columns] + [[row.get(column, "") for column in columns] for row in rows]
    return cells


def workbook(form: Form) -> Workbook:
    book = Workbook()
    book.remove(book.active)
    for sheet, rows in expected_cells(form).items():
        ws = book.create_sheet(sheet)
        for values in rows:
            ws.append([value or None for value in values])
        for cell in ws[1]:
            cell.font = Font(bold=True)
        ws.freeze_panes = "C2" if sheet == "survey" else "A2"
        for index, header in enumerate(rows[0], start=1):
            letter = ws.cell(row=1, column=index).column_letter
            ws.column_dimensions[letter].width = 40 if "::" in header else 18
    return book


def xlsx_bytes(form: Form) -> bytes:
    """The workbook as .xlsx bytes, identical for an identical source."""
    raw = io.BytesIO()
    workbook(form).save(raw)
    out = io.BytesIO()
    with zipfile.ZipFile(raw) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                data = _DOC_TIMES.sub(rb"\g<1>" + _DOC_TIME.encode() + rb"\g<2>", data)
            dst.writestr(zipfile.ZipInfo(info.filename, _ZIP_TIME), data, zipfile.ZIP_DEFLATED)
    return out.getvalue()


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value)


def read_cells(path: Path) -> Cells:
    """Sheet name → rows of cell text of an .xlsx, trailing empty cells and rows dropped."""
    book = load_workbook(path, read_only=True, data_only=True)
    cells: Cells = {}
    for ws in book.worksheets:
        rows = []
        for values in ws.iter_rows(values_only=True):
            row = [_text(value) for value in values]
            while row and not row[-1]:
                row.pop()
            rows.append(row)
        while rows and not rows[-1]:
            rows.pop()
        cells[ws.title] = rows
    book.close()
    return cells


def differences(form: Form, path: Path) -> list[str]:
    """Cell-by-cell differences between `path` and the form's source ("" when equal)."""
    want = expected_cells(form)
    have = read_cells(path)
    found = [f"sheet {name!r} is not in the source" for name in have if name not in want]
    for sheet, want_rows in want.items():
        if sheet not in have:
            found.append(f"sheet {sheet!r} is missing")
            continue
        have_rows = have[sheet]
        for r in range(max(len(want_rows), len(have_rows))):
            w = want_rows[r] if r < len(want_rows) else []
            h = have_rows[r] if r < len(have_rows) else []
            for col in range(max(len(w), len(h))):
                wv = w[col] if col < len(w) else ""
                hv = h[col] if col < len(h) else ""
                if wv != hv:
                    header = want_rows[0][col] if col < len(want_rows[0]) else f"col {col + 1}"
                    found.append(f"{sheet}!row {r + 1} [{header}]: source {wv!r}, file {hv!r}")
    return found


def _form_of(path: Path) -> Form:
    settings = read_cells(path).get("settings", [])
    if len(settings) < 2 or "form_id" not in settings[0]:
        raise SystemExit(f"{path}: no settings sheet with a form_id")
    form_id = settings[1][settings[0].index("form_id")]
    if form_id not in SOURCES:
        raise SystemExit(f"{path}: form_id {form_id!r} has no source in xlsforms/sources")
    return SOURCES[form_id]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m xlsforms.build",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--check", action="store_true", help="compare, do not write")
    mode.add_argument("--diff", type=Path, metavar="XLSX", help="compare one file to its source")
    parser.add_argument("--out", type=Path, default=FORMS_DIR, help="output folder")
    args = parser.parse_args(argv)

    if args.diff:
        found = differences(_form_of(args.diff), args.diff)
        print("\n".join(found) or f"{args.diff}: same as the source")
        return 1 if found else 0

    status = 0
    for form in SOURCES.values():
        path = args.out / form.filename
        if args.check:
            found = differences(form, path) if path.exists() else ["file missing"]
            for line in found:
                print(f"{path.name}: {line}")
            status |= bool(found)
            if not found:
                print(f"{path.name}: up to date")
        else:
            path.write_bytes(xlsx_bytes(form))
            print(f"wrote {path}")
    if status:
        print("run `python -m xlsforms.build` to rebuild from the sources", file=sys.stderr)
    return status


if __name__ == "__main__":
    raise SystemExit(main())
