"""The Vietnamese personal identification number (mã định danh cá nhân, the CCCD number).

Under Đề án 06 communes add this number to child records (docs/domain.md §2), so it is the
strongest key the registry has. Its structure, per Circular 07/2016/TT-BCA:

* 12 digits (docs/domain.md §2: "12 digits" is **unverified**);
* digits 1–3: the province where the birth was registered (Appendix 1 of the circular: 63 codes
  from 001 Hà Nội to 096 Cà Mau; the list below was checked against a copy of that appendix, the
  2025 province mergers did not renumber issued IDs **[U]**);
* digit 4: century of birth and sex: 0/1 = 20th century male/female, 2/3 = 21st, 4/5 = 22nd,
  6/7 = 23rd, 8/9 = 24th (**[U]**, general knowledge);
* digits 5–6: the last two digits of the birth year; digits 7–12: a random number.

Every unverified rule is a switch in :class:`PersonalIdRules`, so a commune that finds a
counter-example can turn it off without a code change.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum

PROVINCE_CODES = frozenset("""001 002 004 006 008 010 011 012 014 015 017 019 020 022 024 025 026
    027 030 031 033 034 035 036 037 038 040 042 044 045 046 048 049 051 052 054 056 058 060 062
    064 066 067 068 070 072 074 075 077 079 080 082 083 084 086 087 089 091 092 093 094 095
    096""".split())
# Fourth digit → (first year of the century, sex).
CENTURY_SEX = {str(d): (1900 + 100 * (d // 2), "F" if d % 2 else "M") for d in range(10)}
_SEPARATORS = re.compile(r"[\s.\-_/]")


class IdProblem(StrEnum):
    NOT_12_DIGITS = "not_12_digits"
    UNKNOWN_PROVINCE = "unknown_province"
    SEX_MISMATCH = "sex_mismatch"
    BIRTH_YEAR_MISMATCH = "birth_year_mismatch"


@dataclass(frozen=True)
class PersonalIdRules:
    """Which structural checks apply; the unverified ones can be switched off."""

    length: int = 12
    province_codes: frozenset[str] = field(default=PROVINCE_CODES)
    check_province: bool = True
    check_sex: bool = True
    check_birth_year: bool = True


DEFAULT_RULES = PersonalIdRules()


@dataclass(frozen=True, slots=True)
class PersonalIdCheck:
    """The digits (None when there were none) and what is wrong with them, if anything."""

    digits: str | None
    problems: tuple[IdProblem, ...] = ()

    @property
    def valid(self) -> bool:
        return self.digits is not None and not self.problems


def clean_personal_id(text: str | None) -> str | None:
    """Digits only, separators dropped, a leading zero lost to a spreadsheet restored; None
    when nothing was given."""
    if not text:
        return None
    digits = _SEPARATORS.sub("", text.strip())
    if len(digits) == 11 and digits.isdigit() and f"0{digits[:2]}" in PROVINCE_CODES:
        # a spreadsheet read the number as an integer and dropped its leading zero (every
        # province code starts with 0): 36215464086 is 036215464086
        return f"0{digits}"
    return digits or None


def check_personal_id(
    text: str | None,
    *,
    sex: str | None = None,
    birth_year: int | None = None,
    rules: PersonalIdRules = DEFAULT_RULES,
) -> PersonalIdCheck:
    """Validate the structure and, when given, consistency with the record's sex and birth year.

    ``sex`` is "M" or "F" (anything else is not checked).
    """
    digits = clean_personal_id(text)
    if digits is None:
        return PersonalIdCheck(None)
    if len(digits) != rules.length or not digits.isdigit():
        return PersonalIdCheck(digits, (IdProblem.NOT_12_DIGITS,))
    problems: list[IdProblem] = []
    if rules.check_province and digits[:3] not in rules.province_codes:
        problems.append(IdProblem.UNKNOWN_PROVINCE)
    century, id_sex = CENTURY_SEX[digits[3]]
    if rules.check_sex and sex in ("M", "F") and sex != id_sex:
        problems.append(IdProblem.SEX_MISMATCH)
    if rules.check_birth_year and birth_year is not None:
        if century + int(digits[4:6]) != birth_year:
            problems.append(IdProblem.BIRTH_YEAR_MISMATCH)
    return PersonalIdCheck(digits, tuple(problems))


def hamming(a: str, b: str) -> int:
    """Digits that differ (IDs of different lengths count as entirely different)."""
    if len(a) != len(b):
        return max(len(a), len(b))
    return sum(x != y for x, y in zip(a, b, strict=True))


def make_personal_id(province: str, sex: str, birth_year: int, serial: int) -> str:
    """Build a well-formed number (test and benchmark data; the police issue real ones)."""
    base = 1900 + 100 * ((birth_year - 1900) // 100)
    digit = 2 * ((base - 1900) // 100) + (1 if sex == "F" else 0)
    return f"{province}{digit}{birth_year % 100:02d}{serial % 1_000_000:06d}"
