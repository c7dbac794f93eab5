"""Per-field comparison levels for a pair of records.

Each field is compared into a small set of named levels (Fellegi-Sunter "comparison levels");
the scorer turns each level into a weight. Levels, not raw similarities, keep every decision
explainable: "given name: typed without diacritics, otherwise equal" is something a commune
officer can check.

Choices specific to Vietnamese names (docs/domain.md §3):

* The given name (last token) carries most of the information; the family name very little
  (a village can be 40 % Nguyễn), so it gets its own field and a term-frequency adjustment.
* A record typed entirely without diacritics says nothing about marks: ``Hung`` vs ``Hùng`` is
  ``ascii_equal``. When both records carry marks, ``Hưng`` vs ``Hùng`` is ``diacritic_diff``:
  twins are named that way, so this level never counts as agreement for the twin rule.
* A one-letter slip that leaves no Vietnamese syllable (``Anhh``, ``Bihc``) is ``mistyped``: a
  typing error, not a name, so it does not make a twin. ``An``/``Anh`` are both names: ``typo``.
* Hoàng/Huỳnh and Vũ/Võ are one family name in northern and southern spelling (``variant``).
* Parents are one field (both agree / one agrees / ...) rather than two, because siblings agree
  on both at once; summing them as independent evidence is what makes naive models merge
  siblings and twins (docs/matching.md §3.2).
"""

from __future__ import annotations

from enum import StrEnum
from typing import NamedTuple

from rapidfuzz.distance import OSA

from sync.dates import DateLevel, compare_dates
from sync.matching.records import MatchRecord, Sex
from sync.personal_id import hamming
from sync.vietnamese import NormalisedName


class Field(StrEnum):
    PERSONAL_ID = "personal_id"
    GIVEN_NAME = "given_name"
    FAMILY_NAME = "family_name"
    MIDDLE_NAME = "middle_name"
    SEX = "sex"
    DOB = "dob"
    PARENTS = "parents"
    HOUSEHOLD = "household"
    LOCATION = "location"


class IdLevel(StrEnum):
    SAME = "same"
    NEAR = "near"  # one digit apart: a typo
    DIFFERENT = "different"
    MISSING = "missing"


class GivenLevel(StrEnum):
    EXACT = "exact"
    ASCII_EQUAL = "ascii_equal"  # equal once folded; one record was typed without any marks
    NICKNAME = "nickname"  # one record's nickname or home name is the other's given/home name
    HOME_NAME = "home_name"  # one record gives only a home name (Bắp, Sóc): no evidence either way
    DIACRITIC_DIFF = "diacritic_diff"  # both typed with marks, the marks differ (Hưng/Hùng)
    MISTYPED = "mistyped"  # one letter off a real syllable into no syllable (Anh/Anhh, Bích/Bihc)
    TYPO = "typo"  # one letter off otherwise (An/Anh): maybe a typo, maybe another name
    DIFFERENT = "different"
    MISSING = "missing"  # absent, or a "Trai"/"Gái" placeholder


class FamilyLevel(StrEnum):
    EXACT = "exact"
    VARIANT = "variant"  # Hoàng/Huỳnh, Vũ/Võ
    TYPO = "typo"
    DIFFERENT = "different"
    MISSING = "missing"


class MiddleLevel(StrEnum):
    EXACT = "exact"
    TYPO = "typo"
    PARTIAL = "partial"  # one middle name is part of the other (Thị Ngọc / Ngọc): one dropped
    DIFFERENT = "different"
    MISSING = "missing"  # often left out: no evidence either way


class SexLevel(StrEnum):
    SAME = "same"
    DIFFERENT = "different"
    MISSING = "missing"


class ParentsLevel(StrEnum):
    BOTH_AGREE = "both_agree"
    ONE_AGREES = "one_agrees"  # the other parent is missing on one side
    MIXED = "mixed"  # one agrees, the other differs (step-parent, remarriage, error)
    DIFFER = "differ"
    MISSING = "missing"


class HouseholdLevel(StrEnum):
    SAME_ID = "same_id"  # same household number in the same commune
    HEAD_AGREES = "head_agrees"  # household head (or guardian) names agree
    HEAD_DIFFERS = "head_differs"
    MISSING = "missing"


