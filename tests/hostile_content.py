"""What a hostile phone or list can send: spreadsheet formulas, an XHTML `<script>` in an
instance, an HTML file as an attachment — and the people who download it, over real HTTP.

A small form of our own (a text answer, a number, a photo, a repeat) keeps these tests free
of the screening form's details.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from xml.sax.saxutils import escape

import requests

from server.auth.principal import open_session
from server.models import Actor, FormAssignment
from server.operations.forms import create_form, publish_draft
from server.operations.users import create_app_user, create_user
from server.services import Services
from tests.openrosa.wire import PartSpec, collect_headers, multipart, submission_parts

FORMULAS = ('=HYPERLINK("http://x","y")', "+cmd|' /C calc'!A0", "@SUM(1)")

NOTES_XFORM = """<?xml version="1.0"?>
<h:html xmlns="http://www.w3.org/2002/xforms" xmlns:h="http://www.w3.org/1999/xhtml" \
xmlns:jr="http://openrosa.org/javarosa" xmlns:odk="http://www.opendatakit.org/xforms">
  <h:head>
    <h:title>Ghi chép</h:title>
    <model odk:xforms-version="1.0.0">
      <instance>
        <data id="ghi_chep" version="1"><note/><count/><photo/>
          <member jr:template=""><member_name/></member><meta><instanceID/></meta></data>
      </instance>
      <bind nodeset="/data/note" type="string"/>
      <bind nodeset="/data/count" type="int"/>
      <bind nodeset="/data/photo" type="binary"/>
      <bind nodeset="/data/member/member_name" type="string"/>
      <bind nodeset="/data/meta/instanceID" type="string" readonly="true()" jr:preload="uid"/>
    </model>
  </h:head>
  <h:body>
    <input ref="/data/note"><label>Ghi chú</label></input>
    <input ref="/data/count"><label>Số người</label></input>
    <upload ref="/data/photo" mediatype="image/*"><label>Ảnh</label></upload>
    <repeat nodeset="/data/member">
      <input ref="/data/member/member_name"><label>Tên</label></input>
    </repeat>
  </h:body>
</h:html>
"""
FORM_ID = "ghi_chep"


def notes_xml(note: str, count: str = "3", members: tuple[str, ...] = (),
              photo: str = "", extra: str = "", instance_id: str | None = None) -> str:
    """A ghi_chep instance as Collect writes it; `extra` is raw XML a hostile phone adds."""
    rows = "".join(f"<member><member_name>{escape(name)}</member_name></member>"
                   for name in members)
    return (f'<data id="{FORM_ID}" version="1" xmlns:h="http://www.w3.org/1999/xhtml">'
            f"<note>{escape(note)}</note><count>{count}</count><photo>{photo}</photo>{rows}"
            f"{extra}<meta><instanceID>{instance_id or f'uuid:{uuid.uuid4()}'}</instanceID>"
            "</meta></data>")


def bearer(services: Services, actor_id: int) -> dict[str, str]:
    with services.database.unit_of_work() as db:
        actor = db.get(Actor, actor_id)
        assert actor is not None
        return {"Authorization": f"Bearer {open_session(db, actor, 24).token}"}


def site_admin(services: Services) -> dict[str, str]:
    """A site admin's bearer header (no village limit: sees every row)."""
    with services.database.unit_of_work() as db:
        admin = create_user(db, f"admin-{uuid.uuid4().hex[:6]}@diemtua.test", None,
                            role="admin")
        actor_id = admin.actor_id
    return bearer(services, actor_id)


@dataclass
class NotesPhone:
    """ODK Collect with an app user assigned to ghi_chep, talking to a live server."""

    url: str
    project_id: int
    token: str
    actor_id: int

    @property
    def base(self) -> str:
        return f"{self.url}/v1/key/{self.token}/projects/{self.project_id}"

    def submit(self, xml: str, files: dict[str, tuple[bytes, str]] | None = None
               ) -> requests.Response:
        parts = submission_parts(xml)
        for name, (data, kind) in (files or {}).items():
            parts.append(PartSpec(name, data, name, kind))
        body, content_type = multipart(parts)
        response = requests.post(f"{self.base}/submission", data=body, timeout=30,
                                 headers={**collect_headers(), "Content-Type": content_type})
        assert response.status_code == 201, response.text
        return response

    def get(self, path: str, **kwargs: object) -> requests.Response:
        return requests.get(f"{self.base}{path}", headers=collect_headers(), timeout=30,
                            **kwargs)  # type: ignore[arg-type]


def notes_phone(services: Services, project_id: int, url: str) -> NotesPhone:
    """Publish ghi_chep in the project and give it a phone."""
    with services.database.unit_of_work() as db:
        form = create_form(db, services.store, project_id, NOTES_XFORM.encode("utf-8"),
                           "application/xml")
        publish_draft(db, form)
        phone = create_app_user(db, project_id, "Điện thoại ghi chép")
        db.add(FormAssignment(form_id=form.id, actor_id=phone.actor_id))
        assert phone.token is not None
        token, actor_id = phone.token, phone.actor_id
    return NotesPhone(url, project_id, token, actor_id)


def submissions_url(url: str, project_id: int) -> str:
    return f"{url}/v1/projects/{project_id}/forms/{FORM_ID}/submissions"
