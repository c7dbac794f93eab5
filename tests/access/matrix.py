"""The authorization matrix as data: for every route of the server (Flask endpoint and HTTP
method), who may use it, inside and outside the caller's villages (docs/access.md).

Each `Route` names a path with `{placeholders}` filled in by `tests.access.matrix_world.Places`
(`{p}` the commune, `{visit}` a household visit of the case's village, `{new_user}` a user
made for this one request…) and one or more `Case`s: the callers *allowed* (2xx, 3xx, or a
4xx that is about the request rather than the caller — the matrix sends writes a body that
fails validation, or targets a thing made for the request, so that nothing shared changes),
the callers for whom the thing is *hidden* (404: another village's child, visit or flag, as
if it did not exist), and everyone else *denied* (401 for nobody, 403, or the sign-in page).

The answers are written here from the rules as people state them (docs/access.md, README
"Who sees what"), never computed from the server's own role table: a matrix that
mirrored the implementation could not fail. Where a caller without a verb could either be
refused (403) or not find the thing (404), the table says what the server's rule is: the
role is checked first (what a role may do is no secret), except in the registry, where a
child outside one's villages does not exist whatever one asks of it.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import xlsforms
from tests.access.commune import INSIDE, OUTSIDE, PEOPLE
from tests.conftest import PNG_BYTES

# --- callers ----------------------------------------------------------------------------------

ANONYMOUS = "anonymous"
ADMIN = "admin"
PHONE = "phone_t01"  # the app user of T01, through its key URL
# Callers presenting the web page's cookie to the API instead of a bearer token: honoured for
# reads only, so a write with nothing but the cookie is anonymous (the pages post forms with
# their CSRF token to their own routes).
COOKIE_CALLERS = {"viewer_t01_cookie": "viewer_t01", "manager_cookie": "manager"}
CALLERS = (ANONYMOUS, ADMIN, *PEOPLE, PHONE, *COOKIE_CALLERS)


def _set(*names: str) -> frozenset[str]:
    unknown = set(names) - set(CALLERS)
    assert not unknown, unknown
    return frozenset(names)


NOBODY = frozenset[str]()
WEB_USERS = _set(ADMIN, *PEOPLE)
SIGNED_IN = WEB_USERS | {PHONE}
EVERYONE = SIGNED_IN | {ANONYMOUS}
# Holding a role on the commune: every person but the stranger.
MEMBERS = WEB_USERS - {"stranger"}
# Limited to T01: outside it, what they could see does not exist for them.
LIMITED = _set("manager_t01", "cp_officer_t01", "viewer_t01", "formfill_t01", PHONE)

MANAGERS = _set(ADMIN, "manager", "manager_t01")
UNLIMITED_MANAGERS = _set(ADMIN, "manager")
# Read forms' submissions, their exports and OData, and the `children` entity list.
READERS = _set(ADMIN, "manager", "manager_t01", "cp_officer", "cp_officer_t01", "viewer",
               "viewer_t01")
# Read the form definitions: readers and data collectors.
FORM_READERS = READERS | _set("formfill", "formfill_t01")
# What a phone fetches for its assigned forms.
FORM_USERS = FORM_READERS | {PHONE}
SUBMITTERS = MANAGERS | _set("formfill", "formfill_t01", PHONE)
# The registry (docs/privacy.md §3): the redacted registry for every office role.
REGISTRY = READERS | _set("health_reviewer", "commune_leader")
REVIEWERS = REGISTRY - {"viewer", "viewer_t01"}
# Download the children list and the reports: the office roles, not the village heads'
# (docs/privacy.md §3), each full or redacted as it reads the registry.
EXPORTERS = REGISTRY - {"viewer", "viewer_t01"}
FLAG_CLOSERS = REVIEWERS - {"health_reviewer"}
# Read and act on sensitive and confidential categories: the officer and managers.
SENSITIVE = _set(ADMIN, "manager", "manager_t01", "cp_officer", "cp_officer_t01")
HEALTH_CATEGORY = SENSITIVE | {"health_reviewer"}
# The sensitive-records report (docs/reports.md): sensitive reading in every village.
WHOLE_COMMUNE_SENSITIVE = _set(ADMIN, "manager", "cp_officer")
# Office roles that may not read confidential things: for them those do not exist.
NOT_SENSITIVE = _set("health_reviewer", "commune_leader", "viewer", "viewer_t01")


# --- routes and cases -------------------------------------------------------------------------


@dataclass(frozen=True)
class Body:
    """What a request sends: JSON, raw bytes, a web form (its CSRF token added), the sign-in
    form (with its double-submit cookie) or a phone's multipart resubmission of a visit."""

    json: dict[str, Any] | None = None
    data: bytes | None = None
    content_type: str | None = None
    form: dict[str, str] | None = None
    login: bool = False
    resubmission: bool = False


NO_BODY = Body()
EMPTY_JSON = Body(json={})
EMPTY_FORM = Body(form={})
# An instance of another form: refused (400) once the caller may write to this one.
OTHER_FORMS_XML = Body(data=b'<data id="not_this_form"><meta><instanceID>uuid:matrix'
                       b"</instanceID></meta></data>", content_type="application/xml")
RESUBMISSION = Body(resubmission=True)


