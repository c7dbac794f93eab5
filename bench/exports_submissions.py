"""Export benchmark: a form's submissions as CSV zip, OData and XLSX, over real HTTP.

Stores N household visits of three children each (`bench/household.py`, the child_screening
form) in a fresh PostgreSQL database through the same operation a phone's POST uses (untimed),
starts the real server (`diemtua serve`, gunicorn), then downloads, as the site admin,
`submissions.csv.zip` (without attachment files: none were sent), the OData `Submissions`
table (every page, following `@odata.nextLink`) and `submissions.xlsx`, three runs each. Prints
each output's min–max seconds beside ODK Central's figures for the same shape of data, and the
growth of the server's resident memory (all workers) during the downloads; checks that every
output holds every submission.

    .venv/bin/python bench/exports_submissions.py            # 5,000 households
    .venv/bin/python bench/exports_submissions.py --smoke    # 50 households, for CI

The database: DIEMTUA_BENCH_DATABASE_URL, else postgresql://postgres@127.0.0.1:5432/
diemtua_bench_exports (dropped and created afresh).
"""

from __future__ import annotations

import argparse
import csv
import http.client
import io
import json
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from household import household_xml  # noqa: E402
from ingest import (  # noqa: E402
    FORM_XLSX,
    free_port,
    fresh_database,
    process_tree_rss_mib,
    wait_until_up,
)
from openpyxl import load_workbook  # noqa: E402
from sqlalchemy import text  # noqa: E402

from server.auth.principal import open_session  # noqa: E402
from server.config import load_settings  # noqa: E402
from server.migrations import upgrade  # noqa: E402
from server.operations.forms import create_form  # noqa: E402
from server.operations.projects import create_project  # noqa: E402
from server.operations.submissions import SubmissionContext, receive_submission  # noqa: E402
from server.operations.users import create_user  # noqa: E402
from server.services import Services  # noqa: E402
from sync.instance import parse_instance  # noqa: E402

DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/diemtua_bench_exports"
# ODK Central on the same shape of data (5,000 households of three children), measured
# elsewhere: seconds, min–max of its runs. Quoted, not measured here.
CENTRAL_SECONDS = {"csv.zip": (3.24, 3.69), "odata": (2.87, 2.91)}
GOAL = 3.0  # times faster than Central
BATCH = 250
NEXT_LINK = re.compile(rb'"@odata.nextLink":("(?:[^"\\]|\\.)*")')


@dataclass(frozen=True)
class Target:
    project_id: int
    form_id: str
    token: str


def store_households(env: dict[str, str], count: int, seed: int) -> Target:
    """A project, the published form, `count` visits as phones send them, and an admin's
    session token."""
    settings = load_settings(env)
    upgrade(settings.database_url)
    svc = Services.from_settings(settings)
    rng = random.Random(seed)
    with svc.database.unit_of_work() as db:
        project = create_project(db, "Xã Benchmark")
        form = create_form(db, svc.store, project.id, FORM_XLSX.read_bytes(), None,
                           publish=True, ignore_warnings=True)
        admin = create_user(db, "bench@xa.test", None, role="admin",
                            display_name="Cán bộ đo hiệu năng")
        token = open_session(db, admin.actor, 24).token
        assert form.current_def is not None and token is not None
        target = Target(project.id, form.xml_form_id, token)
        form_id, version = form.id, form.current_def.version
    context = SubmissionContext(None, "collect:bench00000000001", "bench/exports")
    for start in range(0, count, BATCH):
        with svc.database.unit_of_work() as db:
            form = db.get_one(type(form), form_id)
            for _ in range(start, min(count, start + BATCH)):
                _, xml = household_xml(rng, target.form_id, version, "house.jpg")
                receive_submission(db, svc.store, form, parse_instance(xml), xml, {}, context)
    if svc.database.engine.dialect.name == "postgresql":
        # A server that has received thousands of submissions has had them analysed by
        # autovacuum; a database filled a minute ago has not, and its planner guesses.
        with svc.database.engine.begin() as connection:
            connection.execute(text("ANALYZE"))
    svc.database.dispose()
    return target


@dataclass
class Download:
    seconds: float
    body: bytes
    peak_growth_mib: float
    server_cpu: float  # seconds of CPU the server spent: wall time is shared with what else runs


