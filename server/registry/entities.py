"""The registry as the `children` entity list: the rows a phone downloads as `children.csv`.

Plain Python on a session (no Flask): the OpenRosa media route, the manifest, the integrity
endpoint and the dataset API all build the list here, so what a manifest's hash announces is
exactly what the download then serves.

Who gets which children is the one access rule's (`server.auth.visibility`, docs/access.md):
a collaborator's phone holds only the children of its villages — an app user gets the
villages in `AppUser.villages` and *nothing* when it has none (a phone set up without
villages must not receive the whole commune), and so does a web user filling forms
(`formfill`). Site admins get every village; office roles the villages they are limited to,
or every village.

Columns (xlsforms/README.md "The `children` entity list"): `name` (the stable child id),
`label`, `__version` (`Child.version`, the number a follow-up sends back as `baseVersion`), then
the properties the follow-up form reads. `categories` are the open, phone-visible,
non-confidential codes of the child's category episodes: sensitive codes (docs/privacy.md §4)
and codes known only from Section F never leave the server.
"""

from __future__ import annotations

import csv
import hashlib
import io
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import String, cast, select
from sqlalchemy.orm import Session

from server.auth.principal import Principal
from server.auth.visibility import children_list_scope
from server.models import Child, ChildCategoryEpisode, ChildMembership, ChildRecord
from server.models.registry import ChildStatus
from server.registry.errors import NotFound
from server.registry.merge import resolve
from sync.categories import UnknownCategory, default_catalogue

ENTITY_LIST = "children"
ENTITY_LIST_FILE = f"{ENTITY_LIST}.csv"

PROPERTIES: tuple[str, ...] = (
    "full_name", "home_name", "sex", "dob", "dob_precision", "village", "household_head",
    "mother_name", "father_name", "guardian_name", "categories", "support", "school_status",
    "status", "last_visit", "death_date", "moved_date", "moved_to",
)
HEADER: tuple[str, ...] = ("name", "label", "__version", *PROPERTIES)

_SEX = {"M": "male", "F": "female"}
# The registry keeps `sync.dates` precisions (day/month/year) and the form's own words;
# the phone reads the form's (`dob_precision` choices of household_screening).
_PRECISION = {"day": "full", "month": "month_year", "year": "year_only"}
_OPEN = ("provisional", "confirmed")
# Bound parameters per IN list: SQLite allows 32766, PostgreSQL 65535.
_CHUNK = 5000

Villages = frozenset[str] | None
"""A village scope: the village codes one caller may see, or None for every village."""


def villages_visible_to(who: Principal, project_id: int) -> Villages:
    """The villages whose children `who` may receive from this project's entity list (the
    one access rule, `server.auth.visibility.children_list_scope`)."""
    return children_list_scope(who, project_id).codes


def visible_children(session: Session, project_id: int, villages: Villages) -> list[Child]:
    """Active (not merged) children of the project in these villages, oldest first."""
    query = select(Child).where(Child.project_id == project_id,
                                Child.status == ChildStatus.ACTIVE.value)
    if villages is not None:
        if not villages:
            return []
        query = query.where(Child.village_code.in_(sorted(villages)))
    return list(session.scalars(query.order_by(Child.created_at, Child.id)))


def _chunks(items: Sequence[str]) -> Iterable[Sequence[str]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start:start + _CHUNK]


def _phone_visible(code: str) -> bool:
    try:
        return default_catalogue().get(code).visible_on_phone
    except UnknownCategory:
        return False  # a retired or mistyped code: the phone's choice list would not know it


def phone_categories(session: Session, child_ids: Sequence[str]) -> dict[str, str]:
    """Each child's `categories` property: open, phone-visible, non-confidential codes in
    catalogue order, space-separated (an ODK select_multiple value)."""
    found: dict[str, set[str]] = {}
    for chunk in _chunks(child_ids):
        rows = session.execute(
            select(ChildCategoryEpisode.child_id, ChildCategoryEpisode.code)
            .where(ChildCategoryEpisode.child_id.in_(chunk),
                   ChildCategoryEpisode.status.in_(_OPEN),
                   ChildCategoryEpisode.confidential.is_(False)))
        for child_id, code in rows:
            if _phone_visible(code):
                found.setdefault(child_id, set()).add(code)
    order = default_catalogue().order
    return {child_id: " ".join(sorted(codes, key=order)) for child_id, codes in found.items()}


def entity_label(child: Child) -> str:
    """`Họ tên (tên ở nhà) (năm sinh)` as the screening form writes it: the home name only when
    there is one (so a phone finds "Bắp" by typing it), `~` marks an estimated year."""
    name = child.full_name or "?"
    if child.home_name:
        name = f"{name} ({child.home_name})"
    if not child.dob:
        return name
    estimated = "~" if child.dob_precision == "estimated" else ""
    return f"{name} ({estimated}{child.dob[:4]})"


