"""What each role may do, with ODK Central's verbs, and the checks routes call.

Site admins may do anything. Project roles: "manager" (everything in the project), "viewer"
(read forms and submissions), "formfill" (a data collector: see open forms, submit). App users
act only on forms they are assigned to, in their own project.

The registry roles of docs/privacy.md §3 are project roles too: "cp_officer" (Phòng VH-XH: the
full record, sensitive categories included), "health_reviewer" (Trạm Y tế: the redacted
registry plus the health categories it confirms) and "commune_leader" (acts on flags and the
review queue over the redacted registry, and receives every urgent alert, masked when its
category is sensitive). A manager runs the commune's project and holds
everything a cp_officer holds. A role may be limited to villages (`ProjectRole.villages`);
`villages_for` says where a verb reaches. App users hold no registry verb: their children
reach them through the entity list, filtered to their villages.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session as DbSession

from server import problems
from server.auth.principal import Principal
from server.models import Form, FormAssignment

READ_VERBS = frozenset({
    "project.read", "form.list", "form.read", "open_form.list", "open_form.read",
    "submission.list", "submission.read", "dataset.list", "dataset.read", "entity.list",
    "entity.read",
})
COLLECT_VERBS = frozenset({
    "project.read", "open_form.list", "open_form.read", "submission.create",
})
MANAGE_VERBS = READ_VERBS | COLLECT_VERBS | frozenset({
    "project.update", "form.create", "form.update", "form.delete", "submission.update",
    "submission.create", "field_key.create", "field_key.list", "field_key.delete",
    "assignment.create", "assignment.list", "assignment.delete", "entity.create",
    "entity.update", "entity.delete", "dataset.update",
})

# The registry (docs/privacy.md §3). `read` is the redacted registry: no sensitive category, no
# confidential history (docs/privacy.md §4); `read_sensitive` adds them, `read_health` adds the
# health categories the health station confirms. `category` confirms or ends any category the
# caller sees, `category.health` only health ones. `flag` lists and acknowledges flags,
# `flag.close` closes them; `review` decides the review queue, merges or unmerges children and
# withdraws a reviewer's "not the same child". `flag.urgent` receives every urgent alert
# (docs/categories.md §6 rule 3: the commune chair), masked when its category may not be read
# (`server.registry.access`).
REGISTRY_READ = "registry.read"
REGISTRY_READ_SENSITIVE = "registry.read_sensitive"
REGISTRY_READ_HEALTH = "registry.read_health"
REGISTRY_REVIEW = "registry.review"
REGISTRY_FLAG = "registry.flag"
REGISTRY_FLAG_CLOSE = "registry.flag.close"
REGISTRY_FLAG_URGENT = "registry.flag.urgent"
REGISTRY_CATEGORY = "registry.category"
REGISTRY_CATEGORY_HEALTH = "registry.category.health"
REGISTRY_IMPORT = "registry.import"
# Download the children list and the reports (docs/reports.md), full or redacted as the
# caller reads the registry; village heads' roles (viewer, collectors) have no exports
# (docs/privacy.md §3).
REGISTRY_EXPORT = "registry.export"
REGISTRY_FULL_VERBS = frozenset({
    REGISTRY_READ, REGISTRY_READ_SENSITIVE, REGISTRY_READ_HEALTH, REGISTRY_REVIEW,
    REGISTRY_FLAG, REGISTRY_FLAG_CLOSE, REGISTRY_FLAG_URGENT, REGISTRY_CATEGORY,
    REGISTRY_CATEGORY_HEALTH, REGISTRY_IMPORT, REGISTRY_EXPORT,
})

ROLE_VERBS: dict[str, frozenset[str]] = {
    "manager": MANAGE_VERBS | REGISTRY_FULL_VERBS,
    "viewer": READ_VERBS | {REGISTRY_READ},
    # The officer reads forms and submissions too: the full record links to its sources.
    "cp_officer": READ_VERBS | REGISTRY_FULL_VERBS,
    "health_reviewer": frozenset({
        "project.read", REGISTRY_READ, REGISTRY_READ_HEALTH, REGISTRY_REVIEW, REGISTRY_FLAG,
        REGISTRY_CATEGORY_HEALTH, REGISTRY_EXPORT,
    }),
    "commune_leader": frozenset({
        "project.read", REGISTRY_READ, REGISTRY_REVIEW, REGISTRY_FLAG, REGISTRY_FLAG_CLOSE,
        REGISTRY_FLAG_URGENT, REGISTRY_EXPORT,
    }),
    "formfill": COLLECT_VERBS,
    # An app user's project-level grant; form-level verbs still need an assignment.
    "app-user": COLLECT_VERBS,
}

FORM_SCOPED_FOR_APP_USERS = frozenset({"open_form.list", "open_form.read", "submission.create"})

# Data collectors: a village head's phone (app user) or a collaborator signing in with a
# password. Their villages are the ones given to them; given none, they reach no village —
# unlike the office roles, where no limit means the whole commune. A phone set up without
# villages must never download the commune's children (docs/access.md).
COLLECTOR_ROLES = frozenset({"formfill", "app-user"})


def project_verbs(principal: Principal, project_id: int) -> frozenset[str]:
    verbs: set[str] = set()
    for role in principal.project_roles.get(project_id, set()):
        verbs |= ROLE_VERBS.get(role, frozenset())
    return frozenset(verbs)


def can(principal: Principal, verb: str, project_id: int) -> bool:
    if principal.is_admin:
        return True
    return verb in project_verbs(principal, project_id)


def app_user_assigned(db: DbSession, principal: Principal, form: Form) -> bool:
    assert principal.actor is not None
    return db.scalar(
        select(FormAssignment.id).where(FormAssignment.form_id == form.id,
                                        FormAssignment.actor_id == principal.actor.id)
    ) is not None


def can_on_form(db: DbSession, principal: Principal, verb: str, form: Form) -> bool:
    if not can(principal, verb, form.project_id):
        return False
    if principal.app_user is not None and verb in FORM_SCOPED_FOR_APP_USERS:
        return app_user_assigned(db, principal, form)
    return True


def villages_for(principal: Principal, verb: str, project_id: int) -> frozenset[str] | None:
    """The villages where `verb` reaches: None for every village, empty for none.

    Each role granting the verb adds its villages; one office role without a limit lifts it.
    A collector role (`COLLECTOR_ROLES`) reaches exactly the villages given to it.
    """
    if principal.is_admin:
        return None
    limits = principal.role_villages.get(project_id, {})
    codes: set[str] = set()
    for role in principal.project_roles.get(project_id, set()):
        if verb not in ROLE_VERBS.get(role, frozenset()):
            continue
        limited = limits.get(role, frozenset())
        if not limited and role not in COLLECTOR_ROLES:
            return None
        codes |= limited
    return frozenset(codes)


def require(principal: Principal, verb: str, project_id: int) -> None:
    """Raise 401 for nobody, 403 for somebody without the right."""
    if principal.is_anonymous:
        raise problems.auth_failed()
    if not can(principal, verb, project_id):
        raise problems.insufficient_rights()


def require_on_form(db: DbSession, principal: Principal, verb: str, form: Form) -> None:
    if principal.is_anonymous:
        raise problems.auth_failed()
    if not can_on_form(db, principal, verb, form):
        raise problems.insufficient_rights()


def require_admin(principal: Principal) -> None:
    if principal.is_anonymous:
        raise problems.auth_failed()
    if not principal.is_admin:
        raise problems.insufficient_rights()