def process_tree_cpu_seconds(pid: int) -> float:
    """User and system CPU time of a process and all its descendants, so far."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    pending = [pid]
    while pending:
        current = pending.pop()
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
            for task in Path(f"/proc/{current}/task").iterdir():
                pending.extend(int(child) for child in (task / "children").read_text().split())
        except (OSError, IndexError, ValueError):
            continue
    return total / ticks


class MemoryWatch:
    """Samples the server's resident memory (all processes) while a download runs."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.before = process_tree_rss_mib(pid)
        self.peak = self.before
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, process_tree_rss_mib(self.pid))
            self._stop.wait(0.02)

    def __enter__(self) -> MemoryWatch:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, process_tree_rss_mib(self.pid))


def get(port: int, path: str, token: str) -> bytes:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    connection.request("GET", path, headers={"Authorization": f"Bearer {token}"})
    response = connection.getresponse()
    body = response.read()
    connection.close()
    if response.status != 200:
        raise RuntimeError(f"GET {path} answered {response.status}: {body[:300]!r}")
    return body


def odata_pages(port: int, path: str, token: str) -> bytes:
    """Every page of the table, as the bodies were received, one per line. The next page's
    link is read from the end of each body, where the feed writes it, as a streaming client
    reads it; the JSON is parsed after the clock stops (`odata_rows`)."""
    pages: list[bytes] = []
    next_path: str | None = path
    while next_path is not None:
        pages.append(get(port, next_path, token))
        found = NEXT_LINK.search(pages[-1][-4096:])
        link = urlsplit(json.loads(found.group(1))) if found else None
        next_path = None if link is None else f"{link.path}?{link.query}"
    return b"\n".join(pages)


def odata_rows(body: bytes) -> tuple[int, int | None]:
    return sum(len(json.loads(page)["value"]) for page in body.split(b"\n")), None


def timed(server_pid: int, fetch: Callable[[], bytes]) -> Download:
    cpu = process_tree_cpu_seconds(server_pid)
    with MemoryWatch(server_pid) as watch:
        started = time.perf_counter()
        body = fetch()
        seconds = time.perf_counter() - started
    return Download(seconds, body, watch.peak - watch.before,
                    process_tree_cpu_seconds(server_pid) - cpu)


def zip_rows(body: bytes, form_id: str) -> tuple[int, int | None]:
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        main = archive.read(f"{form_id}.csv").decode("utf-8")
        children = archive.read(f"{form_id}-child.csv").decode("utf-8")
    return (len(list(csv.reader(io.StringIO(main)))) - 1,
            len(list(csv.reader(io.StringIO(children)))) - 1)


def xlsx_rows(body: bytes) -> tuple[int, int | None]:
    book = load_workbook(io.BytesIO(body), read_only=True)
    counts = [sheet.max_row - 1 for sheet in book.worksheets[1:3]]  # type: ignore[operator]
    book.close()
    return counts[0], counts[1]


def check(label: str, found: tuple[int, int | None], households: int) -> None:
    """Every submission, and (where the output holds them) every child."""
    submissions, children = found
    if submissions != households or children not in (None, 3 * households):
        sys.exit(f"FAIL: {label} holds {submissions} submissions and {children} children, "
                 f"not {households} and {3 * households}")


def report(label: str, runs: list[Download], households: int, compare: bool) -> float:
    seconds = [run.seconds for run in runs]
    print(f"          {label} runs: {', '.join(f'{value:.2f}' for value in seconds)} s; server "
          f"CPU {', '.join(f'{run.server_cpu:.2f}' for run in runs)} s")
    growth = max(run.peak_growth_mib for run in runs)
    size = len(runs[-1].body) / 2**20
    line = (f"{label:<9} {min(seconds):6.2f}–{max(seconds):.2f} s  "
            f"{households / max(seconds):7.0f} submissions/s  {size:6.1f} MiB  "
            f"server memory +{growth:.0f} MiB")
    central = CENTRAL_SECONDS.get(label)
    if central is not None and compare:
        line += (f"  (Central {central[0]:.2f}–{central[1]:.2f} s: "
                 f"{central[0] / max(seconds):.1f}–{central[1] / min(seconds):.1f}× faster)")
    print(line, flush=True)
    return max(seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url",
                        default=os.environ.get("DIEMTUA_BENCH_DATABASE_URL", DEFAULT_PG))
    parser.add_argument("--households", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--workers", type=int, default=1,
                        help="gunicorn workers (default 1: one download at a time is measured, "
                             "and one warm-up download warms the process that serves it)")
    parser.add_argument("--smoke", action="store_true",
                        help="50 households: proves the benchmark runs, measures nothing")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--odata-top", type=int, default=None,
                        help="OData page size ($top); default: one page, as Central serves it "
                             "unasked (--smoke: 20, to follow nextLinks)")
    parser.add_argument("--outputs", default="csv.zip,odata,xlsx",
                        help="which outputs to time, comma-separated")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="diemtua-bench-exports-") as data_dir:
        run(args, Path(data_dir))


