"""Every page of the web blueprint, found in the app's routes, and the address of each one in
the demo commune: shared by the accessibility test (tests/web/test_accessibility.py) and the
screenshots (tools/screenshots.py), so both see the same pages and a new page joins both the
moment its view module is imported by `server/web/__init__.py`.

A page is a GET route of the `web` blueprint that answers HTML: not the stylesheet, not the
catch-all 404 route, not a route that returns a file (its path ends in a file name such as
`qr.png`, or it is listed in `FILE_ENDPOINTS`). Its path parameters are filled from the
commune by name (`BY_NAME`: the commune, a child, a form, a submission) or, where a name
means different things on different pages (`actor_id` is a user, a person with a role or a
phone), by page (`BY_PAGE`, whose extra values become the query string). A page neither
fills raises `Unreachable` naming it: the test fails rather than skip a page nobody told it
how to open.

The commune is the demo a newcomer loads (`server.demo.load_demo`, as `diemtua demo` does,
registry synced) plus what the demo does not make and the pages show: two officers with a
role (one limited to a village), and an import preview of a small list with problems.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import quote, urlencode

from flask import Flask
from sqlalchemy import func, select

from server.demo import SCREENING, load_demo
from server.models import Child, ChildMembership, ChildRecord, Flag, SubmissionDef
from server.models.registry import ChildStatus
from server.operations.users import create_user, grant_project_role
from server.services import Services

ADMIN_EMAIL = "quantri@xa-hoa-binh.test"
PASSWORD = "mật khẩu trạm y tế 2026"

# Routes of the blueprint that are not pages a person reads.
NOT_PAGES = frozenset({"web.static", "web.unknown_page"})
# Routes that answer a file whose path does not end in a file name.
FILE_ENDPOINTS = frozenset({"web.submission_file"})
FILE_NAME = re.compile(r"/[^/<>]+\.[A-Za-z0-9]+$")
PARAMETER = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")


@dataclass(frozen=True)
class Page:
    """A GET route of the web blueprint that answers HTML."""

    endpoint: str
    rule: str
    arguments: tuple[str, ...]

    @property
    def name(self) -> str:
        return self.endpoint.removeprefix("web.").replace("_", "-")


class Unreachable(Exception):
    """A page whose path parameters nobody said how to fill."""


def web_pages(app: Flask | None = None) -> list[Page]:
    """The pages, in route order (the blueprint registered on a bare Flask app when none is
    given: the routes are the blueprint's, no database needed)."""
    if app is None:
        from server.web import blueprint

        app = Flask("pages")
        app.register_blueprint(blueprint)
    pages = []
    for rule in app.url_map.iter_rules():
        if (not rule.endpoint.startswith("web.") or rule.endpoint in NOT_PAGES
                or "GET" not in (rule.methods or ()) or rule.endpoint in FILE_ENDPOINTS
                or FILE_NAME.search(rule.rule)):
            continue
        pages.append(Page(rule.endpoint, rule.rule, tuple(PARAMETER.findall(rule.rule))))
    return sorted(pages, key=lambda page: page.rule)


@dataclass
class DemoCommune:
    """The demo commune, and a thing of each kind a page shows one of."""

    services: Services
    project_id: int
    child_id: str  # the child with the most to show: records, categories, an open flag
    xml_form_id: str
    instance_id: str  # a household visit of that form, synced
    officer_id: int  # a person with a role on the commune, limited to a village
    officer_role: str
    phone_id: int  # a village's app user
    flag_id: int  # an open urgent flag (one with a deadline), the child's if it has one
    import_token: str = ""  # the preview of a list with problems (`preview_import`)


# Path parameters meaning one thing on every page.
BY_NAME: dict[str, Callable[[DemoCommune], object]] = {
    "project_id": lambda c: c.project_id,
    "child_id": lambda c: c.child_id,
    "xml_form_id": lambda c: c.xml_form_id,
    "instance_id": lambda c: c.instance_id,
    "flag_id": lambda c: c.flag_id,
}
# Pages whose parameters mean something of their own; values the rule does not name go into
# the query string.
BY_PAGE: dict[str, Callable[[DemoCommune], dict[str, object]]] = {
    "web.user": lambda c: {"actor_id": c.officer_id},
    "web.person_role": lambda c: {"actor_id": c.officer_id, "role": c.officer_role},
    "web.phone": lambda c: {"actor_id": c.phone_id},
    "web.import_report": lambda c: {"t": c.import_token},
    "web.flag_confirm": lambda c: {"action": "close"},
}


def address(page: Page, commune: DemoCommune) -> str:
    """The page's path (and query) in the commune; `Unreachable` if a parameter is unknown."""
    values: dict[str, object] = BY_PAGE[page.endpoint](commune) if page.endpoint in BY_PAGE \
        else {}
    missing = [name for name in page.arguments if name not in values and name not in BY_NAME]
    if missing:
        raise Unreachable(
            f"{page.endpoint} ({page.rule}): no value for {', '.join(missing)}; say where to "
            "find one in tests/web/pages.py (BY_PAGE or BY_NAME)")
    for name in page.arguments:
        if name not in values:
            values[name] = BY_NAME[name](commune)
    path = PARAMETER.sub(lambda found: quote(str(values[found.group(1)]), safe=""), page.rule)
    query = {name: value for name, value in values.items() if name not in page.arguments}
    return f"{path}?{urlencode(query)}" if query else path


# --- the commune ------------------------------------------------------------------------------


def build_commune(services: Services, households: int = 60) -> DemoCommune:
    """Load the demo (registry synced) with a site administrator `ADMIN_EMAIL`, add the
    officers, and pick the things the pages show."""
    summary = load_demo(services, households=households, admin_email=ADMIN_EMAIL,
                        admin_password=PASSWORD, sync_registry=True)
    project_id = summary.project_id
    with services.database.unit_of_work() as db:
        officer = create_user(db, "lo.thi.mai@xa-hoa-binh.test", PASSWORD,
                              display_name="Lò Thị Mai")
        grant_project_role(db, project_id, officer.actor_id, "cp_officer").villages = ["T01"]
        manager = create_user(db, "nguyen.van.an@xa-hoa-binh.test", PASSWORD,
                              display_name="Nguyễn Văn An")
        grant_project_role(db, project_id, manager.actor_id, "manager")
        records = func.count(ChildMembership.record_id.distinct())
        child_id = db.execute(
            select(Child.id, records).join(ChildMembership, ChildMembership.child_id == Child.id)
            .join(Flag, Flag.child_id == Child.id)
            .where(Child.project_id == project_id, Child.status == ChildStatus.ACTIVE.value)
            .group_by(Child.id).order_by(records.desc(), Child.id).limit(1)).one()[0]
        # A visit that reported this child, so its page links to the child's.
        instance_id = db.scalars(
            select(SubmissionDef.instance_id)
            .join(ChildRecord, ChildRecord.submission_def_id == SubmissionDef.id)
            .join(ChildMembership, ChildMembership.record_id == ChildRecord.id)
            .where(ChildMembership.child_id == child_id).order_by(SubmissionDef.id)).first()
        assert instance_id is not None
        flag_id = db.scalars(
            select(Flag.id).where(Flag.project_id == project_id, Flag.status == "open",
                                  Flag.deadline.is_not(None))
            .order_by((Flag.child_id == child_id).desc(), Flag.id)).first()
        assert flag_id is not None, "the demo raised no urgent flag"
        return DemoCommune(services, project_id, child_id, SCREENING, instance_id,
                           officer.actor_id, "cp_officer", summary.phones[0].actor_id,
                           flag_id)


def import_rows() -> bytes:
    """A children list as a commune keeps it: two good rows, two with problems."""
    rows = [
        ("DS-1", "Nguyễn Thị Lan", "T01", "Nữ", "2015-03-04", ""),
        ("DS-2", "Vì Thị Hoa", "T02", "X", "2099-01-01", "ZZZ"),
        ("DS-3", "Lò Văn Minh", "T03", "Nam", "2016-05-04", "HCDB-A"),
        ("DS-4", "", "Thôn Không Có", "Nam", "2014-01-01", ""),
    ]
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["record_id", "full_name", "village", "sex", "dob", "mother_name",
                     "special_circumstances"])
    for record_id, name, village, sex, dob, codes in rows:
        writer.writerow([record_id, name, village, sex, dob, "Lường Thị Mẹ", codes])
    return out.getvalue().encode("utf-8")


