"""`/ui/`: server-rendered pages for the health station and commune officers to review the
registry — the children, one child, the review queue, the flags.

Plain HTML forms and one small stylesheet (old PCs, old browsers, no JavaScript needed);
Vietnamese by default, `?lang=en` for English (remembered in a cookie). Every page makes the
same permission and village-scope checks as the JSON API, through the same functions
(`server.route_access`, `server.registry.access`); every form posts the session's
CSRF token and is answered with a redirect (post/redirect/get). Errors become a readable page,
never a stack trace.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, abort, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException

from server import problems
from server.web import auth
from server.web.format import FILTERS
from server.web.i18n import LANG_COOKIE, LANGUAGES, language, t

blueprint = Blueprint("web", __name__, template_folder="templates",
                      static_folder="static", static_url_path="/ui/static")

# Paths that need no signed-in user (the sign-in form itself).
PUBLIC_ENDPOINTS = frozenset({"web.login", "web.login_post", "web.static", "web.root"})


@blueprint.before_request
def _before() -> ResponseReturnValue | None:
    if request.endpoint == "web.static":
        return None  # the stylesheet needs no database
    auth.load_web_user()
    if request.method == "POST" and request.endpoint not in PUBLIC_ENDPOINTS:
        auth.check_csrf()
    return None


@blueprint.after_request
def _remember_language(response: Response) -> Response:
    wanted = request.args.get("lang")
    if wanted in LANGUAGES and request.cookies.get(LANG_COOKIE) != wanted:
        response.set_cookie(LANG_COOKIE, wanted, max_age=365 * 24 * 3600, samesite="Lax",
                            secure=request.is_secure, path="/")
    # Pages show names of children: never keep them in shared caches or the back-button cache.
    response.headers.setdefault("Cache-Control", "no-store")
    return response


def lang_url(code: str) -> str:
    """This page in another language."""
    values: dict[str, Any] = {**(request.view_args or {}), **request.args.to_dict(),
                              "lang": code}
    return url_for(request.endpoint or "web.home", **values)


def page_url(number: int) -> str:
    """This list, same filters, another page."""
    values: dict[str, Any] = {**(request.view_args or {}), **{
        k: v for k, v in request.args.items() if k not in ("page", "lang", "done")}}
    values["page"] = number
    return url_for(request.endpoint or "web.home", **values)


@blueprint.app_template_global("t")
def _t(key: str, **values: object) -> str:
    return t(key, **values)


@blueprint.context_processor
def _frame() -> dict[str, object]:
    user = auth.web_user()
    return {"lang": language(), "lang_url": lang_url, "page_url": page_url,
            "csrf": auth.csrf_token(),
            "user": user.principal.user if user else None,
            "user_name": user.principal.actor.display_name
            if user and user.principal.actor else ""}


for _name, _filter in FILTERS.items():
    blueprint.add_app_template_filter(_filter, _name)


# --- errors as pages ------------------------------------------------------------------------


def error_page(status: int, message_key: str, detail: str | None = None) -> ResponseReturnValue:
    return render_template("web/error.html", status=status, message=t(message_key),
                           detail=detail), status


@blueprint.errorhandler(problems.Problem)
def _problem(problem: problems.Problem) -> ResponseReturnValue:
    status = problem.http_status
    if isinstance(problem, auth.CsrfRefused):
        return error_page(403, "error.403_csrf")
    if status == 401:
        if request.method == "GET":
            return redirect(url_for("web.login", next=request.full_path.rstrip("?")))
        return error_page(401, "error.401")
    detail = problem.details.get("reason") if status == 409 else None
    key = f"error.{status}" if status in (400, 403, 404, 409) else "error.500"
    return error_page(status, key, detail)


@blueprint.route("/ui/<path:_unknown>", methods=["GET", "POST"])
def unknown_page(_unknown: str) -> ResponseReturnValue:
    """A page address that matches no route: people get a page, not the API's JSON."""
    abort(404)


@blueprint.errorhandler(HTTPException)
def _http(exc: HTTPException) -> ResponseReturnValue:
    status = exc.code or 500
    return error_page(status, f"error.{status}" if status in (400, 403, 404) else "error.500")


from server.web import (  # noqa: E402, F401
    charts,
    nav,
    views_auth,
    views_child_actions,
    views_children,
    views_dashboard,
    views_exports,
    views_flags,
    views_forms,
    views_imports,
    views_people,
    views_phones,
    views_review,
    views_submissions,
    views_users,
)
