"""The figures an evaluation reports, computed from plain mappings (testable on their own).

Keys are whatever identifies a row uniquely across the draw — the runner uses
``"<commune_code>/<record_id>"`` — and child ids are namespaced the same way, so pairs are
only ever counted inside one commune's registry.

* **Pairwise precision / recall / F1 of automatic links.** Two rows are *linked* when the
  registry holds them in one child; a pair is *true* when the ground truth says one child. A
  row refused at import is in no child: its true pairs count as missed (the report lost it).
  A row in the review queue is a new child until a person decides: not linked.
* **Twins merged**: twin pairs with rows in the registry whose rows share a child.
* **Silent misses on an identical valid personal ID**: two placed rows carrying the same
  number, valid for each row as written (`bench.unseen.personal_ids.valid_for`), neither in one
  child nor side by side in the review queue (no open entry between their two children).
* **Missed rows by kind of noise**: a row whose child has other placed rows, linked to none of
  them, counted under each tag of how it was written (why recall is lost).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from itertools import combinations


@dataclass(frozen=True)
class PairScores:
    true_positive: int
    linked: int
    true: int

    @property
    def precision(self) -> float:
        return self.true_positive / self.linked if self.linked else 1.0

    @property
    def recall(self) -> float:
        return self.true_positive / self.true if self.true else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


def _pairs(n: int) -> int:
    return n * (n - 1) // 2


def pair_scores(predicted: Mapping[str, str], truth: Mapping[str, str]) -> PairScores:
    """`predicted`: row → child for placed rows; `truth`: row → true child for every row."""
    cells = Counter((child, truth[row]) for row, child in predicted.items())
    linked = sum(_pairs(n) for n in Counter(predicted.values()).values())
    return PairScores(sum(_pairs(n) for n in cells.values()), linked,
                      sum(_pairs(n) for n in Counter(truth.values()).values()))


def twins_merged(predicted: Mapping[str, str], truth: Mapping[str, str],
                 twin_pairs: Iterable[tuple[str, str]]) -> tuple[int, int]:
    """(twin pairs merged, twin pairs with rows of both twins placed)."""
    children_of: dict[str, set[str]] = defaultdict(set)
    for row, child in predicted.items():
        children_of[truth[row]].add(child)
    present = [(a, b) for a, b in twin_pairs if a in children_of and b in children_of]
    return sum(1 for a, b in present if children_of[a] & children_of[b]), len(present)


def silent_id_misses(predicted: Mapping[str, str], valid_ids: Mapping[str, str],
                     queued: set[tuple[str, str]],
                     marked: Collection[str] = (),
                     elsewhere: Collection[str] = ()) -> list[tuple[str, str]]:
    """Pairs of placed rows with the same valid number, neither linked, queued nor marked.

    `valid_ids`: row → number, for rows whose number is valid as written; `queued`: (row,
    child) of every open review-queue entry (the child as it is now). A pair counts as queued
    when its two children stand side by side in some entry: the person deciding it brings the
    rows together whichever of the children's rows was queued. `marked`: rows whose number the
    registry keeps as doubtful (the data-quality report lists them for an officer), so a pair
    with a marked row is not silent either. `elsewhere`: rows whose child the data-quality
    report lists as carrying a personal ID also registered in another commune; a pair of rows
    of two communes (rows are keyed ``<commune>/<record>``), one of them listed, is not silent:
    each commune matches only its own children, and that list is how the two are told."""
    side_by_side = {frozenset((predicted[row], child)) for row, child in queued
                    if row in predicted}
    by_number: dict[str, list[str]] = defaultdict(list)
    for row, number in valid_ids.items():
        if row in predicted:
            by_number[number].append(row)
    misses = []
    for rows in by_number.values():
        for a, b in combinations(sorted(rows), 2):
            if predicted[a] == predicted[b]:
                continue
            if frozenset((predicted[a], predicted[b])) in side_by_side:
                continue
            if a in marked or b in marked:
                continue
            if _commune(a) != _commune(b) and (a in elsewhere or b in elsewhere):
                continue
            misses.append((a, b))
    return misses


def _commune(row: str) -> str:
    return row.split("/", 1)[0]


def missed_by_tag(predicted: Mapping[str, str], truth: Mapping[str, str],
                  tags: Mapping[str, Iterable[str]]) -> dict[str, tuple[int, int]]:
    """tag → (rows missed, rows with a true partner placed), plus "(all)"; a row with no tag
    counts under "(clean)"."""
    rows_of: dict[str, list[str]] = defaultdict(list)
    for row in predicted:
        rows_of[truth[row]].append(row)
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for rows in rows_of.values():
        if len(rows) < 2:
            continue
        for row in rows:
            missed = all(predicted[other] != predicted[row] for other in rows if other != row)
            for tag in [*(tags.get(row) or ("(clean)",)), "(all)"]:
                counts[tag][0] += missed
                counts[tag][1] += 1
    return {tag: (missed, total) for tag, (missed, total) in counts.items()}
