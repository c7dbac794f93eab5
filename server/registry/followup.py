"""Follow-up visits (`child_followup`): entity updates from the phones applied to the registry.

A follow-up instance names one child (`meta/entity/@id`), says whether the visit changes it
(`@update`), and which `__version` of the child the phone held (`@baseVersion`). The values it
saves are the form's `entities:saveto` binds (`out_status` → `status` …); the phone's copy of
each property when the visit began is in `cur_<property>`. A visit becomes one `ChildUpdate`
(a source row, like a record) and the child's view is recomputed from its records and updates
(`server.registry.view`).

Decisions, with Central's rules where it has one (central-backend `_updateEntity`):

* **What an update sets.** The form writes back *every* property, falling back to the phone's
  copy for what the visit did not ask. Storing those fallbacks would silently undo a change
  made on the server meanwhile, so an update keeps only the properties whose value differs
  from the phone's copy (what the visit changed), plus `last_visit`.
* **Conflicts.** An update made on an out-of-date `baseVersion` is still applied (Central). Its
  `conflict` is `hard` when a property it sets was also changed on the server since the
  phone's copy, to another value; else `soft`. `last_visit` never conflicts: two visits on
  two days are not a disagreement.
* **Merged children.** An id that was merged is followed to the surviving child (a phone may
  hold the old id until its next download); the update is then at least a soft conflict.
* **Unknown ids** (not a child of this project) raise `UnknownEntity`: the sync marks the
  submission failed with the message, and nothing is half-applied.
* **No news** (`@update` is 0 or absent: "not met", "consent withdrawn") changes nothing; the
  submission is still synced.
* **Edits.** Central applies an entity update once per submission: an edited follow-up whose
  earlier version already updated the child changes nothing more (the edit stays in the
  submission's history). An edit of a visit that had no news may still bring the update.
* **New circumstances** (`update/circ` codes the phone's copy did not have) open provisional
  categories through `server.registry.categories.apply_codes`, flags included; removing a
  code on the phone ends nothing (only an officer ends a category).
* **Section F** (the collaborator's confidential protection concern) is read with
  `sync/categories/followup_rules.json` — the screening's Section F rules — even on a visit
  without news ("not met"), so a concern raised at a follow-up opens the same referrals and
  12-hour clocks as one raised at a screening.
* **Only the sender's villages** (`server.registry.followup_scope`). A visit whose submitter
  may not update the child (another village, no villages, deleted, unknown) applies nothing —
  no update, no category, no Section F referral — and is marked `not_applied`; the officer
  gets a flag with the reason, noting a protection concern without its content.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from xml.etree.ElementTree import Element

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.models import Child, ChildUpdate, FormDef, SubmissionDef
from server.models.registry import UpdateConflict
from server.registry import categories
from server.registry.entities import ENTITY_LIST, child_of_phone_entity, entity_row
from server.registry.errors import NotFound, RegistryError
from server.registry.followup_scope import Concern, NotApplied, flag_not_applied, refusal
from server.registry.merge import resolve
from server.registry.view import refresh_child
from sync.categories import DerivedCategory, provisional_categories
from sync.instance import parse_instance
from sync.safe_xml import local_name, parse_xml

log = logging.getLogger(__name__)

FOLLOWUP_FORM = "child_followup"
FOLLOWUP_FORMS = frozenset({FOLLOWUP_FORM})

ENTITIES_NS = "http://www.opendatakit.org/xforms/entities"
XFORMS_NS = "http://www.w3.org/2002/xforms"
# Properties holding space-separated codes: the order of the codes means nothing.
MULTIPLE = frozenset({"categories", "support"})
# Set by every visit; never a disagreement between two visits.
NEVER_CONFLICTS = frozenset({"last_visit"})
CIRCUMSTANCES_PATH = "update/circ"


class UnknownEntity(RegistryError):
    """The follow-up names a child that is not in this project's registry."""


@dataclass(frozen=True)
class EntityUpdate:
    """What one follow-up instance says about its child."""

    entity_id: str
    update: bool
    base_version: int | None
    saved: dict[str, str]  # entity property → value written back
    phone_copy: dict[str, str]  # entity property → value the phone held (`cur_<property>`)
    circumstances: tuple[str, ...] | None  # `update/circ` when the visit asked it


_saveto_cache: dict[str, dict[str, str]] = {}


