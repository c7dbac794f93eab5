"""Registry speed benchmark: the sync of phones' visits with one and two workers, and the import
of a province's children lists.

**Sync.** Loads the demo commune and ``--communes - 1`` more communes (each a project with the
household form published) into a fresh database, stores N synthetic household visits spread
over them through the real ingest operation (untimed), then times the sync work (parse, map,
store records, derive categories, match through the indexed blocking keys, write edges / review
rows / flags, recompute views) done by ``--workers`` processes side by side, each running
`server.registry.sync.sync_pending` as a ``diemtua sync worker`` does. A second pass
re-surveys the same households (new instance ids, every other household's names typed without
diacritics), so the linking path is measured on a registry that already holds the children.
Two workers share the work by commune (`server.registry.sync.ProjectLocks`), so they only help
with several communes, and on PostgreSQL (SQLite has one writer).

**Import.** ``--import-rows N`` writes N children of ``--import-communes`` communes with the
project's generator (`bench/synthetic.py`: households, twins, parents, dates of birth), one
CSV list per commune, and times their first import (``diemtua registry import``'s path,
committed a batch at a time) into a fresh database. ``--province`` is 500,000 children of
50 communes.

Prints records/s for each run, the load average beside each figure (the machine is shared) and
the peak RSS (and its growth) of the processes that did the work; first, the CPU time of a
fixed piece of plain Python, so that figures from machines of different speed compare; last,
each figure against its goal (README "Benchmarks": met, or NOT met).

    .venv/bin/python bench/registry_sync.py              # SQLite, 1000 households per pass
    .venv/bin/python bench/registry_sync.py \\
        --database-url postgresql://postgres@127.0.0.1:5432/diemtua_bench --workers 1 2
    .venv/bin/python bench/registry_sync.py --households 0 --import-rows 50000 \\
        --database-url postgresql://postgres@127.0.0.1:5432/diemtua_bench
    .venv/bin/python bench/registry_sync.py --households 0 --province --import-jobs 2 \\
        --database-url …
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from ingest import demo_services  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

import xlsforms  # noqa: E402
from server.config import load_settings  # noqa: E402
from server.demo import FOLLOWUP, SCREENING, _published_form  # noqa: E402
from server.models import Child, Flag, Form, Project, SubmissionDef, User  # noqa: E402
from server.operations.projects import create_project  # noqa: E402
from server.operations.submissions import SubmissionContext, receive_submission  # noqa: E402
from server.registry.importer import Outcome, import_file  # noqa: E402
from server.registry.sync import sync_pending  # noqa: E402
from server.services import Services  # noqa: E402
from sync.instance import parse_instance  # noqa: E402
from sync.matching import MatchModel  # noqa: E402
from sync.synthetic_households import (  # noqa: E402
    Retyping,
    generate_households,
    read_villages,
    revisit_household,
)
from sync.xform import primary_instance  # noqa: E402

TODAY = date(2026, 11, 29)
PROVINCE_ROWS, PROVINCE_COMMUNES = 500_000, 50
# The registry's speed goals (README "Benchmarks"): records/s of one process (an import, a
# sync worker) by database; two PostgreSQL sync workers against one; the province's import.
GOAL_RATE = {"sqlite": 2_000, "postgresql": 1_500}
GOAL_TWO_WORKERS = 1.6
GOAL_PROVINCE_SECONDS = 600


def rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def reference_seconds() -> float:
    """CPU seconds this machine takes for a fixed piece of plain Python (dict and string work,
    as the sync's): figures taken on machines of different speed compare through it (README
    "Benchmarks" gives it beside each figure)."""
    started = time.process_time()
    table: dict[str, int] = {}
    for n in range(2_000_000):
        key = str(n % 5000)
        table[key] = table.get(key, 0) + n
    return time.process_time() - started


def database_kind(url: str) -> str:
    return "postgresql" if url.startswith("postgresql") else "sqlite"


def goal(what: str, value: float, wanted: float, *, at_most: bool = False,
         unit: str = "records/s") -> str:
    """One line of the verdict the bench ends with: the figure against its goal."""
    met = value <= wanted if at_most else value >= wanted
    unit = unit if unit == "×" else f" {unit}"
    return (f"goal, {what}: {value:,.{2 if unit == '×' else 0}f}{unit} against "
            f"{'≤' if at_most else '≥'} {wanted:,}{unit} — {'met' if met else 'NOT met'}")


def load() -> str:
    return os.getloadavg()[0].__format__(".1f")


def add_communes(svc: Services, count: int) -> None:
    """``count`` more communes beside the demo's, each with the household form published."""
    villages_csv = xlsforms.VILLAGES_CSV.read_bytes()
    with svc.database.unit_of_work() as db:
        admin_id = db.scalars(select(User.actor_id).limit(1)).one()
        for n in range(count):
            project = create_project(db, f"Xã thử {n + 1}", commune_code=f"{90000 + n:05d}")
            db.flush()
            for form_id in (SCREENING, FOLLOWUP):
                _published_form(db, svc.store, project.id, admin_id, form_id, villages_csv)


