"""`submissions.xlsx` over HTTP, opened with openpyxl as an officer's spreadsheet would open it:
labels for headers (Vietnamese and English), one sheet per table tied by PARENT_KEY, choices
as their labels, typed cells that never become formulas, received files as links, the answers
a caller may not read absent, and a first sheet saying what the file is. Also: the CSV zip
leaves the server while it is being made."""

from __future__ import annotations

import io
import random
import tempfile
import tracemalloc
import unicodedata
import zipfile
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import Element

import pytest
from flask.testing import FlaskClient
from openpyxl import Workbook, load_workbook
from openpyxl.worksheet.worksheet import Worksheet
from sqlalchemy import select

import xlsforms
from exports import xlsx_submissions
from exports.form_labels import FormLabels, form_labels
from server.models import Audit, Form, FormDef
from server.services import Services
from sync.safe_xml import local_name, parse_xml
from tests.access.commune import CONCERN, ETHNICITY, ILLNESS, INSIDE, Commune, build_commune
from tests.conftest import PNG_BYTES, Screening, fixture_bytes, new_instance_id, screening_xml
from tests.exports.forms import HEAD

# Every Vietnamese letter with every tone mark, small and capital.
VOWELS = "aăâeêioôơuưy"
TONES = ("", "\u0300", "\u0301", "\u0309", "\u0303", "\u0323")
ALL_LETTERS = "".join(unicodedata.normalize("NFC", vowel + tone)
                      for vowel in VOWELS + VOWELS.upper() for tone in TONES) + "đĐ"
FORMULAS = ('=HYPERLINK("http://xa.example/x","Bấm")', "+cmd|' /C calc'!A0", "@SUM(A1)",
            "-2+3")


