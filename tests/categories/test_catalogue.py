"""The catalogue holds every code of docs/categories.md §5, with the legal facts of §1–§4 and
the data-protection rules of docs/privacy.md."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from sync.categories import (
    CatalogueInvalid,
    Group,
    Role,
    UnknownCategory,
    default_catalogue,
    load_catalogue,
)
from sync.categories.catalogue import parse_catalogue
from xlsforms.sources.choices import PHONE_CATEGORIES

CATALOGUE_JSON = Path(__file__).parents[2] / "sync" / "categories" / "catalogue.json"

# docs/categories.md §2: the 14 groups of Luật Trẻ em Art. 10, points a … o (no f, j; đ after d).
ARTICLE_10 = {
    "a": "HCDB-A",
    "b": "HCDB-B",
    "c": "HCDB-C",
    "d": "HCDB-D",
    "đ": "HCDB-DD",
    "e": "HCDB-E",
    "g": "HCDB-G",
    "h": "HCDB-H",
    "i": "HCDB-I",
    "k": "HCDB-K",
    "l": "HCDB-L",
    "m": "HCDB-M",
    "n": "HCDB-N",
    "o": "HCDB-O",
}
MARKERS = {
    "PLAN-POOR": Group.PLAN,
    "PLAN-HIVAFF": Group.PLAN,
    "PLAN-LABOUR": Group.PLAN,
    "PLAN-STREET": Group.PLAN,
    "RISK": Group.RISK,
    "AGEOUT-16-22": Group.AGEOUT,
}
# docs/privacy.md §4: hidden from list views and redacted exports.
SENSITIVE = {"HCDB-E", "HCDB-G", "HCDB-I", "HCDB-L", "HCDB-M", "HCDB-DD", "PLAN-HIVAFF"}
# docs/categories.md §6 rule 3: abandoned, severe violence, sexually abused, trafficked.
URGENT = {"HCDB-B", "HCDB-I", "HCDB-L", "HCDB-M"}


def raw() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(CATALOGUE_JSON.read_text("utf-8"))
    return data


def test_all_fourteen_article_10_groups_in_the_laws_order() -> None:
    article10 = default_catalogue().article10()
    assert len(article10) == 14
    assert [(c.article10_point, c.code) for c in article10] == list(ARTICLE_10.items())


def test_plan_risk_and_ageout_markers_are_not_article_10() -> None:
    catalogue = default_catalogue()
    assert set(catalogue.codes()) == set(ARTICLE_10.values()) | set(MARKERS)
    for code, group in MARKERS.items():
        assert catalogue.get(code).group is group
        assert not catalogue.get(code).is_article10


def test_every_code_has_both_labels_and_a_legal_basis() -> None:
    for category in default_catalogue():
        assert category.label_vi.strip() and category.label_en.strip(), category.code
        assert category.legal_basis and all(ref.strip() for ref in category.legal_basis)
        for sub in category.subcodes:
            assert sub.label_vi.strip() and sub.label_en.strip(), sub.code


def test_article_10_cites_its_point_and_keeps_the_legal_wording() -> None:
    for category in default_catalogue().article10():
        assert any(f"Art. 10({category.article10_point})" in ref for ref in category.legal_basis)
        assert category.legal_wording_vi and category.legal_wording_en


def test_sensitive_categories_are_those_of_domain_7d() -> None:
    catalogue = default_catalogue()
    assert {c.code for c in catalogue.sensitive()} == SENSITIVE
    assert not any(c.visible_on_phone for c in catalogue.sensitive())


def test_phones_see_exactly_the_forms_phone_categories_with_the_same_labels() -> None:
    phone = {c.code: (c.label_vi, c.label_en) for c in default_catalogue().visible_on_phone()}
    assert phone == {code: (vi, en) for code, vi, en in PHONE_CATEGORIES}


def test_urgent_categories_carry_decree_56_twelve_hours_as_data() -> None:
    catalogue = default_catalogue()
    assert {c.code for c in catalogue.urgent()} == URGENT
    now = datetime(2026, 6, 1, 8, 30, tzinfo=UTC)
    for category in catalogue.urgent():
        assert category.deadline_hours == 12
        assert category.deadline_after(now) == now + timedelta(hours=12)
    assert catalogue.get("HCDB-A").deadline_after(now) is None
    assert catalogue.urgent_signal_deadline(now) == now + timedelta(hours=12)


def test_sub_groups_of_decree_56() -> None:
    catalogue = default_catalogue()
    assert [s.code for s in catalogue.get("HCDB-A").subcodes] == ["A.1", "A.2", "A.3", "A.4"]
    assert [s.code for s in catalogue.get("HCDB-B").subcodes] == ["B.1", "B.2"]


def test_health_items_are_confirmed_by_the_health_station() -> None:
    health = {c.code for c in default_catalogue() if c.confirmed_by is Role.HEALTH_REVIEWER}
    assert health == {"HCDB-D", "HCDB-DD", "HCDB-N", "PLAN-HIVAFF"}


def test_unverified_facts_are_noted_not_hidden() -> None:
    catalogue = default_catalogue()
    assert any("14 groups" in note for note in catalogue.unverified)
    assert catalogue.get("RISK").unverified
    assert catalogue.get("HCDB-D").unverified


def test_unknown_code_is_an_error_with_a_code() -> None:
    with pytest.raises(UnknownCategory) as raised:
        default_catalogue().get("HCDB-Z")
    assert raised.value.code == "unknown_category"
    assert "HCDB-Z" not in default_catalogue()


def test_a_catalogue_file_can_be_given(tmp_path: Path) -> None:
    data = raw()
    data["categories"].append(
        {
            "code": "HCDB-P",
            "group": "article10",
            "article10_point": "p",
            "label_vi": "Nhóm mới",
            "label_en": "New group",
            "legal_basis": ["A later law"],
            "urgent": False,
            "sensitive": False,
            "visible_on_phone": False,
            "confirmed_by": "cp_officer",
        }
    )
    path = tmp_path / "catalogue.json"
    path.write_text(json.dumps(data), "utf-8")
    assert len(load_catalogue(path).article10()) == 15


def _broken(change: str) -> dict[str, Any]:
    data = copy.deepcopy(raw())
    first = data["categories"][0]
    if change == "typo":
        first["sensitve"] = True
    elif change == "duplicate":
        data["categories"].append(copy.deepcopy(first))
    elif change == "urgent-without-hours":
        first["urgent"] = True
    elif change == "sensitive-on-phone":
        first["sensitive"] = True
    elif change == "no-legal-basis":
        first["legal_basis"] = []
    elif change == "missing-label":
        del first["label_en"]
    elif change == "bad-subcode":
        first["subcodes"][0]["code"] = "B.1"
    elif change == "bad-group":
        first["group"] = "other"
    return data


@pytest.mark.parametrize(
    "change",
    [
        "typo",
        "duplicate",
        "urgent-without-hours",
        "sensitive-on-phone",
        "no-legal-basis",
        "missing-label",
        "bad-subcode",
        "bad-group",
    ],
)
def test_a_broken_catalogue_is_refused(change: str) -> None:
    with pytest.raises(CatalogueInvalid):
        parse_catalogue(_broken(change))
