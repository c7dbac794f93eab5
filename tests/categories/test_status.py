"""The category lifecycle: referred → provisional → confirmed → ended, with a history entry
(who, when, why) for every change, and screenings that open categories but never close them."""

from __future__ import annotations

from datetime import timedelta

import pytest

from sync.categories import (
    CategoryStatus,
    ChildCategory,
    InvalidTransition,
    apply_derived,
    open_category,
    phone_codes,
)
from tests.categories.builders import OFFICER, SCREENING, T0, derive, opened
from tests.categories.builders import derived_category as derived


def test_a_derived_category_opens_provisional_with_its_history() -> None:
    category = opened("HCDB-A", subcode="A.3")
    assert category.status is CategoryStatus.PROVISIONAL and category.is_open
    assert category.subcode == "A.3"
    (entry,) = category.history
    assert (entry.at, entry.by, entry.status) == (T0, SCREENING, CategoryStatus.PROVISIONAL)
    assert entry.why == "lý do HCDB-A" and entry.rules == ("HCDB-A-rule",)
    assert entry.source == "uuid:1"
    assert category.opened_at == T0


def test_provisional_then_confirmed_then_ended() -> None:
    category = opened("HCDB-A")
    confirmed = category.confirm(by=OFFICER, at=T0 + timedelta(days=2), why="Giấy chứng tử")
    ended = confirmed.end(by=OFFICER, at=T0 + timedelta(days=90), why="Được nhận làm con nuôi")
    assert [e.status for e in ended.history] == [
        CategoryStatus.PROVISIONAL,
        CategoryStatus.CONFIRMED,
        CategoryStatus.ENDED,
    ]
    assert [e.by for e in ended.history] == [SCREENING, OFFICER, OFFICER]
    assert ended.history[-1].why == "Được nhận làm con nuôi"
    assert not ended.is_open and not ended.is_active
    assert category.status is CategoryStatus.PROVISIONAL  # values are immutable


def test_confirming_can_set_the_sub_group() -> None:
    confirmed = opened("HCDB-B").confirm(by=OFFICER, at=T0, why="Biên bản", subcode="B.2")
    assert confirmed.subcode == "B.2"


def test_a_provisional_category_can_end_without_confirmation() -> None:
    ended = opened("HCDB-D").end(by="tram.y.te", at=T0, why="Không khuyết tật")
    assert ended.status is CategoryStatus.ENDED


def test_a_referral_is_not_open_until_the_officer_decides() -> None:
    referral = opened("HCDB-L", referral=True)
    assert referral.status is CategoryStatus.REFERRED
    assert referral.is_active and not referral.is_open
    accepted = referral.accept_referral(by=OFFICER, at=T0, why="Đã tiếp nhận thông tin")
    assert accepted.status is CategoryStatus.PROVISIONAL
    dismissed = referral.end(by=OFFICER, at=T0, why="Không có cơ sở")
    assert dismissed.status is CategoryStatus.ENDED
    assert referral.confirm(by=OFFICER, at=T0, why="Xác minh").is_open


@pytest.mark.parametrize(
    ("category", "to"),
    [
        (opened("HCDB-A").end(by=OFFICER, at=T0, why="x"), CategoryStatus.CONFIRMED),
        (opened("HCDB-A").end(by=OFFICER, at=T0, why="x"), CategoryStatus.PROVISIONAL),
        (opened("HCDB-A").end(by=OFFICER, at=T0, why="x"), CategoryStatus.ENDED),
        (opened("HCDB-A").confirm(by=OFFICER, at=T0, why="x"), CategoryStatus.PROVISIONAL),
        (opened("HCDB-A").confirm(by=OFFICER, at=T0, why="x"), CategoryStatus.CONFIRMED),
        (opened("HCDB-A"), CategoryStatus.REFERRED),
    ],
)
def test_transitions_the_lifecycle_does_not_allow(
    category: ChildCategory, to: CategoryStatus
) -> None:
    with pytest.raises(InvalidTransition) as raised:
        category.transition(to, by=OFFICER, at=T0, why="x")
    assert raised.value.code == "invalid_transition"


