"""Doubtful fields: values a report gives that are kept but not trusted (docs/registry.md,
"Doubtful fields").

A child left out of the registry is worse than a child with one wrong value, so a report — a
phone's visit or an imported row — is never refused for one doubtful field: the record keeps
what was given (or a blank where nothing readable was given), lists the field in
``child_records.doubtful`` and the data-quality report shows it for the officer to check.

A doubtful field is no identity evidence: `without_doubtful` blanks it in what the matcher
sees, on both sides of every comparison (the incoming record and the stored candidates), so a
mistyped personal ID neither links two children nor keeps one child apart.

Plain Python, one function for both paths (`server.registry.import_rows` and the sync of the
phones' submissions), so the two call the same values doubtful.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any

from sync.dates import PartialDate
from sync.matching.records import ChildRecord, Sex
from sync.personal_id import IdProblem, check_personal_id
from sync.vietnamese import fold

# Vietnam's clocks, all year (no summer time): a date of birth is a day there.
VIETNAM_OFFSET = timedelta(hours=7)
# Written where the sex is not known (``unknown`` is the screening form's own choice): a
# blank, not a doubtful value.
UNKNOWN_SEX_WORDS = frozenset({"u", "unknown", "khong ro", "khong biet", "?", "-"})


class Reason(StrEnum):
    """Why a field is doubtful. A personal ID's reasons are `sync.personal_id.IdProblem`'s
    values (``not_12_digits``, ``unknown_province``, ``sex_mismatch``,
    ``birth_year_mismatch``)."""

    NOT_A_DATE = "not_a_date"
    IN_FUTURE = "in_future"
    NOT_A_SEX = "not_a_sex"
    UNKNOWN_CODE = "unknown_code"
    SHARED_IN_VISIT = "shared_in_visit"


# Why a personal ID is doubtful as an officer reads it, (Vietnamese, English), by reason: the
# one wording the import's report and the data-quality report both use.
ID_DOUBT_WORDS: dict[str, tuple[str, str]] = {
    IdProblem.NOT_12_DIGITS.value: ("không đủ 12 chữ số", "not 12 digits"),
    IdProblem.UNKNOWN_PROVINCE.value: ("mã tỉnh không có", "unknown province code"),
    IdProblem.SEX_MISMATCH.value: ("chữ số giới tính không khớp giới tính",
                                   "its sex digit disagrees with the sex"),
    IdProblem.BIRTH_YEAR_MISMATCH.value: ("năm sinh trong số không khớp ngày sinh",
                                          "its birth year disagrees with the date of birth"),
    Reason.SHARED_IN_VISIT.value: ("trẻ khác cùng hộ cũng ghi số này",
                                   "another child of the household gives this number too"),
}


@dataclass(frozen=True, slots=True)
class Doubt:
    """One doubtful field of one report: the field, the value as given, why (an English
    code). A field with several reasons (an ID with the wrong sex digit *and* birth year) is
    listed once for each, so the report can count them by reason."""

    field: str
    value: str
    reason: str

    def as_json(self) -> dict[str, str]:
        return {"field": self.field, "value": self.value, "reason": self.reason}


def day_in_vietnam(moment: datetime) -> date:
    """The Vietnamese calendar day of a naive UTC moment (when a report was made): a baby
    born this morning in Vietnam is not "in the future" for a server still on yesterday's
    UTC date."""
    return (moment + VIETNAM_OFFSET).date()


def in_future(dob: PartialDate, today: date) -> bool:
    """After `today` at the date's own precision (a year is in the future only after it)."""
    return dob.iso() > today.isoformat()[:len(dob.iso())]


def sex_doubts(given: str, sex: Sex) -> list[Doubt]:
    """A sex written as something other than male, female or "not known"."""
    if not given.strip() or sex is not Sex.UNKNOWN or fold(given.strip()) in UNKNOWN_SEX_WORDS:
        return []
    return [Doubt("sex", given.strip(), Reason.NOT_A_SEX)]


