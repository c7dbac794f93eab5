"""The one access rule: which villages' children and which answers a caller may see.

Every path that returns a child's data asks here (docs/access.md): the submissions API (list,
one, `.xml`, versions, attachments, comments, edits), the CSV exports, OData, the datasets
API and the phones' `children.csv`, and — through `server.registry.access.RegistryAccess`,
which builds its finer per-category rules on the same village scopes — the registry API, the
review queue, the flags and the web pages.

*Villages.* A role may be limited to villages (`ProjectRole.villages`, an app user's
`AppUser.villages`); `permissions.villages_for` says where a verb reaches, joining all the
caller's roles in the project. An office role without a limit reaches the whole commune; a
collector role (phone or `formfill`) reaches only the villages given to it. A submission
belongs to the village its answers name (`Submission.village_code`, from the form's field
policy, `sync.field_policy`); a submission whose village is unknown is seen only by callers
without a village limit.

*Fields.* A form's answers carry a sensitivity (`sync.field_policy.Sensitivity`). A level is
shown when the caller holds, in every village it reads, a verb that grants it
(`LEVEL_VERBS`): confidential and sensitive answers need `registry.read_sensitive` (the
child-protection officer, managers), health answers also `registry.read_health` (the health
station). A field a caller may not see is *absent* — in JSON, XML, CSV and OData, and from
`$metadata` — never masked. Callers who see everything get ODK Central's exact shapes and
bytes, so pyodk and Central scripts keep working.

Plain Python on the caller (`Principal`): no Flask, so the CLI and tests ask the same rule.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, false, true

from server.auth import permissions
from server.auth.principal import Principal
from sync.field_policy import FieldPolicy, Sensitivity

ALL_LEVELS = frozenset(Sensitivity)

# Who sees answers of each level: holding one of these verbs in every village one reads.
LEVEL_VERBS: dict[Sensitivity, tuple[str, ...]] = {
    Sensitivity.CONFIDENTIAL: (permissions.REGISTRY_READ_SENSITIVE,),
    Sensitivity.SENSITIVE: (permissions.REGISTRY_READ_SENSITIVE,),
    Sensitivity.HEALTH: (permissions.REGISTRY_READ_SENSITIVE, permissions.REGISTRY_READ_HEALTH),
}


@dataclass(frozen=True)
class VillageScope:
    """The villages a verb reaches: `codes` None means every village."""

    codes: frozenset[str] | None

    def covers(self, village: str | None) -> bool:
        """Whether data of `village` is in scope; an unknown village (None or empty) only
        for a scope without limit."""
        if self.codes is None:
            return True
        return bool(village) and village in self.codes

    def covers_all(self, other: VillageScope) -> bool:
        """Whether every village of `other` is in this scope."""
        if self.codes is None:
            return True
        return other.codes is not None and other.codes <= self.codes

    @property
    def is_empty(self) -> bool:
        return self.codes is not None and not self.codes

    @property
    def is_limited(self) -> bool:
        return self.codes is not None

    def clause(self, column: Any) -> ColumnElement[bool]:
        """The same test in SQL, on a village-code column (NULL is never in a limited scope)."""
        if self.codes is None:
            return true()
        if not self.codes:
            return false()
        return column.in_(sorted(self.codes))


EVERY_VILLAGE = VillageScope(None)
NO_VILLAGE = VillageScope(frozenset())


def village_scope(principal: Principal, verb: str, project_id: int) -> VillageScope:
    """Where `verb` reaches for this caller in this project (`permissions.villages_for`)."""
    return VillageScope(permissions.villages_for(principal, verb, project_id))


def _union(*scopes: VillageScope) -> VillageScope:
    codes: set[str] = set()
    for scope in scopes:
        if scope.codes is None:
            return EVERY_VILLAGE
        codes |= scope.codes
    return VillageScope(frozenset(codes))


def visible_levels(principal: Principal, project_id: int, rows: VillageScope
                   ) -> frozenset[Sensitivity]:
    """The sensitivity levels shown to a caller who reads the villages of `rows`."""
    return frozenset(
        level for level, verbs in LEVEL_VERBS.items()
        if any(village_scope(principal, verb, project_id).covers_all(rows) for verb in verbs))


@dataclass(frozen=True)
class DataView:
    """What one caller may see of one project's form data: rows and answers."""

    villages: VillageScope
    levels: frozenset[Sensitivity]

    @property
    def sees_every_field(self) -> bool:
        return self.levels >= ALL_LEVELS

    @property
    def is_full(self) -> bool:
        """Everything, as ODK Central would show it: no village limit, no field hidden."""
        return self.villages.codes is None and self.sees_every_field

    def sees_village(self, village: str | None) -> bool:
        return self.villages.covers(village)

    def hidden_paths(self, policy: FieldPolicy) -> frozenset[str]:
        """The form's fields absent for this caller."""
        return frozenset() if self.sees_every_field else policy.hidden(self.levels)


FULL_VIEW = DataView(EVERY_VILLAGE, ALL_LEVELS)


def submission_view(principal: Principal, project_id: int) -> DataView:
    """What a caller may read of a project's submissions (and every export made of them)."""
    if principal.is_admin:
        return FULL_VIEW
    rows = village_scope(principal, "submission.read", project_id)
    return DataView(rows, visible_levels(principal, project_id, rows))


def children_list_scope(principal: Principal, project_id: int) -> VillageScope:
    """The villages whose children a caller receives as the `children` entity list (the
    phones' `children.csv`, the datasets API): an app user its own villages — none when it
    has none — and a web user the villages of its roles that read entities or fill forms,
    a collector role again reaching only the villages given to it."""
    if principal.is_admin:
        return EVERY_VILLAGE
    if principal.app_user is not None and principal.app_user.project_id != project_id:
        return NO_VILLAGE
    return _union(village_scope(principal, "entity.list", project_id),
                  village_scope(principal, "open_form.read", project_id))
