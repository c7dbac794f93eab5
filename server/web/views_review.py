"""The review queue: pairs side by side, decide same / not the same / unsure, undo."""

from __future__ import annotations

from flask import redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from server import problems
from server.context import db
from server.models import Child, Project
from server.models.registry import ReviewDecision
from server.registry import review
from server.route_access import (
    audit,
    caller,
    registry_errors,
    visible_candidate,
    visible_queue_query,
)
from server.web import blueprint, queries
from server.web.explain import Person, personal_id_text, plain, same_valid_personal_id
from server.web.record_sources import record_sources
from server.web.views_children import done_message


@blueprint.get("/ui/p/<int:project_id>/review")
def review_queue(project_id: int) -> ResponseReturnValue:
    _who, access = caller(project_id)
    number = queries.page_number()
    page = queries.paged(db(), visible_queue_query(project_id, access), number)
    villages = queries.villages(db(), project_id, access)
    village_names = {v.code: v.name for v in villages}
    records = [row[1] for row in page.rows]
    # The record's child (a new child of its own until a person decides), by its code.
    numbers: dict[str, int] = dict(db().execute(select(Child.id, Child.number).where(
        Child.id.in_([row[3] for row in page.rows if row[3]]))).all())
    same_id = {row[0].id: same_valid_personal_id(
        Person(row[1].personal_id, row[1].sex, row[1].dob),
        Person(row[2].personal_id, row[2].sex, row[2].dob)) for row in page.rows}
    return render_template(
        "web/review.html", project=db().get_one(Project, project_id), page=page,
        recent=queries.recent_decisions(db(), project_id, access),
        may_review=not access.review.is_empty, review_scope=access.review,
        village_names=village_names, explain=plain, same_id=same_id, Person=Person,
        personal_id_text=personal_id_text,
        sources=record_sources(db(), project_id, records, village_names),
        record_numbers=numbers, done=done_message())


@blueprint.post("/ui/p/<int:project_id>/review/<int:candidate_id>/decide")
def decide(project_id: int, candidate_id: int) -> ResponseReturnValue:
    who, access = caller(project_id)
    candidate, _, _ = visible_candidate(project_id, candidate_id, access)
    try:
        decision = ReviewDecision(request.form.get("decision", ""))
    except ValueError:
        raise problems.unexpected_value("decision", "same, not_same or unsure") from None
    assert who.actor_id is not None
    with registry_errors():
        review.decide(db(), candidate.id, decision, who.actor_id)
    audit(who, "registry.review.decide", f"candidate:{candidate.id}",
          {"projectId": project_id, "decision": decision.value, "via": "web"})
    return redirect(url_for("web.review_queue", project_id=project_id,
                            done=decision.value), 303)


@blueprint.post("/ui/p/<int:project_id>/review/<int:candidate_id>/undo")
def undo(project_id: int, candidate_id: int) -> ResponseReturnValue:
    who, access = caller(project_id)
    candidate, _, _ = visible_candidate(project_id, candidate_id, access)
    assert who.actor_id is not None
    with registry_errors():
        review.undo(db(), candidate.id, who.actor_id)
    audit(who, "registry.review.undo", f"candidate:{candidate.id}",
          {"projectId": project_id, "via": "web"})
    return redirect(url_for("web.review_queue", project_id=project_id, done="undo"), 303)