def dob_doubts(given: str, dob: PartialDate | None, today: date) -> list[Doubt]:
    """A date of birth given but unreadable (``dob`` None), or in the future."""
    if dob is None:
        return [Doubt("dob", given.strip(), Reason.NOT_A_DATE)] if given.strip() else []
    if in_future(dob, today):
        return [Doubt("dob", dob.iso(), Reason.IN_FUTURE)]
    return []


def personal_id_doubts(given: str, sex: Sex, dob: PartialDate | None) -> list[Doubt]:
    """The checks of `sync.personal_id` against the record's sex and birth year (a trusted,
    non-estimated date only, as the matcher does): one doubt per failed check."""
    year = dob.year if dob is not None and not dob.estimated else None
    check = check_personal_id(given, sex=sex.value if sex is not Sex.UNKNOWN else None,
                              birth_year=year)
    if check.digits is None:
        return []
    return [Doubt("personal_id", given.strip(), problem.value) for problem in check.problems]


def doubtful_fields(*, today: date, sex_given: str, sex: Sex, dob_given: str,
                    dob: PartialDate | None, personal_id: str) -> list[Doubt]:
    """Every doubtful field of one report, from what was given and what was read of it.

    ``sex`` and ``dob`` are the values parsed from ``sex_given`` and ``dob_given`` (unknown
    and None when unreadable); ``today`` is the day the report was made (a phone's visit, an
    import). A doubtful date is not used to check the personal ID: the ID would otherwise be
    called doubtful for the date's mistake.
    """
    doubts = sex_doubts(sex_given, sex) + dob_doubts(dob_given, dob, today)
    trusted_dob = None if any(d.field == "dob" for d in doubts) else dob
    return doubts + personal_id_doubts(personal_id, sex, trusted_dob)


def submission_doubts(answers: Mapping[str, str], record: ChildRecord,
                      received_at: datetime) -> list[dict[str, str]]:
    """A phone's child (`sync.mapping.MappedChild`: its answers and its record, received at
    `received_at`, naive UTC), as stored in ``child_records.doubtful``."""
    return [doubt.as_json() for doubt in doubtful_fields(
        today=day_in_vietnam(received_at), sex_given=answers.get("sex", ""), sex=record.sex,
        dob_given=answers.get("dob", ""), dob=record.dob,
        personal_id=answers.get("personal_id", ""))]


def ids_shared_in_visit(personal_ids: Sequence[str]) -> set[int]:
    """The rows of one household visit (or list household) whose personal ID another row of
    the same visit gives too. Two children of one visit are never one child (docs/matching.md
    §3.3), so one of the numbers was copied — a twin's, a sibling's — and nobody can tell
    which from the visit alone: every row holding it is doubtful (``shared_in_visit``)."""
    holders: dict[str, list[int]] = {}
    for index, given in enumerate(personal_ids):
        digits = "".join(ch for ch in given or "" if ch.isdigit())
        if len(digits) >= 9:
            holders.setdefault(digits, []).append(index)
    return {index for rows in holders.values() if len(rows) > 1 for index in rows}


def doubtful_field_names(doubtful: Iterable[Any] | None) -> frozenset[str]:
    """The fields a stored ``doubtful`` list names (tolerates NULL and odd items)."""
    return frozenset(str(item.get("field", "")) for item in doubtful or ()
                     if isinstance(item, Mapping))


def without_doubtful(record: ChildRecord, doubtful: Iterable[Any] | None) -> ChildRecord:
    """What the matcher may use of a record: its doubtful personal ID, date of birth and sex
    blanked (the stored record keeps them)."""
    fields = doubtful_field_names(doubtful)
    if not fields:
        return record
    changes: dict[str, Any] = {}
    if "personal_id" in fields:
        changes["personal_id"] = ""
    if "dob" in fields:
        changes["dob"] = None
    if "sex" in fields:
        changes["sex"] = Sex.UNKNOWN
    return replace(record, **changes) if changes else record