def store_visits(svc: Services, count: int, seed: int, again: bool) -> int:
    """``count`` synthetic visits stored as phones would (pending sync), spread round the
    communes' household forms; returns their children."""
    villages = read_villages(xlsforms.VILLAGES_CSV.read_text(encoding="utf-8"))
    with svc.database.unit_of_work() as db:
        forms = list(db.scalars(select(Form.id).where(Form.xml_form_id == SCREENING)
                                .order_by(Form.id)))
        template = primary_instance(db.get_one(Form, forms[0]).current_def.xml)  # type: ignore
        submitter = db.scalars(select(SubmissionDef.submitter_id).limit(1)).first()
    children = 0
    batch = list(generate_households(template, villages, count, seed, TODAY))
    for start in range(0, len(batch), 200):
        with svc.database.unit_of_work() as db:
            for number, visit in enumerate(batch[start:start + 200], start=start):
                form = db.get_one(Form, forms[number % len(forms)])
                how = (Retyping.NO_MARKS if number % 2 else Retyping.SAME)
                xml = revisit_household(visit, seed, how).xml if again else visit.xml
                context = SubmissionContext(submitter, visit.device_id, "bench/sync")
                receive_submission(db, svc.store, form, parse_instance(xml), xml, {}, context)
                children += visit.children
    return children


def worker_process(url: str) -> None:
    """One sync worker (a child process): sync until nothing is pending, report as JSON."""
    settings = load_settings({"DIEMTUA_DATA_DIR": tempfile.mkdtemp(prefix="diemtua-worker-"),
                              "DIEMTUA_DATABASE_URL": url, "DIEMTUA_SECRET_KEY": "bench"})
    svc = Services.from_settings(settings)
    model = MatchModel.load()
    before = rss_mib()
    records = submissions = failed = 0
    started = time.time()  # the clock starts once the worker is loaded, as a running one is
    cpu = time.process_time()
    while True:
        summary = sync_pending(svc.database.sessions, model=model)
        records, submissions = records + summary.records, submissions + summary.submissions
        failed += summary.failed
        if not summary.attempted:
            break
    finished = time.time()
    svc.database.dispose()
    print(json.dumps({"records": records, "submissions": submissions, "failed": failed,
                      "rss": rss_mib(), "growth": rss_mib() - before, "started": started,
                      "finished": finished, "cpu": time.process_time() - cpu}))


