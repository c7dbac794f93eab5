"""The household_screening mapping: which element feeds which registry field."""

from __future__ import annotations

from sync.dates import PartialDate
from sync.mapping import FORM_MAPPINGS, map_instance
from sync.matching import Sex
from sync.safe_xml import parse_xml

VISIT = """<data id="household_screening" version="1"><village>T03</village>
<consent_ok>yes</consent_ok><household><hh_head_name>Lò Văn Páo</hh_head_name>
<hh_book_no>HK-12</hh_book_no><hh_address/><hh_poverty>poor</hh_poverty>
<child><c_full_name>Lò Thị Mai</c_full_name><c_home_name> Bắp </c_home_name><c_sex>female</c_sex>
<c_dob_known>estimated</c_dob_known><c_dob_value>2016</c_dob_value><c_pid/>
<c_mother_name>Tòng Thị Ón</c_mother_name><c_father_name>Lò Văn Páo</c_father_name>
<c_carer_name>Lò Văn Páo</c_carer_name><c_village>T03</c_village>
<meta><entity id="e-1" create="1"/></meta></child>
<child><c_full_name>Lò Văn Tú</c_full_name><c_sex>male</c_sex><c_dob_known>month_year</c_dob_known>
<c_dob_value>2019-04</c_dob_value><c_carer_name>Lường Thị Xuân</c_carer_name></child>
</household><meta><instanceID>uuid:v1</instanceID></meta></data>"""


def test_children_are_mapped_from_the_declared_paths() -> None:
    mapped = map_instance(parse_xml(VISIT.encode()), "uuid:v1", commune="99999",
                          household_key="uuid:first")
    assert not mapped.refused and mapped.household["household_head"] == "Lò Văn Páo"
    mai, tu = (child.record for child in mapped.children)
    assert mai.record_id == "uuid:v1#1" and tu.record_id == "uuid:v1#2"
    assert mai.submission_id == tu.submission_id == "uuid:first"
    assert mai.sex is Sex.FEMALE and mai.dob == PartialDate(2016, estimated=True)
    assert mai.village == "T03" and mai.commune == "99999" and mai.household_id == "HK-12"
    assert mai.guardian_name == ""  # the carer is the father, already named
    assert mapped.children[0].answers["entity_id"] == "e-1"
    assert tu.dob == PartialDate(2019, 4) and tu.guardian_name == "Lường Thị Xuân"
    assert tu.village == "T03"  # falls back to the household's village


def test_the_home_name_is_read_beside_the_full_name_and_is_optional() -> None:
    mapped = map_instance(parse_xml(VISIT.encode()), "uuid:v1")
    mai, tu = (child.record for child in mapped.children)
    assert (mai.full_name, mai.home_name) == ("Lò Thị Mai", "Bắp")
    assert tu.home_name == ""  # no c_home_name: a form version from before the question


def test_a_refusal_has_no_household_and_no_children() -> None:
    refusal = ('<data id="household_screening"><village>T01</village>'
               "<consent_ok>no</consent_ok><meta><instanceID>uuid:r</instanceID></meta></data>")
    mapped = map_instance(parse_xml(refusal.encode()), "uuid:r")
    assert mapped.refused and mapped.children == []


def test_the_mapping_is_declared_once_per_form() -> None:
    assert set(FORM_MAPPINGS) == {"household_screening"}