@dataclass(frozen=True)
class Case:
    name: str
    allowed: frozenset[str]
    hidden: frozenset[str] = NOBODY
    village: str | None = None
    path: str | None = None  # else the route's
    body: Body | None = None  # else the route's
    other_project: bool = False  # `{p}` is the second commune, where nobody but admin is
    fresh_session: bool = False  # the caller signs in anew for this request (logging out)
    # Asked only of these callers: a public route whose answer no caller can change, and
    # whose every request costs a password hash.
    callers: frozenset[str] | None = None

    def expect(self, caller: str) -> str:
        if caller in self.allowed:
            return "allowed"
        return "hidden" if caller in self.hidden else "denied"


@dataclass(frozen=True)
class Route:
    endpoint: str
    method: str
    path: str
    cases: tuple[Case, ...]
    body: Body = field(default=NO_BODY)

    @property
    def is_page(self) -> bool:
        return self.endpoint.startswith("web.")

    @property
    def key(self) -> tuple[str, str]:
        return self.endpoint, self.method

    def __str__(self) -> str:
        return f"{self.method} {self.path} ({self.endpoint})"


def anywhere(allowed: frozenset[str], **extra: Any) -> tuple[Case, ...]:
    """A route not about a village."""
    return (Case("any", allowed, **extra),)


def in_villages(allowed: frozenset[str], *, hidden: frozenset[str] = NOBODY,
                seen_by: frozenset[str] | None = None, **extra: Any) -> tuple[Case, ...]:
    """An object of T01, then the same kind of object of T05: there, a caller limited to T01
    who would see it (`seen_by`, default `allowed`) does not find it (404)."""
    seers = (seen_by or allowed) | hidden
    return (Case("inside", allowed, hidden, village=INSIDE, **extra),
            Case("outside", allowed - LIMITED, hidden | (seers & LIMITED), village=OUTSIDE,
                 **extra))


def within_villages(allowed: frozenset[str], **extra: Any) -> tuple[Case, ...]:
    """Granting (app users, roles, form assignments): a manager limited to T01 may act on
    those of T01 and is refused (403) for those of T05 (README "Who sees what")."""
    return (Case("inside", allowed, village=INSIDE, **extra),
            Case("outside", allowed - LIMITED, village=OUTSIDE, **extra))


def in_commune(allowed: frozenset[str], **extra: Any) -> tuple[Case, ...]:
    """A project-level route, then the same route in the second commune, where nobody but a
    site admin holds a role."""
    return (Case("commune", allowed, **extra),
            Case("other commune", _set(ADMIN), other_project=True, **extra))


def public() -> tuple[Case, ...]:
    return anywhere(EVERYONE)


def nothing_there(*, denied: frozenset[str] = NOBODY) -> tuple[Case, ...]:
    """A route that answers 404 to everybody (`denied` aside)."""
    return anywhere(NOBODY, hidden=EVERYONE - denied)


def route(endpoint: str, method: str, path: str, cases: tuple[Case, ...],
          body: Body = NO_BODY) -> Route:
    return Route(endpoint, method, path, cases, body)


P = "/v1/projects/{p}"
F = P + "/forms/{f}"
VISIT = F + "/submissions/{visit}"
PHOTO = P + "/forms/{photo_form}/submissions/{photo_visit}/attachments/{photo_name}"
REG = P + "/registry"
CHILD = REG + "/children/{child}"
UI = "/ui/p/{p}"
V = "api_v1."
# The draft's villages.csv uploaded again, the same bytes: nothing changes but the upload.
VILLAGES_CSV_BODY = Body(data=xlsforms.VILLAGES_CSV.read_bytes(), content_type="text/csv")


def _category(action: str) -> Route:
    """Confirm or end: a public category (the officer, managers), a health one (also the
    health station); accept a referral: a confidential one (absent for the others)."""
    base = CHILD + "/categories/{code}/" + action
    if action == "accept":
        cases = in_villages(SENSITIVE, hidden=NOT_SENSITIVE, seen_by=REGISTRY,
                            path=base.replace("{code}", "HCDB-L"))
    else:
        public_cases = in_villages(SENSITIVE, seen_by=REGISTRY,
                                   path=base.replace("{code}", "PLAN-POOR"))
        health_cases = in_villages(HEALTH_CATEGORY, seen_by=REGISTRY,
                                   path=base.replace("{code}", "HCDB-D"))
        cases = (*public_cases, *(replace(c, name=f"{c.name}, health") for c in health_cases))
    endpoint = {"accept": "accept_referral"}.get(action, action)
    return route(f"{V}registry_categories_category_{endpoint}", "POST", base, cases,
                 EMPTY_JSON)