def timed_sync(url: str, label: str, workers: int) -> float:
    """Sync what is pending with ``workers`` processes; returns records/s."""
    children = [subprocess.Popen([sys.executable, __file__, "--sync-worker", url],
                                 stdout=subprocess.PIPE, text=True) for _ in range(workers)]
    results = [json.loads(child.communicate()[0].strip().splitlines()[-1])
               for child in children]
    seconds = (max(r["finished"] for r in results) - min(r["started"] for r in results))
    records = sum(r["records"] for r in results)
    print(f"{label}: {sum(r['submissions'] for r in results)} submissions, {records} records "
          f"by {workers} worker(s) in {seconds:.1f} s → {records / seconds:.0f} records/s "
          f"(load {load()}); failed {sum(r['failed'] for r in results)}; per worker: CPU "
          + ", ".join(f"{r['cpu']:.1f} s" for r in results) + "; peak RSS "
          + ", ".join(f"{r['rss']:.0f} MiB (+{r['growth']:.0f})" for r in results))
    return records / seconds


def sync_runs(args: argparse.Namespace) -> None:
    rates: dict[tuple[int, str], float] = {}
    kind = database_kind(args.database_url or "sqlite")
    for workers in args.workers:
        svc, url = demo_services(args.database_url, "diemtua-bench-sync-", TODAY)
        add_communes(svc, args.communes - 1)
        print(f"database {url.split('@')[-1]}; {args.communes} communes, {args.households} "
              f"households per pass")
        for label, again in (("first survey", False), ("re-survey", True)):
            children = store_visits(svc, args.households, args.seed, again)
            print(f"stored {args.households} visits ({children} children), pending sync")
            rates[workers, label] = timed_sync(url, label, workers)
        with svc.database.unit_of_work() as db:
            children_total = db.scalar(select(func.count()).select_from(Child)
                                       .where(Child.status == "active"))
            flags = db.scalar(select(func.count()).select_from(Flag))
        print(f"registry: {children_total} children, {flags} flags")
        svc.database.dispose()
    for label in ("first survey", "re-survey"):
        if (1, label) in rates:
            print(goal(f"one {kind} sync worker, {label}", rates[1, label], GOAL_RATE[kind]))
        if kind == "postgresql" and (1, label) in rates and (2, label) in rates:
            print(goal(f"two workers against one, {label}", rates[2, label] / rates[1, label],
                       GOAL_TWO_WORKERS, unit="×"))