def test_only_a_referral_can_be_accepted() -> None:
    with pytest.raises(InvalidTransition):
        opened("HCDB-A").accept_referral(by=OFFICER, at=T0, why="x")


@pytest.mark.parametrize(("by", "why"), [("", "lý do"), (OFFICER, "  ")])
def test_a_change_needs_who_and_why(by: str, why: str) -> None:
    with pytest.raises(InvalidTransition):
        opened("HCDB-A").confirm(by=by, at=T0, why=why)


def test_a_screening_opens_new_codes_and_keeps_the_rest() -> None:
    current = [opened("HCDB-A").confirm(by=OFFICER, at=T0, why="x")]
    after = apply_derived(current, [derived("HCDB-A"), derived("PLAN-POOR")], by=SCREENING, at=T0)
    assert [(c.code, c.status) for c in after] == [
        ("HCDB-A", CategoryStatus.CONFIRMED),
        ("PLAN-POOR", CategoryStatus.PROVISIONAL),
    ]
    assert after[0] == current[0]  # nothing recorded when nothing changed


def test_a_screening_never_closes_a_category() -> None:
    current = [opened("HCDB-D")]
    assert apply_derived(current, [], by=SCREENING, at=T0) == current


def test_an_ended_code_starts_a_new_episode() -> None:
    ended = opened("HCDB-A").end(by=OFFICER, at=T0, why="Sai thông tin")
    after = apply_derived([ended], [derived("HCDB-A")], by=SCREENING, at=T0 + timedelta(days=1))
    assert [c.status for c in after] == [CategoryStatus.ENDED, CategoryStatus.PROVISIONAL]
    assert after[1].history[0].at == T0 + timedelta(days=1)


def test_referrals_open_as_referrals() -> None:
    (after,) = apply_derived([], [derived("HCDB-M", referral=True)], by=SCREENING, at=T0)
    assert after.status is CategoryStatus.REFERRED


def test_a_new_urgent_signal_on_an_open_category_is_recorded() -> None:
    current = [opened("RISK")]
    (after,) = apply_derived(current, [derived("RISK", urgent=True)], by=SCREENING, at=T0)
    assert after.urgent_signal
    assert len(after.history) == 2 and after.history[-1].status is CategoryStatus.PROVISIONAL


def test_a_provisional_sub_code_follows_the_latest_screening_but_a_confirmed_one_stays() -> None:
    provisional = [opened("HCDB-A", subcode="A.1")]
    (moved,) = apply_derived(provisional, [derived("HCDB-A", subcode="A.3")], by=SCREENING, at=T0)
    assert moved.subcode == "A.3"
    confirmed = [provisional[0].confirm(by=OFFICER, at=T0, why="x")]
    (kept,) = apply_derived(confirmed, [derived("HCDB-A", subcode="A.3")], by=SCREENING, at=T0)
    assert kept.subcode == "A.1"


def test_categories_known_only_from_section_f_stay_off_phones() -> None:
    confidential_risk = opened("RISK", confidential=True)
    categories = [
        opened("HCDB-A"),
        confidential_risk,
        opened("HCDB-L", referral=True).confirm(by=OFFICER, at=T0, why="x"),
        opened("PLAN-POOR").end(by=OFFICER, at=T0, why="Thoát nghèo"),
    ]
    assert phone_codes(categories) == ["HCDB-A"]
    (seen,) = apply_derived([confidential_risk], [derived("RISK")], by=SCREENING, at=T0)
    assert not seen.confidential and phone_codes([seen]) == ["RISK"]


def test_section_f_reasons_go_to_a_separate_confidential_history_entry() -> None:
    risk = next(
        d
        for d in derive(
            {
                "c_father_status": "dead",
                "f_concern": "yes",
                "f_type": "other",
                "f_urgency": "immediate_danger",
            }
        )
        if d.code == "RISK"
    )
    category = open_category(risk, by=SCREENING, at=T0)
    public, private = category.history
    assert (public.rules, public.confidential) == (("RISK-parent-dead",), False)
    assert (private.rules, private.confidential) == (("RISK-immediate-danger",), True)
    assert category.urgent_signal and not category.confidential
