"""SQLAlchemy 2 typed models: one module per entity family, all on `server.db.Base`."""

from server.models.actors import Actor, AppUser, ProjectRole, Session, SignInFailure, User
from server.models.audit import Audit
from server.models.blobs import Blob
from server.models.forms import Form, FormAssignment, FormAttachment, FormDef, FormState
from server.models.projects import Project
from server.models.registry import (
    Child,
    ChildCategoryEpisode,
    ChildFieldChoice,
    ChildMembership,
    ChildRecord,
    ChildUpdate,
    Flag,
    LinkEdge,
    MatchCandidate,
    MatchKey,
    Village,
)
from server.models.submissions import (
    Comment,
    ReviewState,
    Submission,
    SubmissionAttachment,
    SubmissionDef,
)

__all__ = [
    "Actor",
    "AppUser",
    "Audit",
    "Blob",
    "Child",
    "ChildCategoryEpisode",
    "ChildFieldChoice",
    "ChildMembership",
    "ChildRecord",
    "ChildUpdate",
    "Comment",
    "Flag",
    "Form",
    "FormAssignment",
    "FormAttachment",
    "FormDef",
    "FormState",
    "LinkEdge",
    "MatchCandidate",
    "MatchKey",
    "Project",
    "ProjectRole",
    "ReviewState",
    "Session",
    "SignInFailure",
    "Submission",
    "SubmissionAttachment",
    "SubmissionDef",
    "User",
    "Village",
]