def saveto_paths(form_def: FormDef) -> dict[str, str]:
    """The form version's `entities:saveto` binds: instance path (without the root) →
    entity property. Cached by the version's MD5, since a stored version never changes."""
    cached = _saveto_cache.get(form_def.md5)
    if cached is None:
        cached = {}
        for bind in parse_xml(form_def.xml_bytes).iter(f"{{{XFORMS_NS}}}bind"):
            prop = bind.get(f"{{{ENTITIES_NS}}}saveto")
            if prop:
                path = bind.get("nodeset", "").strip().split("/", 2)[-1]
                cached[path] = prop
        _saveto_cache[form_def.md5] = cached
    return cached


def _at(root: Element, path: str) -> Element | None:
    node: Element | None = root
    for step in path.split("/"):
        if node is None:
            return None
        node = next((child for child in node if local_name(child.tag) == step), None)
    return node


def _text(root: Element, path: str) -> str | None:
    node = _at(root, path)
    return None if node is None else (node.text or "").strip()


def _entity_element(root: Element) -> Element | None:
    meta = _at(root, "meta")
    if meta is None:
        return None
    return next((node for node in meta if local_name(node.tag) == "entity"
                 and node.get("dataset", ENTITY_LIST) == ENTITY_LIST), None)


def _int_or_none(text: str | None) -> int | None:
    try:
        return int((text or "").strip())
    except ValueError:
        return None


def read_followup(root: Element, saveto: dict[str, str]) -> EntityUpdate | None:
    """The entity update of one follow-up instance; None when it has no `children` entity."""
    entity = _entity_element(root)
    if entity is None:
        return None
    saved = {prop: value for path, prop in saveto.items()
             if (value := _text(root, path)) is not None}
    copies = {prop: value for prop in saveto.values()
              if (value := _text(root, f"cur_{prop}")) is not None}
    circ = _text(root, CIRCUMSTANCES_PATH)
    return EntityUpdate(
        entity_id=(entity.get("id") or "").strip().removeprefix("uuid:"),
        update=(entity.get("update") or "").strip().lower() in ("1", "true"),
        base_version=_int_or_none(entity.get("baseVersion")),
        saved=saved, phone_copy=copies,
        circumstances=tuple(circ.split()) if circ is not None else None)


def _same(prop: str, a: str, b: str) -> bool:
    if prop in MULTIPLE:
        return sorted(a.split()) == sorted(b.split())
    return a.strip() == b.strip()


def changes_of(update: EntityUpdate) -> dict[str, str]:
    """What the visit changed: properties that differ from the phone's copy (a property the
    phone had no copy of counts as set), and always the visit date."""
    return {prop: value for prop, value in update.saved.items()
            if prop in NEVER_CONFLICTS or prop not in update.phone_copy
            or not _same(prop, value, update.phone_copy[prop])}


def _changed_on_server(session: Session, child: Child, update: EntityUpdate,
                       current: dict[str, str]) -> set[str]:
    """Properties changed since the phone's copy: those whose current value differs from the
    copy, and (without a copy) those set by an update applied after the base version."""
    changed = {prop for prop, copy in update.phone_copy.items()
               if prop in current and not _same(prop, copy, current[prop])}
    later = session.scalars(select(ChildUpdate.properties).where(
        ChildUpdate.child_id == child.id,
        ChildUpdate.version > (update.base_version or 0)))
    for properties in later:
        changed |= {prop for prop in properties or {} if prop not in update.phone_copy}
    return changed


def conflict_of(session: Session, child: Child, update: EntityUpdate,
                changes: dict[str, str], redirected: bool) -> UpdateConflict | None:
    outdated = redirected or update.base_version is None or update.base_version < child.version
    if not outdated:
        return None
    current = entity_row(session, child).properties
    on_server = _changed_on_server(session, child, update, current)
    clash = [prop for prop, value in changes.items()
             if prop in on_server and prop not in NEVER_CONFLICTS
             and not _same(prop, value, current.get(prop, ""))]
    return UpdateConflict.HARD if clash else UpdateConflict.SOFT


def _already_applied(session: Session, version: SubmissionDef) -> bool:
    """Whether another version of this submission already updated a child (Central applies
    one entity update per submission: edits do not apply again)."""
    return session.scalar(
        select(ChildUpdate.id).join(SubmissionDef,
                                    SubmissionDef.id == ChildUpdate.submission_def_id)
        .where(SubmissionDef.submission_id == version.submission_id).limit(1)) is not None


