"""Special circumstances in the registry: what a screening's answers open, the flags that
raises (once), a person's confirmation and end, and categories that follow their records
through merges and unmerges — real submissions, SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from xml.etree.ElementTree import Element, SubElement

import pytest
from sqlalchemy import select

from server.models import Child, ChildMembership, ChildRecord, Flag, MatchCandidate, SubmissionDef
from server.models.registry import ReviewDecision
from server.registry import categories
from server.registry.errors import NotFound
from server.registry.flags import close
from server.registry.merge import unmerge_record
from server.registry.review import decide, undo
from server.services import Services
from sync.categories import (
    CategoryStatus,
    ChildCategory,
    HistoryEntry,
    InvalidTransition,
    UnknownCategory,
)
from tests.registry.helpers import (
    children_of,
    find,
    household_of,
    load_households,
    submit_variant,
)
from tests.registry.test_review import renamed, sync

BOTH_PARENTS_DEAD = {"c_mother_status": "dead", "c_father_status": "dead"}
PARENTS_UNKNOWN = {"c_mother_status": "unknown", "c_father_status": "unknown"}
NOW = datetime(2026, 11, 29, 9, 0)


@dataclass
class Screened:
    """A child under 13 of a synced household, with no Article 10 category yet."""

    xml: str
    index: int  # position in the household's child repeat
    child_id: str


def young_child(services: Services, households: int = 12) -> Screened:
    load_households(services, households)
    sync(services)
    with services.database.unit_of_work() as db:
        for record in db.scalars(select(ChildRecord).order_by(ChildRecord.id)):
            article10 = [d for d in record.derived_categories if d["code"].startswith("HCDB")]
            if record.dob and int(record.dob[:4]) >= 2014 and not article10:
                version = db.get_one(SubmissionDef, record.submission_def_id)
                index = int(record.source_key.rsplit("#", 1)[1]) - 1
                child = db.scalars(select(ChildMembership.child_id).where(
                    ChildMembership.record_id == record.id)).one()
                return Screened(version.xml, index, child)
    raise AssertionError("no young child without categories in the demo households")


def answers(index: int, values: dict[str, str],
            then: Callable[[Element], None] | None = None) -> Callable[[Element], None]:
    """Change one child's answers (``group/name`` for questions inside a group)."""
    def change(root: Element) -> None:
        node = find(household_of(root), "child")[index]
        for path, value in values.items():
            parent = node
            *groups, name = path.split("/")
            for group in groups:
                parent = find(parent, group)[0]
            found = find(parent, name)
            (found[0] if found else SubElement(parent, name)).text = value
        if then is not None:
            then(root)
    return change


def flags_of(services: Services, child_id: str | None = None) -> list[Flag]:
    with services.database.unit_of_work() as db:
        query = select(Flag).order_by(Flag.id)
        if child_id is not None:
            query = query.where(Flag.child_id == child_id)
        found = list(db.scalars(query))
        db.expunge_all()
        return found


def _version(services: Services, child_id: str) -> int:
    with services.database.unit_of_work() as db:
        return db.get_one(Child, child_id).version


def episodes_of(services: Services, child_id: str) -> dict[str, ChildCategory]:
    with services.database.unit_of_work() as db:
        return {e.code: e for e in categories.episodes(db, child_id)}


def test_screening_answers_open_a_provisional_category_and_one_new_child_flag(
        services: Services) -> None:
    young = young_child(services)
    before = len(flags_of(services))
    version = _version(services, young.child_id)
    again = submit_variant(services, young.xml, answers(young.index, BOTH_PARENTS_DEAD))
    sync(services)
    assert children_of(services, again)[young.index] == young.child_id  # linked
    # Nothing of the view changed, but the phones' `categories` property did.
    assert _version(services, young.child_id) == version + 1
    found = episodes_of(services, young.child_id)
    assert found["HCDB-A"].status is CategoryStatus.PROVISIONAL
    assert found["HCDB-A"].history[0].rules == ("A-both-parents-dead",)
    assert found["HCDB-A"].history[0].source == f"{again}#{young.index + 1}"
    assert "RISK" in found
    raised = flags_of(services)[before:]
    assert [(f.child_id, f.code, f.kind, f.deadline) for f in raised] == [
        (young.child_id, "HCDB-A", "new_special_circumstance", None)]
    with services.database.unit_of_work() as db:
        record = db.get_one(ChildRecord, raised[0].record_id)
        assert record.source_key == f"{again}#{young.index + 1}"
        assert {d["code"] for d in record.derived_categories} >= {"HCDB-A", "RISK"}


