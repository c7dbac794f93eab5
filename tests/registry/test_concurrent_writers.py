"""Two writers at once: an import committing its batches while phones' submissions are synced.

SQLite has one writer at a time; a writer that finds the lock taken waits (busy timeout) and
tries again (`server.db._begin_immediate`) instead of failing with "database is locked".
PostgreSQL writers only meet on the project's child-number row, held for one batch at most.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import func, select, text

from server import db as server_db
from server.db import Database
from server.models import Child, ChildMembership, ChildRecord, Project, SubmissionDef
from server.registry import importer
from server.registry.importer import Outcome, import_file
from server.registry.sync import PROJECT_LOCK_CLASS, SyncState, sync_pending
from server.services import Services
from tests.registry.helpers import load_households
from tests.registry.import_helpers import csv_bytes

FAMILY = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Vũ", "Đặng", "Bùi"]
MIDDLE = ["Văn", "Thị", "Hữu", "Minh", "Ngọc"]
GIVEN = ["An", "Bình", "Châu", "Dũng", "Giang", "Hà", "Khánh", "Linh", "Mai", "Nam", "Phúc"]


def _rows(count: int) -> list[dict[str, Any]]:
    """``count`` children, two to a household, spread over the demo's villages."""
    return [{"record_id": f"C{n}", "submission_id": f"H{n // 2}", "village": f"T0{n % 6 + 1}",
             "full_name": f"{FAMILY[n % 8]} {MIDDLE[n // 8 % 5]} {GIVEN[n // 40 % 11]}",
             "sex": "Nam" if n % 2 else "Nữ", "dob": f"20{10 + n % 12}-{n % 12 + 1:02d}-"
             f"{n % 27 + 1:02d}", "mother_name": f"{FAMILY[n // 3 % 8]} Thị {GIVEN[n % 11]}"}
            for n in range(count)]


