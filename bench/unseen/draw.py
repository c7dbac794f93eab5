"""Draw an unseen registry: communes, their import files and the ground truth beside them.

A folder per draw::

    draw.json                       communes, their files in import order, the import date
    truth.csv                       each row's true child (never in an import file)
    twins.csv                       child_a, child_b of every twin pair
    <commune_code>/01_danh_sach.csv … 05_chuyen_den.csv

The draw is seeded: the same seed and sizes give the same files. It is an evaluation set, kept
apart from tuning: nothing in the project may be fitted on it (bench/matching.py --tune uses its
own generator and seed).
"""

from __future__ import annotations

import csv
import json
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.unseen.lists import (
    IMPORT_COLUMNS,
    TODAY,
    TRUTH_COLUMNS,
    save,
    truth_rows,
    write_commune,
)
from bench.unseen.population import draw_commune

HOME_PROVINCES = ("036", "038", "040", "030")  # Nam Định, Thanh Hóa, Nghệ An, Hải Dương
MOUNTAIN_PROVINCES = ("010", "014", "002")  # Lào Cai, Sơn La, Hà Giang
SOUTH_PROVINCES = ("087", "089", "094")  # Đồng Tháp, An Giang, Sóc Trăng


@dataclass(frozen=True)
class DrawSpec:
    """How big a draw is: `communes` communes of about `children` children each; one commune
    in `mountain_every` is a mountain commune of mostly Mông and Thái families, one in
    `south_every` a southern one (Huỳnh, Võ)."""

    communes: int = 1
    children: int = 1800
    seed: int = 20261205
    mountain_every: int = 5
    south_every: int = 3
    home_column: bool = False


def draw(folder: Path, spec: DrawSpec) -> dict[str, Any]:
    """Write a draw into `folder` (created); returns what draw.json holds."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(spec.seed)
    header = IMPORT_COLUMNS + (["home_name"] if spec.home_column else [])
    counter = [0]
    communes: list[dict[str, object]] = []
    truth: list[dict[str, str]] = []
    twins: list[tuple[str, str]] = []
    for index in range(spec.communes):
        mountain = spec.communes > 1 and index % spec.mountain_every == spec.mountain_every - 1
        south = not mountain and index % spec.south_every == 1
        province = rng.choice(MOUNTAIN_PROVINCES if mountain else SOUTH_PROVINCES if south
                              else HOME_PROVINCES)
        commune = draw_commune(rng, index, spec.children, mountain=mountain, south=south,
                               province=province, counter=counter, latest=TODAY)
        lists = write_commune(rng, commune, home_column=spec.home_column)
        (folder / commune.code).mkdir(exist_ok=True)
        paths = save(lists, folder / commune.code, header)
        communes.append({"code": commune.code, "name": commune.name, "mountain": mountain,
                         "south": south, "children": len(commune.children),
                         "files": [str(path.relative_to(folder)) for path in paths],
                         "rows": [len(written.rows) for written in lists]})
        truth.extend(truth_rows(lists))
        twins.extend((c.twin_of, c.id) for c in commune.children if c.twin_of)
    _write(folder / "truth.csv", TRUTH_COLUMNS, truth)
    _write(folder / "twins.csv", ["child_a", "child_b"],
           [{"child_a": a, "child_b": b} for a, b in twins])
    meta: dict[str, Any] = {"seed": spec.seed, "today": TODAY.isoformat(),
                               "home_column": spec.home_column, "communes": communes,
                               "rows": len(truth)}
    (folder / "draw.json").write_text(json.dumps(meta, ensure_ascii=False, indent=1) + "\n",
                                      encoding="utf-8")
    return meta


def _write(path: Path, header: list[str], rows: list[dict[str, str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=header)
        writer.writeheader()
        writer.writerows(rows)
