"""Import a draw through the real code path and score what the registry made of it.

Each commune becomes a project (``diemtua project create --commune-code``), its files are
imported in order with `server.registry.importer.import_file` — what ``diemtua registry import
--create-villages`` runs, one unit of work per file — and the registry is read back with the
functions behind ``diemtua registry links`` and ``diemtua registry review-queue``
(`server.cli_registry.link_rows`, `review_rows`), with the children whose personal ID the
data-quality report finds in another commune (`server.registry.other_communes`). Only then is
the ground truth opened.
"""

from __future__ import annotations

import csv
import json
import resource
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from itertools import combinations
from pathlib import Path
from typing import Any

from sqlalchemy import select

from bench.unseen import metrics
from bench.unseen.personal_ids import valid_for
from server.cli_registry import link_rows, own_record_id, review_rows
from server.models import ChildRecord
from server.operations.projects import create_project
from server.registry.importer import Outcome, import_file
from server.registry.other_communes import ids_in_other_communes
from server.services import Services
from sync.doubtful import doubtful_field_names

_RECORD, _CHILD = 3, 9  # record_key and child_id in a review-queue row (REVIEW_COLUMNS)


@dataclass
class Observed:
    """What the registry holds after the imports, keyed ``<commune>/<record_id>``."""

    predicted: dict[str, str] = field(default_factory=dict)
    queued: set[tuple[str, str]] = field(default_factory=set)
    refused: dict[str, str] = field(default_factory=dict)  # row → column of its first problem
    # rows whose personal ID the registry keeps as doubtful (child_records.doubtful)
    id_marked: list[str] = field(default_factory=list)
    # rows of the children whose personal ID the data-quality report says is also in another
    # commune (`server.registry.other_communes`); each commune matches only its own children
    id_elsewhere: list[str] = field(default_factory=list)
    outcomes: Counter[str] = field(default_factory=Counter)
    rows: int = 0
    seconds: float = 0.0
    cpu_seconds: float = 0.0  # this process only: the machine is shared, the wall clock noisy
    peak_rss_mb: float = 0.0  # of the importing process, once every file is in

    def save(self, path: Path) -> None:
        """Kept beside the draw, so the figures can be scored again without importing."""
        data = {**self.__dict__, "queued": sorted(self.queued)}
        path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> Observed:
        data = json.loads(path.read_text(encoding="utf-8"))
        return cls(**{**data, "queued": {tuple(pair) for pair in data["queued"]},
                      "outcomes": Counter(data["outcomes"])})


def import_draw(svc: Services, folder: Path) -> Observed:
    """Every commune of the draw into a new project of `svc`'s database."""
    meta = json.loads((folder / "draw.json").read_text(encoding="utf-8"))
    now = datetime.fromisoformat(meta["today"]).replace(hour=9)
    seen = Observed()
    projects: dict[str, int] = {}
    for commune in meta["communes"]:
        code = commune["code"]
        with svc.database.unit_of_work() as session:
            project_id = create_project(session, commune["name"], commune_code=code).id
        projects[code] = project_id
        for name in commune["files"]:
            started, cpu = time.perf_counter(), time.process_time()
            with (folder / name).open("rb") as stream, svc.database.unit_of_work() as session:
                report = import_file(session, project_id, stream, source=Path(name).stem,
                                     create_villages=True, now=now,
                                     max_rows=svc.settings.import_max_rows)
            seen.seconds += time.perf_counter() - started
            seen.cpu_seconds += time.process_time() - cpu
            seen.rows += len(report.results)
            seen.outcomes.update(result.outcome.value for result in report.results)
            seen.refused.update((f"{code}/{r.record_id}",
                                 r.problems[0].column if r.problems else r.reason)
                                for r in report.results if r.outcome is Outcome.REFUSED)
        with svc.database.read_snapshot() as session:
            seen.predicted.update((f"{code}/{record}", f"{code}/{child}")
                                  for record, child in link_rows(session, project_id))
            seen.queued.update((f"{code}/{row[_RECORD]}", f"{code}/{row[_CHILD]}")
                               for row in review_rows(session, project_id))
            seen.id_marked += [f"{code}/{own_record_id(record)}" for record in session.scalars(
                select(ChildRecord).where(ChildRecord.project_id == project_id))
                if "personal_id" in doubtful_field_names(record.doubtful)]
    seen.peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    with svc.database.read_snapshot() as session:  # every commune is in: look across them
        for code, project_id in projects.items():
            listed = {f"{code}/{child}" for child in ids_in_other_communes(session, project_id)}
            seen.id_elsewhere += sorted(row for row, child in seen.predicted.items()
                                        if child in listed)
    return seen


