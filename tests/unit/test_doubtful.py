"""`sync.doubtful`: which fields of a report are doubtful, and what the matcher sees of them
(docs/registry.md, "Doubtful fields") — one function for imported rows and phone visits."""

from __future__ import annotations

from datetime import date, datetime

from sync.dates import PartialDate
from sync.doubtful import day_in_vietnam, doubtful_fields, without_doubtful
from sync.matching.records import ChildRecord, Sex
from sync.personal_id import make_personal_id

TODAY = date(2026, 12, 5)


def _doubts(**given: object) -> list[tuple[str, str, str]]:
    fields: dict[str, object] = {"today": TODAY, "sex_given": "", "sex": Sex.UNKNOWN,
                                 "dob_given": "", "dob": None, "personal_id": "", **given}
    return [(d.field, d.value, d.reason) for d in doubtful_fields(**fields)]  # type: ignore[arg-type]


def test_a_consistent_report_and_blanks_have_no_doubtful_field() -> None:
    assert _doubts() == []
    assert _doubts(sex_given="không rõ") == [] and _doubts(sex_given="unknown") == []
    assert _doubts(sex_given="Nam", sex=Sex.MALE, dob_given="2015-03-04",
                   dob=PartialDate.parse("2015-03-04"),
                   personal_id=make_personal_id("001", "M", 2015, 1)) == []


def test_each_personal_id_check_that_fails_is_one_doubt() -> None:
    wrong = make_personal_id("003", "F", 2014, 1)  # no province 003, a girl, born 2014
    assert _doubts(sex=Sex.MALE, dob=PartialDate.parse("2015"), personal_id=wrong) == [
        ("personal_id", wrong, "unknown_province"), ("personal_id", wrong, "sex_mismatch"),
        ("personal_id", wrong, "birth_year_mismatch")]
    assert _doubts(personal_id="12 345") == [("personal_id", "12 345", "not_12_digits")]


def test_a_date_in_the_future_is_doubtful_at_its_own_precision() -> None:
    assert _doubts(dob=PartialDate.parse("2026-12-08")) == [
        ("dob", "2026-12-08", "in_future")]
    assert _doubts(dob=PartialDate.parse("2026-12")) == []  # this month: not after it
    assert _doubts(dob_given="31/02/2015") == [("dob", "31/02/2015", "not_a_date")]


def test_a_doubtful_date_does_not_make_the_personal_id_doubtful() -> None:
    born_2016 = make_personal_id("001", "M", 2016, 1)
    assert _doubts(sex=Sex.MALE, dob=PartialDate.parse("2061-01-02"),
                   personal_id=born_2016) == [("dob", "2061-01-02", "in_future")]


def test_a_word_that_is_no_sex_is_doubtful() -> None:
    assert _doubts(sex_given="X") == [("sex", "X", "not_a_sex")]


def test_the_matcher_sees_doubtful_fields_blank_and_the_rest_as_given() -> None:
    record = ChildRecord("1", "h", "Lò Văn Tú", Sex.MALE, PartialDate.parse("2061-01-02"),
                         personal_id="003215000001", mother_name="Lò Thị Mai")
    seen = without_doubtful(record, [{"field": "dob", "value": "2061-01-02",
                                      "reason": "in_future"},
                                     {"field": "personal_id", "value": "003215000001",
                                      "reason": "unknown_province"}])
    assert (seen.dob, seen.personal_id, seen.sex) == (None, "", Sex.MALE)
    assert seen.mother_name == "Lò Thị Mai"
    assert without_doubtful(record, []) is record and without_doubtful(record, None) is record


def test_the_day_a_report_was_made_is_vietnams() -> None:
    assert day_in_vietnam(datetime(2026, 12, 4, 17, 30)) == date(2026, 12, 5)
    assert day_in_vietnam(datetime(2026, 12, 4, 16, 59)) == date(2026, 12, 4)
