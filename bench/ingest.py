"""Ingest benchmark: N Collect-like clients posting household submissions over loopback.

Starts the real server (`diemtua serve`, gunicorn) on PostgreSQL (or SQLite with
--database-url sqlite:///…), publishes the household form, then lets each client do what ODK
Collect does: one HEAD, then multipart POSTs of a household (three children, Vietnamese text)
with a photo. Bounded in time and count; prints accepted submissions/s, p50/p99 latency and the
server's memory, and checks that every accepted submission is in the database.

    .venv/bin/python bench/ingest.py --clients 4 --seconds 20
"""

from __future__ import annotations

import argparse
import http.client
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from sqlalchemy import create_engine, func, select, text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from household import household_xml  # noqa: E402

from server.config import load_settings, normalise_database_url  # noqa: E402
from server.migrations import upgrade  # noqa: E402
from server.models import FormAssignment, Submission  # noqa: E402
from server.operations.forms import create_form  # noqa: E402
from server.operations.projects import create_project  # noqa: E402
from server.operations.users import create_app_user  # noqa: E402
from server.services import Services  # noqa: E402

# The small household form the generated instances fill (household.py), kept with the tests.
FORM_XLSX = ROOT / "tests" / "fixtures" / "real-clients" / "child_screening.xlsx"
DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/diemtua_bench"


@dataclass
class ClientStats:
    latencies: list[float] = field(default_factory=list)
    accepted: int = 0
    refused: dict[int, int] = field(default_factory=dict)
    error: str | None = None


