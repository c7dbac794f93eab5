"""Fixtures for the OpenRosa tests: a phone (an app user's key URL, Collect's headers), a form
with media, web users for HTTP Basic, and a look at everything a request could have stored.
"""

from __future__ import annotations

import base64
import dataclasses
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from werkzeug.serving import make_server
from werkzeug.test import TestResponse

from server import create_app
from server.services import Services
from tests.conftest import PNG_BYTES, Screening, World
from tests.openrosa.wire import (
    DEVICE_ID,
    PartSpec,
    collect_headers,
    multipart,
    submission_parts,
)

BASIC_PASSWORD = "field-staff-2026-pass"
AUDIO_BYTES = b"ID3\x03\x00\x00\x00\x00\x00\x0f" + b"\x00" * 64

VISIT_XFORM = """<?xml version="1.0"?>
<h:html xmlns="http://www.w3.org/2002/xforms" xmlns:h="http://www.w3.org/1999/xhtml" \
xmlns:jr="http://openrosa.org/javarosa" xmlns:odk="http://www.opendatakit.org/xforms">
  <h:head>
    <h:title>Thăm hộ gia đình</h:title>
    <model odk:xforms-version="1.0.0">
      <itext>
        <translation lang="default" default="true()">
          <text id="/data/village:label">
            <value>Thôn</value>
            <value form="image">jr://images/logo.png</value>
            <value form="audio">jr://audio/huong-dan.mp3</value>
          </text>
        </translation>
      </itext>
      <instance>
        <data id="household_visit" version="3"><village/><photo/><meta><instanceID/></meta></data>
      </instance>
      <bind nodeset="/data/village" type="string" required="true()"/>
      <bind nodeset="/data/photo" type="binary"/>
      <bind nodeset="/data/meta/instanceID" type="string" readonly="true()" jr:preload="uid"/>
    </model>
  </h:head>
  <h:body>
    <input ref="/data/village"><label ref="jr:itext('/data/village:label')"/></input>
    <upload ref="/data/photo" mediatype="image/*"><label>Ảnh nhà</label></upload>
  </h:body>
</h:html>
"""


@pytest.fixture
def world(services: Services) -> World:
    """tests/conftest.py's world, but the admin has no password: argon2 costs 0.2 s a test,
    and phones never log in as the site admin. Tests of HTTP Basic make their own users."""
    from server.operations.projects import create_project
    from server.operations.users import create_user

    with services.database.unit_of_work() as session:
        admin = create_user(session, "admin@diemtua.test", None, role="admin",
                            display_name="Quản trị viên")
        project = create_project(session, "Xã Hoà Bình", commune_code="00001")
        ids = admin.actor_id, project.id
    return World(services=services, admin_id=ids[0], admin_email="admin@diemtua.test",
                 project_id=ids[1])


@dataclass
class Phone:
    """ODK Collect set up with an app user's key URL (Central's recommended set-up)."""

    client: FlaskClient
    project_id: int
    token: str | None
    actor_id: int | None = None

    @property
    def base(self) -> str:
        key = f"/key/{self.token}" if self.token else ""
        return f"/v1{key}/projects/{self.project_id}"

    def get(self, path: str, headers: dict[str, str] | None = None, **kwargs: Any
            ) -> TestResponse:
        """Collect appends `?deviceID=` to every request (C-fetch)."""
        url = path if path.startswith("http") else self.base + path
        separator = "&" if "?" in url else "?"
        return self.client.get(f"{url}{separator}deviceID=collect%3AXy7Qk2Lm9Pz4Rt6W",
                               headers={**collect_headers(), **(headers or {})}, **kwargs)

    def head_submission(self) -> TestResponse:
        return self.client.head(f"{self.base}/submission", query_string={"deviceID": DEVICE_ID},
                                headers=collect_headers())

    def post(self, parts: list[PartSpec], headers: dict[str, str] | None = None,
             url: str | None = None, **kwargs: Any) -> TestResponse:
        body, content_type = multipart(parts)
        return self.client.post(url or f"{self.base}/submission",
                                query_string={"deviceID": DEVICE_ID}, data=body,
                                content_type=content_type,
                                headers={**collect_headers(), **(headers or {})}, **kwargs)

    def submit(self, xml: bytes | str, files: dict[str, bytes] | None = None,
               incomplete: bool = False, **kwargs: Any) -> TestResponse:
        return self.post(submission_parts(xml, files, incomplete), **kwargs)


def assign(world: World, form_id: int, actor_id: int) -> None:
    from server.models import FormAssignment

    with world.uow() as db:
        db.add(FormAssignment(form_id=form_id, actor_id=actor_id))


def new_app_user(world: World, project_id: int, name: str = "Điện thoại thôn 2"
                 ) -> tuple[int, str]:
    from server.operations.users import create_app_user

    with world.uow() as db:
        app_user = create_app_user(db, project_id, name)
        assert app_user.token is not None
        return app_user.actor_id, app_user.token


