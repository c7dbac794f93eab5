"""The menu of every commune page, in one list: what it offers, who sees each entry.

`base.html` renders `NAV` for the commune (project) a page belongs to; a new page is one line
here. An entry is shown only to a caller holding its verb on that commune (the page itself
still checks: hiding a link is a courtesy, not the access rule), and the entry of the page
being shown carries `aria-current="page"`.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import request, url_for

from server.auth import permissions
from server.web import auth, blueprint


@dataclass(frozen=True)
class NavEntry:
    """A menu entry: the page's endpoint, its label's i18n key, the verb needed to see it."""

    endpoint: str
    label: str
    verb: str | None  # None: every signed-in person
    also: tuple[str, ...] = ()  # endpoints of pages under this one (marked current too)
    in_project: bool = True  # the endpoint takes the commune's `project_id`

    def is_current(self, endpoint: str | None) -> bool:
        return endpoint == self.endpoint or endpoint in self.also


NAV: list[NavEntry] = [
    NavEntry("web.dashboard", "nav.dashboard", permissions.REGISTRY_READ),
    NavEntry("web.children", "nav.children", permissions.REGISTRY_READ,
             also=("web.child", "web.merge_search")),
    NavEntry("web.review_queue", "nav.review", permissions.REGISTRY_READ),
    NavEntry("web.flags", "nav.flags", permissions.REGISTRY_READ, also=("web.flag_confirm",)),
    NavEntry("web.submissions", "nav.submissions", "submission.list",
             also=("web.submission",)),
    NavEntry("web.forms", "nav.forms", "open_form.list", also=("web.form",)),
    NavEntry("web.phones", "nav.phones", "field_key.list", also=("web.phone", "web.phone_cards")),
    NavEntry("web.exports", "nav.exports", permissions.REGISTRY_EXPORT),
    NavEntry("web.imports", "nav.imports", permissions.REGISTRY_IMPORT,
             also=("web.import_report",)),
    NavEntry("web.people", "nav.people", "assignment.list", also=("web.person_role",)),
    # Site administrators only: no project role grants "user.list" (server/api/v1/roles.py).
    NavEntry("web.users", "nav.users", "user.list", also=("web.user",), in_project=False),
    NavEntry("web.projects", "nav.projects", None, in_project=False),
]


@dataclass(frozen=True)
class ShownEntry:
    id: str
    href: str
    label: str
    current: bool


def entries_for(project_id: int) -> list[ShownEntry]:
    """The menu of one commune's pages, as this caller may use it."""
    user = auth.web_user()
    if user is None:
        return []
    shown = []
    for entry in NAV:
        if entry.verb and not permissions.can(user.principal, entry.verb, project_id):
            continue
        href = (url_for(entry.endpoint, project_id=project_id) if entry.in_project
                else url_for(entry.endpoint))
        shown.append(ShownEntry("nav-" + entry.label.removeprefix("nav."), href, entry.label,
                                entry.is_current(request.endpoint)))
    return shown


@blueprint.context_processor
def _nav() -> dict[str, object]:
    project_id = (request.view_args or {}).get("project_id")
    return {"nav_entries": entries_for(project_id) if isinstance(project_id, int) else []}
