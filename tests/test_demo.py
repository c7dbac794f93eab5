"""`diemtua demo` and the synthetic household visits it submits.

The generator's visits must be what ODK Collect would send for household_screening: parsed by
the server, shaped like the form's primary instance, calculated as the form calculates (checked
against JavaRosa itself in the slow test). The demo loads them through the phones' ingest path,
and can be run again without doubling anything.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterator
from datetime import date
from itertools import pairwise
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import Element

import pytest
from click.testing import CliRunner
from defusedxml.ElementTree import fromstring
from flask.testing import FlaskClient
from sqlalchemy import func, select

import xlsforms
from server.cli import main
from server.demo import DEMO_PROJECT, DemoError, load_demo
from server.models import (
    AppUser,
    Child,
    Form,
    FormAssignment,
    Project,
    Submission,
    SubmissionDef,
    User,
)
from server.services import Services
from sync.instance import parse_instance
from sync.safe_xml import local_name
from sync.synthetic_households import (
    SyntheticHousehold,
    Village,
    generate_households,
    read_villages,
)
from sync.synthetic_people import age_on
from sync.xform import primary_instance
from sync.xlsform import convert_xlsform
from tests.conftest import ADMIN_PASSWORD
from tests.openrosa.wire import collect_headers, parse_form_list
from xlsforms.sources.household_screening import VERSION as SCREENING_VERSION

TODAY = date(2026, 11, 29)
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
XF = "{http://www.w3.org/2002/xforms}"


@pytest.fixture(scope="module")
def xform() -> str:
    return convert_xlsform(xlsforms.form_path("household_screening").read_bytes()).xml


@pytest.fixture(scope="module")
def template(xform: str) -> Element:
    return primary_instance(xform)


@pytest.fixture(scope="module")
def villages() -> list[Village]:
    return read_villages(xlsforms.VILLAGES_CSV.read_text("utf-8"))


@pytest.fixture(scope="module")
def visits(template: Element, villages: list[Village]) -> list[SyntheticHousehold]:
    return list(generate_households(template, villages, 300, seed=2026, today=TODAY))


def paths(element: Element, prefix: str = "") -> Iterator[str]:
    """Element paths in document order; a repeat's instances give the same paths."""
    for child in element:
        path = f"{prefix}/{local_name(child.tag)}"
        yield path
        yield from paths(child, path)


def gated_paths(xform: str) -> set[str]:
    """Instance paths with a `relevant` bind: JavaRosa may leave them out."""
    binds = fromstring(xform.encode("utf-8")).iter(f"{XF}bind")
    return {bind.get("nodeset", "").removeprefix("/data") for bind in binds
            if bind.get("relevant")}


# --- the generator ------------------------------------------------------------------------------


def test_every_visit_parses_as_a_phone_submission(visits: list[SyntheticHousehold]) -> None:
    for visit in visits:
        parsed = parse_instance(visit.xml)
        assert (parsed.form_id, parsed.version) == ("household_screening", SCREENING_VERSION)
        assert parsed.instance_id == visit.instance_id and not parsed.instance_id_generated
        assert UUID.match(parsed.instance_id.removeprefix("uuid:"))
        assert parsed.instance_name and parsed.instance_name.endswith(parsed.root.findtext(
            "today") or "?")
        assert visit.xml.startswith(b"<?xml version='1.0' encoding='UTF-8' ?><data ")


def test_visits_have_the_element_structure_of_the_forms_primary_instance(
        visits: list[SyntheticHousehold], template: Element, xform: str) -> None:
    order = {path: i for i, path in enumerate(dict.fromkeys(paths(template)))}
    expected = {path: [local_name(child.tag) for child in node]
                for path, node in [("", template), *with_nodes(template)]}
    gated = gated_paths(xform)
    seen: set[str] = set()
    for visit in visits:
        root = parse_instance(visit.xml).root
        found = list(paths(root))
        seen.update(found)
        assert set(found) <= set(order), set(found) - set(order)
        # Template order, the repeat's paths starting again for each child.
        for before, after in pairwise(found):
            assert order[before] < order[after] or after.startswith("/household/child"), \
                (before, after)
        # Only relevance leaves a node out: each element has every ungated node of its template.
        for path, node in [("", root), *with_nodes(root)]:
            names = {local_name(child.tag) for child in node}
            for name in expected[path]:
                assert name in names or f"{path}/{name}" in gated, (visit.index, path, name)
    assert len(seen) > 0.9 * len(order)