@dataclass
class Truth:
    child: dict[str, str]
    household: dict[str, str]
    tags: dict[str, list[str]]
    valid_ids: dict[str, str]
    twin_pairs: list[tuple[str, str]]
    id_kind: dict[str, str]


def read_truth(folder: Path) -> Truth:
    truth = Truth({}, {}, {}, {}, [], {})
    commune_of: dict[str, str] = {}
    with (folder / "truth.csv").open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            key, code = f"{row['commune_code']}/{row['record_id']}", row["commune_code"]
            truth.child[key] = f"{code}/{row['child']}"
            truth.household[f"{code}/{row['child']}"] = row["household"]
            truth.tags[key] = [tag for tag in row["tags"].split(";") if tag]
            truth.id_kind[key] = row["id_kind"]
            if row["personal_id"] and valid_for(row["personal_id"], row["sex"], row["dob"]):
                truth.valid_ids[key] = row["personal_id"]
            commune_of.setdefault(row["child"], code)
    with (folder / "twins.csv").open(encoding="utf-8", newline="") as handle:
        truth.twin_pairs = [(f"{commune_of.get(r['child_a'], '')}/{r['child_a']}",
                             f"{commune_of.get(r['child_b'], '')}/{r['child_b']}")
                            for r in csv.DictReader(handle)]
    return truth


def wrong_links(seen: Observed, truth: Truth) -> Counter[str]:
    """Wrongly linked pairs by who the two children are: twins, other children of one
    household, or children of different households."""
    twins = {frozenset(pair) for pair in truth.twin_pairs}
    members: dict[str, Counter[str]] = defaultdict(Counter)
    for row, child in seen.predicted.items():
        members[child][truth.child[row]] += 1
    kinds: Counter[str] = Counter()
    for cluster in members.values():
        for (a, n), (b, m) in combinations(cluster.items(), 2):
            kind = ("twins" if frozenset((a, b)) in twins else "same household"
                    if truth.household[a] == truth.household[b] else "other households")
            kinds[kind] += n * m
    return kinds


def score(seen: Observed, truth: Truth) -> dict[str, Any]:
    everyone = metrics.pair_scores(seen.predicted, truth.child)
    placed = metrics.pair_scores(seen.predicted,
                                 {row: truth.child[row] for row in seen.predicted})
    merged, twin_pairs = metrics.twins_merged(seen.predicted, truth.child, truth.twin_pairs)
    misses = metrics.silent_id_misses(seen.predicted, truth.valid_ids, seen.queued,
                                      set(seen.id_marked), set(seen.id_elsewhere))
    same_child = sum(1 for a, b in misses if truth.child[a] == truth.child[b])
    # A column name; runs saved before it was kept have the English reason, which starts with it.
    refused_reasons = Counter((value or "(row)").split(" ")[0] for value in seen.refused.values())
    return {
        "rows": seen.rows, "placed": len(seen.predicted), "refused": len(seen.refused),
        "refused_share": len(seen.refused) / max(seen.rows, 1),
        "refused_reasons": dict(refused_reasons.most_common(8)),
        "outcomes": dict(seen.outcomes),
        "precision": everyone.precision, "recall": everyone.recall, "f1": everyone.f1,
        "true_pairs": everyone.true, "linked_pairs": everyone.linked,
        "placed_precision": placed.precision, "placed_recall": placed.recall,
        "placed_f1": placed.f1,
        "twin_pairs": twin_pairs, "twins_merged": merged,
        "twins_merged_share": merged / twin_pairs if twin_pairs else 0.0,
        "silent_id_misses": len(misses), "silent_id_misses_same_child": same_child,
        "review_rows": len(seen.queued),
        "review_per_record": len(seen.queued) / max(seen.rows, 1),
        "wrong_links": dict(wrong_links(seen, truth)),
        "missed_by_tag": metrics.missed_by_tag(seen.predicted, truth.child, truth.tags),
        "import_s": round(seen.seconds, 1),
        "records_per_s": seen.rows / seen.seconds if seen.seconds else 0.0,
        "records_per_cpu_s": seen.rows / seen.cpu_seconds if seen.cpu_seconds else 0.0,
        "peak_rss_mb": seen.peak_rss_mb,
    }
