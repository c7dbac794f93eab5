"""`POST /v1/projects/<p>/registry/imports`: a manager imports a commune's list over HTTP."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import date

from flask.testing import FlaskClient
from sqlalchemy import select

from server.models import AppUser, Audit, ChildRecord
from server.services import Services
from tests.api.conftest import Person
from tests.registry.import_helpers import (
    child_of_record,
    count,
    csv_bytes,
    phone_record,
    phone_registry,
    typed_without_marks,
    xlsx_bytes,
)

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _url(project_id: int, query: str = "") -> str:
    return f"/v1/projects/{project_id}/registry/imports{query}"


def test_a_manager_imports_an_xlsx_list_and_gets_the_report(
        client: FlaskClient, services: Services, person: Callable[..., Person]) -> None:
    project_id = phone_registry(services, 4)
    manager = person("quanly@diemtua.test", "manager", project_id)
    record = phone_record(services)
    excel_date = date.fromisoformat(record.dob or "")  # Excel keeps a typed date as a date
    rows = [{**typed_without_marks(record, "A1", record.village_code), "dob": excel_date},
            {"record_id": "A2", "village": "Thôn Trung", "full_name": "Lục Thị Mây",
             "special_circumstances": "PLAN-POOR"},
            {"record_id": "A3", "village": "Thôn Xa", "full_name": "Lục Văn Sinh"}]
    response = client.post(_url(project_id, "?source=thon-trung-2025"),
                           data=xlsx_bytes(rows), content_type=XLSX, headers=manager.headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.json
    assert body["counts"] == {"created": 1, "linked": 1, "queued": 0, "refused": 1,
                              "already_imported": 0}
    assert [(r["row"], r["recordId"], r["outcome"]) for r in body["rows"]] == [
        (2, "A1", "linked"), (3, "A2", "created"), (4, "A3", "refused")]
    assert body["rows"][0]["childId"] == child_of_record(services, record.source_key)
    assert "unknown village 'Thôn Xa'" in body["rows"][2]["reason"]
    assert "không có thôn 'Thôn Xa'" in body["rows"][2]["reasonVi"]
    with services.database.unit_of_work() as db:
        assert db.scalars(select(ChildRecord.source_key).where(
            ChildRecord.source == "import").order_by(ChildRecord.id)).all() == [
            "thon-trung-2025#A1", "thon-trung-2025#A2"]
        audit = db.scalars(select(Audit).where(Audit.action == "registry.import")).one()
        assert audit.actor_id == manager.id and audit.details
        assert audit.details["counts"]["created"] == 1


def test_csv_as_multipart_with_create_villages_and_dry_run(
        client: FlaskClient, services: Services, person: Callable[..., Person]) -> None:
    project_id = phone_registry(services, 2)
    manager = person("quanly@diemtua.test", "manager", project_id)
    data = csv_bytes([{"record_id": "1", "village": "Bản Mới", "full_name": "Sùng A Tủa"}])
    before = count(services, ChildRecord)
    dry = client.post(_url(project_id, "?createVillages=true&dryRun=true"),
                      data={"file": (io.BytesIO(data), "ban-moi.csv")},
                      content_type="multipart/form-data", headers=manager.headers)
    assert dry.status_code == 200, dry.get_data(as_text=True)
    assert dry.json["dryRun"] is True and dry.json["counts"]["created"] == 1
    assert dry.json["villagesCreated"] == ["Bản Mới"] and dry.json["source"] == "ban-moi"
    assert count(services, ChildRecord) == before
    real = client.post(_url(project_id, "?createVillages=true"), data=data,
                       content_type="text/csv; charset=utf-8", headers=manager.headers)
    assert real.status_code == 200 and real.json["counts"]["created"] == 1
    assert real.json["source"] == "import"
    assert count(services, ChildRecord) == before + 1


def test_a_refused_file_is_a_400_with_the_reason(
        client: FlaskClient, services: Services, person: Callable[..., Person]) -> None:
    project_id = phone_registry(services, 1)
    manager = person("quanly@diemtua.test", "manager", project_id)
    response = client.post(_url(project_id), data=b"full_name\nA\n", content_type="text/csv",
                           headers=manager.headers)
    assert response.status_code == 400 and response.json["code"] == 400.1
    assert "record_id, village" in response.json["message"]
    wrong_type = client.post(_url(project_id), data=b"{}", content_type="application/json",
                             headers=manager.headers)
    assert wrong_type.status_code == 400


def test_viewers_app_users_and_strangers_may_not_import(
        client: FlaskClient, services: Services, person: Callable[..., Person]) -> None:
    project_id = phone_registry(services, 1)
    data = csv_bytes([{"record_id": "1", "village": "T01", "full_name": "Ma Văn Hải"}])
    viewer = person("xem@diemtua.test", "viewer", project_id)
    assert client.post(_url(project_id), data=data, content_type="text/csv",
                       headers=viewer.headers).status_code == 403
    assert client.post(_url(project_id), data=data,
                       content_type="text/csv").status_code == 401
    with services.database.unit_of_work() as db:
        token = db.scalars(select(AppUser.token).where(AppUser.project_id == project_id)
                           .limit(1)).one()
    response = client.post(f"/v1/key/{token}/projects/{project_id}/registry/imports",
                           data=data, content_type="text/csv")
    assert response.status_code == 403
    assert client.post(_url(9999), data=data, content_type="text/csv",
                       headers=viewer.headers).status_code == 404
    with services.database.unit_of_work() as db:
        assert db.scalars(select(ChildRecord).where(ChildRecord.source == "import")).all() == []


def test_a_row_with_a_doubtful_field_is_imported_and_the_answer_says_which(
        client: FlaskClient, services: Services, person: Callable[..., Person]) -> None:
    """docs/registry.md, "Doubtful fields": kept, listed per row, Vietnamese first."""
    project_id = phone_registry(services, 2)
    manager = person("quanly@diemtua.test", "manager", project_id)
    rows = [{"record_id": "D1", "village": "T01", "full_name": "Vừ Thị Dua", "sex": "Nữ",
             "dob": "2013-04-05", "personal_id": "017312000123"},  # a 2012 number
            {"record_id": "D2", "village": "", "full_name": "Vừ Văn Chư"}]
    response = client.post(_url(project_id, "?source=so-cong-an"), data=csv_bytes(rows),
                           content_type="text/csv", headers=manager.headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.json
    assert body is not None
    assert body["counts"]["created"] == 1 and body["counts"]["refused"] == 1
    assert body["keptWithDoubts"] == 1
    kept, refused = body["rows"]
    assert (kept["outcome"], kept["problems"]) == ("created", [])
    (doubt,) = kept["doubtful"]
    assert (doubt["field"], doubt["value"], doubt["reason"], doubt["column"]) == (
        "personal_id", "017312000123", "birth_year_mismatch", "personal_id")
    assert doubt["vi"].startswith("mã định danh '017312000123' nghi sai")
    assert doubt["en"].endswith("kept, not used for matching")
    assert refused["outcome"] == "refused" and refused["reason"] == "empty village"