@pytest.fixture
def phone(client: FlaskClient, screening: Screening) -> Phone:
    actor_id, token = screening.app_user()
    return Phone(client, screening.project_id, token, actor_id)


def publish_xform(world: World, xml: str, media: dict[str, bytes] | None = None,
                  project_id: int | None = None) -> int:
    """Upload an XForm as a draft, attach media, publish: the form's id."""
    from server.operations.forms import attach_form_media, create_form, publish_draft

    with world.uow() as db:
        form = create_form(db, world.services.store, project_id or world.project_id,
                           xml.encode("utf-8"), "application/xml")
        assert form.draft_def is not None
        for name, data in (media or {}).items():
            kind = "image/png" if name.endswith(".png") else "audio/mpeg"
            attach_form_media(db, world.services.store, form.draft_def, name, data, kind)
        publish_draft(db, form)
        return form.id


@pytest.fixture
def visit_form(world: World) -> int:
    """household_visit: expects logo.png (uploaded) and huong-dan.mp3 (not uploaded)."""
    return publish_xform(world, VISIT_XFORM, {"logo.png": PNG_BYTES})


def set_form_state(world: World, form_id: int, state: str) -> None:
    from server.models import Form

    with world.uow() as db:
        form = db.get(Form, form_id)
        assert form is not None
        form.state = state


def web_user(world: World, email: str, role: str | None = None,
             project_id: int | None = None) -> int:
    """A web user with an ASCII password: Collect encodes Basic credentials as ISO-8859-1."""
    from server.operations.users import create_user, grant_project_role

    with world.uow() as db:
        user = create_user(db, email, BASIC_PASSWORD)
        if role is not None:
            grant_project_role(db, project_id or world.project_id, user.actor_id, role)
        return user.actor_id


def basic(email: str, password: str = BASIC_PASSWORD) -> dict[str, str]:
    token = base64.b64encode(f"{email}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def app_with(services: Services, **changes: Any) -> Flask:
    """The app with some settings changed (limits, proxy hops), on the same database."""
    changed = dataclasses.replace(services, settings=services.settings.with_overrides(**changes))
    return create_app({"services": changed, "TESTING": True})


@dataclass(frozen=True)
class Snapshot:
    rows: dict[str, int]
    files: frozenset[str]


def blob_files(services: Services) -> frozenset[str]:
    root = Path(services.settings.data_dir)
    return frozenset(str(path.relative_to(root)) for path in root.rglob("*") if path.is_file()
                     and path.name != "secret_key")


def snapshot(services: Services) -> Snapshot:
    """Row counts of everything a submission touches, and every file under the data folder."""
    from server.models import Audit, Blob, Submission, SubmissionAttachment, SubmissionDef

    with services.database.unit_of_work() as db:
        rows = {model.__tablename__: db.scalar(select(func.count()).select_from(model)) or 0
                for model in (Submission, SubmissionDef, SubmissionAttachment, Blob, Audit)}
    return Snapshot(rows, blob_files(services))


TWO_PHOTOS_XFORM = """<?xml version="1.0"?>
<h:html xmlns="http://www.w3.org/2002/xforms" xmlns:h="http://www.w3.org/1999/xhtml" \
xmlns:jr="http://openrosa.org/javarosa" xmlns:odk="http://www.opendatakit.org/xforms">
  <h:head>
    <h:title>Hai ảnh</h:title>
    <model odk:xforms-version="1.0.0">
      <instance>
        <data id="two_photos" version="1"><name/><front/><back/><meta><instanceID/></meta></data>
      </instance>
      <bind nodeset="/data/name" type="string"/>
      <bind nodeset="/data/front" type="binary"/>
      <bind nodeset="/data/back" type="binary"/>
      <bind nodeset="/data/meta/instanceID" type="string" readonly="true()" jr:preload="uid"/>
    </model>
  </h:head>
  <h:body>
    <input ref="/data/name"><label>Tên</label></input>
    <upload ref="/data/front" mediatype="image/*"><label>Ảnh trước</label></upload>
    <upload ref="/data/back" mediatype="image/*"><label>Ảnh sau</label></upload>
  </h:body>
</h:html>
"""


def two_photos_xml(instance_id: str, name: str, front: str = "front.jpg",
                   back: str = "back.jpg") -> str:
    return (f'<data id="two_photos" version="1"><name>{name}</name><front>{front}</front>'
            f"<back>{back}</back><meta><instanceID>{instance_id}</instanceID></meta></data>")


@pytest.fixture
def two_photos_phone(client: FlaskClient, world: World) -> Phone:
    """An app user assigned to two_photos, a form whose submissions carry two files."""
    form_id = publish_xform(world, TWO_PHOTOS_XFORM)
    actor_id, token = new_app_user(world, world.project_id)
    assign(world, form_id, actor_id)
    return Phone(client, world.project_id, token, actor_id)


@contextmanager
def serving(app: Flask) -> Iterator[str]:
    """`app` on a real loopback port (like `live_server`, for apps with changed settings)."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)
