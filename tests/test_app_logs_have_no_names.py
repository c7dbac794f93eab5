"""Application logs carry no child's name and no personal ID (README "Audit log").

The demo is loaded with `diemtua demo` and synced, phones send follow-ups (one applied, one for
a child of another village, one naming a child nobody knows), a household is visited again with
a personal ID too long for its column — PostgreSQL refuses it — and `diemtua sync run` catches
up. Everything the `server`, `sync` and `exports` loggers say (at DEBUG), whatever else logs
at INFO, and the commands' own output are then searched for every child's full name (with and
without diacritics) and every personal ID the registry and the submissions hold.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from pathlib import Path
from xml.etree.ElementTree import Element

import pytest
from click.testing import CliRunner, Result
from flask.testing import FlaskClient
from sqlalchemy import select

from server.cli import main
from server.models import AppUser, Child, ChildRecord, SubmissionDef
from server.services import Services
from tests.conftest import ADMIN_PASSWORD
from tests.openrosa.conftest import Phone
from tests.registry.followup_helpers import children_csv, followup_xml, send_followup
from tests.registry.helpers import consented_xml, find, household_of, strip_marks, submit_variant

HOUSEHOLDS = 30
LOGGERS = ("server", "sync", "exports")
NAME_OR_ID = re.compile(r"<(c_full_name|c_pid)>([^<]+)</\1>")


def _run(runner: CliRunner, *args: str, stdin: str | None = None) -> Result:
    result = runner.invoke(main, list(args), input=stdin)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result


def _secrets(services: Services) -> set[str]:
    """Every child's full name and personal ID in the registry and in what phones sent."""
    found: set[str] = set()
    with services.database.unit_of_work() as db:
        for model in (Child, ChildRecord):
            for name, personal_id in db.execute(select(model.full_name, model.personal_id)):
                found.update(text for text in (name, personal_id) if text and text.strip())
        for xml in db.scalars(select(SubmissionDef.xml)):
            found.update(value.strip() for _, value in NAME_OR_ID.findall(xml) if value.strip())
    return found


def _spellings(secret: str) -> Iterator[str]:
    yield secret.casefold()
    yield strip_marks(secret).casefold()


def _too_long_personal_id(root: Element) -> None:
    """The first child's personal ID typed twice over (a phone without the form's constraint):
    longer than the 32 characters the column holds."""
    first = find(household_of(root), "child")[0]
    for node in find(first, "c_pid"):
        node.text = ((node.text or "") + "079215000123") * 4


def test_the_demo_and_the_sync_log_no_childs_name_or_personal_id(
        services: Services, client: FlaskClient, database_url: str, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv("DIEMTUA_DATA_DIR", str(services.settings.data_dir))
    monkeypatch.setenv("DIEMTUA_DATABASE_URL", database_url)
    monkeypatch.setenv("DIEMTUA_SECRET_KEY", "test-secret")
    caplog.set_level(logging.INFO)
    for name in LOGGERS:
        caplog.set_level(logging.DEBUG, logger=name)
    runner = CliRunner()
    outputs = [_run(runner, "db", "upgrade"),
               _run(runner, "demo", "--households", str(HOUSEHOLDS), "--seed", "7",
                    "--admin-password-stdin", stdin=f"{ADMIN_PASSWORD}\n")]
    assert "Registry sync:" in outputs[-1].output

    with services.database.unit_of_work() as db:
        phones = {app_user.villages[0]: Phone(client, app_user.project_id, app_user.token,
                                               app_user.actor_id)
                  for app_user in db.scalars(select(AppUser)) if app_user.villages}
    home, elsewhere = phones["T01"], phones["T02"]
    ours, theirs = children_csv(home)[0], children_csv(elsewhere)[0]
    send_followup(home, followup_xml(ours, "still_here", support="cash"))
    send_followup(home, followup_xml(theirs, "died", died="2026-11-20"))
    send_followup(home, followup_xml({**ours, "name": "5b0f3e3c-2d55-4d57-9d0a-6f3c7f0c2b1e"},
                                     "still_here", support="cash"))
    submit_variant(services, consented_xml(services), _too_long_personal_id)
    outputs.append(_run(runner, "sync", "run"))

    secrets = _secrets(services)
    assert len(secrets) > 2 * HOUSEHOLDS  # names and IDs of many children
    logged = "\n".join([caplog.text, *(result.output for result in outputs)])
    assert "registry sync" in caplog.text  # the failure was logged: the search saw real lines
    haystack = logged.casefold() + "\n" + strip_marks(logged).casefold()
    leaked = sorted(secret for secret in secrets
                    if any(spelling in haystack for spelling in _spellings(secret)))
    assert leaked == []
