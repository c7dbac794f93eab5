"""Flags: open ones by deadline (urgent first, with the time left), acknowledge, close; the
closed ones in a view of their own (`?state=closed`, most recently closed first).

Acknowledging or closing an urgent flag (one with a Decree 56 Art. 26 deadline) is confirmed on a
page of its own first (`…/flags/<id>/confirm?action=…`): the form posts `confirm=yes`, and a post
without it is sent to that page instead of acting — a stray click on a phone must not close a
child's emergency. Children are named by their code, never an id.

A flag with a note (a follow-up visit not applied, `server.registry.followup`) shows it, in the
page's language, with links to the submission as sent and to its answers (the XML, as the
officer's role may read it: docs/access.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from flask import redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from server import problems
from server.context import db
from server.models import Child, Flag, Project
from server.registry import flags as registry_flags
from server.registry.access import FlagView, RegistryAccess
from server.registry.child_code import format_code
from server.registry.json_shapes import flag_json
from server.route_access import allowed, audit, caller, registry_errors
from server.web import blueprint, queries
from server.web.format import time_left
from server.web.i18n import LANGUAGES, language
from server.web.views_children import done_message


@dataclass(frozen=True)
class FlagRow:
    """A flag as the page shows it: the API's JSON shape (masked by the same allow-list),
    the time left, and what this caller may do with it."""

    shown: dict[str, Any]
    time_left: str
    overdue: bool
    may_acknowledge: bool
    may_close: bool
    child_code: str
    note: str | None = None
    submission_url: str | None = None

    @property
    def urgent(self) -> bool:
        return bool(self.shown["deadline"])


def _note_line(note: str | None) -> str | None:
    """A note written one line per language (Vietnamese, then English): this page's line."""
    if not note:
        return None
    lines = note.splitlines()
    wanted = LANGUAGES.index(language())
    return lines[wanted] if wanted < len(lines) else lines[0]


def _submission_url(project_id: int, source: dict[str, str] | None) -> str | None:
    """The submissions API's address of the visit as sent (the officer's session opens it)."""
    if source is None:
        return None
    return (f"/v1/projects/{project_id}/forms/{quote(source['xmlFormId'], safe='')}"
            f"/submissions/{quote(source['instanceId'], safe=':')}")


def _view(access: RegistryAccess, flag: Flag, child: Child) -> FlagView:
    return access.flag_view(flag.code, child.village_code, confidential=flag.confidential,
                            urgent=flag.deadline is not None)


def _row(access: RegistryAccess, flag: Flag, child: Child) -> FlagRow:
    view = _view(access, flag, child)
    left, overdue = time_left(flag.deadline)
    shown = flag_json(flag, child, masked=view is FlagView.MASKED)
    return FlagRow(shown, left, overdue,
                   may_acknowledge=access.flag.covers(child.village_code)
                   and flag.status == "open",
                   may_close=view is FlagView.FULL and access.flag_close.covers(
                       child.village_code) and flag.status != "closed",
                   child_code=format_code(child.number),
                   note=_note_line(shown["note"]),
                   submission_url=_submission_url(flag.project_id, shown["submission"]))


@blueprint.get("/ui/p/<int:project_id>/flags")
def flags(project_id: int) -> ResponseReturnValue:
    """Open and acknowledged flags; `?state=closed`: the closed ones."""
    _who, access = caller(project_id)
    closed = request.args.get("state") == "closed"
    number = queries.page_number()
    query = (queries.closed_flags_query if closed else queries.open_flags_query)(
        project_id, access)
    page = queries.paged(db(), query, number)
    villages = queries.villages(db(), project_id, access)
    return render_template(
        "web/flags.html", project=db().get_one(Project, project_id), page=page,
        rows=[_row(access, flag, child) for flag, child in page.rows], closed=closed,
        village_names={v.code: v.name for v in villages}, done=done_message())


def _flag(project_id: int, flag_id: int, access: RegistryAccess) -> tuple[Flag, Child]:
    row = db().execute(select(Flag, Child).join(Child, Child.id == Flag.child_id).where(
        Flag.id == flag_id, Flag.project_id == project_id, access.flag_list_clause())).first()
    if row is None:
        raise problems.not_found()
    return row[0], row[1]


ACTIONS = ("acknowledge", "close")


def _needs_confirmation(project_id: int, flag: Flag, action: str) -> ResponseReturnValue | None:
    """An urgent flag posted without `confirm=yes`: off to its confirmation page."""
    if flag.deadline is None or request.form.get("confirm") == "yes":
        return None
    return redirect(url_for("web.flag_confirm", project_id=project_id, flag_id=flag.id,
                            action=action), 303)


@blueprint.get("/ui/p/<int:project_id>/flags/<int:flag_id>/confirm")
def flag_confirm(project_id: int, flag_id: int) -> ResponseReturnValue:
    """The page that asks "are you sure?" before an urgent flag is acknowledged or closed:
    the flag in full (as its list shows it), and the form that does it. Only for those who may
    do that action on it (the action's own rule)."""
    _who, access = caller(project_id)
    action = request.args.get("action", "")
    if action not in ACTIONS:
        raise problems.unexpected_value("action", "acknowledge or close")
    flag, child = _flag(project_id, flag_id, access)
    _may(access, flag, child, action)
    villages = queries.villages(db(), project_id, access)
    return render_template(
        "web/flag_confirm.html", project=db().get_one(Project, project_id),
        row=_row(access, flag, child), action=action,
        village_names={v.code: v.name for v in villages})


def _may(access: RegistryAccess, flag: Flag, child: Child, action: str) -> None:
    """The API's rule for the action: acknowledging needs `registry.flag`; closing needs
    `registry.flag.close` and the flag seen in full (a masked flag is the officer's)."""
    if action == "acknowledge":
        allowed(access.flag, child.village_code)
        return
    allowed(access.flag_close, child.village_code)
    if _view(access, flag, child) is not FlagView.FULL:
        raise problems.insufficient_rights()


@blueprint.post("/ui/p/<int:project_id>/flags/<int:flag_id>/acknowledge")
def acknowledge(project_id: int, flag_id: int) -> ResponseReturnValue:
    who, access = caller(project_id)
    flag, child = _flag(project_id, flag_id, access)
    _may(access, flag, child, "acknowledge")
    if (ask := _needs_confirmation(project_id, flag, "acknowledge")) is not None:
        return ask
    with registry_errors():
        registry_flags.acknowledge(db(), flag.id, who.actor_id)
    audit(who, "registry.flag.acknowledge", f"flag:{flag.id}",
          {"projectId": project_id, "via": "web"})
    return redirect(url_for("web.flags", project_id=project_id, done="acknowledged"), 303)


@blueprint.post("/ui/p/<int:project_id>/flags/<int:flag_id>/close")
def close(project_id: int, flag_id: int) -> ResponseReturnValue:
    """A masked flag is the officer's to close (the API's rule): 403."""
    who, access = caller(project_id)
    flag, child = _flag(project_id, flag_id, access)
    _may(access, flag, child, "close")
    if (ask := _needs_confirmation(project_id, flag, "close")) is not None:
        return ask
    with registry_errors():
        registry_flags.close(db(), flag.id, who.actor_id, request.form.get("reason", ""))
    audit(who, "registry.flag.close", f"flag:{flag.id}",
          {"projectId": project_id, "via": "web"})
    return redirect(url_for("web.flags", project_id=project_id, done="closed"), 303)
