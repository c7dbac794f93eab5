"""A follow-up visit updates only children of the sender's villages (README, "Who sees what").

Over real HTTP, as Collect sends it: the T01 phone reports a child of T05 as dead. The visit is
stored as sent, nothing of it reaches the child, `diemtua sync run` says so, and the officer —
only the officer — gets a flag with the reason and the submission, noting a Section F concern
without its content."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
import requests
from click.testing import CliRunner
from sqlalchemy import func, select

from server.cli import main
from server.models import ChildCategoryEpisode, ChildUpdate, Flag, Form, SubmissionDef
from server.operations.submissions import SubmissionContext, receive_submission
from server.operations.users import (
    create_app_user,
    create_user,
    delete_app_user,
    get_app_user,
    grant_project_role,
)
from server.registry.followup_scope import NOT_APPLIED_CODE, NOT_APPLIED_KIND
from server.services import Services
from sync.instance import parse_instance
from tests.api.conftest import PASSWORD
from tests.conftest import LiveServer
from tests.live_commune import LiveCommune
from tests.openrosa.wire import collect_headers, multipart, submission_parts
from tests.registry.followup_helpers import (
    FOLLOWUP,
    followup_xml,
    load_synced_demo,
)
from tests.registry.followup_helpers import sync as sync_registry
from tests.web.conftest import csrf_of

CONCERN = ("sexual_abuse_suspected", "within_week")


class Commune(LiveCommune):
    """The demo commune on a real port, with what these tests send and read back."""

    def children(self, village: str) -> list[dict[str, str]]:
        """The village phone's children.csv."""
        return self.children_csv(self.phone_token(village))

    def child(self, village: str, child_id: str) -> dict[str, str]:
        return next(row for row in self.children(village) if row["name"] == child_id)

    def post(self, token: str, xml: str) -> None:
        """Collect's submission POST (`/v1/key/<token>/projects/<id>/submission`)."""
        body, content_type = multipart(submission_parts(xml))
        response = requests.post(f"{self.phone_url(token)}/submission", data=body,
                                 timeout=30, params={"deviceID": "collect:H6"},
                                 headers={**collect_headers(), "Content-Type": content_type})
        assert response.status_code == 201, response.text

    def person(self, email: str, role: str) -> requests.Session:
        return self.user(email, {role: []}).http

    def flags(self, http: requests.Session) -> list[dict[str, Any]]:
        response = http.get(f"{self.url}{self.project}/registry/flags", timeout=30)
        assert response.status_code == 200, response.text
        return list(response.json())

    def flags_page(self, email: str, lang: str) -> str:
        """The flags page as a browser signed in through the form sees it."""
        browser = requests.Session()
        form = browser.get(f"{self.url}/ui/login", timeout=30)
        signed = browser.post(f"{self.url}/ui/login", timeout=30, allow_redirects=False,
                              data={"email": email, "password": PASSWORD,
                                    "csrf": csrf_of(form.text)})
        assert signed.status_code == 303, signed.text
        page = browser.get(f"{self.url}/ui/p/{self.demo.project_id}/flags",
                           params={"lang": lang}, timeout=30)
        assert page.status_code == 200, page.text
        return page.text

    def sync_state(self, instance_id: str) -> tuple[str, str | None]:
        with self.services.database.unit_of_work() as db:
            version = db.scalars(select(SubmissionDef).where(
                SubmissionDef.instance_id == instance_id)).one()
            return version.sync_state, version.sync_error


@pytest.fixture
def commune(services: Services, live_server: LiveServer) -> Commune:
    return Commune(services, load_synced_demo(services), live_server.url)