def write_lists(folder: Path, rows: int, communes: int, seed: int) -> list[Path]:
    """One CSV children list per commune, in a child process (its memory is not ours)."""
    subprocess.run([sys.executable, str(ROOT / "bench" / "import_memory.py"), "--write-list",
                    str(folder / "tinh.csv"), "--rows", str(rows), "--seed", str(seed)],
                   check=True)
    lines = (folder / "tinh.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    header, body = lines[0], lines[1:]
    per = -(-len(body) // communes)
    paths = []
    for n in range(communes):
        path = folder / f"xa-{n + 1:02d}.csv"
        path.write_text(header + "".join(body[n * per:(n + 1) * per]), encoding="utf-8")
        paths.append(path)
    (folder / "tinh.csv").unlink()
    return paths


def import_lists(url: str, job: dict[str, Any], max_rows: int) -> None:
    """One import process: each (project, list) in turn, as ``diemtua registry import`` does;
    prints its counts, CPU and peak RSS as one JSON line."""
    svc = Services.from_settings(load_settings({"DIEMTUA_DATABASE_URL": url,
                                                "DIEMTUA_DATA_DIR": job["data_dir"],
                                                "DIEMTUA_SECRET_KEY": "bench"}))
    before, cpu = rss_mib(), time.process_time()
    counts = dict.fromkeys((o.value for o in Outcome), 0)
    for project_id, path in job["pairs"]:
        with Path(path).open("rb") as stream, svc.database.unit_of_work() as session:
            report = import_file(session, project_id, stream, source=Path(path).stem,
                                 store=svc.store, max_rows=max_rows, commit_batches=True)
        for outcome in Outcome:
            counts[outcome.value] += report.count(outcome)
        print(json.dumps({"progress": sum(counts.values())}), flush=True)
    svc.database.dispose()
    print(json.dumps({"counts": counts, "cpu": time.process_time() - cpu, "rss": rss_mib(),
                      "growth": rss_mib() - before}))


def import_run(args: argparse.Namespace) -> None:
    """The first import of ``--import-rows`` children, one list per commune, by
    ``--import-jobs`` processes side by side (communes dealt out in turn: each commune has
    its own lock, so on PostgreSQL they import at once; SQLite takes one writer at a time)."""
    rows, communes, jobs = args.import_rows, args.import_communes, args.import_jobs
    svc, url = demo_services(args.database_url, "diemtua-bench-import-", TODAY)
    add_communes(svc, communes - 1)
    with svc.database.unit_of_work() as db:
        projects = list(db.scalars(select(Project.id).order_by(Project.id)))[:communes]
    paths = write_lists(svc.settings.data_dir, rows, communes, args.seed)
    svc.database.dispose()
    print(f"database {url.split('@')[-1].split('?')[0]}; first import of {rows} children, "
          f"{communes} communes, one list each, {jobs} import process(es) (load {load()})")
    pairs = [(project_id, str(path)) for project_id, path in zip(projects, paths, strict=True)]
    started = time.perf_counter()
    children = [subprocess.Popen(
        [sys.executable, __file__, "--import-worker", url, "--import-rows", str(rows),
         "--import-job",
         json.dumps({"data_dir": str(svc.settings.data_dir), "pairs": pairs[job::jobs]})],
        stdout=subprocess.PIPE, text=True)
        for job in range(jobs)]
    results = [json.loads(child.communicate()[0].strip().splitlines()[-1])
               for child in children]
    if any(child.returncode for child in children):
        raise SystemExit("an import process failed")
    seconds = time.perf_counter() - started
    counts = {o.value: sum(r["counts"][o.value] for r in results) for o in Outcome}
    print("    " + ", ".join(f"{name} {n}" for name, n in counts.items()))
    print(f"import: {rows} rows in {seconds:.0f} s → {rows / seconds:.0f} records/s by {jobs} "
          f"process(es) (load {load()}); per process: CPU "
          + ", ".join(f"{r['cpu']:.0f} s" for r in results) + "; peak RSS "
          + ", ".join(f"{r['rss']:.0f} MiB (+{r['growth']:.0f})" for r in results))
    kind = database_kind(url)
    if jobs == 1:
        print(goal(f"first import by one process, {kind}", rows / seconds, GOAL_RATE[kind]))
    if rows == PROVINCE_ROWS and kind == "postgresql":
        print(goal("the province's first import", seconds, GOAL_PROVINCE_SECONDS, at_most=True,
                   unit="s"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=None,
                        help="default: a new SQLite file in a temporary folder")
    parser.add_argument("--households", type=int, default=1000,
                        help="household visits per sync pass (0: no sync runs)")
    parser.add_argument("--communes", type=int, default=4, help="communes of the sync runs")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2],
                        help="sync worker processes, one run each (default: 1 then 2)")
    parser.add_argument("--import-rows", type=int, default=0,
                        help="children of the import run (0: no import run)")
    parser.add_argument("--import-communes", type=int, default=5)
    parser.add_argument("--import-jobs", type=int, default=1,
                        help="import processes side by side, communes dealt out in turn")
    parser.add_argument("--import-job", help=argparse.SUPPRESS)
    parser.add_argument("--import-worker", help=argparse.SUPPRESS)
    parser.add_argument("--province", action="store_true",
                        help=f"import {PROVINCE_ROWS} children of {PROVINCE_COMMUNES} communes")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--sync-worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.sync_worker:
        worker_process(args.sync_worker)
        return
    if args.import_worker:
        import_lists(args.import_worker, json.loads(args.import_job), args.import_rows)
        return
    if args.province:
        args.import_rows, args.import_communes = PROVINCE_ROWS, PROVINCE_COMMUNES
    print(f"machine: reference work {reference_seconds():.2f} s CPU (less is faster)")
    if args.households:
        sync_runs(args)
    if args.import_rows:
        import_run(args)


if __name__ == "__main__":
    main()
