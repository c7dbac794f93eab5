"""The places the authorization matrix (tests/access/matrix.py) points at, in the commune of
tests/access/commune.py: for each of the two villages a child with a category of every kind,
its source record, a review-queue row, a registry edge, a visit with a photo; a draft of the
screening form; and factories of things a request may destroy (a user, an app user, a form, a
visit, a flag, a project, a session), made anew for every request that needs one.

The matrix's paths name these by `{placeholder}`; `Places` fills them in for one caller and
one village, calling a factory only when its placeholder is in the path.
"""

from __future__ import annotations

import io
import itertools
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.auth.principal import find_session, open_session
from server.db import utcnow
from server.models import (
    Actor,
    AppUser,
    Blob,
    Child,
    ChildCategoryEpisode,
    ChildMembership,
    Flag,
    FormAssignment,
    LinkEdge,
    MatchCandidate,
)
from server.operations.blobs import read_blob, store_blob_id
from server.operations.forms import (
    assign_to_form,
    attach_form_media,
    create_form,
    draft_from_published,
    get_form,
)
from server.operations.projects import create_project
from server.operations.submissions import IncomingFile, SubmissionContext, receive_submission
from server.operations.users import create_app_user, create_user, grant_project_role
from sync.instance import parse_instance
from tests.access.commune import INSIDE, OUTSIDE, PEOPLE, Commune, submit_visit
from tests.conftest import PNG_BYTES

VILLAGES = (INSIDE, OUTSIDE)
SCREENING = "household_screening"
FOLLOWUP = "child_followup"
# A small form with a photo, whose village answer is declared in the XForm itself, so that
# visits carry a file; its source stands in for a legacy .xls upload.
PHOTO_FORM = "anh_nha"
PHOTO_NAME = "nha.png"
LEGACY_XLS = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1 legacy spreadsheet"
# A form with a draft and no published version: discarding its draft is refused (409.7).
UNPUBLISHED_FORM = "chua_cong_bo"
XFORM_XML = "application/xml"


def xform(form_id: str, *, photo: bool = False) -> bytes:
    """A minimal XForm: a village answer (declared with `diemtua:village`), and a photo."""
    photo_node = "<photo/>" if photo else ""
    photo_bind = '<bind nodeset="/data/photo" type="binary"/>' if photo else ""
    photo_body = ('<upload ref="/data/photo" mediatype="image/*"><label>Ảnh</label></upload>'
                  if photo else "")
    return (
        '<?xml version="1.0"?><h:html xmlns="http://www.w3.org/2002/xforms" '
        'xmlns:h="http://www.w3.org/1999/xhtml" xmlns:jr="http://openrosa.org/javarosa" '
        'xmlns:diemtua="urn:diemtua:xforms"><h:head><h:title>Biểu mẫu thử</h:title><model>'
        f'<instance><data id="{form_id}" version="1"><village/>{photo_node}<meta><instanceID/>'
        '</meta></data></instance>'
        '<bind nodeset="/data/village" type="string" diemtua:village="yes"/>'
        f'{photo_bind}<bind nodeset="/data/meta/instanceID" type="string" '
        'readonly="true()" jr:preload="uid"/></model></h:head><h:body>'
        f'<input ref="/data/village"><label>Thôn</label></input>{photo_body}'
        "</h:body></h:html>"
    ).encode()


def photo_visit_xml(village: str) -> bytes:
    return (f'<data id="{PHOTO_FORM}" version="1"><village>{village}</village>'
            f"<photo>{PHOTO_NAME}</photo><meta><instanceID>uuid:{uuid.uuid4()}</instanceID>"
            "</meta></data>").encode()


@dataclass
class VillagePlaces:
    """What one village holds for the matrix."""

    child: str = ""  # the child of the commune's sensitive visit there
    record: int = 0  # its only source record
    candidate: int = 0  # a review-queue row: another child's record may be this child
    edge: int = 0  # a "same child" edge between their records (not revocable: 409)
    photo_visit: str = ""
    phone: int = 0  # the village's app user (phone)


