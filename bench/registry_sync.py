"""Registry sync benchmark: pending household submissions → child records → registry children.

Loads the demo commune (villages, household form) into a fresh database, stores N synthetic
household visits through the real ingest operation (untimed), then times `diemtua sync run`'s
work (`server.registry.worker.run_once`): parse, map, store records, derive categories, match
against the registry through the indexed blocking keys, write edges / review rows / flags and
recompute each touched child's view, one transaction per submission. A second pass re-surveys
the same households (new instance ids, every other household's names typed without
diacritics), so the linking path is measured on a registry that already holds the children.

Prints submissions/s and records/s for each pass, the outcome counts, and the process's peak
RSS and its growth over the passes.

    .venv/bin/python bench/registry_sync.py              # SQLite, 1000 households per pass
    .venv/bin/python bench/registry_sync.py \
        --database-url postgresql://postgres@127.0.0.1:5432/diemtua_bench
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from ingest import demo_services  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

import xlsforms  # noqa: E402
from server.models import Child, Flag, Form, SubmissionDef  # noqa: E402
from server.operations.submissions import SubmissionContext, receive_submission  # noqa: E402
from server.registry.worker import run_once  # noqa: E402
from server.services import Services  # noqa: E402
from sync.instance import parse_instance  # noqa: E402
from sync.synthetic_households import (  # noqa: E402
    Retyping,
    generate_households,
    read_villages,
    revisit_household,
)
from sync.xform import primary_instance  # noqa: E402

TODAY = date(2026, 11, 29)


def rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def store_visits(svc: Services, count: int, seed: int, again: bool) -> int:
    """Store ``count`` synthetic visits as phones would (pending sync); returns children."""
    villages = read_villages(xlsforms.VILLAGES_CSV.read_text(encoding="utf-8"))
    with svc.database.unit_of_work() as db:
        form = db.scalars(select(Form).where(Form.xml_form_id == "household_screening")).one()
        assert form.current_def is not None
        template = primary_instance(form.current_def.xml)
        submitter = db.scalars(select(SubmissionDef.submitter_id).limit(1)).first()
    children = 0
    batch = list(generate_households(template, villages, count, seed, TODAY))
    for start in range(0, len(batch), 200):
        with svc.database.unit_of_work() as db:
            form = db.scalars(select(Form).where(Form.xml_form_id == "household_screening")).one()
            for number, visit in enumerate(batch[start:start + 200], start=start):
                how = (Retyping.NO_MARKS if number % 2 else Retyping.SAME)
                xml = revisit_household(visit, seed, how).xml if again else visit.xml
                context = SubmissionContext(submitter, visit.device_id, "bench/sync")
                receive_submission(db, svc.store, form, parse_instance(xml), xml, {}, context)
                children += visit.children
    return children


def timed_pass(svc: Services, label: str) -> None:
    started_rss = rss_mib()
    started = time.perf_counter()
    cpu = time.process_time()
    summary = run_once(svc.database.engine, svc.database.sessions)
    seconds = time.perf_counter() - started
    cpu_seconds = time.process_time() - cpu
    print(f"{label}: {summary.submissions} submissions, {summary.records} records in "
          f"{seconds:.1f} s → {summary.submissions / seconds:.0f} submissions/s, "
          f"{summary.records / seconds:.0f} records/s ({summary.records / cpu_seconds:.0f} "
          f"records per CPU-second)")
    print(f"    linked {summary.linked}, queued for review {summary.queued}, new "
          f"{summary.new}, failed {summary.failed}; peak RSS {rss_mib():.0f} MiB "
          f"(+{rss_mib() - started_rss:.0f})")
    for error in summary.errors[:5]:
        print(f"    failed: {error}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=None,
                        help="default: a new SQLite file in a temporary folder")
    parser.add_argument("--households", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()

    svc, url = demo_services(args.database_url, "diemtua-bench-sync-", TODAY)
    print(f"database {url.split('@')[-1]}; {args.households} households per pass")
    for label, again in (("first survey", False), ("re-survey", True)):
        children = store_visits(svc, args.households, args.seed, again)
        print(f"stored {args.households} visits ({children} children), pending sync")
        timed_pass(svc, label)
    with svc.database.unit_of_work() as db:
        children_total = db.scalar(select(func.count()).select_from(Child)
                                   .where(Child.status == "active"))
        flags = db.scalar(select(func.count()).select_from(Flag))
    print(f"registry: {children_total} children, {flags} flags")
    svc.database.dispose()


if __name__ == "__main__":
    main()
