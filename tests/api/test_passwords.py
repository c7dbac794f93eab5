"""A new password must be long and hard to guess: common passwords, keyboard rows, sequences
and the person's own email or name are refused with why, in Vietnamese and English, wherever a
password is set — the API over real HTTP, the change of one's own password, the CLI
(README "Signing in")."""

from __future__ import annotations

import secrets

import pytest
import requests
from click.testing import CliRunner

from server.auth.passwords import WeakPassword, check_password_strength
from server.cli import main
from tests.api.conftest import PASSWORD as API_PASSWORD
from tests.conftest import ADMIN_PASSWORD, LiveServer, World


def _admin_session(url: str, world: World) -> dict[str, str]:
    token = requests.post(f"{url}/v1/sessions", timeout=30, json={
        "email": world.admin_email, "password": ADMIN_PASSWORD}).json()["token"]
    return {"Authorization": f"Bearer {token}"}


def test_1234567890_is_refused_as_a_common_password_over_http(
        live_server: LiveServer, world: World) -> None:
    admin = _admin_session(live_server.url, world)
    refused = requests.post(f"{live_server.url}/v1/users", headers=admin, timeout=30,
                            json={"email": "hoa@tramyte.vn", "password": "1234567890"})
    assert refused.status_code == 400
    body = refused.json()
    assert body["code"] == 400.21 and body["details"]["reason"] == "too_common"
    assert body["message"].startswith("Mật khẩu quá dễ đoán: đây là một trong 100 mật khẩu "
                                      "phổ biến nhất.")
    assert "too easy to guess: This is a top-100 common password." in body["message"]
    users = requests.get(f"{live_server.url}/v1/users", headers=admin, timeout=30).json()
    assert [user["email"] for user in users] == [world.admin_email]


def test_a_short_password_keeps_centrals_code_and_says_how_long(
        live_server: LiveServer, world: World) -> None:
    refused = requests.post(f"{live_server.url}/v1/users", timeout=30,
                            headers=_admin_session(live_server.url, world),
                            json={"email": "hoa@tramyte.vn", "password": "ngắn"})
    body = refused.json()
    assert refused.status_code == 400 and body["code"] == 400.21
    assert body["details"] == {"minLength": 10, "reason": "too_short"}
    assert "ít nhất 10 ký tự" in body["message"] and "at least 10 characters" in body["message"]


def test_a_password_made_of_ones_own_email_is_refused_when_changing_it(
        live_server: LiveServer, world: World) -> None:
    url = live_server.url
    admin = _admin_session(url, world)
    created = requests.post(f"{url}/v1/users", headers=admin, timeout=30, json={
        "email": "hoa@tramyte-hoabinh.vn", "password": API_PASSWORD,
        "displayName": "Nguyễn Thị Hoa"}).json()
    hoa = {"Authorization": "Bearer " + requests.post(f"{url}/v1/sessions", timeout=30, json={
        "email": "hoa@tramyte-hoabinh.vn", "password": API_PASSWORD}).json()["token"]}
    for weak, why in (("tramytehoabinh", "your email, your name"),
                      ("matkhau2026", "the word “mật khẩu”")):
        refused = requests.put(f"{url}/v1/users/{created['id']}/password", headers=hoa,
                               timeout=30, json={"old": API_PASSWORD, "new": weak})
        assert refused.status_code == 400 and refused.json()["code"] == 400.21
        assert why in refused.json()["message"]
    # Nothing changed: the old password still signs in.
    assert requests.post(f"{url}/v1/sessions", timeout=30, json={
        "email": "hoa@tramyte-hoabinh.vn", "password": API_PASSWORD}).status_code == 200


def test_the_cli_refuses_a_common_password_and_says_why(
        world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = world.services.settings
    monkeypatch.setenv("DIEMTUA_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("DIEMTUA_DATABASE_URL", settings.database_url)
    result = CliRunner().invoke(main, ["user", "create", "lan@tramyte.vn", "--password-stdin"],
                                input="qwertyuiop\n")
    assert result.exit_code != 0
    assert "Mật khẩu quá dễ đoán" in result.output and "common password" in result.output


@pytest.mark.parametrize("password", [
    "1234567890", "0123456789", "qwertyuiop", "password123", "matkhau2026", "Matkhau@123",
    "Hanoi12345", "aaaaaaaaaaaa", "abcdefghij", "diemtua2026!", "x" * 100,
])
def test_common_and_patterned_passwords_are_refused(password: str) -> None:
    with pytest.raises(WeakPassword) as refused:
        check_password_strength(password, ["admin@diemtua.test", "Quản trị viên"])
    assert refused.value.reason == "too_common"


@pytest.mark.parametrize("password", [
    # The tests' own (tests/conftest.py, tests/api, tests/web, tests/openrosa).
    ADMIN_PASSWORD, API_PASSWORD, "mật khẩu trạm y tế 2026", "field-staff-2026-pass",
    "Mật khẩu dài 2026", "một mật khẩu mới", "xa hoa binh mua lua 2026",
    secrets.token_urlsafe(15),  # as `diemtua demo` generates the admin's password
])
def test_passphrases_and_generated_passwords_pass(password: str) -> None:
    check_password_strength(password, ["admin@diemtua.test", "Quản trị viên"])
