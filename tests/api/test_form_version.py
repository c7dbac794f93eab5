"""`POST …/draft/publish?version=`: odd but valid versions are escaped into the XForm, versions
that cannot round-trip are refused with a 400 saying why, and nothing is published then
(server/operations/forms.py `check_version`, `set_draft_version`)."""

from __future__ import annotations

import csv
import hashlib
import io
import uuid
from urllib.parse import quote

import pytest
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from sync.safe_xml import parse_xml
from tests.api.conftest import XML, household_instance, upload, xform
from tests.conftest import ADMIN_PASSWORD, World
from tests.web.conftest import web_login

FORMLIST_NS = "{http://openrosa.org/xforms/xformsList}"
XFORMS_NS = "{http://www.w3.org/2002/xforms}"
OPENROSA = {"X-OpenRosa-Version": "1.0"}


def _form(client: FlaskClient, headers: dict[str, str], world: World) -> str:
    """`household` published at version 1, with a draft of the same version waiting."""
    upload(client, headers, world.project_id, xform(version="1"))
    url = f"/v1/projects/{world.project_id}/forms/household"
    assert client.post(f"{url}/draft", headers=headers).status_code == 200
    return url


def _publish(client: FlaskClient, headers: dict[str, str], url: str,
             version: str) -> TestResponse:
    return client.post(f"{url}/draft/publish?version={quote(version, safe='')}",
                       headers=headers)


def _instance_version(xml: bytes) -> str:
    root = parse_xml(xml)
    instance = root.find(f".//{XFORMS_NS}model/{XFORMS_NS}instance")
    assert instance is not None
    return next(iter(instance)).attrib["version"]


@pytest.mark.parametrize("version", ["2026&12", "<x>", "say \"hi\" & 'bye'",
                                     "phiên bản 2 ✓", "a" * 255])
def test_an_odd_but_valid_version_is_escaped_and_everything_still_parses(
    client: FlaskClient, admin_headers: dict[str, str], world: World, version: str,
) -> None:
    url = _form(client, admin_headers, world)
    published = _publish(client, admin_headers, url, version)
    assert published.status_code == 200, published.get_data(as_text=True)
    assert client.get(url, headers=admin_headers).json["version"] == version

    # The XForm phones download parses, names the version exactly, and its MD5 is the hash.
    served = client.get(f"{url}.xml", headers=admin_headers)
    assert served.status_code == 200
    assert _instance_version(served.data) == version
    assert client.get(url, headers=admin_headers).json["hash"] == hashlib.md5(
        served.data, usedforsecurity=False).hexdigest()
    by_version = client.get(f"{url}/versions/{quote(version, safe='')}.xml",
                            headers=admin_headers)
    assert by_version.status_code == 200 and by_version.data == served.data

    # The phones' form list parses and carries the same version and hash.
    listed = client.get(f"/v1/projects/{world.project_id}/formList",
                        headers={**admin_headers, **OPENROSA})
    assert listed.status_code == 200
    (entry,) = parse_xml(listed.data).iter(f"{FORMLIST_NS}xform")
    assert entry.findtext(f"{FORMLIST_NS}version") == version
    assert entry.findtext(f"{FORMLIST_NS}hash") == "md5:" + hashlib.md5(
        served.data, usedforsecurity=False).hexdigest()

    # A submission naming that version is accepted; the exports answer and parse.
    instance_id = f"uuid:{uuid.uuid4()}"
    body = household_instance(instance_id, "Nguyễn Văn An").replace(
        b'version="1"', b'version="' + version.replace("&", "&amp;").replace("<", "&lt;")
        .replace('"', "&quot;").encode() + b'"')
    sent = client.post(f"{url}/submissions", data=body, headers={**admin_headers, **XML})
    assert sent.status_code == 200, sent.get_data(as_text=True)
    metadata = client.get(f"{url}.svc/$metadata", headers=admin_headers)
    assert metadata.status_code == 200
    parse_xml(metadata.data)
    rows = client.get(f"{url}.svc/Submissions", headers=admin_headers)
    assert rows.status_code == 200
    assert [row["__system"]["formVersion"] for row in rows.json["value"]] == [version]
    exported = client.get(f"{url}/submissions.csv", headers=admin_headers)
    assert exported.status_code == 200
    (row,) = csv.DictReader(io.StringIO(exported.data.decode("utf-8-sig")))
    assert row["KEY"] == instance_id


