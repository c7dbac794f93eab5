"""The account page keeps a site administrator (docs/access.md, "Site administrators"): an
administrator's own page offers no deactivation and says why, in Vietnamese and in English; a
deactivation of oneself sent anyway is refused in those words and changes nothing; another
administrator's account is deactivated as any other. On SQLite and PostgreSQL.
"""

from __future__ import annotations

import html
from collections.abc import Iterator

import pytest
from sqlalchemy import select
from werkzeug.test import TestResponse

from server.models import Actor, User
from server.operations.users import create_user
from tests.web.admin_commune import ADMIN_EMAIL, AdminCommune, admin_commune
from tests.web.conftest import PASSWORD

OWN_VI = "Đây là tài khoản của bạn: bạn không thể tự vô hiệu hoá."
OWN_EN = "This is your own account: you cannot deactivate it."


@pytest.fixture(scope="module")
def commune(migrated_database: str, tmp_path_factory: pytest.TempPathFactory
            ) -> Iterator[AdminCommune]:
    with admin_commune(migrated_database, tmp_path_factory.mktemp("last-admin")) as built:
        yield built


def text(response: TestResponse) -> str:
    return html.unescape(response.get_data(as_text=True))


def new_admin(commune: AdminCommune) -> str:
    email = commune.email("admin")
    with commune.uow() as db:
        create_user(db, email, PASSWORD, role="admin", display_name="Quản trị hai")
    return email


def account(commune: AdminCommune, email: str) -> tuple[str, bool]:
    """The account's site role and whether it is still active."""
    with commune.uow() as db:
        role, deleted_at = db.execute(
            select(User.role, Actor.deleted_at).join(Actor, Actor.id == User.actor_id)
            .where(User.email == email)).one()
    return role, deleted_at is None


def test_ones_own_page_says_why_it_cannot_be_deactivated_and_offers_no_button(
        commune: AdminCommune) -> None:
    client, _ = commune.signed_in(ADMIN_EMAIL)
    own = f"/ui/users/{commune.actor_id(ADMIN_EMAIL)}"
    page = text(client.get(own))
    assert 'id="deactivate-refused"' in page and OWN_VI in page
    assert 'id="deactivate-submit"' not in page and 'id="deactivate-confirm"' not in page
    english = text(client.get(f"{own}?lang=en"))
    assert OWN_EN in english and 'id="deactivate-submit"' not in english


def test_deactivating_oneself_anyway_is_refused_in_words_and_changes_nothing(
        commune: AdminCommune) -> None:
    email = new_admin(commune)
    client, csrf = commune.signed_in(email)
    actor_id = commune.actor_id(email)
    before = len(commune.audits("user.delete"))
    answer = client.post(f"/ui/users/{actor_id}/deactivate",
                         data={"csrf": csrf, "confirm": "yes"})
    assert answer.status_code == 409
    body = text(answer)
    assert 'id="error"' in body and OWN_VI in body
    english = client.post(f"/ui/users/{actor_id}/deactivate?lang=en",
                          data={"csrf": csrf, "confirm": "yes"})
    assert english.status_code == 409 and OWN_EN in text(english)
    assert account(commune, email) == ("admin", True)
    assert len(commune.audits("user.delete")) == before
    assert client.get("/ui/users").status_code == 200  # still signed in, still administrator


def test_another_administrator_is_deactivated_as_anyone_else(commune: AdminCommune) -> None:
    email = new_admin(commune)
    client, csrf = commune.signed_in(ADMIN_EMAIL)
    actor_id = commune.actor_id(email)
    page = text(client.get(f"/ui/users/{actor_id}"))
    assert 'id="deactivate-submit"' in page and 'id="deactivate-refused"' not in page
    done = client.post(f"/ui/users/{actor_id}/deactivate", data={"csrf": csrf, "confirm": "yes"})
    assert done.status_code == 303 and "done=user_deactivated" in done.headers["Location"]
    assert account(commune, email) == ("none", False)
    assert account(commune, ADMIN_EMAIL) == ("admin", True)
