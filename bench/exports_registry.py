"""Registry exports benchmark: the children list (CSV, XLSX) of a big commune, over real HTTP.

Builds a registry of N children spread over 50 villages, with categories and flags, directly
in a fresh PostgreSQL database by COPY (untimed: no submissions, no matching — the export
reads only the registry's tables), starts the real server (`diemtua serve`, gunicorn), then
downloads as the site admin `children.csv` and `children.xlsx`, and the indicator sheet when
the server has it. Prints seconds, children/s, size, the CPU seconds of the server and of its
database backends (the CSV is written by PostgreSQL), and the growth of the server's resident
memory (all processes, sampled every 20 ms) during each download, checks that every output
holds every current child, and ends with the goals: CSV ≤ 5 s, XLSX ≤ 60 s, the indicator
sheet ≤ 3 s and memory growth ≤ 100 MB for 500,000 children (docs/reports.md).

    .venv/bin/python bench/exports_registry.py                     # 500,000 children
    .venv/bin/python bench/exports_registry.py --smoke             # 1,000, for CI (< 60 s)
    .venv/bin/python bench/exports_registry.py --children 100000 --runs 3

Not `bench/exports.py`: the other benchmarks put `bench/` first on `sys.path`, where a module
`exports` would hide the `exports` package from them.

The database: DIEMTUA_BENCH_DATABASE_URL, else postgresql://postgres@127.0.0.1:5432/
diemtua_bench_registry (dropped and created afresh).
"""

from __future__ import annotations

import argparse
import http.client
import importlib.util
import io
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import time
import uuid
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import chain
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import text  # noqa: E402

from server.auth.principal import open_session  # noqa: E402
from server.config import load_settings  # noqa: E402
from server.db import Database  # noqa: E402
from server.migrations import upgrade  # noqa: E402
from server.models import Child, ChildCategoryEpisode, Flag, Project, Village  # noqa: E402
from server.operations.projects import create_project  # noqa: E402
from server.operations.users import create_user  # noqa: E402
from server.services import Services  # noqa: E402
from sync.categories import default_catalogue  # noqa: E402
from sync.vietnamese import fold  # noqa: E402