def test_an_urgent_category_carries_the_twelve_hour_deadline(services: Services) -> None:
    young = young_child(services)
    submit_variant(services, young.xml, answers(young.index, PARENTS_UNKNOWN))
    sync(services)
    (flag,) = flags_of(services, young.child_id)
    assert (flag.code, flag.kind) == ("HCDB-B", "new_special_circumstance")
    assert flag.deadline == flag.raised_at + timedelta(hours=12)


def test_a_confidential_referral_is_flagged_for_the_officer_only(services: Services) -> None:
    young = young_child(services)
    concern = {"f_protection/f_concern": "yes", "f_protection/f_type": "sexual_abuse_suspected",
               "f_protection/f_urgency": "within_week"}
    submit_variant(services, young.xml, answers(young.index, concern))
    sync(services)
    found = episodes_of(services, young.child_id)
    assert found["HCDB-L"].status is CategoryStatus.REFERRED
    referral = next(f for f in flags_of(services, young.child_id) if f.code == "HCDB-L")
    assert referral.kind == "referral" and referral.confidential and referral.deadline
    with services.database.unit_of_work() as db:
        accepted, raised = categories.accept_referral(
            db, young.child_id, "HCDB-L", by="cán bộ", why="Đã xác minh sơ bộ", now=NOW)
        assert accepted.status is CategoryStatus.PROVISIONAL
        # Now a new child in special circumstances, without a second 12-hour clock.
        assert [(f.code, f.kind, f.deadline) for f in raised] == [
            ("HCDB-L", "new_special_circumstance", None)]


def test_reruns_and_re_reports_raise_no_second_flag(services: Services) -> None:
    young = young_child(services)
    change = answers(young.index, BOTH_PARENTS_DEAD)
    submit_variant(services, young.xml, change)
    sync(services)
    assert len(flags_of(services, young.child_id)) == 1
    assert sync(services).submissions == 0
    again = submit_variant(services, young.xml, change)
    sync(services)
    assert children_of(services, again)[young.index] == young.child_id
    assert len(flags_of(services, young.child_id)) == 1
    assert len(episodes_of(services, young.child_id)["HCDB-A"].history) == 1


def test_a_second_article10_code_raises_no_second_new_child_flag(services: Services) -> None:
    young = young_child(services)
    submit_variant(services, young.xml, answers(young.index, BOTH_PARENTS_DEAD))
    sync(services)
    submit_variant(services, young.xml, answers(young.index, {**BOTH_PARENTS_DEAD,
                                                              "d_cert": "yes"}))
    sync(services)
    assert {"HCDB-A", "HCDB-D"} <= set(episodes_of(services, young.child_id))
    assert [f.code for f in flags_of(services, young.child_id)] == ["HCDB-A"]


def test_confirm_and_end_keep_the_history_and_an_ended_category_flags_anew(
        services: Services) -> None:
    young = young_child(services)
    change = answers(young.index, BOTH_PARENTS_DEAD)
    submit_variant(services, young.xml, change)
    sync(services)
    with services.database.unit_of_work() as db:
        confirmed = categories.confirm(db, young.child_id, "HCDB-A", by="cán bộ VHXH",
                                       why="Giấy chứng tử của cha mẹ", now=NOW, subcode="A.3")
        assert confirmed.status is CategoryStatus.CONFIRMED and confirmed.subcode == "A.3"
        categories.end(db, young.child_id, "HCDB-A", by="cán bộ VHXH",
                       why="Được nhận làm con nuôi", now=NOW + timedelta(days=1))
        with pytest.raises(NotFound):  # no active episode left to end
            categories.end(db, young.child_id, "HCDB-A", by="x", why="y", now=NOW)
        with pytest.raises(InvalidTransition):  # a status change needs a reason
            categories.confirm(db, young.child_id, "RISK", by="x", why=" ", now=NOW)
    ended = episodes_of(services, young.child_id)["HCDB-A"]
    assert [(h.status, h.by) for h in ended.history] == [
        (CategoryStatus.PROVISIONAL, "sync"), (CategoryStatus.CONFIRMED, "cán bộ VHXH"),
        (CategoryStatus.ENDED, "cán bộ VHXH")]
    (first,) = flags_of(services, young.child_id)
    with services.database.unit_of_work() as db:
        close(db, first.id, None, "Đã hỗ trợ xong")
    submit_variant(services, young.xml, change)  # the circumstance is reported again
    sync(services)
    with services.database.unit_of_work() as db:
        episodes = [e for e in categories.episodes(db, young.child_id) if e.code == "HCDB-A"]
    assert [e.status for e in episodes] == [CategoryStatus.ENDED, CategoryStatus.PROVISIONAL]
    assert [f.code for f in flags_of(services, young.child_id)] == ["HCDB-A", "HCDB-A"]