def test_same_seed_same_visits_whatever_the_count(
        visits: list[SyntheticHousehold], template: Element, villages: list[Village]) -> None:
    again = list(generate_households(template, villages, 40, seed=2026, today=TODAY))
    assert [v.xml for v in again] == [v.xml for v in visits[:40]]
    other = list(generate_households(template, villages, 40, seed=7, today=TODAY))
    assert not {v.instance_id for v in other} & {v.instance_id for v in visits}
    # The visit day moves the dates, never the identities: a rerun tomorrow finds them.
    later = list(generate_households(template, villages, 40, seed=2026, today=date(2027, 1, 5)))
    assert [v.instance_id for v in later] == [v.instance_id for v in visits[:40]]


def test_about_three_percent_refuse_and_a_refusal_has_no_household(
        visits: list[SyntheticHousehold]) -> None:
    refusals = [visit for visit in visits if not visit.consented]
    assert 0.01 * len(visits) <= len(refusals) <= 0.06 * len(visits)
    for visit in refusals:
        root = parse_instance(visit.xml).root
        assert root.find("household") is None and visit.children == 0
        assert root.findtext("consent_ok") == "no" and root.find("note_refused") is not None
        assert "từ chối / refused" in (root.findtext("meta/instanceName") or "")
    for visit in visits:
        if visit.consented:
            assert 1 <= visit.children <= 5


def test_calculations_agree_with_the_answers(visits: list[SyntheticHousehold]) -> None:
    entity_ids: list[str] = []
    for visit in (v for v in visits if v.consented):
        root = parse_instance(visit.xml).root
        today = date.fromisoformat(root.findtext("today") or "")
        assert today <= TODAY
        children = root.findall("household/child")
        assert str(len(children)) == root.findtext("household/child_count") \
            == root.findtext("household/n_children")
        for child in children:
            assert child.findtext("c_village") == root.findtext("village")
            assert child.findtext("c_household_head") == root.findtext("household/hh_head_name")
            label = child.findtext("c_entity_label")
            assert label == child.findtext("meta/entity/label")
            assert label and label.startswith(child.findtext("c_full_name") or "?")
            age = int(child.findtext("c_age") or -1)
            assert 0 <= age < 18
            if child.findtext("c_dob_known") == "full":
                assert age == age_on(date.fromisoformat(child.findtext("c_dob") or ""), today)
                assert child.findtext("c_dob_value") == child.findtext("c_dob")
            entity = child.find("meta/entity")
            assert entity is not None and entity.get("dataset") == "children"
            assert entity.get("create") == "1"
            entity_ids.append(entity.get("id", ""))
    assert all(UUID.match(entity_id) for entity_id in entity_ids)
    assert len(set(entity_ids)) == len(entity_ids)


def test_every_select_answer_is_one_of_the_forms_choices(
        visits: list[SyntheticHousehold], xform: str, villages: list[Village]) -> None:
    html = fromstring(xform.encode("utf-8"))
    lists = {instance.get("id"): {item.findtext(f"{XF}name") for item in instance.iter(f"{XF}item")}
             for instance in html.iter(f"{XF}instance") if instance.get("id")}
    lists["villages"] = {village.code for village in villages}
    choices: dict[str, set[str | None]] = {}
    for control in (*html.iter(f"{XF}select1"), *html.iter(f"{XF}select")):
        itemset = control.find(f"{XF}itemset")
        assert itemset is not None
        list_name = re.search(r"instance\('([^']+)'\)", itemset.get("nodeset", ""))
        assert list_name is not None
        choices[control.get("ref", "").removeprefix("/data/")] = lists[list_name.group(1)]
    for visit in visits:
        root = parse_instance(visit.xml).root
        for path, allowed in choices.items():
            for node in root.findall(path):
                assert set((node.text or "").split()) <= allowed, (path, node.text)