def _flag_routes(prefix: str, endpoint: str, close_body: Body) -> list[Route]:
    """Acknowledge and close a flag, over JSON or from the page: a public category's flag,
    and a confidential urgent referral, which the commune chair receives masked — it may
    acknowledge it but not close it — and the others do not see."""
    ack = in_villages(REVIEWERS, seen_by=REGISTRY, path=prefix + "/{new_flag}/acknowledge")
    ack_urgent = in_villages(SENSITIVE | {"commune_leader"}, seen_by=REGISTRY,
                             hidden=NOT_SENSITIVE - {"commune_leader"},
                             path=prefix + "/{new_urgent_flag}/acknowledge")
    close = in_villages(FLAG_CLOSERS, seen_by=REGISTRY, path=prefix + "/{new_flag}/close")
    close_urgent = in_villages(SENSITIVE, seen_by=REGISTRY,
                               hidden=NOT_SENSITIVE - {"commune_leader"},
                               path=prefix + "/{new_urgent_flag}/close")

    def urgent(cases: tuple[Case, ...]) -> tuple[Case, ...]:
        return tuple(replace(c, name=f"{c.name}, urgent confidential") for c in cases)

    ack_endpoint, close_endpoint = (("web.acknowledge", "web.close") if endpoint == "web"
                                    else (f"{V}{endpoint}_acknowledge", f"{V}{endpoint}_close"))
    return [
        route(ack_endpoint, "POST", prefix + "/{flag}/acknowledge", (*ack, *urgent(ack_urgent)),
              EMPTY_FORM if endpoint == "web" else NO_BODY),
        route(close_endpoint, "POST", prefix + "/{flag}/close", (*close, *urgent(close_urgent)),
              close_body),
    ]


