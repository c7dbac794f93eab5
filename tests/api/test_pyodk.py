"""pyodk 1.3.0, the official ODK Python client, driving the server over real HTTP."""

from __future__ import annotations

import io
from pathlib import Path

import openpyxl
import pytest
from pyodk.client import Client
from sqlalchemy import select

from server.models import Audit
from tests.conftest import FIXTURES, World

pytestmark = pytest.mark.slow


def _with_version(source: Path, version: str, out: Path) -> Path:
    """The same XLSForm with another version in its settings sheet."""
    book = openpyxl.load_workbook(io.BytesIO(source.read_bytes()))
    settings = book["settings"]
    header = [cell.value for cell in settings[1]]
    settings.cell(row=2, column=header.index("version") + 1, value=version)
    book.save(out)
    return out


def test_pyodk_publishes_xlsforms_with_media_and_sets_up_phones(
    pyodk_client: Client, world: World, tmp_path: Path
) -> None:
    client = pyodk_client
    projects = client.projects.list()
    assert [(p.id, p.name) for p in projects] == [(world.project_id, "Xã Hoà Bình")]

    screening = client.forms.create(definition=FIXTURES / "child_screening.xlsx")
    assert screening.xmlFormId == "child_screening"
    children_csv = tmp_path / "children.csv"
    children_csv.write_text("name,label\nc1,Nguyễn Văn An (7)\n", encoding="utf-8")
    followup = client.forms.create(definition=FIXTURES / "child_followup.xlsx",
                                   attachments=[children_csv])
    assert followup.xmlFormId == "child_followup"

    client.forms.update("child_followup", attachments=[children_csv],
                        version_updater=lambda _old: "2")
    new_source = _with_version(FIXTURES / "child_screening.xlsx", "2026120101",
                               tmp_path / "child_screening.xlsx")
    client.forms.update("child_screening", definition=new_source)

    forms = {form.xmlFormId: form for form in client.forms.list()}
    assert forms["child_followup"].version == "2"
    assert forms["child_screening"].version == "2026120101"
    assert all(form.publishedAt is not None for form in forms.values())
    assert client.forms.get("child_followup").state == "open"

    phones = client.projects.create_app_users(display_names=["Máy thôn 1", "Máy thôn 2"],
                                              forms=["child_screening"])
    assert sorted(phone.displayName for phone in phones) == ["Máy thôn 1", "Máy thôn 2"]
    assert all(phone.token for phone in phones)
    again = client.projects.create_app_users(display_names=["Máy thôn 1"])
    assert list(again) == []
    assigned = client.session.get(
        f"projects/{world.project_id}/forms/child_screening/assignments").json()
    assert sorted(row["actorId"] for row in assigned) == sorted(p.id for p in phones)


def test_pyodk_reuses_its_cached_token(pyodk_client: Client, world: World) -> None:
    assert pyodk_client.projects.get().id == world.project_id
    second = Client()  # same config and cache: checks the token with GET users/current
    assert second.projects.get().id == world.project_id
    with world.uow() as session:
        logins = session.scalars(select(Audit).where(
            Audit.action == "user.session.create")).all()
    assert len(logins) == 1
