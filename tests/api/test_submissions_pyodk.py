"""pyodk 1.3, ODK's own Python client, against a real HTTP server: create with a photo, list,
read, OData tables, edit, review and comments — everything its submissions service calls."""

from __future__ import annotations

from pathlib import Path

import pytest
from pyodk.client import Client

from tests.conftest import (
    ADMIN_PASSWORD,
    PNG_BYTES,
    LiveServer,
    Screening,
    fixture_bytes,
    new_instance_id,
    screening_xml,
)

pytestmark = pytest.mark.slow


@pytest.fixture
def odk(live_server: LiveServer, screening: Screening, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> Client:
    config = tmp_path / "pyodk_config.toml"
    config.write_text(
        "[central]\n"
        f'base_url = "{live_server.url}"\n'
        f'username = "{screening.world.admin_email}"\n'
        f'password = "{ADMIN_PASSWORD}"\n'
        f"default_project_id = {screening.project_id}\n", encoding="utf-8")
    monkeypatch.setenv("PYODK_CONFIG_FILE", str(config))
    monkeypatch.setenv("PYODK_CACHE_FILE", str(tmp_path / "pyodk_cache.toml"))
    return Client()


def test_pyodk_creates_reads_edits_and_reviews(odk: Client, screening: Screening,
                                               tmp_path: Path) -> None:
    photo = tmp_path / "nha.png"
    photo.write_bytes(PNG_BYTES)
    instance_id = new_instance_id()
    xml = screening_xml(instance_id, "Nguyễn Thị Hằng", (("Nguyễn Văn Khoa", 6, "no"),),
                        photo="nha.png")
    collect_id = screening.submit(fixture_bytes("javarosa-submission.xml"),
                                  submitter_id=screening.world.admin_id)

    with odk:
        created = odk.submissions.create(xml, form_id="child_screening", device_id="pyodk:1",
                                         attachments=[photo])
        listed = odk.submissions.list(form_id="child_screening")
        one = odk.submissions.get(instance_id, form_id="child_screening")
        table = odk.submissions.get_table(form_id="child_screening", top=1, count=True)
        children = odk.submissions.get_table(form_id="child_screening",
                                             table_name="Submissions.child",
                                             filter="__system/reviewState eq null")
        edited = screening_xml(new_instance_id(), "Nguyễn Thị Hằng",
                               (("Nguyễn Văn Khoa", 7, "no"),), photo="nha.png",
                               deprecated_id=instance_id)
        odk.submissions.edit(instance_id, edited, form_id="child_screening",
                             comment="Sửa tuổi của trẻ.")
        odk.submissions.review(collect_id, "approved", form_id="child_screening",
                               comment="Đã xác minh tại thôn.")
        comments = odk.submissions.list_comments(collect_id, form_id="child_screening")
        after = odk.submissions.get_table(form_id="child_screening",
                                          filter="__system/reviewState eq 'approved'")
        edited_row = odk.submissions.get_table(form_id="child_screening",
                                               table_name="Submissions.child",
                                               filter="__system/reviewState eq 'edited'")

    assert created.instanceId == instance_id
    assert created.deviceId == "pyodk:1"
    assert [(a.name, a.exists) for a in created.attachments or []] == [("nha.png", True)]
    assert {s.instanceId for s in listed} == {instance_id, collect_id}
    assert (one.instanceId, one.submitterId) == (instance_id, screening.world.admin_id)
    assert table["@odata.count"] == 2 and len(table["value"]) == 1
    assert table["value"][0]["household_head"] == "Nguyễn Thị Hằng"
    assert "@odata.nextLink" in table
    assert sorted(c["child_name"] for c in children["value"]) == [
        "Nguyễn Thị Bình", "Nguyễn Văn Cường", "Nguyễn Văn Khoa"]
    assert [c.body for c in comments] == ["Đã xác minh tại thôn."]
    assert [r["__id"] for r in after["value"]] == [collect_id]
    assert [c["child_age"] for c in edited_row["value"]] == [7]