def workbook(client: FlaskClient, path: str, headers: dict[str, str]) -> Workbook:
    response = client.get(path, headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.headers["Content-Type"] == xlsx_submissions.XLSX_TYPE
    assert response.headers["Content-Disposition"].startswith("attachment; filename=")
    return load_workbook(io.BytesIO(response.data))


def header(sheet: Worksheet) -> list[Any]:
    return [cell.value for cell in sheet[1]]


def records(sheet: Worksheet) -> list[dict[str, Any]]:
    """The sheet's rows by header (the last column of a header wins, as a dict would)."""
    names = header(sheet)
    return [dict(zip(names, row, strict=True))
            for row in sheet.iter_rows(min_row=2, values_only=True)]


def about(book: Workbook) -> dict[str, Any]:
    sheet = book["Thông tin"]
    return {row[0]: row[1] for row in sheet.iter_rows(values_only=True) if row[0]}


def every_text(book: Workbook) -> str:
    return "\n".join(str(value) for sheet in book.worksheets
                     for row in sheet.iter_rows(values_only=True) for value in row
                     if value is not None)


# --- labels read from the XForm ------------------------------------------------------------

TWO_LANGUAGES = (
    f"{HEAD}<h:head><h:title>Thăm hộ</h:title><model>"
    "<itext><translation lang=\"Vietnamese (vi)\" default=\"true()\">"
    "<text id=\"/data/g/name:label\"><value>Tên trẻ</value></text>"
    "<text id=\"/data/g/help:label\"><value>Cần hỗ trợ <output value=\" /data/g/name \"/>?"
    "</value><value form=\"image\">jr://images/a.png</value></text>"
    "<text id=\"help-0\"><value>Tiền mặt</value></text>"
    "<text id=\"help-1\"><value>Học phí</value></text></translation>"
    "<translation lang=\"English (en)\">"
    "<text id=\"/data/g/name:label\"><value>Child's name</value></text>"
    "<text id=\"help-0\"><value>Cash</value></text></translation></itext>"
    "<instance><data id=\"two\"><g><name/><help/><sex/></g><calc/></data></instance>"
    "<instance id=\"sex\"><root><item><name>m</name><label>Nam</label></item>"
    "<item><name>f</name><label>Nữ</label></item></root></instance>"
    '<bind nodeset="/data/g/name" type="string"/><bind nodeset="/data/g/help" type="string"/>'
    '<bind nodeset="/data/g/sex" type="string"/>'
    '<bind nodeset="/data/calc" type="string" calculate="1"/></model></h:head><h:body>'
    '<group ref="/data/g"><input ref="name"><label ref="jr:itext(\'/data/g/name:label\')"/>'
    '</input><select ref="/data/g/help"><label ref="jr:itext(\'/data/g/help:label\')"/>'
    "<item><label ref=\"jr:itext('help-0')\"/><value>cash</value></item>"
    "<item><label ref=\"jr:itext('help-1')\"/><value>school</value></item></select>"
    '<select1 ref="/data/g/sex"><label>Giới tính</label>'
    "<itemset nodeset=\"instance('sex')/root/item[name != '']\"><value ref=\"name\"/>"
    '<label ref="label"/></itemset></select1></group></h:body></h:html>')


def test_labels_come_from_the_chosen_translation_and_fall_back_to_the_default_one() -> None:
    vietnamese, english = form_labels(TWO_LANGUAGES, "vi"), form_labels(TWO_LANGUAGES, "en")

    assert vietnamese.question("/g/name", "name") == "Tên trẻ"
    assert english.question("/g/name", "name") == "Child's name"  # a relative ref
    assert english.question("/g/help", "help") == "Cần hỗ trợ ${name}?"  # no English text
    assert english.question("/calc", "calc") == "calc"  # no label: its name
    assert vietnamese.choice_labels("/g/help", "cash school", many=True) == "Tiền mặt, Học phí"
    assert english.choice_labels("/g/help", "school cash", many=True) == "Học phí, Cash"
    assert english.choice_labels("/g/sex", "f", many=False) == "Nữ"
    assert english.choice_labels("/g/sex", "x", many=False) == "x"  # a value not listed


# --- the child_screening form (one language), through the `screening` fixture --------------


def test_a_form_without_submissions_gives_its_sheets_with_headers_only(
        client: FlaskClient, screening: Screening, admin_bearer: dict[str, str]) -> None:
    book = workbook(client, f"{screening.base}/submissions.xlsx", admin_bearer)

    assert book.sheetnames == ["Thông tin", "Child screening", "Child"]
    main, children = book["Child screening"], book["Child"]
    assert main.max_row == 1 and children.max_row == 1
    assert header(main)[:5] == ["Ngày gửi (giờ Việt Nam)", "start", "end",
                                "Household head name", "Visit date"]
    assert header(children) == ["Child's full name", "Age (years)", "Is the child orphaned?",
                                "Which parent(s) died?", "child_label", "label", "PARENT_KEY",
                                "KEY"]


def test_cells_are_typed_dates_numbers_and_links_and_formulas_stay_text(
        client: FlaskClient, screening: Screening, admin_bearer: dict[str, str]) -> None:
    photo_visit = screening.submit(fixture_bytes("javarosa-submission.xml"),
                                   {"house.png": PNG_BYTES})
    tricky = new_instance_id()
    screening.submit(screening_xml(tricky, FORMULAS[0],
                                   ((FORMULAS[1], 7, "yes"), (FORMULAS[2], 3, "no"),
                                    (FORMULAS[3], 1, "no"))))

    response = client.get(f"{screening.base}/submissions.xlsx?lang=en", headers=admin_bearer)
    book = load_workbook(io.BytesIO(response.data))

    main = book["Child screening"]
    by_key = {row["KEY"]: row for row in records(main)}
    visit = by_key[tricky]
    assert visit["Household head name"] == FORMULAS[0]
    assert visit["Visit date"] == datetime(2026, 11, 20)
    started = datetime(2026, 11, 28, 23, 50, 59, 714000)  # sent at +07: Vietnam time already
    assert abs((visit["start"] - started).total_seconds()) < 0.001
    assert visit["Number of children under 16"] == 3
    assert visit["Household location (latitude)"] == pytest.approx(21.0285)
    assert isinstance(visit["Submitted (Vietnam time)"], datetime)
    assert all(cell.data_type != "f" for sheet in book.worksheets
               for row in sheet.iter_rows() for cell in row)
    date_cells = [cell for row in main.iter_rows(min_row=2) for cell in row
                  if header(main)[cell.column - 1] == "Visit date"]
    assert date_cells and all(cell.is_date for cell in date_cells)
    children = [row for row in records(book["Child"]) if row["PARENT_KEY"] == tricky]
    assert [row["Child's full name"] for row in children] == list(FORMULAS[1:])
    assert [row["Is the child orphaned?"] for row in children] == ["Yes", "No", "No"]
    with zipfile.ZipFile(io.BytesIO(response.data)) as archive:
        for name in archive.namelist():
            if name.startswith("xl/worksheets/"):
                assert b"<f>" not in archive.read(name), name
    photo_column = header(main).index("Photo of house") + 1
    photo_row = next(row for row in main.iter_rows(min_row=2)
                     if row[header(main).index("KEY")].value == photo_visit)
    link = photo_row[photo_column - 1]
    assert link.value == "house.png"
    assert link.hyperlink is not None
    target = link.hyperlink.target
    assert target == (f"http://localhost{screening.base}/submissions/{photo_visit}"
                      "/attachments/house.png")
    fetched = client.get(target.removeprefix("http://localhost"), headers=admin_bearer)
    assert fetched.status_code == 200 and fetched.data == PNG_BYTES


def test_every_vietnamese_letter_comes_back_as_typed(
        client: FlaskClient, screening: Screening, admin_bearer: dict[str, str]) -> None:
    instance_id = new_instance_id()
    screening.submit(screening_xml(instance_id, ALL_LETTERS, ((ALL_LETTERS.upper(), 4, "no"),)))

    book = workbook(client, f"{screening.base}/submissions.xlsx", admin_bearer)

    assert records(book["Child screening"])[0]["Household head name"] == ALL_LETTERS
    assert records(book["Child"])[0]["Child's full name"] == ALL_LETTERS.upper()
    assert len(ALL_LETTERS) == 2 * 12 * 6 + 2


def test_the_export_is_audited_and_the_first_sheet_says_what_it_is(
        client: FlaskClient, screening: Screening) -> None:
    officer = screening.user("lan@xa.test", "cp_officer", display_name="Cán bộ Lan")
    screening.submit(screening_xml(new_instance_id(), "Lò Văn Páo", (("Lò Thị Mai", 5, "no"),)))

    book = workbook(client, f"{screening.base}/submissions.xlsx?lang=en",
                    screening.headers_for(officer))

    told = about(book)
    assert told["Người xuất / Exported by"] == "Cán bộ Lan"
    assert told["Phiên bản / Version"] == "2026112801"
    assert told["Biểu mẫu / Form"] == "Child screening (child_screening)"
    assert str(told["Câu trả lời bị ẩn / Answers hidden"]).startswith("Không")
    exported = told["Thời điểm xuất (giờ Việt Nam, UTC+7) / Exported at (Vietnam time, UTC+7)"]
    assert isinstance(exported, datetime)
    with screening.world.uow() as db:
        audit = db.scalars(select(Audit).where(Audit.action == "form.submission.export")).one()
        assert audit.actor_id == officer
        assert audit.details is not None
        assert (audit.details["output"], audit.details["rows"]) == ("xlsx", 1)
        assert audit.details["filters"] == {"lang": "en"}
        # Vietnam time, to the minute, of the audit row's UTC time.
        assert abs((exported - audit.logged_at).total_seconds() - 7 * 3600) < 120


def test_a_table_longer_than_a_sheet_goes_on_in_another_and_links_stop_at_the_limit(
        client: FlaskClient, screening: Screening, admin_bearer: dict[str, str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(xlsx_submissions, "MAX_ROWS", 2)
    monkeypatch.setattr(xlsx_submissions, "MAX_LINKS", 1)
    for number in range(3):
        screening.submit(screening_xml(new_instance_id(), f"Hộ {number}",
                                       (("Trẻ", number, "no"),), photo=f"nha{number}.png"))

    book = workbook(client, f"{screening.base}/submissions.xlsx", admin_bearer)

    assert book.sheetnames == ["Thông tin", "Child screening", "Child screening (2)", "Child",
                               "Child (2)"]
    assert [book[name].max_row for name in book.sheetnames[1:]] == [3, 2, 3, 2]
    photos = [row[header(book["Child screening"]).index("Photo of house")]
              for name in ("Child screening", "Child screening (2)")
              for row in book[name].iter_rows(min_row=2)]
    assert [cell.hyperlink is not None for cell in photos] == [True, False, False]
    assert str(photos[2].value).endswith("/attachments/nha0.png")


def test_an_unknown_label_language_is_refused_before_anything_is_audited(
        client: FlaskClient, screening: Screening, admin_bearer: dict[str, str]) -> None:
    response = client.get(f"{screening.base}/submissions.xlsx?lang=fr", headers=admin_bearer)

    assert response.status_code == 400 and response.json["code"] == 400.8
    with screening.world.uow() as db:
        assert db.scalars(select(Audit).where(Audit.action == "form.submission.export")).all() \
            == []


def test_the_workbook_is_written_to_a_temporary_file_that_is_gone_afterwards(
        client: FlaskClient, screening: Screening, admin_bearer: dict[str, str],
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    screening.submit(screening_xml(new_instance_id(), "Hộ tạm", (("Trẻ", 1, "no"),)))
    spool = tmp_path / "spool"
    spool.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(spool))

    response = client.get(f"{screening.base}/submissions.xlsx", headers=admin_bearer,
                          buffered=False)
    assert response.is_streamed
    body = b"".join(response.response)  # type: ignore[arg-type]
    response.close()

    assert load_workbook(io.BytesIO(body)).sheetnames[0] == "Thông tin"
    assert list(spool.iterdir()) == []


# --- the commune's household screening (Vietnamese and English, confidential fields) ---------


@pytest.fixture
def commune(services: Services) -> Commune:
    return build_commune(services)


def screening_labels(commune: Commune, language: str) -> FormLabels:
    """The labels of the commune's screening form, as the form and its village list (the
    demo attaches xlsforms/villages.csv) give them."""
    with commune.services.database.unit_of_work() as db:
        form = db.get_one(Form, commune.screening_form_id)
        xml = db.get_one(FormDef, form.current_def_id).xml
    return form_labels(xml, language, lambda name: xlsforms.VILLAGES_CSV.read_bytes()
                       if name == "villages.csv" else None)


def children_in(xml: str) -> int:
    def count(element: Element) -> int:
        return sum(1 if local_name(child.tag) == "child" else count(child) for child in element)
    return count(parse_xml(xml.encode()))


def test_headers_and_choices_are_labels_in_vietnamese_or_english_and_rows_link_by_key(
        client: FlaskClient, commune: Commune) -> None:
    path = f"{commune.screening_base()}/submissions.xlsx"
    officer = commune.bearer("cp_officer")

    vietnamese = workbook(client, path, officer)
    english = workbook(client, f"{path}?lang=en", officer)

    for book, language in ((vietnamese, "vi"), (english, "en")):
        labels = screening_labels(commune, language)
        main_title, child_title = book.sheetnames[1:3]
        main, children = book[main_title], book[child_title]
        assert labels.question("/household/hh_head_name", "") in header(main)
        sex = header(children).index(labels.question("/household/child/c_sex", ""))
        sexes = {row[sex] for row in children.iter_rows(min_row=2, values_only=True)}
        assert sexes and sexes <= {labels.choice_labels("/household/child/c_sex", value, False)
                                   for value in ("male", "female", "unknown")}
        assert not sexes & {"male", "female", "unknown"}
        keys = {row["KEY"] for row in records(main)}
        parents = [row["PARENT_KEY"] for row in records(children)]
        assert keys and set(parents) <= keys
        assert parents.count(commune.visit_inside) == children_in(
            commune.xml_of(commune.visit_inside))
        assert all(str(row["KEY"]).startswith(f"{row['PARENT_KEY']}/household/child[")
                   for row in records(children))
    assert "Họ và tên chủ hộ" in header(vietnamese[vietnamese.sheetnames[1]])
    assert "Name of household head" in header(english[english.sheetnames[1]])
    main = vietnamese[vietnamese.sheetnames[1]]
    village = header(main).index("Thôn/tổ dân phố")
    villages = {row[village] for row in main.iter_rows(min_row=2, values_only=True)}
    assert "Thôn Đông" in villages and INSIDE not in villages  # from the attached villages.csv
    concern = screening_labels(commune, "vi").choice_labels(
        "/household/child/f_protection/f_type", CONCERN, True)
    assert concern != CONCERN and concern in every_text(vietnamese)


def test_a_caller_finds_no_answer_or_village_it_may_not_see_and_is_told_so(
        client: FlaskClient, commune: Commune) -> None:
    path = f"{commune.screening_base()}/submissions.xlsx"
    labels = screening_labels(commune, "vi")
    confidential = [
        labels.question("/household/child/f_protection/f_type", "f_type"),
        labels.question("/household/child/e_illness", "e_illness"),
        labels.question("/household/child/c_ethnic", "c_ethnic"),
        labels.choice_labels("/household/child/f_protection/f_type", CONCERN, True),
        labels.choice_labels("/household/child/c_ethnic", ETHNICITY, False), ILLNESS]

    officer_book = workbook(client, path, commune.bearer("cp_officer"))
    viewer_book = workbook(client, path, commune.bearer("viewer"))
    limited_book = workbook(client, path, commune.bearer("cp_officer_t01"))

    officer, viewer = every_text(officer_book), every_text(viewer_book)
    for word in confidential:
        assert word in officer, word
        assert word not in viewer, word
    assert "Lò Thị Mai" in viewer  # the child's name is not confidential
    assert str(about(viewer_book)["Câu trả lời bị ẩn / Answers hidden"]).startswith("Có")
    assert str(about(officer_book)["Câu trả lời bị ẩn / Answers hidden"]).startswith("Không")
    main = limited_book[limited_book.sheetnames[1]]
    village = header(main).index(labels.question("/village", ""))
    assert {row[village] for row in main.iter_rows(min_row=2, values_only=True)} == {
        labels.choice_labels("/village", INSIDE, False)}
    assert about(limited_book)["Thôn / Villages"] == INSIDE
    assert about(officer_book)["Thôn / Villages"] == "Tất cả / All"
    assert commune.visit_outside not in {row["KEY"] for row in records(main)}
    assert commune.visit_outside in {row["KEY"] for row in
                                     records(officer_book[officer_book.sheetnames[1]])}


# --- the CSV zip streams: its first bytes leave before the files are read --------------------


def test_the_csv_zip_sends_its_tables_before_reading_the_files_and_holds_no_file_whole(
        client: FlaskClient, screening: Screening, admin_bearer: dict[str, str],
        services: Services, monkeypatch: pytest.MonkeyPatch) -> None:
    photo = 1024 * 1024
    names = [f"nha{number}.png" for number in range(12)]
    for number, name in enumerate(names):
        body = PNG_BYTES + random.Random(number).randbytes(photo)  # deflate cannot shrink it
        screening.submit(screening_xml(new_instance_id(), f"Hộ {number}",
                                       (("Trẻ", 3, "no"),), photo=name), {name: body})
    opened: list[str] = []
    real_open = services.store.open

    def counting_open(key: str) -> Iterator[bytes]:
        opened.append(key)
        return real_open(key)

    monkeypatch.setattr(services.store, "open", counting_open)
    response = client.get(f"{screening.base}/submissions.csv.zip", headers=admin_bearer,
                          buffered=False)
    assert response.is_streamed
    chunks = iter(response.response)

    first = next(chunks)
    assert first.startswith(b"PK") and opened == []  # the tables, before any file is read
    tracemalloc.start()
    size = len(first) + sum(len(chunk) for chunk in chunks)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    response.close()

    assert len(opened) == len(names)
    assert size > len(names) * photo  # every file is in it
    assert peak < 4 * photo, f"{peak} bytes held while streaming {size}"
