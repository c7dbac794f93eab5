"""What the forms must be, checked on the committed workbooks and pyxform's XForms
(no Java here; ODK Validate and JavaRosa runs are in the slow tests)."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
import xml.etree.ElementTree as ET
from collections.abc import Iterator

import pytest
from defusedxml import ElementTree as SafeET

import xlsforms
from tests.conftest import FIXTURES
from tests.xlsforms.conftest import (
    NS,
    SCENARIO_DAY,
    _zone_still_on_scenario_day,
    choice_rows,
    survey_rows,
)
from xlsforms.build import read_cells
from xlsforms.sheet import EN, VI
from xlsforms.sources import child_followup, screening_rules
from xlsforms.sources.choices import PHONE_CATEGORIES

METADATA_TYPES = {"start", "end", "today", "deviceid", "username"}
CONSENTED = "${consent_ok} = 'yes'"

# Words that would mean a question asks the family about sexual abuse, HIV or drugs
# (docs/privacy.md §2). Both tone-mark placements of "ma túy" are listed.
FORBIDDEN_VI = [
    "xâm hại",
    "lạm dụng",
    "hiếp",
    "dâm ô",
    "tình dục",
    "hiv",
    "aids",
    "ma túy",
    "ma tuý",
    "chất gây nghiện",
    "nghiện ma",
]
FORBIDDEN_EN = [
    "abuse",
    "sexual",
    "rape",
    "molest",
    "hiv",
    "aids",
    "drug",
    "narcotic",
    "substance",
]
# The only places these words may appear: the enumerator's confidential observation
# section (filled in after the visit, never read aloud) and the note telling the
# enumerator NOT to ask about HIV. Note: the parent-status choice "cai nghiện bắt buộc /
# compulsory rehab" names a parent's legal situation (Decree 20 "no one to rely on"), not
# the child's drug use, and contains none of the words above.
CONFIDENTIAL_GROUP = "f_protection"
INSTRUCTION_NOTES = {"e_note_hiv"}


def walk(rows: list[dict[str, str]]) -> Iterator[tuple[dict[str, str], list[dict[str, str]]]]:
    """Each row with the begin_group/begin_repeat rows that enclose it."""
    stack: list[dict[str, str]] = []
    for row in rows:
        kind = row["type"]
        if kind.startswith("end_"):
            stack.pop()
            continue
        yield row, list(stack)
        if kind.startswith("begin_"):
            stack.append(row)


def by_name(form_id: str) -> dict[str, dict[str, str]]:
    return {row["name"]: row for row in survey_rows(form_id) if not row["type"].startswith("end_")}


def texts(row: dict[str, str], *columns: str) -> list[str]:
    return [row.get(f"{column}::{lang}", "") for column in columns for lang in (VI, EN)]


def fold(text: str) -> str:
    return unicodedata.normalize("NFC", text).casefold()


@pytest.mark.parametrize("form_id", xlsforms.FORM_IDS)
def test_default_language_is_vietnamese(form_id: str, models: dict[str, ET.Element]) -> None:
    settings = read_cells(xlsforms.form_path(form_id))["settings"]
    assert dict(zip(*settings, strict=True))["default_language"] == VI
    translations = models[form_id].findall("x:itext/x:translation", NS)
    assert [t.get("lang") for t in translations] == [VI, EN]
    assert translations[0].get("default") == "true()"


@pytest.mark.parametrize("form_id", xlsforms.FORM_IDS)
def test_every_label_hint_and_message_is_in_vietnamese_and_english(
    form_id: str, models: dict[str, ET.Element]
) -> None:
    for row in survey_rows(form_id):
        for column in ("label", "hint", "constraint_message"):
            vi, en = texts(row, column)
            assert bool(vi) == bool(en), f"{row['name']}: {column} in one language only"
        if row["constraint"]:
            assert all(texts(row, "constraint_message")), f"{row['name']}: constraint message"
        needs_label = row["type"] not in METADATA_TYPES | {"calculate"}
        if needs_label and not row["type"].startswith("end_"):
            assert all(texts(row, "label")), f"{row['name']}: label"
    for row in choice_rows(form_id):
        assert row[f"label::{VI}"] and row[f"label::{EN}"], row
    # And in the XForm: the same text ids in both translations, none left empty or "-".
    vi_translation, en_translation = models[form_id].findall("x:itext/x:translation", NS)

    def values(translation: ET.Element) -> dict[str, str]:
        return {
            text.get("id", ""): "".join(text.itertext()).strip()
            for text in translation.findall("x:text", NS)
        }

    vi_texts, en_texts = values(vi_translation), values(en_translation)
    assert vi_texts.keys() == en_texts.keys()
    assert all(value not in ("", "-") for value in [*vi_texts.values(), *en_texts.values()])


@pytest.mark.parametrize("form_id", xlsforms.FORM_IDS)
def test_form_id_version_and_instance_name(form_id: str, models: dict[str, ET.Element]) -> None:
    data = models[form_id].find("x:instance/x:*", NS)
    assert data is not None
    assert data.get("id") == form_id
    assert re.fullmatch(r"20\d{6}\d{2}", data.get("version", ""))  # yyyymmddNN
    assert data.find("x:meta/x:instanceName", NS) is not None


def test_screening_creates_one_children_entity_per_child(models: dict[str, ET.Element]) -> None:
    model = models["household_screening"]
    assert model.get(f"{{{NS['entities']}}}entities-version") == "2025.1.0"
    data = model.find("x:instance/x:data", NS)
    assert data is not None
    # Only the repeat declares an entity: none for the household as a whole.
    assert data.find("x:meta/x:entity", NS) is None
    children = data.findall("x:household/x:child", NS)
    assert children  # the jr:template (and pyxform's first instance)
    for child in children:
        entities = child.findall("x:meta/x:entity", NS)
        assert len(entities) == 1
        assert entities[0].get("dataset") == "children"
        assert entities[0].get("create") == "1"
        assert entities[0].find("x:label", NS) is not None
        assert len(child.findall("x:c_full_name", NS)) == 1
        assert child.find(".//x:child", NS) is None  # no nested repeat
    body = ET.tostring(model)
    assert b"entities:saveto" in body or b"saveto=" in body


def _entity_shape(form: ET.Element, repeat: str) -> tuple[str | None, set[str], set[str]]:
    """The entities version, the attributes of the repeat's entity element, and the events
    that give each entity its id (first load, and each new repeat instance)."""
    model = form.find("h:head/x:model", NS)
    assert model is not None
    entity = model.find(f"x:instance/x:data/{repeat}/x:meta/x:entity", NS)
    assert entity is not None
    events = {
        action.get("event", "")
        for action in form.iter(f"{{{NS['x']}}}setvalue")
        if action.get("ref", "").endswith("/meta/entity/@id") and action.get("value") == "uuid()"
    }
    return model.get(f"{{{NS['entities']}}}entities-version"), set(entity.attrib), events


def test_screening_entity_has_the_shape_collect_and_central_accepted(
    xforms: dict[str, str],
) -> None:
    # The fixture was filled by Collect (JavaRosa 5.1.0) and accepted by Central v2026.2.2.
    fixture = SafeET.fromstring((FIXTURES / "child_screening.xml").read_bytes())
    ours = _entity_shape(SafeET.fromstring(xforms["household_screening"]), "x:household/x:child")
    assert ours == _entity_shape(fixture, "x:child")
    assert ours == (
        "2025.1.0",
        {"dataset", "create", "id"},
        {"odk-instance-first-load", "odk-new-repeat"},
    )


def test_child_repeat_runs_once_per_counted_child() -> None:
    rows = by_name("household_screening")
    repeat = rows["child"]
    assert repeat["type"] == "begin_repeat"
    assert repeat["repeat_count"] == "${n_children}"
    assert rows["n_children"]["constraint"] == ". >= 1 and . <= 15"
    repeats = [row for row in survey_rows("household_screening") if row["type"] == "begin_repeat"]
    assert repeats == [repeat]


def test_screening_saves_every_property_the_follow_up_reads() -> None:
    saved = {row["save_to"] for row in survey_rows("household_screening") if row["save_to"]}
    assert saved >= {
        "full_name",
        "sex",
        "dob",
        "village",
        "household_head",
        "mother_name",
        "guardian_name",
        "categories",
    }
    added_by_follow_up = {"last_visit", "death_date", "moved_date", "moved_to"}
    assert set(child_followup.PROPERTIES) == saved | added_by_follow_up
    follow_up_saved = {row["save_to"] for row in survey_rows("child_followup") if row["save_to"]}
    assert follow_up_saved <= set(child_followup.PROPERTIES)
    assert {"status", "categories", "support", "death_date", "moved_date"} <= follow_up_saved


def test_follow_up_updates_the_chosen_child_with_its_base_version(
    models: dict[str, ET.Element],
) -> None:
    model = models["child_followup"]
    assert model.get(f"{{{NS['entities']}}}entities-version")
    entity = model.find("x:instance/x:data/x:meta/x:entity", NS)
    assert entity is not None
    assert entity.get("dataset") == "children"
    assert entity.get("update") == "1"
    assert "create" not in entity.attrib
    assert "baseVersion" in entity.attrib
    binds = {bind.get("nodeset"): bind for bind in model.findall("x:bind", NS)}
    base = binds["/data/meta/entity/@baseVersion"].get("calculate", "")
    assert base.replace(" ", "") == "instance('children')/root/item[name=/data/child]/__version"
    assert binds["/data/meta/entity/@id"].get("calculate", "").strip() == "/data/child"
    # The child comes from the entity list, served as children.csv.
    rows = by_name("child_followup")
    assert rows["child"]["type"] == "select_one_from_file children.csv"
    assert "village = ${village}" in rows["child"]["choice_filter"]


def test_consent_gate_hides_every_personal_question() -> None:
    rows = survey_rows("household_screening")
    names = [row["name"] for row in rows]
    assert rows[names.index("consent_ok")]["required"] == "yes"
    ungated = {"village", "consent_ok", "note_refused", "z_followup", "z_thanks"}
    gate_seen = False
    for row, ancestors in walk(rows):
        if row["name"] == "household":
            assert row["relevant"] == CONSENTED
            assert names.index("household") > names.index("consent_ok")
            gate_seen = True
            continue
        if row["type"] in METADATA_TYPES or row["name"] in ungated:
            assert not row["save_to"]
            continue
        gated = any(group["relevant"] == CONSENTED for group in ancestors)
        assert gated, f"{row['name']} is asked without consent"
    assert gate_seen
    # Nothing outside the gate is free text or a location.
    for row, ancestors in walk(rows):
        if not any(group["relevant"] == CONSENTED for group in ancestors):
            assert row["type"] not in {"text", "geopoint", "date", "integer"}, row["name"]


@pytest.mark.parametrize("form_id", xlsforms.FORM_IDS)
def test_no_question_at_the_door_asks_about_abuse_hiv_or_drugs(form_id: str) -> None:
    rows = survey_rows(form_id)
    lists_used: set[str] = set()
    confidential_seen = False
    for row, ancestors in walk(rows):
        if row["name"] == CONFIDENTIAL_GROUP or any(
            group["name"] == CONFIDENTIAL_GROUP for group in ancestors
        ):
            confidential_seen = True
            continue
        if row["name"] in INSTRUCTION_NOTES:
            assert row["type"] == "note"
            assert "Không hỏi" in row[f"label::{VI}"] and "Do not ask" in row[f"label::{EN}"]
            continue
        kind, _, list_name = row["type"].partition(" ")
        if kind in {"select_one", "select_multiple"}:
            lists_used.add(list_name)
        for text in texts(row, "label", "hint"):
            for word in FORBIDDEN_VI + FORBIDDEN_EN:
                assert word not in fold(text), f"{row['name']} mentions {word!r}: {text}"
    for choice in choice_rows(form_id):
        if choice["list_name"] in lists_used:
            for text in (choice[f"label::{VI}"], choice[f"label::{EN}"]):
                for word in FORBIDDEN_VI + FORBIDDEN_EN:
                    assert word not in fold(text), f"choice {choice['name']} mentions {word!r}"
    assert confidential_seen


@pytest.mark.parametrize("form_id", xlsforms.FORM_IDS)
def test_confidential_section_is_one_unread_screen_that_never_reaches_phones(form_id: str) -> None:
    rows = survey_rows(form_id)
    group = next(row for row in rows if row["name"] == CONFIDENTIAL_GROUP)
    assert group["appearance"] == "field-list"
    inside = [r for r, ancestors in walk(rows) if any(a is group for a in ancestors)]
    assert {r["name"] for r in inside} >= {"f_concern", "f_type", "f_urgency", "f_note"}
    assert "Không đọc" in inside[0][f"hint::{VI}"]
    assert not any(r["save_to"] for r in inside)
    for row in rows:
        if row["save_to"] or row["name"] == "c_entity_label":
            assert "${f_" not in row["calculation"], row["name"]


def test_phone_categories_leave_out_the_sensitive_codes() -> None:
    codes = {code for code, _vi, _en in PHONE_CATEGORIES}
    sensitive = {"HCDB-DD", "HCDB-E", "HCDB-G", "HCDB-I", "HCDB-L", "HCDB-M", "PLAN-HIVAFF"}
    assert not codes & sensitive
    assert {code for code, _rule in screening_rules.CATEGORY_RULES} <= codes
    circumstance = {
        c["name"] for c in choice_rows("child_followup") if c["list_name"] == "circumstance"
    }
    assert circumstance == codes


@pytest.mark.parametrize("form_id", xlsforms.FORM_IDS)
def test_no_date_can_be_in_the_future(form_id: str) -> None:
    dates = [row for row in survey_rows(form_id) if row["type"] == "date"]
    assert dates
    for row in dates:
        assert row["constraint"].startswith(". <= today()"), row["name"]


def test_child_must_be_under_18() -> None:
    rows = by_name("household_screening")
    assert "< 18" in rows["c_dob"]["constraint"]
    assert "- 18" in rows["c_birth_year"]["constraint"]
    assert rows["c_age_est"]["constraint"] == ". >= 0 and . <= 17"


@pytest.mark.parametrize("form_id", xlsforms.FORM_IDS)
def test_village_list_is_the_attached_villages_csv(
    form_id: str, models: dict[str, ET.Element]
) -> None:
    rows = by_name(form_id)
    assert rows["village"]["type"] == "select_one_from_file villages.csv"
    sources = {
        instance.get("src")
        for instance in models[form_id].findall("x:instance", NS)
        if instance.get("src")
    }
    assert sources == {f"jr://file-csv/{name}" for name in xlsforms.ATTACHMENTS[form_id]}
    assert xlsforms.VILLAGES_CSV.name == "villages.csv"
    assert xlsforms.VILLAGES_CSV.is_file()


def test_the_form_engine_stays_on_the_scenario_day_past_midnight() -> None:
    day_start = dt.datetime.combine(SCENARIO_DAY, dt.time(), dt.UTC)
    assert _zone_still_on_scenario_day(day_start + dt.timedelta(hours=23, minutes=59)) == "UTC"
    assert _zone_still_on_scenario_day(day_start + dt.timedelta(hours=24)) == "GMT-01:00"
    assert _zone_still_on_scenario_day(day_start + dt.timedelta(hours=26, minutes=5)) == "GMT-03:00"
