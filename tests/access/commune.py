"""A commune to test who sees what: the demo's villages and phones, household visits in T01 and
T05 that carry every kind of sensitive answer, and a person for every role — some limited to
village T01 — each with a bearer token. Built through the same functions users call.
"""

from __future__ import annotations

import copy
import uuid
from dataclasses import dataclass, field
from datetime import date
from xml.etree.ElementTree import Element, tostring

from sqlalchemy import select

from server.auth.principal import open_session
from server.demo import DEMO_PROJECT, load_demo
from server.models import Form, Project, SubmissionDef, User
from server.operations.projects import create_project
from server.operations.submissions import SubmissionContext, receive_submission
from server.operations.users import create_user, grant_project_role
from server.registry.sync import sync_pending
from server.services import Services
from sync.instance import parse_instance
from sync.safe_xml import local_name, parse_xml

TODAY = date(2026, 11, 29)
PASSWORD = "Ruộng bậc thang mùa lúa chín 2026"
INSIDE, OUTSIDE = "T01", "T05"
CONCERN = "sexual_abuse_suspected"
ILLNESS = "Bệnh tim bẩm sinh"
ETHNICITY = "hmong"
GIVEN_NAMES = ("Mai", "Lan", "Huệ", "Cúc", "Đào", "Mận", "Hồng", "Sen")

# Each person: (role on the commune, villages the role is limited to). None: no role at all.
PEOPLE: dict[str, tuple[str | None, list[str]]] = {
    "manager": ("manager", []),
    "manager_t01": ("manager", [INSIDE]),
    "cp_officer": ("cp_officer", []),
    "cp_officer_t01": ("cp_officer", [INSIDE]),
    "health_reviewer": ("health_reviewer", []),
    "commune_leader": ("commune_leader", []),
    "viewer": ("viewer", []),
    "viewer_t01": ("viewer", [INSIDE]),
    "formfill": ("formfill", []),
    "formfill_t01": ("formfill", [INSIDE]),
    "stranger": (None, []),
}


