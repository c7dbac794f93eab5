"""Who may see and change submissions: Central's roles, app users, other projects."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from server.operations.projects import create_project
from tests.conftest import Screening, new_instance_id, screening_xml

READS = ["/submissions", "/submissions/{iid}", "/submissions/{iid}.xml",
         "/submissions/{iid}/versions", "/submissions/{iid}/attachments",
         "/submissions/{iid}/comments", "/submissions.csv", "/submissions.csv.zip",
         ".svc", ".svc/$metadata", ".svc/Submissions", ".svc/Submissions.child"]


@pytest.fixture
def instance_id(screening: Screening) -> str:
    return screening.submit(screening_xml(new_instance_id(), "Nông Văn Dền",
                                          (("Nông Thị Hoa", 6, "no"),)))


@pytest.mark.parametrize("path", READS)
def test_viewer_may_read_and_export(client: FlaskClient, screening: Screening,
                                    instance_id: str, path: str) -> None:
    viewer = screening.headers_for(screening.user("xem@xa.test", "viewer"))

    response = client.get(screening.base + path.format(iid=instance_id), headers=viewer)

    assert response.status_code == 200, response.get_data(as_text=True)


@pytest.mark.parametrize("path", READS)
def test_app_user_may_not_read(client: FlaskClient, screening: Screening, instance_id: str,
                               path: str) -> None:
    _, token = screening.app_user()
    url = f"/v1/key/{token}{screening.base[3:]}{path.format(iid=instance_id)}"

    response = client.get(url)

    assert response.status_code == 403
    assert response.json["code"] == 403.1


@pytest.mark.parametrize("path", READS)
def test_manager_of_another_project_sees_nothing(client: FlaskClient, screening: Screening,
                                                 instance_id: str, path: str) -> None:
    with screening.world.uow() as db:
        other = create_project(db, "Xã Tân Lập").id
    outsider = screening.headers_for(screening.user("ngoai@xa.test", "manager", other))

    here = client.get(screening.base + path.format(iid=instance_id), headers=outsider)
    through_own_project = client.get(
        f"/v1/projects/{other}/forms/child_screening{path.format(iid=instance_id)}",
        headers=outsider)

    assert here.status_code == 403
    assert through_own_project.status_code == 404


def test_nobody_is_asked_to_log_in(client: FlaskClient, screening: Screening,
                                   instance_id: str) -> None:
    response = client.get(f"{screening.base}/submissions")

    assert response.status_code == 401
    assert response.json["code"] == 401.2


def test_viewer_may_comment_but_not_review_edit_or_delete(
        client: FlaskClient, screening: Screening, instance_id: str) -> None:
    viewer = screening.headers_for(screening.user("xem@xa.test", "viewer"))
    one = f"{screening.base}/submissions/{instance_id}"
    edit = screening_xml(new_instance_id(), "Nông Văn Dền", deprecated_id=instance_id)

    assert client.post(f"{one}/comments", json={"body": "Đã xem."},
                       headers=viewer).status_code == 200
    assert client.patch(one, json={"reviewState": "approved"}, headers=viewer).status_code == 403
    assert client.put(one, data=edit.encode(), headers=viewer).status_code == 403
    assert client.delete(one, headers=viewer).status_code == 403


def test_data_collector_may_create_but_not_list(client: FlaskClient,
                                                screening: Screening) -> None:
    collector_id = screening.user("thu@xa.test", "formfill")
    collector = screening.headers_for(collector_id)
    xml = screening_xml(new_instance_id(), "Hà Văn Khánh")

    created = client.post(f"{screening.base}/submissions", data=xml.encode(),
                          headers={**collector, "Content-Type": "application/xml"})
    listed = client.get(f"{screening.base}/submissions", headers=collector)

    assert created.status_code == 200
    assert created.json["submitterId"] == collector_id
    assert listed.status_code == 403


def test_app_user_may_create_through_the_api_on_its_form(client: FlaskClient,
                                                         screening: Screening) -> None:
    actor_id, token = screening.app_user()
    xml = screening_xml(new_instance_id(), "Bế Văn Đàn")

    created = client.post(f"/v1/key/{token}{screening.base[3:]}/submissions",
                          data=xml.encode(), headers={"Content-Type": "application/xml"})

    assert created.status_code == 200
    assert created.json["submitterId"] == actor_id
