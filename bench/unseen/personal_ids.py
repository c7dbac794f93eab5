"""Personal ID numbers as the unseen registry writes and judges them.

The structure (Circular 07/2016/TT-BCA, as docs/domain.md §2 summarises it): 12 digits; digits
1–3 the province where the birth was registered (Appendix 1's 63 codes); digit 4 the century
and sex (2 = born 2000–2099 male, 3 = female); digits 5–6 the birth year's last two digits;
digits 7–12 a serial. Written here on its own so the evaluation's "valid" does not borrow the
code under test.
"""

from __future__ import annotations

import random

PROVINCES = frozenset("""001 002 004 006 008 010 011 012 014 015 017 019 020 022 024 025 026
    027 030 031 033 034 035 036 037 038 040 042 044 045 046 048 049 051 052 054 056 058 060 062
    064 066 067 068 070 072 074 075 077 079 080 082 083 084 086 087 089 091 092 093 094 095
    096""".split())


def issue(rng: random.Random, province: str, sex: str, birth_year: int) -> str:
    """A well-formed number for a child born in `birth_year` (2000–2099)."""
    digit = 2 * ((birth_year // 100) - 19) + (1 if sex == "F" else 0)
    return f"{province}{digit}{birth_year % 100:02d}{rng.randrange(1_000_000):06d}"


def valid_for(number: str, sex: str, dob: str) -> bool:
    """Whether `number` is well formed and agrees with the row's sex ("M"/"F"/"") and date of
    birth (ISO, any precision, or ""), as the row was written."""
    if len(number) != 12 or not number.isdigit() or number[:3] not in PROVINCES:
        return False
    century = 1900 + 100 * (int(number[3]) // 2)
    if sex in ("M", "F") and (int(number[3]) % 2 == 1) != (sex == "F"):
        return False
    return not dob or century + int(number[4:6]) == int(dob[:4])


def mistyped(rng: random.Random, number: str) -> str:
    """One serial digit typed wrong: still well formed, but another child's number."""
    position = rng.randrange(6, 12)
    digit = rng.choice([d for d in "0123456789" if d != number[position]])
    return number[:position] + digit + number[position + 1:]