def _in_thread(work: Callable[[], Any], errors: list[BaseException]) -> threading.Thread:
    def run() -> None:
        try:
            work()
        except BaseException as exc:  # reported by the test, not lost in the thread
            errors.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def test_a_sqlite_writer_waits_for_a_lock_held_past_its_busy_timeout(
        database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    if not database_url.startswith("sqlite"):
        pytest.skip("SQLite's single writer lock")
    monkeypatch.setattr(server_db, "BUSY_TIMEOUT_MS", 50)
    holder = sqlite3.connect(database_url.removeprefix("sqlite:///"), isolation_level=None,
                             check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")  # another process's long write transaction
    release = threading.Timer(0.8, holder.execute, ["COMMIT"])
    release.start()
    database = Database(database_url)
    started = time.monotonic()
    try:
        with database.unit_of_work() as session:
            session.execute(text("UPDATE projects SET name = name"))
    finally:
        release.join()
        holder.close()
        database.dispose()
    assert time.monotonic() - started >= 0.7  # it waited for the holder, then wrote


def test_an_import_committing_batches_and_the_sync_both_finish(
        services: Services, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(importer, "BATCH_ROWS", 40)
    # SQLite: a lock held longer than the busy handler waits makes writers try again.
    monkeypatch.setattr(server_db, "BUSY_TIMEOUT_MS", 20)
    database = Database(services.settings.database_url)
    load_households(services, 30)  # the phones' visits, pending sync
    with database.unit_of_work() as session:
        project_id = session.scalars(select(Project.id).order_by(Project.id)).first()
    assert project_id is not None
    data = csv_bytes(_rows(400))
    reports: list[Any] = []
    errors: list[BaseException] = []

    imported_all = threading.Event()

    def run_import() -> None:
        try:
            with database.unit_of_work() as session:
                reports.append(import_file(session, project_id, data, source="so-xa",
                                           commit_batches=True))
        finally:
            imported_all.set()

    def run_sync() -> None:  # as the worker loop does: again while there may be work
        while True:
            importing = not imported_all.is_set()
            if not sync_pending(database.sessions).attempted and not importing:
                return
            time.sleep(0.05)

    threads = [_in_thread(run_import, errors), _in_thread(run_sync, errors)]
    for thread in threads:
        thread.join(120)
    database.dispose()
    assert errors == []
    assert reports[0].count(Outcome.REFUSED) == 0
    with services.database.unit_of_work() as session:
        states: dict[str, int] = {}
        for state, count in session.execute(select(SubmissionDef.sync_state, func.count())
                                            .group_by(SubmissionDef.sync_state)):
            states[state] = count
        imported = session.scalar(
            select(func.count()).select_from(ChildRecord)
            .join(ChildMembership, ChildMembership.record_id == ChildRecord.id)
            .where(ChildRecord.source == "import"))
    assert states == {SyncState.DONE: 30}
    assert imported == 400


def test_an_import_stopped_after_some_batches_is_finished_by_importing_again(
        services: Services, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(importer, "BATCH_ROWS", 40)
    load_households(services, 0)
    with services.database.unit_of_work() as session:
        project_id = session.scalars(select(Project.id).order_by(Project.id)).first()
    assert project_id is not None
    data = csv_bytes(_rows(200))
    placed = 0
    real_place_batch = importer._place_batch

    def crash_after_two_batches(*args: Any) -> None:
        nonlocal placed
        if placed == 2:
            raise RuntimeError("the machine went down")
        placed += 1
        real_place_batch(*args)

    monkeypatch.setattr(importer, "_place_batch", crash_after_two_batches)
    with pytest.raises(RuntimeError), services.database.unit_of_work() as session:
        import_file(session, project_id, data, source="so-xa", commit_batches=True)
    monkeypatch.setattr(importer, "_place_batch", real_place_batch)
    with services.database.unit_of_work() as session:
        again = import_file(session, project_id, data, source="so-xa", commit_batches=True)
    with services.database.unit_of_work() as session:
        stored = session.scalar(select(func.count()).select_from(ChildRecord))
        numbers = session.scalar(select(Project.next_child_number)
                                 .where(Project.id == project_id))
        children = session.scalar(select(func.count()).select_from(Child)
                                  .where(Child.project_id == project_id))
    done_before = again.count(Outcome.ALREADY_IMPORTED)
    assert 80 <= done_before < 200  # the two committed batches (households are never split)
    assert stored == 200
    # Children are numbered 1, 2, 3…: no number was lost to the batches' reservations.
    assert numbers == (children or 0) + 1


def test_a_sync_run_leaves_a_commune_another_run_holds_to_that_run(
        services: Services) -> None:
    if not services.settings.database_url.startswith("postgresql"):
        pytest.skip("PostgreSQL's advisory locks (SQLite has one writer anyway)")
    load_households(services, 6)
    with services.database.unit_of_work() as session:
        project_id = session.scalars(select(Project.id).order_by(Project.id)).first()
    with services.database.engine.connect() as other_run:  # holds the commune, mid-transaction
        assert other_run.scalar(text("SELECT pg_try_advisory_xact_lock(:kind, :project)"),
                                {"kind": PROJECT_LOCK_CLASS, "project": project_id})
        skipped = sync_pending(services.database.sessions)
        other_run.rollback()
    synced = sync_pending(services.database.sessions)
    assert (skipped.attempted, skipped.records) == (0, 0)
    assert synced.submissions == 6 and synced.failed == 0


def test_two_communes_lists_imported_at_once_both_go_in_whole(
        services: Services, monkeypatch: pytest.MonkeyPatch) -> None:
    """README "Importing the lists a commune already has": a province's lists, one import per
    commune, several at once (side by side on PostgreSQL, taking turns on SQLite)."""
    from server.operations.projects import create_project

    monkeypatch.setattr(importer, "BATCH_ROWS", 40)
    monkeypatch.setattr(server_db, "BUSY_TIMEOUT_MS", 20)
    database = Database(services.settings.database_url)
    with database.unit_of_work() as session:
        projects = [create_project(session, name, commune_code=code).id
                    for name, code in (("Xã Đông", "00101"), ("Xã Tây", "00102"))]
    data = csv_bytes(_rows(300))
    reports: dict[int, Any] = {}
    errors: list[BaseException] = []

    def run_import(project_id: int) -> Callable[[], None]:
        def work() -> None:
            with database.unit_of_work() as session:
                reports[project_id] = import_file(session, project_id, data, source="so-xa",
                                                  create_villages=True, commit_batches=True)
        return work

    threads = [_in_thread(run_import(project_id), errors) for project_id in projects]
    for thread in threads:
        thread.join(120)
    database.dispose()
    assert errors == []
    with services.database.unit_of_work() as session:
        for project_id in projects:
            assert reports[project_id].count(Outcome.REFUSED) == 0
            placed = session.scalar(
                select(func.count()).select_from(ChildRecord)
                .join(ChildMembership, ChildMembership.record_id == ChildRecord.id)
                .where(ChildRecord.project_id == project_id))
            numbers = sorted(session.scalars(select(Child.number)
                                             .where(Child.project_id == project_id)))
            assert placed == 300
            assert numbers == list(range(1, len(numbers) + 1))  # each commune's own, no gap
