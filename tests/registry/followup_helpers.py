"""The demo commune with its registry synced, phones as Collect, and follow-up visits written
as the child_followup form writes them (cur_* copies, out_* saved values, meta/entity)."""

from __future__ import annotations

import csv
import io
import uuid
from xml.sax.saxutils import escape

from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from server.demo import DemoSummary, load_demo
from server.registry.entities import PROPERTIES
from server.registry.sync import SyncSummary, sync_pending
from server.services import Services
from tests.openrosa.conftest import Phone
from tests.registry.helpers import TODAY
from xlsforms.sources.child_followup import VERSION as FOLLOWUP_VERSION

FOLLOWUP = "child_followup"
CSV_PATH = f"/forms/{FOLLOWUP}/attachments/children.csv"
MANIFEST_PATH = f"/forms/{FOLLOWUP}/manifest"


def load_synced_demo(services: Services, households: int = 30) -> DemoSummary:
    return load_demo(services, households=households, seed=11, today=TODAY,
                     sync_registry=True)


def sync(services: Services) -> SyncSummary:
    return sync_pending(services.database.sessions)


def phone_of(client: FlaskClient, demo: DemoSummary, village: str) -> Phone:
    found = next(p for p in demo.phones if p.village == village)
    return Phone(client, demo.project_id, found.token, found.actor_id)


def rows_of(response: TestResponse) -> list[dict[str, str]]:
    assert response.status_code == 200, response.get_data(as_text=True)
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))


def children_csv(phone: Phone) -> list[dict[str, str]]:
    return rows_of(phone.get(CSV_PATH))


def followup_xml(row: dict[str, str], status: str, *, entity_id: str | None = None,
                 base_version: str | None = None, support: str | None = None,
                 school: str | None = None, circ: str | None = None,
                 moved: tuple[str, str] | None = None, died: str | None = None,
                 instance_id: str | None = None, deprecated_id: str | None = None,
                 update: str | None = None, home_name: str | None = None,
                 concern: tuple[str, str] | None = None) -> str:
    """A follow-up of the child in `row` (a children.csv row the phone held), with the
    form's own fallbacks: every saved property is the phone's copy unless the visit set it.
    `concern` fills Section F."""
    still = status == "still_here"
    out = {prop: row.get(prop, "") for prop in PROPERTIES}
    out["status"] = {"died": "died", "moved_away": "moved_away"}.get(status, "active")
    out["last_visit"] = TODAY.isoformat()
    if still:
        out["support"] = support if support is not None else row["support"]
        out["school_status"] = school if school is not None else row["school_status"]
        out["categories"] = circ if circ is not None else row["categories"]
        out["home_name"] = home_name if home_name is not None else row.get("home_name", "")
    if moved:
        out["moved_date"], out["moved_to"] = moved
    if died:
        out["death_date"] = died
    news = status in ("still_here", "moved_away", "died")
    cur = "".join(f"<cur_{p}>{escape(row.get(p, ''))}</cur_{p}>" for p in PROPERTIES)
    groups = (f"<moved><moved_date>{moved[0] if moved else ''}</moved_date>"
              f"<moved_to>{escape(moved[1]) if moved else ''}</moved_to></moved>"
              f"<died><death_date>{died or ''}</death_date></died>")
    if still:
        groups += (f"<update><circ>{out['categories']}</circ><support_now>{out['support']}"
                   f"</support_now><school_now>{out['school_status']}</school_now>"
                   f"<guardian_now>{escape(row['guardian_name'])}</guardian_now>"
                   f"<home_name_now>{escape(out['home_name'])}</home_name_now></update>")
    saved = "".join(f"<out_{p}>{escape(out[p])}</out_{p}>" for p in
                    ("status", "categories", "support", "school_status", "guardian_name",
                     "home_name", "death_date", "moved_date", "moved_to", "last_visit"))
    if concern:  # Section F: (f_type, f_urgency), as the collaborator ticked them
        groups += (f"<f_protection><f_concern>yes</f_concern><f_type>{concern[0]}</f_type>"
                   f"<f_urgency>{concern[1]}</f_urgency><f_note/></f_protection>")
    deprecated = f"<deprecatedID>{deprecated_id}</deprecatedID>" if deprecated_id else ""
    flag = update if update is not None else ("1" if news else "0")
    return (
        f'<data xmlns:entities="http://www.opendatakit.org/xforms/entities" id="{FOLLOWUP}" '
        f'version="{FOLLOWUP_VERSION}"><today>{TODAY.isoformat()}</today>'
        f"<village>{row['village']}</village><child>{row['name']}</child>{cur}"
        f"<fu_status>{status}</fu_status>{groups}<z_comment/>{saved}"
        f'<meta><entity dataset="children" update="{flag}" '
        f'baseVersion="{base_version if base_version is not None else row["__version"]}" '
        f'trunkVersion="" branchId="" id="{entity_id or row["name"]}"/>'
        f"<instanceID>{instance_id or f'uuid:{uuid.uuid4()}'}</instanceID>{deprecated}"
        "</meta></data>")


def send_followup(phone: Phone, xml: str) -> TestResponse:
    response = phone.submit(xml)
    assert response.status_code == 201, response.get_data(as_text=True)
    return response
