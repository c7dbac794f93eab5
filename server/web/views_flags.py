"""Flags: open ones by deadline (urgent first, with the time left), acknowledge, close.

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
from server.api.v1.common import audit
from server.api.v1.registry_common import allowed, caller, registry_errors
from server.api.v1.registry_json import flag_json
from server.context import db
from server.models import Child, Flag, Project
from server.registry import flags as registry_flags
from server.registry.access import FlagView, RegistryAccess
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
    note: str | None = None
    submission_url: str | None = None


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
                       child.village_code),
                   note=_note_line(shown["note"]),
                   submission_url=_submission_url(flag.project_id, shown["submission"]))


@blueprint.get("/ui/p/<int:project_id>/flags")
def flags(project_id: int) -> ResponseReturnValue:
    _who, access = caller(project_id)
    number = queries.page_number()
    page = queries.paged(db(), queries.open_flags_query(project_id, access), number)
    villages = queries.villages(db(), project_id, access)
    return render_template(
        "web/flags.html", project=db().get_one(Project, project_id), page=page,
        rows=[_row(access, flag, child) for flag, child in page.rows],
        village_names={v.code: v.name for v in villages}, done=done_message())


def _flag(project_id: int, flag_id: int, access: RegistryAccess) -> tuple[Flag, Child]:
    row = db().execute(select(Flag, Child).join(Child, Child.id == Flag.child_id).where(
        Flag.id == flag_id, Flag.project_id == project_id, access.flag_list_clause())).first()
    if row is None:
        raise problems.not_found()
    return row[0], row[1]


@blueprint.post("/ui/p/<int:project_id>/flags/<int:flag_id>/acknowledge")
def acknowledge(project_id: int, flag_id: int) -> ResponseReturnValue:
    who, access = caller(project_id)
    flag, child = _flag(project_id, flag_id, access)
    allowed(access.flag, child.village_code)
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
    allowed(access.flag_close, child.village_code)
    if _view(access, flag, child) is not FlagView.FULL:
        raise problems.insufficient_rights()
    with registry_errors():
        registry_flags.close(db(), flag.id, who.actor_id, request.form.get("reason", ""))
    audit(who, "registry.flag.close", f"flag:{flag.id}",
          {"projectId": project_id, "via": "web"})
    return redirect(url_for("web.flags", project_id=project_id, done="closed"), 303)