def entity_properties(child: Child, categories: str) -> dict[str, str]:
    """The follow-up form's properties of one child, as the phone stores them."""
    precision = child.dob_precision or ""
    return {
        "full_name": child.full_name,
        "home_name": child.home_name,
        "sex": _SEX.get(child.sex, "unknown"),
        "dob": child.dob or "",
        "dob_precision": _PRECISION.get(precision, precision),
        "village": child.village_code,
        "household_head": child.household_head,
        "mother_name": child.mother_name,
        "father_name": child.father_name,
        "guardian_name": child.guardian_name,
        "categories": categories,
        "support": child.support,
        "school_status": child.school_status,
        "status": child.vital_status,
        "last_visit": child.last_visit or "",
        "death_date": child.death_date or "",
        "moved_date": child.moved_date or "",
        "moved_to": child.moved_to,
    }


@dataclass(frozen=True)
class EntityRow:
    """One entity of the list: id, label, version and properties."""

    id: str
    label: str
    version: int
    properties: dict[str, str]

    def cells(self) -> list[str]:
        return [self.id, self.label, str(self.version),
                *(self.properties[name] for name in PROPERTIES)]


def entity_rows(session: Session, project_id: int, villages: Villages) -> list[EntityRow]:
    children = visible_children(session, project_id, villages)
    categories = phone_categories(session, [child.id for child in children])
    return [EntityRow(child.id, entity_label(child), child.version,
                      entity_properties(child, categories.get(child.id, "")))
            for child in children]


def entity_row(session: Session, child: Child) -> EntityRow:
    categories = phone_categories(session, [child.id])
    return EntityRow(child.id, entity_label(child), child.version,
                     entity_properties(child, categories.get(child.id, "")))


def csv_bytes(rows: Sequence[EntityRow]) -> bytes:
    """UTF-8 without a BOM (a BOM would rename Collect's `name` column), `\\n` line ends as
    Central's csv-stringify, fields quoted only when they need it."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HEADER)
    writer.writerows(row.cells() for row in rows)
    return out.getvalue().encode("utf-8")


@dataclass(frozen=True)
class EntityList:
    """What one caller downloads: the CSV and the opaque version token of it."""

    content: bytes
    rows: int

    @property
    def md5(self) -> str:
        """The manifest's hash. Central uses md5 of dataset activity, Collect treats it as an
        opaque token and downloads only when it changed (docs/openrosa.md §4). Hashing the very
        bytes served changes it whenever *this caller's* list changes — a child added, a
        version bumped, a category opened — and for nothing else, since each caller's list
        is filtered to their villages."""
        return hashlib.md5(self.content, usedforsecurity=False).hexdigest()


def entity_list(session: Session, project_id: int, villages: Villages) -> EntityList:
    rows = entity_rows(session, project_id, villages)
    return EntityList(csv_bytes(rows), len(rows))


# --- integrity: which of a phone's entity ids the server has deleted --------------------------


def _survivor(session: Session, child_id: str) -> Child | None:
    try:
        return resolve(session, child_id)
    except NotFound:
        return None


def _in_scope(child: Child | None, villages: Villages) -> bool:
    return child is not None and (villages is None or child.village_code in villages)


def child_of_phone_entity(session: Session, project_id: int, entity_id: str) -> Child | None:
    """The child now holding the record a phone created as entity ``entity_id`` when the
    registry did not keep that id (the record was linked to a child that already existed).

    Looked up in the records' raw answers: a scan, but only for ids the registry does not know,
    which only a phone with offline entities sends (in an integrity check or a follow-up).
    """
    try:
        entity_id = str(uuid.UUID(entity_id))
    except ValueError:
        return None
    held = session.scalar(
        select(ChildMembership.child_id)
        .join(ChildRecord, ChildRecord.id == ChildMembership.record_id)
        .where(ChildRecord.project_id == project_id,
               cast(ChildRecord.raw, String).contains(entity_id, autoescape=True))
        .limit(1))
    return _survivor(session, held) if held is not None else None


def deleted_states(session: Session, project_id: int, villages: Villages,
                   ids: Iterable[str]) -> list[tuple[str, bool]]:
    """Central's integrity answer for the ids a phone asks about: `(id, deleted)` for each id
    this caller may know of; unknown ids are left out, so the phone keeps an entity it made
    offline whose submission is not synced yet (Collect deletes only on `deleted=true`).

    A merged id is deleted (its survivor is in the list); so is a phone's id whose record
    went to another child. An id of another village is left out, not revealed.
    """
    states: list[tuple[str, bool]] = []
    for entity_id in dict.fromkeys(i.strip() for i in ids if i.strip()):
        child = session.get(Child, entity_id)
        if child is not None and child.project_id == project_id:
            if child.status == ChildStatus.ACTIVE.value:
                if _in_scope(child, villages):
                    states.append((entity_id, False))
            elif _in_scope(child, villages) or _in_scope(_survivor(session, entity_id), villages):
                states.append((entity_id, True))
        elif child is None and child_of_phone_entity(session, project_id, entity_id):
            states.append((entity_id, True))
    return states
