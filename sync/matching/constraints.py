"""Hard rules that override the score (docs/matching.md §3.3).

The score is evidence; these rules are knowledge. Two children of one household submission are
different children by construction; two different valid personal IDs are two people; a pair
that looks like twins (same household, same date of birth, different names) is never linked by
a machine, because twins agree on everything a scorer can see except a name. A shared valid
personal ID consistent with both records links them whatever the names say (the child may have
been renamed at birth registration), unless the two agree on neither name nor household: a
one-digit slip can produce another child's valid number (a province issues tens of thousands of
numbers per birth year and sex), so that pair goes to review.

"Different names" covers diacritic-only differences (Hưng/Hùng), two real names one letter
apart (An/Anh), and two different middle names (Mai Hoa/Thanh Hoa): parents choose the middle
name for each child too. Beyond those four rules, a pair whose names differ in that sense
is never linked automatically: parents, household, village and family name are shared by
siblings, and a record without a date of birth would otherwise score its way onto a sibling.

Precedence, strongest first: same submission, ID conflict, possible twin, same personal ID,
different names. The twin rule outranks the personal ID on purpose: copying one twin's ID onto
the other's row of the household's list is an easy mistake, and a wrong merge hides a child;
when it does, the rule says so (``TWIN_SHARED_ID``), so the reviewer sees the shared number.

Nothing silent (docs/matching.md §3.3): a pair that shares a well-formed personal ID, or the
same mother and date of birth in one household or village, is the same child or a twin, so it
never ends as a "new child" on its score alone: such pairs are at least reviewed. A record that
gives only a home name (Bắp, Sóc) is linked on its score only when the household and the date
of birth agree too (a sibling has another date; a twin still in the registry makes the matcher
send the record to review); otherwise a person decides.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from sync.dates import DateLevel, compatible
from sync.matching.compare import (
    Comparison,
    GivenLevel,
    HouseholdLevel,
    IdLevel,
    LocationLevel,
    SexLevel,
    household_evidence,
    names_differ,
    person_agrees,
)
from sync.matching.records import MatchRecord
from sync.personal_id import hamming


class Rule(StrEnum):
    SAME_SUBMISSION = "SAME_SUBMISSION"
    ID_CONFLICT = "ID_CONFLICT"
    REVIEWER_CANNOT_LINK = "REVIEWER_CANNOT_LINK"  # an edge kind; the source filters these
    POSSIBLE_TWIN = "POSSIBLE_TWIN"
    SAME_PERSONAL_ID = "SAME_PERSONAL_ID"
    PERSONAL_ID_SHARED = "PERSONAL_ID_SHARED"
    TWIN_SHARED_ID = "TWIN_SHARED_ID"  # the twin rule held back a shared personal ID
    SAME_ID_UNCONFIRMED = "SAME_ID_UNCONFIRMED"  # same number, inconsistent with one record
    GIVEN_NAME_DIFFERS = "GIVEN_NAME_DIFFERS"
    HOME_NAME_ONLY = "HOME_NAME_ONLY"
    SAME_MOTHER_AND_DOB = "SAME_MOTHER_AND_DOB"


class Effect(StrEnum):
    CANNOT_LINK = "cannot_link"
    REVIEW = "review"  # a person decides, whatever the score
    NO_AUTO_LINK = "no_auto_link"  # review if the score reaches the review band, else new
    AT_LEAST_REVIEW = "at_least_review"  # linked above the auto-link threshold, else reviewed
    LINK = "link"


@dataclass(frozen=True, slots=True)
class RuleHit:
    rule: Rule
    effect: Effect
    message: str


SAME_SUBMISSION = RuleHit(Rule.SAME_SUBMISSION, Effect.CANNOT_LINK,
                          "both records come from one household submission: two children")
ID_CONFLICT = RuleHit(Rule.ID_CONFLICT, Effect.CANNOT_LINK,
                      "two different valid personal ID numbers: two people")
POSSIBLE_TWIN = RuleHit(Rule.POSSIBLE_TWIN, Effect.REVIEW,
                        "same household and date of birth, different given names: possible twins")
POSSIBLE_TWIN_PARTIAL_DATE = RuleHit(
    Rule.POSSIBLE_TWIN, Effect.NO_AUTO_LINK,
    "same household, different given names, birth dates agree as far as known: possible twins")
SAME_PERSONAL_ID = RuleHit(Rule.SAME_PERSONAL_ID, Effect.LINK,
                           "same valid personal ID, consistent with both records' sex and year")
PERSONAL_ID_SHARED = RuleHit(
    Rule.PERSONAL_ID_SHARED, Effect.REVIEW,
    "same personal ID on children with different names and households: one ID is mistyped")
GIVEN_NAME_DIFFERS = RuleHit(Rule.GIVEN_NAME_DIFFERS, Effect.NO_AUTO_LINK,
                             "different given (or middle) names: a person decides")
TWIN_SHARED_ID = RuleHit(
    Rule.TWIN_SHARED_ID, Effect.REVIEW,
    "same personal ID, but same household and birth date with different given names: possibly "
    "twins with one twin's ID copied onto the other")
SAME_ID_UNCONFIRMED = RuleHit(
    Rule.SAME_ID_UNCONFIRMED, Effect.AT_LEAST_REVIEW,
    "same personal ID, inconsistent with one record's sex or birth year: linked only on a "
    "strong score, else a person decides")
SAME_ID_UNCONFIRMED_NAMES = RuleHit(
    Rule.SAME_ID_UNCONFIRMED, Effect.REVIEW,
    "same personal ID, inconsistent with one record's sex or birth year, different names")
HOME_NAME_ONLY = RuleHit(Rule.HOME_NAME_ONLY, Effect.NO_AUTO_LINK,
                         "one record gives only the child's home name: a person decides")
HOME_NAME_SAME_BIRTH = RuleHit(
    Rule.HOME_NAME_ONLY, Effect.AT_LEAST_REVIEW,
    "one record gives only the child's home name; same household and date of birth: linked "
    "only on a strong score, else a person decides")
SAME_MOTHER_AND_DOB = RuleHit(
    Rule.SAME_MOTHER_AND_DOB, Effect.AT_LEAST_REVIEW,
    "same mother and date of birth in one household or village: the same child or a twin")
_BIRTH_DATES = frozenset({DateLevel.EXACT, DateLevel.SWAPPED, DateLevel.NEAR})
# dates that confirm a shared valid ID on their own (a year agrees with any valid ID anyway)
_ID_DATES = _BIRTH_DATES | {DateLevel.SAME_MONTH}


def cannot_link(a: MatchRecord, b: MatchRecord) -> RuleHit | None:
    """The rules that need no comparison (checked before scoring, so pruning never hides them)."""
    if a.submission_id == b.submission_id:
        return SAME_SUBMISSION
    if (a.personal_id_valid and b.personal_id_valid and a.personal_id != b.personal_id
            and a.personal_id and b.personal_id and hamming(a.personal_id, b.personal_id) >= 2):
        return ID_CONFLICT
    return None


def possible_twin(comparison: Comparison) -> RuleHit | None:
    """Twins agree on household and date of birth and differ only in the given name.

    With both dates known to the day (equal, swapped, or one digit apart: twins born either
    side of midnight) the pair always goes to review. When a date is known only to the month or
    year, agreement is weak evidence of twins (siblings share a birth year too), so the pair is
    only barred from auto-linking and is reviewed when its score reaches the review band.
    """
    if not (household_evidence(comparison) and names_differ(comparison)):
        return None
    if comparison.dob in (DateLevel.EXACT, DateLevel.SWAPPED, DateLevel.NEAR):
        return POSSIBLE_TWIN
    return POSSIBLE_TWIN_PARTIAL_DATE if compatible(comparison.dob) else None


def same_mother_and_birth(a: MatchRecord, b: MatchRecord, comparison: Comparison) -> bool:
    """Same mother, same date of birth (or days apart), one household or village."""
    return (comparison.dob in _BIRTH_DATES
            and (comparison.location is LocationLevel.SAME_VILLAGE
                 or comparison.household in (HouseholdLevel.SAME_ID, HouseholdLevel.HEAD_AGREES))
            and person_agrees(a.mother, b.mother) is True)


def _shared_id(a: MatchRecord, b: MatchRecord, comparison: Comparison) -> RuleHit | None:
    """The rule for a shared personal ID (None when the number is not shared or not formed)."""
    if comparison.personal_id is not IdLevel.SAME:
        return None
    if a.personal_id_valid and b.personal_id_valid:
        confirmed = (comparison.sex is not SexLevel.DIFFERENT and comparison.dob in _ID_DATES)
        if confirmed or not names_differ(comparison) or household_evidence(comparison):
            return SAME_PERSONAL_ID
        return PERSONAL_ID_SHARED
    if a.personal_id_formed and b.personal_id_formed:
        return SAME_ID_UNCONFIRMED_NAMES if names_differ(comparison) else SAME_ID_UNCONFIRMED
    return None


def apply_rules(a: MatchRecord, b: MatchRecord, comparison: Comparison) -> RuleHit | None:
    """The rule that decides this pair regardless of its score, if any."""
    hit = cannot_link(a, b)
    if hit is not None:
        return hit
    twin = possible_twin(comparison)
    if twin is not None:
        shared = (comparison.personal_id is IdLevel.SAME and a.personal_id_formed
                  and b.personal_id_formed)
        return TWIN_SHARED_ID if shared else twin
    hit = _shared_id(a, b, comparison)
    if hit is not None:
        return hit
    if names_differ(comparison):
        hit = GIVEN_NAME_DIFFERS
    elif comparison.given_name is GivenLevel.HOME_NAME:
        if comparison.dob in _BIRTH_DATES and household_evidence(comparison):
            # a strong score may link it: a sibling has another date, and a twin still in the
            # registry sends the record to review (the matcher's twin guard)
            return HOME_NAME_SAME_BIRTH
        hit = HOME_NAME_ONLY
    if same_mother_and_birth(a, b, comparison):  # never silently a new child
        if hit is None:
            return SAME_MOTHER_AND_DOB
        return RuleHit(hit.rule, Effect.REVIEW,
                       f"{hit.message}; same mother and date of birth: never a new child unseen")
    return hit
