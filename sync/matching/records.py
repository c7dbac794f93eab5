"""The child record as matching sees it, and its prepared (normalised) form.

A :class:`ChildRecord` is one report of one child: a row of a household submission's child
repeat, or a row of an imported Excel list. It is immutable and keeps its
own id forever (docs/matching.md §5): a registry child is a cluster of such records.

:func:`prepare` derives everything the comparison needs once per record (normalised names,
folded keys, the personal-ID check), so scoring a pair does no Unicode work. The database layer
builds ``ChildRecord`` from its rows and calls ``prepare``; the derived values it may want as
indexed columns (``name_norm``, ``name_fold``) are on :class:`MatchRecord`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum
from functools import lru_cache

from sync.dates import PartialDate
from sync.personal_id import DEFAULT_RULES, IdProblem, PersonalIdRules, check_personal_id
from sync.vietnamese import NormalisedName, fold, normalise_name, normalise_text


class Sex(StrEnum):
    MALE = "M"
    FEMALE = "F"
    UNKNOWN = "U"


_SEX_WORDS = {"m": Sex.MALE, "male": Sex.MALE, "nam": Sex.MALE, "trai": Sex.MALE,
              "f": Sex.FEMALE, "female": Sex.FEMALE, "nu": Sex.FEMALE, "gai": Sex.FEMALE}


def parse_sex(text: str | None) -> Sex:
    """``M``/``F``, ``Nam``/``Nữ`` (with or without marks), ``male``/``female``; else unknown."""
    return _SEX_WORDS.get(fold(normalise_text(text)), Sex.UNKNOWN) if text else Sex.UNKNOWN


@dataclass(frozen=True, slots=True)
class ChildRecord:
    """One report of one child, as submitted or imported (never edited afterwards).

    ``village`` and ``commune`` are codes (or names; they are compared after normalisation);
    ``household_id`` is the household number or local household code when one was given.
    """

    record_id: str
    submission_id: str
    full_name: str
    sex: Sex = Sex.UNKNOWN
    dob: PartialDate | None = None
    village: str = ""
    commune: str = ""
    household_id: str = ""
    household_head: str = ""
    mother_name: str = ""
    father_name: str = ""
    guardian_name: str = ""
    personal_id: str = ""
    home_name: str = ""  # tên ở nhà when the form or list gives one (docs/matching.md §2)


@dataclass(frozen=True, slots=True)
class MatchRecord:
    """A record with its comparison features computed (see :func:`prepare`)."""

    record_id: str
    submission_id: str
    name: NormalisedName
    sex: Sex
    dob: PartialDate | None
    village: str  # folded
    commune: str  # folded
    household_id: str
    head: NormalisedName
    mother: NormalisedName
    father: NormalisedName
    guardian: NormalisedName
    personal_id: str | None  # digits as given (maybe malformed), None when absent
    personal_id_valid: bool  # well-formed *and* consistent with this record's sex and year
    # well-formed (12 digits, known province), whatever the sex and year say: the same such
    # number on two records is never ignored, even when one record's birth year is off by one
    personal_id_formed: bool = False

    @property
    def birth_year(self) -> int | None:
        return self.dob.year if self.dob else None


_NOT_FORMED = frozenset({IdProblem.NOT_12_DIGITS, IdProblem.UNKNOWN_PROVINCE})


def _with_home_name(name: NormalisedName, home_name: str) -> NormalisedName:
    """The name with the record's explicit home name (``home_name`` field) as a nickname, so
    the other record's given name or home name is compared against it (docs/matching.md §2.1)."""
    home = normalise_name(home_name)
    folded = home.fold
    if not folded or folded in name.nicknames or home.placeholder:
        return name
    if not name.fold:  # only the home name was given
        return replace(home, nicknames=(*home.nicknames, folded) if folded not in home.nicknames
                       else home.nicknames, given_is_home_name=True)
    return replace(name, nicknames=(*name.nicknames, folded))


# Kinds of village written before its name or left out ("Thôn Đoài" / "Đoài"); the village
# directory ignores them the same way (server/registry/villages.py).
_PLACE_KINDS = ("thon ", "ban ", "xom ", "ap ", "to dan pho ", "khu pho ", "lang ", "buon ")


@lru_cache(maxsize=4096)
def _place(text: str) -> str:
    folded = fold(normalise_text(text))
    for kind in _PLACE_KINDS:
        if folded.startswith(kind) and len(folded) > len(kind):
            return folded[len(kind):]
    return folded


def prepare(record: ChildRecord, rules: PersonalIdRules = DEFAULT_RULES) -> MatchRecord:
    """Normalise a record once; every comparison and blocking key reads the result."""
    sex = record.sex.value if record.sex is not Sex.UNKNOWN else None
    year = record.dob.year if record.dob and not record.dob.estimated else None
    pid = check_personal_id(record.personal_id, sex=sex, birth_year=year, rules=rules)
    return MatchRecord(
        record_id=record.record_id,
        submission_id=record.submission_id,
        name=_with_home_name(normalise_name(record.full_name), record.home_name),
        sex=record.sex,
        dob=record.dob,
        village=_place(record.village),
        commune=_place(record.commune),
        household_id=record.household_id.strip().lower(),
        head=normalise_name(record.household_head),
        mother=normalise_name(record.mother_name),
        father=normalise_name(record.father_name),
        guardian=normalise_name(record.guardian_name),
        personal_id=pid.digits,
        personal_id_valid=pid.valid,
        personal_id_formed=pid.digits is not None and not _NOT_FORMED & set(pid.problems),
    )
