"""Projects, one per commune (Central: lib/resources/projects.js).

Lists show only the projects the caller holds a role on; site administrators see them all.
"""

from __future__ import annotations

from typing import Any

from flask_restx import Namespace, Resource

from server.api.v1 import shapes
from server.api.v1.common import extended, load_json, success
from server.api.v1.openapi import documented
from server.api.v1.schemas import ProjectInput, ProjectUpdateInput, iso, project_json
from server.auth import permissions
from server.auth.principal import Principal
from server.context import db
from server.models import Project
from server.operations.projects import (
    create_project,
    delete_project,
    list_projects,
    project_counts,
    update_project,
)
from server.route_access import acting_user, audit, readable_project

ns = Namespace("projects", description="Projects (one per commune)",
               path="/")


def _extended_json(who: Principal, project: Project) -> dict[str, Any]:
    counts = project_counts(db(), project.id)
    verbs = (sorted(permissions.MANAGE_VERBS) if who.is_admin
             else sorted(permissions.project_verbs(who, project.id)))
    return {**project_json(project), "forms": counts.forms, "appUsers": counts.app_users,
            "lastSubmission": iso(counts.last_submission), "verbs": verbs}


def _visible_ids(who: Principal) -> set[int] | None:
    if who.is_admin:
        return None
    return {project_id for project_id in who.project_roles
            if permissions.can(who, "project.read", project_id)}


@ns.route("/projects")
class ProjectList(Resource):
    @documented(shapes.Project(many=True), extended=True)
    def get(self) -> list[dict[str, Any]]:
        """The projects the caller may read; `X-Extended-Metadata: true` adds counts."""
        who = acting_user()
        projects = list_projects(db(), _visible_ids(who))
        if extended():
            return [_extended_json(who, project) for project in projects]
        return [project_json(project) for project in projects]

    @documented(shapes.Project, body=ProjectInput, errors=(409,))
    def post(self) -> dict[str, Any]:
        """Create a project `{name, description?, communeCode?}` (administrators only)."""
        who = acting_user()
        permissions.require_admin(who)
        body = load_json(ProjectInput())
        project = create_project(db(), body["name"], body["description"], body["commune_code"])
        audit(who, "project.create", f"project:{project.id}", {"data": {"name": project.name}})
        return project_json(project)


@ns.route("/projects/<int:project_id>")
class ProjectDetail(Resource):
    @documented(shapes.Project, extended=True)
    def get(self, project_id: int) -> dict[str, Any]:
        """One project; extended adds `forms`, `appUsers`, `lastSubmission` and `verbs`."""
        who = acting_user()
        project = readable_project(who, project_id)
        return _extended_json(who, project) if extended() else project_json(project)

    @documented(shapes.Project, body=ProjectUpdateInput, errors=(409,))
    def patch(self, project_id: int) -> dict[str, Any]:
        """Change `name`, `description`, `archived` or `communeCode`."""
        who = acting_user()
        project = readable_project(who, project_id, "project.update")
        changed = update_project(project, load_json(ProjectUpdateInput()))
        db().flush()
        audit(who, "project.update", f"project:{project.id}", {"data": changed})
        return project_json(project)

    def delete(self, project_id: int) -> dict[str, bool]:
        """Delete a project (site administrators only: it holds a commune's records)."""
        who = acting_user()
        project = readable_project(who, project_id, "project.delete")
        delete_project(project)
        audit(who, "project.delete", f"project:{project.id}")
        return success()
