"""Follow-up visits sent by a phone update the registry as Central applies entity updates:
moves and deaths reach the next children.csv, out-of-date base versions are still applied and
marked soft or hard, unknown children fail the submission with a message."""

from __future__ import annotations

import uuid
from datetime import timedelta
from xml.etree.ElementTree import Element

from flask.testing import FlaskClient
from sqlalchemy import func, select

from server.models import ChildCategoryEpisode, ChildUpdate, Flag, SubmissionDef
from server.services import Services
from tests.openrosa.test_entity_list import reviewer_merges_two
from tests.registry.followup_helpers import (
    children_csv,
    followup_xml,
    load_synced_demo,
    phone_of,
    send_followup,
    sync,
)
from tests.registry.helpers import (
    children_of,
    consented_xml,
    find,
    household_of,
    submit_variant,
)


def updates(services: Services, child_id: str) -> list[ChildUpdate]:
    with services.database.unit_of_work() as db:
        rows = list(db.scalars(select(ChildUpdate).where(ChildUpdate.child_id == child_id)
                               .order_by(ChildUpdate.id)))
        db.expunge_all()
        return rows


def sync_state(services: Services, instance_id: str) -> tuple[str, str | None]:
    with services.database.unit_of_work() as db:
        version = db.scalars(select(SubmissionDef).where(
            SubmissionDef.instance_id == instance_id)).one()
        return version.sync_state, version.sync_error


def test_a_move_and_a_death_reach_the_next_children_csv(
        services: Services, client: FlaskClient) -> None:
    demo = load_synced_demo(services)
    phone = phone_of(client, demo, "T01")
    first, second = children_csv(phone)[:2]
    send_followup(phone, followup_xml(first, "moved_away",
                                      moved=("2026-10-02", "Xã Tân Phú, tỉnh Đồng Nai")))
    send_followup(phone, followup_xml(second, "died", died="2026-09-15"))
    assert sync(services).failed == 0
    after = {row["name"]: row for row in children_csv(phone)}
    moved, died = after[first["name"]], after[second["name"]]
    assert (moved["status"], moved["moved_date"], moved["moved_to"]) == (
        "moved_away", "2026-10-02", "Xã Tân Phú, tỉnh Đồng Nai")
    assert (died["status"], died["death_date"]) == ("died", "2026-09-15")
    assert int(moved["__version"]) == int(first["__version"]) + 1
    assert moved["last_visit"] == "2026-11-29"
    [update] = updates(services, first["name"])
    assert update.conflict is None and update.base_version == int(first["__version"])
    assert update.version == int(moved["__version"])
    # Only what the visit changed is stored: the phone's unchanged copies are not replayed.
    assert set(update.properties) == {"status", "moved_date", "moved_to", "last_visit"}


def test_two_visits_on_one_base_version_conflict_soft_or_hard(
        services: Services, client: FlaskClient) -> None:
    demo = load_synced_demo(services)
    phone = phone_of(client, demo, "T02")
    child = children_csv(phone)[0]
    send_followup(phone, followup_xml(child, "still_here", support="monthly_allowance"))
    sync(services)
    # Another collaborator visited with the same old copy: a different property → soft.
    send_followup(phone, followup_xml(child, "still_here", school="dropped_out"))
    # A third with the old copy too, setting the support differently → hard.
    send_followup(phone, followup_xml(child, "still_here", support="in_kind"))
    assert sync(services).failed == 0
    first, soft, hard = updates(services, child["name"])
    assert (first.conflict, soft.conflict, hard.conflict) == (None, "soft", "hard")
    assert soft.base_version == hard.base_version == int(child["__version"])
    now = next(r for r in children_csv(phone) if r["name"] == child["name"])
    # Applied anyway (Central's rule): the latest visit wins where they disagree.
    assert (now["support"], now["school_status"]) == ("in_kind", "dropped_out")


def test_unknown_child_fails_the_submission_with_a_message(
        services: Services, client: FlaskClient) -> None:
    demo = load_synced_demo(services, households=10)
    phone = phone_of(client, demo, "T01")
    row = dict(children_csv(phone)[0])
    stranger = str(uuid.uuid4())
    instance_id = f"uuid:{uuid.uuid4()}"
    send_followup(phone, followup_xml(row, "died", died="2026-09-15", entity_id=stranger,
                                      instance_id=instance_id))
    summary = sync(services)
    assert summary.failed == 1
    state, error = sync_state(services, instance_id)
    assert state == "failed" and error is not None
    assert stranger in error and "UnknownEntity" in error
    assert children_csv(phone)[0]["status"] == "active"


def test_a_visit_without_news_and_an_edit_change_nothing_more(
        services: Services, client: FlaskClient) -> None:
    demo = load_synced_demo(services)
    phone = phone_of(client, demo, "T03")
    child = children_csv(phone)[0]
    quiet = f"uuid:{uuid.uuid4()}"
    send_followup(phone, followup_xml(child, "not_met", instance_id=quiet))
    visit = f"uuid:{uuid.uuid4()}"
    send_followup(phone, followup_xml(child, "moved_away", moved=("2026-10-02", "Hà Nội"),
                                      instance_id=visit))
    assert sync(services).failed == 0
    assert sync_state(services, quiet) == ("done", None)
    assert len(updates(services, child["name"])) == 1
    before = next(r for r in children_csv(phone) if r["name"] == child["name"])
    # The collaborator edits the visit (Collect: deprecatedID + a new instanceID): Central
    # updates an entity once per submission, so the edit is synced and changes nothing.
    edit = f"uuid:{uuid.uuid4()}"
    send_followup(phone, followup_xml(child, "moved_away", moved=("2026-10-03", "Huế"),
                                      instance_id=edit, deprecated_id=visit))
    assert sync(services).failed == 0
    assert sync_state(services, edit) == ("done", None)
    assert len(updates(services, child["name"])) == 1
    assert next(r for r in children_csv(phone) if r["name"] == child["name"]) == before


