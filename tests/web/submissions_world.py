"""The commune of tests/access/commune.py (household visits in T01 and T05 carrying every kind
of sensitive answer, a person for every role), plus a small form of the commune's own — labels
in Vietnamese and English, choices, a repeat group, a confidential answer and a photo — that
the village phones fill in and send through the OpenRosa endpoint, as Collect does. Shared by
the submission pages' tests (Flask client) and their Chromium journey (real HTTP).
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.test import TestResponse

from server import create_app
from server.models import AppUser, SubmissionDef
from server.operations.forms import assign_to_form, create_form, get_form
from server.registry.sync import SyncSummary, sync_pending
from server.services import Services
from tests.access.commune import INSIDE, OUTSIDE, PASSWORD, Commune, build_commune, submit_visit
from tests.conftest import PNG_BYTES
from tests.openrosa.wire import collect_headers, multipart, submission_parts
from tests.web.conftest import web_login

FORM_ID = "tham_ho_anh"
PHOTO = "1733300000000.png"
CONCERN_WORDS = "Trẻ hay bị bỏ đói"  # the confidential answer: officers only
XFORM = """<?xml version="1.0"?>
<h:html xmlns="http://www.w3.org/2002/xforms" xmlns:h="http://www.w3.org/1999/xhtml" \
xmlns:jr="http://openrosa.org/javarosa" xmlns:diemtua="urn:diemtua:xforms">
<h:head><h:title>Thăm hộ có ảnh</h:title>
<model>
<itext>
<translation lang="Vietnamese (vi)" default="true()">
<text id="/data/village:label"><value>Thôn</value></text>
<text id="/data/roof:label"><value>Mái nhà</value></text>
<text id="/data/roof/tile:label"><value>Mái ngói</value></text>
<text id="/data/roof/thatch:label"><value>Mái tranh, lá</value></text>
<text id="/data/photo:label"><value>Ảnh ngôi nhà</value></text>
<text id="/data/member:label"><value>Thành viên</value></text>
<text id="/data/member/name:label"><value>Họ và tên</value></text>
<text id="/data/member/school:label"><value>Đang đi học?</value></text>
<text id="/data/member/school/yes:label"><value>Đang đi học</value></text>
<text id="/data/member/school/no:label"><value>Không đi học</value></text>
<text id="/data/concern:label"><value>Điều đáng lo (bảo mật)</value></text>
<text id="/data/visit_day:label"><value>Ngày thăm</value></text>
</translation>
<translation lang="English (en)">
<text id="/data/village:label"><value>Village</value></text>
<text id="/data/roof:label"><value>Roof</value></text>
<text id="/data/roof/tile:label"><value>Tiled roof</value></text>
<text id="/data/roof/thatch:label"><value>Thatched roof</value></text>
<text id="/data/photo:label"><value>Photo of the house</value></text>
<text id="/data/member:label"><value>Member</value></text>
<text id="/data/member/name:label"><value>Full name</value></text>
<text id="/data/member/school:label"><value>In school?</value></text>
<text id="/data/member/school/yes:label"><value>In school</value></text>
<text id="/data/member/school/no:label"><value>Out of school</value></text>
<text id="/data/concern:label"><value>Concern (confidential)</value></text>
<text id="/data/visit_day:label"><value>Day of the visit</value></text>
</translation>
</itext>
<instance><data id="tham_ho_anh" version="1"><village/><visit_day/><roof/><photo/>\
<member jr:template=""><name/><school/></member><concern/><score/>\
<meta><instanceID/><instanceName/></meta></data></instance>
<bind nodeset="/data/village" type="string" diemtua:village="yes"/>
<bind nodeset="/data/visit_day" type="date"/>
<bind nodeset="/data/roof" type="string"/>
<bind nodeset="/data/photo" type="binary"/>
<bind nodeset="/data/member/name" type="string"/>
<bind nodeset="/data/member/school" type="string"/>
<bind nodeset="/data/concern" type="string" diemtua:sensitivity="confidential"/>
<bind nodeset="/data/score" type="int" calculate="count(/data/member)"/>
<bind nodeset="/data/meta/instanceID" type="string" readonly="true()" jr:preload="uid"/>
<bind nodeset="/data/meta/instanceName" type="string" calculate="concat('Hộ ', /data/village)"/>
</model></h:head>
<h:body>
<input ref="/data/village"><label ref="jr:itext('/data/village:label')"/></input>
<input ref="/data/visit_day"><label ref="jr:itext('/data/visit_day:label')"/></input>
<select1 ref="/data/roof"><label ref="jr:itext('/data/roof:label')"/>
<item><label ref="jr:itext('/data/roof/tile:label')"/><value>tile</value></item>
<item><label ref="jr:itext('/data/roof/thatch:label')"/><value>thatch</value></item>
</select1>
<upload ref="/data/photo" mediatype="image/*"><label ref="jr:itext('/data/photo:label')"/>\
</upload>
<group ref="/data/member"><label ref="jr:itext('/data/member:label')"/>
<repeat nodeset="/data/member">
<input ref="/data/member/name"><label ref="jr:itext('/data/member/name:label')"/></input>
<select1 ref="/data/member/school"><label ref="jr:itext('/data/member/school:label')"/>
<item><label ref="jr:itext('/data/member/school/yes:label')"/><value>yes</value></item>
<item><label ref="jr:itext('/data/member/school/no:label')"/><value>no</value></item>
</select1>
</repeat></group>
<input ref="/data/concern"><label ref="jr:itext('/data/concern:label')"/></input>
</h:body></h:html>
"""


def visit_xml(village: str, *, members: tuple[tuple[str, str], ...] = (
        ("Lò Văn Páo", "yes"), ("Lò Thị Dung", "no")), instance_id: str | None = None,
              deprecated_id: str | None = None, roof: str = "tile") -> str:
    people = "".join(f"<member><name>{name}</name><school>{school}</school></member>"
                     for name, school in members)
    deprecated = f"<deprecatedID>{deprecated_id}</deprecatedID>" if deprecated_id else ""
    return (f'<data id="{FORM_ID}" version="1"><village>{village}</village>'
            f"<visit_day>2026-12-03</visit_day><roof>{roof}</roof><photo>{PHOTO}</photo>"
            f"{people}<concern>{CONCERN_WORDS}</concern><score>{len(members)}</score>"
            f"<meta><instanceID>{instance_id or f'uuid:{uuid.uuid4()}'}</instanceID>"
            f"<instanceName>Hộ {village}</instanceName>{deprecated}</meta></data>")


@dataclass(frozen=True)
class VillagePhone:
    actor_id: int
    token: str
    name: str


@dataclass
class SubmissionsWorld:
    commune: Commune
    app: Flask
    phones: dict[str, VillagePhone] = field(default_factory=dict)  # village → its phone
    photo_visits: dict[str, str] = field(default_factory=dict)  # village → instanceID
    _clients: dict[str, FlaskClient] = field(default_factory=dict)

    @property
    def services(self) -> Services:
        return self.commune.services

    @property
    def project_id(self) -> int:
        return self.commune.project_id

    def ui(self, path: str = "") -> str:
        return f"/ui/p/{self.project_id}/submissions{path}"

    def page_of(self, instance_id: str, form: str = FORM_ID) -> str:
        return self.ui(f"/{form}/{instance_id}")

    def phone_post(self, client: Any, village: str, xml: str,
                   files: dict[str, bytes] | None = None) -> Any:
        """What Collect does: a multipart POST to the key URL's `/submission` (a Flask test
        client, or `requests` with the live server's address)."""
        body, content_type = multipart(submission_parts(xml, files))
        path = f"/v1/key/{self.phones[village].token}/projects/{self.project_id}/submission"
        headers = {**collect_headers(), "Content-Type": content_type}
        if isinstance(client, FlaskClient):
            return client.post(path, data=body, headers=headers)
        return client(path, body, headers)

    def client(self, who: str) -> FlaskClient:
        """A browser-like client signed in as one of the commune's people (kept per person:
        each sign-in costs a password hash)."""
        if who not in self._clients:
            client = self.app.test_client()
            web_login(client, f"{who}@xa.test", PASSWORD)
            self._clients[who] = client
        return self._clients[who]

    def get(self, who: str, path: str) -> TestResponse:
        return self.client(who).get(path)

    def csrf(self, who: str) -> str:
        html = self.get(who, self.ui()).get_data(as_text=True)
        found = re.search(r'name="csrf" value="([^"]+)"', html)
        assert found, html[:300]
        return found.group(1)

    def post(self, who: str, path: str, data: dict[str, str]) -> TestResponse:
        return self.client(who).post(path, data={"csrf": self.csrf(who), **data})

    def new_visit(self, village: str = INSIDE) -> str:
        """Another household visit (the registry form) in `village`, not synced yet."""
        return submit_visit(self.commune, village, self.phones[village].actor_id)

    def version_of(self, instance_id: str) -> SubmissionDef:
        with self.services.database.unit_of_work() as db:
            return db.scalars(select(SubmissionDef).where(
                SubmissionDef.instance_id == instance_id)).one()

    def sync(self) -> SyncSummary:
        return sync_pending(self.services.database.sessions)


def build_world(services: Services) -> SubmissionsWorld:
    commune = build_commune(services)
    app = create_app({"services": services, "TESTING": True})
    world = SubmissionsWorld(commune, app)
    with services.database.unit_of_work() as db:
        for app_user in db.scalars(select(AppUser).where(
                AppUser.project_id == commune.project_id)):
            for village in app_user.villages or ():
                world.phones[village] = VillagePhone(app_user.actor_id, app_user.token or "",
                                                     app_user.actor.display_name)
        form = create_form(db, services.store, commune.project_id, XFORM.encode(),
                           "application/xml", publish=True)
        for village in (INSIDE, OUTSIDE):
            assign_to_form(db, form, world.phones[village].actor_id)
        assert get_form(db, commune.project_id, FORM_ID).current_def_id is not None
    client = app.test_client()
    for village in (INSIDE, OUTSIDE):
        instance_id = f"uuid:{uuid.uuid4()}"
        response = world.phone_post(client, village, visit_xml(village, instance_id=instance_id),
                                    {PHOTO: PNG_BYTES})
        assert response.status_code == 201, response.get_data(as_text=True)
        world.photo_visits[village] = instance_id
    return world
