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
from dataclasses import dataclass, field

from sync.dates import DateLevel, compare_dates
from sync.matching.assign import assign_one_to_one
from sync.matching.blocking import BlockingKey, RecordKeys, blocking_keys, widened_keys
from sync.matching.compare import (
    Comparison,
    GivenLevel,
    LocationLevel,
    compare,
    household_evidence,
)
from sync.matching.constraints import Effect, Rule
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


# Rules that put a pair in front of a person (or link it) whatever its score.
_MUST_SEE = frozenset({Effect.REVIEW, Effect.LINK, Effect.AT_LEAST_REVIEW})


def _must_see(pair: ScoredPair) -> bool:
    return pair.rule is not None and pair.rule.effect in _MUST_SEE


def _rank(pair: ScoredPair) -> tuple[bool, bool, float]:
    """Which of a child's records speaks for it: a linking rule, then a rule that asks for a
    person, then the score (so a child is never dropped because a higher-scoring record of
    its cluster fell below the review band while another asked for review)."""
    return (pair.rule is not None and pair.rule.effect is Effect.LINK, _must_see(pair),
            pair.total)


def _shares_id(pair: ScoredPair) -> bool:
    return (pair.record.personal_id_formed and pair.other.personal_id_formed
            and pair.record.personal_id == pair.other.personal_id)


def _clean_auto(pair: ScoredPair, model: MatchModel) -> bool:
    """Would this pair auto-link on its own (no rule holding it back)?"""
    return band_by_rule_and_score(pair, model)[0] is Band.AUTO_LINK


# Given-name levels that say the two records name the same child (not just "no evidence").
_NAME_CONFIRMS = frozenset({GivenLevel.EXACT, GivenLevel.ASCII_EQUAL, GivenLevel.NICKNAME,
                            GivenLevel.MISTYPED})
_BIRTH_DATES = frozenset({DateLevel.EXACT, DateLevel.SWAPPED, DateLevel.NEAR})


def _twin_like(comparison: Comparison) -> bool:
    """Same household and birth date: this registry child may be the record's twin."""
    return comparison.dob in _BIRTH_DATES and household_evidence(comparison)


@dataclass
class _Row:
    record: MatchRecord
    keys: tuple[BlockingKey, ...]
    best: dict[str, ScoredPair]  # child id → best pair with that child's records
    twin_like: set[str]  # children born with this record in its household (twins, or itself)
    # records of children ruled out by a different ID but born on the record's date: twins?
    conflicting: list[tuple[str, MatchRecord]] = field(default_factory=list)

    def twins_other_than(self, child_id: str) -> bool:
        """Is a child other than ``child_id`` possibly this record's twin (or itself)?"""
        return bool(self.twin_like - {child_id}) or any(
            c != child_id and _twin_like(compare(self.record, other))
            for c, other in self.conflicting)

    def eligible(self, model: MatchModel) -> dict[str, ScoredPair]:
        return {c: p for c, p in self.best.items() if p.total >= model.review or _must_see(p)}


