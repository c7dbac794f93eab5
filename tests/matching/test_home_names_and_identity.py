"""Home names, sparse and shifted reports, and the "nothing silent" rules (docs/matching.md §2–§3).

Each test builds a registry child and a second report of it (or of its twin) the way an
independent re-survey writes them, and checks the band the matcher gives: a pair that shares a
valid personal ID, or the mother and the date of birth, is never a silent "new child".
"""

from __future__ import annotations

import json

from sync.dates import DateLevel, PartialDate, compare_dates
from sync.matching import Band, Decision, Matcher, MatchRecord, Reason
from sync.matching.blocking import KeyType, blocking_keys, widened_keys
from sync.matching.compare import GivenLevel, MiddleLevel, compare
from sync.personal_id import check_personal_id, make_personal_id
from sync.vietnamese import HOME_NAMES_PATH, home_names, normalise_name
from tests.matching.builders import child, model, registry

HUNG = "Nguyễn Văn Hùng"
PID = make_personal_id("001", "M", 2015, 123456)


def _decide(registered: MatchRecord, incoming: MatchRecord) -> Decision:
    """The decision for one incoming record against a registry of one child "A"."""
    return Matcher(registry((registered, "A")), model()).match_submission([incoming])[0]


def _seen(decision: Decision) -> bool:
    """Linked to the child, or put in front of a person with it: anything but silent."""
    return decision.child_id == "A" and decision.band in (Band.AUTO_LINK, Band.REVIEW)


def test_the_home_name_list_cites_its_sources_and_holds_the_common_names() -> None:
    data = json.loads(HOME_NAMES_PATH.read_text(encoding="utf-8"))
    assert data["sources"] and all(isinstance(s, str) and s for s in data["sources"])
    norms, folds = home_names()
    for name in ("bắp", "sóc", "tôm", "kem", "mít", "cốm", "bơ", "mèo", "bin", "bống", "cún"):
        assert name in norms
    assert "bap" in folds and "hùng" not in norms


def test_a_home_name_alone_is_a_given_name_and_a_nickname_without_a_family_name() -> None:
    for written in ("Bắp", "Bé Bắp", "BAP"):
        name = normalise_name(written)
        assert (name.given_fold, name.family, name.given_is_home_name) == ("bap", "", True)
        assert "bap" in name.nicknames


def test_a_home_name_against_a_formal_name_is_neither_agreement_nor_difference() -> None:
    formal, home = child(HUNG), child("Bắp", submission="s2")
    assert compare(home, formal).given_name is GivenLevel.HOME_NAME
    with_home = child(HUNG, home_name="Bắp")
    assert compare(home, with_home).given_name is GivenLevel.NICKNAME
    other_home = child(HUNG, home_name="Tôm")
    assert compare(home, other_home).given_name is GivenLevel.DIFFERENT


def test_a_home_name_with_the_same_id_dob_and_mother_is_linked() -> None:
    decision = _decide(child(HUNG, personal_id=PID),
                       child("Bắp", submission="s2", personal_id=PID))
    assert (decision.band, decision.child_id) == (Band.AUTO_LINK, "A")


def test_a_home_name_with_the_same_dob_and_mother_but_no_id_is_never_silent() -> None:
    sparse = {"father": "", "head": ""}
    decision = _decide(child(HUNG, **sparse), child("Sóc", submission="s2", **sparse))
    assert _seen(decision)


def test_the_same_valid_id_with_agreeing_sex_and_dob_links_despite_another_given_name() -> None:
    registered = child(HUNG, personal_id=PID, mother="", father="", head="Lê Văn Tư")
    renamed = child("Nguyễn Văn Khoa", submission="s2", personal_id=PID, mother="", father="",
                    head="Phạm Thị Hoa", village="T02")
    decision = _decide(registered, renamed)
    assert (decision.band, decision.child_id) == (Band.AUTO_LINK, "A")
    assert Reason.SAME_PERSONAL_ID in decision.reasons


def test_a_twin_with_the_other_twins_copied_id_goes_to_review_saying_so() -> None:
    twin = child("Nguyễn Văn Long", submission="s2", personal_id=PID)
    decision = _decide(child(HUNG, personal_id=PID), twin)
    assert decision.band is Band.REVIEW
    assert decision.reasons[0] is Reason.TWIN_SHARED_ID
    assert decision.explanation is not None and decision.explanation.rule == "TWIN_SHARED_ID"


def test_the_same_id_inconsistent_with_one_records_year_is_never_silent() -> None:
    registered = child(HUNG, "2015-03-04", personal_id=PID)
    year_off = child("Nguyễn Văn Khoa", "2016-03-04", submission="s2", personal_id=PID,
                     mother="", father="", head="", village="T09")
    assert _seen(_decide(registered, year_off))


def test_a_date_a_few_days_off_a_year_off_or_swapped_is_linked_or_reviewed() -> None:
    sparse = {"father": "", "head": ""}
    registered = child(HUNG, "2015-03-04", **sparse)
    for dob in ("2015-03-07", "2015-03-01", "2016-03-04", "2014-03-04", "2015-04-03"):
        decision = _decide(registered, child(HUNG, dob, submission="s2", **sparse))
        assert _seen(decision), dob


def test_a_dropped_middle_name_and_a_wrong_village_is_still_found() -> None:
    registered = child(HUNG, mother="Trần Thị Lan", father="", head="")
    moved = child("Nguyễn Hùng", submission="s2", mother="Lan", father="", head="",
                  village="T07")
    assert _seen(_decide(registered, moved))