@dataclass
class World:
    commune: Commune
    villages: dict[str, VillagePlaces] = field(default_factory=dict)
    screening_version: str = ""
    bystander: int = 0  # a web user nobody else is
    csrf: dict[str, str] = field(default_factory=dict)  # session token → its CSRF token
    _serial: Iterator[int] = field(default_factory=itertools.count)

    def uow(self) -> AbstractContextManager[Session]:
        return self.commune.services.database.unit_of_work()

    @property
    def project_id(self) -> int:
        return self.commune.project_id

    def next(self) -> int:
        return next(self._serial)

    def csrf_of(self, token: str) -> str:
        if token not in self.csrf:
            with self.uow() as db:
                row = find_session(db, token)
                self.csrf[token] = row.csrf if row is not None else ""
        return self.csrf[token]

    # --- factories: a new thing for each request that may destroy it ---------------------

    def new_user(self) -> int:
        """A web user without any role (no password: nobody signs in as them)."""
        with self.uow() as db:
            return create_user(db, f"matrix-{self.next()}@xa.test", None).actor_id

    def new_role_holder(self, villages: list[str]) -> int:
        """A web user holding `viewer` limited to `villages` (empty: the whole commune)."""
        actor_id = self.new_user()
        with self.uow() as db:
            grant_project_role(db, self.project_id, actor_id, "viewer").villages = villages
        return actor_id

    def new_app_user(self, village: str) -> int:
        """A phone of `village`, given the screening form."""
        with self.uow() as db:
            app_user = create_app_user(db, self.project_id, f"Điện thoại {self.next()}",
                                       [village])
            db.add(FormAssignment(form_id=self.commune.screening_form_id,
                                  actor_id=app_user.actor_id))
            return app_user.actor_id

    def new_app_user_token(self, village: str) -> str:
        with self.uow() as db:
            app_user = db.get_one(AppUser, self.new_app_user(village))
            return app_user.token or ""

    def new_form(self) -> str:
        form_id = f"xoa_duoc_{self.next()}"
        with self.uow() as db:
            create_form(db, self.commune.services.store, self.project_id, xform(form_id),
                        XFORM_XML, publish=True)
        return form_id

    def new_visit(self, village: str) -> str:
        return submit_visit(self.commune, village, self.villages[village].phone)

    def new_flag(self, village: str, *, urgent: bool = False) -> int:
        """An open flag on the village's child: a public category, or a confidential urgent
        referral (the commune chair receives it masked)."""
        child_id = self.villages[village].child
        with self.uow() as db:
            flag = (Flag(project_id=self.project_id, child_id=child_id, code="HCDB-L",
                         kind="referral", confidential=True,
                         deadline=utcnow() + timedelta(hours=12))
                    if urgent else
                    Flag(project_id=self.project_id, child_id=child_id, code="PLAN-POOR",
                         kind="new_special_circumstance"))
            db.add(flag)
            db.flush()
            return flag.id

    def new_project(self) -> int:
        """A commune like this one: every person holds the same role there."""
        with self.uow() as db:
            project = create_project(db, f"Xã thử {self.next()}")
            for name, (role, villages) in PEOPLE.items():
                if role is not None:
                    grant_project_role(db, project.id, self.commune.actor_ids[name],
                                       role).villages = villages
            return project.id

    def new_session(self, actor_id: int | None = None) -> str:
        """A session token of `actor_id` (default: a new bystander)."""
        with self.uow() as db:
            actor = db.get_one(Actor, actor_id if actor_id is not None else self.new_user())
            return open_session(db, actor, 1).token or ""

    def draft_file(self) -> str:
        """`villages.csv`, uploaded again to the screening draft (a request may remove it)."""
        store = self.commune.services.store
        with self.uow() as db:
            form = get_form(db, self.project_id, SCREENING)
            assert form.current_def is not None and form.draft_def is not None
            published = next(a for a in form.current_def.attachments
                             if a.name == "villages.csv")
            assert published.blob_id is not None
            data = read_blob(store, db.get_one(Blob, published.blob_id))
            attach_form_media(db, store, form.draft_def, "villages.csv", data, "text/csv")
        return "villages.csv"


class Places(Mapping[str, object]):
    """The values of a path's placeholders for one caller in one village."""

    def __init__(self, world: World, village: str | None, me: int,
                 other_project: bool = False) -> None:
        self.world, self.village, self.me = world, village or INSIDE, me
        here = world.villages[self.village]
        commune = world.commune
        self.known: dict[str, object] = {
            "p": commune.other_project_id if other_project else commune.project_id,
            "f": SCREENING,
            "followup": FOLLOWUP, "photo_form": PHOTO_FORM, "photo_name": PHOTO_NAME,
            "unpublished": UNPUBLISHED_FORM, "version": world.screening_version,
            "me": me, "bystander": world.bystander,
            "visit": commune.visit_inside if self.village == INSIDE else commune.visit_outside,
            "child": here.child, "record": here.record, "candidate": here.candidate,
            "edge": here.edge, "photo_visit": here.photo_visit, "phone": here.phone,
        }
        self.factories: dict[str, Callable[[], object]] = {
            "new_user": world.new_user,
            "new_role_holder": lambda: world.new_role_holder([self.village]),
            "new_unlimited_role_holder": lambda: world.new_role_holder([]),
            "new_app_user": lambda: world.new_app_user(self.village),
            "new_app_user_token": lambda: world.new_app_user_token(self.village),
            "new_form": world.new_form,
            "new_visit": lambda: world.new_visit(self.village),
            "new_flag": lambda: world.new_flag(self.village),
            "new_urgent_flag": lambda: world.new_flag(self.village, urgent=True),
            "new_project": world.new_project,
            "new_session": world.new_session,
            "draft_file": world.draft_file,
        }

    def __getitem__(self, key: str) -> object:
        if key in self.known:
            return self.known[key]
        return self.factories[key]()

    def __iter__(self) -> Iterator[str]:
        return iter([*self.known, *self.factories])

    def __len__(self) -> int:
        return len(self.known) + len(self.factories)


