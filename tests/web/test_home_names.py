"""A child's home name (tên thường gọi ở nhà: Bắp, Sóc…), given at a screening, lands in its
record and its current view, shows beside its full name in the list, on its page, in the API
and on the phones' entity list, and finds the child by name search with or without marks —
on SQLite and PostgreSQL (docs/screening.md §4, docs/registry.md §1)."""

from __future__ import annotations

from collections.abc import Callable
from xml.etree.ElementTree import Element, SubElement

from flask.testing import FlaskClient
from sqlalchemy import select

from server.models import Child, ChildRecord
from server.registry.entities import entity_rows
from server.registry.sync import sync_pending
from tests.registry.helpers import (
    children_of,
    consented_xml,
    find,
    household_of,
    newborn_named,
    submit_variant,
)
from tests.web.conftest import Registry, web_login

NAME = "Nguyễn Văn Khoai"


def _with_home_name(home_name: str) -> Callable[[Element], None]:
    """A change for `submit_variant`: a newborn first child whose family calls it `home_name`."""
    newborn = newborn_named(NAME)

    def change(root: Element) -> None:
        newborn(root)
        child = find(household_of(root), "child")[0]
        nodes = find(child, "c_home_name") or [SubElement(child, "c_home_name")]
        nodes[0].text = home_name

    return change


def _screened_with_home_name(registry: Registry) -> str:
    visit = submit_variant(registry.services, consented_xml(registry.services),
                           _with_home_name("Bắp"))
    assert sync_pending(registry.services.database.sessions).failed == 0
    return children_of(registry.services, visit)[0]


def test_a_screened_home_name_lands_in_the_record_the_child_and_the_entity_list(
        registry: Registry) -> None:
    child_id = _screened_with_home_name(registry)
    with registry.services.database.unit_of_work() as db:
        child = db.get_one(Child, child_id)
        record = db.scalars(select(ChildRecord).where(
            ChildRecord.source_key.like("%#1"), ChildRecord.full_name == NAME)).one()
        assert (record.full_name, record.home_name) == (NAME, "Bắp")
        assert (child.full_name, child.home_name) == (NAME, "Bắp")
        row = next(r for r in entity_rows(db, registry.project_id, None) if r.id == child_id)
    assert row.properties["home_name"] == "Bắp"
    assert row.properties["full_name"] == NAME
    # The phone's child list searches the label: the home name is in it.
    assert row.label == f"{NAME} (Bắp) (2026)"


def test_the_list_shows_the_home_name_and_finds_the_child_by_it_without_marks(
        registry: Registry, client: FlaskClient, admin_headers: dict[str, str]) -> None:
    child_id = _screened_with_home_name(registry)
    web = client.application.test_client()
    web_login(web, registry.person("manager"))
    for typed in ("bap", "BẮP", "khoai bap"):
        page = web.get(f"/ui/p/{registry.project_id}/children?q={typed}")
        html = page.get_data(as_text=True)
        assert page.status_code == 200 and f"{NAME} <span class=\"home-name\"" in html, typed
        assert "(Bắp)" in html and f"children/{child_id}" in html
    assert "(Bắp)" not in web.get(
        f"/ui/p/{registry.project_id}/children?q=soc").get_data(as_text=True)
    child_page = web.get(f"/ui/p/{registry.project_id}/children/{child_id}")
    assert 'id="child-home-name">Bắp<' in child_page.get_data(as_text=True)
    english = web.get(f"/ui/p/{registry.project_id}/children/{child_id}?lang=en")
    assert "Home name" in english.get_data(as_text=True)

    base = f"/v1/projects/{registry.project_id}/registry/children"
    found = client.get(base, headers=admin_headers, query_string={"q": "bap"}).json
    detail = client.get(f"{base}/{child_id}", headers=admin_headers).json
    assert found is not None and detail is not None
    assert [(item["id"], item["fullName"], item["homeName"]) for item in found] == [
        (child_id, NAME, "Bắp")]
    assert detail["homeName"] == "Bắp"
    assert [record["homeName"] for record in detail["records"]] == ["Bắp"]
