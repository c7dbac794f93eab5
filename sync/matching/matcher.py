"""The online matcher: one household submission's children against the registry.

Per submission: block every row through the candidate source, score its candidates (grouped by
registry child; a child is a cluster of records), drop children ruled out by a hard rule or a
reviewer, assign rows to children one-to-one, then band each row. The caller (the sync worker,
the import, the benchmark) stores the decisions and adds the records to the registry.

Two guards beyond the pairwise score, both because a wrong merge hides a child:

* one-to-one: a registry child is claimed by at most one row of a submission;
* ambiguity: a row is auto-linked only if no *other* child scores in the auto-link band for it,
  and no other row of the submission does for its child (twins typed without diacritics,
  ``Hung``/``Hung`` for Hưng and Hùng, look identical to the scorer).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sync.matching.assign import assign_one_to_one
from sync.matching.blocking import BlockingKey, blocking_keys
from sync.matching.compare import LocationLevel
from sync.matching.constraints import Effect
from sync.matching.decide import (
    Band,
    Candidate,
    Decision,
    Reason,
    band_by_rule_and_score,
    explain,
)
from sync.matching.index import CandidateSource
from sync.matching.records import MatchRecord
from sync.matching.scoring import MatchModel, ScoredPair, Scorer

MAX_REVIEW_CANDIDATES = 3


def _rank(pair: ScoredPair) -> tuple[bool, float]:
    return (pair.rule is not None and pair.rule.effect is Effect.LINK, pair.total)


def _clean_auto(pair: ScoredPair, model: MatchModel) -> bool:
    """Would this pair auto-link on its own (no rule holding it back)?"""
    return band_by_rule_and_score(pair, model)[0] is Band.AUTO_LINK


@dataclass
class _Row:
    record: MatchRecord
    keys: tuple[BlockingKey, ...]
    best: dict[str, ScoredPair]  # child id → best pair with that child's records

    def eligible(self, model: MatchModel) -> dict[str, ScoredPair]:
        return {c: p for c, p in self.best.items()
                if p.total >= model.review or (p.rule is not None and p.rule.effect in
                                               (Effect.REVIEW, Effect.LINK))}


class Matcher:
    """Matches submissions against a candidate source with one model."""

    def __init__(self, source: CandidateSource, model: MatchModel) -> None:
        self.source = source
        self.model = model
        self.scorer = Scorer(model, source)
        self.pairs_scored = 0

    def _row(self, record: MatchRecord) -> _Row:
        ruled_out = set(self.source.cannot_link_children(record.record_id))
        best: dict[str, ScoredPair] = {}
        keys = tuple(blocking_keys(record))
        candidates = [(child_id, other) for child_id, other in self.source.candidates(keys)
                      if child_id not in ruled_out]
        child_of = {other.record_id: child_id for child_id, other in candidates}
        self.pairs_scored += len(candidates)
        others = [other for _, other in candidates]
        for pair in self.scorer.score_all(record, others, self.model.review):
            child_id = child_of[pair.other.record_id]
            if pair.rule is not None and pair.rule.effect is Effect.CANNOT_LINK:
                ruled_out.add(child_id)  # one conflicting record rules out the whole child
                best.pop(child_id, None)
            elif child_id not in best or _rank(pair) > _rank(best[child_id]):
                best[child_id] = pair
        return _Row(record, keys, best)

    def match_submission(self, records: Sequence[MatchRecord]) -> list[Decision]:
        """Decide every row of one submission (rows must share one ``submission_id``)."""
        rows = [self._row(record) for record in records]
        eligible = [row.eligible(self.model) for row in rows]
        edges = {}
        for i, pairs in enumerate(eligible):
            for child_id, pair in pairs.items():
                link = pair.rule is not None and pair.rule.effect is Effect.LINK
                edges[(i, child_id)] = (1000.0 if link else 1.0) + max(
                    pair.total - self.model.review, 0.0)
        assignment = assign_one_to_one(edges)
        return [self._decide(i, rows, eligible, assignment) for i in range(len(rows))]

    def _candidates(self, pairs: dict[str, ScoredPair]) -> tuple[Candidate, ...]:
        ranked = sorted(pairs.items(), key=lambda item: _rank(item[1]), reverse=True)
        return tuple(Candidate(child_id, pair.total, explain(pair, self.model))
                     for child_id, pair in ranked[:MAX_REVIEW_CANDIDATES])

    def _decide(self, i: int, rows: list[_Row], eligible: list[dict[str, ScoredPair]],
                assignment: dict[int, str]) -> Decision:
        model, record, mine = self.model, rows[i].record, eligible[i]
        child_id = assignment.get(i)
        if child_id is None:
            if mine:  # its candidates are better explained by other rows of the submission
                return Decision(record.record_id, Band.NEW, None, (Reason.CANDIDATE_TAKEN,),
                                model.version, candidates=self._candidates(mine),
                                keys=rows[i].keys)
            reason = Reason.BELOW_REVIEW if rows[i].best else Reason.NO_CANDIDATE
            return Decision(record.record_id, Band.NEW, None, (reason,), model.version,
                            keys=rows[i].keys)
        pair = mine[child_id]
        band, reason = band_by_rule_and_score(pair, model)
        reasons = [reason]
        if band is Band.AUTO_LINK and reason is not Reason.SAME_PERSONAL_ID:
            rival_child = any(c != child_id and _clean_auto(p, model) for c, p in mine.items())
            rival_row = any(j != i and child_id in other and _clean_auto(other[child_id], model)
                            for j, other in enumerate(eligible))
            if rival_child or rival_row:
                band, reasons = Band.REVIEW, [Reason.AMBIGUOUS]
        if pair.comparison is not None and pair.comparison.location in (
                LocationLevel.SAME_COMMUNE, LocationLevel.OTHER_COMMUNE):
            reasons.append(Reason.MOVER)
        candidates = self._candidates(mine) if band is Band.REVIEW else ()
        return Decision(record.record_id, band, child_id, tuple(reasons), model.version,
                        explain(pair, model), candidates, rows[i].keys)
