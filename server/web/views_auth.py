"""Signing in and out, and choosing the commune (project) to work on."""

from __future__ import annotations

import math

from flask import make_response, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from server import problems
from server.auth import permissions
from server.context import db
from server.models import Project
from server.operations.projects import create_project, list_projects
from server.route_access import audit
from server.web import auth, blueprint


def _safe_next(target: str | None) -> str:
    """Only a page of this UI: an open redirect would make the sign-in page a phishing aid."""
    if target and target.startswith("/ui/") and not target.startswith("//"):
        return target
    return url_for("web.home")


@blueprint.get("/")
def root() -> ResponseReturnValue:
    """People typing the server's address land on the pages; phones and API clients use
    their own paths (`/v1/…`, `/formList`, `/submission`) and never come here."""
    return redirect(url_for("web.home"))


def _login_form(error: str | None = None, status: int = 200,
                **error_values: object) -> ResponseReturnValue:
    response = make_response("", status)
    token = auth.login_csrf(response)
    response.set_data(render_template("web/login.html", login_token=token, error=error,
                                      error_values=error_values,
                                      email=request.form.get("email", ""),
                                      next=request.values.get("next", "")))
    return response


@blueprint.get("/ui/login")
def login() -> ResponseReturnValue:
    if auth.web_user() is not None:
        return redirect(_safe_next(request.args.get("next")))
    return _login_form()


@blueprint.post("/ui/login")
def login_post() -> ResponseReturnValue:
    if not auth.login_csrf_ok():
        return _login_form("login.expired", 403)
    try:
        who, row = auth.sign_in(request.form.get("email", ""), request.form.get("password", ""))
    except problems.Problem as problem:
        if problem.http_status == 429:
            # The answer also carries Retry-After (`server.auth.sign_in`).
            minutes = math.ceil(int(problem.details["retryAfter"]) / 60)
            return _login_form("login.throttled", 429, minutes=minutes)
        return _login_form("login.failed", 401)
    audit(who, "user.session.create", f"actor:{row.actor_id}", {"via": "web"})
    response = redirect(_safe_next(request.form.get("next")), 303)
    auth.set_session_cookie(response, row)
    return response


@blueprint.post("/ui/logout")
def logout() -> ResponseReturnValue:
    response = redirect(url_for("web.login"), 303)
    auth.sign_out(response)
    return response


def _readable_projects() -> list[Project]:
    """The communes whose registry the signed-in person may read."""
    user = auth.web_user()
    assert user is not None
    who = user.principal
    only = None if who.is_admin else {
        project_id for project_id in who.project_roles
        if permissions.can(who, permissions.REGISTRY_READ, project_id)}
    return list_projects(db(), only)


@blueprint.get("/ui/")
def home() -> ResponseReturnValue:
    """Where signing in lands: the commune's dashboard when there is one commune, else the
    list to choose from."""
    if auth.web_user() is None:
        return redirect(url_for("web.login"))
    projects = _readable_projects()
    if len(projects) == 1:
        return redirect(url_for("web.dashboard", project_id=projects[0].id))
    return _projects_page()


@blueprint.get("/ui/projects")
def projects() -> ResponseReturnValue:
    """The communes to choose from, even a single one (the menu's "Xã" entry); a site
    administrator also finds the form creating a commune here."""
    if auth.web_user() is None:
        return redirect(url_for("web.login", next=request.full_path.rstrip("?")))
    return _projects_page()


def _projects_page(status: int = 200, **form: object) -> ResponseReturnValue:
    user = auth.web_user()
    assert user is not None
    return render_template("web/projects.html", projects=_readable_projects(),
                           can_create=user.principal.is_admin, **form), status


COMMUNE_CODE_LENGTH = 16  # projects.commune_code


@blueprint.post("/ui/projects")
def create_commune() -> ResponseReturnValue:
    """A new commune (project): site administrators only, as `POST /v1/projects`. Its next
    step is the screening form with the commune's villages (docs/pages.md)."""
    user = auth.web_user()
    if user is None:
        raise problems.auth_failed()
    permissions.require_admin(user.principal)
    name = " ".join(request.form.get("name", "").split())
    code = request.form.get("commune_code", "").strip()
    error = ("projects.name_missing" if not name else
             "projects.code_invalid" if code and (not code.isdigit()
                                                  or len(code) > COMMUNE_CODE_LENGTH) else None)
    if error:
        return _projects_page(400, error=error, name=name, commune_code=code)
    project = create_project(db(), name, None, code or None)
    audit(user.principal, "project.create", f"project:{project.id}",
          {"data": {"name": project.name}, "via": "web"})
    return redirect(url_for(_FIRST_PAGE, project_id=project.id, done="created"), 303)


# Where a new commune's people go first: its forms, to publish the screening form.
_FIRST_PAGE = "web.forms"