# --- building the world ---------------------------------------------------------------------


def _child_of_visit(commune: Commune, village: str) -> tuple[str, int]:
    """The village's child holding the confidential referral its sensitive visit raised."""
    with commune.services.database.unit_of_work() as db:
        child_id = db.scalars(select(Child.id).join(
            ChildCategoryEpisode, ChildCategoryEpisode.child_id == Child.id).where(
            Child.project_id == commune.project_id, Child.village_code == village,
            ChildCategoryEpisode.code == "HCDB-L")).one()
        record = db.scalars(select(ChildMembership.record_id).where(
            ChildMembership.child_id == child_id)).one()
        return child_id, record


def _registry_places(world: World, village: str) -> VillagePlaces:
    """The child, a public and a health category on it, its neighbour, a queue row and an
    edge between them."""
    child_id, record_id = _child_of_visit(world.commune, village)
    with world.uow() as db:
        other = db.execute(select(Child.id, ChildMembership.record_id).join(
            ChildMembership, ChildMembership.child_id == Child.id).where(
            Child.project_id == world.project_id, Child.village_code == village,
            Child.id != child_id).limit(1)).one()
        for code in ("PLAN-POOR", "HCDB-D"):
            db.add(ChildCategoryEpisode(child_id=child_id, code=code, status="provisional",
                                        history=[]))
        candidate = MatchCandidate(record_id=other.record_id, child_id=child_id, score=0.9,
                                   reasons=["name"], status="open")
        edge = LinkEdge(record_a=record_id, record_b=other.record_id, kind="link",
                        source="reviewer", created_by=world.commune.actor_ids["admin"])
        db.add_all([candidate, edge])
        db.flush()
        return VillagePlaces(child=child_id, record=record_id, candidate=candidate.id,
                             edge=edge.id)


def _photo_form(world: World) -> None:
    """The photo form, published, given to every phone, its source a legacy .xls."""
    store = world.commune.services.store
    with world.uow() as db:
        form = create_form(db, store, world.project_id, xform(PHOTO_FORM, photo=True),
                           XFORM_XML, publish=True)
        assert form.current_def is not None
        form.current_def.xlsform_blob_id = store_blob_id(db, store, LEGACY_XLS,
                                                         "application/vnd.ms-excel")
        for places in world.villages.values():
            assign_to_form(db, form, places.phone)
        create_form(db, store, world.project_id, xform(UNPUBLISHED_FORM), XFORM_XML)
    for village, places in world.villages.items():
        xml = photo_visit_xml(village)
        with world.uow() as db:
            form = get_form(db, world.project_id, PHOTO_FORM)
            received = receive_submission(
                db, store, form, parse_instance(xml), xml,
                {PHOTO_NAME: IncomingFile(io.BytesIO(PNG_BYTES), "image/png")},
                SubmissionContext(places.phone, "collect:matrix", "test"))
            places.photo_visit = received.submission.instance_id


def build_world(commune: Commune) -> World:
    world = World(commune)
    for village in VILLAGES:
        world.villages[village] = _registry_places(world, village)
    with world.uow() as db:
        phones = {tuple(app_user.villages or ()): app_user.actor_id
                  for app_user in db.scalars(select(AppUser).where(
                      AppUser.project_id == commune.project_id))}
        for village, places in world.villages.items():
            places.phone = phones[(village,)]
        form = get_form(db, commune.project_id, SCREENING)
        assert form.current_def is not None
        world.screening_version = form.current_def.version
        draft_from_published(db, commune.services.store, form)
        world.bystander = create_user(db, "ban-be@xa.test", None).actor_id
    _photo_form(world)
    return world