def _target(session: Session, entity_id: str, project_id: int) -> tuple[Child, bool]:
    """The child to update and whether the id was a merge redirect."""
    if not entity_id:
        raise UnknownEntity("the follow-up names no child (meta/entity/@id is empty)")
    try:
        child = resolve(session, entity_id, project_id)
    except NotFound as exc:
        # A child the phone created offline whose screening was linked to an existing child:
        # the update goes to that child, like one sent to a merged id.
        linked = child_of_phone_entity(session, project_id, entity_id)
        if linked is None:
            raise UnknownEntity(f"child {entity_id} is not in this project's registry "
                                "(children entity list); nothing was updated") from exc
        child = linked
    return child, child.id != entity_id


def apply_followup(session: Session, version: SubmissionDef, project_id: int
                   ) -> NotApplied | None:
    """Apply one follow-up submission version to the registry (called by the sync); says why
    when it is not applied (a child outside the submitter's villages)."""
    form_def = session.get_one(FormDef, version.form_def_id)
    root = parse_instance(version.xml.encode("utf-8"), accepted=True).root
    update = read_followup(root, saveto_paths(form_def))
    if update is None or _already_applied(session, version):
        return None
    if not update.update and not update.entity_id:
        return None
    child, redirected = _target(session, update.entity_id, project_id)
    refused = refusal(session, version, child)
    if refused is not None:
        flag_not_applied(session, version, child, refused, _concern(root, version, update))
        return refused
    if not update.update:
        # No news to store, but a protection concern noted at the visit still reaches the
        # officer (a second sync of it raises nothing twice: one flag per episode).
        apply_protection_concern(session, child.id, root, version)
        return None
    changes = changes_of(update)
    conflict = conflict_of(session, child, update, changes, redirected)
    row = ChildUpdate(
        project_id=project_id, child_id=child.id, submission_def_id=version.id,
        base_version=update.base_version, version=child.version + 1, properties=changes,
        conflict=conflict.value if conflict else None)
    session.add(row)
    refresh_child(session, child)  # the placeholder version above replays it last
    row.version = child.version
    new_codes = _new_circumstances(update)
    if new_codes:
        apply_circumstances(session, child.id, new_codes, version)
    apply_protection_concern(session, child.id, root, version)
    return None


def apply_protection_concern(session: Session, child_id: str, root: Element,
                             version: SubmissionDef) -> None:
    """Section F of the follow-up (`sync/categories/followup_rules.json`): the same confidential
    referrals and RISK (urgent on immediate danger) as a screening's Section F."""
    derived = _section_f(root, version)[1]
    if derived:
        categories.apply_derived_categories(session, child_id, derived,
                                            source=version.instance_id, by="sync",
                                            now=version.created_at)


def _section_f(root: Element, version: SubmissionDef
               ) -> tuple[dict[str, str], list[DerivedCategory]]:
    """The visit's answers, and the categories its Section F points to."""
    answers = categories.leaves(root, skip={"meta"})
    today = categories.screening_day(answers, version.created_at.date())
    return answers, list(provisional_categories(FOLLOWUP_FORM, answers, answers, today))


def _concern(root: Element, version: SubmissionDef, update: EntityUpdate) -> Concern:
    """What a visit not applied carried: a Section F concern (urgent or not), circumstances."""
    answers, derived = _section_f(root, version)
    return Concern(noted=bool(derived) or answers.get("f_concern", "").lower() == "yes",
                   urgent=any(category.urgent_signal for category in derived),
                   circumstances=bool(_new_circumstances(update)))


def _new_circumstances(update: EntityUpdate) -> list[str]:
    if update.circumstances is None:
        return []
    held = set(update.phone_copy.get("categories", "").split())
    return [code for code in dict.fromkeys(update.circumstances) if code not in held]


def apply_circumstances(session: Session, child_id: str, codes: Sequence[str],
                        version: SubmissionDef) -> None:
    """Open the codes a collaborator added as provisional categories (flags as for a
    screening); the clock of an urgent one starts when the report reached the server."""
    categories.apply_codes(session, child_id, list(codes), source=version.instance_id,
                           by="sync", now=version.created_at)