def preview_import(app: Flask, commune: DemoCommune) -> None:
    """Upload `import_rows` as the administrator, as the imports page's form does (a dry run:
    nothing is kept in the registry), and keep the preview's token for `web.import_report`."""
    if "web.imports" not in app.view_functions:
        return
    client = app.test_client()
    login = client.get("/ui/login").get_data(as_text=True)
    token = re.search(r'name="csrf" value="([^"]+)"', login)
    assert token, "no CSRF field on the sign-in page"
    signed = client.post("/ui/login", data={"email": ADMIN_EMAIL, "password": PASSWORD,
                                            "csrf": token.group(1)})
    assert signed.status_code == 303, signed.get_data(as_text=True)[:300]
    page = client.get(f"/ui/p/{commune.project_id}/imports").get_data(as_text=True)
    csrf = re.search(r'name="csrf" value="([^"]+)"', page)
    assert csrf, "no CSRF field on the imports page"
    answer = client.post(f"/ui/p/{commune.project_id}/imports", data={
        "csrf": csrf.group(1), "source": "so-theo-doi-2025",
        "file": (io.BytesIO(import_rows()), "danh-sach-tre.csv")},
        content_type="multipart/form-data")
    assert answer.status_code == 303, answer.get_data(as_text=True)[:300]
    found = re.search(r"[?&]t=([^&]+)", answer.headers["Location"])
    assert found, answer.headers["Location"]
    commune.import_token = found.group(1)
