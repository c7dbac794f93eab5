"""Password guessing is slowed on every path that checks a password — `POST /v1/sessions`, the
sign-in page and the phones' HTTP Basic — over real HTTP, with the failures counted in the
database and in a real Redis (README "Signing in").

Limits are made small through the settings so that a few requests reach them. The server
trusts one proxy hop, so each test speaks from its own `X-Forwarded-For` address, as clients
behind the production nginx do.
"""

from __future__ import annotations

import base64
import json
import os
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
import requests
from sqlalchemy import func, select
from werkzeug.serving import make_server

from server import create_app
from server.db import utcnow
from server.models import Audit, SignInFailure
from server.operations.users import create_user
from server.services import Services
from tests.conftest import ADMIN_PASSWORD, World

REDIS_URL = os.environ.get("DIEMTUA_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
CSRF = re.compile(r'name="csrf" value="([^"]+)"')
THROTTLED_VI = "Đăng nhập sai quá nhiều lần"
THROTTLED_EN = "Too many failed sign-ins"


def _redis() -> Any:
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.ConnectionError:
        if "DIEMTUA_TEST_REDIS_URL" in os.environ:
            raise
        pytest.skip(f"no Redis at {REDIS_URL} (set DIEMTUA_TEST_REDIS_URL to require one)")
    return client


def _forget_redis_failures(client: Any) -> None:
    for key in client.scan_iter(match="diemtua:sign-in:*"):
        client.delete(key)


@pytest.fixture(params=["database", "redis"])
def store(request: pytest.FixtureRequest) -> Iterator[str | None]:
    """Where failures are counted: None for the database, else the Redis URL."""
    if request.param == "database":
        yield None
        return
    client = _redis()
    _forget_redis_failures(client)
    yield REDIS_URL
    _forget_redis_failures(client)
    client.close()


Serve = Callable[..., str]
# The page, the phones' path and the audit rows share the API's code with either store: one is
# enough for them (each password check costs an argon2 hash).
ONE_STORE = pytest.mark.parametrize("store", ["database"], indirect=True)


@pytest.fixture
def serve(services: Services, store: str | None) -> Iterator[Serve]:
    """Start the app on a real port with some settings changed; its base URL."""
    servers: list[Any] = []

    def start(**changes: Any) -> str:
        settings = services.settings.with_overrides(
            **{"proxy_hops": 1, "redis_url": store, **changes})
        app = create_app({"services": replace(services, settings=settings), "TESTING": True})
        server = make_server("127.0.0.1", 0, app, threaded=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_port}"

    yield start
    for server in servers:
        server.shutdown()


def from_address(address: str, tls: bool = True) -> dict[str, str]:
    """What nginx adds in front of the app: the caller's address, and that it came over TLS
    (then the app's cookies are `Secure`, which `requests` sends back only over https)."""
    return {"X-Forwarded-For": address, **({"X-Forwarded-Proto": "https"} if tls else {})}


def api_sign_in(url: str, email: str, password: str, address: str) -> requests.Response:
    return requests.post(f"{url}/v1/sessions", json={"email": email, "password": password},
                         headers=from_address(address), timeout=30)


def page_sign_in(url: str, email: str, password: str, address: str,
                 lang: str = "vi") -> requests.Response:
    """The sign-in form as a browser fills it: its page first (the CSRF cookie), then the post."""
    browser = requests.Session()
    browser.headers.update(from_address(address, tls=False))
    form = browser.get(f"{url}/ui/login", timeout=30)
    found = CSRF.search(form.text)
    assert found, form.text
    return browser.post(f"{url}/ui/login?lang={lang}", timeout=30, allow_redirects=False,
                        data={"email": email, "password": password, "csrf": found.group(1)})


def basic_form_list(url: str, email: str, password: str, address: str) -> requests.Response:
    """A phone (ODK Collect) asking for its forms with a web user's password."""
    credentials = base64.b64encode(f"{email}:{password}".encode("latin-1")).decode()
    return requests.get(f"{url}/formList", timeout=30, headers={
        **from_address(address), "X-OpenRosa-Version": "1.0",
        "Authorization": f"Basic {credentials}"})


def retry_after(response: requests.Response) -> int:
    seconds = int(response.headers["Retry-After"])
    assert seconds > 0
    return seconds


def test_past_the_account_limit_even_the_right_password_is_answered_429(
        serve: Serve, world: World) -> None:
    url = serve(sign_in_failures_per_account=3, sign_in_failures_per_address=100)
    for _ in range(3):
        assert api_sign_in(url, world.admin_email, "sai mật khẩu rồi", "10.0.0.1").status_code \
            == 401
    refused = api_sign_in(url, world.admin_email, ADMIN_PASSWORD, "10.0.0.1")
    assert refused.status_code == 429
    assert 0 < retry_after(refused) <= 900
    body = refused.json()
    assert body["code"] == 429.1 and body["details"]["retryAfter"] == retry_after(refused)
    assert body["message"].startswith(THROTTLED_VI) and THROTTLED_EN in body["message"]
    # The limit is the account's: the same account from elsewhere is refused too, another
    # account from the same address is not.
    assert api_sign_in(url, world.admin_email, ADMIN_PASSWORD, "10.0.0.2").status_code == 429
    with world.uow() as db:
        create_user(db, "hoa@tramyte.vn", "mật khẩu trạm y tế 2026")
    assert api_sign_in(url, "hoa@tramyte.vn", "mật khẩu trạm y tế 2026",
                       "10.0.0.1").status_code == 200


def test_the_owner_is_let_in_again_when_the_oldest_failure_leaves_the_window(
        serve: Serve, world: World) -> None:
    url = serve(sign_in_window_seconds=2, sign_in_failures_per_account=2)
    for _ in range(2):
        assert api_sign_in(url, world.admin_email, "sai mật khẩu rồi", "10.0.1.1").status_code \
            == 401
    refused = api_sign_in(url, world.admin_email, ADMIN_PASSWORD, "10.0.1.1")
    assert refused.status_code == 429 and retry_after(refused) <= 2
    time.sleep(retry_after(refused) + 0.2)
    assert api_sign_in(url, world.admin_email, ADMIN_PASSWORD, "10.0.1.1").status_code == 200


def test_a_success_forgives_the_account_but_not_the_address(serve: Serve, world: World) -> None:
    url = serve(sign_in_failures_per_account=3, sign_in_failures_per_address=5)
    wrong = "sai mật khẩu rồi"
    for expected in (401, 401, 200, 401, 401, 200):
        password = ADMIN_PASSWORD if expected == 200 else wrong
        assert api_sign_in(url, world.admin_email, password, "10.0.2.1").status_code == expected
    # Four failures from this address survive both successes; a fifth, on any account, reaches
    # the address's limit: a commune office behind one address waits, others do not.
    assert api_sign_in(url, "ai.do@khong.co", wrong, "10.0.2.1").status_code == 401
    assert api_sign_in(url, world.admin_email, ADMIN_PASSWORD, "10.0.2.1").status_code == 429
    assert api_sign_in(url, world.admin_email, ADMIN_PASSWORD, "10.0.2.2").status_code == 200


@ONE_STORE
def test_the_sign_in_page_is_throttled_with_a_message_in_vietnamese_or_english(
        serve: Serve, world: World) -> None:
    url = serve(sign_in_failures_per_account=2)
    for _ in range(2):
        failed = page_sign_in(url, world.admin_email, "sai mật khẩu rồi", "10.0.3.1")
        assert failed.status_code == 401 and "Sai email hoặc mật khẩu" in failed.text
    refused = page_sign_in(url, world.admin_email, ADMIN_PASSWORD, "10.0.3.1")
    assert refused.status_code == 429 and retry_after(refused) <= 900
    assert THROTTLED_VI in refused.text and "session" not in refused.cookies
    english = page_sign_in(url, world.admin_email, ADMIN_PASSWORD, "10.0.3.1", lang="en")
    assert english.status_code == 429 and THROTTLED_EN in english.text
    # The page and the API count the same failures.
    assert api_sign_in(url, world.admin_email, ADMIN_PASSWORD, "10.0.3.1").status_code == 429


@ONE_STORE
def test_a_phone_signing_in_with_http_basic_is_throttled_in_openrosa_xml(
        serve: Serve, world: World) -> None:
    url = serve(sign_in_failures_per_account=2)
    with world.uow() as db:
        create_user(db, "canbo@diemtua.test", "field-staff-2026-pass", role="admin")
    assert basic_form_list(url, "canbo@diemtua.test", "field-staff-2026-pass",
                           "10.0.4.1").status_code == 200
    for _ in range(2):
        assert basic_form_list(url, "canbo@diemtua.test", "wrong-pass-2026",
                               "10.0.4.1").status_code == 401
    refused = basic_form_list(url, "canbo@diemtua.test", "field-staff-2026-pass", "10.0.4.1")
    assert refused.status_code == 429 and retry_after(refused) <= 900
    assert refused.headers["Content-Type"].startswith("text/xml")
    assert "<OpenRosaResponse" in refused.text and THROTTLED_VI in refused.text


@ONE_STORE
def test_failures_and_the_start_of_throttling_are_audited_though_the_requests_fail(
        serve: Serve, world: World) -> None:
    url = serve(sign_in_failures_per_account=2)
    guess = "Mật khẩu đoán thử 2026"
    for _ in range(2):
        assert api_sign_in(url, "  Admin@DiemTua.TEST ", guess, "10.0.5.1").status_code == 401
    for _ in range(3):
        assert api_sign_in(url, world.admin_email, guess, "10.0.5.1").status_code == 429
    with world.uow() as db:
        failures = db.scalars(select(Audit).where(
            Audit.action == "user.session.create.failure")).all()
        throttled = db.scalars(select(Audit).where(
            Audit.action == "user.session.throttled")).all()
        created = db.scalar(select(func.count()).select_from(Audit).where(
            Audit.action == "user.session.create"))
    assert [row.details for row in failures] == [
        {"email": "admin@diemtua.test", "address": "10.0.5.1", "via": "api"}] * 2
    # Once, when the limit was reached — not once per refused attempt.
    assert len(throttled) == 1 and throttled[0].details["limit"] == "account"
    assert 0 < throttled[0].details["retryAfter"] <= 900
    assert created == 0
    assert guess not in json.dumps([row.details for row in [*failures, *throttled]],
                                   ensure_ascii=False)


def test_failures_are_kept_in_the_store_every_worker_reads_and_old_ones_are_pruned(
        serve: Serve, world: World, store: str | None) -> None:
    url = serve()
    with world.uow() as db:
        db.add(SignInFailure(key="account:long.ago@diemtua.test",
                             failed_at=utcnow() - timedelta(hours=1)))
    assert api_sign_in(url, world.admin_email, "sai mật khẩu rồi", "10.0.6.1").status_code \
        == 401
    with world.uow() as db:
        rows = sorted(db.scalars(select(SignInFailure.key)).all())
    if store is None:
        assert rows == ["account:admin@diemtua.test", "address:10.0.6.1"]
    else:
        assert rows == ["account:long.ago@diemtua.test"]  # Redis counts, the table is unused
        client = _redis()
        assert client.zcard("diemtua:sign-in:account:admin@diemtua.test") == 1
        assert client.zcard("diemtua:sign-in:address:10.0.6.1") == 1
        assert 0 < client.ttl("diemtua:sign-in:address:10.0.6.1") <= 901


@ONE_STORE
def test_an_unreachable_redis_refuses_sign_ins_as_an_outage_not_a_500(
        serve: Serve, world: World) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    url = serve(redis_url=f"redis://127.0.0.1:{closed}/0")

    api = api_sign_in(url, world.admin_email, ADMIN_PASSWORD, "203.0.113.7")
    # Refused before any password is checked: which password the phone sends does not matter.
    phone = basic_form_list(url, world.admin_email, "mot-mat-khau-bat-ky", "203.0.113.7")

    assert api.status_code == 503 and retry_after(api) == 30
    assert api.json()["code"] == 503.1 and "thử lại" in api.json()["message"]
    assert phone.status_code == 503 and retry_after(phone) == 30
    assert "OpenRosaResponse" in phone.text
