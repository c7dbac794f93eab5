"""Bands, reasons and explanations: what the matcher decided and why.

Three outcomes (docs/matching.md §3.5): **auto-link** above the upper threshold, **new child** below
the lower one, **review** in between, with the hard rules overriding the score. The thresholds
were set on synthetic data for auto-link precision ≥ 0.99 (see ``bench/matching.py --tune``);
lower recall is accepted because the review queue catches the rest.

Every decision carries an :class:`Explanation` (which field agreed at which level, with which
weight, the total, the thresholds, the rule that fired, the model version), so a reviewer sees a
waterfall and an auditor can re-run a decision with a new model and list what would change.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sync.matching.blocking import BlockingKey
from sync.matching.constraints import Effect, Rule
from sync.matching.scoring import FIELDS, MatchModel, ScoredPair


class Band(StrEnum):
    AUTO_LINK = "auto_link"
    REVIEW = "review"
    NEW = "new"


class Reason(StrEnum):
    """Why a record ended in its band. Rule codes first, then score-based reasons."""

    SAME_PERSONAL_ID = Rule.SAME_PERSONAL_ID.value
    POSSIBLE_TWIN = Rule.POSSIBLE_TWIN.value
    GIVEN_NAME_DIFFERS = Rule.GIVEN_NAME_DIFFERS.value
    PERSONAL_ID_SHARED = Rule.PERSONAL_ID_SHARED.value
    TWIN_SHARED_ID = Rule.TWIN_SHARED_ID.value
    SAME_ID_UNCONFIRMED = Rule.SAME_ID_UNCONFIRMED.value
    HOME_NAME_ONLY = Rule.HOME_NAME_ONLY.value
    SAME_MOTHER_AND_DOB = Rule.SAME_MOTHER_AND_DOB.value
    ID_CONFLICT = Rule.ID_CONFLICT.value
    SCORE_ABOVE_AUTO_LINK = "SCORE_ABOVE_AUTO_LINK"
    SCORE_IN_REVIEW_BAND = "SCORE_IN_REVIEW_BAND"
    AMBIGUOUS = "AMBIGUOUS"  # another child (or another row) scores as high: a person decides
    CANDIDATE_TAKEN = "CANDIDATE_TAKEN"  # the candidate went to another row of the submission
    NO_CANDIDATE = "NO_CANDIDATE"
    BELOW_REVIEW = "BELOW_REVIEW"
    MOVER = "MOVER"  # linked or proposed across villages or communes


@dataclass(frozen=True, slots=True)
class FieldWeight:
    field: str
    level: str
    weight: float
    tf_adjustment: float = 0.0


@dataclass(frozen=True, slots=True)
class Explanation:
    """Why a pair scored what it did, in a form that can be stored as JSON and shown."""

    record_id: str
    other_record_id: str
    model_version: str
    levels: tuple[str, ...]  # per field in FIELDS order (empty when a rule decided unscored)
    weights: tuple[float, ...]
    tf_adjustments: tuple[float, ...]
    total: float
    auto_link_threshold: float
    review_threshold: float
    rule: str | None
    rule_message: str | None

    @property
    def fields(self) -> tuple[FieldWeight, ...]:
        """One row per field: built on demand, as most explanations are stored, not shown."""
        return tuple(FieldWeight(f.value, str(level), w, tf) for f, level, w, tf in
                     zip(FIELDS, self.levels, self.weights, self.tf_adjustments, strict=False))

    @property
    def agreed_fields(self) -> tuple[str, ...]:
        return tuple(f.field for f in self.fields if f.weight > 0)

    @property
    def disagreed_fields(self) -> tuple[str, ...]:
        return tuple(f.field for f in self.fields if f.weight < 0)

    def level_of(self, field: str) -> str | None:
        return next((f.level for f in self.fields if f.field == field), None)

    def as_dict(self) -> dict[str, Any]:
        return {
            "record_id": self.record_id,
            "other_record_id": self.other_record_id,
            "model_version": self.model_version,
            "fields": [{"field": f.field, "level": f.level, "weight": round(f.weight, 3),
                        "tf_adjustment": round(f.tf_adjustment, 3)} for f in self.fields],
            "total": round(self.total, 3),
            "thresholds": {"auto_link": self.auto_link_threshold,
                           "review": self.review_threshold},
            "rule": self.rule,
            "rule_message": self.rule_message,
        }

    def summary(self) -> str:
        """One line, largest contributions first: for logs of decisions and the review screen."""
        parts = [f"{f.field} {f.level} ({f.weight:+.1f})"
                 for f in sorted(self.fields, key=lambda f: -abs(f.weight)) if f.weight]
        rule = f"; rule {self.rule}" if self.rule else ""
        return f"{', '.join(parts)}; total {self.total:.1f}{rule}"


def explain(pair: ScoredPair, model: MatchModel) -> Explanation:
    return Explanation(
        record_id=pair.record.record_id,
        other_record_id=pair.other.record_id,
        model_version=model.version,
        levels=pair.comparison or (),
        weights=pair.weights,
        tf_adjustments=pair.tf_adjustments,
        total=pair.total,
        auto_link_threshold=model.auto_link,
        review_threshold=model.review,
        rule=pair.rule.rule.value if pair.rule else None,
        rule_message=pair.rule.message if pair.rule else None,
    )


def band_by_rule_and_score(pair: ScoredPair, model: MatchModel) -> tuple[Band, Reason]:
    """The band of one pair on its own (before ambiguity and assignment are considered)."""
    if pair.rule is not None:
        if pair.rule.effect is Effect.LINK:
            return Band.AUTO_LINK, Reason.SAME_PERSONAL_ID
        if pair.rule.effect is Effect.AT_LEAST_REVIEW:
            if pair.total >= model.auto_link:
                return Band.AUTO_LINK, Reason.SCORE_ABOVE_AUTO_LINK
            return Band.REVIEW, Reason(pair.rule.rule.value)
        if pair.rule.effect is Effect.REVIEW or (
                pair.rule.effect is Effect.NO_AUTO_LINK and pair.total >= model.review):
            return Band.REVIEW, Reason(pair.rule.rule.value)
        if pair.rule.effect is Effect.NO_AUTO_LINK:
            return Band.NEW, Reason.BELOW_REVIEW
        return Band.NEW, Reason.ID_CONFLICT
    if pair.total >= model.auto_link:
        return Band.AUTO_LINK, Reason.SCORE_ABOVE_AUTO_LINK
    if pair.total >= model.review:
        return Band.REVIEW, Reason.SCORE_IN_REVIEW_BAND
    return Band.NEW, Reason.BELOW_REVIEW


@dataclass(frozen=True, slots=True)
class Candidate:
    """A registry child proposed for a record (a row of the review queue)."""

    child_id: str
    score: float
    explanation: Explanation


@dataclass(frozen=True, slots=True)
class Decision:
    """The outcome for one incoming record.

    ``child_id`` is the registry child linked (auto-link) or proposed (review); None for a new
    child, whose id the registry assigns. ``candidates`` are the review-queue rows, best first.
    ``keys`` are the record's blocking keys, already computed for the lookup: the rows to
    store in ``match_key`` so later submissions find this record.
    """

    record_id: str
    band: Band
    child_id: str | None
    reasons: tuple[Reason, ...]
    model_version: str
    explanation: Explanation | None = None
    candidates: tuple[Candidate, ...] = ()
    keys: tuple[BlockingKey, ...] = ()

    @property
    def score(self) -> float | None:
        return self.explanation.total if self.explanation else None
