"""Helpers for the management API tests: people with roles, a second commune, small forms."""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import openpyxl
import pytest
from flask.testing import FlaskClient
from pyodk.client import Client

from tests.conftest import ADMIN_PASSWORD, LiveServer, World

PASSWORD = "mật khẩu dài đủ 10 ký tự"
XML = {"Content-Type": "application/xml"}
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass
class Person:
    id: int
    email: str
    headers: dict[str, str]


def login(client: FlaskClient, email: str, password: str = PASSWORD) -> dict[str, str]:
    response = client.post("/v1/sessions", json={"email": email, "password": password})
    assert response.status_code == 200, response.get_data(as_text=True)
    return {"Authorization": f"Bearer {response.json['token']}"}


@pytest.fixture
def person(client: FlaskClient, world: World) -> Callable[..., Person]:
    """A web user with an optional project role, logged in: `person("a@x.vn", "viewer")`."""
    from server.operations.users import create_user, grant_project_role

    def make(email: str, role: str | None = None, project_id: int | None = None) -> Person:
        with world.uow() as session:
            user = create_user(session, email, PASSWORD, display_name=email.split("@")[0])
            if role is not None:
                grant_project_role(session, project_id or world.project_id, user.actor_id,
                                   role)
            actor_id = user.actor_id
        return Person(actor_id, email, login(client, email))

    return make


@pytest.fixture
def other_project(world: World) -> int:
    """A second commune, to check that one commune's data never shows in the other."""
    from server.operations.projects import create_project

    with world.uow() as session:
        return create_project(session, "Xã Tân Lập", commune_code="00002").id


def xform(form_id: str = "household", version: str = "1", title: str = "Hộ gia đình",
          media: tuple[str, ...] = ()) -> bytes:
    """A small valid XForm; `media` names files it references as jr://images/…"""
    labels = "".join(f'<input ref="/data/q{i}"><label><output value="jr://images/{name}"/>'
                     f"</label></input>" for i, name in enumerate(media))
    fields = "".join(f"<q{i}/>" for i in range(len(media)))
    return (
        '<?xml version="1.0"?>'
        '<h:html xmlns="http://www.w3.org/2002/xforms" xmlns:h="http://www.w3.org/1999/xhtml" '
        'xmlns:jr="http://openrosa.org/javarosa" xmlns:orx="http://openrosa.org/xforms">'
        f"<h:head><h:title>{title}</h:title><model>"
        f'<instance><data id="{form_id}" version="{version}"><name/>{fields}'
        "<meta><instanceID/></meta></data></instance>"
        '<bind nodeset="/data/name" type="string"/>'
        '<bind nodeset="/data/meta/instanceID" type="string" readonly="true()" '
        'jr:preload="uid"/>'
        "</model></h:head><h:body>"
        '<input ref="/data/name"><label>Tên</label></input>'
        f"{labels}</h:body></h:html>"
    ).encode()


def xlsform(rows: list[list[str]], settings: dict[str, str] | None = None) -> bytes:
    """An XLSForm made with openpyxl: `rows` under the survey header (type, name, label)."""
    book = openpyxl.Workbook()
    survey = book.active
    assert survey is not None
    survey.title = "survey"
    survey.append(["type", "name", "label"])
    for row in rows:
        survey.append(row)
    if settings:
        sheet = book.create_sheet("settings")
        sheet.append(list(settings))
        sheet.append(list(settings.values()))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def upload(client: FlaskClient, headers: dict[str, str], project_id: int, body: bytes,
           publish: bool = True, content_type: str = "application/xml") -> dict:
    response = client.post(f"/v1/projects/{project_id}/forms?publish={str(publish).lower()}",
                           data=body, headers={**headers, "Content-Type": content_type})
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.json


def household_instance(instance_id: str, name: str, version: str = "1",
                       form_id: str = "household") -> bytes:
    """A filled-in `xform()` as Collect would send it."""
    return (f'<data id="{form_id}" version="{version}"><name>{name}</name>'
            f"<meta><instanceID>{instance_id}</instanceID></meta></data>").encode()


def submit(world: World, project_id: int, xml_form_id: str, xml: bytes,
           submitter_id: int | None = None) -> None:
    """Receive a submission through the same operation phones' posts use."""
    from server.operations.forms import get_form
    from server.operations.submissions import SubmissionContext, receive_submission
    from sync.instance import parse_instance

    with world.uow() as session:
        form = get_form(session, project_id, xml_form_id)
        receive_submission(session, world.services.store, form, parse_instance(xml), xml, {},
                           SubmissionContext(submitter_id))


def create_app_user(client: FlaskClient, headers: dict[str, str], project_id: int,
                    body: dict) -> dict:
    response = client.post(f"/v1/projects/{project_id}/app-users", headers=headers, json=body)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.json


@pytest.fixture
def pyodk_client(live_server: LiveServer, world: World, tmp_path: Path,
                 monkeypatch: pytest.MonkeyPatch) -> Client:
    """pyodk's Client, configured as its users do (a TOML file), on the live server, as the
    site administrator, with the first commune as its default project."""
    config = tmp_path / "pyodk_config.toml"
    config.write_text(
        "[central]\n"
        f'base_url = "{live_server.url}"\n'
        f'username = "{world.admin_email}"\n'
        f'password = "{ADMIN_PASSWORD}"\n'
        f"default_project_id = {world.project_id}\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("PYODK_CONFIG_FILE", str(config))
    monkeypatch.setenv("PYODK_CACHE_FILE", str(tmp_path / "pyodk_cache.toml"))
    return Client()
