"""The forms declare their field policy (xlsforms/README.md "Field policy"): the compiled
XForms carry exactly what `sync/field_policy.json` holds for their form id, on paths that
exist, with only Section F confidential; and a commune's own XLSForm declares its policy
with the same columns."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from pyxform.xls2xform import convert

import xlsforms
from sync.field_policy import (
    InvalidFieldPolicy,
    Sensitivity,
    built_in_policies,
    declared_policy,
    policy_for,
)
from sync.safe_xml import UnsafeXml
from tests.xlsforms.conftest import NS, survey_rows
from tests.xlsforms.uploaded_form import FORM_ID, POLICY, write_uploaded_form
from xlsforms.sheet import SENSITIVITY_COLUMN, VILLAGE_COLUMN, Form, q
from xlsforms.sources.sections import PROTECTION_GROUP

# Where Section F sits in each form's instance.
SECTION_F = {
    "household_screening": f"/household/child/{PROTECTION_GROUP}",
    "child_followup": f"/{PROTECTION_GROUP}",
}


def primary_instance(model: ET.Element) -> ET.Element:
    """The root element (`<data>`) of the form's main instance (the one without an id)."""
    instance = next(i for i in model.findall("x:instance", NS) if "id" not in i.attrib)
    return instance[0]


def exists(root: ET.Element, path: str) -> bool:
    node: ET.Element | None = root
    for step in path.strip("/").split("/"):
        assert node is not None
        node = node.find(f"x:{step}", NS)
        if node is None:
            return False
    return True


@pytest.mark.parametrize("form_id", xlsforms.FORM_IDS)
def test_each_form_declares_exactly_its_built_in_policy(
    form_id: str, xforms: dict[str, str]
) -> None:
    declared = declared_policy(xforms[form_id].encode("utf-8"))
    built_in = built_in_policies()[form_id]
    assert declared.village == built_in.village
    assert dict(declared.levels) == dict(built_in.levels)


@pytest.mark.parametrize("form_id", xlsforms.FORM_IDS)
def test_every_policy_path_exists_in_the_forms_instance(
    form_id: str, xforms: dict[str, str], models: dict[str, ET.Element]
) -> None:
    root = primary_instance(models[form_id])
    for policy in (declared_policy(xforms[form_id].encode("utf-8")), built_in_policies()[form_id]):
        assert policy.village is not None
        paths = [policy.village, *policy.levels]
        assert [path for path in paths if not exists(root, path)] == []


@pytest.mark.parametrize("form_id", xlsforms.FORM_IDS)
def test_only_section_f_is_confidential(form_id: str, xforms: dict[str, str]) -> None:
    policy = declared_policy(xforms[form_id].encode("utf-8"))
    confidential = {
        path for path, level in policy.levels.items() if level is Sensitivity.CONFIDENTIAL
    }
    assert confidential == {SECTION_F[form_id]}
    assert policy.level_of(f"{SECTION_F[form_id]}/f_type") is Sensitivity.CONFIDENTIAL
    rows = [
        row
        for row in survey_rows(form_id)
        if row.get(SENSITIVITY_COLUMN) == Sensitivity.CONFIDENTIAL.value
    ]
    assert [(row["type"], row["name"]) for row in rows] == [("begin_group", PROTECTION_GROUP)]


def test_screening_health_and_functioning_are_health_and_ethnicity_is_sensitive(
    xforms: dict[str, str],
) -> None:
    policy = declared_policy(xforms["household_screening"].encode("utf-8"))
    child = "/household/child"
    for name in (
        "d_functioning/d_see",
        "d_functioning/d_behaviour",
        "d_cert",
        "d_level",
        "flag_disab",
        "e_bhyt",
        "e_longterm",
        "e_illness",
        "e_vacc",
    ):
        assert policy.level_of(f"{child}/{name}") is Sensitivity.HEALTH, name
    assert policy.level_of(f"{child}/c_ethnic") is Sensitivity.SENSITIVE
    for name in ("c_full_name", "c_dob", "c_school", "c_categories", "g_support"):
        assert policy.level_of(f"{child}/{name}") is None, name


@pytest.mark.parametrize("form_id", xlsforms.FORM_IDS)
def test_the_village_answer_is_the_required_choice_from_villages_csv(form_id: str) -> None:
    marked = [row for row in survey_rows(form_id) if row.get(VILLAGE_COLUMN)]
    assert [(row["name"], row[VILLAGE_COLUMN]) for row in marked] == [("village", "yes")]
    assert marked[0]["type"] == "select_one_from_file villages.csv"
    assert marked[0]["required"] == "yes"


def test_the_policy_columns_bring_their_namespace_and_refuse_unknown_levels() -> None:
    plain = Form("f", "F", "1", "${a}", survey=[q("text", "a")], choices=[])
    assert "namespaces" not in plain.settings()[0]
    marked = Form("f", "F", "1", "${a}", survey=[q("text", "a", village=True)], choices=[])
    assert marked.settings()[0]["namespaces"] == 'diemtua="urn:diemtua:xforms"'
    with pytest.raises(ValueError, match="secret"):
        q("text", "a", sensitivity="secret")  # type: ignore[arg-type]


# --- a commune's own form -----------------------------------------------------------------


def test_an_uploaded_xlsform_declares_its_policy_with_the_bind_columns(tmp_path: Path) -> None:
    xform = convert(xlsform=write_uploaded_form(tmp_path / "form.xlsx")).xform
    assert declared_policy(xform.encode("utf-8")) == POLICY
    # No built-in policy for a commune's form id: what the form declares is the policy.
    assert FORM_ID not in built_in_policies()
    policy = policy_for(FORM_ID, xform)
    assert policy == POLICY
    assert policy.level_of("/tre/suc_khoe/ten_benh") is Sensitivity.HEALTH
    assert policy.level_of("/tre/ho_ten") is None


def test_an_uploaded_form_with_an_unknown_level_is_refused(tmp_path: Path) -> None:
    path = write_uploaded_form(tmp_path / "form.xlsx", levels={"dan_toc": "secret"})
    xform = convert(xlsform=path).xform
    with pytest.raises(InvalidFieldPolicy, match="secret"):
        declared_policy(xform.encode("utf-8"))


def test_an_uploaded_form_without_the_namespace_is_not_a_wellformed_xform(
    tmp_path: Path,
) -> None:
    """Without the settings sheet's `namespaces` column pyxform writes `diemtua:` with no
    declaration, so the XForm cannot be read at all — the policy is never silently lost."""
    path = write_uploaded_form(tmp_path / "form.xlsx", namespaces=False)
    xform = convert(xlsform=path).xform
    with pytest.raises(UnsafeXml, match="unbound prefix"):
        declared_policy(xform.encode("utf-8"))


@pytest.mark.slow
def test_an_uploaded_form_with_the_columns_passes_odk_validate(tmp_path: Path) -> None:
    warnings: list[str] = []
    result = convert(
        xlsform=write_uploaded_form(tmp_path / "form.xlsx"), validate=True, warnings=warnings
    )
    assert warnings == []
    assert 'diemtua:sensitivity="confidential"' in result.xform