class Matcher:
    """Matches submissions against a candidate source with one model."""

    def __init__(self, source: CandidateSource, model: MatchModel) -> None:
        self.source = source
        self.model = model
        self.scorer = Scorer(model, source)
        self.pairs_scored = 0

    def _row(self, record: MatchRecord, keys: RecordKeys | None) -> _Row:
        ruled_out = set(self.source.cannot_link_children(record.record_id))
        stored = keys.stored if keys is not None else blocking_keys(record)
        row = _Row(record, tuple(stored), {}, set())
        seen = self._add_candidates(row, stored, ruled_out, set())
        if not any(p.total >= self.model.review or _must_see(p) for p in row.best.values()):
            widened = keys.widened if keys is not None else widened_keys(record, stored)
            self._add_candidates(row, widened, ruled_out, seen)
        return row

    def _add_candidates(self, row: _Row, keys: Sequence[BlockingKey], ruled_out: set[str],
                        seen: set[str]) -> set[str]:
        """Score the records under ``keys`` not scored yet into ``row``; the ids scored."""
        record, best, twin_like = row.record, row.best, row.twin_like
        candidates = [(child_id, other) for child_id, other in self.source.candidates(keys)
                      if child_id not in ruled_out and other.record_id not in seen]
        child_of = {other.record_id: child_id for child_id, other in candidates}
        self.pairs_scored += len(candidates)
        others = [other for _, other in candidates]
        for pair in self.scorer.score_all(record, others, self.model.review):
            child_id = child_of[pair.other.record_id]
            if pair.rule is not None and pair.rule.effect is Effect.CANNOT_LINK:
                ruled_out.add(child_id)  # one conflicting record rules out the whole child
                best.pop(child_id, None)
                # a twin with its own ID is still a twin: it must stop a copied ID or a home
                # name from landing this record on the other twin
                if pair.rule.rule is Rule.ID_CONFLICT and compare_dates(
                        record.dob, pair.other.dob) in _BIRTH_DATES:
                    row.conflicting.append((child_id, pair.other))
                continue
            if pair.comparison is not None and _twin_like(pair.comparison):
                twin_like.add(child_id)
            if child_id not in ruled_out and (
                    child_id not in best or _rank(pair) > _rank(best[child_id])):
                best[child_id] = pair
        return seen | set(child_of)

    def match_submission(self, records: Sequence[MatchRecord],
                         keys: Sequence[RecordKeys] | None = None) -> list[Decision]:
        """Decide every row of one submission (rows must share one ``submission_id``);
        ``keys``, each record's `record_keys` when the caller worked them out already
        (without them, the widened keys are worked out only for a record that needs them)."""
        given: Sequence[RecordKeys | None] = keys if keys is not None else [None] * len(records)
        rows = [self._row(record, its_keys)
                for record, its_keys in zip(records, given, strict=True)]
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
            if any(_shares_id(p) for p in mine.values()):  # never silent on a shared ID
                return Decision(record.record_id, Band.REVIEW, None, (Reason.CANDIDATE_TAKEN,),
                                model.version, candidates=self._candidates(mine),
                                keys=rows[i].keys)
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
        elif band is Band.AUTO_LINK and any(  # one valid ID on two registry children: copied
                c != child_id and p.rule is not None and p.rule.effect is Effect.LINK
                for c, p in mine.items()):
            band, reasons = Band.REVIEW, [Reason.AMBIGUOUS]
        shared_elsewhere = {c: p for c, p in rows[i].best.items()
                            if c != child_id and _shares_id(p)}
        if band is Band.AUTO_LINK and shared_elsewhere:
            # a reviewer already told the two children apart: that is not silent
            told_apart = self.source.cannot_link_children(pair.other.record_id)
            shared_elsewhere = {c: p for c, p in shared_elsewhere.items() if c not in told_apart}
        if band is Band.AUTO_LINK and shared_elsewhere:
            # The record's personal ID is another child's too: one of the two was copied (a
            # twin's, a sibling's). Never silent on a shared ID: a person sees both children.
            band, reasons = Band.REVIEW, [Reason.AMBIGUOUS]
            mine = {**shared_elsewhere, **mine}
        if (band is Band.AUTO_LINK and pair.comparison is not None
                and pair.comparison.given_name not in _NAME_CONFIRMS
                and rows[i].twins_other_than(child_id)):
            # the name does not say which twin this is (a home name, no name): a person decides
            band = Band.REVIEW
            reasons = [Reason.TWIN_SHARED_ID if _shares_id(pair) else Reason.POSSIBLE_TWIN]
        if pair.comparison is not None and pair.comparison.location in (
                LocationLevel.SAME_COMMUNE, LocationLevel.OTHER_COMMUNE):
            reasons.append(Reason.MOVER)
        candidates = self._candidates(mine) if band is Band.REVIEW else ()
        return Decision(record.record_id, band, child_id, tuple(reasons), model.version,
                        explain(pair, model), candidates, rows[i].keys)
