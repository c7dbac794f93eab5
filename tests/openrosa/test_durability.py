"""A submission is stored whole or not at all, whatever fails and whenever the server dies.

Collect retries a submission that did not get 201 with the identical XML and files, so the
server's promise is: after any failure, nothing half-stored, and the retry completes it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import random
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, BinaryIO

import pytest
import requests
from sqlalchemy import func, select

from server import create_app
from server.config import Settings
from server.models import Blob, Submission, SubmissionAttachment, SubmissionDef
from server.services import Services
from server.storage import BlobStore, StorageError
from tests.conftest import LiveServer, new_instance_id
from tests.openrosa.checks import assert_created
from tests.openrosa.conftest import Phone, two_photos_xml
from tests.openrosa.wire import (
    DEVICE_ID,
    collect_headers,
    multipart,
    response_message,
    submission_parts,
)

ROOT = Path(__file__).resolve().parents[2]


def photo(seed: int, size: int = 2048) -> bytes:
    return random.Random(seed).randbytes(size)


class FailingAfterFirstPut:
    """The real store, until the second write: then the disk is "full"."""

    def __init__(self, inner: BlobStore) -> None:
        self.inner = inner
        self.puts = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def put(self, key: str, stream: BinaryIO, size: int, content_type: str) -> None:
        self.puts += 1
        if self.puts > 1:
            raise StorageError("no space left on device")
        self.inner.put(key, stream, size, content_type)


def count(services: Services, model: Any) -> int:
    with services.database.unit_of_work() as db:
        return db.scalar(select(func.count()).select_from(model)) or 0


def test_storage_failure_mid_submission_stores_nothing_and_the_retry_completes(
        services: Services, two_photos_phone: Phone) -> None:
    failing = FailingAfterFirstPut(services.store)
    broken_app = create_app({"services": dataclasses.replace(services, store=failing),
                             "TESTING": True})
    broken = dataclasses.replace(two_photos_phone, client=broken_app.test_client())
    instance_id = new_instance_id()
    xml = two_photos_xml(instance_id, "Hà Văn Sáu")
    files = {"front.jpg": photo(1), "back.jpg": photo(2)}

    response = broken.submit(xml, files)
    assert response.status_code == 500
    assert response.headers["Content-Type"] == "text/xml; charset=utf-8"
    nature, text = response_message(response.data)
    assert nature == "error" and "nothing was saved" in text
    assert failing.puts == 2
    assert count(services, Submission) == count(services, SubmissionDef) == 0
    assert count(services, Blob) == 0

    assert_created(two_photos_phone.submit(xml, files))
    assert_complete(services, {instance_id: files})


def test_unique_key_collision_is_received_again_as_a_resubmission(
        monkeypatch: pytest.MonkeyPatch, services: Services, two_photos_phone: Phone) -> None:
    """Another request stored the same instanceID between our look-up and our insert: the
    real unique constraint fires, the route rolls back and receives once more → 201."""
    import server.operations.submissions as ingest

    instance_id = new_instance_id()
    xml = two_photos_xml(instance_id, "Lò Văn Pó")
    files = {"front.jpg": photo(3), "back.jpg": photo(4)}
    assert_created(two_photos_phone.submit(xml, files))

    real = ingest._find_version
    calls: list[str] = []

    def blind_once(db: Any, form: Any, wanted: str) -> SubmissionDef | None:
        calls.append(wanted)
        return None if len(calls) == 1 else real(db, form, wanted)

    monkeypatch.setattr(ingest, "_find_version", blind_once)
    assert_created(two_photos_phone.submit(xml, files))
    assert len(calls) == 2
    assert count(services, Submission) == count(services, SubmissionDef) == 1
    assert_complete(services, {instance_id: files})

    calls.clear()
    conflicting = two_photos_phone.submit(two_photos_xml(instance_id, "Lò Văn Pó (khác)"), files)
    assert conflicting.status_code == 409


def test_identical_posts_at_the_same_moment_all_get_201_and_one_record(
        live_server: LiveServer, services: Services, two_photos_phone: Phone) -> None:
    instance_id = new_instance_id()
    files = {"front.jpg": photo(5, 200_000), "back.jpg": photo(6, 200_000)}
    body, content_type = multipart(submission_parts(two_photos_xml(instance_id, "Sùng A Páo"),
                                                    files))
    url = f"{live_server.url}{two_photos_phone.base}/submission?deviceID={DEVICE_ID}"
    start = threading.Barrier(6)

    def post(_: int) -> int:
        start.wait()
        return requests.post(url, data=body, timeout=30, headers={
            **collect_headers(), "Content-Type": content_type}).status_code

    with ThreadPoolExecutor(6) as pool:
        statuses = list(pool.map(post, range(6)))
    assert statuses == [201] * 6
    assert count(services, Submission) == count(services, SubmissionDef) == 1
    assert_complete(services, {instance_id: files})


def assert_complete(services: Services, expected: dict[str, dict[str, bytes]]) -> None:
    """Exactly one current version per instanceID, every expected file stored with its exact
    bytes, and every blob row backed by a file whose content matches its SHA-256."""
    with services.database.unit_of_work() as db:
        submissions = db.scalars(select(Submission)).all()
        assert sorted(s.instance_id for s in submissions) == sorted(expected)
        for submission in submissions:
            [version] = submission.versions
            stored = {a.name: a.blob_id for a in db.scalars(select(SubmissionAttachment).where(
                SubmissionAttachment.submission_def_id == version.id))}
            files = expected[submission.instance_id]
            assert set(stored) == set(files)
            for name, blob_id in stored.items():
                blob = db.get(Blob, blob_id)
                assert blob is not None, (submission.instance_id, name)
                assert blob.sha256 == hashlib.sha256(files[name]).hexdigest()
        for blob in db.scalars(select(Blob)):
            data = services.store.read(blob.sha256)
            assert hashlib.sha256(data).hexdigest() == blob.sha256 and len(data) == blob.size


def blob_files_are_whole(root: Path) -> list[Path]:
    """Every file stored under a blob name holds exactly those bytes; returns the temporary
    files a killed write left behind (never referenced by any row)."""
    leftovers = []
    for path in root.rglob("*"):
        if not path.is_file():
            continue
        if path.name.startswith("."):
            leftovers.append(path)
            continue
        assert hashlib.sha256(path.read_bytes()).hexdigest() == path.name, path
    return leftovers


class ServerProcess:
    """`python -m tests.openrosa.serve` on the test's database and data folder."""

    def __init__(self, settings: Settings) -> None:
        env = {**os.environ, "DIEMTUA_DATA_DIR": str(settings.data_dir),
               "DIEMTUA_DATABASE_URL": settings.database_url,
               "DIEMTUA_SECRET_KEY": settings.secret_key, "PYTHONPATH": str(ROOT)}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.openrosa.serve"], cwd=ROOT, env=env,
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        self._url: str | None = None

    @property
    def url(self) -> str:
        """Waits until the server listens."""
        if self._url is None:
            assert self.process.stdout is not None
            port = self.process.stdout.readline().strip()
            assert port.isdigit(), f"the server did not start (exit {self.process.poll()})"
            self._url = f"http://127.0.0.1:{port}"
        return self._url

    def kill(self) -> bool:
        """SIGKILL — no clean-up, no flush, no goodbye; whether it was still running."""
        running = self.process.poll() is None
        if running:
            self.process.kill()
        self.process.wait(timeout=10)
        return running


