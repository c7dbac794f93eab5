"""Behaviour of the online matcher with the shipped model (sync/matching/model.json)."""

import json

from sync.matching import Band, Matcher, Reason
from sync.matching.constraints import Rule, apply_rules, cannot_link
from sync.matching.scoring import Scorer
from sync.personal_id import make_personal_id
from tests.matching.builders import child, model, registry

HUNG = "Nguyễn Văn Hưng"
HUNG_GRAVE = "Nguyễn Văn Hùng"


def test_a_noisy_re_report_is_linked_automatically() -> None:
    index = registry((child("Nguyễn Thị Thuỷ", sex="F"), "A"))
    # old-style tone mark, capitals, day and month swapped, parents typed without diacritics
    again = child("NGUYỄN THỊ THỦY", "2015-04-03", sex="F", submission="s2",
                  mother="Tran Thi Lan", father="Nguyen Van Hung")
    [decision] = Matcher(index, model()).match_submission([again])
    assert (decision.band, decision.child_id) == (Band.AUTO_LINK, "A")
    assert decision.reasons == (Reason.SCORE_ABOVE_AUTO_LINK,)


def test_two_children_of_one_submission_never_link() -> None:
    first = child("Nguyễn Văn An", submission="s1")
    same_row_again = child("Nguyễn Văn An", submission="s1")
    assert cannot_link(first, same_row_again) is not None
    index = registry((first, "A"))
    [decision] = Matcher(index, model()).match_submission([same_row_again])
    assert decision.band is Band.NEW


def test_two_identical_rows_of_a_submission_cannot_both_take_one_child() -> None:
    index = registry((child("Nguyễn Văn An"), "A"))
    rows = [child("Nguyễn Văn An", submission="s2"), child("Nguyễn Văn An", submission="s2")]
    decisions = Matcher(index, model()).match_submission(rows)
    assert [d.child_id for d in decisions].count("A") <= 1
    assert all(d.band is not Band.AUTO_LINK for d in decisions)


def test_different_valid_personal_ids_never_link() -> None:
    pid_a = make_personal_id("001", "M", 2015, 111111)
    pid_b = make_personal_id("001", "M", 2015, 222222)
    registered = child("Nguyễn Văn An", personal_id=pid_a)
    again = child("Nguyễn Văn An", submission="s2", personal_id=pid_b)
    assert cannot_link(registered, again).rule is Rule.ID_CONFLICT
    [decision] = Matcher(registry((registered, "A")), model()).match_submission([again])
    assert decision.band is Band.NEW


def test_a_one_digit_slip_in_the_personal_id_is_not_a_conflict() -> None:
    pid = make_personal_id("001", "M", 2015, 111111)
    slip = pid[:-1] + "2"
    registered = child("Nguyễn Văn An", personal_id=pid)
    [decision] = Matcher(registry((registered, "A")), model()).match_submission(
        [child("Nguyễn Văn An", submission="s2", personal_id=slip)])
    assert (decision.band, decision.child_id) == (Band.AUTO_LINK, "A")


def test_same_valid_personal_id_links_even_under_another_name() -> None:
    pid = make_personal_id("001", "M", 2015, 111111)
    registered = child("Nguyễn Văn Tít", "2015-03-04", personal_id=pid)
    renamed = child("Nguyễn Văn Hùng", "2015-08-20", submission="s2", personal_id=pid)
    [decision] = Matcher(registry((registered, "A")), model()).match_submission([renamed])
    assert (decision.band, decision.child_id) == (Band.AUTO_LINK, "A")
    assert decision.reasons == (Reason.SAME_PERSONAL_ID,)


def test_twins_go_to_review_never_auto_link() -> None:
    index = registry((child(HUNG), "A"))  # the first survey forgot Hưng's twin brother
    for twin in (HUNG_GRAVE, "Nguyễn Văn Long"):
        [decision] = Matcher(index, model()).match_submission([child(twin, submission="s2")])
        assert (decision.band, decision.child_id) == (Band.REVIEW, "A")
        assert decision.reasons[0] is Reason.POSSIBLE_TWIN
        assert decision.candidates and decision.candidates[0].child_id == "A"


def test_twins_stay_twins_even_when_the_personal_id_was_copied() -> None:
    pid = make_personal_id("001", "M", 2015, 111111)
    a, b = child(HUNG, personal_id=pid), child("Nguyễn Văn Long", submission="s2", personal_id=pid)
    pair = Scorer(model()).score(b, a)
    assert pair is not None and apply_rules(b, a, pair.comparison).rule is Rule.TWIN_SHARED_ID


def test_twins_reported_together_are_each_linked_to_their_own_record() -> None:
    index = registry((child(HUNG), "A"), (child(HUNG_GRAVE), "B"))
    rows = [child(HUNG_GRAVE, submission="s2"), child(HUNG, submission="s2")]
    decisions = Matcher(index, model()).match_submission(rows)
    assert [(d.band, d.child_id) for d in decisions] == [(Band.AUTO_LINK, "B"),
                                                         (Band.AUTO_LINK, "A")]


