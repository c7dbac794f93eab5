"""Registry import benchmark: a commune's children list through `import_file`, time and memory.

Loads the demo commune (its six villages) into a fresh database, writes a children list of N
synthetic children (`bench/synthetic.py`: households, twins, parents, dates of birth) as CSV
in a child process (memory this process freed would hide the import's growth), imports a
one-row list first (so the code, the database connection and the matching model are loaded),
resets the kernel's peak-RSS mark, then imports the list — read, checked, matched and placed —
as ``diemtua registry import`` does, committed a batch at a time with ``--save`` (a dry run, the
default, does it all in one savepoint and rolls it back).

Prints rows/s and the growth of the peak resident size over the size before the import; the
README's import limits promise less than 150 MB at the row limit (DIEMTUA_IMPORT_MAX_ROWS).
Linux only (``/proc/self/clear_refs``).

    .venv/bin/python bench/import_memory.py                 # 50,000 rows, SQLite, dry run
    .venv/bin/python bench/import_memory.py --rows 5000 --save
"""

from __future__ import annotations

import argparse
import csv
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from ingest import demo_services  # noqa: E402
from sqlalchemy import select  # noqa: E402
from synthetic import generate  # noqa: E402

from server.config import DEFAULT_IMPORT_MAX_ROWS  # noqa: E402
from server.models import Project  # noqa: E402
from server.registry.importer import ImportReport, Outcome, import_file  # noqa: E402
from server.services import Services  # noqa: E402

TODAY = date(2026, 11, 29)
HEADER = ["record_id", "submission_id", "village", "household_head", "full_name", "sex", "dob",
          "mother_name", "father_name"]


def write_list(path: Path, rows: int, seed: int) -> None:
    """`rows` children of the synthetic registry, their villages spread over the demo's six."""
    villages: dict[str, str] = {}
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        for record in generate(rows, 0, seed).registry[:rows]:
            village = villages.setdefault(record.village, f"T0{len(villages) % 6 + 1}")
            writer.writerow([record.record_id, record.submission_id, village,
                             record.household_head, record.full_name,
                             {"M": "Nam", "F": "Nữ"}.get(record.sex.value, ""),
                             record.dob.iso() if record.dob else "", record.mother_name,
                             record.father_name])


def status_mib(key: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(key)


def run_import(svc: Services, project_id: int, path: Path, dry_run: bool) -> ImportReport:
    with path.open("rb") as stream, svc.database.unit_of_work() as session:
        return import_file(session, project_id, stream, source=path.stem, dry_run=dry_run,
                           store=svc.store, max_rows=svc.settings.import_max_rows,
                           commit_batches=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=None,
                        help="default: a new SQLite file in a temporary folder")
    parser.add_argument("--rows", type=int, default=DEFAULT_IMPORT_MAX_ROWS)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--save", action="store_true", help="commit (default: a dry run)")
    parser.add_argument("--write-list", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.write_list:
        write_list(args.write_list, args.rows, args.seed)
        return

    svc, url = demo_services(args.database_url, "diemtua-bench-import-", TODAY)
    with svc.database.unit_of_work() as db:
        project_id = db.scalars(select(Project.id).order_by(Project.id)).first()
    assert project_id is not None
    listing = svc.settings.data_dir / "danh-sach.csv"
    subprocess.run([sys.executable, __file__, "--write-list", str(listing), "--rows",
                    str(args.rows), "--seed", str(args.seed)], check=True)
    warm_up = svc.settings.data_dir / "warm-up.csv"
    warm_up.write_text("record_id,full_name,village\n1,Lò Văn Nam,T01\n", encoding="utf-8")
    run_import(svc, project_id, warm_up, dry_run=True)

    Path("/proc/self/clear_refs").write_text("5")
    before = status_mib("VmRSS")
    started = time.perf_counter()
    report = run_import(svc, project_id, listing, dry_run=not args.save)
    seconds = time.perf_counter() - started
    growth = status_mib("VmHWM") - before
    svc.database.dispose()
    counts = ", ".join(f"{o.value} {report.count(o)}" for o in Outcome)
    print(f"{args.rows} rows ({listing.stat().st_size / 1e6:.1f} MB CSV) on "
          f"{url.split('@')[-1].split('?')[0]}: {counts}")
    print(f"{args.rows / seconds:.0f} rows/s ({seconds:.1f} s); "
          f"peak memory growth {growth:.0f} MB")


if __name__ == "__main__":
    main()
