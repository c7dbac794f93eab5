"""A child's categories over time, and the flags a change of them raises.

Lifecycle (docs/categories.md §6 rule 1): a category row is one *episode* of one code::

    referred ──► provisional ──► confirmed ──► ended
        │              │                          ▲
        └──────────────┴──────────────────────────┘

* ``provisional`` — derived from screening answers (`derive.provisional_categories`);
* ``referred`` — a confidential Section F referral (HCDB-E/G/I/L/M): the officer decides whether
  the category applies (docs/screening.md §7: "never automatic"); it is not yet open;
* ``confirmed`` — by the Culture-Society officer or, for health items, the health station;
* ``ended`` — closed with a reason (circumstance over, dismissed referral, aged out, error).

An ended episode never reopens: the code can start a new episode, so each history stays one
story. Every change appends a `HistoryEntry` (who, when, why).

Flags (`flags_to_raise`): a **new child in special circumstances** is a child whose first open
(provisional or confirmed) Article 10 category appears while none is open (docs/categories.md §6
rule 2). A child whose Article 10 categories had all ended and who gets a new one is new
again: the commune must act again. Urgent categories (abandoned, severe violence, sexual
abuse, trafficking) and urgent screening signals (no carer, immediate danger) carry Decree 56
Art. 26's 12-hour deadline — also when the child was already known, because the clock is about
the danger, not about novelty. Every new referral is a flag: only an officer can act on it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from sync.categories.catalogue import Catalogue, default_catalogue
from sync.categories.derive import DerivedCategory, Reason
from sync.categories.errors import InvalidTransition


class CategoryStatus(StrEnum):
    REFERRED = "referred"
    PROVISIONAL = "provisional"
    CONFIRMED = "confirmed"
    ENDED = "ended"


OPEN_STATUSES = frozenset({CategoryStatus.PROVISIONAL, CategoryStatus.CONFIRMED})
ALLOWED: dict[CategoryStatus, frozenset[CategoryStatus]] = {
    CategoryStatus.REFERRED: frozenset(
        {CategoryStatus.PROVISIONAL, CategoryStatus.CONFIRMED, CategoryStatus.ENDED}
    ),
    CategoryStatus.PROVISIONAL: frozenset({CategoryStatus.CONFIRMED, CategoryStatus.ENDED}),
    CategoryStatus.CONFIRMED: frozenset({CategoryStatus.ENDED}),
    CategoryStatus.ENDED: frozenset(),
}


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    """One event of an episode; `status` is the status after it (a note keeps the status)."""

    at: datetime
    by: str
    status: CategoryStatus
    why: str
    rules: tuple[str, ...] = ()  # rule ids, when the event came from screening answers
    source: str | None = None  # e.g. the submission's instanceID
    # Written from Section F answers: cp_officer eyes only, like the answers (docs/privacy.md §2).
    confidential: bool = False
    # What happened, when it is more than a status change: `plan_approved` (the commune chair
    # approved the child's intervention and support plan, docs/reports.md §3).
    event: str = ""


PLAN_APPROVED = "plan_approved"


@dataclass(frozen=True, slots=True)
class ChildCategory:
    """One episode of one category on one child."""

    code: str
    status: CategoryStatus
    history: tuple[HistoryEntry, ...]
    subcode: str | None = None
    urgent_signal: bool = False  # opened (or later marked) on an urgent screening signal
    # Known only from confidential answers (Section F): even a non-sensitive code such as
    # RISK must then stay off phones and list views (docs/privacy.md §2).
    confidential: bool = False

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def is_active(self) -> bool:
        """Open, or a referral waiting for the officer."""
        return self.status is not CategoryStatus.ENDED

    @property
    def opened_at(self) -> datetime:
        return self.history[0].at

    def transition(
        self, to: CategoryStatus, *, by: str, at: datetime, why: str, subcode: str | None = None
    ) -> ChildCategory:
        if to not in ALLOWED[self.status]:
            raise InvalidTransition(f"{self.code}: cannot go from {self.status} to {to}")
        if not why.strip() or not by.strip():
            raise InvalidTransition(f"{self.code}: a status change needs who and why")
        entry = HistoryEntry(at, by, to, why)
        return replace(
            self, status=to, history=(*self.history, entry), subcode=subcode or self.subcode
        )

    def confirm(
        self, *, by: str, at: datetime, why: str, subcode: str | None = None
    ) -> ChildCategory:
        return self.transition(CategoryStatus.CONFIRMED, by=by, at=at, why=why, subcode=subcode)

    def accept_referral(self, *, by: str, at: datetime, why: str) -> ChildCategory:
        """The officer finds a referral plausible but not yet verified: it opens."""
        if self.status is not CategoryStatus.REFERRED:
            raise InvalidTransition(f"{self.code}: only a referral can be accepted")
        return self.transition(CategoryStatus.PROVISIONAL, by=by, at=at, why=why)

    def end(self, *, by: str, at: datetime, why: str) -> ChildCategory:
        return self.transition(CategoryStatus.ENDED, by=by, at=at, why=why)

    @property
    def ended_at(self) -> datetime | None:
        """When the episode ended (its last move to `ended`), if it has."""
        if self.status is not CategoryStatus.ENDED:
            return None
        return next((e.at for e in reversed(self.history)
                     if e.status is CategoryStatus.ENDED), None)

    @property
    def plan_approved_at(self) -> datetime | None:
        """When its intervention plan was first approved, if it was."""
        return next((e.at for e in self.history if e.event == PLAN_APPROVED), None)

    def approve_plan(self, *, by: str, at: datetime, why: str) -> ChildCategory:
        """Record that the commune chair approved the child's intervention and support plan
        on `at` (Decree 56/2017; docs/reports.md §3): it keeps the status."""
        if self.status is CategoryStatus.ENDED or self.status is CategoryStatus.REFERRED:
            raise InvalidTransition(f"{self.code}: a plan is approved on an open category")
        if not why.strip() or not by.strip():
            raise InvalidTransition(f"{self.code}: approving a plan needs who and why")
        entry = HistoryEntry(at, by, self.status, why, event=PLAN_APPROVED)
        return replace(self, history=(*self.history, entry))

    def note(
        self,
        *,
        by: str,
        at: datetime,
        why: str,
        subcode: str | None = None,
        urgent_signal: bool = False,
        confidential: bool | None = None,
        source: str | None = None,
        rules: tuple[str, ...] = (),
        confidential_entry: bool = False,
    ) -> ChildCategory:
        """Record an event that keeps the status: a new urgent signal, a sub-code update, or
        (`confidential=False`) that the category is now known from ordinary answers."""
        entry = HistoryEntry(at, by, self.status, why, rules, source, confidential_entry)
        return replace(
            self,
            history=(*self.history, entry),
            subcode=subcode or self.subcode,
            urgent_signal=self.urgent_signal or urgent_signal,
            confidential=self.confidential if confidential is None else confidential,
        )


def _entries(
    reasons: Sequence[Reason], status: CategoryStatus, by: str, at: datetime, source: str | None
) -> tuple[HistoryEntry, ...]:
    """History entries for the reasons of a derivation: ordinary reasons in one entry,
    Section F reasons in a separate confidential one, so a history shown outside the
    child-protection officer's screens never carries them."""
    entries = []
    for confidential in (False, True):
        part = [reason for reason in reasons if reason.confidential is confidential]
        if part:
            why = " ".join(reason.vi for reason in part)
            rules = tuple(reason.rule_id for reason in part)
            entries.append(HistoryEntry(at, by, status, why, rules, source, confidential))
    return tuple(entries)


