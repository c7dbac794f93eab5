"""Tokens never reach a log line: the real `diemtua serve` (gunicorn, two workers) is asked for
app-user key URLs, `?st=` and `DELETE /v1/sessions/<token>`, and its access and error logs
are searched for the tokens (README "Signing in"). The same served app throttles failed
sign-ins across its workers."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from server.auth.principal import new_token
from server.auth.redaction import redact
from server.operations.users import create_app_user
from tests.conftest import ADMIN_PASSWORD, World


@dataclass
class Served:
    url: str
    access_log: Path
    error_log: Path

    def logs(self) -> str:
        return self.access_log.read_text() + self.error_log.read_text()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _up(url: str) -> bool:
    try:
        return requests.get(f"{url}/healthz", timeout=1).status_code == 200
    except requests.RequestException:
        return False


@pytest.fixture
def served(world: World, tmp_path: Path) -> Iterator[Served]:
    """`diemtua serve` on the test database; gunicorn's access log on stdout, errors on
    stderr, as `diemtua serve` writes them."""
    settings = world.services.settings
    env = {**os.environ, "DIEMTUA_DATA_DIR": str(tmp_path / "served"),
           "DIEMTUA_DATABASE_URL": settings.database_url, "DIEMTUA_SECRET_KEY": "test-secret",
           "DIEMTUA_WORKERS": "2", "DIEMTUA_SYNC_IN_SERVER": "false",
           "DIEMTUA_SIGN_IN_FAILURES_PER_ACCOUNT": "2"}
    port = _free_port()
    served = Served(f"http://127.0.0.1:{port}", tmp_path / "access.log", tmp_path / "error.log")
    with served.access_log.open("w") as out, served.error_log.open("w") as err:
        process = subprocess.Popen(
            [sys.executable, "-c", "from server.cli import main; main()", "serve",
             "--port", str(port)], env=env, stdout=out, stderr=err)
    try:
        deadline = time.monotonic() + 30
        while not _up(served.url):
            assert time.monotonic() < deadline and process.poll() is None, served.logs()
            time.sleep(0.2)
        yield served
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)


def test_tokens_and_searches_are_replaced_in_the_served_logs(
        served: Served, world: World) -> None:
    with world.uow() as db:
        token = create_app_user(db, world.project_id, "Máy thôn 1").token
    assert token
    url, project = served.url, world.project_id
    phone = {"X-OpenRosa-Version": "1.0"}
    assert requests.get(f"{url}/v1/key/{token}/projects/{project}/formList", headers=phone,
                        timeout=30).status_code == 200
    assert requests.get(f"{url}/v1/projects/{project}/formList?st={token}", headers=phone,
                        timeout=30).status_code == 200
    assert requests.get(f"{url}/v1/key/{token}/nowhere", timeout=30, headers={
        "Referer": f"{url}/v1/key/{token}/projects/{project}/formList"}).status_code == 404
    bearer = requests.post(f"{url}/v1/sessions", timeout=30, json={
        "email": world.admin_email, "password": ADMIN_PASSWORD}).json()["token"]
    search = f"{url}/v1/projects/{project}/registry/children?q=Nguy%E1%BB%85n+Th%E1%BB%8B+Mai"
    assert requests.get(search, headers={"Authorization": f"Bearer {bearer}"},
                        timeout=30).status_code == 200
    assert requests.delete(f"{url}/v1/sessions/{bearer}", timeout=30,
                           headers={"Authorization": f"Bearer {bearer}"}).status_code == 200
    time.sleep(0.5)  # the access log line is written after the answer

    access = served.access_log.read_text()
    assert f"/v1/key/[token]/projects/{project}/formList" in access
    assert "formList?st=[token]" in access and "DELETE /v1/sessions/[token]" in access
    assert token not in served.logs() and bearer not in served.logs()
    # An officer's search is a child's name: it stays out of the logs too.
    assert "children?q=[search]" in access and "Mai" not in served.logs()


def test_failed_sign_ins_are_counted_across_the_served_workers(
        served: Served, world: World) -> None:
    # gunicorn closes every connection (no keep-alive), so the requests spread over both
    # workers: only a count kept outside the processes sees all of them.
    answers = [requests.post(f"{served.url}/v1/sessions", timeout=30, json={
        "email": world.admin_email, "password": password}).status_code
        for password in ("sai mật khẩu rồi", "sai mật khẩu rồi", ADMIN_PASSWORD)]
    assert answers == [401, 401, 429]


def test_redaction_covers_urls_and_bare_tokens_but_keeps_hashes() -> None:
    token = new_token()
    digest = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
    line = (f'GET /v1/key/{token}/formList?x=1&st={token} "/v1/sessions/{token}" '
            f"/v1/sessions/current KeyError('{token}') {digest}")
    assert redact(line) == ('GET /v1/key/[token]/formList?x=1&st=[token] '
                            '"/v1/sessions/[token]" /v1/sessions/current '
                            f"KeyError('[token]') {digest}")