@pytest.mark.slow
def test_server_killed_at_random_moments_loses_nothing_and_resends_complete_it(
        services: Services, two_photos_phone: Phone) -> None:
    """Five SIGKILLs at random moments while phones send; each time the server restarts and
    the phones re-send what did not get 201 (everything again once nothing is left, as a
    phone unsure of its last upload would). Then: one whole record per instanceID."""
    rng = random.Random(20261129)
    expected = {new_instance_id(): {"front.jpg": photo(2 * i, 100_000),
                                    "back.jpg": photo(2 * i + 1, 100_000)}
                for i in range(40)}
    bodies = {instance_id: multipart(submission_parts(two_photos_xml(instance_id, f"Hộ {n}"),
                                                      files))
              for n, (instance_id, files) in enumerate(expected.items())}
    path = f"{two_photos_phone.base}/submission?deviceID={DEVICE_ID}"
    pending, kills, rounds = list(expected), 0, 0
    while pending or kills < 5:
        rounds += 1
        assert rounds <= 15, f"{len(pending)} never completed; {kills} kills landed"
        landed = _shoot_at(ServerProcess(services.settings), pending or list(expected),
                           bodies, path, rng.uniform(0.05, 0.6) if kills < 5 else None)
        kills += landed.kills
        pending = landed.pending
    assert_complete(services, expected)
    # A write killed mid-way may leave a `.incoming-*` temporary file: never referenced, never
    # under a blob's name (the store renames only complete files), so nothing half-stored.
    blob_files_are_whole(Path(services.settings.data_dir) / "blobs")


@dataclasses.dataclass
class Round:
    kills: int
    pending: list[str]


def _shoot_at(server: ServerProcess, instance_ids: list[str],
              bodies: dict[str, tuple[bytes, str]], path: str, kill_after: float | None
              ) -> Round:
    """Send these submissions from three phones at once, SIGKILL the server after
    `kill_after` seconds; which did not get their 201."""
    try:
        base = server.url
    except BaseException:
        server.kill()
        raise
    landed: list[bool] = []
    timer = threading.Timer(kill_after or 0, lambda: landed.append(server.kill()))
    if kill_after is not None:
        timer.start()

    def send(instance_id: str) -> tuple[str, int | None]:
        body, content_type = bodies[instance_id]
        try:
            return instance_id, requests.post(
                f"{base}{path}", data=body, timeout=10,
                headers={**collect_headers(), "Content-Type": content_type}).status_code
        except requests.RequestException:
            return instance_id, None

    with ThreadPoolExecutor(3) as pool:
        results = dict(pool.map(send, instance_ids))
    timer.cancel()
    if timer.is_alive():
        timer.join()
    server.kill()
    return Round(sum(landed), [iid for iid, status in results.items() if status != 201])
