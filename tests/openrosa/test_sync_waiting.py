"""Submissions of a form the registry does not read are "not a registry form" and never wait
for the sync: the waiting count reaches 0 (README "The master registry").

A photo form is the case met in the field: its submissions stay `pending` in the column, yet
nothing counts them as waiting; the day a release makes the form a registry form they wait,
and the worker reads them, without any migration.
"""

from __future__ import annotations

import uuid

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from server.cli import main
from server.models import Form, SubmissionDef
from server.registry.sync_status import SyncStatus, status_of, waiting_count
from server.services import Services
from sync import mapping
from tests.conftest import PNG_BYTES
from tests.openrosa.conftest import Phone, two_photos_xml


def send_photo_visits(phone: Phone, count: int) -> None:
    for index in range(count):
        xml = two_photos_xml(f"uuid:{uuid.uuid4()}", f"Hộ số {index}")
        response = phone.submit(xml, {"front.jpg": PNG_BYTES + bytes([index]),
                                      "back.jpg": PNG_BYTES + bytes([index, 1])})
        assert response.status_code == 201


def shown_states(services: Services) -> list[SyncStatus]:
    with services.database.unit_of_work() as db:
        rows = db.execute(select(Form.xml_form_id, SubmissionDef.sync_state)
                          .join(Form, Form.id == SubmissionDef.form_id)).all()
    return [status_of(xml_form_id, state) for xml_form_id, state in rows]


def waiting(services: Services, project_id: int | None = None) -> int:
    with services.database.unit_of_work() as db:
        return waiting_count(db, project_id)


def sync_status_line(services: Services, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("DIEMTUA_DATA_DIR", str(services.settings.data_dir))
    monkeypatch.setenv("DIEMTUA_DATABASE_URL", services.settings.database_url)
    monkeypatch.setenv("DIEMTUA_SECRET_KEY", "test-secret")
    result = CliRunner().invoke(main, ["sync", "status"])
    assert result.exit_code == 0, result.output
    return result.output.strip()


def test_a_photo_form_submission_is_not_a_registry_form_and_nothing_waits(
        services: Services, two_photos_phone: Phone, monkeypatch: pytest.MonkeyPatch) -> None:
    send_photo_visits(two_photos_phone, 3)

    assert shown_states(services) == [SyncStatus.NOT_REGISTRY] * 3
    assert waiting(services) == 0
    assert waiting(services, two_photos_phone.project_id) == 0
    assert sync_status_line(services, monkeypatch) == (
        "0 submissions wait for the registry sync; 0 failed.")


def test_once_the_form_is_a_registry_form_its_stored_submissions_wait(
        services: Services, two_photos_phone: Phone, monkeypatch: pytest.MonkeyPatch) -> None:
    send_photo_visits(two_photos_phone, 2)
    assert waiting(services) == 0

    # A later release reads this form into the registry: nothing stored has to change.
    monkeypatch.setitem(mapping.FORM_MAPPINGS, "two_photos",
                        mapping.FORM_MAPPINGS["household_screening"])

    assert shown_states(services) == [SyncStatus.WAITING] * 2
    assert waiting(services) == waiting(services, two_photos_phone.project_id) == 2
    assert waiting(services, two_photos_phone.project_id + 1) == 0
    assert sync_status_line(services, monkeypatch) == (
        "2 submissions wait for the registry sync; 0 failed.")
