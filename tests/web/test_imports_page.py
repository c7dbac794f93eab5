"""The import page, through Flask's test client on a real database (SQLite and PostgreSQL): a
preview that lists every problem of every row and saves nothing, a commit that imports the
very file previewed (kept in the blob store, named by a signed token) and reports every
refused row, and tokens that only their own person in their own commune can use.
"""

from __future__ import annotations

import html
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.test import TestResponse

from server.models import Village
from tests.registry.import_helpers import csv_bytes, xlsx_bytes
from tests.web.admin_commune import ADMIN_EMAIL, INSIDE, OUTSIDE, AdminCommune, admin_commune

ROW = re.compile(r'<li class="box refused-row" id="row-(\d+)">(.*?)</ul>\s*</li>', re.S)
PROBLEM = re.compile(r'<li class="problem">(?:<span class="column">(?:Cột|Column) ([^:]+):'
                     r"</span> )?(.*?)</li>")
PLACED = re.compile(r'<tr class="placed-row [a-z_]+" id="row-(\d+)">(.*?)</tr>', re.S)
DOUBT = re.compile(r'<li class="doubt">(?:<span class="column">(?:Cột|Column) ([^:]+):'
                   r"</span> )?(.*?)</li>")
TOKEN = re.compile(r'name="t" value="([^"]+)"')


@pytest.fixture(scope="module")
def commune(migrated_database: str, tmp_path_factory: pytest.TempPathFactory
            ) -> Iterator[AdminCommune]:
    with admin_commune(migrated_database, tmp_path_factory.mktemp("imports")) as built:
        yield built


def child(record_id: str, name: str, village: str = INSIDE, **cells: str) -> dict[str, str]:
    return {"record_id": record_id, "full_name": name, "village": village, "sex": "Nữ",
            "dob": "2015-03-04", "mother_name": f"Lường Thị {record_id}", **cells}


def with_errors(prefix: str) -> list[dict[str, str]]:
    """Rows 2 and 4 are good; row 3 has three doubtful fields (imported with them,
    docs/registry.md "Doubtful fields"), row 5 two problems (refused)."""
    return [
        child(f"{prefix}-1", f"Nguyễn Thị Lan {prefix}"),
        child(f"{prefix}-2", f"Vì Thị Hoa {prefix}", sex="X", dob="2099-01-01",
              special_circumstances="ZZZ"),
        child(f"{prefix}-3", f"Lò Văn Minh {prefix}", village="Thôn Đông", sex="Nam",
              dob="04/05/2016"),
        child(f"{prefix}-4", "", village="Thôn Không Có"),
    ]


def corrected(prefix: str) -> list[dict[str, str]]:
    rows = with_errors(prefix)
    rows[1].update(sex="Nữ", dob="2014-01-01", special_circumstances="HCDB-A")
    rows[3].update(full_name=f"Quàng Văn Sửa {prefix}", village="T02")
    return rows


@dataclass
class Page:
    response: TestResponse

    @property
    def text(self) -> str:
        return html.unescape(self.response.get_data(as_text=True))

    def refused(self) -> dict[int, list[tuple[str, str]]]:
        """Each refused row's number → its (column, problem) pairs, as listed."""
        return {int(number): [(column, problem) for column, problem in PROBLEM.findall(body)]
                for number, body in ROW.findall(self.text)}

    def doubts(self) -> dict[int, list[tuple[str, str]]]:
        """Each imported row's number → its doubtful (column, text) pairs, as listed."""
        return {int(number): DOUBT.findall(body) for number, body in PLACED.findall(self.text)
                if DOUBT.search(body)}

    def count(self, outcome: str) -> int:
        found = re.search(rf'id="count-{outcome}"><span class="figure">(\d+)', self.text)
        assert found, outcome
        return int(found.group(1))

    @property
    def token(self) -> str | None:
        found = TOKEN.search(self.response.get_data(as_text=True))
        return found.group(1) if found else None


def upload(client: FlaskClient, csrf: str, project_id: int, data: bytes, name: str,
           **fields: str) -> Page:
    """Upload, follow the redirect to the report; the report page."""
    answer = client.post(f"/ui/p/{project_id}/imports", data={
        "csrf": csrf, "file": (io.BytesIO(data), name), **fields},
        content_type="multipart/form-data")
    assert answer.status_code == 303, answer.get_data(as_text=True)[:400]
    page = client.get(answer.headers["Location"])
    assert page.status_code == 200
    return Page(page)


