"""Outages in the middle of a working day: phones keep sending from several threads to a live
server while PostgreSQL goes away (its connections cut, new ones refused) or the blob disk
fills. Phones are told `503` with `Retry-After`, never `500`; every submission the server
acknowledged is stored once with its photos byte for byte; and the server recovers by itself
when the database or the disk comes back (README "Production", Outages; `server/outages.py`)."""

from __future__ import annotations

import errno
import hashlib
import os
import re
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests
from sqlalchemy import select

import server.storage.local as local_store
from server import create_app
from server.models import Blob, Submission, SubmissionAttachment, SubmissionDef
from server.outages import OUTAGES
from server.services import Services
from tests.conftest import PG_URL, new_instance_id
from tests.openrosa.conftest import (  # noqa: F401 - fixtures
    Phone,
    serving,
    two_photos_phone,
    two_photos_xml,
)
from tests.openrosa.wire import collect_headers

PHONES = 4
SENDS_PER_PHONE = 12


@pytest.fixture(autouse=True)
def fresh_outage_state() -> Iterator[None]:
    OUTAGES.reset()
    yield
    OUTAGES.reset()


class CuttableProxy:
    """A TCP relay in front of PostgreSQL that can be cut: `cut()` drops every open connection
    and refuses new ones, as a stopped database does; `restore()` lets connections through."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self.listener.getsockname()[1]
        self.down = threading.Event()
        self.open: set[socket.socket] = set()
        self.lock = threading.Lock()
        self.stopping = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.stopping:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if self.down.is_set():
                client.close()
                continue
            server = socket.create_connection(self.upstream)
            with self.lock:
                self.open.update((client, server))
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while chunk := source.recv(65536):
                sink.sendall(chunk)
        except OSError:
            pass
        finally:
            for end in (source, sink):
                self._close(end)

    def _close(self, end: socket.socket) -> None:
        with self.lock:
            self.open.discard(end)
        try:
            end.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        end.close()

    def cut(self) -> None:
        self.down.set()
        with self.lock:
            ends = list(self.open)
        for end in ends:
            self._close(end)

    def restore(self) -> None:
        self.down.clear()

    def close(self) -> None:
        self.stopping = True
        self.cut()
        self.listener.close()


@dataclass
class Load:
    """Phones sending in parallel, each resending a refused submission as Collect does. Each
    sends at least SENDS_PER_PHONE submissions and goes on until the outage is over, so the
    outage always meets phones at work, however fast the machine."""

    url: str
    token: str
    project_id: int
    acknowledged: dict[str, bytes] = field(default_factory=dict)
    sent: set[str] = field(default_factory=set)
    statuses: Counter[int] = field(default_factory=Counter)
    retry_after: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)
    at_work: threading.Semaphore = field(default_factory=lambda: threading.Semaphore(0))
    outage_over: threading.Event = field(default_factory=threading.Event)

    def phone(self, number: int) -> None:
        http = requests.Session()
        send = 0
        while send < SENDS_PER_PHONE or not self.outage_over.is_set():
            instance_id = new_instance_id()
            with self.lock:
                self.sent.add(instance_id)
            photo = f"phone {number} photo {send} ".encode() * 200
            self._send_until_stored(http, instance_id, photo)
            if send == 0:
                self.at_work.release()
            send += 1

    def _send_until_stored(self, http: requests.Session, instance_id: str, photo: bytes) -> None:
        xml = two_photos_xml(instance_id, f"Trẻ {instance_id[-6:]}")
        for _attempt in range(200):
            response = http.post(
                f"{self.url}/v1/key/{self.token}/projects/{self.project_id}/submission",
                headers=collect_headers(), timeout=30,
                files={"xml_submission_file": ("submission.xml", xml.encode(), "text/xml"),
                       "front.jpg": ("front.jpg", photo, "image/jpeg"),
                       "back.jpg": ("back.jpg", photo[::-1], "image/jpeg")})
            with self.lock:
                self.statuses[response.status_code] += 1
                if response.status_code == 503:
                    self.retry_after.add(response.headers.get("Retry-After", ""))
            if response.status_code == 201:
                with self.lock:
                    self.acknowledged[instance_id] = photo
                return
            assert response.status_code == 503, (response.status_code, response.text)
            time.sleep(0.05)  # Collect waits Retry-After; the test does not have a minute
        raise AssertionError(f"{instance_id} was never stored")

    def run_while(self, outage: Outage) -> None:
        threads = [threading.Thread(target=self.phone, args=(n,), daemon=True)
                   for n in range(PHONES)]
        for thread in threads:
            thread.start()
        for _ in threads:  # every phone has stored a submission: the outage meets them busy
            assert self.at_work.acquire(timeout=60)
        outage.happen()
        self.outage_over.set()
        for thread in threads:
            thread.join(timeout=120)
        assert not any(t.is_alive() for t in threads)


@dataclass
class Outage:
    """Something going away for a while once the phones are busy, then coming back."""

    begin: Callable[[], None]
    end: Callable[[], None]
    seconds: float = 1.5

    def happen(self) -> None:
        self.begin()
        time.sleep(self.seconds)
        self.end()


def assert_every_acknowledged_submission_is_stored_once(services: Services,
                                                         load: Load) -> None:
    with services.database.unit_of_work() as db:
        stored = Counter(db.scalars(select(Submission.instance_id)))
        photos = {(instance_id, name): sha for instance_id, name, sha in db.execute(
            select(Submission.instance_id, SubmissionAttachment.name, Blob.sha256)
            .join(SubmissionDef, SubmissionDef.submission_id == Submission.id)
            .join(SubmissionAttachment, SubmissionAttachment.submission_def_id == SubmissionDef.id)
            .join(Blob, Blob.id == SubmissionAttachment.blob_id))}
    assert len(load.acknowledged) >= PHONES * SENDS_PER_PHONE
    assert set(load.acknowledged) == load.sent
    for instance_id, photo in load.acknowledged.items():
        assert stored[instance_id] == 1, instance_id
        assert photos[(instance_id, "front.jpg")] == hashlib.sha256(photo).hexdigest()
        assert photos[(instance_id, "back.jpg")] == hashlib.sha256(photo[::-1]).hexdigest()
    assert not [i for i, n in stored.items() if n > 1]


@contextmanager
def live_app(services: Services) -> Iterator[str]:
    with serving(create_app({"services": services, "TESTING": True})) as url:
        yield url


def through(proxy: CuttableProxy, url: str) -> str:
    return re.sub(r"@[^/]+/", f"@127.0.0.1:{proxy.port}/", url, count=1)


@pytest.mark.skipif(not PG_URL, reason="stops PostgreSQL; the SQLite file has no server to stop")
def test_postgresql_going_away_under_load_is_503_and_loses_nothing(
        services: Services, two_photos_phone: Phone) -> None:  # noqa: F811
    url = services.settings.database_url
    host, port = re.search(r"@([^:/]+):(\d+)/", url).groups()  # type: ignore[union-attr]
    proxy = CuttableProxy((host, int(port)))
    behind = Services.from_settings(
        services.settings.with_overrides(database_url=through(proxy, url)))
    try:
        with live_app(behind) as base:
            load = Load(base, str(two_photos_phone.token), two_photos_phone.project_id)
            load.run_while(Outage(proxy.cut, proxy.restore))
            # Recovered alone: the same server, untouched, answers ready again.
            assert requests.get(f"{base}/readyz", timeout=10).status_code == 200
    finally:
        behind.database.dispose()
        proxy.close()

    assert load.statuses[503] > 0 and load.retry_after == {"60"}
    assert set(load.statuses) <= {201, 503}
    assert_every_acknowledged_submission_is_stored_once(services, load)


def test_the_blob_disk_filling_under_load_is_503_and_loses_nothing(
        services: Services, two_photos_phone: Phone,  # noqa: F811
        monkeypatch: pytest.MonkeyPatch) -> None:
    real_fsync = os.fsync
    full = threading.Event()

    def fsync_unless_full(fd: int) -> None:
        if full.is_set():
            raise OSError(errno.ENOSPC, "No space left on device")
        real_fsync(fd)

    monkeypatch.setattr(local_store.os, "fsync", fsync_unless_full)
    with live_app(services) as base:
        load = Load(base, str(two_photos_phone.token), two_photos_phone.project_id)
        load.run_while(Outage(full.set, full.clear))
        assert requests.get(f"{base}/readyz", timeout=10).status_code == 200

    assert load.statuses[503] > 0 and load.retry_after == {"60"}
    assert set(load.statuses) <= {201, 503}
    assert_every_acknowledged_submission_is_stored_once(services, load)
    # Nothing half-stored: every blob file on disk belongs to a stored attachment.
    with services.database.unit_of_work() as db:
        known = set(db.scalars(select(Blob.sha256)))
    on_disk = {p.name for p in Path(services.settings.data_dir).rglob("*")
               if p.is_file() and re.fullmatch(r"[0-9a-f]{64}", p.name)}
    assert on_disk <= known
    assert not list(Path(services.settings.data_dir).rglob(".incoming-*"))
