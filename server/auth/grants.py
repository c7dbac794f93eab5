"""No escalation: what a caller limited to villages may grant (README, "Who sees what").

A manager may be limited to villages (`ProjectRole.villages`). Its reach must not grow by
granting: where the verb that grants (`assignment.create`, `assignment.delete`, `field_key.*`)
reaches only villages V (`permissions.villages_for` not None), the caller

* grants project roles only with a non-empty village list within V — a role without a limit
  reaches the whole commune, so only unlimited managers and site administrators grant one;
* takes away only roles limited to villages within V (an unlimited role is not theirs to end);
* creates, sees (list, read, QR code, token), changes, revokes and deletes only app users whose
  villages are within V, and gives or takes forms only to and from such app users. An app
  user's token is a key to its villages' children, so one of another village never reaches
  them. An app user without villages receives no child (`visibility.children_list_scope`), so
  such a phone is within every scope.

Village codes given to a role or an app user must be villages of the project when the project
has a village list (`server.registry.villages`): a typo would otherwise grant nothing, silently.

Plain Python on the caller (`Principal`): the API and any other surface ask the same rule.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from server import problems
from server.auth.principal import Principal
from server.auth.visibility import VillageScope, village_scope
from server.models import Village
from server.registry.villages import ensure_villages
from server.storage import BlobStore


def _listed(codes: Iterable[str]) -> str:
    return ", ".join(sorted(codes)) or "(none)"


@dataclass(frozen=True)
class GrantScope:
    """Where one caller's granting verb reaches in one project."""

    villages: VillageScope

    @classmethod
    def of(cls, principal: Principal, verb: str, project_id: int) -> GrantScope:
        return cls(village_scope(principal, verb, project_id))

    @property
    def yours(self) -> list[str]:
        return sorted(self.villages.codes or ())

    def _within(self, villages: Collection[str]) -> bool:
        return self.villages.codes is None or set(villages) <= self.villages.codes

    def _refuse(self, why_vi: str, why: str, villages: Collection[str]) -> problems.Problem:
        return problems.outside_villages(why_vi, why, sorted(villages), self.yours)

    def _outside(self, what: str, villages: Collection[str]) -> problems.Problem:
        outside, yours = _listed(set(villages) - set(self.yours)), _listed(self.yours)
        return self._refuse(
            f"việc này chạm tới thôn {outside}, ngoài các thôn của bạn ({yours}).",
            f"{what} reaches village(s) {outside}, outside your villages ({yours}).", villages)

    def check_role(self, role: str, villages: Collection[str], *, granting: bool) -> None:
        """Grant (or take away) `role` limited to `villages` (empty: every village)."""
        if self.villages.codes is None:
            return
        yours = _listed(self.yours)
        if not villages and granting:
            raise self._refuse(
                f"vai trò {role} không giới hạn thôn sẽ chạm tới mọi thôn; vai trò của bạn chỉ "
                f"gồm {yours}, hãy giao cho nó các thôn trong số đó.",
                f"the {role} role without a village limit reaches every village; your role "
                f"is limited to {yours}, so give it villages among them.", villages)
        if not villages:
            raise self._refuse(
                f"vai trò {role} này không giới hạn thôn; chỉ quản lý không giới hạn hoặc "
                f"quản trị hệ thống được thu hồi (các thôn của bạn: {yours}).",
                f"this {role} role has no village limit; only an unlimited manager or a site "
                f"administrator may take it away (your villages: {yours}).", villages)
        if not self._within(villages):
            raise self._outside(f"the {role} role", villages)

    def sees_app_user(self, villages: Collection[str]) -> bool:
        """Whether an app user of `villages` (and its token) is within reach."""
        return self._within(villages)

    def check_app_user(self, villages: Collection[str], what: str = "this app user") -> None:
        if not self.sees_app_user(villages):
            raise self._outside(what, villages)


def check_village_codes(session: Session, project_id: int, codes: Collection[str],
                        store: BlobStore | None = None) -> None:
    """400.8 naming the codes the project's village list does not hold, and listing the
    villages it does, Vietnamese first (no list: any code is taken).

    With `store`, an empty list is first filled from the forms' newest `villages.csv`, as the
    registry does (`server.registry.villages.ensure_villages`)."""
    if not codes:
        return
    if store is not None:
        ensure_villages(session, store, project_id)
    known: dict[str, str] = dict(session.execute(
        select(Village.code, Village.name).where(Village.project_id == project_id)
        .order_by(Village.code)).all())
    unknown = sorted(set(codes) - set(known)) if known else []
    if unknown:
        raise unknown_villages(unknown, known)


def unknown_villages(unknown: list[str], known: dict[str, str]) -> problems.Problem:
    """Central's 400.8, saying which codes the commune lacks and which it has: whoever typed
    `thon1` sees at once that the codes are T01…T06."""
    named = ", ".join(f"{code} ({name})" if name and name != code else code
                      for code, name in known.items())
    asked = ", ".join(unknown)
    return problems.Problem(
        "400.8", f"Mã thôn không có trong xã: {asked}. Các thôn của xã: {named}. "
        f"(Unexpected villages value: unknown village code(s) {asked}; the commune's "
        f"villages are {', '.join(known)}.)",
        {"field": "villages", "unknown": unknown, "villages": list(known)})