def test_twins_typed_without_diacritics_go_to_review() -> None:
    index = registry((child(HUNG), "A"), (child(HUNG_GRAVE), "B"))
    rows = [child("Nguyen Van Hung", submission="s2"), child("Nguyen Van Hung", submission="s2")]
    decisions = Matcher(index, model()).match_submission(rows)
    assert all(d.band is Band.REVIEW and Reason.AMBIGUOUS in d.reasons for d in decisions)


def test_a_twin_whose_registry_match_went_to_the_other_row_is_new() -> None:
    index = registry((child(HUNG), "A"))
    rows = [child(HUNG, submission="s2"), child(HUNG_GRAVE, submission="s2")]
    linked, twin = Matcher(index, model()).match_submission(rows)
    assert (linked.band, linked.child_id) == (Band.AUTO_LINK, "A")
    assert twin.band is Band.NEW and twin.reasons == (Reason.CANDIDATE_TAKEN,)


def test_a_sibling_without_date_of_birth_is_never_merged() -> None:
    index = registry((child("Nguyễn Văn An", "2012-05-06"), "A"))
    [decision] = Matcher(index, model()).match_submission(
        [child("Nguyễn Văn Bình", None, submission="s2")])
    assert decision.band is not Band.AUTO_LINK


def test_a_namesake_in_another_household_is_a_new_child() -> None:
    index = registry((child("Nguyễn Thị Hương", "2015-03-04", sex="F"), "A"))
    namesake = child("Nguyễn Thị Hương", "2015-10-21", sex="F", submission="s2",
                     mother="Phạm Thị Mai", father="Nguyễn Đức Long", head="Nguyễn Đức Long")
    [decision] = Matcher(index, model()).match_submission([namesake])
    assert decision.band is Band.NEW


def test_a_child_who_moved_village_is_linked_and_flagged() -> None:
    index = registry((child("Lê Minh Khoa"), "A"))
    [decision] = Matcher(index, model()).match_submission(
        [child("Lê Minh Khoa", submission="s2", village="T07")])
    assert (decision.band, decision.child_id) == (Band.AUTO_LINK, "A")
    assert Reason.MOVER in decision.reasons


def test_a_reviewers_not_the_same_child_decision_is_kept() -> None:
    again = child("Nguyễn Văn An", submission="s2", record_id="r-again")
    index = registry((child("Nguyễn Văn An"), "A"))
    index.add_cannot_link("r-again", "A")
    [decision] = Matcher(index, model()).match_submission([again])
    assert decision.band is Band.NEW


def test_a_child_nobody_reported_before_is_new() -> None:
    index = registry((child("Nguyễn Văn An"), "A"))
    [decision] = Matcher(index, model()).match_submission(
        [child("Phạm Thu Trang", "2019-01-02", sex="F", submission="s2", mother="Lý Thị Hồng",
               father="Phạm Văn Quân", head="Phạm Văn Quân", village="T05")])
    assert (decision.band, decision.reasons) == (Band.NEW, (Reason.NO_CANDIDATE,))


def test_explanation_names_the_fields_that_agreed() -> None:
    index = registry((child("Nguyễn Thị Thuỷ", sex="F"), "A"))
    again = child("Nguyen Thi Thuy", sex="F", submission="s2", mother="", village="T02")
    [decision] = Matcher(index, model()).match_submission([again])
    explanation = decision.explanation
    assert explanation is not None
    assert {"given_name", "dob", "household", "sex"} <= set(explanation.agreed_fields)
    assert "location" in explanation.disagreed_fields
    assert explanation.level_of("given_name") == "ascii_equal"
    assert explanation.level_of("parents") == "one_agrees"  # the mother was left blank
    assert abs(explanation.total - sum(f.weight for f in explanation.fields)) < 1e-9
    assert explanation.model_version == model().version == decision.model_version
    stored = json.loads(json.dumps(explanation.as_dict()))
    assert stored["thresholds"]["auto_link"] == model().auto_link
    assert "given_name ascii_equal" in explanation.summary()


def test_a_personal_id_shared_by_two_unrelated_children_goes_to_review() -> None:
    pid = make_personal_id("001", "M", 2015, 111111)
    registered = child("Nguyễn Văn An", personal_id=pid)
    stranger = child("Lê Văn Phúc", "2015-10-02", submission="s2", personal_id=pid,
                     mother="Đỗ Thị Hà", father="Lê Văn Tư", head="Lê Văn Tư", village="T06")
    [decision] = Matcher(registry((registered, "A")), model()).match_submission([stranger])
    assert (decision.band, decision.reasons[0]) == (Band.REVIEW, Reason.PERSONAL_ID_SHARED)