def _bench_module(name: str) -> Any:
    """A sibling benchmark's helpers, loaded by path: `bench/` never goes on `sys.path`."""
    spec = importlib.util.spec_from_file_location(f"bench_{name}", ROOT / "bench" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    saved = list(sys.path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    sys.path[:] = saved
    return module


_ingest = _bench_module("ingest")
MemoryWatch: Any = _bench_module("exports_submissions").MemoryWatch
free_port: Callable[[], int] = _ingest.free_port
fresh_database: Callable[[str], str] = _ingest.fresh_database
process_tree_rss_mib: Callable[[int], float] = _ingest.process_tree_rss_mib
wait_until_up: Callable[[int], None] = _ingest.wait_until_up

DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/diemtua_bench_registry"
VILLAGES = 50
GOALS = {"children.csv": 5.0, "children.xlsx": 60.0,  # seconds for 500,000 children
         "indicators": 3.0}
GOAL_CHILDREN = 500_000
GOAL_MEMORY_MIB = 100 * 1_000_000 / 2**20  # 100 MB
FAMILY = ("Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi",
          "Đỗ", "Hồ", "Ngô", "Dương", "Lý", "Lò", "Quàng", "Cầm", "Hà", "Triệu", "Giàng")
MIDDLE = ("Thị", "Văn", "Đức", "Ngọc", "Minh", "Thanh", "Hữu", "Quốc", "Thu", "Xuân", "")
GIVEN = ("Anh", "Bình", "Châu", "Dũng", "Giang", "Hà", "Hải", "Hạnh", "Hiếu", "Hoa", "Hùng",
         "Hương", "Khánh", "Lan", "Linh", "Long", "Mai", "Minh", "Nam", "Ngân", "Ngọc", "Nhung",
         "Phúc", "Phương", "Quân", "Quỳnh", "Sơn", "Tâm", "Thảo", "Thắng", "Thủy", "Trang",
         "Trung", "Tuấn", "Uyên", "Vân", "Việt", "Xuân", "Yến", "Ỷ", "Ợi")
SUPPORT = ("monthly_allowance", "health_insurance_free", "school_fee_exempt", "none",
           "dont_know", "")
CARE = ("both_parents", "mother_only", "father_only", "grandparent", "other_relative",
        "social_facility", "")
SCHOOL = ("in_preschool", "in_school", "dropped_out", "never_attended", "")
NOW = datetime(2026, 12, 1, 3, 0)


@dataclass(frozen=True)
class Target:
    project_id: int
    token: str
    children: int  # current ones (merged ids are not rows)


def _name(rng: random.Random) -> str:
    middle = rng.choice(MIDDLE)
    return " ".join(part for part in (rng.choice(FAMILY), middle, rng.choice(GIVEN)) if part)


def _dob(rng: random.Random) -> tuple[str, str]:
    day = datetime(2008, 1, 1) + timedelta(days=rng.randrange(18 * 365))
    kind = rng.random()
    if kind < 0.85:
        return day.date().isoformat(), "day"
    if kind < 0.95:
        return f"{day.year}-{day.month:02d}", "month"
    return str(day.year), "year"


def _child_rows(rng: random.Random, project_id: int, count: int, merged_every: int
                ) -> Iterator[dict[str, Any]]:
    survivor = ""
    for number in range(1, count + 1):
        name = _name(rng)
        dob, precision = _dob(rng)
        merged = number % merged_every == 0 and survivor
        reported = NOW - timedelta(days=rng.randrange(700), minutes=rng.randrange(1440))
        child = {
            "id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            "project_id": project_id, "number": number,
            "status": "merged" if merged else "active", "merged_into": survivor if merged else None,
            "created_at": reported, "updated_at": reported, "version": 1,
            "full_name": name, "name_folded": fold(name), "sex": rng.choice("MFFMU"),
            "dob": dob, "dob_precision": precision,
            "village_code": f"T{rng.randrange(1, VILLAGES + 1):02d}",
            "household_head": _name(rng), "mother_name": _name(rng), "father_name": _name(rng),
            "guardian_name": _name(rng) if rng.random() < 0.1 else "",
            "personal_id": f"0{rng.randrange(10**10, 10**11)}" if rng.random() < 0.6 else "",
            "vital_status": "active" if rng.random() < 0.97 else "moved_away",
            "school_status": rng.choice(SCHOOL),
            "support": " ".join(sorted({rng.choice(SUPPORT) for _ in range(2)} - {""})),
            "last_visit": (reported + timedelta(days=rng.randrange(60))).date().isoformat(),
            "death_date": None, "moved_date": None, "moved_to": "",
            "care_arrangement": rng.choice(CARE),
            "care_registered": rng.choice(("yes", "no", "dont_know", "")),
            "report_count": 1 + int(rng.random() < 0.2), "first_reported_at": reported,
        }
        survivor = survivor if merged else str(child["id"])
        yield child


def _episode_rows(rng: random.Random, children: list[tuple[str, bool]]
                  ) -> Iterator[dict[str, Any]]:
    codes = [c.code for c in default_catalogue()]
    weights = [8 if code in ("PLAN-POOR", "RISK", "HCDB-D", "HCDB-A") else 1 for code in codes]
    for child_id, _ in children:
        if rng.random() >= 0.3:
            continue
        for code in set(rng.choices(codes, weights, k=1 + int(rng.random() < 0.3))):
            opened = NOW - timedelta(days=rng.randrange(900))
            status = rng.choice(("provisional", "confirmed", "confirmed", "ended"))
            yield {"child_id": child_id, "code": code, "subcode": None, "status": status,
                   "urgent_signal": False, "confidential": rng.random() < 0.02,
                   "opened_at": opened, "updated_at": opened, "history": "[]",
                   "ended_at": opened + timedelta(days=90) if status == "ended" else None,
                   "plan_approved_at": None}


def _flag_rows(rng: random.Random, project_id: int, children: list[tuple[str, bool]]
               ) -> Iterator[dict[str, Any]]:
    for child_id, _ in children:
        if rng.random() >= 0.05:
            continue
        raised = NOW - timedelta(days=rng.randrange(30))
        yield {"project_id": project_id, "child_id": child_id,
               "code": rng.choice(("HCDB-A", "HCDB-B", "PLAN-POOR", "HCDB-L")),
               "kind": rng.choice(("new_special_circumstance", "urgent")), "deadline": None,
               "confidential": False, "status": rng.choice(("open", "acknowledged")),
               "record_id": None, "raised_at": raised, "acknowledged_by": None,
               "acknowledged_at": None, "closed_by": None, "closed_at": None,
               "close_reason": None, "note": None, "submission_def_id": None}


def _copy(database: Database, table: Any, rows: Iterator[dict[str, Any]]) -> int:
    """COPY rows into `table` (columns the rows name; the others take their defaults)."""
    count = 0
    connection = database.engine.raw_connection()
    try:
        driver = connection.driver_connection
        assert driver is not None
        first = next(rows, None)
        if first is None:
            return 0
        columns = list(first)
        with driver.cursor() as cursor, cursor.copy(
                f"COPY {table.name} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in chain([first], rows):
                copy.write_row([row[column] for column in columns])
                count += 1
        connection.commit()
    finally:
        connection.close()
    return count


def build_registry(env: dict[str, str], children: int, seed: int) -> Target:
    """A project of 50 villages, `children` children (about 1 % of them merged into the one
    before), their categories and flags, and a site admin's session token."""
    settings = load_settings(env)
    upgrade(settings.database_url)
    svc = Services.from_settings(settings)
    rng = random.Random(seed)
    with svc.database.unit_of_work() as db:
        project = create_project(db, "Xã Đo Hiệu Năng", commune_code="99999")
        admin = create_user(db, "bench@xa.test", None, role="admin",
                            display_name="Cán bộ đo hiệu năng")
        token = open_session(db, admin.actor, 24).token
        assert token is not None
        for number in range(1, VILLAGES + 1):
            name = f"Thôn Bản {number:02d}"
            db.add(Village(project_id=project.id, code=f"T{number:02d}", name=name,
                           name_folded=fold(name)))
        project_id = project.id
    made: list[tuple[str, bool]] = []

    def remember(rows: Iterator[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        for row in rows:
            made.append((row["id"], row["status"] == "active"))
            yield row

    _copy(svc.database, Child.__table__,
          remember(_child_rows(rng, project_id, children, merged_every=100)))
    current = [child for child in made if child[1]]
    _copy(svc.database, ChildCategoryEpisode.__table__, _episode_rows(rng, current))
    _copy(svc.database, Flag.__table__, _flag_rows(rng, project_id, current))
    with svc.database.unit_of_work() as db:
        db.get_one(Project, project_id).next_child_number = children + 1
    with svc.database.engine.connect() as connection:
        connection.execute(text("ANALYZE"))
        connection.commit()
    svc.database.dispose()
    return Target(project_id, token, len(current))


# --- downloads ---------------------------------------------------------------------------------


def process_tree_cpu_seconds(pid: int) -> float:
    """User and system CPU time of a process and its children (the gunicorn workers, the
    workbook writer), live or ended: on a shared machine wall-clock seconds also count the
    time others took the cores."""
    ticks, pending = 0, [pid]
    while pending:
        current = pending.pop()
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            # utime, stime, and cutime, cstime: a child the process has waited for (the
            # XLSX writer's, `exports.xlsx_book.write_book_in_child`) counts there.
            ticks += sum(int(field) for field in fields[11:15])
            for task in Path(f"/proc/{current}/task").iterdir():
                pending.extend(int(child) for child in (task / "children").read_text().split())
        except (OSError, IndexError, ValueError):
            continue
    return ticks / os.sysconf("SC_CLK_TCK")


def database_cpu_seconds(database: Database) -> dict[int, float]:
    """CPU seconds so far of each backend serving the bench database, when PostgreSQL runs on
    this machine: on PostgreSQL the CSV is written there (`exports.children_csv_sql`), not in
    the server's processes. Parallel workers come and go between two readings: not counted."""
    with database.engine.connect() as connection:
        pids = connection.execute(text(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid()")).scalars().all()
    return {pid: process_tree_cpu_seconds(pid) for pid in pids
            if Path(f"/proc/{pid}/stat").exists()}


class Watch(MemoryWatch):
    """The server's resident memory while a download runs (`bench/exports_submissions.py`),
    and the CPU time it spent."""

    def __enter__(self) -> Watch:
        self.cpu_before = process_tree_cpu_seconds(self.pid)
        super().__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        super().__exit__(*exc)
        self.cpu = process_tree_cpu_seconds(self.pid) - self.cpu_before


@dataclass
class Download:
    status: int
    seconds: float
    first_byte: float
    body: bytes
    growth_mib: float
    cpu: float  # the server's CPU seconds
    database_cpu: float  # its PostgreSQL backends' (`database_cpu_seconds`)


def download(port: int, path: str, token: str, server_pid: int, database: Database
             ) -> Download:
    backends = database_cpu_seconds(database)
    with Watch(server_pid) as watch:
        started = time.perf_counter()
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
        connection.request("GET", path, headers={"Authorization": f"Bearer {token}"})
        response = connection.getresponse()
        first_byte = time.perf_counter() - started
        body = response.read()
        seconds = time.perf_counter() - started
        connection.close()
    database_cpu = sum(cpu - backends.get(pid, 0.0)
                       for pid, cpu in database_cpu_seconds(database).items())
    return Download(response.status, seconds, first_byte, body, watch.peak - watch.before,
                    watch.cpu, database_cpu)


def csv_rows(body: bytes) -> int:
    # Names hold no line breaks: a line is a child, after the header.
    return body.count(b"\r\n") - 1


def xlsx_rows(body: bytes) -> int:
    """Rows of the children sheet (the second), counted in its XML without loading it."""
    with zipfile.ZipFile(io.BytesIO(body)) as book, book.open("xl/worksheets/sheet2.xml") as xml:
        count, tail = 0, b""
        while chunk := xml.read(1 << 20):
            count += len(re.findall(rb"<row ", tail + chunk))
            tail = chunk[-4:]
    return count - 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url",
                        default=os.environ.get("DIEMTUA_BENCH_DATABASE_URL", DEFAULT_PG))
    parser.add_argument("--children", type=int, default=GOAL_CHILDREN)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--smoke", action="store_true",
                        help="1,000 children: proves the benchmark runs, measures nothing")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--only", action="append", default=[],
                        choices=("children.csv", "children.xlsx", "indicators"),
                        help="download only this output (may repeat; default: all)")
    parser.add_argument("--sql", action="append", default=[],
                        help="SQL run on the bench database before the server starts "
                             "(e.g. an index to compare); may repeat")
    args = parser.parse_args()
    children = 1000 if args.smoke else args.children

    data_dir = Path(tempfile.mkdtemp(prefix="diemtua-bench-registry-"))
    database_url = fresh_database(args.database_url)
    env = {**os.environ, "DIEMTUA_DATA_DIR": str(data_dir),
           "DIEMTUA_DATABASE_URL": database_url, "DIEMTUA_SECRET_KEY": "bench",
           "DIEMTUA_SYNC_IN_SERVER": "false"}
    started = time.perf_counter()
    target = build_registry(env, children, args.seed)
    if args.sql:
        database = Database(database_url)
        with database.engine.begin() as connection:
            for statement in args.sql:
                connection.execute(text(statement))
            connection.execute(text("ANALYZE children"))
        database.dispose()
    print(f"database  {database_url.split('@')[-1]}")
    print(f"stored    {children} children ({target.children} current) in {VILLAGES} villages "
          f"in {time.perf_counter() - started:.1f} s (not timed below)", flush=True)
    for statement in args.sql:
        print(f"sql       {statement}")

    base = f"/v1/projects/{target.project_id}/registry"
    outputs: dict[str, tuple[str, Callable[[bytes], int] | None]] = {
        "children.csv": (f"{base}/children.csv", csv_rows),
        "children.xlsx": (f"{base}/children.xlsx", xlsx_rows),
        "indicators": (f"{base}/reports/indicators?period=2026-Q4", None)}
    outputs = {label: output for label, output in outputs.items()
               if not args.only or label in args.only}
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "server", "serve", "--port", str(port)],
        env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        start_new_session=True)
    results: dict[str, list[Download]] = {}
    database = Database(database_url)
    try:
        wait_until_up(port)
        print(f"server    idle {process_tree_rss_mib(server.pid):.0f} MiB (all processes); "
              f"{args.runs} run(s) of each output", flush=True)
        for label, (path, _) in outputs.items():
            runs = results[label] = []
            for _ in range(args.runs):
                runs.append(download(port, path, target.token, server.pid, database))
                if runs[-1].status != 200:
                    break
    finally:
        database.dispose()
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)

    failures = report(results, outputs, target, children, args.smoke)
    if failures:
        sys.exit("FAIL: " + "; ".join(failures))


def report(results: dict[str, list[Download]],
           outputs: dict[str, tuple[str, Callable[[bytes], int] | None]], target: Target,
           children: int, smoke: bool) -> list[str]:
    failures: list[str] = []
    verdicts: list[str] = []
    for label, runs in results.items():
        last = runs[-1]
        if last.status != 200:
            if label == "indicators":
                print(f"{label:<14} skipped: the server answered {last.status} "
                      f"({last.body[:80]!r})")
                continue
            failures.append(f"{label} answered {last.status}: {last.body[:200]!r}")
            continue
        count = outputs[label][1]
        if count is not None and (found := count(last.body)) != target.children:
            failures.append(f"{label} holds {found} children, not {target.children}")
        seconds = [run.seconds for run in runs]
        growth = max(run.growth_mib for run in runs)
        print(f"{label:<14} {min(seconds):7.2f}–{max(seconds):.2f} s  "
              f"{target.children / min(seconds):8.0f} children/s  first byte "
              f"{min(run.first_byte for run in runs):.2f} s  "
              f"{len(last.body) / 2**20:6.1f} MiB  server CPU {min(r.cpu for r in runs):.1f} s  "
              f"database CPU {min(r.database_cpu for r in runs):.1f} s  "
              f"memory +{growth:.0f} MiB", flush=True)
        goal = GOALS.get(label)
        if goal is not None:
            scaled = goal * children / GOAL_CHILDREN
            met = max(seconds) <= scaled and growth <= GOAL_MEMORY_MIB
            verdicts.append(f"{label} {'met' if met else 'NOT met'} (≤ {scaled:.2f} s at this "
                            f"size, ≤ {GOAL_MEMORY_MIB:.0f} MiB)")
    if verdicts and not smoke:
        print("goals     " + "; ".join(verdicts))
    return failures


if __name__ == "__main__":
    main()