def open_category(
    derived: DerivedCategory, *, by: str, at: datetime, source: str | None = None
) -> ChildCategory:
    """A new episode from a derivation: a referral, or a provisional category."""
    status = CategoryStatus.REFERRED if derived.referral else CategoryStatus.PROVISIONAL
    return ChildCategory(
        derived.code,
        status,
        _entries(derived.reasons, status, by, at, source),
        derived.subcode,
        derived.urgent_signal,
        derived.confidential,
    )


def apply_derived(
    current: Sequence[ChildCategory],
    derived: Iterable[DerivedCategory],
    *,
    by: str,
    at: datetime,
    source: str | None = None,
) -> list[ChildCategory]:
    """The child's categories after a screening: new codes open, nothing closes.

    A later screening that no longer shows a signal does not end a category — only a person
    ends one (docs/categories.md §6: the officer confirms and closes). An active episode of the same
    code is kept; it only records a new urgent signal, a changed sub-code while provisional,
    or that the category is now also known from non-confidential answers.
    """
    result = list(current)
    for item in derived:
        index = next((n for n, c in enumerate(result) if c.code == item.code and c.is_active), None)
        if index is None:
            result.append(open_category(item, by=by, at=at, source=source))
            continue
        existing = result[index]
        if item.urgent_signal and not existing.urgent_signal:
            (entry, *_) = _entries(
                [r for r in item.reasons if r.urgent], existing.status, by, at, source
            )
            existing = existing.note(
                by=by,
                at=at,
                why=entry.why,
                urgent_signal=True,
                source=source,
                rules=entry.rules,
                confidential_entry=entry.confidential,
            )
        if existing.confidential and not item.confidential:
            (entry, *_) = _entries(item.reasons, existing.status, by, at, source)
            existing = existing.note(
                by=by, at=at, why=entry.why, confidential=False, source=source, rules=entry.rules
            )
        if (
            existing.status is CategoryStatus.PROVISIONAL
            and item.subcode is not None
            and item.subcode != existing.subcode
        ):
            existing = existing.note(
                by=by, at=at, why=f"→ {item.subcode}", subcode=item.subcode, source=source
            )
        result[index] = existing
    return result


