"""`audit`: who viewed or exported the commune's sensitive records in the period, from the
audit log (docs/privacy.md §5, README "Audit log").

Listed, oldest first, with when (Vietnam time), who, what, which children (their codes) and
categories, and how (API, web page, CLI):

* `registry.child.read_sensitive` — a child's record opened with sensitive or confidential
  categories shown;
* `registry.children.read_sensitive` — a list of children that showed them;
* `registry.export` — a registry export or report made in full (not redacted);
* `form.submission.export` — a CSV/zip export of a form's submissions with every answer
  (`redacted` false: the confidential and sensitive answers included).

Exports that carry no sensitive data (redacted ones, the phones' entity list, the links and
review-queue files) stay in the audit log (`GET /v1/audits`) and are not repeated here.

The report shows every sensitive category of every child of the commune, so only a caller who
reads sensitive categories in every village may have it (`AuditReportRefused` otherwise, which
the API answers with 403 and the CLI with an error).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import select

from exports.periods import vietnam_time
from exports.reports import ReportContext, ReportResult, report
from exports.reports.presentation import Column, Item, say, table_sheet
from server.models import Actor, Audit, Child, Form
from server.registry.access import RegistryAccess
from server.registry.child_code import format_code

NAME = "audit"
READ_ONE, READ_LIST = "registry.child.read_sensitive", "registry.children.read_sensitive"
REGISTRY_EXPORT, SUBMISSION_EXPORT = "registry.export", "form.submission.export"
ACTIONS = {
    READ_ONE: ("Mở hồ sơ trẻ có nhóm nhạy cảm", "Opened a child's record with sensitive data"),
    READ_LIST: ("Xem danh sách trẻ có nhóm nhạy cảm", "Listed children with sensitive data"),
    REGISTRY_EXPORT: ("Xuất sổ theo dõi/báo cáo đầy đủ", "Full registry export or report"),
    SUBMISSION_EXPORT: ("Xuất phiếu đầy đủ câu trả lời", "Submissions exported with every answer"),
}
COLUMNS = (Column("at", "Thời điểm", "When", 18), Column("who", "Người thực hiện", "Who", 26),
           Column("action", "Việc", "Action", 34),
           Column("children", "Mã trẻ", "Children (codes)", 30),
           Column("codes", "Nhóm nhạy cảm", "Sensitive categories", 24),
           Column("what", "Nội dung", "What", 30), Column("rows", "Số dòng", "Rows", 8),
           Column("via", "Qua", "Via", 8))


class AuditReportRefused(PermissionError):
    """The caller does not read sensitive categories in every village of the commune."""


def may_read(access: RegistryAccess) -> bool:
    return not access.read.is_limited and not access.sensitive.is_limited


def _in_project(row: Audit, project_id: int, forms: set[int]) -> bool:
    details = row.details or {}
    if row.action == SUBMISSION_EXPORT:
        kind, _, ident = (row.actee or "").partition(":")
        return kind == "form" and ident.isdigit() and int(ident) in forms
    return (details.get("projectId") == project_id
            or row.actee == f"project:{project_id}")


def _is_sensitive(row: Audit) -> bool:
    if row.action in (READ_ONE, READ_LIST):
        return True
    return (row.details or {}).get("redacted") is not True  # full, or written before the flag


def _children_of(row: Audit) -> dict[str, list[str]]:
    """Child id → the sensitive codes the row says were shown."""
    details = row.details or {}
    if row.action == READ_ONE:
        kind, _, ident = (row.actee or "").partition(":")
        return {ident: list(details.get("codes") or [])} if kind == "child" else {}
    if row.action == READ_LIST:
        return {str(k): list(v or []) for k, v in (details.get("children") or {}).items()}
    return {}


def _codes_of(session: Any, ids: Iterable[str]) -> dict[str, str]:
    wanted = sorted(set(ids))
    found: dict[str, str] = {}
    for start in range(0, len(wanted), 500):
        found.update((child_id, format_code(number)) for child_id, number in session.execute(
            select(Child.id, Child.number).where(Child.id.in_(wanted[start:start + 500]))))
    return found


def _what(row: Audit) -> str:
    details = row.details or {}
    if row.action == REGISTRY_EXPORT:
        return f"{details.get('export', '')} ({details.get('format', '')})"
    if row.action == SUBMISSION_EXPORT:
        return f"{details.get('xmlFormId', '')} ({details.get('output', '')})"
    return ""


def _who(name: str | None, row: Audit) -> str:
    if name:
        return name
    system = (row.details or {}).get("systemUser")
    return f"CLI ({system})" if system else "CLI"


def _item(context: ReportContext, row: Audit, name: str | None, codes: dict[str, str]) -> Item:
    details = row.details or {}
    shown = _children_of(row)
    label = ACTIONS.get(row.action)
    return {"auditId": row.id, "at": vietnam_time(row.logged_at), "actorId": row.actor_id,
            "who": _who(name, row), "actionCode": row.action,
            "action": say(context, *label) if label else row.action,
            "children": [codes.get(child_id, child_id) for child_id in shown],
            "childIds": list(shown),
            "codes": sorted({code for items in shown.values() for code in items}),
            "what": _what(row), "rows": details.get("rows"),
            "via": details.get("via") or "api"}


@report(NAME)
def build(context: ReportContext) -> ReportResult:
    if not may_read(context.access):
        raise AuditReportRefused(NAME)
    session = context.session
    forms = set(session.scalars(select(Form.id).where(Form.project_id == context.project_id)))
    rows = [(row, name) for row, name in session.execute(
        select(Audit, Actor.display_name).outerjoin(Actor, Actor.id == Audit.actor_id)
        .where(Audit.action.in_(sorted(ACTIONS)),
               Audit.logged_at >= context.period.start_utc,
               Audit.logged_at < context.period.end_utc)
        .order_by(Audit.logged_at, Audit.id))
        if _in_project(row, context.project_id, forms) and _is_sensitive(row)]
    codes = _codes_of(session, (child_id for row, _ in rows for child_id in _children_of(row)))
    items = [_item(context, row, name, codes) for row, name in rows]
    sheet = table_sheet(context, say(context, "Nhật ký", "Log"), COLUMNS, items)
    return ReportResult(NAME, {"entries": items}, [sheet], rows=len(items))
