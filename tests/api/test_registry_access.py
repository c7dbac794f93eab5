"""Who sees what of the registry (`server.registry.access`), role by role and village by
village, without HTTP: the rules every registry surface applies (docs/access.md)."""

from __future__ import annotations

from typing import Any

import pytest

from server.auth import permissions
from server.auth.principal import Principal
from server.models import ChildCategoryEpisode, User
from server.registry.access import (
    EVERY_VILLAGE,
    NO_VILLAGE,
    FlagView,
    RegistryAccess,
    VillageScope,
    redact_episodes,
)

PROJECT = 7


def holder(*roles: str, villages: dict[str, list[str]] | None = None) -> Principal:
    """A web user holding `roles` on PROJECT, each limited to `villages[role]` if given."""
    limits = {role: frozenset((villages or {}).get(role, [])) for role in roles}
    return Principal(user=User(role="none"), project_roles={PROJECT: set(roles)},
                     role_villages={PROJECT: limits})


def access(*roles: str, **villages: list[str]) -> RegistryAccess:
    return RegistryAccess.of(holder(*roles, villages=villages), PROJECT)


def episode(code: str, *, confidential: bool = False,
            history: list[dict[str, Any]] | None = None) -> ChildCategoryEpisode:
    return ChildCategoryEpisode(code=code, status="provisional", confidential=confidential,
                                history=history or [{"why": "screening", "confidential": False}])


def test_a_village_scope_covers_its_villages_and_an_empty_one_none() -> None:
    assert EVERY_VILLAGE.covers("T09") and not EVERY_VILLAGE.is_empty
    assert VillageScope(frozenset({"T01"})).covers("T01")
    assert not VillageScope(frozenset({"T01"})).covers("T02")
    assert NO_VILLAGE.is_empty and not NO_VILLAGE.covers("T01")


def test_one_unrestricted_role_lifts_the_village_limit_of_another() -> None:
    limited = holder("viewer", "commune_leader", villages={"viewer": ["T01"],
                                                           "commune_leader": ["T02"]})
    assert permissions.villages_for(limited, "registry.read", PROJECT) == {"T01", "T02"}
    assert permissions.villages_for(limited, "registry.flag.close", PROJECT) == {"T02"}
    assert permissions.villages_for(limited, "registry.read_sensitive", PROJECT) == set()
    lifted = holder("viewer", "commune_leader", villages={"viewer": ["T01"]})
    assert permissions.villages_for(lifted, "registry.read", PROJECT) is None


def test_app_users_and_collectors_hold_no_registry_verb() -> None:
    phone = Principal(project_roles={PROJECT: {"app-user"}})
    for who in (phone, holder("formfill")):
        assert RegistryAccess.of(who, PROJECT).read.is_empty
        assert not permissions.can(who, "registry.read", PROJECT)


@pytest.mark.parametrize("role", ["manager", "cp_officer"])
def test_managers_and_officers_may_import_and_see_everything(role: str) -> None:
    assert permissions.can(holder(role), "registry.import", PROJECT)
    seen = access(role)
    for code in ("HCDB-L", "HCDB-DD", "PLAN-POOR", "NOT-A-CODE"):
        assert seen.sees_category(code, "T01")
    assert seen.sees_category("RISK", "T01", confidential=True)
    assert seen.may_change_category("HCDB-L", "T01")


def test_the_site_admin_sees_everything_as_in_central() -> None:
    admin = Principal(user=User(role="admin"))
    assert RegistryAccess.of(admin, PROJECT).sees_category("HCDB-M", "T05", confidential=True)