def fresh_database(url: str) -> str:
    url = normalise_database_url(url)
    if url.startswith("sqlite"):
        Path(url.removeprefix("sqlite:///")).unlink(missing_ok=True)
        return url
    base, _, name = url.rpartition("/")
    admin = create_engine(f"{base}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return url


def demo_services(database_url: str | None, prefix: str, today: date) -> tuple[Services, str]:
    """A fresh, migrated database (SQLite in a temporary folder unless a URL is given) holding
    the demo commune without households, and the services on it; also the URL used."""
    from server.demo import load_demo

    data_dir = Path(tempfile.mkdtemp(prefix=prefix))
    url = fresh_database(database_url or f"sqlite:///{data_dir / 'bench.sqlite3'}")
    settings = load_settings({"DIEMTUA_DATA_DIR": str(data_dir), "DIEMTUA_DATABASE_URL": url,
                              "DIEMTUA_SECRET_KEY": "bench"})
    upgrade(settings.database_url)
    svc = Services.from_settings(settings)
    load_demo(svc, households=0, today=today)
    return svc, url


def prepare(env: dict[str, str]) -> tuple[int, str, str, str]:
    """Project, published form and an assigned app user; returns ids and the key token."""
    settings = load_settings(env)
    upgrade(settings.database_url)
    svc = Services.from_settings(settings)
    with svc.database.unit_of_work() as session:
        project = create_project(session, "Xã Benchmark")
        form = create_form(session, svc.store, project.id, FORM_XLSX.read_bytes(), None,
                           publish=True, ignore_warnings=True)
        app_user = create_app_user(session, project.id, "Trưởng thôn 1", villages=["thon1"])
        session.add(FormAssignment(form_id=form.id, actor_id=app_user.actor_id))
        assert form.current_def is not None and app_user.token is not None
        ids = (project.id, form.xml_form_id, form.current_def.version, app_user.token)
    svc.database.dispose()
    return ids


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until_up(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/healthz")
            if connection.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("the server did not start")


def process_tree_rss_mib(pid: int) -> float:
    """Resident memory of the gunicorn master and all its workers."""
    total_kib = 0
    pending = [pid]
    while pending:
        current = pending.pop()
        try:
            status = Path(f"/proc/{current}/status").read_text()
            total_kib += int(next(line.split()[1] for line in status.splitlines()
                                  if line.startswith("VmRSS:")))
            for task in Path(f"/proc/{current}/task").iterdir():
                children = (task / "children").read_text().split()
                pending.extend(int(child) for child in children)
        except (OSError, StopIteration):
            continue
    return total_kib / 1024


def process_tree_cpu_seconds(pid: int) -> float:
    """CPU time (user + system) used so far by the gunicorn master and all its workers.

    On a shared machine the wall-clock figures move with everything else running; the CPU
    the server spends per submission is what a change to the ingest path changes."""
    ticks, pending = 0, [pid]
    while pending:
        current = pending.pop()
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            ticks += int(fields[11]) + int(fields[12])  # utime, stime
            for task in Path(f"/proc/{current}/task").iterdir():
                pending.extend(int(child) for child in (task / "children").read_text().split())
        except (OSError, IndexError, ValueError):
            continue
    return ticks / os.sysconf("SC_CLK_TCK")


def multipart(xml: bytes, photo_name: str, photo: bytes, boundary: str) -> list[bytes]:
    return [
        (f"--{boundary}\r\nContent-Disposition: form-data; name=\"xml_submission_file\"; "
         f"filename=\"household.xml\"\r\nContent-Type: text/xml\r\n\r\n").encode(),
        xml,
        (f"\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"{photo_name}\"; "
         f"filename=\"{photo_name}\"\r\nContent-Type: image/jpeg\r\n\r\n").encode(),
        photo,
        f"\r\n--{boundary}--\r\n".encode(),
    ]


def run_client_safely(*args: object) -> None:
    """A client that dies must fail the run, not quietly lower the figure."""
    stats = args[-1]
    assert isinstance(stats, ClientStats)
    try:
        run_client(*args)  # type: ignore[arg-type]
    except Exception as exc:
        stats.error = f"{type(exc).__name__}: {exc}"


def run_client(index: int, port: int, path: str, form: tuple[str, str], photo: bytes,
               stop_at: float, budget: list[int], lock: threading.Lock,
               stats: ClientStats) -> None:
    rng = random.Random(1000 + index)
    device = f"collect:bench{index:011d}"
    headers = {"X-OpenRosa-Version": "1.0",
               "User-Agent": "org.odk.collect.android/v2026.2.0 bench"}
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    connection.request("HEAD", f"{path}?deviceID={device}", headers=headers)
    head = connection.getresponse()
    head.read()
    if head.status != 204:
        raise RuntimeError(f"HEAD /submission answered {head.status}")
    while time.monotonic() < stop_at:
        with lock:
            if budget[0] <= 0:
                return
            budget[0] -= 1
        photo_name = f"{int(time.time() * 1000)}{rng.randrange(1000)}.jpg"
        _, xml = household_xml(rng, form[0], form[1], photo_name)
        boundary = uuid.uuid4().hex
        # Every photo a phone takes is different: unique bytes, so none is deduplicated.
        parts = multipart(xml, photo_name, rng.randbytes(16) + photo, boundary)
        started = time.perf_counter()
        connection.putrequest("POST", f"{path}?deviceID={device}")
        for name, value in headers.items():
            connection.putheader(name, value)
        connection.putheader("Content-Type", f"multipart/form-data; boundary={boundary}")
        connection.putheader("Content-Length", str(sum(len(part) for part in parts)))
        connection.endheaders()
        for part in parts:
            connection.send(part)
        response = connection.getresponse()
        response.read()
        stats.latencies.append(time.perf_counter() - started)
        if response.status == 201:
            stats.accepted += 1
        else:
            stats.refused[response.status] = stats.refused.get(response.status, 0) + 1


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL",
                                                                 DEFAULT_PG))
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--max-requests", type=int, default=200_000)
    parser.add_argument("--workers", type=int, default=None,
                        help="gunicorn workers (default: the server's own default)")
    parser.add_argument("--photo-bytes", type=int, default=20_000)
    args = parser.parse_args()

    data_dir = Path(tempfile.mkdtemp(prefix="diemtua-bench-"))
    database_url = fresh_database(args.database_url)
    env = {**os.environ, "DIEMTUA_DATA_DIR": str(data_dir),
           "DIEMTUA_DATABASE_URL": database_url, "DIEMTUA_SECRET_KEY": "bench",
           # Ingest alone: the registry sync has its own benchmark (bench/registry_sync.py).
           "DIEMTUA_SYNC_IN_SERVER": "false"}
    if args.workers:
        env["DIEMTUA_WORKERS"] = str(args.workers)
    project_id, form_id, version, token = prepare(env)
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "server", "serve", "--port", str(port)],
        env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        wait_until_up(port)
        path = f"/v1/key/{token}/projects/{project_id}/submission"
        photo = random.Random(7).randbytes(args.photo_bytes)
        idle_rss = process_tree_rss_mib(server.pid)
        stop_at = time.monotonic() + args.seconds
        budget, lock = [args.max_requests], threading.Lock()
        stats = [ClientStats() for _ in range(args.clients)]
        threads = [
            threading.Thread(target=run_client_safely,
                             args=(i, port, path, (form_id, version), photo, stop_at, budget,
                                   lock, stats[i]))
            for i in range(args.clients)
        ]
        peak_rss = idle_rss
        cpu_before = process_tree_cpu_seconds(server.pid)
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        while any(thread.is_alive() for thread in threads):
            peak_rss = max(peak_rss, process_tree_rss_mib(server.pid))
            time.sleep(0.25)
        elapsed = time.perf_counter() - started
        server_cpu = process_tree_cpu_seconds(server.pid) - cpu_before
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)

    latencies = [value for client in stats for value in client.latencies]
    accepted = sum(client.accepted for client in stats)
    refused: dict[int, int] = {}
    for client in stats:
        for status, count in client.refused.items():
            refused[status] = refused.get(status, 0) + count
    engine = create_engine(database_url)
    with engine.connect() as connection:
        stored = connection.execute(select(func.count()).select_from(Submission)).scalar_one()
    engine.dispose()

    print(f"database          {database_url.split('@')[-1]}")
    print(f"clients           {args.clients}  (photo {args.photo_bytes} bytes, 3 children)")
    print(f"duration          {elapsed:.1f} s")
    print(f"requests          {len(latencies)}  accepted {accepted}  refused {refused or 0}")
    print(f"stored            {stored} submissions (must equal accepted)")
    if latencies:
        print(f"latency p50       {percentile(latencies, 0.50) * 1000:.1f} ms")
        print(f"latency p99       {percentile(latencies, 0.99) * 1000:.1f} ms")
        print(f"latency mean      {statistics.fmean(latencies) * 1000:.1f} ms")
    print(f"server memory     idle {idle_rss:.0f} MiB, peak {peak_rss:.0f} MiB (all workers)")
    if accepted:
        print(f"server CPU        {server_cpu / accepted * 1000:.2f} ms per accepted submission "
              f"(all workers; load average {os.getloadavg()[0]:.1f})")
    print(f"accepted/s        {accepted / elapsed:.1f}")
    errors = [client.error for client in stats if client.error]
    if errors:
        sys.exit(f"FAIL: a client died: {errors[0]}")
    if stored != accepted or refused or accepted == 0:
        sys.exit("FAIL: a submission was refused or lost, or none was accepted")


if __name__ == "__main__":
    main()
