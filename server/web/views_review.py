"""The review queue: pairs side by side, decide same / not the same / unsure, undo."""

from __future__ import annotations

from flask import redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from server import problems
from server.api.v1.common import audit
from server.api.v1.registry_common import (
    caller,
    registry_errors,
    visible_candidate,
    visible_queue_query,
)
from server.context import db
from server.models import Project
from server.models.registry import ReviewDecision
from server.registry import review
from server.web import blueprint, queries
from server.web.explain import plain
from server.web.views_children import done_message


@blueprint.get("/ui/p/<int:project_id>/review")
def review_queue(project_id: int) -> ResponseReturnValue:
    _who, access = caller(project_id)
    number = queries.page_number()
    page = queries.paged(db(), visible_queue_query(project_id, access), number)
    villages = queries.villages(db(), project_id, access)
    return render_template(
        "web/review.html", project=db().get_one(Project, project_id), page=page,
        recent=queries.recent_decisions(db(), project_id, access),
        may_review=not access.review.is_empty, review_scope=access.review,
        village_names={v.code: v.name for v in villages}, explain=plain,
        done=done_message())


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