@pytest.fixture
def sync_run(services: Services, database_url: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    """`diemtua sync run`, as the operator types it."""
    monkeypatch.setenv("DIEMTUA_DATA_DIR", str(services.settings.data_dir))
    monkeypatch.setenv("DIEMTUA_DATABASE_URL", database_url)
    monkeypatch.setenv("DIEMTUA_SECRET_KEY", "test-secret")
    return lambda: CliRunner().invoke(main, ["sync", "run"])


def not_applied_flags(services: Services, child_id: str) -> list[Flag]:
    with services.database.unit_of_work() as db:
        rows = list(db.scalars(select(Flag).where(Flag.child_id == child_id,
                                                  Flag.code == NOT_APPLIED_CODE)))
        db.expunge_all()
        return rows


def changes_of(services: Services, child_id: str) -> tuple[int, list[str]]:
    """The child's follow-up updates and its category codes."""
    with services.database.unit_of_work() as db:
        updates = db.scalar(select(func.count()).select_from(ChildUpdate).where(
            ChildUpdate.child_id == child_id)) or 0
        codes = list(db.scalars(select(ChildCategoryEpisode.code).where(
            ChildCategoryEpisode.child_id == child_id)))
        return updates, sorted(codes)


def test_the_t01_phone_cannot_declare_a_t05_child_dead(
        commune: Commune, sync_run: Any) -> None:
    child = commune.children("T05")[0]
    before = changes_of(commune.services, child["name"])
    instance_id = f"uuid:{uuid.uuid4()}"
    commune.post(commune.phone_token("T01"), followup_xml(
        child, "died", died="2026-09-15", concern=CONCERN, instance_id=instance_id))

    ran = sync_run()
    assert ran.exit_code == 0, ran.output
    assert "1 follow-up visits not applied" in ran.output
    assert re.search(r"not applied: submission version \d+: .*T01.*T05", ran.output)

    # The child is as it was: status, version, no update, no category, no referral.
    now = commune.child("T05", child["name"])
    assert (now["status"], now["__version"]) == (child["status"], child["__version"])
    assert changes_of(commune.services, child["name"]) == before
    state, reason = commune.sync_state(instance_id)
    assert state == "not_applied"
    assert reason is not None and "T01" in reason and "T05" in reason

    officer = commune.person("van.hoa@xa.vn", "cp_officer")
    (flag,) = [f for f in commune.flags(officer) if f["kind"] == NOT_APPLIED_KIND]
    assert (flag["childId"], flag["village"], flag["code"]) == (
        child["name"], "T05", NOT_APPLIED_CODE)
    assert flag["confidential"] and flag["deadline"] is None and flag["status"] == "open"
    assert flag["submission"] == {"xmlFormId": FOLLOWUP, "instanceId": instance_id,
                                  "versionId": instance_id}
    note = flag["note"]
    assert "T01" in note and "T05" in note
    assert "Section F" in note and "phần F" in note  # a concern was noted, never dropped
    assert "sexual" not in note and "within_week" not in note  # ...but not its content
    submission = officer.get(f"{commune.url}{commune.project}/forms/{FOLLOWUP}/submissions/"
                             f"{instance_id}", timeout=30)
    assert submission.status_code == 200  # the link leads to the visit as sent

    page = commune.flags_page("van.hoa@xa.vn", "en")
    assert "Follow-up visit not applied" in page and "T01" in page
    assert f'/forms/{FOLLOWUP}/submissions/{instance_id}"' in page
    assert f'/forms/{FOLLOWUP}/submissions/{instance_id}.xml"' in page  # its answers
    assert "Lượt thăm lại" in commune.flags_page("van.hoa@xa.vn", "vi")

    for role in ("viewer", "commune_leader", "health_reviewer"):
        other = commune.person(f"{role}@xa.vn", role)
        assert all(f["kind"] != NOT_APPLIED_KIND for f in commune.flags(other)), role
        detail = other.get(f"{commune.url}{commune.project}/registry/children/"
                           f"{child['name']}", timeout=30).json()
        assert all(f["code"] != NOT_APPLIED_CODE for f in detail["flags"]), role
    leader_page = commune.flags_page("commune_leader@xa.vn", "en")
    assert "not applied" not in leader_page and instance_id not in leader_page


def test_an_edited_visit_is_flagged_once(commune: Commune) -> None:
    child = commune.children("T05")[0]
    first = f"uuid:{uuid.uuid4()}"
    t01 = commune.phone_token("T01")
    commune.post(t01, followup_xml(child, "died", died="2026-09-15", instance_id=first))
    sync_registry(commune.services)
    edit = f"uuid:{uuid.uuid4()}"
    commune.post(t01, followup_xml(child, "died", died="2026-09-16", instance_id=edit,
                                   deprecated_id=first))
    summary = sync_registry(commune.services)
    assert (summary.not_applied, summary.failed) == (1, 0)
    assert commune.sync_state(edit)[0] == "not_applied"
    (flag,) = not_applied_flags(commune.services, child["name"])
    assert flag.note is not None and "Section F" not in flag.note  # no concern this time
    assert commune.child("T05", child["name"])["status"] == child["status"]


def test_an_urgent_concern_keeps_its_clock_and_reaches_the_chair_masked(
        commune: Commune) -> None:
    child = commune.children("T05")[0]
    before = changes_of(commune.services, child["name"])
    commune.post(commune.phone_token("T01"), followup_xml(
        child, "not_met", concern=("violence_injury", "immediate_danger")))
    assert sync_registry(commune.services).not_applied == 1
    (flag,) = not_applied_flags(commune.services, child["name"])
    assert flag.deadline is not None  # the 12-hour clock of an urgent concern still runs
    leader = commune.person("chu.tich@xa.vn", "commune_leader")
    (masked,) = [f for f in commune.flags(leader) if f["id"] == flag.id]
    assert masked["masked"] and masked["note"] is None and masked["submission"] is None
    assert masked["kind"] is None and masked["code"] is None
    assert changes_of(commune.services, child["name"]) == before  # no referral opened


def submit_followup(services: Services, xml: str, submitter_id: int | None) -> str:
    """Receive a follow-up as the submissions operation does, from any submitter."""
    data = xml.encode()
    instance = parse_instance(data)
    with services.database.unit_of_work() as db:
        form = db.scalars(select(Form).where(Form.xml_form_id == FOLLOWUP)).one()
        receive_submission(db, services.store, form, instance, data, {},
                           SubmissionContext(submitter_id, "collect:test", "test"))
    return instance.instance_id


def test_a_phone_without_villages_a_deleted_phone_and_nobody_update_no_child(
        commune: Commune) -> None:
    services = commune.services
    rows = commune.children("T02")
    with services.database.unit_of_work() as db:
        bare = create_app_user(db, commune.demo.project_id, "Máy chưa giao thôn").actor_id
    t02 = next(p.actor_id for p in commune.demo.phones if p.village == "T02")
    sent = {
        "no villages": submit_followup(services, followup_xml(rows[0], "died",
                                                              died="2026-09-15"), bare),
        "nobody": submit_followup(services, followup_xml(rows[1], "died",
                                                         died="2026-09-15"), None),
        "deleted": submit_followup(services, followup_xml(rows[2], "died",
                                                          died="2026-09-15"), t02),
    }
    with services.database.unit_of_work() as db:
        delete_app_user(db, get_app_user(db, commune.demo.project_id, t02))
    summary = sync_registry(services)
    assert (summary.not_applied, summary.failed, summary.submissions) == (3, 0, 0)
    for why, instance_id in sent.items():
        state, reason = commune.sync_state(instance_id)
        assert state == "not_applied", why
        assert reason is not None
    assert "no villages" in (commune.sync_state(sent["no villages"])[1] or "")
    assert "deleted" in (commune.sync_state(sent["deleted"])[1] or "")
    for row in rows[:3]:
        assert changes_of(services, row["name"])[0] == 0
        assert len(not_applied_flags(services, row["name"])) == 1


def test_the_site_admin_and_an_unlimited_officer_still_update_any_child(
        commune: Commune) -> None:
    services = commune.services
    rows = commune.children("T04")
    with services.database.unit_of_work() as db:
        officer = create_user(db, "van.hoa@xa.vn", PASSWORD)
        grant_project_role(db, commune.demo.project_id, officer.actor_id, "cp_officer")
        admin = create_user(db, "chu.tich@xa.vn", PASSWORD, role="admin")
        ids = officer.actor_id, admin.actor_id
    for row, submitter in zip(rows, ids, strict=False):
        submit_followup(services, followup_xml(row, "died", died="2026-09-15"), submitter)
    summary = sync_registry(services)
    assert (summary.submissions, summary.not_applied, summary.failed) == (2, 0, 0)
    for row in rows[:2]:
        assert commune.child("T04", row["name"])["status"] == "died"
        assert not not_applied_flags(services, row["name"])