def commit(client: FlaskClient, csrf: str, project_id: int, token: str) -> Page:
    answer = client.post(f"/ui/p/{project_id}/imports/commit", data={"csrf": csrf, "t": token})
    assert answer.status_code == 303, answer.get_data(as_text=True)[:400]
    return Page(client.get(answer.headers["Location"]))


def test_a_preview_lists_every_problem_of_every_row_and_saves_nothing(
        commune: AdminCommune) -> None:
    client, csrf = commune.signed_in(commune.person("cp_officer"))
    before, imports = commune.children(), len(commune.audits("registry.import"))
    page = upload(client, csrf, commune.project_id, csv_bytes(with_errors("XEM")),
                  "xem-truoc.csv")

    assert "Xem trước khi nhập" in page.text and "chưa có gì được lưu" in page.text
    refused = page.refused()
    assert sorted(refused) == [5]
    assert [column for column, _ in refused[5]] == ["full_name", "village"]
    assert "Thôn Không Có" in refused[5][1][1]
    doubts = page.doubts()
    assert sorted(doubts) == [3]
    assert [column for column, _ in doubts[3]] == ["sex", "dob", "special_circumstances"]
    assert "'X' không phải Nam/Nữ" in doubts[3][0][1]
    assert "2099-01-01 ở tương lai" in doubts[3][1][1] and "ZZZ" in doubts[3][2][1]
    assert (page.count("created"), page.count("refused")) == (3, 1)
    assert 'id="row-2"' in page.text and "Nguyễn Thị Lan XEM" in page.text
    assert "Nhập 3 dòng" in page.text and page.token
    assert commune.children().keys() == before.keys()
    assert len(commune.audits("registry.import")) == imports


def test_the_preview_speaks_english_too(commune: AdminCommune) -> None:
    client, csrf = commune.signed_in(commune.person("manager"))
    answer = client.post(f"/ui/p/{commune.project_id}/imports?lang=en", data={
        "csrf": csrf, "file": (io.BytesIO(csv_bytes(with_errors("EN"))), "english.csv")},
        content_type="multipart/form-data")
    page = Page(client.get(answer.headers["Location"] + "&lang=en"))
    assert "Preview of the import" in page.text
    assert page.doubts()[3][1][1] == ("dob 2099-01-01 is in the future: kept, not used for "
                                      "matching")


def test_committing_imports_the_file_previewed_and_lists_every_refused_row(
        commune: AdminCommune) -> None:
    client, csrf = commune.signed_in(commune.person("cp_officer"))
    preview = upload(client, csrf, commune.project_id, csv_bytes(with_errors("NHAP")),
                     "so-theo-doi.csv")
    assert preview.token is not None
    result = commit(client, csrf, commune.project_id, preview.token)

    assert "Kết quả nhập danh sách" in result.text and result.token is None
    assert (result.count("created"), result.count("refused")) == (3, 1)
    assert result.refused() == preview.refused() and result.doubts() == preview.doubts()
    children = commune.children()
    lan, minh = children["Nguyễn Thị Lan NHAP"], children["Lò Văn Minh NHAP"]
    assert lan.village_code == minh.village_code == INSIDE
    assert f'href="/ui/p/{commune.project_id}/children/{lan.id}">' in result.text
    assert re.search(rf'/children/{lan.id}">\d{{5}}-\d</a>', result.text)
    audit = commune.audits("registry.import")[-1]
    assert audit.details is not None and audit.details["via"] == "web"
    assert audit.details["source"] == "so-theo-doi"
    assert audit.details["counts"]["created"] == 3 and audit.details["counts"]["refused"] == 1

    # The same preview committed again imports nothing twice.
    again = commit(client, csrf, commune.project_id, preview.token)
    assert again.count("already_imported") == 3 and again.count("created") == 0

    fixed = upload(client, csrf, commune.project_id, csv_bytes(corrected("NHAP")),
                   "so-theo-doi.csv")
    assert fixed.refused() == {} and fixed.doubts() == {}  # row 3 was imported before
    assert fixed.count("already_imported") == 3
    assert sum(fixed.count(o) for o in ("created", "linked", "queued")) == 1
    assert fixed.token is not None
    commit(client, csrf, commune.project_id, fixed.token)
    assert {"Vì Thị Hoa NHAP", "Quàng Văn Sửa NHAP"} <= set(commune.children())


def test_an_xlsx_list_is_read_like_a_csv(commune: AdminCommune) -> None:
    client, csrf = commune.signed_in(commune.person("manager"))
    page = upload(client, csrf, commune.project_id, xlsx_bytes(with_errors("XL")),
                  "danh-sach.xlsx")
    assert sorted(page.refused()) == [5] and page.count("created") == 3
    assert sorted(page.doubts()) == [3]


