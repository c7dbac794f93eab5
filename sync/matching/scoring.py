"""Fellegi-Sunter scoring: one weight per comparison level, summed.

For each level, ``m`` is the share of true matches at that level and ``u`` the share of
non-matches; the weight is ``log2(m / u)``. Scoring a pair is a table lookup per field plus a
sum, so the same model JSON can come from our own counting (:func:`fit_model`, on labelled
synthetic pairs and, later, reviewers' decisions) or from an offline Splink fit (docs/matching.md
§6). The model carries a version; every automatic decision records it (§3.5).

``m`` is counted on true matches, ``u`` on random pairs of children of one commune (how
Splink estimates ``u`` too). Counting ``u`` on blocked candidate pairs instead was tried and
rejected: blocking selects pairs that agree on something (the given name, the date), so the
agreement it selected on looks worthless (given name exact came out at +0.3) and slips weigh
more than exact agreement. The price of random pairs is that siblings agree on every household
field at once and those weights add up; the hard rules carry that risk instead (different given
names never auto-link; twins always go to review), see ``constraints.py``.

Term-frequency adjustment (given and family name): agreeing on a rare name is stronger evidence
than agreeing on "Anh" or "Nguyễn". The adjustment is ``log2(mean frequency / frequency of this
value)``, capped, added to the level's weight; the index supplies the frequencies.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from sync.dates import DateLevel, compare_dates
from sync.matching.compare import (
    Comparison,
    FamilyLevel,
    Field,
    GivenLevel,
    IdLevel,
    LocationLevel,
    MiddleLevel,
    SexLevel,
    family_level,
    given_level,
    household_level,
    location_level,
    middle_level,
    parents_level,
    personal_id_level,
    sex_level,
)
from sync.matching.constraints import RuleHit, apply_rules, cannot_link
from sync.matching.records import MatchRecord, Sex

MODEL_PATH = Path(__file__).with_name("model.json")
FIELDS = tuple(Field)
_TWIN_DATES = frozenset({DateLevel.EXACT, DateLevel.SWAPPED, DateLevel.NEAR})
# Enum attribute access is slow in Python 3.11's hot loops: module constants instead.
_SAME_ID, _ID_MISSING = IdLevel.SAME, IdLevel.MISSING
_GIVEN_EXACT, _FAMILY_EXACT, _MIDDLE_EXACT = GivenLevel.EXACT, FamilyLevel.EXACT, MiddleLevel.EXACT
_SEX_SAME, _UNKNOWN_SEX = SexLevel.SAME, Sex.UNKNOWN
_SAME_VILLAGE = LocationLevel.SAME_VILLAGE
_MISSING = "missing"
# Levels that carry no evidence unless a model fits them (the synthetic data has none to count).
_NEUTRAL = {Field.GIVEN_NAME: (GivenLevel.HOME_NAME.value,),
            Field.MIDDLE_NAME: (MiddleLevel.PARTIAL.value,)}


class TermFrequencies(Protocol):
    """Name frequencies in the registry (the index or a database table provides them)."""

    def frequency(self, field: str, value: str) -> float | None: ...

    def mean_frequency(self, field: str) -> float | None: ...


@dataclass(frozen=True)
class MatchModel:
    """Weights per field and level, the two thresholds, and the version that names them."""

    version: str
    m_u: Mapping[str, Mapping[str, tuple[float, float]]]
    auto_link: float
    review: float
    tf_levels: Mapping[str, frozenset[str]]
    tf_cap: float = 3.0

    def weight(self, field: str, level: str) -> float:
        """``log2(m/u)``; 0 for "missing" and for the neutral levels a model does not fit
        (``home_name``, a ``partial`` middle name: no evidence either way, docs/matching.md
        §3.2)."""
        if level == _MISSING or level not in self.m_u[field]:
            return 0.0
        m, u = self.m_u[field][level]
        return math.log2(m / u)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> MatchModel:
        return cls(
            version=str(data["model_version"]),
            m_u={f: {lvl: (float(p["m"]), float(p["u"])) for lvl, p in levels.items()}
                 for f, levels in data["fields"].items()},
            auto_link=float(data["thresholds"]["auto_link"]),
            review=float(data["thresholds"]["review"]),
            tf_levels={f: frozenset(lv) for f, lv in data["term_frequency"]["levels"].items()},
            tf_cap=float(data["term_frequency"]["cap"]),
        )

    @classmethod
    def load(cls, path: Path | str = MODEL_PATH) -> MatchModel:
        return cls.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))


@dataclass(frozen=True, slots=True)
class ScoredPair:
    """One incoming record against one registry record: levels, weights, total, rule.

    ``comparison`` is None when a rule that needs no comparison (same submission, ID conflict)
    decided the pair before any field was compared.
    """

    record: MatchRecord
    other: MatchRecord
    comparison: Comparison | None
    weights: tuple[float, ...]  # per field in ``FIELDS`` order, term-frequency included
    tf_adjustments: tuple[float, ...]  # the term-frequency part of each weight
    total: float
    rule: RuleHit | None


class Scorer:
    """Scores pairs with a model; prunes pairs that cannot reach the review band.

    Fields are compared in stages, most discriminating first (personal ID, given name, date of
    birth; then the cheap ones; then parents and household, which compare up to six names).
    After each stage, if even the best
    possible remaining weights cannot lift the pair to ``floor`` and no rule could still send
    it to review or link it, the pair is dropped: most candidates are siblings or namesakes and
    never need their remaining fields compared.
    """

    def __init__(self, model: MatchModel, frequencies: TermFrequencies | None = None) -> None:
        self.model = model
        self.frequencies = frequencies
        self._table = {f: {lvl: model.weight(f, lvl) for lvl in model.m_u[f]}
                       | dict.fromkeys(_NEUTRAL.get(f, ()), 0.0) | {_MISSING: 0.0}
                       for f in FIELDS}
        best = {f: max(self._table[f].values()) for f in FIELDS}
        self._after_stage2 = best[Field.PARENTS] + best[Field.HOUSEHOLD]
        tf_family = model.tf_cap if Field.FAMILY_NAME in model.tf_levels else 0.0
        self._after_stage1 = self._after_stage2 + (
            best[Field.FAMILY_NAME] + tf_family + best[Field.MIDDLE_NAME] + best[Field.SEX]
            + best[Field.LOCATION])

    def _tf(self, field: str, value: str) -> float:
        """The capped term-frequency adjustment for agreeing on ``value``."""
        if self.frequencies is None or field not in self.model.tf_levels or not value:
            return 0.0
        freq = self.frequencies.frequency(field, value)
        mean = self.frequencies.mean_frequency(field)
        if not freq or not mean:
            return 0.0
        cap = self.model.tf_cap
        return max(-cap, min(cap, math.log2(mean / freq)))

    def score(
        self, a: MatchRecord, b: MatchRecord, floor: float | None = None
    ) -> ScoredPair | None:
        """Score ``a`` against ``b``; None when pruned under ``floor``."""
        return next(iter(self.score_all(a, [b], floor)), None)

    def score_all(
        self, a: MatchRecord, others: Iterable[MatchRecord], floor: float | None = None
    ) -> list[ScoredPair]:
        """Score one incoming record against many; pruned pairs are left out. Hard rules that
        need no comparison are checked first, so pruning never hides a cannot-link."""
        table, model = self._table, self.model
        w_pid, w_given, w_dob, w_parents, w_household = (
            table[Field.PERSONAL_ID], table[Field.GIVEN_NAME], table[Field.DOB],
            table[Field.PARENTS], table[Field.HOUSEHOLD])
        w_family, w_middle, w_sex, w_location = (
            table[Field.FAMILY_NAME], table[Field.MIDDLE_NAME], table[Field.SEX],
            table[Field.LOCATION])
        tf_given_levels = model.tf_levels.get(Field.GIVEN_NAME, frozenset())
        tf_family_levels = model.tf_levels.get(Field.FAMILY_NAME, frozenset())
        tf_given = self._tf(Field.GIVEN_NAME, a.name.given_fold) if tf_given_levels else 0.0
        tf_family = self._tf(Field.FAMILY_NAME, a.name.family_fold) if tf_family_levels else 0.0
        after1, after2 = self._after_stage1, self._after_stage2
        prune = -math.inf if floor is None else floor
        # The common cases (equal values) are decided inline; everything else goes through the
        # compare.py functions, which define the levels (a test checks both agree on every pair).
        name, dob_a, sub, pid_a, sex_a = a.name, a.dob, a.submission_id, a.personal_id, a.sex
        given_a = name.given if name.given and not name.placeholder else None
        family_a, middle_a = name.family_fold, name.middle_fold
        commune_a, village_a = a.commune, a.village
        known_sex = sex_a is not _UNKNOWN_SEX
        pairs = []
        for b in others:
            if b.submission_id == sub or (pid_a and b.personal_id and b.personal_id != pid_a
                                          and a.personal_id_valid and b.personal_id_valid):
                hit = cannot_link(a, b)
                if hit is not None:
                    pairs.append(ScoredPair(a, b, None, (), (), -math.inf, hit))
                    continue
            b_name = b.name
            pid = (_ID_MISSING if not (pid_a and b.personal_id) else
                   _SAME_ID if b.personal_id == pid_a else personal_id_level(a, b))
            given = (_GIVEN_EXACT if given_a is not None and b_name.given == given_a
                     and not b_name.placeholder else given_level(name, b_name))
            dob = compare_dates(dob_a, b.dob)
            tf_g = tf_given if given in tf_given_levels else 0.0
            partial = w_pid[pid] + w_given[given] + tf_g + w_dob[dob]
            # a rule may still fire: same personal ID (link) or twin-like dates (review)
            keep = pid is _SAME_ID or dob in _TWIN_DATES
            if not keep and partial + after1 < prune:
                continue
            family = (_FAMILY_EXACT if family_a and b_name.family_fold == family_a
                      else family_level(name, b_name))
            middle = (_MIDDLE_EXACT if middle_a and b_name.middle_fold == middle_a
                      else middle_level(name, b_name))
            sex = (_SEX_SAME if known_sex and b.sex is sex_a else sex_level(a, b))
            location = (_SAME_VILLAGE if village_a and b.village == village_a
                        and b.commune == commune_a and commune_a else location_level(a, b))
            tf_f = tf_family if family in tf_family_levels else 0.0
            partial += (w_family[family] + tf_f + w_middle[middle] + w_sex[sex]
                        + w_location[location])
            if not keep and partial + after2 < prune:
                continue
            parents, household = parents_level(a, b), household_level(a, b)
            comparison = Comparison(pid, given, family, middle, sex, dob, parents, household,
                                    location)
            tfs = (0.0, tf_g, tf_f, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0)
            weights = (w_pid[pid], w_given[given] + tf_g, w_family[family] + tf_f,
                       w_middle[middle], w_sex[sex], w_dob[dob], w_parents[parents],
                       w_household[household], w_location[location])
            pairs.append(ScoredPair(a, b, comparison, weights, tfs, sum(weights),
                                    apply_rules(a, b, comparison)))
        return pairs


def fit_model(
    matches: Iterable[Comparison],
    non_matches: Iterable[Comparison],
    *,
    version: str,
    auto_link: float,
    review: float,
    template: MatchModel,
) -> dict[str, Any]:
    """Count ``m`` on true matches and ``u`` on non-matches (add-one smoothed), as model JSON.

    Levels, term-frequency settings and the set of fields come from ``template``; thresholds
    are the caller's (the benchmark's tuning run chooses them). Reviewers' decisions can feed
    ``matches`` and ``non_matches`` the same way (docs/matching.md §4).
    """
    counts: dict[bool, dict[str, Counter[str]]] = {
        flag: {f: Counter() for f in FIELDS} for flag in (True, False)}
    for flag, comparisons in ((True, matches), (False, non_matches)):
        for comparison in comparisons:
            for f, level in zip(FIELDS, comparison, strict=True):
                counts[flag][f][level] += 1
    fields: dict[str, dict[str, dict[str, float]]] = {}
    for f in FIELDS:
        levels = [lvl for lvl in template.m_u[f] if lvl != _MISSING]
        m, u = counts[True][f], counts[False][f]
        m_total = sum(m[lvl] for lvl in levels) + len(levels)
        u_total = sum(u[lvl] for lvl in levels) + len(levels)
        fields[f] = {lvl: {"m": round((m[lvl] + 1) / m_total, 6),
                           "u": round((u[lvl] + 1) / u_total, 6)} for lvl in levels}
    return {
        "model_version": version,
        "thresholds": {"auto_link": auto_link, "review": review},
        "term_frequency": {"levels": {f: sorted(v) for f, v in template.tf_levels.items()},
                           "cap": template.tf_cap},
        "fields": fields,
    }