ROUTES: list[Route] = [
    # --- public: health checks, documentation, the sign-in page -------------------------------
    route("health.healthz", "GET", "/healthz", public()),
    route("health.readyz", "GET", "/readyz", public()),
    route("static", "GET", "/static/style.css", nothing_there()),
    route("restx_doc.static", "GET", "/swaggerui/swagger-ui.css", public()),
    route(f"{V}doc", "GET", "/v1/docs", public()),
    route(f"{V}specs", "GET", "/v1/swagger.json", public()),
    route(f"{V}root", "GET", "/v1/", nothing_there()),
    route(f"{V}roles_role_list", "GET", "/v1/roles", public()),
    route(f"{V}roles_role_detail", "GET", "/v1/roles/manager", public()),
    route("web.root", "GET", "/", public()),
    route("web.static", "GET", "/ui/static/style.css", public()),
    route("web.login", "GET", "/ui/login", public()),
    route("web.login_post", "POST", "/ui/login",
          anywhere(EVERYONE, callers=_set(ANONYMOUS, "stranger", PHONE)), Body(login=True)),
    route(f"{V}sessions_session_create", "POST", "/v1/sessions", public(), EMPTY_JSON),
    route("openrosa.preflight", "GET", "/submission", public()),
    route("openrosa.project_preflight", "GET", P + "/submission", public()),
    # --- the site: users, sessions, administrators, the audit log -----------------------------
    route(f"{V}sessions_session_end", "DELETE", "/v1/sessions/{token}", (
        Case("own", WEB_USERS, path="/v1/sessions/current", fresh_session=True),
        Case("another user's", _set(ADMIN), path="/v1/sessions/{new_session}"),
        *within_villages(MANAGERS, path="/v1/sessions/{new_app_user_token}"),
    )),
    route("web.logout", "POST", "/ui/logout", anywhere(WEB_USERS, fresh_session=True),
          EMPTY_FORM),
    route("web.home", "GET", "/ui/", anywhere(WEB_USERS)),
    route("web.projects", "GET", "/ui/projects", anywhere(WEB_USERS)),
    # A commune made from the page: the site administrator (an empty name: 400, nothing made).
    route("web.create_commune", "POST", "/ui/projects", anywhere(_set(ADMIN)), EMPTY_FORM),
    route("web.unknown_page", "GET", "/ui/khong-co", nothing_there()),
    route("web.unknown_page", "POST", "/ui/khong-co",
          nothing_there(denied=_set(ANONYMOUS, PHONE)), EMPTY_FORM),
    route(f"{V}users_user_list", "GET", "/v1/users", anywhere(WEB_USERS)),
    route(f"{V}users_user_list", "POST", "/v1/users", anywhere(_set(ADMIN)), EMPTY_JSON),
    route(f"{V}users_current_user", "GET", "/v1/users/current", anywhere(WEB_USERS)),
    *(route(f"{V}users_user_detail", method, "/v1/users/{actor}", (
        Case("own", WEB_USERS, path="/v1/users/{me}"),
        Case("another's", _set(ADMIN), path="/v1/users/{bystander}")), body)
      for method, body in (("GET", NO_BODY), ("PATCH", Body(json={"displayName": ""})))),
    route(f"{V}users_user_detail", "DELETE", "/v1/users/{actor}",
          anywhere(_set(ADMIN), path="/v1/users/{new_user}")),
    route(f"{V}users_user_password", "PUT", "/v1/users/{actor}/password", (
        Case("own", WEB_USERS, path="/v1/users/{me}/password"),
        Case("another's", _set(ADMIN), path="/v1/users/{bystander}/password")), EMPTY_JSON),
    route(f"{V}assignments_site_assignments", "GET", "/v1/assignments", anywhere(_set(ADMIN))),
    route(f"{V}assignments_site_role_actors", "GET", "/v1/assignments/admin",
          anywhere(_set(ADMIN))),
    # A project role named on the site: refused (400) once the caller is an administrator.
    *(route(f"{V}assignments_site_assignment", method, "/v1/assignments/manager/{bystander}",
            anywhere(_set(ADMIN))) for method in ("POST", "DELETE")),
    route(f"{V}audits_audit_list", "GET", "/v1/audits", anywhere(_set(ADMIN))),
    route(f"{V}registry_categories_category_catalogue", "GET", "/v1/registry/categories",
          anywhere(WEB_USERS)),
    # --- projects, app users, roles -----------------------------------------------------------
    route(f"{V}projects_project_list", "GET", "/v1/projects", anywhere(WEB_USERS)),
    route(f"{V}projects_project_list", "POST", "/v1/projects", anywhere(_set(ADMIN)),
          EMPTY_JSON),
    route(f"{V}projects_project_detail", "GET", P, in_commune(MEMBERS)),
    route(f"{V}projects_project_detail", "PATCH", P, in_commune(MANAGERS),
          Body(json={"name": ""})),
    route(f"{V}projects_project_detail", "DELETE", P,
          anywhere(_set(ADMIN), path="/v1/projects/{new_project}")),
    route(f"{V}app_users_app_user_list", "GET", P + "/app-users", in_commune(MANAGERS)),
    route(f"{V}app_users_app_user_list", "POST", P + "/app-users", (
        Case("for T01", MANAGERS, body=Body(json={"displayName": "Máy mới",
                                                   "villages": [INSIDE]})),
        Case("for T05", UNLIMITED_MANAGERS, body=Body(json={"displayName": "Máy mới",
                                                             "villages": [OUTSIDE]})),
        Case("for no village", MANAGERS, body=Body(json={"displayName": "Máy mới"})))),
    route(f"{V}app_users_app_user_detail", "GET", P + "/app-users/{phone}",
          within_villages(MANAGERS)),
    route(f"{V}app_users_app_user_detail", "PATCH", P + "/app-users/{phone}", (
        *within_villages(MANAGERS),
        Case("moving a phone of T01 to T05", UNLIMITED_MANAGERS, village=INSIDE,
             path=P + "/app-users/{new_app_user}", body=Body(json={"villages": [OUTSIDE]}))),
          Body(json={"displayName": ""})),
    route(f"{V}app_users_app_user_detail", "DELETE", P + "/app-users/{new_app_user}",
          within_villages(MANAGERS)),
    route(f"{V}app_users_app_user_qr_settings", "GET", P + "/app-users/{phone}/qr",
          within_villages(MANAGERS)),
    route(f"{V}app_users_app_user_qr_png", "GET", P + "/app-users/{phone}/qr.png",
          within_villages(MANAGERS)),
    route(f"{V}assignments_project_assignments", "GET", P + "/assignments",
          in_commune(MANAGERS)),
    route(f"{V}assignments_project_role_actors", "GET", P + "/assignments/viewer",
          anywhere(MANAGERS)),
    route(f"{V}assignments_project_form_assignments", "GET", P + "/assignments/forms",
          anywhere(MANAGERS)),
    route(f"{V}assignments_project_form_role_assignments", "GET",
          P + "/assignments/forms/app-user", anywhere(MANAGERS)),
    route(f"{V}assignments_project_assignment", "POST", P + "/assignments/viewer/{new_user}", (
        Case("limited to T01", MANAGERS, body=Body(json={"villages": [INSIDE]})),
        Case("limited to T05", UNLIMITED_MANAGERS, body=Body(json={"villages": [OUTSIDE]})),
        Case("without a village limit", UNLIMITED_MANAGERS),
        # One's own role again, unlimited: the manager holds it already (409), the admin's
        # answers never depend on a project role; a manager of T01 is refused.
        Case("one's own role, without a limit", UNLIMITED_MANAGERS,
             path=P + "/assignments/manager/{me}")), EMPTY_JSON),
    route(f"{V}assignments_project_assignment", "DELETE",
          P + "/assignments/viewer/{new_role_holder}", (
              *within_villages(MANAGERS),
              Case("without a village limit", UNLIMITED_MANAGERS,
                   path=P + "/assignments/viewer/{new_unlimited_role_holder}"))),
    route(f"{V}assignments_form_assignments", "GET", F + "/assignments", anywhere(MANAGERS)),
    route(f"{V}assignments_form_role_actors", "GET", F + "/assignments/app-user",
          anywhere(MANAGERS)),
    # A new phone of the case's village is given the screening form; here it gets the photo
    # form too, or loses the screening form.
    route(f"{V}assignments_form_assignment_grant", "POST",
          P + "/forms/{photo_form}/assignments/app-user/{new_app_user}",
          within_villages(MANAGERS)),
    route(f"{V}assignments_form_assignment_grant", "DELETE",
          F + "/assignments/app-user/{new_app_user}", within_villages(MANAGERS)),
    # --- forms: definitions, drafts, what phones download -------------------------------------
    route(f"{V}forms_form_list", "GET", P + "/forms", in_commune(FORM_READERS)),
    route(f"{V}forms_form_list", "POST", P + "/forms", anywhere(MANAGERS),
          Body(data=b"", content_type="application/xml")),
    route(f"{V}forms_form_detail", "GET", F, anywhere(FORM_READERS)),
    route(f"{V}forms_form_detail", "PATCH", F, anywhere(MANAGERS), EMPTY_JSON),
    route(f"{V}forms_form_detail", "DELETE", P + "/forms/{new_form}", anywhere(MANAGERS)),
    route(f"{V}forms_form_xlsx", "GET", F + ".xlsx", anywhere(FORM_READERS)),
    route(f"{V}forms_form_xls", "GET", P + "/forms/{photo_form}.xls", anywhere(FORM_READERS)),
    route(f"{V}forms_form_attachment_list", "GET", F + "/attachments", anywhere(FORM_READERS)),
    route(f"{V}forms_form_version_list", "GET", F + "/versions", anywhere(FORM_READERS)),
    route(f"{V}forms_form_version", "GET", F + "/versions/{version}", anywhere(FORM_READERS)),
    route(f"{V}forms_form_version_xml", "GET", F + "/versions/{version}.xml",
          anywhere(FORM_READERS)),
    route(f"{V}form_drafts_form_draft", "GET", F + "/draft", anywhere(MANAGERS)),
    route(f"{V}form_drafts_form_draft", "POST", F + "/draft", anywhere(MANAGERS),
          Body(data=b"<h:html", content_type="application/xml")),
    # The form was never published: its draft may not be discarded (409.7).
    route(f"{V}form_drafts_form_draft", "DELETE", P + "/forms/{unpublished}/draft",
          anywhere(MANAGERS)),
    route(f"{V}form_drafts_form_draft_xml", "GET", F + "/draft.xml", anywhere(MANAGERS)),
    route(f"{V}form_drafts_form_draft_xlsx", "GET", F + "/draft.xlsx", anywhere(MANAGERS)),
    route(f"{V}form_drafts_form_draft_attachments", "GET", F + "/draft/attachments",
          anywhere(MANAGERS)),
    route(f"{V}form_drafts_form_draft_attachment", "POST",
          F + "/draft/attachments/villages.csv", anywhere(MANAGERS), VILLAGES_CSV_BODY),
    route(f"{V}form_drafts_form_draft_attachment", "DELETE",
          F + "/draft/attachments/{draft_file}", anywhere(MANAGERS)),
    # The published version's own version string: refused (409.6), nothing published.
    route(f"{V}form_drafts_form_draft_publish", "POST", F + "/draft/publish?version={version}",
          anywhere(MANAGERS)),
    route("openrosa.form_list", "GET", "/formList", anywhere(SIGNED_IN)),
    route("openrosa.project_form_list", "GET", P + "/formList", in_commune(FORM_USERS)),
    route("openrosa.form_xml", "GET", F + ".xml", anywhere(FORM_USERS)),
    route("openrosa.manifest", "GET", F + "/manifest", anywhere(FORM_USERS)),
    route("openrosa.media_file", "GET", F + "/attachments/{name}", (
        Case("villages.csv", FORM_USERS, path=F + "/attachments/villages.csv"),
        Case("children.csv (the registry)", FORM_USERS,
             path=P + "/forms/{followup}/attachments/children.csv"))),
    route("openrosa.integrity", "GET", P + "/datasets/children/integrity",
          anywhere(FORM_USERS)),
    # --- submissions and what is made of them -------------------------------------------------
    route("openrosa.submit", "POST", "/submission", anywhere(SUBMITTERS), RESUBMISSION),
    route("openrosa.submit_to_project", "POST", P + "/submission", anywhere(SUBMITTERS),
          RESUBMISSION),
    route(f"{V}submissions_submission_list", "GET", F + "/submissions", anywhere(READERS)),
    route(f"{V}submissions_submission_list", "POST", F + "/submissions", anywhere(SUBMITTERS),
          OTHER_FORMS_XML),
    route(f"{V}submissions_submission_item", "GET", VISIT, in_villages(READERS)),
    route(f"{V}submissions_submission_item", "PUT", VISIT, in_villages(MANAGERS),
          OTHER_FORMS_XML),
    route(f"{V}submissions_submission_item", "PATCH", VISIT, in_villages(MANAGERS), EMPTY_JSON),
    route(f"{V}submissions_submission_item", "DELETE", F + "/submissions/{new_visit}",
          in_villages(MANAGERS)),
    route(f"{V}submissions_submission_xml", "GET", VISIT + ".xml", in_villages(READERS)),
    route(f"{V}submissions_submission_versions", "GET", VISIT + "/versions",
          in_villages(READERS)),
    route(f"{V}submissions_attachment_list", "GET", VISIT + "/attachments",
          in_villages(READERS)),
    route(f"{V}submissions_attachment_item", "GET", PHOTO, in_villages(READERS)),
    route(f"{V}submissions_attachment_item", "POST", PHOTO, in_villages(MANAGERS),
          Body(data=PNG_BYTES, content_type="image/png")),  # the very same photo
    route(f"{V}submissions_comments", "GET", VISIT + "/comments", in_villages(READERS)),
    route(f"{V}submissions_comments", "POST", VISIT + "/comments", in_villages(READERS),
          EMPTY_JSON),
    route(f"{V}odata_csv_export", "GET", F + "/submissions.csv", anywhere(READERS)),
    route(f"{V}odata_csv_zip_export", "GET", F + "/submissions.csv.zip", anywhere(READERS)),
    route(f"{V}odata_xlsx_export", "GET", F + "/submissions.xlsx", anywhere(READERS)),
    route(f"{V}odata_service_document", "GET", F + ".svc", anywhere(READERS)),
    route(f"{V}odata_metadata", "GET", F + ".svc/$metadata", anywhere(READERS)),
    route(f"{V}odata_table", "GET", F + ".svc/{table}", (
        Case("the children's table", READERS, path=F + ".svc/Submissions.household.child"),
        *in_villages(READERS, path=F + ".svc/Submissions('{visit}')"))),
    route(f"{V}datasets_dataset_list", "GET", P + "/datasets", in_commune(READERS)),
    route(f"{V}datasets_dataset_detail", "GET", P + "/datasets/children", anywhere(READERS)),
    route(f"{V}datasets_entity_collection", "GET", P + "/datasets/children/entities",
          anywhere(READERS)),
    route(f"{V}datasets_entities_csv", "GET", P + "/datasets/children/entities.csv",
          anywhere(READERS)),
    route(f"{V}datasets_entity_detail", "GET", P + "/datasets/children/entities/{child}",
          in_villages(READERS)),
    # --- the registry over JSON ---------------------------------------------------------------
    route(f"{V}registry_child_list", "GET", REG + "/children", in_commune(REGISTRY)),
    route(f"{V}registry_child_detail", "GET", CHILD, in_villages(REGISTRY)),
    _category("confirm"),
    _category("end"),
    _category("accept"),
    # Recording an approved intervention plan: the same callers as a confirmation.
    _category("plan"),
    route(f"{V}registry_child_merge", "POST", CHILD + "/merge",
          in_villages(REVIEWERS, seen_by=REGISTRY), EMPTY_JSON),
    # The child's only record: refused (409) once the caller may review there.
    route(f"{V}registry_record_unmerge", "POST", CHILD + "/records/{record}/unmerge",
          in_villages(REVIEWERS, seen_by=REGISTRY)),
    # A "same child" edge: refused (409), only "not the same" is withdrawn.
    route(f"{V}registry_review_edge_revoke", "POST", REG + "/edges/{edge}/revoke",
          in_villages(REVIEWERS, seen_by=REGISTRY)),
    route(f"{V}registry_exports_children_csv", "GET", REG + "/children.csv",
          in_commune(EXPORTERS)),
    route(f"{V}registry_exports_children_xlsx", "GET", REG + "/children.xlsx",
          in_commune(EXPORTERS)),
    # The reports: any exporter; the sensitive-records log only with sensitive reading in
    # every village.
    route(f"{V}registry_reports_report_list", "GET", REG + "/reports", in_commune(EXPORTERS)),
    *(route(f"{V}registry_reports_report_{form}", "GET", REG + "/reports/{name}" + suffix, (
        *in_commune(EXPORTERS, path=REG + "/reports/by-category" + suffix),
        Case("the audit report", WHOLE_COMMUNE_SENSITIVE, path=REG + "/reports/audit" + suffix)))
      for form, suffix in (("json", ""), ("xlsx", ".xlsx"))),
    route(f"{V}registry_flags_flag_list", "GET", REG + "/flags", in_commune(REGISTRY)),
    *_flag_routes(REG + "/flags", "registry_flags_flag", EMPTY_JSON),
    route(f"{V}registry_import_registry_imports", "POST", REG + "/imports",
          anywhere(SENSITIVE), Body(data=b"", content_type="text/csv")),
    route(f"{V}registry_review_review_queue", "GET", REG + "/review-queue",
          in_commune(REGISTRY)),
    route(f"{V}registry_review_review_row", "GET", REG + "/review-queue/{candidate}",
          in_villages(REGISTRY)),
    route(f"{V}registry_review_review_decision_resource", "POST",
          REG + "/review-queue/{candidate}/decision",
          in_villages(REVIEWERS, seen_by=REGISTRY), EMPTY_JSON),
    # An open row: there is no decision to undo (409).
    route(f"{V}registry_review_review_undo", "POST", REG + "/review-queue/{candidate}/undo",
          in_villages(REVIEWERS, seen_by=REGISTRY)),
    # --- the registry's pages -----------------------------------------------------------------
    route("web.dashboard", "GET", UI + "/dashboard", in_commune(REGISTRY)),
    route("web.exports", "GET", UI + "/exports", in_commune(EXPORTERS)),
    route("web.children", "GET", UI + "/children", in_commune(REGISTRY)),
    route("web.child", "GET", UI + "/children/{child}", in_villages(REGISTRY)),
    route("web.unmerge", "POST", UI + "/children/{child}/records/{record}/unmerge",
          in_villages(REVIEWERS, seen_by=REGISTRY), EMPTY_FORM),
    route("web.flags", "GET", UI + "/flags", in_commune(REGISTRY)),
    *_flag_routes(UI + "/flags", "web", Body(form={"reason": ""})),
    route("web.review_queue", "GET", UI + "/review", in_commune(REGISTRY)),
    route("web.decide", "POST", UI + "/review/{candidate}/decide",
          in_villages(REVIEWERS, seen_by=REGISTRY), Body(form={"decision": ""})),
    route("web.undo", "POST", UI + "/review/{candidate}/undo",
          in_villages(REVIEWERS, seen_by=REGISTRY), EMPTY_FORM),
    # --- forms page ---
    # The forms page: the API's rules for forms and drafts (list: form readers; a form never
    # published: those who may change it; uploads, drafts, media, publishing, states: managers,
    # a manager of T01 included — forms are the whole commune's). Writes send no file, no state
    # or the published version again: refused (400, 409) once the caller may act.
    route("web.forms", "GET", UI + "/forms", in_commune(FORM_READERS)),
    route("web.form_create", "POST", UI + "/forms", in_commune(MANAGERS), EMPTY_FORM),
    route("web.form", "GET", UI + "/forms/{f}", (
        Case("published", FORM_READERS),
        Case("never published", MANAGERS, path=UI + "/forms/{unpublished}"))),
    route("web.form_draft", "POST", UI + "/forms/{f}/draft", anywhere(MANAGERS), EMPTY_FORM),
    route("web.form_attachment", "POST", UI + "/forms/{f}/draft/attachments/villages.csv",
          anywhere(MANAGERS), EMPTY_FORM),
    route("web.form_draft_qr", "GET", UI + "/forms/{f}/draft/qr.png", anywhere(MANAGERS)),
    route("web.form_publish", "POST", UI + "/forms/{f}/draft/publish", anywhere(MANAGERS),
          EMPTY_FORM),
    route("web.form_state", "POST", UI + "/forms/{f}/state", anywhere(MANAGERS), EMPTY_FORM),
    # Trying a draft on a phone: the draft token is the key; a wrong one opens nothing.
    *(route(f"openrosa.draft_{name}", method,
            "/v1/test/not-a-draft-token/projects/{p}/forms/{f}/draft" + suffix, nothing_there())
      for name, method, suffix in (
          ("form_list", "GET", "/formList"), ("xml", "GET", ".xml"),
          ("manifest", "GET", "/manifest"),
          ("media_file", "GET", "/attachments/villages.csv"),
          ("preflight", "GET", "/submission"), ("submission", "POST", "/submission"))),
    # --- phones page ---
    # The phones page: the API's rules for app users — managers, a manager of T01 only for
    # phones of T01; a QR code (on the phone's page, as an image, on the cards) as creating one.
    route("web.phones", "GET", UI + "/phones", in_commune(MANAGERS)),
    route("web.phone_create", "POST", UI + "/phones", (
        Case("for T01", MANAGERS, body=Body(form={"display_name": "Máy mới",
                                                   "villages": INSIDE})),
        Case("for T05", UNLIMITED_MANAGERS, body=Body(form={"display_name": "Máy mới",
                                                             "villages": OUTSIDE})),
        Case("for no village", MANAGERS, body=Body(form={"display_name": "Máy mới"})),
        Case("in another commune", _set(ADMIN), other_project=True,
             body=Body(form={"display_name": "Máy mới"})))),
    route("web.phone", "GET", UI + "/phones/{phone}", within_villages(MANAGERS)),
    route("web.phone_qr", "GET", UI + "/phones/{phone}/qr.png", within_villages(MANAGERS)),
    route("web.phone_cards", "GET", UI + "/phones/cards", in_commune(MANAGERS)),
    route("web.phone_revoke", "POST", UI + "/phones/{new_app_user}/revoke",
          within_villages(MANAGERS), Body(form={"confirm": "yes"})),
    route("web.phone_reissue", "POST", UI + "/phones/{new_app_user}/reissue",
          within_villages(MANAGERS), Body(form={"confirm": "yes"})),
    # --- people pages ---
    # Accounts: site administrators only, as the API's user routes. A reset or a deactivation
    # acts on a user made for the request; a form without an email is refused (400).
    route("web.users", "GET", "/ui/users", anywhere(_set(ADMIN))),
    route("web.user_create", "POST", "/ui/users", anywhere(_set(ADMIN)), EMPTY_FORM),
    route("web.user", "GET", "/ui/users/{bystander}", anywhere(_set(ADMIN))),
    route("web.user_reset", "POST", "/ui/users/{new_user}/password", anywhere(_set(ADMIN)),
          Body(form={"confirm": "yes"})),
    route("web.user_deactivate", "POST", "/ui/users/{new_user}/deactivate",
          anywhere(_set(ADMIN)), Body(form={"confirm": "yes"})),
    # A commune's people and roles: the managers, as the API's project assignments; a manager
    # limited to T01 gives, changes and removes only roles limited to T01. Giving a role to an
    # email nobody has is refused (400) once the caller may give that role.
    route("web.people", "GET", UI + "/people", in_commune(MANAGERS)),
    route("web.people_assign", "POST", UI + "/people", (
        Case("limited to T01", MANAGERS, body=Body(form={
            "email": "nobody@xa.test", "role": "viewer", "limit": "villages",
            "villages": INSIDE})),
        Case("limited to T05", UNLIMITED_MANAGERS, body=Body(form={
            "email": "nobody@xa.test", "role": "viewer", "limit": "villages",
            "villages": OUTSIDE})),
        Case("without a village limit", UNLIMITED_MANAGERS, body=Body(form={
            "email": "nobody@xa.test", "role": "viewer", "limit": "all"})),
        Case("other commune", _set(ADMIN), other_project=True, body=Body(form={
            "email": "nobody@xa.test", "role": "viewer", "limit": "all"})))),
    route("web.person_role", "GET", UI + "/people/{new_role_holder}/viewer", (
        *within_villages(MANAGERS),
        Case("without a village limit", UNLIMITED_MANAGERS,
             path=UI + "/people/{new_unlimited_role_holder}/viewer"))),
    route("web.person_role_update", "POST", UI + "/people/{new_role_holder}/viewer", (
        *within_villages(MANAGERS),
        Case("moving a role of T01 to T05", UNLIMITED_MANAGERS, village=INSIDE,
             body=Body(form={"limit": "villages", "villages": OUTSIDE})),
        Case("without a village limit", UNLIMITED_MANAGERS,
             path=UI + "/people/{new_unlimited_role_holder}/viewer")),
          Body(form={"limit": "villages", "villages": INSIDE})),
    route("web.person_role_remove", "POST", UI + "/people/{new_role_holder}/viewer/remove", (
        *within_villages(MANAGERS),
        Case("without a village limit", UNLIMITED_MANAGERS,
             path=UI + "/people/{new_unlimited_role_holder}/viewer/remove")),
          Body(form={"confirm": "yes"})),
    # --- imports page ---
    # Importing a children list: the API's import callers (`registry.import`: the officer and
    # managers). No file, or a token that is not the server's: refused (400) once allowed.
    route("web.imports", "GET", UI + "/imports", in_commune(SENSITIVE)),
    route("web.import_upload", "POST", UI + "/imports", anywhere(SENSITIVE), EMPTY_FORM),
    route("web.import_report", "GET", UI + "/imports/report?t=not-a-token",
          anywhere(SENSITIVE)),
    route("web.import_commit", "POST", UI + "/imports/commit", anywhere(SENSITIVE),
          Body(form={"t": "not-a-token"})),
    # --- submissions pages ---
    # The submissions API's lines, as pages: reading and commenting are the readers',
    # the review state and a retry the managers' (Central's PATCH), in the caller's villages.
    route("web.submissions", "GET", UI + "/submissions", in_commune(READERS)),
    route("web.submission", "GET", UI + "/submissions/{f}/{visit}", in_villages(READERS)),
    route("web.submission_file", "GET",
          UI + "/submissions/{photo_form}/{photo_visit}/files/{photo_name}",
          in_villages(READERS)),
    # An empty review state or comment: refused (400) once the caller may set or write one.
    route("web.submission_review", "POST", UI + "/submissions/{f}/{visit}/review",
          in_villages(MANAGERS), Body(form={"reviewState": ""})),
    route("web.submission_comment", "POST", UI + "/submissions/{f}/{visit}/comments",
          in_villages(READERS), Body(form={"body": ""})),
    # The visit is in the registry: nothing to retry (409) once the caller may retry.
    route("web.submission_retry", "POST", UI + "/submissions/{f}/{visit}/sync/retry",
          in_villages(MANAGERS), EMPTY_FORM),
    # --- child page actions ---
    # Confirm, end or accept a category on the child's page: the API's callers for each case
    # (`_category` above), the same child and codes, under the page's address.
    *(route(f"web.category_{action}", "POST", UI + "/children/{child}/categories/{code}/" + action,
            tuple(replace(c, path=(c.path or "").replace(CHILD, UI + "/children/{child}"))
                  for c in _category(action).cases), EMPTY_FORM)
      for action in ("confirm", "end", "accept")),
    # Merging by hand and choosing a field's value: reviewers, as the API's merge.
    route("web.merge_search", "GET", UI + "/children/{child}/merge",
          in_villages(REVIEWERS, seen_by=REGISTRY)),
    route("web.merge_children", "POST", UI + "/children/{child}/merge",
          in_villages(REVIEWERS, seen_by=REGISTRY), EMPTY_FORM),
    route("web.field_choose", "POST", UI + "/children/{child}/fields/full_name/choice",
          in_villages(REVIEWERS, seen_by=REGISTRY), EMPTY_FORM),
    # No choice was made: nothing to withdraw (409) once the caller may review there.
    route("web.field_withdraw", "POST",
          UI + "/children/{child}/fields/full_name/choice/withdraw",
          in_villages(REVIEWERS, seen_by=REGISTRY), EMPTY_FORM),
    route(f"{V}registry_field_choices_field_choice", "POST",
          CHILD + "/fields/full_name/choice", in_villages(REVIEWERS, seen_by=REGISTRY),
          EMPTY_JSON),
    route(f"{V}registry_field_choices_field_choice", "DELETE",
          CHILD + "/fields/full_name/choice", in_villages(REVIEWERS, seen_by=REGISTRY)),
    # The page confirming an urgent flag's acknowledgement or closing: whoever may do it (the
    # callers of `_flag_routes`), for a public flag and a confidential urgent one.
    route("web.flag_confirm", "GET", UI + "/flags/{flag}/confirm", (
        *in_villages(REVIEWERS, seen_by=REGISTRY,
                     path=UI + "/flags/{new_flag}/confirm?action=acknowledge"),
        *(replace(c, name=f"{c.name}, urgent confidential") for c in in_villages(
            SENSITIVE | {"commune_leader"}, seen_by=REGISTRY,
            hidden=NOT_SENSITIVE - {"commune_leader"},
            path=UI + "/flags/{new_urgent_flag}/confirm?action=acknowledge")),
        *(replace(c, name=f"{c.name}, closing") for c in in_villages(
            FLAG_CLOSERS, seen_by=REGISTRY, path=UI + "/flags/{new_flag}/confirm?action=close")),
        *(replace(c, name=f"{c.name}, closing urgent confidential") for c in in_villages(
            SENSITIVE, seen_by=REGISTRY, hidden=NOT_SENSITIVE - {"commune_leader"},
            path=UI + "/flags/{new_urgent_flag}/confirm?action=close")))),
]

# Reads first: the writes that follow only ever change things made for them.
READS = [entry for entry in ROUTES if entry.method == "GET"]
WRITES = [entry for entry in ROUTES if entry.method != "GET"]
