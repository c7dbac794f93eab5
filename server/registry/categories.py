"""A registry child's special-circumstance categories in the database (docs/categories.md §6).

`sync.categories` decides (derivation, lifecycle, which flags a change raises); this module
only stores what it returns: one `ChildCategoryEpisode` row per episode, its history as JSON,
and a `Flag` row per `FlagSpec`. Each stored `ChildRecord` keeps the categories its own answers
point to (`derived_categories`), so a child's provisional categories can be recomputed from
its records after a merge is undone or a record is taken out (`rebuild`).

Who may change what: the sync opens provisional categories and never ends one; a person
confirms, ends or accepts a referral. Those transitions raise `InvalidTransition` (from
`sync.categories`) unchanged: it is already a domain error with a code, and the HTTP layer maps
it next to `errors.InvalidDecision`.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import replace
from datetime import date, datetime
from typing import Any
from xml.etree.ElementTree import Element

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from server.models import Child, ChildCategoryEpisode, ChildRecord, Flag
from server.models.registry import FlagStatus
from server.registry.child_rows import read_entities
from server.registry.errors import NotFound
from sync.categories import (
    FORM_RULES,
    CategoryStatus,
    ChildCategory,
    DerivedCategory,
    HistoryEntry,
    Reason,
    apply_derived,
    default_catalogue,
    flags_to_raise,
    phone_codes,
    provisional_categories_each,
)
from sync.categories.status import FlagSpec
from sync.mapping import FORM_MAPPINGS
from sync.safe_xml import local_name

SYNC_ACTOR = "sync"  # `HistoryEntry.by` of everything the sync derives
_RANK = {CategoryStatus.REFERRED: 0, CategoryStatus.PROVISIONAL: 1, CategoryStatus.CONFIRMED: 2}


# --- DerivedCategory ⇄ JSON (ChildRecord.derived_categories) ---------------------------------

def derived_to_json(item: DerivedCategory) -> dict[str, Any]:
    return {"code": item.code, "subcode": item.subcode, "referral": item.referral,
            "reasons": [{"rule_id": r.rule_id, "vi": r.vi, "en": r.en,
                         "confidential": r.confidential, "urgent": r.urgent}
                        for r in item.reasons]}


def derived_from_json(data: Mapping[str, Any]) -> DerivedCategory:
    reasons = tuple(Reason(str(r["rule_id"]), str(r["vi"]), str(r["en"]),
                           bool(r.get("confidential")), bool(r.get("urgent")))
                    for r in data.get("reasons", ()))
    return DerivedCategory(str(data["code"]), reasons, data.get("subcode"),
                           bool(data.get("referral")))


def codes_as_derived(codes: Sequence[str], *, source: str) -> list[DerivedCategory]:
    """Categories named directly (an imported list's column, a follow-up's ``circ`` answer).

    Raises `UnknownCategory` for a code the catalogue does not hold. Stored on an imported
    record as `derived_categories` (via `derived_to_json`), they survive an unmerge like
    screening answers do.
    """
    catalogue = default_catalogue()
    reason = Reason(f"named:{source}", f"Được ghi nhận trực tiếp ({source})",
                    f"Named directly ({source})")
    return [DerivedCategory(catalogue.get(code).code, (reason,))
            for code in dict.fromkeys(c.strip() for c in codes if c.strip())]


# --- screening answers → derived categories (the sync, per child element) ---------------------

def leaves(node: Element, skip: Collection[str] = ()) -> dict[str, str]:
    """Every answer under ``node`` by field name (groups flattened; XLSForm names are unique)."""
    found: dict[str, str] = {}
    for child in node:
        name = local_name(child.tag)
        if name in skip:
            continue
        if len(child):
            found.update(leaves(child, skip))
        else:
            found[name] = (child.text or "").strip()
    return found


def screening_day(household: Mapping[str, str], fallback: date) -> date:
    try:
        return date.fromisoformat(household.get("today", "")[:10])
    except ValueError:
        return fallback


def derive_from_instance(root: Element, fallback_today: date) -> list[list[dict[str, Any]]]:
    """The derived categories of each child repeat of a submission, in repeat order, as JSON.

    Ages are counted on the screening day (the form's ``today``), so the same submission always
    derives the same categories whenever it is synced; a form without rules derives nothing.
    """
    form_id = root.attrib.get("id", "")
    mapping = FORM_MAPPINGS.get(form_id)
    groups = [n for n in root if mapping and local_name(n.tag) == mapping.household]
    if mapping is None or not groups:
        return []
    children = [n for n in groups[0] if local_name(n.tag) == mapping.child]
    if form_id not in FORM_RULES:
        return [[] for _ in children]
    household = {**leaves(root, skip={mapping.household, "meta"}),
                 **leaves(groups[0], skip={mapping.child})}
    today = screening_day(household, fallback_today)
    return [[derived_to_json(d) for d in derived] for derived in provisional_categories_each(
        form_id, household, [leaves(node, skip={"meta"}) for node in children], today)]


# --- episodes ⇄ rows ------------------------------------------------------------------------

def _entry_json(entry: HistoryEntry) -> dict[str, Any]:
    return {"at": entry.at.isoformat(), "by": entry.by, "status": entry.status.value,
            "why": entry.why, "rules": list(entry.rules), "source": entry.source,
            "confidential": entry.confidential, **({"event": entry.event} if entry.event else {})}


def _entry(data: Mapping[str, Any]) -> HistoryEntry:
    return HistoryEntry(datetime.fromisoformat(data["at"]), str(data["by"]),
                        CategoryStatus(data["status"]), str(data["why"]),
                        tuple(data.get("rules") or ()), data.get("source"),
                        bool(data.get("confidential")), str(data.get("event") or ""))


def _episode(row: ChildCategoryEpisode) -> ChildCategory:
    return ChildCategory(row.code, CategoryStatus(row.status),
                         tuple(_entry(e) for e in row.history or ()), row.subcode,
                         row.urgent_signal, row.confidential)


# Built once: the sync reads a child's episodes for every child it touches.
_ROWS = (select(ChildCategoryEpisode)
         .where(ChildCategoryEpisode.child_id == bindparam("child_id"))
         .order_by(ChildCategoryEpisode.opened_at, ChildCategoryEpisode.id))


def _rows(session: Session, child_id: str) -> list[ChildCategoryEpisode]:
    return list(session.scalars(_ROWS, {"child_id": child_id}))


def _rows_of_many(session: Session, child_ids: Collection[str]
                  ) -> dict[str, list[ChildCategoryEpisode]]:
    """`_rows` of several children in one query."""
    found: dict[str, list[ChildCategoryEpisode]] = {child_id: [] for child_id in child_ids}
    # Oldest first, as `_rows`; by an index probe per child (`server.registry.child_rows`).
    for row in read_entities(session, ChildCategoryEpisode, list(found),
                             order_by=("opened_at", "id")) if found else ():
        found[row.child_id].append(row)
    return found


def _identity(episode: ChildCategory) -> tuple[str, str]:
    return (episode.code, episode.opened_at.isoformat())


def episodes(session: Session, child_id: str) -> list[ChildCategory]:
    """The child's episodes, oldest first."""
    return [_episode(row) for row in _rows(session, child_id)]


def save_episodes(session: Session, child_id: str, wanted: Sequence[ChildCategory]) -> None:
    """Store ``wanted`` as the child's episodes: a row per episode, matched on (code, opened)
    so an unchanged episode keeps its row id; rows no longer wanted are removed.

    The phones' ``categories`` property is an entity property, so a change of it bumps the
    child's ``__version`` like any other (a child not yet in the list, version 0, waits for
    `refresh_child` to make it 1).
    """
    _store(session, child_id, _rows(session, child_id), wanted)


def _store(session: Session, child_id: str, rows: Sequence[ChildCategoryEpisode],
           wanted: Sequence[ChildCategory], child: Child | None = None,
           flush: bool = True) -> None:
    """`save_episodes` over the child's episode rows as already read (and the child, when
    the caller holds it). Without ``flush`` the rows wait for the session's next flush."""
    existing = {_identity(_episode(row)): row for row in rows}
    child = child or session.get(Child, child_id)
    if (child is not None and child.version
            and phone_codes([_episode(row) for row in rows]) != phone_codes(wanted)):
        child.version += 1
    for episode in wanted:
        row = existing.pop(_identity(episode), None)
        if row is None:
            row = ChildCategoryEpisode(child_id=child_id, code=episode.code,
                                       opened_at=episode.opened_at)
            session.add(row)
        row.status = episode.status.value
        row.subcode = episode.subcode
        row.urgent_signal = episode.urgent_signal
        row.confidential = episode.confidential
        row.history = [_entry_json(e) for e in episode.history]
        row.ended_at = episode.ended_at
        row.plan_approved_at = episode.plan_approved_at
    for row in existing.values():
        session.delete(row)
    if flush:
        session.flush()


def combine(kept: Sequence[ChildCategory], absorbed: Sequence[ChildCategory]
            ) -> list[ChildCategory]:
    """Two children's episodes once they are one child (a merge).

    Active episodes of one code become one: the earlier keeps its opening, takes the further
    status of the two (a confirmation made on either child stands) and the other's history
    entries in time order. Ended episodes are kept as they are: each is a closed story.
    """
    result = list(kept)
    for other in absorbed:
        index = next((n for n, c in enumerate(result)
                      if c.code == other.code and c.is_active and other.is_active), None)
        if index is None:
            result.append(other)
            continue
        mine = result[index]
        first, second = sorted((mine, other), key=lambda c: c.opened_at)
        status = max(first.status, second.status, key=lambda s: _RANK[s])
        result[index] = ChildCategory(
            first.code, status, tuple(sorted((*first.history, *second.history),
                                             key=lambda e: e.at)),
            first.subcode or second.subcode, first.urgent_signal or second.urgent_signal,
            first.confidential and second.confidential)
    return sorted(result, key=lambda c: c.opened_at)


# --- applying derivations, raising flags ---------------------------------------------------

def _flagged(session: Session, child_id: str, spec: FlagSpec, opened_at: datetime) -> bool:
    """Whether this episode already has this flag: one not yet closed, or one raised since the
    episode opened (a rerun, a re-report or an undone merge never raises it twice)."""
    rows = session.scalars(select(Flag).where(
        Flag.child_id == child_id, Flag.code == spec.code, Flag.kind == spec.kind.value))
    return any(f.status != FlagStatus.CLOSED.value or f.raised_at >= opened_at for f in rows)


def _among(flags: Sequence[Flag], spec: FlagSpec, opened_at: datetime) -> bool:
    """`_flagged`, asked of flags in hand."""
    return any(f.code == spec.code and f.kind == spec.kind.value
               and (f.status != FlagStatus.CLOSED.value or f.raised_at >= opened_at)
               for f in flags)


def raise_flags(session: Session, child: Child, before: Sequence[ChildCategory],
                after: Sequence[ChildCategory], now: datetime,
                record_id: int | None = None, known: Sequence[Flag] | None = None
                ) -> list[Flag]:
    """Store the flags `flags_to_raise` gives for a change of one child's categories.

    ``known``: all the child's flags, when the caller has them (a child the sync has just
    made has only those raised since); they are then not read, nor the new ones flushed."""
    opened = {c.code: c.opened_at for c in after if c.is_active}
    raised = []
    for spec in flags_to_raise(before, after, now):
        since = opened.get(spec.code, now)
        if (_flagged(session, child.id, spec, since) if known is None
                else _among(known, spec, since)):
            continue
        flag = Flag(project_id=child.project_id, child_id=child.id, code=spec.code,
                    kind=spec.kind.value, deadline=spec.deadline,
                    confidential=spec.confidential, record_id=record_id, raised_at=now,
                    status=FlagStatus.OPEN.value)
        session.add(flag)
        raised.append(flag)
    if known is None:
        session.flush()
    return raised


def _child(session: Session, child_id: str) -> Child:
    child = session.get(Child, child_id)
    if child is None:
        raise NotFound(f"child {child_id} not found")
    return child


def _by_age(records: Sequence[ChildRecord]) -> list[ChildRecord]:
    return sorted(records, key=lambda r: (r.created_at, r.id))


def _replay(session: Session, child: Child, current: list[ChildCategory],
            records: Sequence[ChildRecord], at: Callable[[ChildRecord], datetime],
            by: str, new: bool = False) -> tuple[list[ChildCategory], list[Flag]]:
    """Apply the records' derived categories in age order; ``new``: the child has no flags
    but those raised here."""
    raised: list[Flag] = []
    for record in _by_age(records):
        derived = [derived_from_json(d) for d in record.derived_categories or ()]
        if not derived:
            continue
        after = apply_derived(current, derived, by=by, at=at(record), source=record.source_key)
        raised += raise_flags(session, child, current, after, at(record), record.id,
                              known=list(raised) if new else None)
        current = after
    return current, raised


def _nothing_to_open(records: Sequence[ChildRecord], current: Sequence[ChildCategory]) -> bool:
    """No record points to a category, and the episodes hold no duplicate to fold: storing
    them unchanged would change nothing."""
    return (not any(record.derived_categories for record in records)
            and len({_identity(episode) for episode in current}) == len(current))


def apply_record_categories(session: Session, child_id: str, records: Sequence[ChildRecord],
                            now: datetime, by: str = SYNC_ACTOR,
                            made: Child | None = None) -> list[Flag]:
    """Open the categories the records' answers point to; store the flags that raises.

    Called by `place_records` for each child that received records, with ``made`` the child
    when the sync has just made it: it has no episodes yet, so nothing is read. Nothing is
    ended: a later report that no longer shows a circumstance leaves its category to a person.
    """
    rows = [] if made is not None else _rows(session, child_id)
    current = [_episode(row) for row in rows]
    if _nothing_to_open(records, current):
        return []
    # Only now: the sync may pass a child it has just made and not yet flushed.
    child = made or _child(session, child_id)
    after, raised = _replay(session, child, current, records, lambda _: now, by,
                            new=made is not None)
    # A child just made waits for the sync's next flush, which writes it with its episodes.
    _store(session, child_id, rows, after, child, flush=made is None)
    return raised


def apply_many_record_categories(session: Session, placed: Mapping[str, Sequence[ChildRecord]],
                                 children: Mapping[str, Child], now: datetime,
                                 by: str = SYNC_ACTOR) -> list[Flag]:
    """`apply_record_categories` for many existing children at once (those a held batch linked
    records to, `server.registry.placement.refresh_linked`): their episodes read in one query and
    written by the session's next flush. ``children`` holds each child of ``placed``."""
    raised: list[Flag] = []
    for child_id, rows in _rows_of_many(session, placed).items():
        records = placed[child_id]
        current = [_episode(row) for row in rows]
        if _nothing_to_open(records, current):
            continue
        child = children[child_id]
        after, more = _replay(session, child, current, records, lambda _: now, by)
        _store(session, child_id, rows, after, child, flush=False)
        raised += more
    return raised


def apply_codes(session: Session, child_id: str, codes: Sequence[str], *, source: str, by: str,
                now: datetime, record_id: int | None = None) -> list[Flag]:
    """Open provisional categories named by code (a follow-up's ``circ``, an imported list).

    Raises `UnknownCategory` (nothing stored) when a code is not in the catalogue.
    """
    return apply_derived_categories(session, child_id, codes_as_derived(codes, source=source),
                                    source=source, by=by, now=now, record_id=record_id)


def apply_derived_categories(session: Session, child_id: str,
                             derived: Sequence[DerivedCategory], *, source: str, by: str,
                             now: datetime, record_id: int | None = None) -> list[Flag]:
    """Open what a report without a `ChildRecord` derived (a follow-up visit's Section F) and
    store the flags that raises, as for a screening."""
    child = _child(session, child_id)
    before = episodes(session, child_id)
    after = apply_derived(before, derived, by=by, at=now, source=source)
    raised = raise_flags(session, child, before, after, now, record_id)
    save_episodes(session, child_id, after)
    return raised


def _automatic(episode: ChildCategory) -> bool:
    """Never touched by a person: still in the status it was opened with."""
    return all(entry.status is episode.history[0].status for entry in episode.history)


def rebuild(session: Session, child_id: str, records: Sequence[ChildRecord]) -> list[Flag]:
    """Recompute a child's categories after its records changed (an unmerge or undone merge).

    Episodes a person acted on stay as they are. Automatic ones lose the history entries of
    records that left the child, and go when none is left; then the remaining records'
    derivations are replayed (at the time each record was stored), so what the child's own
    answers say is open again — without a second flag for an episode already flagged.
    """
    child = _child(session, child_id)
    own = {r.source_key for r in records}
    current = episodes(session, child_id)
    named = {h.source for e in current for h in e.history if h.source}
    record_keys = set(session.scalars(select(ChildRecord.source_key).where(
        ChildRecord.project_id == child.project_id, ChildRecord.source_key.in_(named))))
    # A source that is no record (a follow-up visit, a person) is not the answers of one.
    departed = record_keys - own
    kept = []
    for episode in current:
        history = tuple(h for h in episode.history if h.source not in departed)
        if not _automatic(episode):
            kept.append(episode)
        elif history:
            kept.append(replace(episode, history=history))
    after, raised = _replay(session, child, kept, records, lambda r: r.created_at, SYNC_ACTOR)
    save_episodes(session, child_id, after)
    return raised


# --- a person's decisions -----------------------------------------------------------------

def _change(session: Session, child_id: str, code: str,
            step: Callable[[ChildCategory], ChildCategory]) -> ChildCategory:
    """Apply ``step`` to the child's active episode of ``code`` and store it."""
    current = episodes(session, child_id)
    index = next((n for n, c in enumerate(current) if c.code == code and c.is_active), None)
    if index is None:
        raise NotFound(f"child {child_id} has no active {code} category")
    current[index] = step(current[index])
    save_episodes(session, child_id, current)
    return current[index]


def confirm(session: Session, child_id: str, code: str, *, by: str, why: str, now: datetime,
            subcode: str | None = None) -> ChildCategory:
    """The officer (or the health station) confirms; `InvalidTransition` propagates."""
    return _change(session, child_id, code,
                   lambda c: c.confirm(by=by, at=now, why=why, subcode=subcode))


def end(session: Session, child_id: str, code: str, *, by: str, why: str,
        now: datetime) -> ChildCategory:
    """A person ends the episode with a reason; `InvalidTransition` propagates."""
    return _change(session, child_id, code, lambda c: c.end(by=by, at=now, why=why))


def approve_plan(session: Session, child_id: str, code: str, *, by: str, why: str,
                 at: datetime) -> ChildCategory:
    """The intervention plan of the child's active episode of ``code`` was approved on ``at``
    (docs/reports.md §3); `InvalidTransition` propagates."""
    return _change(session, child_id, code, lambda c: c.approve_plan(by=by, at=at, why=why))


def accept_referral(session: Session, child_id: str, code: str, *, by: str, why: str,
                    now: datetime) -> tuple[ChildCategory, list[Flag]]:
    """The officer opens a referral as provisional; the child may now be a new child in
    special circumstances (flagged without a second deadline)."""
    before = episodes(session, child_id)
    accepted = _change(session, child_id, code,
                       lambda c: c.accept_referral(by=by, at=now, why=why))
    raised = raise_flags(session, _child(session, child_id), before,
                         episodes(session, child_id), now)
    return accepted, raised
