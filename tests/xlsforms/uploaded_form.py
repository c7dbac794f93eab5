"""A commune's own form that declares its field policy: the smallest XLSForm using the
columns xlsforms/README.md "Field policy" documents, written with openpyxl the way a
spreadsheet program saves it. Tests of uploads can publish it (`write_uploaded_form`) and
compare what the server hides with `POLICY`."""

from __future__ import annotations

from pathlib import Path

from openpyxl import Workbook

from sync.field_policy import NAMESPACE, FieldPolicy, Sensitivity

FORM_ID = "tham_ho_xa"
VERSION = "2026120401"

SURVEY_HEADER = (
    "type",
    "name",
    "label",
    "bind::diemtua:sensitivity",
    "bind::diemtua:village",
)
# The village answer, then one repeat per child: a sensitive answer, a health group (its
# level covers both questions inside) and the enumerator's confidential concern.
SURVEY_ROWS: tuple[tuple[str, ...], ...] = (
    ("select_one_from_file villages.csv", "thon", "Thôn", "", "yes"),
    ("begin_repeat", "tre", "Trẻ em", "", ""),
    ("text", "ho_ten", "Họ và tên trẻ", "", ""),
    ("text", "dan_toc", "Dân tộc", "sensitive", ""),
    ("begin_group", "suc_khoe", "Sức khỏe", "health", ""),
    ("select_one co_khong", "benh_man", "Bệnh mạn tính?", "", ""),
    ("text", "ten_benh", "Tên bệnh", "", ""),
    ("end_group", "suc_khoe", "", "", ""),
    ("text", "lo_ngai", "Lo ngại của người rà soát (bảo mật)", "confidential", ""),
    ("end_repeat", "tre", "", "", ""),
)

POLICY = FieldPolicy(
    village="/thon",
    levels={
        "/tre/dan_toc": Sensitivity.SENSITIVE,
        "/tre/suc_khoe": Sensitivity.HEALTH,
        "/tre/lo_ngai": Sensitivity.CONFIDENTIAL,
    },
)


def write_uploaded_form(
    path: Path, *, namespaces: bool = True, levels: dict[str, str] | None = None
) -> Path:
    """Write the form to `path`. `namespaces=False` leaves out the settings column that
    declares the `diemtua` prefix (the mistake a commune could make); `levels` replaces the
    sensitivity cell of the named rows (e.g. an unknown level)."""
    book = Workbook()
    survey = book.active
    assert survey is not None
    survey.title = "survey"
    survey.append(SURVEY_HEADER)
    for row in SURVEY_ROWS:
        cells = list(row)
        if levels and row[1] in levels:
            cells[3] = levels[row[1]]
        survey.append([cell or None for cell in cells])
    choices = book.create_sheet("choices")
    choices.append(("list_name", "name", "label"))
    choices.append(("co_khong", "yes", "Có"))
    choices.append(("co_khong", "no", "Không"))
    settings = book.create_sheet("settings")
    header = ["form_title", "form_id", "version"]
    values = ["Thăm hộ (xã tự thiết kế)", FORM_ID, VERSION]
    if namespaces:
        header.append("namespaces")
        values.append(f'diemtua="{NAMESPACE}"')
    settings.append(header)
    settings.append(values)
    book.save(path)
    return path
