"""The registry fills off the request path: the phone is answered at once, the worker syncs.

One end-to-end check runs the real `diemtua serve` (gunicorn, with its sync worker process)
and a phone's submission over HTTP; the others drive the worker loop and its lock directly.
"""

from __future__ import annotations

import io
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
import requests
from flask.testing import FlaskClient
from sqlalchemy import func, select

import xlsforms
from server.config import load_settings
from server.demo import load_demo
from server.migrations import upgrade
from server.models import ChildRecord, Form, SubmissionDef
from server.registry.sync import SyncState
from server.registry.worker import SyncBusy, run_forever, run_once, sync_lock
from server.services import Services
from sync.synthetic_households import SyntheticHousehold, generate_household, read_villages
from sync.xform import primary_instance
from tests.registry.helpers import TODAY, load_households


def _pending(services: Services) -> int:
    with services.database.unit_of_work() as db:
        return db.scalar(select(func.count()).select_from(SubmissionDef)
                         .where(SubmissionDef.sync_state == SyncState.PENDING)) or 0


def _wait_for(condition: object, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return True
        time.sleep(0.1)
    return False


def test_the_worker_loop_syncs_what_arrives_and_stops_when_told(services: Services) -> None:
    load_households(services, 12)
    with services.database.unit_of_work() as db:  # the demo may have synced: start fresh
        for version in db.scalars(select(SubmissionDef)):
            version.sync_state = SyncState.PENDING
    stop = threading.Event()
    passes: list[int] = []
    worker = threading.Thread(target=run_forever, kwargs={
        "engine": services.database.engine, "session_factory": services.database.sessions,
        "interval": 0.05, "stop": stop,
        "on_pass": lambda summary: passes.append(summary.attempted)})
    worker.start()
    try:
        assert _wait_for(lambda: _pending(services) == 0, 30)
    finally:
        stop.set()
        worker.join(timeout=30)
    assert not worker.is_alive()
    assert sum(passes) >= 12


def test_a_second_sync_is_refused_while_one_holds_the_lock(services: Services) -> None:
    if services.database.engine.dialect.name != "postgresql":
        pytest.skip("SQLite serialises the sync's write transactions itself: no lock to hold")
    load_households(services, 2)
    with sync_lock(services.database.engine), pytest.raises(SyncBusy):
        run_once(services.database.engine, services.database.sessions, wait=False)
    summary = run_once(services.database.engine, services.database.sessions, wait=False)
    assert summary.failed == 0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, Services, Path]]:
    """`diemtua serve` on a fresh embedded database, as `make serve` runs it."""
    env = {**os.environ, "DIEMTUA_DATA_DIR": str(tmp_path), "DIEMTUA_WORKERS": "1",
           "DIEMTUA_SYNC_INTERVAL": "1"}
    env.pop("DIEMTUA_DATABASE_URL", None)
    settings = load_settings(env)
    upgrade(settings.database_url)
    services = Services.from_settings(settings)
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-c", "from server.cli import main; main()", "serve",
         "--port", str(port)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    try:
        assert _wait_for(lambda: _healthy(url), 30), "the server did not start"
        yield url, services, tmp_path
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)
        services.database.dispose()


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/healthz", timeout=1) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def _visit_with_children(services: Services, village: int) -> SyntheticHousehold:
    """A consenting synthetic household of one demo village, shaped by the published form."""
    with services.database.unit_of_work() as db:
        form = db.scalars(select(Form).where(Form.xml_form_id == "household_screening")).one()
        assert form.current_def is not None
        template = primary_instance(form.current_def.xml)
    villages = read_villages(xlsforms.VILLAGES_CSV.read_text(encoding="utf-8"))
    return next(v for seed in range(50)
                for v in [generate_household(template, [villages[village]], seed, 0, TODAY)]
                if v.children)


def test_a_phone_is_answered_at_once_and_the_served_worker_syncs_its_household(
        served: tuple[str, Services, Path]) -> None:
    url, services, _ = served
    demo = load_demo(services, households=0, today=TODAY)
    phone = next(p for p in demo.phones if p.village == "T01")
    visit = _visit_with_children(services, village=0)
    response = requests.post(
        f"{url}/v1/key/{phone.token}/projects/{demo.project_id}/submission",
        files={"xml_submission_file": ("submission.xml", visit.xml, "text/xml")},
        headers={"X-OpenRosa-Version": "1.0"}, timeout=30)
    assert response.status_code == 201

    def synced() -> bool:
        with services.database.unit_of_work() as db:
            return bool(db.scalar(select(func.count()).select_from(ChildRecord)
                                  .where(ChildRecord.household_key == visit.instance_id)))

    assert _wait_for(synced, 30), "the worker beside the server never synced the household"
    assert _pending(services) == 0


def test_the_submission_request_itself_matches_nothing(services: Services,
                                                       client: FlaskClient) -> None:
    demo = load_demo(services, households=0, today=TODAY)
    phone = next(p for p in demo.phones if p.village == "T02")
    visit = _visit_with_children(services, village=1)
    response = client.post(
        f"/v1/key/{phone.token}/projects/{demo.project_id}/submission",
        data={"xml_submission_file": (io.BytesIO(visit.xml), "submission.xml", "text/xml")},
        headers={"X-OpenRosa-Version": "1.0"})
    assert response.status_code == 201
    with services.database.unit_of_work() as db:
        state = db.scalar(select(SubmissionDef.sync_state)
                          .where(SubmissionDef.instance_id == visit.instance_id))
        records = db.scalar(select(func.count()).select_from(ChildRecord))
    assert (state, records) == (SyncState.PENDING, 0)


def test_compose_runs_the_sync_in_its_own_service_with_the_apps_settings() -> None:
    import yaml

    compose = yaml.safe_load((Path(__file__).parents[2] / "docker-compose.yml").read_text())
    app, worker = compose["services"]["app"], compose["services"]["worker"]
    assert worker["command"] == ["diemtua", "sync", "worker"]
    assert worker["environment"] == app["environment"]
    assert app["environment"]["DIEMTUA_SYNC_IN_SERVER"] == "false"
    assert worker["depends_on"]["app"]["condition"] == "service_healthy"  # migrated first
    assert replace(load_settings({"DIEMTUA_SYNC_IN_SERVER": "false"})).sync_in_server is False
