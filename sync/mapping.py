"""From a submitted form instance to registry records: the field mapping, declared per form.

The mapping from form fields to registry fields lives in one place per form.
:data:`FORM_MAPPINGS` is that place: a :class:`FormMapping` names, for each form id, where the
household and its child repeat are and which element feeds which registry field. The code below
only walks the instance; changing a question's name means editing the table, nothing else.

Plain Python (no Flask, no database): the sync worker, the tests and future imports call it.
A refusal has no ``household`` element (JavaRosa leaves non-relevant groups out), so it yields a
household with no children rather than an error.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from xml.etree.ElementTree import Element

from sync.dates import PartialDate
from sync.matching.records import ChildRecord, parse_sex
from sync.safe_xml import local_name


@dataclass(frozen=True)
class FormMapping:
    """Where one form keeps its household and children, and what each element means.

    Paths are relative: ``household`` from the instance root, ``child`` from the household
    element, and every field path from its own element (``a/b`` descends into groups).
    """

    form_id: str
    household: str
    child: str
    household_fields: Mapping[str, str]
    child_fields: Mapping[str, str]
    # Answers of the child's date-of-birth "how known" question that mean "estimated from age".
    estimated_dob: frozenset[str] = field(default_factory=frozenset)


HOUSEHOLD_SCREENING = FormMapping(
    form_id="household_screening",
    household="household",
    child="child",
    household_fields={
        "village": "../village",  # asked before consent, so it sits at the root
        "household_head": "hh_head_name",
        "household_id": "hh_book_no",
        "address": "hh_address",
        "poverty": "hh_poverty",
    },
    child_fields={
        "full_name": "c_full_name",
        # Optional (tên thường gọi ở nhà); a version of the form without it reads as "".
        "home_name": "c_home_name",
        "sex": "c_sex",
        # The form's own calculation: 2015-03-04, 2015-03 or 2015 whichever way the date came.
        "dob": "c_dob_value",
        "dob_known": "c_dob_known",
        "personal_id": "c_pid",
        "mother_name": "c_mother_name",
        "father_name": "c_father_name",
        "guardian_name": "c_carer_name",
        "village": "c_village",
        "entity_id": "meta/entity/@id",
        "categories": "c_categories",
        "school_status": "c_school",
        "support": "g_support",
        "care_arrangement": "c_carer",
        "care_registered": "c_care_registered",
    },
    estimated_dob=frozenset({"estimated"}),
)

FORM_MAPPINGS: dict[str, FormMapping] = {HOUSEHOLD_SCREENING.form_id: HOUSEHOLD_SCREENING}


@dataclass(frozen=True)
class MappedChild:
    """A child row: the matcher's record, plus the answers kept raw with the source row."""

    index: int  # 1-based position in the repeat, as in the instance's own paths
    record: ChildRecord
    answers: dict[str, str]


@dataclass(frozen=True)
class MappedHousehold:
    household: dict[str, str]
    children: list[MappedChild]

    @property
    def refused(self) -> bool:
        return not self.household


def _child_elements(node: Element, name: str) -> list[Element]:
    return [child for child in node if local_name(child.tag) == name]


class _Children:
    """Each element's children by local name, sorted out once per element: a form's dozens of
    field paths then cost a dictionary look-up each, not a walk over every sibling."""

    def __init__(self) -> None:
        self._by_name: dict[Element, dict[str, list[Element]]] = {}

    def named(self, node: Element, name: str) -> list[Element]:
        by_name = self._by_name.get(node)
        if by_name is None:
            by_name = self._by_name[node] = {}
            for child in node:
                by_name.setdefault(local_name(child.tag), []).append(child)
        return by_name.get(name, [])


def _value(node: Element, path: str, parent: Element | None, children: _Children) -> str:
    """Text (or ``@attribute``) at a relative path; ``..`` steps up to ``parent`` once."""
    current: Element | None = node
    steps = path.split("/")
    if steps[0] == "..":
        current, steps = parent, steps[1:]
    for step in steps:
        if current is None:
            return ""
        if step.startswith("@"):
            return current.attrib.get(step[1:], "").strip()
        found = children.named(current, step)
        current = found[0] if found else None
    return (current.text or "").strip() if current is not None else ""


def _dob(text: str, estimated: bool) -> PartialDate | None:
    try:
        return PartialDate.parse(text, estimated=estimated) if text else None
    except ValueError:
        return None  # an impossible date matches as unknown; the raw answer is kept


def map_instance(root: Element, instance_id: str, *, commune: str = "",
                 household_key: str | None = None) -> MappedHousehold:
    """The household and child records of one submission; raises KeyError for an unknown form.

    ``instance_id`` names this version (record ids are ``<instanceID>#<n>``); ``household_key``
    groups the rows of one visit for the matcher and defaults to the instance id.
    """
    mapping = FORM_MAPPINGS[root.attrib.get("id", "")]
    groups = _child_elements(root, mapping.household)
    if not groups:
        return MappedHousehold({}, [])
    household_node = groups[0]
    children_of = _Children()
    household = {name: _value(household_node, path, root, children_of)
                 for name, path in mapping.household_fields.items()}
    key = household_key or instance_id
    children = []
    for index, node in enumerate(children_of.named(household_node, mapping.child), start=1):
        answers = {name: _value(node, path, household_node, children_of)
                   for name, path in mapping.child_fields.items()}
        guardian = answers["guardian_name"]
        if guardian in (answers["mother_name"], answers["father_name"]):
            guardian = ""  # the carer is a parent already named: not a third person
        record = ChildRecord(
            record_id=f"{instance_id}#{index}",
            submission_id=key,
            full_name=answers["full_name"],
            home_name=answers["home_name"],
            sex=parse_sex(answers["sex"]),
            dob=_dob(answers["dob"], answers["dob_known"] in mapping.estimated_dob),
            village=answers["village"] or household["village"],
            commune=commune,
            household_id=household["household_id"],
            household_head=household["household_head"],
            mother_name=answers["mother_name"],
            father_name=answers["father_name"],
            guardian_name=guardian,
            personal_id=answers["personal_id"],
        )
        children.append(MappedChild(index, record, answers))
    return MappedHousehold(household, children)