class LocationLevel(StrEnum):
    SAME_VILLAGE = "same_village"
    SAME_COMMUNE = "same_commune"  # moved within the commune
    OTHER_COMMUNE = "other_commune"
    MISSING = "missing"


_FAMILY_VARIANTS = {"huynh": "hoang", "vo": "vu"}


class Comparison(NamedTuple):
    """The level of every field for one pair, in :class:`Field` order."""

    personal_id: IdLevel
    given_name: GivenLevel
    family_name: FamilyLevel
    middle_name: MiddleLevel
    sex: SexLevel
    dob: DateLevel
    parents: ParentsLevel
    household: HouseholdLevel
    location: LocationLevel


def _typo(a: str, b: str) -> bool:
    """One insertion, deletion, substitution or adjacent transposition apart."""
    return -1 <= len(a) - len(b) <= 1 and OSA.distance(a, b, score_cutoff=1) <= 1


def personal_id_level(a: MatchRecord, b: MatchRecord) -> IdLevel:
    if not a.personal_id or not b.personal_id:
        return IdLevel.MISSING
    if a.personal_id == b.personal_id:
        return IdLevel.SAME
    return IdLevel.NEAR if hamming(a.personal_id, b.personal_id) == 1 else IdLevel.DIFFERENT


def _surname_only(a: NormalisedName, b: NormalisedName) -> bool:
    """``Hoang`` alone against ``Hoàng Gia Nhi``: the one word is the other's family name."""
    return (not a.family_fold and not a.given_is_home_name and bool(b.family_fold)
            and same_family(a.given_fold, b.family_fold))


def given_level(a: NormalisedName, b: NormalisedName) -> GivenLevel:
    if not a.given or not b.given or a.placeholder or b.placeholder:
        return GivenLevel.MISSING
    if a.given_fold != b.given_fold and (_surname_only(a, b) or _surname_only(b, a)):
        return GivenLevel.MISSING
    if a.given == b.given:
        return GivenLevel.EXACT
    if a.given_fold == b.given_fold:
        return GivenLevel.ASCII_EQUAL if a.ascii_only or b.ascii_only else GivenLevel.DIACRITIC_DIFF
    if (a.nicknames or b.nicknames) and (
        a.given_fold in b.nicknames or b.given_fold in a.nicknames
        or set(a.nicknames) & set(b.nicknames)
    ):
        return GivenLevel.NICKNAME
    if a.given_is_home_name != b.given_is_home_name:
        # a home name against a formal name says nothing, unless the formal record gives its
        # own, different home name (Hùng (Tít) vs Bắp: two children's home names)
        formal = b if a.given_is_home_name else a
        return GivenLevel.DIFFERENT if formal.nicknames else GivenLevel.HOME_NAME
    if not _typo(a.given_fold, b.given_fold):
        return GivenLevel.DIFFERENT
    # a slip only when exactly one side is a Vietnamese syllable: two names outside the syllable
    # system (many ethnic-minority names) one letter apart may well be two children
    if a.given_is_syllable != b.given_is_syllable:
        return GivenLevel.MISTYPED
    return GivenLevel.TYPO


def same_family(a: str, b: str) -> bool:
    return a == b or _FAMILY_VARIANTS.get(a, a) == _FAMILY_VARIANTS.get(b, b)


def family_level(a: NormalisedName, b: NormalisedName) -> FamilyLevel:
    if not a.family_fold or not b.family_fold:
        return FamilyLevel.MISSING
    if a.family_fold == b.family_fold:
        return FamilyLevel.EXACT
    if same_family(a.family_fold, b.family_fold):
        return FamilyLevel.VARIANT
    return FamilyLevel.TYPO if _typo(a.family_fold, b.family_fold) else FamilyLevel.DIFFERENT


def middle_level(a: NormalisedName, b: NormalisedName) -> MiddleLevel:
    if not a.middle_fold or not b.middle_fold:
        return MiddleLevel.MISSING
    if a.middle_fold == b.middle_fold:
        return MiddleLevel.EXACT
    if _typo(a.middle_fold, b.middle_fold):
        return MiddleLevel.TYPO
    words_a, words_b = set(a.middle_fold.split()), set(b.middle_fold.split())
    if words_a <= words_b or words_b <= words_a:
        return MiddleLevel.PARTIAL
    return MiddleLevel.DIFFERENT