def test_a_surname_only_record_has_no_given_name_and_is_found_by_its_mother_and_date() -> None:
    name = normalise_name("Nguyễn")
    assert (name.family_fold, name.given) == ("nguyen", "")
    assert _seen(_decide(child(HUNG), child("Nguyễn", submission="s2")))


def test_a_name_written_given_name_first_is_read_family_name_first() -> None:
    for written in ("Hung Van Nguyen", "Hùng Nguyễn"):
        name = normalise_name(written)
        assert (name.family_fold, name.given_fold) == ("nguyen", "hung")
    decision = _decide(child(HUNG), child("HUNG VAN NGUYEN", submission="s2"))
    assert (decision.band, decision.child_id) == (Band.AUTO_LINK, "A")


def test_a_middle_name_added_to_another_is_a_partial_middle_name_not_another_child() -> None:
    a, b = child("Nguyễn Thị Ngọc Lan", sex="F"), child("Nguyễn Ngọc Lan", sex="F")
    assert compare(a, b).middle_name is MiddleLevel.PARTIAL


def test_the_mother_and_birth_year_key_finds_a_child_under_any_name_in_its_village() -> None:
    registered, home = child(HUNG), child("Mít", submission="s2", mother="Lan")
    shared = set(blocking_keys(registered)) & set(blocking_keys(home))
    assert {key.key_type for key in shared} >= {KeyType.MOTHER_YEAR}


def test_twins_without_ids_still_go_to_review() -> None:
    decision = _decide(child(HUNG), child("Nguyễn Văn Long", submission="s2"))
    assert decision.band is Band.REVIEW and decision.reasons[0] is Reason.POSSIBLE_TWIN


def test_a_home_name_with_the_other_twins_copied_id_goes_to_review() -> None:
    twin_a = child(HUNG, personal_id=make_personal_id("001", "M", 2015, 654321))
    twin_b = child("Nguyễn Văn Long", personal_id=PID)
    index = registry((twin_a, "A"), (twin_b, "B"))
    home = child("Bé Sữa", submission="s2", personal_id=PID)  # twin A, B's number copied
    decision = Matcher(index, model()).match_submission([home])[0]
    assert decision.band is Band.REVIEW and decision.reasons[0] is Reason.TWIN_SHARED_ID


def test_home_names_typed_without_marks_that_read_as_formal_names_are_not_home_names() -> None:
    assert not normalise_name("Nguyen Tuan Nam").given_is_home_name  # Nấm, or the name Nam?
    assert normalise_name("Nguyễn Tuấn Nấm").given_is_home_name
    assert normalise_name("Nguyen Bap").given_is_home_name


def test_a_home_name_beside_the_formal_name_is_a_nickname() -> None:
    for written in ("Cún Hoàng Văn Thái", "Hoang Van Thai - Cun"):
        name = normalise_name(written)
        assert (name.family_fold, name.given_fold, name.nicknames) == ("hoang", "thai", ("cun",))


def test_a_year_and_a_day_both_off_or_1_january_for_an_unknown_day_are_not_different() -> None:
    assert compare_dates(PartialDate(2010, 6, 28), PartialDate(2011, 6, 29)) is DateLevel.NEAR
    assert compare_dates(PartialDate(2025, 1, 1), PartialDate(2025, 3, 20)) is DateLevel.SAME_YEAR
    assert compare_dates(PartialDate(2015, 3, 4), PartialDate(2015, 3, 20)) is DateLevel.DIFFERENT


def test_a_village_written_with_or_without_its_kind_is_one_village() -> None:
    assert child(HUNG, village="Thôn Đoài").village == child(HUNG, village="Đoài").village


def test_a_personal_id_that_lost_its_leading_zero_in_a_spreadsheet_is_the_same_number() -> None:
    assert check_personal_id("36215464086").digits == "036215464086"
    assert check_personal_id("036 215 464086").digits == "036215464086"


def test_a_birth_year_off_by_one_is_looked_up_when_nothing_else_was_found() -> None:
    registered = child(HUNG, "2015-03-04", mother="", father="", head="")
    year_off = child(HUNG, "2016-03-04", submission="s2", mother="", father="", head="")
    assert not set(blocking_keys(registered)) & set(blocking_keys(year_off))
    assert set(blocking_keys(registered)) & set(widened_keys(year_off))
    assert _decide(registered, year_off).child_id == "A"


def test_a_named_twin_carrying_the_other_twins_id_is_not_linked_silently() -> None:
    """Twin B's second report names B (a clean link by name) but carries twin A's number:
    one of the two numbers was copied, so a person sees B's report beside both children."""
    twin_a = child(HUNG, personal_id=PID)
    twin_b = child("Nguyễn Văn Long")
    index = registry((twin_a, "A"), (twin_b, "B"))
    again = child("Nguyễn Văn Long", submission="s2", personal_id=PID)
    decision = Matcher(index, model()).match_submission([again])[0]
    assert decision.band is Band.REVIEW
    assert {candidate.child_id for candidate in decision.candidates} == {"A", "B"}


def test_a_report_without_a_shared_number_still_links_by_name_beside_its_twin() -> None:
    index = registry((child(HUNG, personal_id=PID), "A"), (child("Nguyễn Văn Long"), "B"))
    again = child("Nguyễn Văn Long", submission="s2")
    decision = Matcher(index, model()).match_submission([again])[0]
    assert (decision.band, decision.child_id) == (Band.AUTO_LINK, "B")
