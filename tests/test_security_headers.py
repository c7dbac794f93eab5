"""Security headers on every answer, over real HTTP (README, "Security headers"): pages allow
no inline script and are never framed; everything that is not one of our pages — JSON, OpenRosa
XML, exports, a phone's XML and files — is locked and sandboxed, so nothing served runs script
as the server; answers with personal data are never stored by a cache."""

from __future__ import annotations

import base64
import hashlib
import re

import requests

from server.demo import load_demo
from server.services import Services
from tests.conftest import LiveServer, World
from tests.hostile_content import notes_phone, notes_xml, site_admin, submissions_url
from tests.openrosa.wire import collect_headers
from tests.registry.helpers import TODAY


def policy(response: requests.Response) -> dict[str, list[str]]:
    """The Content-Security-Policy as directive → sources."""
    header = response.headers.get("Content-Security-Policy", "")
    assert header, f"no CSP on {response.url}"
    found: dict[str, list[str]] = {}
    for part in header.split(";"):
        name, *sources = part.split()
        found[name] = sources
    return found


def assert_locked(response: requests.Response) -> None:
    """Nothing may load, no framing, and a sandbox: an opaque origin with no script."""
    csp = policy(response)
    assert csp["default-src"] == ["'none'"]
    assert csp["frame-ancestors"] == ["'none'"]
    assert csp["sandbox"] == []  # no allow-scripts, no allow-same-origin
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def assert_not_stored(response: requests.Response) -> None:
    assert "no-store" in response.headers.get("Cache-Control", ""), response.headers


def test_a_page_allows_no_inline_script_and_is_never_framed(live_server: LiveServer) -> None:
    response = requests.get(f"{live_server.url}/ui/login", timeout=30)
    assert response.status_code == 200 and "text/html" in response.headers["Content-Type"]
    csp = policy(response)
    assert csp["script-src"] == ["'self'"]
    assert csp["style-src"] == ["'self'"]
    assert csp["default-src"] == ["'none'"]
    assert csp["object-src"] == ["'none'"] and csp["base-uri"] == ["'none'"]
    assert csp["form-action"] == ["'self'"] and csp["frame-ancestors"] == ["'none'"]
    assert "'unsafe-inline'" not in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert_not_stored(response)
    # The policy holds: the pages carry no inline script, handler or style to be blocked.
    assert not re.search(r"<script|<style|\sstyle=|\son[a-z]+=", response.text, re.I)


def test_api_answers_are_locked_and_never_stored(live_server: LiveServer,
                                                 world: World) -> None:
    admin = site_admin(world.services)
    answer = requests.get(f"{live_server.url}/v1/projects", headers=admin, timeout=30)
    assert answer.status_code == 200 and answer.json()
    refused = requests.get(f"{live_server.url}/v1/projects", timeout=30)
    assert refused.status_code == 401
    for response in (answer, refused):
        assert_locked(response)
        assert_not_stored(response)
        assert response.headers["Referrer-Policy"] == "same-origin"


def test_openrosa_answers_are_locked_and_never_stored(live_server: LiveServer,
                                                      world: World) -> None:
    phone = notes_phone(world.services, world.project_id, live_server.url)
    form_list = phone.get("/formList")
    assert form_list.status_code == 200 and "ghi_chep" in form_list.text
    sent = phone.submit(notes_xml("Nhà có bốn người"))
    for response in (form_list, sent):
        assert_locked(response)
        assert_not_stored(response)


def test_an_html_file_a_phone_sent_is_a_sandboxed_download_that_keeps_its_etag(
        live_server: LiveServer, world: World) -> None:
    phone = notes_phone(world.services, world.project_id, live_server.url)
    page = b"<html><body><script>fetch('/v1/users').then(r => r.text())</script></body></html>"
    instance = f"uuid:{'a' * 8}-1111-4111-8111-{'b' * 12}"
    phone.submit(notes_xml("Ảnh nhà", photo="trang.html", instance_id=instance),
                 {"trang.html": (page, "text/html")})
    admin = site_admin(world.services)
    url = f"{submissions_url(live_server.url, world.project_id)}/{instance}/attachments/trang.html"
    response = requests.get(url, headers=admin, timeout=30)
    assert response.status_code == 200 and response.content == page
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert_locked(response)  # a browser told it is HTML still runs none of it as us
    assert_not_stored(response)
    etag = response.headers["ETag"]
    again = requests.get(url, headers={**admin, "If-None-Match": etag}, timeout=30)
    assert again.status_code == 304 and again.headers["ETag"] == etag