def test_codes_named_directly_open_provisional_categories(services: Services) -> None:
    young = young_child(services)
    with services.database.unit_of_work() as db:
        raised = categories.apply_codes(db, young.child_id, ["HCDB-H", "PLAN-POOR"],
                                        source="uuid:followup-1", by="cộng tác viên", now=NOW)
        assert [(f.code, f.kind) for f in raised] == [("HCDB-H", "new_special_circumstance")]
        with pytest.raises(UnknownCategory):
            categories.apply_codes(db, young.child_id, ["HCDB-Z"], source="x", by="y", now=NOW)
    found = episodes_of(services, young.child_id)
    assert found["HCDB-H"].status is CategoryStatus.PROVISIONAL
    assert found["HCDB-H"].history[0].source == "uuid:followup-1"


def test_episodes_round_trip_through_the_database(services: Services) -> None:
    young = young_child(services)
    episode = ChildCategory(
        "HCDB-I", CategoryStatus.REFERRED,
        (HistoryEntry(NOW, "sync", CategoryStatus.REFERRED, "Lo ngại", ("I-concern-violence",),
                      "uuid:x#1", True),
         HistoryEntry(NOW + timedelta(hours=1), "cán bộ", CategoryStatus.REFERRED, "Ghi chú")),
        subcode=None, urgent_signal=True, confidential=True)
    with services.database.unit_of_work() as db:
        categories.save_episodes(db, young.child_id, [episode])
    with services.database.unit_of_work() as db:
        assert categories.episodes(db, young.child_id) == [episode]
        categories.save_episodes(db, young.child_id, [])
        assert categories.episodes(db, young.child_id) == []


def test_an_unmerged_record_takes_its_categories_and_flag_along(services: Services) -> None:
    young = young_child(services)
    again = submit_variant(services, young.xml, answers(young.index, BOTH_PARENTS_DEAD))
    sync(services)
    (flag,) = flags_of(services, young.child_id)
    assert flag.record_id is not None
    with services.database.unit_of_work() as db:
        own = unmerge_record(db, flag.record_id, None)
    assert children_of(services, again)[young.index] == own
    assert "HCDB-A" in episodes_of(services, own)
    assert "HCDB-A" not in episodes_of(services, young.child_id)
    assert [(f.id, f.child_id) for f in flags_of(services)
            if f.code == "HCDB-A"] == [(flag.id, own)]


def test_a_merge_combines_categories_and_closes_the_duplicate_flag_until_undone(
        services: Services) -> None:
    young = young_child(services)
    submit_variant(services, young.xml, answers(young.index, BOTH_PARENTS_DEAD))
    sync(services)
    # A re-report with another given name goes to review and becomes a child of its own.
    later = submit_variant(services, young.xml,
                           answers(young.index, BOTH_PARENTS_DEAD, renamed("Hậu", young.index)))
    sync(services)
    newcomer = children_of(services, later)[young.index]
    assert newcomer != young.child_id
    assert [f.code for f in flags_of(services, newcomer)] == ["HCDB-A"]
    with services.database.unit_of_work() as db:
        row = db.scalars(select(MatchCandidate).where(
            MatchCandidate.child_id == young.child_id)).one()
        decide(db, row.id, ReviewDecision.SAME, None)
    merged = episodes_of(services, young.child_id)["HCDB-A"]
    assert len(merged.history) == 2 and merged.status is CategoryStatus.PROVISIONAL
    together = flags_of(services, young.child_id)
    assert sorted(f.status for f in together) == ["closed", "open"]
    assert episodes_of(services, newcomer) == {}
    with services.database.unit_of_work() as db:
        undo(db, row.id, None)
    assert [f.status for f in flags_of(services, newcomer)] == ["open"]
    assert [f.status for f in flags_of(services, young.child_id)] == ["open"]
    assert "HCDB-A" in episodes_of(services, newcomer)
    assert len(episodes_of(services, young.child_id)["HCDB-A"].history) == 1