def phone_codes(
    categories: Iterable[ChildCategory], *, catalogue: Catalogue | None = None
) -> list[str]:
    """Codes a collaborator's phone may hold (the `children` entity list's ``categories``):
    open, visible on phones, and not known only from confidential answers."""
    catalogue = catalogue or default_catalogue()
    codes = {
        c.code
        for c in categories
        if c.is_open and not c.confidential and catalogue.get(c.code).visible_on_phone
    }
    return sorted(codes, key=catalogue.order)


class FlagKind(StrEnum):
    NEW_SPECIAL_CIRCUMSTANCE = "new_special_circumstance"  # first open Article 10 category
    URGENT = "urgent"  # a Decree 56 Art. 26 clock started on an already known child
    REFERRAL = "referral"  # a confidential referral the officer must decide


@dataclass(frozen=True, slots=True)
class FlagSpec:
    """A flag for the commune to act on; `deadline` is set when the 12-hour clock runs."""

    code: str
    deadline: datetime | None
    kind: FlagKind = FlagKind.NEW_SPECIAL_CIRCUMSTANCE
    # A sensitive category, or one known only from Section F: cp_officer eyes only
    # (docs/privacy.md §3–4).
    confidential: bool = False


def _urgent(category: ChildCategory, catalogue: Catalogue) -> bool:
    return catalogue.get(category.code).urgent or category.urgent_signal


def _deadline(category: ChildCategory, now: datetime, catalogue: Catalogue) -> datetime:
    """The earliest of the category's own clock and the urgent-signal clock."""
    deadlines = [catalogue.get(category.code).deadline_after(now)]
    if category.urgent_signal:
        deadlines.append(catalogue.urgent_signal_deadline(now))
    return min(deadline for deadline in deadlines if deadline is not None)


def flags_to_raise(
    before: Sequence[ChildCategory],
    after: Sequence[ChildCategory],
    now: datetime,
    *,
    catalogue: Catalogue | None = None,
) -> list[FlagSpec]:
    """The flags a change from `before` to `after` (one child's categories) raises at `now`.

    At most one flag per code, urgent ones first. A clock starts once per episode: a
    referral that was already urgent keeps its flag when the officer opens it.
    """
    catalogue = catalogue or default_catalogue()
    was_open = {c.code for c in before if c.is_open}
    was_active = {c.code for c in before if c.is_active}
    was_urgent = {c.code for c in before if c.is_active and _urgent(c, catalogue)}
    had_article10 = any(catalogue.get(code).is_article10 for code in was_open)

    active = [c for c in after if c.is_active]
    newly_urgent = {c.code for c in active if _urgent(c, catalogue) and c.code not in was_urgent}
    flags: dict[str, FlagSpec] = {}

    def flag(category: ChildCategory, kind: FlagKind) -> FlagSpec:
        deadline = _deadline(category, now, catalogue) if category.code in newly_urgent else None
        hidden = catalogue.get(category.code).sensitive or category.confidential
        return FlagSpec(category.code, deadline, kind, hidden)

    new_article10 = [
        c
        for c in active
        if c.is_open and c.code not in was_open and catalogue.get(c.code).is_article10
    ]
    if new_article10 and not had_article10:
        lead = min(
            new_article10,
            key=lambda c: (c.code not in newly_urgent, catalogue.order(c.code)),
        )
        flags[lead.code] = flag(lead, FlagKind.NEW_SPECIAL_CIRCUMSTANCE)
    for category in active:
        if category.code in flags:
            continue
        if category.status is CategoryStatus.REFERRED and category.code not in was_active:
            flags[category.code] = flag(category, FlagKind.REFERRAL)
        elif category.code in newly_urgent:
            flags[category.code] = flag(category, FlagKind.URGENT)
    return sorted(
        flags.values(),
        key=lambda f: (f.deadline is None, f.deadline or now, catalogue.order(f.code)),
    )