def test_names_are_vietnamese_with_nguyen_the_most_common(
        visits: list[SyntheticHousehold]) -> None:
    names = [node.text or "" for visit in visits
             for node in parse_instance(visit.xml).root.iter("c_full_name")]
    assert all(unicodedata.is_normalized("NFC", name) for name in names)
    families = Counter(name.split()[0] for name in names if " " in name)
    top, count = families.most_common(1)[0]
    assert top == "Nguyễn" and 0.2 < count / sum(families.values()) < 0.5
    assert {"Trần", "Lê", "Phạm"} <= set(families)
    assert any(ch in "ăâđêôơưạảấầẩẫậắằẳẵặẹẻẽếềểễệịỉĩọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹ"
               for name in names for ch in name.lower())


# --- the demo -----------------------------------------------------------------------------------


def count(services: Services, model: type[Any]) -> int:
    with services.database.unit_of_work() as db:
        return db.scalar(select(func.count()).select_from(model)) or 0


def test_demo_loads_a_commune_with_one_phone_per_village(services: Services,
                                                         villages: list[Village]) -> None:
    summary = load_demo(services, households=20, seed=11, admin_password=ADMIN_PASSWORD)
    assert summary.admin_created and summary.generated_password is None
    assert summary.households_submitted == 20 and summary.households_already_there == 0
    with services.database.unit_of_work() as db:
        project = db.get(Project, summary.project_id)
        assert project is not None and project.name == DEMO_PROJECT
        admin = db.scalar(select(User).where(User.email == "admin@example.org"))
        assert admin is not None and admin.role == "admin"
        forms = list(db.scalars(select(Form).where(Form.project_id == project.id)
                                .order_by(Form.id)))
        assert [form.xml_form_id for form in forms] == ["household_screening", "child_followup"]
        form, followup = forms
        assert form.current_def is not None and followup.current_def is not None
        media = {a.name: a.blob_id for a in form.current_def.attachments}
        assert media.keys() == {"villages.csv"} and media["villages.csv"] is not None
        # children.csv is no file: the attachment is linked to the registry's entity list.
        linked = {a.name: (a.blob_id, a.dataset) for a in followup.current_def.attachments}
        assert linked["children.csv"] == (None, "children") and linked["villages.csv"][0]
        phones = list(db.scalars(select(AppUser).where(AppUser.project_id == project.id)))
        assert sorted(p.villages[0] for p in phones) == [v.code for v in villages]
        assert {p.actor.display_name for p in phones} == {
            f"Cộng tác viên {v.label}" for v in villages}
        for each in forms:
            assigned = set(db.scalars(select(FormAssignment.actor_id)
                                      .where(FormAssignment.form_id == each.id)))
            assert assigned == {p.actor_id for p in phones}
        # Each visit came from its own village's phone, as Collect would send it.
        by_actor = {p.actor_id: p.villages[0] for p in phones}
        versions = list(db.scalars(select(SubmissionDef).where(SubmissionDef.form_id == form.id)))
        assert len(versions) == 20 + summary.revisits_submitted
        for version in versions:
            root = parse_instance(version.xml.encode("utf-8")).root
            assert version.submitter_id is not None
            assert by_actor[version.submitter_id] == root.findtext("village")
            assert version.device_id == root.findtext("deviceid")
            assert (version.device_id or "").startswith("collect:DEMO")


def test_running_the_demo_again_adds_nothing_and_a_larger_count_tops_up(
        services: Services) -> None:
    first = load_demo(services, households=20, seed=11)
    assert first.generated_password and len(first.generated_password) >= 16
    again = load_demo(services, households=20, seed=11)
    assert again.project_id == first.project_id and not again.project_created
    assert not again.admin_created and again.generated_password is None
    assert [p.actor_id for p in again.phones] == [p.actor_id for p in first.phones]
    assert (again.households_submitted, again.households_already_there) == (0, 20)
    more = load_demo(services, households=25, seed=11)
    assert (more.households_submitted, more.households_already_there) == (5, 20)
    assert count(services, Project) == 1 and count(services, Form) == 2
    assert count(services, AppUser) == len(first.phones)
    assert count(services, FormAssignment) == 2 * len(first.phones)
    assert count(services, Submission) == 25 + first.revisits_submitted + more.revisits_submitted


