"""A commune's own XLSForm declares its sensitive answers and its village answer with the
`bind::diemtua:*` columns (docs/access.md "Declaring a form's sensitive fields"); the server
holds its submissions to them exactly as to the project's own forms."""

from __future__ import annotations

import hashlib
import uuid
from pathlib import Path

import requests
from sqlalchemy import select

from server.models import Form, Submission
from server.operations.submissions import SubmissionContext, receive_submission
from sync.field_policy import NAMESPACE
from sync.instance import parse_instance
from tests.access.commune import INSIDE, OUTSIDE, Commune
from tests.conftest import XLSX_TYPE, LiveServer, Screening, new_instance_id, screening_xml
from tests.xlsforms.uploaded_form import FORM_ID, VERSION, write_uploaded_form

SECRET_WORDS = ("Dao đỏ", "Hen phế quản", "Bị đánh", "dan_toc", "suc_khoe", "lo_ngai")


def upload(server: LiveServer, commune: Commune, path: Path) -> requests.Response:
    return requests.post(
        f"{server.url}/v1/projects/{commune.project_id}/forms?publish=true&ignoreWarnings=true",
        data=path.read_bytes(), timeout=60,
        headers={**commune.bearer("admin"), "Content-Type": XLSX_TYPE})


def visit(commune: Commune, village: str) -> str:
    instance_id = f"uuid:{uuid.uuid4()}"
    xml = (f'<data id="{FORM_ID}" version="{VERSION}"><thon>{village}</thon>'
           "<tre><ho_ten>Hoàng Thị Nở</ho_ten><dan_toc>Dao đỏ</dan_toc>"
           "<suc_khoe><benh_man>yes</benh_man><ten_benh>Hen phế quản</ten_benh></suc_khoe>"
           f"<lo_ngai>Bị đánh</lo_ngai></tre><meta><instanceID>{instance_id}</instanceID>"
           "</meta></data>").encode()
    services = commune.services
    with services.database.unit_of_work() as db:
        form = db.scalars(select(Form).where(Form.project_id == commune.project_id,
                                             Form.xml_form_id == FORM_ID)).one()
        receive_submission(db, services.store, form, parse_instance(xml), xml, {},
                           SubmissionContext(commune.actor_ids["admin"], None, "test"))
    return instance_id


def xml_as(server: LiveServer, commune: Commune, who: str, instance_id: str
           ) -> requests.Response:
    path = f"/v1/projects/{commune.project_id}/forms/{FORM_ID}/submissions/{instance_id}.xml"
    return requests.get(f"{server.url}{path}", headers=commune.bearer(who), timeout=30)


def test_an_uploaded_forms_declared_fields_are_absent_for_a_viewer_and_kept_for_the_officer(
        live_server: LiveServer, commune: Commune, tmp_path: Path) -> None:
    assert upload(live_server, commune, write_uploaded_form(tmp_path / "f.xlsx")).status_code \
        == 200
    inside, outside = visit(commune, INSIDE), visit(commune, OUTSIDE)

    viewer = xml_as(live_server, commune, "viewer", inside)
    assert viewer.status_code == 200 and "Hoàng Thị Nở" in viewer.text
    for word in SECRET_WORDS:
        assert word not in viewer.text
    officer = xml_as(live_server, commune, "cp_officer_t01", inside)
    assert "Bị đánh" in officer.text and "Hen phế quản" in officer.text
    assert xml_as(live_server, commune, "cp_officer_t01", outside).status_code == 404


def test_a_form_using_the_columns_without_the_namespace_is_refused_with_the_fix_named(
        live_server: LiveServer, commune: Commune, tmp_path: Path) -> None:
    response = upload(live_server, commune,
                      write_uploaded_form(tmp_path / "f.xlsx", namespaces=False))

    assert response.status_code == 400
    assert "namespaces" in response.json()["message"]


def test_a_form_declaring_an_unknown_sensitivity_is_refused(
        live_server: LiveServer, commune: Commune, tmp_path: Path) -> None:
    response = upload(live_server, commune, write_uploaded_form(
        tmp_path / "f.xlsx", levels={"dan_toc": "secret"}))

    assert response.status_code == 400
    assert "secret" in response.json()["message"]


def test_a_submission_to_a_version_whose_policy_cannot_be_read_is_still_stored(
        screening: Screening) -> None:
    """A version published before policies were checked at upload, declaring a level the
    server does not know: the phone's data is kept, its village left unknown."""
    with screening.world.uow() as db:
        form_def = db.get_one(Form, screening.form_id).current_def
        assert form_def is not None
        xml = form_def.xml.replace("<h:html ", f'<h:html xmlns:diemtua="{NAMESPACE}" ', 1)
        xml = xml.replace('<bind nodeset="/data/village"',
                          '<bind diemtua:sensitivity="secret" nodeset="/data/village"', 1)
        assert 'diemtua:sensitivity="secret"' in xml
        form_def.xml = xml
        form_def.sha256 = hashlib.sha256(xml.encode()).hexdigest()

    instance_id = screening.submit(screening_xml(new_instance_id(), "Lường Văn Khai"))

    with screening.world.uow() as db:
        stored = db.scalars(select(Submission).where(
            Submission.instance_id == instance_id)).one()
        assert stored.village_code is None