def test_a_file_refused_whole_says_why_and_offers_no_import(commune: AdminCommune) -> None:
    client, csrf = commune.signed_in(commune.person("manager"))
    page = upload(client, csrf, commune.project_id,
                  csv_bytes([{"record_id": "1", "full_name": "A"}],
                            header=["record_id", "full_name"]), "thieu-cot.csv")
    assert "Không đọc được tệp này" in page.text and "thiếu cột bắt buộc: village" in page.text
    assert page.token is None
    nothing = client.post(f"/ui/p/{commune.project_id}/imports", data={"csrf": csrf},
                          content_type="multipart/form-data")
    assert nothing.status_code == 400 and "Hãy chọn một tệp" in Page(nothing).text


def test_new_villages_are_only_previewed_until_the_import(commune: AdminCommune) -> None:
    client, csrf = commune.signed_in(commune.person("manager"))
    rows = [child("MOI-1", "Hà Thị Thôn Mới", village="Bản Mới Lập")]
    page = upload(client, csrf, commune.project_id, csv_bytes(rows), "ban-moi.csv",
                  create_villages="yes")
    assert "Sẽ thêm thôn: Bản Mới Lập" in page.text
    with commune.uow() as db:
        assert db.scalars(select(Village).where(Village.name == "Bản Mới Lập")).all() == []
    assert page.token is not None
    result = commit(client, csrf, commune.project_id, page.token)
    assert "Đã thêm thôn: Bản Mới Lập" in result.text


def test_a_manager_limited_to_a_village_imports_only_its_children(
        commune: AdminCommune) -> None:
    client, csrf = commune.signed_in(commune.person("manager", [INSIDE]))
    form = Page(client.get(f"/ui/p/{commune.project_id}/imports")).text
    assert 'name="create_villages"' not in form and "Thôn Đông" in form
    assert "Thôn Phú Mỹ" not in form
    rows = [child("GH-1", "Trong Thôn"), child("GH-2", "Ngoài Thôn", village=OUTSIDE),
            child("GH-3", "Thôn Lạ", village="Bản Lạ")]
    page = upload(client, csrf, commune.project_id, csv_bytes(rows), "gioi-han.csv",
                  create_villages="yes")
    refused = page.refused()
    assert sorted(refused) == [3, 4] and page.count("created") == 1
    assert "không thuộc các thôn bạn phụ trách" in refused[3][0][1]
    assert "chỉ người phụ trách mọi thôn" in refused[4][0][1]


def test_a_token_is_good_only_for_its_person_and_commune(commune: AdminCommune) -> None:
    owner, owner_csrf = commune.signed_in(commune.person("cp_officer"))
    page = upload(owner, owner_csrf, commune.project_id, csv_bytes([child("TK-1", "Token")]),
                  "token.csv")
    token = page.token
    assert token is not None
    report_path = page.response.request.path + "?" + page.response.request.query_string.decode()

    other, other_csrf = commune.signed_in(commune.person("cp_officer"))
    assert other.get(report_path).status_code == 404
    assert other.post(f"/ui/p/{commune.project_id}/imports/commit",
                      data={"csrf": other_csrf, "t": token}).status_code == 404
    admin, admin_csrf = commune.signed_in(ADMIN_EMAIL)
    assert admin.post(f"/ui/p/{commune.other_project_id}/imports/commit",
                      data={"csrf": admin_csrf, "t": token}).status_code == 404
    forged = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    refused = owner.post(f"/ui/p/{commune.project_id}/imports/commit",
                         data={"csrf": owner_csrf, "t": forged})
    assert refused.status_code == 400 and "không hợp lệ" in Page(refused).text
    viewer, viewer_csrf = commune.signed_in(commune.person("viewer"))
    assert viewer.post(f"/ui/p/{commune.project_id}/imports/commit",
                       data={"csrf": viewer_csrf, "t": token}).status_code == 403
    assert "Token" not in commune.children()

    result = commit(owner, owner_csrf, commune.project_id, token)
    result_path = (result.response.request.path + "?"
                   + result.response.request.query_string.decode())
    result_token = re.search(r"t=([^&]+)", result_path)
    assert result_token is not None
    # A result's token is no preview: it cannot be committed.
    assert owner.post(f"/ui/p/{commune.project_id}/imports/commit",
                      data={"csrf": owner_csrf, "t": result_token.group(1)}).status_code == 400