def test_demo_refuses_to_borrow_an_account_that_is_not_an_admin(services: Services) -> None:
    from server.operations.users import create_user

    with services.database.unit_of_work() as db:
        create_user(db, "lan@example.org", "Mật khẩu dài 2026")
    with pytest.raises(DemoError, match="not an active site administrator"):
        load_demo(services, households=2, admin_email="lan@example.org")
    assert count(services, Project) == 0


def test_the_admin_and_each_phone_see_the_demo_over_http(services: Services,
                                                         client: FlaskClient) -> None:
    summary = load_demo(services, households=20, seed=11)
    session = client.post("/v1/sessions", json={"email": summary.admin_email,
                                                "password": summary.generated_password})
    assert session.status_code == 200 and session.json is not None
    headers = {"Authorization": f"Bearer {session.json['token']}"}
    base = f"/v1/projects/{summary.project_id}"
    listed = client.get(f"{base}/forms/household_screening/submissions", headers=headers)
    assert listed.status_code == 200
    assert len(listed.json or []) == 20 + summary.revisits_submitted
    phone = summary.phones[0]
    key = f"/v1/key/{phone.token}/projects/{summary.project_id}"
    forms = parse_form_list(client.get(f"{key}/formList", headers=collect_headers()).data)
    form = next(f for f in forms if f["formID"] == "household_screening")
    assert form["manifestUrl"] and {f["formID"] for f in forms} == {
        "household_screening", "child_followup"}
    manifest = client.get(form["manifestUrl"], headers=collect_headers())
    assert b"villages.csv" in manifest.data
    qr = client.get(f"{base}/app-users/{phone.actor_id}/qr.png", headers=headers)
    assert qr.status_code == 200 and qr.data.startswith(b"\x89PNG")


def test_a_synced_demo_gives_each_phone_its_villages_children(
        services: Services, client: FlaskClient) -> None:
    summary = load_demo(services, households=20, seed=11, today=TODAY, sync_registry=True)
    assert summary.registry is not None and summary.registry.failed == 0
    assert summary.registry.submissions == 20 + summary.revisits_submitted
    assert summary.registry.new > 0
    with services.database.unit_of_work() as db:
        villages = Counter(db.scalars(select(Child.village_code).where(
            Child.project_id == summary.project_id, Child.status == "active")))
    for phone in summary.phones:
        key = f"/v1/key/{phone.token}/projects/{summary.project_id}"
        rows = client.get(f"{key}/forms/child_followup/attachments/children.csv",
                          headers=collect_headers()).get_data(as_text=True).splitlines()
        assert rows[0].startswith("name,label,__version,full_name,")
        assert len(rows) - 1 == villages[phone.village]
        assert all(f",{phone.village}," in row for row in rows[1:])


