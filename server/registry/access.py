"""Who sees which of a project's registry children, categories and flags (docs/access.md).

The rules, in one place, for every surface that shows registry data (the API today, exports
and pages later):

* a role limited to villages (`ProjectRole.villages`) sees only the children whose current
  `village_code` is one of them — anywhere else the child does not exist for it;
* sensitive categories (docs/privacy.md §4: E, G, I, L, M, DD, PLAN-HIVAFF), episodes known only
  from confidential Section F answers, and confidential history entries are seen only with
  `registry.read_sensitive`. Hidden means *absent*, not masked: a placeholder would still tell
  a village head that something sensitive is on file;
* the health station (`registry.read_health`) also sees the health categories it confirms
  (catalogue `confirmed_by: health_reviewer`: D, DD, N, PLAN-HIVAFF), sensitive or not, but
  never confidential episodes or entries;
* a code the catalogue does not know is treated as sensitive (fail closed);
* a flag is seen exactly when its category would be — with one exception, the urgent alert:
* docs/categories.md §6 rule 3 sends urgent alerts (a flag with a Decree 56 Art. 26 deadline) to the
  commune chair as well as the officer, yet the chair (`commune_leader`) may not read the
  sensitive categories most urgent cases carry (sexual abuse, trafficking, severe violence) or
  confidential Section F referrals. A role holding `registry.flag.urgent` therefore sees such
  a flag *masked* (`FlagView.MASKED`): that there is a confidential urgent case, on which child
  id, in which village, with which deadline and status, and when it was raised, acknowledged,
  closed — never the code or its labels, the flag's kind (a referral would say "Section F"),
  the child's name, the record that raised it or the reason it was closed. The child id is
  shown because the chair must act within the 12 hours (emergency protection is the commune
  chair's decision) and asks the officer about that child; the name is left out so that a
  list of alerts, on a screen or in a meeting, never puts a name next to "confidential".
  The masked flag stays out of everything keyed by the child (its detail, its flag count, the
  children list's `flag` filter), so opening the child shows nothing confidential. A masked
  flag may be acknowledged (the chair has seen the alert) but not closed: closing needs a
  reason, which is the officer's to give. Confidential flags *without* a deadline stay absent.

The village scopes come from the one access rule, `server.auth.visibility`, which also
decides what callers see of submissions and entity lists.

Plain Python on values and SQLAlchemy expressions (no Flask): `RegistryAccess.of` reads the
caller's verbs and village scopes once; the `*_clause` methods say the same thing in SQL so
lists filter and count in the database (each takes the village column to test, for queries
that join more than one child).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, and_, or_

from server.auth import permissions
from server.auth.principal import Principal
from server.auth.visibility import EVERY_VILLAGE, NO_VILLAGE, VillageScope, village_scope
from server.models import Child, ChildCategoryEpisode, Flag
from sync.categories import Category, Role, UnknownCategory, default_catalogue


def category_of(code: str) -> Category | None:
    try:
        return default_catalogue().get(code)
    except UnknownCategory:
        return None


def is_sensitive_code(code: str) -> bool:
    """Sensitive in the catalogue, or unknown to it (fail closed)."""
    category = category_of(code)
    return category is None or category.sensitive


def is_health_code(code: str) -> bool:
    """A category the health station confirms (docs/categories.md §5: health and disability)."""
    category = category_of(code)
    return category is not None and category.confirmed_by is Role.HEALTH_REVIEWER


class FlagView(StrEnum):
    """How one caller sees one flag (see the module docstring)."""

    FULL = "full"
    MASKED = "masked"  # a confidential urgent case, for the commune chair
    HIDDEN = "hidden"


def _public_codes() -> list[str]:
    return [c.code for c in default_catalogue() if not c.sensitive]


def _health_codes() -> list[str]:
    return [c.code for c in default_catalogue() if c.confirmed_by is Role.HEALTH_REVIEWER]


@dataclass(frozen=True)
class RegistryAccess:
    """What one caller may see and do in one project's registry, village by village."""

    read: VillageScope
    sensitive: VillageScope
    health: VillageScope
    review: VillageScope
    flag: VillageScope
    flag_close: VillageScope
    flag_urgent: VillageScope
    category: VillageScope
    category_health: VillageScope

    @classmethod
    def operator(cls, *, redacted: bool = False) -> RegistryAccess:
        """The operator at the server's console (the CLI's exports and reports): the whole
        registry, as a site admin reads it; `redacted`, as `for_outputs` leaves it for a
        caller without sensitive rights. Nothing to act on."""
        sensitive = NO_VILLAGE if redacted else EVERY_VILLAGE
        return cls(read=EVERY_VILLAGE, sensitive=sensitive, health=sensitive,
                   review=NO_VILLAGE, flag=NO_VILLAGE, flag_close=NO_VILLAGE,
                   flag_urgent=NO_VILLAGE, category=NO_VILLAGE, category_health=NO_VILLAGE)

    @property
    def sees_everything(self) -> bool:
        """Reads sensitive categories wherever it reads children: its outputs are full."""
        return self.sensitive.covers_all(self.read)

    def for_outputs(self) -> RegistryAccess:
        """What files and summaries (exports, reports, the dashboard) may show this caller:
        everything, or no sensitive category at all — not even the health ones the health
        station reads on a child's page (docs/reports.md §5). Files get forwarded and
        dashboards shown in meetings; a redacted output must be redacted all through."""
        if self.sees_everything:
            return self
        return replace(self, sensitive=NO_VILLAGE, health=NO_VILLAGE)

    @classmethod
    def of(cls, principal: Principal, project_id: int) -> RegistryAccess:
        def scope(verb: str) -> VillageScope:
            return village_scope(principal, verb, project_id)

        read = scope(permissions.REGISTRY_READ)

        def within_read(verb: str) -> VillageScope:
            # A verb never reaches further than reading does: no acting on an unseen child.
            own = scope(verb)
            if read.codes is None:
                return own
            if own.codes is None:
                return read
            return VillageScope(own.codes & read.codes)

        return cls(
            read=read,
            sensitive=within_read(permissions.REGISTRY_READ_SENSITIVE),
            health=within_read(permissions.REGISTRY_READ_HEALTH),
            review=within_read(permissions.REGISTRY_REVIEW),
            flag=within_read(permissions.REGISTRY_FLAG),
            flag_close=within_read(permissions.REGISTRY_FLAG_CLOSE),
            flag_urgent=within_read(permissions.REGISTRY_FLAG_URGENT),
            category=within_read(permissions.REGISTRY_CATEGORY),
            category_health=within_read(permissions.REGISTRY_CATEGORY_HEALTH),
        )

    # --- children ---------------------------------------------------------------------------

    def sees_child(self, village: str) -> bool:
        return self.read.covers(village)

    def child_clause(self, village: Any = None) -> ColumnElement[bool]:
        return self.read.clause(Child.village_code if village is None else village)

    # --- categories and flags ---------------------------------------------------------------

    def sees_category(self, code: str, village: str, *, confidential: bool = False) -> bool:
        """Whether an episode (or a flag) of `code` on a child of `village` is shown."""
        if not self.sees_child(village):
            return False
        if self.sensitive.covers(village):
            return True
        if confidential or category_of(code) is None:
            return False
        if not is_sensitive_code(code):
            return True
        return is_health_code(code) and self.health.covers(village)

    def sees_history_entry(self, entry: Mapping[str, Any], village: str) -> bool:
        """Confidential entries (written from Section F answers) are cp_officer eyes only."""
        return not entry.get("confidential") or self.sensitive.covers(village)

    def may_change_category(self, code: str, village: str, *, confidential: bool = False
                            ) -> bool:
        """Confirm or end: any category the caller sees with `registry.category`, health
        categories with `registry.category.health` (the health station, docs/categories.md §6)."""
        if not self.sees_category(code, village, confidential=confidential):
            return False
        if self.category.covers(village):
            return True
        return is_health_code(code) and self.category_health.covers(village)

    def flag_view(self, code: str, village: str, *, confidential: bool,
                  urgent: bool) -> FlagView:
        """Full when its category is seen; masked when it is an urgent alert the caller
        receives without reading its category; hidden otherwise."""
        if self.sees_category(code, village, confidential=confidential):
            return FlagView.FULL
        if urgent and self.sees_child(village) and self.flag_urgent.covers(village):
            return FlagView.MASKED
        return FlagView.HIDDEN

    def _category_clause(self, code: Any, confidential: Any,
                         village: Any = None) -> ColumnElement[bool]:
        """`sees_category` in SQL, on the village column given (else `Child`'s)."""
        village = Child.village_code if village is None else village
        return and_(self.child_clause(village), or_(
            self.sensitive.clause(village),
            and_(confidential.is_(False), code.in_(_public_codes())),
            and_(confidential.is_(False), code.in_(_health_codes()),
                 self.health.clause(village)),
        ))

    def episode_clause(self, village: Any = None) -> ColumnElement[bool]:
        return self._category_clause(ChildCategoryEpisode.code,
                                     ChildCategoryEpisode.confidential, village)

    def flag_clause(self, village: Any = None) -> ColumnElement[bool]:
        """Flags seen in full."""
        return self._category_clause(Flag.code, Flag.confidential, village)

    def flag_list_clause(self, village: Any = None) -> ColumnElement[bool]:
        """Flags seen in full or masked (`flag_view` in SQL)."""
        village = Child.village_code if village is None else village
        return or_(self.flag_clause(village),
                   and_(Flag.deadline.is_not(None), self.child_clause(village),
                        self.flag_urgent.clause(village)))


