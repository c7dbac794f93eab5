"""What reviewers do to a received submission: set its review state, comment on it, delete it.

Central's rules (lib/model/query/submissions.js, comments.js): the review state is one of
`hasIssues`, `edited`, `approved`, `rejected` (NULL meaning "received" cannot be set back);
every change is audited as `submission.update`; a deleted submission is hidden everywhere and
its instanceID can never be submitted again (409.18, enforced by `receive_submission`).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from server import problems
from server.db import utcnow
from server.models import Audit, Comment, Form, ReviewState, Submission, SubmissionDef


def get_submission(db: Session, form: Form, instance_id: str) -> Submission:
    """A live submission of `form` by its logical instanceID (its first version's); 404 else."""
    submission = db.scalar(select(Submission).where(Submission.form_id == form.id,
                                                    Submission.instance_id == instance_id,
                                                    Submission.deleted_at.is_(None)))
    if submission is None:
        raise problems.not_found()
    return submission


def current_version(db: Session, submission: Submission) -> SubmissionDef:
    version = db.scalar(select(SubmissionDef).where(SubmissionDef.submission_id == submission.id,
                                                    SubmissionDef.current.is_(True)))
    if version is None:
        raise problems.not_found()
    return version


def parse_review_state(value: object) -> ReviewState:
    try:
        return ReviewState(str(value))
    except ValueError as exc:
        allowed = ", ".join(state.value for state in ReviewState)
        raise problems.unexpected_value("reviewState", f"it must be one of {allowed}") from exc


def set_review_state(db: Session, submission: Submission, state: ReviewState,
                     actor_id: int | None) -> Submission:
    submission.review_state = state.value
    submission.updated_at = utcnow()
    db.add(Audit(actor_id=actor_id, action="submission.update",
                 actee=f"submission:{submission.id}",
                 details={"instanceId": submission.instance_id, "reviewState": state.value}))
    db.flush()
    return submission


def add_comment(db: Session, submission: Submission, actor_id: int, body: object) -> Comment:
    if not isinstance(body, str) or not body.strip():
        raise problems.missing_parameter("body")
    comment = Comment(submission_id=submission.id, actor_id=actor_id, body=body,
                      created_at=utcnow())
    db.add(comment)
    db.flush()
    return comment


def list_comments(db: Session, submission: Submission) -> list[Comment]:
    """Newest first, as Central lists them."""
    return list(db.scalars(select(Comment).where(Comment.submission_id == submission.id)
                           .order_by(Comment.created_at.desc(), Comment.id.desc())))


def delete_submission(db: Session, submission: Submission, actor_id: int | None) -> None:
    """Soft delete: the rows stay (and keep the instanceID from being reused)."""
    submission.deleted_at = utcnow()
    db.add(Audit(actor_id=actor_id, action="submission.delete",
                 actee=f"submission:{submission.id}",
                 details={"instanceId": submission.instance_id}))
    db.flush()