def test_a_script_a_phone_put_in_its_instance_is_served_as_a_sandboxed_download(
        live_server: LiveServer, world: World) -> None:
    phone = notes_phone(world.services, world.project_id, live_server.url)
    instance = f"uuid:{'c' * 8}-2222-4222-8222-{'d' * 12}"
    xml = notes_xml("Bình thường", instance_id=instance,
                    extra="<h:script>alert(document.cookie)</h:script>")
    phone.submit(xml)
    admin = site_admin(world.services)
    response = requests.get(f"{submissions_url(live_server.url, world.project_id)}/"
                            f"{instance}.xml", headers=admin, timeout=30)
    assert response.status_code == 200
    assert response.text == xml  # byte for byte as received, never rewritten
    assert_locked(response)
    assert_not_stored(response)
    # Needs server/api/v1/submissions.py to pass the answer through httputil.as_download.
    assert response.headers["Content-Disposition"].startswith("attachment;"), response.headers


def test_an_export_is_locked_and_never_stored(live_server: LiveServer, world: World) -> None:
    phone = notes_phone(world.services, world.project_id, live_server.url)
    phone.submit(notes_xml("Nguyễn Thị Hoa, 7 tuổi"))
    admin = site_admin(world.services)
    base = f"{live_server.url}/v1/projects/{world.project_id}/forms/ghi_chep"
    for path in ("/submissions.csv.zip", "/submissions.csv"):
        response = requests.get(f"{base}{path}", headers=admin, timeout=30)
        assert response.status_code == 200, response.text
        assert_locked(response)
        assert_not_stored(response)


def test_static_files_may_be_cached_but_are_never_sniffed(live_server: LiveServer) -> None:
    for path in ("/ui/static/style.css", "/swaggerui/swagger-ui-bundle.js"):
        response = requests.get(f"{live_server.url}{path}", timeout=30)
        assert response.status_code == 200
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert "no-store" not in response.headers.get("Cache-Control", "")


def _hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def test_the_api_docs_page_may_run_exactly_its_own_inline_script(
        live_server: LiveServer) -> None:
    response = requests.get(f"{live_server.url}/v1/docs", timeout=30)
    assert response.status_code == 200
    csp = policy(response)
    inline = re.findall(r"<script(?![^>]*src=)[^>]*>(.*?)</script>", response.text, re.S)
    assert inline  # flask-restx boots Swagger UI from one inline script
    assert {_hash(text) for text in inline} <= set(csp["script-src"])
    assert "'unsafe-inline'" not in csp["script-src"]
    assert "'unsafe-eval'" not in csp["script-src"]
    assert csp["frame-ancestors"] == ["'none'"] and csp["object-src"] == ["'none'"]
    assert_not_stored(response)


def test_the_phones_children_list_is_never_stored_and_still_answers_304(
        live_server: LiveServer, services: Services) -> None:
    demo = load_demo(services, households=4, seed=11, today=TODAY, sync_registry=True)
    phone = next(p for p in demo.phones)
    url = (f"{live_server.url}/v1/key/{phone.token}/projects/{demo.project_id}"
           "/forms/child_followup/attachments/children.csv")
    first = requests.get(url, headers=collect_headers(), timeout=30)
    assert first.status_code == 200 and first.text.startswith("name,label,__version,")
    assert_not_stored(first)
    assert_locked(first)
    etag = first.headers["ETag"]
    again = requests.get(url, headers={**collect_headers(), "If-None-Match": etag}, timeout=30)
    assert again.status_code == 304 and again.headers["ETag"] == etag
    assert_not_stored(again)


def test_a_qr_code_is_locked_and_keeps_its_own_cache_rule(live_server: LiveServer,
                                                          world: World) -> None:
    """Images are answers like any other; a view's own stricter Cache-Control stays."""
    phone = notes_phone(world.services, world.project_id, live_server.url)
    admin = site_admin(world.services)
    response = requests.get(f"{live_server.url}/v1/projects/{world.project_id}/app-users/"
                            f"{phone.actor_id}/qr.png", headers=admin, timeout=30)
    assert response.status_code == 200 and response.content.startswith(b"\x89PNG")
    assert_locked(response)
    assert response.headers["Cache-Control"] == "private, no-store"