def test_cli_demo_runs_end_to_end(database_url: str, tmp_path: Path,
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DIEMTUA_DATA_DIR", str(tmp_path / "cli-data"))
    monkeypatch.setenv("DIEMTUA_DATABASE_URL", database_url)
    monkeypatch.setenv("DIEMTUA_SECRET_KEY", "test-secret")
    monkeypatch.delenv("DIEMTUA_PUBLIC_URL", raising=False)
    runner = CliRunner()
    upgraded = runner.invoke(main, ["db", "upgrade"])
    assert upgraded.exit_code == 0, upgraded.output
    result = runner.invoke(main, ["demo", "--households", "20", "--seed", "5",
                                  "--admin-email", "quantri@example.org",
                                  "--admin-password-stdin"], input=f"{ADMIN_PASSWORD}\n")
    assert result.exit_code == 0, result.output
    out = result.output
    assert "Admin login: quantri@example.org (created)" in out
    assert ADMIN_PASSWORD not in out and "password:" not in out
    assert "Form child_followup version" in out and "children.csv" in out
    second = re.search(r"and (\d+) second visits", out)
    assert second and int(second.group(1)) > 0
    assert re.search(rf"Registry sync: {20 + int(second.group(1))} submissions, \d+ new "
                     r"children, \d+ linked", out)
    assert out.count("Collect URL: http://127.0.0.1:8383/v1/key/") == 6
    assert re.search(r"diemtua app-user qr \d+ --out T01\.png", out)
    assert re.search(r"/v1/projects/\d+/app-users/\d+/qr\.png", out)
    assert re.search(r"Submitted 20 households \(\d+ refusals, \d+ children", out)
    rerun = runner.invoke(main, ["demo", "--households", "20", "--seed", "5",
                                 "--admin-email", "quantri@example.org"])
    assert rerun.exit_code == 0, rerun.output
    assert "Submitted 0 households" in rerun.output and "20 were already there" in rerun.output
    weak = runner.invoke(main, ["demo", "--admin-email", "new@example.org",
                                "--admin-password-stdin"], input="short\n")
    assert weak.exit_code == 1 and "at least 10 characters" in weak.output


# --- against JavaRosa, the engine inside ODK Collect ---------------------------------------------


@pytest.mark.slow
def test_javarosa_fills_the_form_to_the_same_submission(
        template: Element, villages: list[Village], xform: str, tmp_path: Path) -> None:
    """Each visit's answers typed into JavaRosa (visit day = today, as the engine's today()):
    nothing refused or missing, and the engine's submission equals the generated one apart
    from what the phone itself stamps (times, device, instance and entity ids)."""
    from tests.xlsforms.conftest import fill_forms

    generated = list(generate_households(template, villages, 1000, seed=3, today=date.today(),
                                         campaign_days=1))
    # Forty ordinary visits, then the rarer branches (refusals, special circumstances).
    visits = generated[:40] + [visit for visit in generated[40:] if unusual(visit)][:80]
    html = fromstring(xform.encode("utf-8"))
    questions = {bind.get("nodeset", "").removeprefix("/data") for bind in html.iter(f"{XF}bind")
                 if not ({"calculate", "readonly"} & set(bind.keys())
                         or any(key.endswith("preload") for key in bind.keys()))}
    scenarios: dict[str, dict[str, list[str]]] = {}
    for visit in visits:
        answers: dict[str, list[str]] = {}
        for path, node in with_nodes(parse_instance(visit.xml).root):
            if path in questions:
                answers.setdefault(f"/data{path}", []).append(node.text or "")
        scenarios[f"visit{visit.index}"] = answers
    fills = fill_forms(xform, xlsforms.FORMS_DIR, scenarios, tmp_path)
    for visit in visits:
        run = fills[f"visit{visit.index}"]
        assert run.rejected == [] and run.invalid == [], (visit.index, run.rejected, run.invalid)
        assert run.instance is not None
        assert stamped_out(run.instance) == stamped_out(parse_instance(visit.xml).root)


def unusual(visit: SyntheticHousehold) -> bool:
    rare = ("HCDB", "PLAN-LABOUR", "PLAN-STREET")
    return not visit.consented or any(code.startswith(rare) for codes in visit.categories
                                      for code in codes.split())


def with_nodes(element: Element, prefix: str = "") -> Iterator[tuple[str, Element]]:
    for child in element:
        path = f"{prefix}/{local_name(child.tag)}"
        yield path, child
        yield from with_nodes(child, path)


PHONE_STAMPS = {"start", "end", "deviceid", "enumerator", "instanceID"}


def stamped_out(root: Element) -> list[tuple[str, str, dict[str, str]]]:
    return [(path, (node.text or "").strip(), {k: v for k, v in node.attrib.items() if k != "id"})
            for path, node in with_nodes(root) if path.rpartition("/")[2] not in PHONE_STAMPS]


def test_the_demo_registry_recognises_households_visited_twice(services: Services) -> None:
    def active_children() -> int:
        with services.database.unit_of_work() as db:
            return db.scalar(select(func.count()).select_from(Child)
                             .where(Child.status == "active")) or 0

    first = load_demo(services, households=120, seed=5, admin_password=ADMIN_PASSWORD,
                      today=date(2026, 11, 29), sync_registry=True, revisits=False)
    before = active_children()
    again = load_demo(services, households=120, seed=5, admin_password=ADMIN_PASSWORD,
                      today=date(2026, 11, 29), sync_registry=True)
    assert first.revisits_submitted == 0 and again.households_submitted == 0
    assert again.revisits_submitted >= 5
    registry = again.registry
    assert registry is not None and registry.failed == 0
    assert registry.submissions == again.revisits_submitted
    # Every child of a second visit is linked to its first report or sent to a person, never
    # silently made a second child; retyped names still link mostly.
    assert registry.new == 0 and registry.records == registry.linked + registry.queued
    assert registry.linked > registry.queued > 0
    assert active_children() == before + registry.queued