def person_agrees(a: NormalisedName, b: NormalisedName) -> bool | None:
    """Same adult? None when either name is missing. Tolerates a dropped middle name, a
    northern/southern family spelling and one slip, not a different middle name (Nguyễn Văn
    Bảo and Nguyễn Hoàng Bảo are two men)."""
    if not a.fold or not b.fold:
        return None
    if a.fold == b.fold:
        return True
    if not a.family_fold or not b.family_fold:  # "Lan" for "Trần Thị Lan": the given name only
        return bool(a.given_fold) and a.given_fold == b.given_fold
    if (a.given_fold == b.given_fold and same_family(a.family_fold, b.family_fold)
            and (not a.middle_fold or not b.middle_fold or _typo(a.middle_fold, b.middle_fold))):
        return True
    return _typo(a.fold, b.fold)


def parents_level(a: MatchRecord, b: MatchRecord) -> ParentsLevel:
    verdicts = (person_agrees(a.mother, b.mother), person_agrees(a.father, b.father))
    agree, differ = verdicts.count(True), verdicts.count(False)
    if agree == 2:
        return ParentsLevel.BOTH_AGREE
    if agree == 1:
        return ParentsLevel.MIXED if differ else ParentsLevel.ONE_AGREES
    return ParentsLevel.DIFFER if differ else ParentsLevel.MISSING


def household_level(a: MatchRecord, b: MatchRecord) -> HouseholdLevel:
    if a.household_id and a.household_id == b.household_id and a.commune == b.commune:
        return HouseholdLevel.SAME_ID
    seen = False
    for x in (a.head, a.guardian):
        for y in (b.head, b.guardian):
            verdict = person_agrees(x, y)
            if verdict:
                return HouseholdLevel.HEAD_AGREES
            seen = seen or verdict is not None
    return HouseholdLevel.HEAD_DIFFERS if seen else HouseholdLevel.MISSING


def location_level(a: MatchRecord, b: MatchRecord) -> LocationLevel:
    if not a.commune or not b.commune:
        return LocationLevel.MISSING
    if a.commune != b.commune:
        return LocationLevel.OTHER_COMMUNE
    if a.village and a.village == b.village:
        return LocationLevel.SAME_VILLAGE
    return LocationLevel.SAME_COMMUNE if a.village and b.village else LocationLevel.MISSING


def sex_level(a: MatchRecord, b: MatchRecord) -> SexLevel:
    if a.sex is Sex.UNKNOWN or b.sex is Sex.UNKNOWN:
        return SexLevel.MISSING
    return SexLevel.SAME if a.sex is b.sex else SexLevel.DIFFERENT


def compare(a: MatchRecord, b: MatchRecord) -> Comparison:
    """Compare every field. (The scorer inlines the equal-value cases and prunes between
    stages; a test checks that it agrees with this function on every pair.)"""
    return Comparison(
        personal_id=personal_id_level(a, b),
        given_name=given_level(a.name, b.name),
        family_name=family_level(a.name, b.name),
        middle_name=middle_level(a.name, b.name),
        sex=sex_level(a, b),
        dob=compare_dates(a.dob, b.dob),
        parents=parents_level(a, b),
        household=household_level(a, b),
        location=location_level(a, b),
    )


def household_evidence(c: Comparison) -> bool:
    """Do the two records come from the same household (a parent or the head agrees)?"""
    return (c.parents in (ParentsLevel.BOTH_AGREE, ParentsLevel.ONE_AGREES, ParentsLevel.MIXED)
            or c.household in (HouseholdLevel.SAME_ID, HouseholdLevel.HEAD_AGREES))


def given_names_differ(level: GivenLevel) -> bool:
    """Different given names, diacritic-only differences included."""
    return level in (GivenLevel.DIACRITIC_DIFF, GivenLevel.TYPO, GivenLevel.DIFFERENT)


def names_differ(c: Comparison) -> bool:
    """Different personal names (the twin rule's test): the given name differs, or both records
    carry a middle name and they differ. The middle name is part of what parents choose for each
    child (twins Dương Mai Hoa and Dương Thanh Hoà typed without marks differ only there)."""
    return given_names_differ(c.given_name) or c.middle_name is MiddleLevel.DIFFERENT
