"""Audit rows that the API and the pages write alike (README "Audit log"), in the caller's
unit of work: a download of the `children` entity list, and a list of children that showed
sensitive categories. Plain functions on a session, below both surfaces."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy.orm import Session

from server.auth.principal import Principal
from server.models import Audit, ChildCategoryEpisode
from server.registry.access import is_sensitive_code
from server.registry.entities import ENTITY_LIST, villages_visible_to


def record_entity_list(session: Session, who: Principal, project_id: int, action: str,
                       rows: int, **filters: Any) -> None:
    """A download of the `children` entity list by a person: who, how many rows, and the
    village scope it was cut to (`null`: the whole commune) as its filter."""
    villages = villages_visible_to(who, project_id)
    session.add(Audit(actor_id=who.actor_id, action=action, actee=f"project:{project_id}",
                      details={"dataset": ENTITY_LIST, "projectId": project_id,
                               "villages": None if villages is None else sorted(villages),
                               **filters, "rows": rows}))


def record_sensitive_list(session: Session, who: Principal, project_id: int,
                          episodes: Mapping[str, Iterable[ChildCategoryEpisode]],
                          **details: Any) -> None:
    """A list of children that showed sensitive or confidential categories: one row naming
    those children (ids) and codes — viewing them is logged, names never are. A list that
    showed none leaves no row."""
    shown = {child_id: sorted({episode.code for episode in items
                               if is_sensitive_code(episode.code) or episode.confidential})
             for child_id, items in episodes.items()}
    children = {child_id: codes for child_id, codes in shown.items() if codes}
    if children:
        session.add(Audit(actor_id=who.actor_id, action="registry.children.read_sensitive",
                          actee=f"project:{project_id}",
                          details={"projectId": project_id, "children": children, **details}))


def record_registry_export(session: Session, who: Principal, project_id: int, what: str,
                           *, format: str, rows: int, redacted: bool,
                           filters: Mapping[str, Any] | None = None, via: str = "api") -> None:
    """An export of registry data (the children list, a report), by whom, of what, with which
    filters, how many rows, full or redacted (docs/privacy.md §5; README "Audit log").
    Names never go into the row; ids of children do not either: the filters say what was
    asked for."""
    session.add(Audit(actor_id=who.actor_id, action="registry.export",
                      actee=f"project:{project_id}",
                      details={"projectId": project_id, "export": what, "format": format,
                               "rows": rows, "redacted": redacted,
                               "filters": dict(filters or {}), "via": via}))


def record_action(session: Session, who: Principal, action: str, actee: str | None,
                  details: dict[str, Any] | None = None) -> None:
    """One audit row for a change a person made, in the change's own unit of work (as the
    API's `audit`): the pages write the same actions as the API, with `via: web`."""
    session.add(Audit(actor_id=who.actor_id, action=action, actee=actee, details=details))
