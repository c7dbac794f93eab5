"""Which form's submissions a caller may reach, and which one of them: the checks every
surface that shows submissions makes first — the submissions API, OData and the exports
(`server.api.v1`) and the submission pages (`server.web.views_submissions`).

Plain functions on a session and a `Principal`: the form must exist in the project (404), the
caller must hold the verb on it (401 for nobody, 403), and a submission of a village outside
the caller's reach does not exist for it (404; docs/access.md).
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from server.auth import permissions
from server.auth.principal import Principal
from server.auth.visibility import DataView, submission_view
from server.models import Form, Submission
from server.operations import review, visible_data
from server.operations.forms import get_form
from server.operations.projects import get_project


def form_for(session: Session, who: Principal, project_id: int, xml_form_id: str,
             verb: str) -> Form:
    """The form, once the caller may `verb` on it: 404 if it is not there, else 401/403."""
    get_project(session, project_id)
    form = get_form(session, project_id, xml_form_id)
    permissions.require_on_form(session, who, verb, form)
    return form


def readable_form(session: Session, who: Principal, project_id: int, xml_form_id: str,
                  verb: str = "submission.read") -> tuple[Form, DataView]:
    """The form and what the caller may see of its submissions (the one access rule)."""
    form = form_for(session, who, project_id, xml_form_id, verb)
    return form, submission_view(who, form.project_id)


def visible_submission(session: Session, form: Form, view: DataView,
                       instance_id: str) -> Submission:
    """A live submission of the form in the caller's villages; 404 otherwise."""
    return visible_data.require_visible(view, review.get_submission(session, form, instance_id))