@pytest.mark.parametrize(("version", "why"), [
    ("a" * 1000, "1000 characters long; at most 255"),
    ("a" * 256, "256 characters long"),
    ("2026\x0712", "U+0007"),
    ("2026\n12", "U+000A"),
    ("2026\t12", "U+0009"),
    ("\x00", "U+0000"),
    ("2026\x9f", "U+009F"),
    (" 2026", "begins or ends with a space"),
])
def test_a_version_that_cannot_round_trip_is_refused_and_nothing_is_published(
    client: FlaskClient, admin_headers: dict[str, str], world: World, version: str, why: str,
) -> None:
    url = _form(client, admin_headers, world)
    before = client.get(f"{url}.xml", headers=admin_headers).data
    refused = _publish(client, admin_headers, url, version)
    assert refused.status_code == 400
    assert refused.json["code"] == 400.8
    assert refused.json["details"]["field"] == "version"
    assert why in refused.json["message"]
    assert client.get(url, headers=admin_headers).json["version"] == "1"
    assert client.get(f"{url}.xml", headers=admin_headers).data == before
    assert client.get(f"{url}/draft", headers=admin_headers).json["version"] == "1"
    versions = client.get(f"{url}/versions", headers=admin_headers).json
    assert [v["version"] for v in versions] == ["1"]


def test_an_empty_version_parameter_publishes_the_drafts_own_version(
    client: FlaskClient, admin_headers: dict[str, str], world: World,
) -> None:
    """As Central: `?version=` with nothing is no version at all."""
    upload(client, admin_headers, world.project_id, xform(version="1"))
    url = f"/v1/projects/{world.project_id}/forms/household"
    client.post(f"{url}/draft", data=xform(version="2"), headers={**admin_headers, **XML})
    assert client.post(f"{url}/draft/publish?version=", headers=admin_headers).status_code == 200
    assert client.get(url, headers=admin_headers).json["version"] == "2"
    # and with the draft's version already used, the empty parameter does not hide the 409.6
    client.post(f"{url}/draft", headers=admin_headers)
    again = client.post(f"{url}/draft/publish?version=", headers=admin_headers)
    assert again.status_code == 409 and again.json["code"] == 409.6


def test_an_uploaded_form_whose_own_version_is_too_long_is_a_400_not_a_500(
    client: FlaskClient, admin_headers: dict[str, str], world: World,
) -> None:
    response = client.post(f"/v1/projects/{world.project_id}/forms",
                           data=xform(version="9" * 300), headers={**admin_headers, **XML})
    assert response.status_code == 400
    assert "300 characters long" in response.json["message"]
    tabbed = client.post(f"/v1/projects/{world.project_id}/forms",
                         data=xform(version="1&#9;2"), headers={**admin_headers, **XML})
    assert tabbed.status_code == 400 and "U+0009" in tabbed.json["message"]
    listed = client.get(f"/v1/projects/{world.project_id}/forms", headers=admin_headers)
    assert listed.json == []


def test_the_forms_page_says_why_a_version_is_refused(
    client: FlaskClient, admin_headers: dict[str, str], world: World,
) -> None:
    url = _form(client, admin_headers, world)
    csrf = web_login(client, world.admin_email, ADMIN_PASSWORD)
    page = f"/ui/p/{world.project_id}/forms/household/draft/publish?lang=en"
    too_long = client.post(page, data={"csrf": csrf, "version": "7" * 300})
    assert too_long.status_code == 400
    assert "The version is too long: at most 255 characters." in too_long.get_data(as_text=True)
    control = client.post(page, data={"csrf": csrf, "version": "20\x0726"})
    assert control.status_code == 400
    assert "cannot contain tabs, line breaks or other control characters" in (
        control.get_data(as_text=True))
    vietnamese = client.post(page.replace("?lang=en", "?lang=vi"),
                             data={"csrf": csrf, "version": "20\n26"})
    assert "Phiên bản không được chứa" in vietnamese.get_data(as_text=True)
    assert client.get(url, headers=admin_headers).json["version"] == "1"
    accepted = client.post(page, data={"csrf": csrf, "version": "2026&12"})
    assert accepted.status_code == 303
    assert client.get(url, headers=admin_headers).json["version"] == "2026&12"