# --- redaction of one child's categories -----------------------------------------------------


@dataclass(frozen=True)
class ShownEpisode:
    """An episode as this caller may see it: its history without the entries it may not."""

    episode: ChildCategoryEpisode
    history: list[Mapping[str, Any]]


@dataclass(frozen=True)
class Redacted:
    episodes: list[ShownEpisode]
    # What was shown that docs/privacy.md §4 calls sensitive: codes for the audit row, never names.
    sensitive_codes: list[str]


def redact_episodes(access: RegistryAccess, village: str,
                    episodes: Iterable[ChildCategoryEpisode]) -> Redacted:
    """The episodes of one child of `village` this caller may see, and which of those were
    sensitive (a sensitive or confidential category, or a confidential history entry)."""
    shown: list[ShownEpisode] = []
    sensitive: list[str] = []
    for episode in episodes:
        if not access.sees_category(episode.code, village, confidential=episode.confidential):
            continue
        entries: Sequence[Mapping[str, Any]] = episode.history or []
        history = [entry for entry in entries if access.sees_history_entry(entry, village)]
        shown.append(ShownEpisode(episode, history))
        if (is_sensitive_code(episode.code) or episode.confidential
                or any(entry.get("confidential") for entry in history)):
            sensitive.append(episode.code)
    return Redacted(shown, sorted(set(sensitive)))


__all__ = ["EVERY_VILLAGE", "NO_VILLAGE", "FlagView", "Redacted", "RegistryAccess",
           "ShownEpisode", "VillageScope", "redact_episodes"]
