"""Blocking keys: which registry records are worth scoring against an incoming record.

Matching never compares all pairs (docs/matching.md §1); a record is scored only against records
that share at least one key. Keys are ``(key_type, key_value)`` strings so the database can keep
them in one indexed table (``match_key(key_type, key_value, record_id)``, docs/matching.md §3.1)
and the in-memory index in a dict.

Every name-based key carries the commune: a province-wide name key makes blocks too big,
while a commune holds 2–6k children. Parents' and head's names carry the village
(they find siblings too, so they are the costliest keys); a child who moved village is still
found by the name and date keys. Only the personal ID and (given name, date of birth) are
national, to find children who moved from another commune or province. Dates use a
day/month-swap-insensitive form, so a swapped date still shares its keys.

The mother's given name with the child's birth year (in the village) finds the child whatever
its own name says (a home name, Bắp, for Nguyễn Văn Hùng) or its date is a few days off,
or when the mother's name was written differently (``Lan`` for ``Trần Thị Lan``); with the
date-of-birth key it makes sure that a pair with the same mother and date of birth is always
scored, so the rules can send it to review (docs/matching.md §3.3).

Not used: birth year + sex + village (docs/matching.md §3.1). On the synthetic benchmark it
brought half of all candidates and found one true pair in 5,000 that no other key found.
"""

from __future__ import annotations

from enum import StrEnum
from typing import NamedTuple

from sync.matching.records import MatchRecord
from sync.vietnamese import NormalisedName

# Northern and southern spellings of one family name share their keys (Hoàng/Huỳnh, Vũ/Võ).
_FAMILY_KEY = {"huynh": "hoang", "vo": "vu"}


def _person_key(name: NormalisedName) -> str:
    family = _FAMILY_KEY.get(name.family_fold, name.family_fold)
    return f"{family} {name.middle_fold} {name.given_fold}".replace("  ", " ").strip()


class KeyType(StrEnum):
    PERSONAL_ID = "pid"  # national
    NAME_DOB = "name_dob"  # national: movers between communes and provinces
    DOB = "dob"  # commune + full date of birth (catches given-name typos)
    GIVEN_YEAR = "given_year"  # commune + family and given name + birth year
    MOTHER = "mother"  # village + mother's name
    MOTHER_YEAR = "mother_year"  # village + mother's given name + birth year
    HEAD = "head"  # village + household head: household-level matching
    HOUSEHOLD = "household"  # commune + household number


_YEAR_KEYS = frozenset({KeyType.GIVEN_YEAR})


class BlockingKey(NamedTuple):
    key_type: str
    key_value: str


class RecordKeys(NamedTuple):
    """A record's stored keys and the widened ones, worked out once (`record_keys`): the
    registry looks a batch's records up by both before matching them, and the matcher then
    asks for the same keys again."""

    stored: list[BlockingKey]
    widened: list[BlockingKey]

    def every(self) -> list[BlockingKey]:
        """Every key the record may be looked up by."""
        return self.stored + self.widened


def record_keys(record: MatchRecord) -> RecordKeys:
    """The keys a record is stored under and the widened keys it may be looked up by."""
    stored = blocking_keys(record)
    return RecordKeys(stored, widened_keys(record, stored))


def _years(record: MatchRecord) -> tuple[int, ...]:
    if record.dob is None:
        return ()
    if record.dob.estimated:  # an age-derived year is ±1
        return (record.dob.year - 1, record.dob.year, record.dob.year + 1)
    return (record.dob.year,)


def widened_keys(record: MatchRecord, keys: list[BlockingKey] | None = None) -> list[BlockingKey]:
    """More keys to look a record up by when its stored keys found nothing worth a person's
    look: the name-and-year key for the years either side (a birth year off by one,
    docs/matching.md §3.1). Only lookups widen, so nothing more is stored and keys stored
    earlier still match; the matcher asks for them only then, because namesakes born a year
    apart would double the pairs scored for every record."""
    keys = blocking_keys(record) if keys is None else keys
    if record.dob is None or record.dob.estimated:  # an estimated year is stored ±1 already
        return []
    year = str(record.dob.year)
    return [BlockingKey(key.key_type, f"{key.key_value[:-len(year)]}{record.dob.year + step}")
            for key in keys if key.key_type in _YEAR_KEYS for step in (-1, 1)]


def blocking_keys(record: MatchRecord) -> list[BlockingKey]:
    """The keys a record is stored under and looked up by (see also :func:`widened_keys`)."""
    keys: list[BlockingKey] = []
    commune = record.commune
    given = "" if record.name.placeholder else record.name.given_fold
    if record.personal_id and len(record.personal_id) >= 9:
        keys.append(BlockingKey(KeyType.PERSONAL_ID, record.personal_id))
    day_key = record.dob.swap_insensitive_key() if record.dob else None
    if day_key:
        keys.append(BlockingKey(KeyType.DOB, f"{commune}|{day_key}"))
        if given:
            keys.append(BlockingKey(KeyType.NAME_DOB, f"{given}|{day_key}"))
    if given:
        family = _FAMILY_KEY.get(record.name.family_fold, record.name.family_fold)
        keys += [BlockingKey(KeyType.GIVEN_YEAR, f"{commune}|{family}|{given}|{year}")
                 for year in _years(record)]
    place = f"{commune}|{record.village}"
    if record.mother.fold:
        keys.append(BlockingKey(KeyType.MOTHER, f"{place}|{_person_key(record.mother)}"))
        if record.mother.given_fold:
            keys += [BlockingKey(KeyType.MOTHER_YEAR, f"{place}|{record.mother.given_fold}|{y}")
                     for y in _years(record)]
    if record.head.fold:
        keys.append(BlockingKey(KeyType.HEAD, f"{place}|{_person_key(record.head)}"))
    if record.household_id:
        keys.append(BlockingKey(KeyType.HOUSEHOLD, f"{commune}|{record.household_id}"))
    return keys