def test_a_home_name_given_at_a_follow_up_reaches_the_child_and_the_next_children_csv(
        services: Services, client: FlaskClient) -> None:
    demo = load_synced_demo(services)
    phone = phone_of(client, demo, "T01")
    child = children_csv(phone)[0]
    assert child["home_name"] == ""  # the synthetic screenings give no home name
    send_followup(phone, followup_xml(child, "still_here", home_name="Sóc"))
    assert sync(services).failed == 0
    after = next(r for r in children_csv(phone) if r["name"] == child["name"])
    assert after["home_name"] == "Sóc" and int(after["__version"]) == int(child["__version"]) + 1
    [update] = updates(services, child["name"])
    assert update.properties["home_name"] == "Sóc"


def test_a_merged_id_is_followed_to_the_surviving_child(
        services: Services, client: FlaskClient) -> None:
    demo = load_synced_demo(services)
    phone = phone_of(client, demo, "T01")
    rows = {row["name"]: row for row in children_csv(phone)}
    survivor, merged = reviewer_merges_two(services, list(rows))
    send_followup(phone, followup_xml(rows[merged], "moved_away",
                                      moved=("2026-10-02", "Đà Nẵng")))
    assert sync(services).failed == 0
    [update] = updates(services, survivor)
    assert update.conflict in ("soft", "hard")
    now = next(r for r in children_csv(phone) if r["name"] == survivor)
    assert (now["status"], now["moved_to"]) == ("moved_away", "Đà Nẵng")


def test_new_circumstances_open_provisional_categories(
        services: Services, client: FlaskClient) -> None:
    demo = load_synced_demo(services)
    phone = phone_of(client, demo, "T04")
    child = children_csv(phone)[0]
    codes = " ".join([*child["categories"].split(), "PLAN-LABOUR"])
    send_followup(phone, followup_xml(child, "still_here", circ=codes))
    assert sync(services).failed == 0
    with services.database.unit_of_work() as db:
        opened = set(db.scalars(select(ChildCategoryEpisode.code).where(
            ChildCategoryEpisode.child_id == child["name"],
            ChildCategoryEpisode.status == "provisional")))
    assert "PLAN-LABOUR" in opened
    now = next(r for r in children_csv(phone) if r["name"] == child["name"])
    assert "PLAN-LABOUR" in now["categories"].split()


def test_a_protection_concern_at_a_follow_up_reaches_the_officer_with_its_clock(
        services: Services, client: FlaskClient) -> None:
    demo = load_synced_demo(services)
    phone = phone_of(client, demo, "T02")
    child = children_csv(phone)[0]
    first_id = f"uuid:{uuid.uuid4()}"
    concern = ("sexual_abuse_suspected", "immediate_danger")
    send_followup(phone, followup_xml(child, "not_met", concern=concern, instance_id=first_id))
    assert sync(services).failed == 0
    with services.database.unit_of_work() as db:
        opened = {row.code: row for row in db.scalars(select(ChildCategoryEpisode).where(
            ChildCategoryEpisode.child_id == child["name"]))}
        flags = {flag.code: flag for flag in db.scalars(
            select(Flag).where(Flag.child_id == child["name"], Flag.status == "open"))}
        received = db.scalars(select(SubmissionDef.created_at).order_by(
            SubmissionDef.id.desc())).first()
        # A referral the officer decides, known only from confidential answers.
        assert opened["HCDB-L"].status == "referred" and opened["HCDB-L"].confidential
        assert opened["RISK"].urgent_signal
        assert flags["HCDB-L"].confidential
        deadlines = [flag.deadline for flag in flags.values() if flag.deadline]
        assert received is not None and deadlines
        assert min(deadlines) == received + timedelta(hours=12)
    # Nothing of it reaches the phones.
    now = next(r for r in children_csv(phone) if r["name"] == child["name"])
    assert not {"HCDB-L", "RISK"} & set(now["categories"].split())
    # An edit of the visit, synced again, raises nothing twice.
    send_followup(phone, followup_xml(child, "not_met", concern=concern,
                                      deprecated_id=first_id))
    assert sync(services).failed == 0
    with services.database.unit_of_work() as db:
        assert db.scalar(select(func.count()).select_from(Flag).where(
            Flag.child_id == child["name"])) == len(flags)


def test_a_follow_up_of_an_offline_child_linked_to_a_known_one_updates_the_known_child(
        services: Services, client: FlaskClient) -> None:
    demo = load_synced_demo(services)
    xml = consented_xml(services, min_children=1)
    offline_ids: list[str] = []

    def new_entity_ids(root: Element) -> None:  # a second phone created its own entities
        for child in find(household_of(root), "child"):
            for meta in find(child, "meta"):
                for entity in find(meta, "entity"):
                    entity.set("id", str(uuid.uuid4()))
                    offline_ids.append(entity.get("id") or "")

    instance_id = submit_variant(services, xml, new_entity_ids)
    assert sync(services).linked >= 1
    known = children_of(services, instance_id)[0]
    assert offline_ids[0] != known  # the registry kept its own id, not the phone's
    phones = [phone_of(client, demo, p.village) for p in demo.phones]
    phone, row = next((phone, row) for phone in phones for row in children_csv(phone)
                      if row["name"] == known)
    send_followup(phone, followup_xml({**row, "name": offline_ids[0]}, "died",
                                      died="2026-11-01"))
    assert sync(services).failed == 0
    [update] = updates(services, known)
    assert update.properties["status"] == "died"