def test_a_viewer_sees_no_sensitive_confidential_or_unknown_category() -> None:
    viewer = access("viewer")
    assert viewer.sees_category("PLAN-POOR", "T01") and viewer.sees_category("HCDB-D", "T01")
    for code in ("HCDB-E", "HCDB-G", "HCDB-I", "HCDB-L", "HCDB-M", "HCDB-DD", "PLAN-HIVAFF",
                 "NOT-A-CODE"):
        assert not viewer.sees_category(code, "T01"), code
    assert not viewer.sees_category("RISK", "T01", confidential=True)
    assert not viewer.may_change_category("PLAN-POOR", "T01")
    assert not permissions.can(holder("viewer"), "registry.review", PROJECT)


def test_the_health_station_sees_and_changes_health_categories_only() -> None:
    health = access("health_reviewer")
    assert health.sees_category("HCDB-DD", "T01") and health.sees_category("PLAN-HIVAFF", "T01")
    assert not health.sees_category("HCDB-L", "T01")
    assert not health.sees_category("HCDB-DD", "T01", confidential=True)
    assert health.may_change_category("HCDB-D", "T01")
    assert not health.may_change_category("PLAN-POOR", "T01")
    assert not permissions.can(holder("health_reviewer"), "registry.flag.close", PROJECT)


def test_a_village_limited_officer_sees_nothing_of_other_villages() -> None:
    officer = access("cp_officer", cp_officer=["T01"])
    assert officer.sees_child("T01") and not officer.sees_child("T02")
    assert officer.sees_category("HCDB-L", "T01")
    assert not officer.sees_category("PLAN-POOR", "T02")
    assert not officer.review.covers("T02")


def test_sensitive_reach_never_exceeds_reading_reach() -> None:
    # Reads everywhere as a viewer, but is the officer of T01 only.
    mixed = access("viewer", "cp_officer", cp_officer=["T01"])
    assert mixed.sees_child("T02") and mixed.sees_category("HCDB-L", "T01")
    assert not mixed.sees_category("HCDB-L", "T02")
    narrow = access("viewer", "cp_officer", viewer=["T01"])
    assert narrow.read.codes is None  # the officer role itself is unrestricted


def test_redaction_drops_hidden_episodes_and_confidential_entries_entirely() -> None:
    history = [{"why": "ordinary", "confidential": False},
               {"why": "section F", "confidential": True}]
    episodes = [episode("PLAN-POOR"), episode("HCDB-L"), episode("RISK", history=history),
                episode("RISK", confidential=True)]
    viewer = redact_episodes(access("viewer"), "T01", episodes)
    assert [(s.episode.code, [e["why"] for e in s.history]) for s in viewer.episodes] == [
        ("PLAN-POOR", ["screening"]), ("RISK", ["ordinary"])]
    assert viewer.sensitive_codes == []
    officer = redact_episodes(access("cp_officer"), "T01", episodes)
    assert len(officer.episodes) == 4 and officer.sensitive_codes == ["HCDB-L", "RISK"]
    assert [e["why"] for e in officer.episodes[2].history] == ["ordinary", "section F"]


def test_the_commune_chair_receives_urgent_alerts_it_may_not_read_masked() -> None:
    chair = access("commune_leader")
    assert chair.flag_view("HCDB-M", "T01", confidential=True, urgent=True) is FlagView.MASKED
    assert chair.flag_view("RISK", "T01", confidential=True, urgent=True) is FlagView.MASKED
    assert chair.flag_view("HCDB-E", "T01", confidential=True, urgent=False) is FlagView.HIDDEN
    assert chair.flag_view("HCDB-B", "T01", confidential=False, urgent=True) is FlagView.FULL
    assert not chair.sees_category("HCDB-M", "T01")  # the category itself stays unseen
    limited = access("commune_leader", commune_leader=["T01"])
    assert limited.flag_view("HCDB-L", "T02", confidential=True, urgent=True) is FlagView.HIDDEN
    for role in ("viewer", "health_reviewer"):
        assert access(role).flag_view("HCDB-L", "T01", confidential=True,
                                      urgent=True) is FlagView.HIDDEN, role
    officer = access("cp_officer")
    assert officer.flag_view("HCDB-L", "T01", confidential=True, urgent=True) is FlagView.FULL
