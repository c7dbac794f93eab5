"""The .xlsx files are built from the text sources in xlsforms/sources and committed."""

from __future__ import annotations

import csv
from pathlib import Path

import openpyxl
import pytest

import xlsforms
from xlsforms import build
from xlsforms.sheet import VI
from xlsforms.sources import SOURCES


@pytest.mark.parametrize("form_id", xlsforms.FORM_IDS)
def test_committed_workbook_matches_its_source(form_id: str) -> None:
    differences = build.differences(SOURCES[form_id], xlsforms.form_path(form_id))
    assert differences == [], "run `python -m xlsforms.build`:\n" + "\n".join(differences)


def test_check_mode_passes_on_the_committed_files(capsys: pytest.CaptureFixture[str]) -> None:
    assert build.main(["--check"]) == 0
    assert "up to date" in capsys.readouterr().out


def test_building_twice_gives_identical_bytes(tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    first.mkdir()
    second.mkdir()
    build.main(["--out", str(first)])
    build.main(["--out", str(second)])
    for form_id in xlsforms.FORM_IDS:
        name = f"{form_id}.xlsx"
        assert (first / name).read_bytes() == (second / name).read_bytes()


def test_diff_names_the_cell_a_commune_edited_in_excel(tmp_path: Path) -> None:
    edited = tmp_path / "edited.xlsx"
    book = openpyxl.load_workbook(xlsforms.form_path("household_screening"))
    survey = book["survey"]
    header = [cell.value for cell in survey[1]]
    names = [cell.value for cell in survey["B"]]
    row = names.index("hh_head_name") + 1
    survey.cell(row=row, column=header.index(f"label::{VI}") + 1, value="Tên chủ hộ")
    book.save(edited)

    found = build.differences(SOURCES["household_screening"], edited)

    assert len(found) == 1
    assert f"survey!row {row} [label::{VI}]" in found[0]
    assert "'Tên chủ hộ'" in found[0]
    assert build.main(["--diff", str(edited)]) == 1


def test_package_lists_the_forms_in_publishing_order() -> None:
    # The screening form declares the `children` entity list the follow-up form reads.
    assert xlsforms.FORM_IDS == ("household_screening", "child_followup")
    assert [path.name for path in xlsforms.FORMS] == [
        "household_screening.xlsx",
        "child_followup.xlsx",
    ]
    assert all(path.is_file() for path in xlsforms.FORMS)
    assert set(xlsforms.ATTACHMENTS) == set(xlsforms.FORM_IDS)
    with pytest.raises(KeyError):
        xlsforms.form_path("no_such_form")


def test_demo_villages_have_codes_and_vietnamese_labels() -> None:
    with xlsforms.VILLAGES_CSV.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert rows and list(rows[0]) == ["name", "label"]
    names = [row["name"] for row in rows]
    assert len(set(names)) == len(names)
    assert all(name.isascii() and " " not in name for name in names)
    assert any(not row["label"].isascii() for row in rows)  # diacritics survive
