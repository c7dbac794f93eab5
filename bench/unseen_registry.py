"""Matching on an unseen registry: a second evaluation set, built apart from the tuning data.

Draws communes with `bench/unseen/` (its own name and household statistics, not those of
bench/synthetic.py), writes each commune's lists as the README's import files (the commune
list, the re-survey, second visits, re-sent visits, movers), imports them into a fresh database
through the registry importer, reads the links and the review queue back, and only then
compares with the ground truth. Never tune on this set: its figures say how the matcher does on
data it was not fitted to.

    .venv/bin/python bench/unseen_registry.py                       # one commune, ~3,600 rows
    .venv/bin/python bench/unseen_registry.py --communes 14         # ~50,000 rows
    .venv/bin/python bench/unseen_registry.py --database-url postgresql://postgres@127.0.0.1:5432/diemtua_unseen
    .venv/bin/python bench/unseen_registry.py --json                # one JSON line last

Goals on unseen data: F1 >= 0.97, precision >= 0.995, twins merged <= 1 %, no silent miss on
an identical valid personal ID, no row refused, review queue < 5 % of incoming rows.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.ingest import fresh_database as recreated  # noqa: E402
from bench.unseen.draw import DrawSpec, draw  # noqa: E402
from bench.unseen.evaluate import Observed, import_draw, read_truth, score  # noqa: E402
from server.config import load_settings  # noqa: E402
from server.migrations import upgrade  # noqa: E402
from server.registry.import_rows import TEMPLATE_COLUMNS  # noqa: E402
from server.services import Services  # noqa: E402

GOALS = "F1 >= 0.97, P >= 0.995, twins merged <= 1 %, no silent ID miss, none refused, " \
        "review < 5 %"


def fresh_database(url: str | None, folder: Path) -> str:
    """A new empty database: SQLite in `folder`, or the named PostgreSQL database recreated
    (`bench/ingest.py`'s `fresh_database`)."""
    return recreated(url) if url is not None else f"sqlite:///{folder / 'unseen.sqlite3'}"


def services(url: str | None, folder: Path) -> Services:
    database = fresh_database(url, folder)
    settings = load_settings({"DIEMTUA_DATA_DIR": str(folder), "DIEMTUA_DATABASE_URL": database,
                              "DIEMTUA_SECRET_KEY": "bench-unseen"})
    upgrade(settings.database_url)
    return Services.from_settings(settings)


def run(spec: DrawSpec, database_url: str | None, folder: Path) -> dict[str, Any]:
    """Draw, import and score; the draw's files stay in `folder`."""
    meta = draw(folder / "draw", spec)
    svc = services(database_url, folder)
    try:
        seen = import_draw(svc, folder / "draw")
    finally:
        svc.database.dispose()
    seen.save(folder / "observed.json")
    result = score(seen, read_truth(folder / "draw"))
    result.update(communes=spec.communes, seed=spec.seed, home_column=spec.home_column,
                  database="postgresql" if database_url else "sqlite",
                  children=sum(c["children"] for c in meta["communes"]))
    return result


def rescore(folder: Path) -> dict[str, Any]:
    """The figures of a finished run (its observed.json and truth), with today's metrics."""
    meta = json.loads((folder / "draw" / "draw.json").read_text(encoding="utf-8"))
    result = score(Observed.load(folder / "observed.json"), read_truth(folder / "draw"))
    result.update(communes=len(meta["communes"]), seed=meta["seed"],
                  home_column=meta["home_column"], database="as run",
                  children=sum(c["children"] for c in meta["communes"]))
    return result


def goals_met(r: dict[str, Any]) -> bool:
    return (r["f1"] >= 0.97 and r["precision"] >= 0.995 and r["twins_merged_share"] <= 0.01
            and r["silent_id_misses"] == 0 and r["refused"] == 0
            and r["review_per_record"] < 0.05)


def summary(r: dict[str, Any]) -> str:
    """The figures as lines of text, the goal verdict last."""
    misses = sorted(((tag, m, n) for tag, (m, n) in r["missed_by_tag"].items() if n >= 10),
                    key=lambda item: -item[1] / item[2])
    lines = [
        f"unseen registry: {r['communes']} commune(s), {r['children']:,} children, "
        f"{r['rows']:,} rows imported ({r['database']}, seed {r['seed']}, home_name column "
        f"{'used' if r['home_column'] else 'absent'})",
        f"  outcomes {r['outcomes']}",
        f"  refused {r['refused']} ({100 * r['refused_share']:.1f} %): {r['refused_reasons']}",
        f"  automatic links: P {r['precision']:.4f} R {r['recall']:.4f} F1 {r['f1']:.4f} "
        f"({r['true_pairs']:,} true pairs; placed rows only: P {r['placed_precision']:.4f} "
        f"R {r['placed_recall']:.4f} F1 {r['placed_f1']:.4f})",
        f"  wrong links by pair: {r['wrong_links'] or 'none'}",
        f"  twins merged {r['twins_merged']}/{r['twin_pairs']} "
        f"({100 * r['twins_merged_share']:.2f} %); silent misses on an identical valid ID "
        f"{r['silent_id_misses']} ({r['silent_id_misses_same_child']} of one child)",
        f"  review queue {r['review_rows']} rows = {100 * r['review_per_record']:.1f} % of "
        f"incoming rows",
        "  missed rows by how they were written (missed/rows): "
        + ", ".join(f"{tag} {m}/{n}" for tag, m, n in misses[:12]),
        f"  import {r['records_per_s']:,.0f} rows/s ({r['import_s']} s; "
        f"{r['records_per_cpu_s']:,.0f} rows per CPU-second); peak RSS "
        f"{r['peak_rss_mb']:,.0f} MB",
        f"unseen goals ({GOALS}): {'met' if goals_met(r) else 'NOT met'}",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--communes", type=int, default=1)
    parser.add_argument("--children", type=int, default=1800, help="children per commune")
    parser.add_argument("--seed", type=int, default=DrawSpec.seed)
    parser.add_argument("--database-url", default=None,
                        help="PostgreSQL database to recreate (default: SQLite in --folder)")
    parser.add_argument("--folder", type=Path, default=None,
                        help="keep the draw and the database here (default: a temporary one)")
    parser.add_argument("--home-column", choices=("auto", "yes", "no"), default="auto",
                        help="write a home_name column (auto: when the importer reads one)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON last")
    parser.add_argument("--rescore", type=Path, default=None, metavar="FOLDER",
                        help="score a finished run's folder again, without importing")
    args = parser.parse_args(argv)
    if args.rescore:
        print(summary(rescore(args.rescore)))
        return 0
    home = args.home_column == "yes" or (args.home_column == "auto"
                                         and "home_name" in TEMPLATE_COLUMNS)
    spec = DrawSpec(communes=args.communes, children=args.children, seed=args.seed,
                    home_column=home)
    folder = args.folder or Path(tempfile.mkdtemp(prefix="diemtua-unseen-"))
    folder.mkdir(parents=True, exist_ok=True)
    result = run(spec, args.database_url, folder)
    print(summary(result), flush=True)
    if args.json:
        print(json.dumps(result, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