@dataclass
class Commune:
    services: Services
    project_id: int
    other_project_id: int
    screening_form_id: int
    # A household visit in each village whose first child has a Section F concern, a
    # long-term illness and an ethnicity: instanceIDs.
    visit_inside: str = ""
    visit_outside: str = ""
    visit_unknown_village: str = ""
    tokens: dict[str, str] = field(default_factory=dict)
    actor_ids: dict[str, int] = field(default_factory=dict)
    phone_tokens: dict[str, str] = field(default_factory=dict)  # village → app-user token

    def bearer(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"} if who in self.tokens else {}

    def screening_base(self) -> str:
        return f"/v1/projects/{self.project_id}/forms/household_screening"

    def xml_of(self, instance_id: str) -> str:
        with self.services.database.unit_of_work() as db:
            return db.scalars(select(SubmissionDef.xml).where(
                SubmissionDef.instance_id == instance_id)).one()


def _find(node: Element, name: str) -> list[Element]:
    return [child for child in node if local_name(child.tag) == name]


def _set(parent: Element, name: str, text: str, after: str | None = None) -> None:
    """Answer `name` inside `parent` (adding the element after `after` when absent)."""
    found = _find(parent, name)
    if found:
        found[0].text = text
        return
    position = len(parent)
    if after is not None:
        siblings = [local_name(child.tag) for child in parent]
        position = siblings.index(after) + 1 if after in siblings else position
    element = Element(name)
    element.text = text
    parent.insert(position, element)


def with_sensitive_answers(root: Element, village: str) -> None:
    """The first child gets a confidential concern, a long-term illness and an ethnicity."""
    _set(root, "village", village)
    household = _find(root, "household")[0]
    for number, each in enumerate(_find(household, "child")):
        # New children of this village, not the demo's children visited again.
        given = f"{GIVEN_NAMES[number % len(GIVEN_NAMES)]} {village or 'Vô Định'}"
        _set(each, "c_village", village)
        _set(each, "c_full_name", f"Lò Thị {given}")
        _set(each, "c_mother_name", f"Quàng Thị {given}")
        _set(each, "c_pid", "")
    child = _find(household, "child")[0]
    _set(child, "c_ethnic", ETHNICITY)
    _set(child, "e_longterm", "yes")
    _set(child, "e_illness", ILLNESS, after="e_longterm")
    protection = _find(child, "f_protection")[0]
    _set(protection, "f_concern", "yes")
    _set(protection, "f_type", CONCERN, after="f_concern")
    _set(protection, "f_urgency", "within_week", after="f_type")
    _set(protection, "f_note", "Cần gặp riêng trẻ", after="f_urgency")


def _consented_xml(services: Services) -> str:
    with services.database.unit_of_work() as db:
        for xml in db.scalars(select(SubmissionDef.xml).order_by(SubmissionDef.id)):
            root = parse_xml(xml.encode())
            households = _find(root, "household")
            if households and _find(households[0], "child"):
                return xml
    raise AssertionError("the demo has no household with children")


def _submit(services: Services, form_id: int, xml: str, village: str, submitter: int) -> str:
    root = copy.deepcopy(parse_xml(xml.encode()))
    instance_id = f"uuid:{uuid.uuid4()}"
    for meta in _find(root, "meta"):
        for item in _find(meta, "instanceID"):
            item.text = instance_id
    with_sensitive_answers(root, village)
    data = tostring(root, encoding="unicode").encode()
    with services.database.unit_of_work() as db:
        form = db.get_one(Form, form_id)
        receive_submission(db, services.store, form, parse_instance(data), data, {},
                           SubmissionContext(submitter, "collect:test", "test"))
    return instance_id


def submit_visit(commune: Commune, village: str, submitter: int) -> str:
    """Another household visit in `village` carrying every kind of sensitive answer, for a
    test that needs one of its own (to delete, to edit): its instanceID."""
    return _submit(commune.services, commune.screening_form_id,
                   _consented_xml(commune.services), village, submitter)


def build_commune(services: Services, households: int = 8) -> Commune:
    summary = load_demo(services, households=households, today=TODAY, revisits=False,
                        admin_password=PASSWORD)
    with services.database.unit_of_work() as db:
        project_id = db.scalars(select(Project.id).where(Project.name == DEMO_PROJECT)).one()
        form_id = db.scalars(select(Form.id).where(
            Form.project_id == project_id, Form.xml_form_id == "household_screening")).one()
        other = create_project(db, "Xã Bên Cạnh", commune_code="00002").id
    commune = Commune(services, project_id, other, form_id)
    commune.phone_tokens = {phone.village: phone.token for phone in summary.phones
                            if phone.token}
    phone_of = {phone.village: phone.actor_id for phone in summary.phones}
    xml = _consented_xml(services)
    commune.visit_inside = _submit(services, form_id, xml, INSIDE, phone_of[INSIDE])
    commune.visit_outside = _submit(services, form_id, xml, OUTSIDE, phone_of[OUTSIDE])
    commune.visit_unknown_village = _submit(services, form_id, xml, "", phone_of[INSIDE])
    sync_pending(services.database.sessions)
    with services.database.unit_of_work() as db:
        admin = db.scalars(select(User).where(User.role == "admin")).one()
        commune.tokens["admin"] = open_session(db, admin.actor, 24).token or ""
        commune.actor_ids["admin"] = admin.actor_id
        for name, (role, villages) in PEOPLE.items():
            user = create_user(db, f"{name}@xa.test", PASSWORD, display_name=name)
            if role is not None:
                grant_project_role(db, project_id, user.actor_id, role).villages = villages
            commune.tokens[name] = open_session(db, user.actor, 24).token or ""
            commune.actor_ids[name] = user.actor_id
    return commune
