"""Central's roles, their numeric ids, and `GET /v1/roles`.

The ids are the ones a fresh Central database gives its system roles, in migration order
(central-backend lib/model/migrations): 20181212-01 admin = 1 and app-user = 2, 20181212-03
pwreset = 3 and initbkup = 4, 20190227-01 manager = 5, 20190923-01 viewer = 6, 20200519-02
formview = 7, 20200715-01 formfill = 8. pyodk hard-codes 2 for app users. Only the roles
Điểm Tựa grants are listed; their system names are also our role names.

The registry roles of docs/privacy.md §3 are ours: ids from 101 up, so a role Central adds later
never takes one of their numbers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask_restx import Namespace, Resource

from server import problems
from server.api.v1 import shapes
from server.api.v1.openapi import documented
from server.auth.permissions import ROLE_VERBS

ns = Namespace("roles", description="Roles (Central's ids and system names)",
               path="/")

# What only a site administrator may do, beside every project verb.
SITE_VERBS = frozenset({
    "config.read", "project.create", "project.delete", "role.list", "role.read",
    "session.end", "user.create", "user.delete", "user.list", "user.password.invalidate",
    "user.read", "user.update",
})


@dataclass(frozen=True)
class Role:
    id: int
    system: str
    name: str
    # Where the role can be granted: the whole site, a project, or one form.
    scope: str

    @property
    def verbs(self) -> list[str]:
        if self.system == "admin":
            return sorted(SITE_VERBS.union(*ROLE_VERBS.values()))
        return sorted(ROLE_VERBS[self.system])


ADMIN = Role(1, "admin", "Administrator", "site")
APP_USER = Role(2, "app-user", "App User", "form")
MANAGER = Role(5, "manager", "Project Manager", "project")
VIEWER = Role(6, "viewer", "Project Viewer", "project")
FORMFILL = Role(8, "formfill", "Data Collector", "project")
CP_OFFICER = Role(101, "cp_officer", "Child Protection Officer (Phòng VH-XH)", "project")
HEALTH_REVIEWER = Role(102, "health_reviewer", "Health Reviewer (Trạm Y tế)", "project")
COMMUNE_LEADER = Role(103, "commune_leader", "Commune Leader", "project")
ROLES = (ADMIN, APP_USER, MANAGER, VIEWER, FORMFILL, CP_OFFICER, HEALTH_REVIEWER,
         COMMUNE_LEADER)


def find_role(param: str) -> Role:
    """Central takes a role's system name or its numeric id in URLs (assignments.js)."""
    for role in ROLES:
        if param in (role.system, str(role.id)):
            return role
    raise problems.not_found()


def role_by_system(system: str) -> Role:
    return next(role for role in ROLES if role.system == system)


def role_json(role: Role) -> dict[str, Any]:
    return {"id": role.id, "name": role.name, "system": role.system, "createdAt": None,
            "updatedAt": None, "verbs": role.verbs}


@ns.route("/roles")
class RoleList(Resource):
    @documented(shapes.Role(many=True), public=True)
    def get(self) -> list[dict[str, Any]]:
        """List the roles; open to everybody, as in Central."""
        return [role_json(role) for role in ROLES]


@ns.route("/roles/<string:role_id>")
class RoleDetail(Resource):
    @documented(shapes.Role, public=True)
    def get(self, role_id: str) -> dict[str, Any]:
        """One role, by numeric id or system name (`admin`, `manager`, `app-user` …)."""
        return role_json(find_role(role_id))