def run(args: argparse.Namespace, data_dir: Path) -> None:
    households = 50 if args.smoke else args.households
    top = args.odata_top or (20 if args.smoke else None)
    database_url = fresh_database(args.database_url)
    env = {**os.environ, "DIEMTUA_DATA_DIR": str(data_dir),
           "DIEMTUA_DATABASE_URL": database_url, "DIEMTUA_SECRET_KEY": "bench",
           "DIEMTUA_SYNC_IN_SERVER": "false"}
    env["DIEMTUA_WORKERS"] = str(args.workers)
    started = time.perf_counter()
    target = store_households(env, households, args.seed)
    print(f"database  {database_url.split('@')[-1]}")
    print(f"stored    {households} households, {3 * households} children in "
          f"{time.perf_counter() - started:.1f} s (not timed below)", flush=True)

    base = f"/v1/projects/{target.project_id}/forms/{target.form_id}"
    outputs: dict[str, Callable[[int], bytes]] = {
        "csv.zip": lambda port: get(port, f"{base}/submissions.csv.zip", target.token),
        "odata": lambda port: odata_pages(
            port, f"{base}.svc/Submissions" + (f"?%24top={top}" if top else ""), target.token),
        "xlsx": lambda port: get(port, f"{base}/submissions.xlsx", target.token),
    }
    port = free_port()
    log_path = data_dir / "server.log"
    with log_path.open("wb") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "server", "serve", "--port", str(port)],
            env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=log, start_new_session=True)
    results: dict[str, list[Download]] = {}
    peak = 0.0
    try:
        wait_until_up(port)
        idle = process_tree_rss_mib(server.pid)
        print(f"server    {args.workers} worker(s), idle {idle:.0f} MiB; each output downloaded "
              f"once untimed (warm-up), then {args.runs} timed runs", flush=True)
        for label in args.outputs.split(","):
            fetch = outputs[label]
            fetch(port)
            results[label] = [timed(server.pid, lambda f=fetch: f(port))  # type: ignore[misc]
                              for _ in range(args.runs)]
            peak = max(peak, *(idle + run.peak_growth_mib for run in results[label]))
    except Exception:
        print(log_path.read_text(errors="replace")[-3000:], file=sys.stderr)
        raise
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)

    checks: dict[str, Callable[[bytes], tuple[int, int | None]]] = {
        "csv.zip": lambda body: zip_rows(body, target.form_id),
        "odata": odata_rows,
        "xlsx": xlsx_rows,
    }
    for label, runs in results.items():
        check(label, checks[label](runs[-1].body), households)
    compare = households == 5000
    slowest = {label: report(label, runs, households, compare)
               for label, runs in results.items()}
    print(f"memory    server peak {peak:.0f} MiB (idle {idle:.0f} MiB)")
    ratios = {label: CENTRAL_SECONDS[label][0] / slowest[label]
              for label in CENTRAL_SECONDS if label in slowest}
    if not compare:
        print(f"goal      not judged: Central's figures are for 5,000 households, not "
              f"{households}")
    elif ratios:
        verdict = "met" if min(ratios.values()) >= GOAL else "NOT met"
        shown = ", ".join(f"{label} {ratio:.1f}×" for label, ratio in ratios.items())
        print(f"goal      ≥ {GOAL:.0f}× faster than Central, our slowest run against its "
              f"fastest: {verdict} ({shown})")


if __name__ == "__main__":
    main()
