"""The database keeps no session token a reader could use: only its SHA-256 (README "Signing
in"). Tokens are made over real HTTP — the API and the sign-in page — then every column of
every table is searched for them."""

from __future__ import annotations

import re

import requests
from sqlalchemy import select

from server.auth.principal import token_hash
from server.db import Base
from server.models import Session
from tests.conftest import ADMIN_PASSWORD, LiveServer, World


def _everything_stored(world: World) -> str:
    """Every value of every row of every table, as text."""
    with world.uow() as db:
        return "\n".join(repr(tuple(row)) for table in Base.metadata.sorted_tables
                         for row in db.execute(select(table)))


def test_session_tokens_from_the_api_and_the_page_are_stored_only_hashed(
        live_server: LiveServer, world: World) -> None:
    url = live_server.url
    api = requests.post(f"{url}/v1/sessions", timeout=30,
                        json={"email": world.admin_email, "password": ADMIN_PASSWORD})
    bearer = api.json()["token"]
    browser = requests.Session()
    form = browser.get(f"{url}/ui/login", timeout=30).text
    csrf = re.search(r'name="csrf" value="([^"]+)"', form)
    assert csrf is not None
    signed_in = browser.post(f"{url}/ui/login", timeout=30, allow_redirects=False, data={
        "email": world.admin_email, "password": ADMIN_PASSWORD, "csrf": csrf.group(1)})
    assert signed_in.status_code == 303
    cookie = browser.cookies["session"]

    stored = _everything_stored(world)
    assert bearer not in stored and cookie not in stored
    with world.uow() as db:
        hashes = set(db.scalars(select(Session.token_hash)))
    assert hashes == {token_hash(bearer), token_hash(cookie)}
    # The tokens still work: the server hashes what it is shown.
    me = requests.get(f"{url}/v1/users/current", timeout=30,
                      headers={"Authorization": f"Bearer {bearer}"})
    assert me.status_code == 200 and me.json()["email"] == world.admin_email
    home = browser.get(f"{url}/ui/", timeout=30, allow_redirects=False)
    assert home.status_code in (200, 302) and "/ui/login" not in home.headers.get("Location", "")
