"""`data-quality`: what the officer should fix or check in the registry (docs/reports.md §2).

One sheet per problem, after a summary of their counts:

* children without a personal ID (Đề án 06 asks communes to add it);
* doubtful personal IDs: not 12 digits, or failing the structural checks of
  `sync.personal_id` (province code, the sex and birth year the fourth to sixth digits
  encode; the birth year only when the date of birth was not estimated);
* personal IDs also in another commune's registry on this server
  (`server.registry.other_communes`): each commune matches its own children only, so the
  same number in two communes — a family that moved, or a number on the wrong child — is
  told here, with the other communes' names and nothing of their children;
* dates of birth estimated from an age (`dob_precision` "estimated");
* doubtful fields: each report (a phone's visit, an imported row) of a child the caller sees
  that was kept with a doubtful field (`child_records.doubtful`, `sync.doubtful`: a personal
  ID failing its checks, a date of birth in the future or unreadable, a sex that is not one,
  an unknown category code), one row per field and reason, with what was given; and their
  counts by field and reason (docs/registry.md, "Doubtful fields");
* open possible duplicates: review-queue rows not yet decided whose both children the caller
  sees (the queue's own rule, docs/matching.md §4);
* children 16 or over with a category still open — the Law on Children's protection ends at
  16, so each needs the officer's decision (AGEOUT-16-22 is expected until 22, Decree 20/2021
  Art. 5(2));
* submissions the registry sync could not use: `failed` (an error; it is not retried) and
  `not_applied` (a follow-up the registry refused, `server.registry.sync`), current versions
  of the submissions in the caller's villages. A redacted report shows the error's kind only:
  an error's text can quote the answers it choked on;
* rows refused at import. The importer does not keep refused rows — it reports them to
  whoever imports (`server.registry.importer`, the API answer and `diemtua registry import`)
  and then they are gone — so this sheet lists what does persist: each import of the period
  that refused rows, from its `registry.import` audit row (when, who, which list, how many
  rows refused). Imports are commune-wide, so a caller limited to villages does not get it.

The children filters narrow the child-based sheets; duplicates, sync failures and imports are
not about one child and are not filtered. Each list is the registry as it stands, except the
imports, which are those of the period.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Select, Text, cast, select
from sqlalchemy.orm import aliased

from exports.periods import vietnam_time
from exports.registry_rows import ChildRow, iter_child_rows
from exports.reports import ReportContext, ReportResult, report
from exports.reports.presentation import (
    CHILD_COLUMNS,
    Column,
    Item,
    category_labels,
    child_item,
    open_episodes,
    say,
    submission_url,
    table_sheet,
)
from exports.xlsx_book import Cell, Link, Sheet
from server.models import (
    Actor,
    Audit,
    Child,
    ChildMembership,
    ChildRecord,
    Form,
    MatchCandidate,
    Submission,
    SubmissionDef,
)
from server.models.registry import CandidateStatus
from server.registry.child_code import format_code
from server.registry.children_query import children_query
from server.registry.other_communes import ids_in_other_communes
from server.registry.sync import SyncState
from sync.doubtful import ID_DOUBT_WORDS, Reason
from sync.personal_id import check_personal_id

NAME = "data-quality"
ADULT_AGE, AGEOUT_UNTIL = 16, 22
AGEOUT = "AGEOUT-16-22"
UNUSED_STATES = (SyncState.FAILED, SyncState.NOT_APPLIED)
_DOUBTFUL_FIELDS = {
    "personal_id": ("Số định danh", "Personal ID"), "dob": ("Ngày sinh", "Date of birth"),
    "sex": ("Giới tính", "Sex"),
    "special_circumstances": ("Hoàn cảnh đặc biệt", "Special circumstances"),
}
_DOUBT_REASONS = {
    **ID_DOUBT_WORDS,
    Reason.NOT_A_DATE.value: ("không phải ngày: để trống", "not a date: left blank"),
    Reason.IN_FUTURE.value: ("ở tương lai", "in the future"),
    Reason.NOT_A_SEX.value: ("không phải Nam/Nữ: để trống", "not M/F: left blank"),
    Reason.UNKNOWN_CODE.value: ("mã không có trong danh mục: bỏ qua",
                                "code not in the catalogue: left out"),
}
_STATES = {SyncState.FAILED: ("Lỗi", "Failed"),
           SyncState.NOT_APPLIED: ("Không áp dụng", "Not applied")}
DOB = Column("dob", "Ngày sinh", "Date of birth", 12)


@dataclass
class Problem:
    """One sheet: what is wrong, and the rows where it is."""

    key: str
    vi: str
    en: str
    columns: tuple[Column, ...]
    items: list[Item] = field(default_factory=list)


def _id_problems(context: ReportContext, row: ChildRow) -> list[str]:
    estimated = row.dob_precision == "estimated"
    year = int(row.dob[:4]) if row.dob and not estimated else None
    check = check_personal_id(row.personal_id, sex=row.sex, birth_year=year)
    return [say(context, *ID_DOUBT_WORDS[problem.value]) for problem in check.problems]


Doubts = dict[str, list[tuple[str, str, dict[str, Any]]]]


def _chosen_ids(context: ReportContext) -> Select[Any]:
    """The ids of the children the caller sees through the filters (the lists' own query)."""
    return children_query(context.project_id, context.access, context.filters,
                          context.today).with_only_columns(Child.id).order_by(None)


def _record_doubts(context: ReportContext) -> Doubts:
    """Child id → (record source, source key, doubtful item) of its reports kept with a
    doubtful field, for the children the caller sees (the same query as the lists). Few
    records have one, so they are read once and looked up as the children stream by."""
    chosen = _chosen_ids(context).subquery()
    rows = context.session.execute(
        select(ChildMembership.child_id, ChildRecord.source, ChildRecord.source_key,
               ChildRecord.doubtful)
        .join(ChildRecord, ChildRecord.id == ChildMembership.record_id)
        .join(chosen, chosen.c.id == ChildMembership.child_id)
        # Stored as JSON text; an empty list is written "[]" (by the model and the migration).
        .where(ChildRecord.project_id == context.project_id,
               cast(ChildRecord.doubtful, Text).not_in(("[]", "null")))
        .order_by(ChildRecord.id))
    found: Doubts = {}
    for child_id, source, source_key, doubtful in rows:
        for doubt in doubtful or ():
            if isinstance(doubt, dict):
                found.setdefault(child_id, []).append((source, source_key, doubt))
    return found


def _label(context: ReportContext, labels: dict[str, tuple[str, str]], code: str) -> str:
    pair = labels.get(code)
    return say(context, *pair) if pair else code


def _doubt_item(context: ReportContext, item: Item, source: str, source_key: str,
                doubt: dict[str, Any]) -> Item:
    field_code, reason = str(doubt.get("field", "")), str(doubt.get("reason", ""))
    kind = (say(context, "Danh sách", "List") if source == "import"
            else say(context, "Điện thoại", "Phone"))
    return {**item, "field": _label(context, _DOUBTFUL_FIELDS, field_code),
            "fieldCode": field_code, "value": str(doubt.get("value", "")),
            "reason": _label(context, _DOUBT_REASONS, reason), "reasonCode": reason,
            "report": f"{kind}: {source_key}"}


def _doubt_counts(context: ReportContext, problem: Problem) -> list[Item]:
    """How many doubtful fields of each kind, the most frequent first."""
    counts: dict[tuple[str, str], int] = {}
    for item in problem.items:
        key = (item["fieldCode"], item["reasonCode"])
        counts[key] = counts.get(key, 0) + 1
    return [{"field": _label(context, _DOUBTFUL_FIELDS, field_code), "fieldCode": field_code,
             "reason": _label(context, _DOUBT_REASONS, reason), "reasonCode": reason,
             "count": count}
            for (field_code, reason), count in sorted(counts.items(),
                                                      key=lambda kv: (-kv[1], kv[0]))]


def _still_open(context: ReportContext, row: ChildRow, age: int) -> list[str]:
    return [e.code for e in open_episodes(context, row)
            if not (e.code == AGEOUT and age < AGEOUT_UNTIL)]


def _child_problems(context: ReportContext) -> list[Problem]:
    missing = Problem("missingPersonalId", "Thiếu số định danh", "No personal ID",
                      (*CHILD_COLUMNS, DOB))
    doubtful = Problem("doubtfulPersonalId", "Số định danh nghi sai", "Doubtful personal ID",
                       (*CHILD_COLUMNS, DOB,
                        Column("personalId", "Số định danh", "Personal ID", 16),
                        Column("problems", "Vấn đề", "Problems", 40)))
    estimated = Problem("estimatedDob", "Ngày sinh ước tính", "Estimated date of birth",
                        (*CHILD_COLUMNS, DOB))
    adults = Problem("past16", "Đủ 16 tuổi vẫn còn nhóm mở", "16 or over, categories open",
                     (*CHILD_COLUMNS, DOB,
                      Column("categories", "Nhóm còn mở", "Open categories", 44)))
    elsewhere = Problem("personalIdInOtherCommune", "Số định danh có ở xã khác",
                        "ID also in another commune",
                        (*CHILD_COLUMNS, DOB,
                         Column("personalId", "Số định danh", "Personal ID", 16),
                         Column("communes", "Cũng có ở xã", "Also registered in", 36)))
    kept = Problem("doubtfulFields", "Trường nghi sai (đã giữ)", "Doubtful fields (kept)",
                   (*CHILD_COLUMNS, Column("field", "Trường", "Field", 18),
                    Column("value", "Giá trị đã ghi", "Value given", 18),
                    Column("reason", "Vì sao nghi sai", "Why doubtful", 30),
                    Column("report", "Báo cáo", "Report", 30)))
    doubts = _record_doubts(context)
    other_communes = ids_in_other_communes(context.session, context.project_id,
                                           _chosen_ids(context))
    for row in iter_child_rows(context.session, context.project_id, context.access,
                               context.filters, context.today):
        item = {**child_item(context, row), "dob": row.dob}
        if not row.personal_id.strip():
            missing.items.append(item)
        elif problems := _id_problems(context, row):
            doubtful.items.append({**item, "personalId": row.personal_id,
                                   "problems": problems})
        if communes := other_communes.get(row.id):
            elsewhere.items.append({**item, "personalId": row.personal_id,
                                    "communes": ", ".join(communes)})
        if row.dob_precision == "estimated":
            estimated.items.append(item)
        kept.items += [_doubt_item(context, child_item(context, row), *doubt)
                       for doubt in doubts.get(row.id, ())]
        age = row.age_on(context.today)
        if age is not None and age >= ADULT_AGE and (codes := _still_open(context, row, age)):
            adults.items.append({**item, "categories": category_labels(context, codes),
                                 "categoryCodes": codes})
    return [missing, doubtful, elsewhere, estimated, kept, adults]


def _duplicates(context: ReportContext) -> Problem:
    problem = Problem("openDuplicates", "Nghi trùng chưa xem xét", "Possible duplicates, open",
                      (Column("candidateId", "Số dòng chờ", "Queue row", 10),
                       Column("score", "Điểm giống", "Score", 8),
                       Column("reasons", "Vì sao", "Why", 30),
                       Column("code", "Mã trẻ (báo cáo mới)", "Child code (new report)", 14),
                       Column("name", "Họ tên trong báo cáo", "Name in the report", 26),
                       Column("village", "Thôn", "Village", 10),
                       Column("otherCode", "Mã trẻ có thể trùng", "Possibly the same as", 14),
                       Column("otherName", "Họ tên", "Name", 26),
                       Column("otherVillage", "Thôn", "Village", 10)))
    held, proposed = aliased(Child), aliased(Child)
    rows = context.session.execute(
        select(MatchCandidate.id, MatchCandidate.score, MatchCandidate.reasons,
               ChildRecord.full_name, ChildRecord.village_code, held.number,
               proposed.number.label("other_number"), proposed.full_name.label("other_name"),
               proposed.village_code.label("other_village"))
        .join(ChildRecord, ChildRecord.id == MatchCandidate.record_id)
        .join(proposed, proposed.id == MatchCandidate.child_id)
        .outerjoin(ChildMembership, ChildMembership.record_id == ChildRecord.id)
        .outerjoin(held, held.id == ChildMembership.child_id)
        .where(ChildRecord.project_id == context.project_id,
               MatchCandidate.status == CandidateStatus.OPEN.value,
               context.access.child_clause(proposed.village_code),
               context.access.read.clause(ChildRecord.village_code))
        .order_by(MatchCandidate.id))
    for row in rows:
        problem.items.append({
            "candidateId": row.id, "score": round(row.score, 2), "reasons": row.reasons or [],
            "code": format_code(row.number) if row.number is not None else "",
            "name": row.full_name, "village": row.village_code,
            "otherCode": format_code(row.other_number), "otherName": row.other_name,
            "otherVillage": row.other_village})
    return problem


def _error_text(context: ReportContext, error: str | None) -> str:
    """The sync error; only its kind (`IntegrityError`) in a redacted report."""
    text = error or ""
    return text.split(":", 1)[0] if context.redacted else text


def _unused_submissions(context: ReportContext) -> Problem:
    problem = Problem("syncFailed", "Phiếu không đồng bộ được", "Submissions not synced",
                      (Column("form", "Biểu mẫu", "Form", 22),
                       Column("instanceId", "Mã phiếu", "Instance ID", 44),
                       Column("village", "Thôn", "Village", 10),
                       Column("receivedAt", "Nhận lúc", "Received at", 18),
                       Column("state", "Tình trạng", "State", 14),
                       Column("error", "Lý do", "Reason", 60)))
    rows = context.session.execute(
        select(Form.xml_form_id, Submission.instance_id, Submission.village_code,
               SubmissionDef.created_at, SubmissionDef.sync_state, SubmissionDef.sync_error)
        .join(Submission, Submission.id == SubmissionDef.submission_id)
        .join(Form, Form.id == SubmissionDef.form_id)
        .where(Form.project_id == context.project_id, SubmissionDef.current.is_(True),
               Submission.deleted_at.is_(None),
               SubmissionDef.sync_state.in_(UNUSED_STATES),
               context.access.read.clause(Submission.village_code))
        .order_by(SubmissionDef.created_at, SubmissionDef.id))
    for row in rows:
        state = _STATES.get(row.sync_state)
        problem.items.append({
            "form": row.xml_form_id,
            "instanceId": Link(submission_url(context, row.xml_form_id, row.instance_id),
                               row.instance_id),
            "village": row.village_code or "", "receivedAt": vietnam_time(row.created_at),
            "state": say(context, *state) if state else row.sync_state,
            "stateCode": row.sync_state, "error": _error_text(context, row.sync_error)})
    return problem


def _refused_imports(context: ReportContext) -> Problem:
    problem = Problem("importRefused", "Nhập danh sách: dòng bị từ chối",
                      "Imports: rows refused",
                      (Column("importedAt", "Nhập lúc", "Imported at", 18),
                       Column("who", "Người nhập", "Imported by", 24),
                       Column("source", "Danh sách", "List", 24),
                       Column("refused", "Số dòng bị từ chối", "Rows refused", 12),
                       Column("via", "Qua", "Via", 8)))
    if context.access.read.is_limited:
        return problem
    rows = context.session.execute(
        select(Audit.logged_at, Audit.details, Actor.display_name)
        .outerjoin(Actor, Actor.id == Audit.actor_id)
        .where(Audit.action == "registry.import",
               Audit.actee == f"project:{context.project_id}",
               Audit.logged_at >= context.period.start_utc,
               Audit.logged_at < context.period.end_utc)
        .order_by(Audit.logged_at, Audit.id))
    for row in rows:
        details: dict[str, Any] = row.details or {}
        refused = int((details.get("counts") or {}).get("refused") or 0)
        if refused:
            problem.items.append({
                "importedAt": vietnam_time(row.logged_at),
                "who": row.display_name or details.get("systemUser") or "",
                "source": details.get("source", ""), "refused": refused,
                "via": details.get("via", "api")})
    return problem


SECTIONS: tuple[Callable[[ReportContext], Problem], ...] = (
    _duplicates, _unused_submissions, _refused_imports)


def _summary(context: ReportContext, problems: list[Problem],
             doubt_counts: list[Item]) -> Sheet:
    """Each problem's count, then the doubtful fields' counts by field and reason."""
    kept = say(context, "Trường nghi sai (đã giữ)", "Doubtful fields (kept)")
    return Sheet(say(context, "Tổng hợp", "Summary"),
                 [say(context, "Vấn đề", "Problem"), say(context, "Số lượng", "Count")],
                 [[say(context, p.vi, p.en), len(p.items)] for p in problems]
                 + [[f"{kept}: {c['field']}, {c['reason']}", c["count"]] for c in doubt_counts],
                 widths=(60, 10))


@report(NAME)
def build(context: ReportContext) -> ReportResult:
    problems = _child_problems(context) + [section(context) for section in SECTIONS]
    doubt_counts = _doubt_counts(context, next(p for p in problems
                                               if p.key == "doubtfulFields"))
    sheets = [_summary(context, problems, doubt_counts)]
    sheets += [table_sheet(context, say(context, p.vi, p.en), p.columns, p.items)
               for p in problems]
    document = {"counts": {p.key: len(p.items) for p in problems},
                "doubtfulFieldCounts": doubt_counts,
                "problems": [{"key": p.key, "label": say(context, p.vi, p.en),
                              "items": p.items} for p in problems]}
    refused = say(context, "Không được lưu lại: chỉ có số dòng bị từ chối của mỗi lần nhập "
                  "(nhật ký)", "Not kept by the importer: only each import's count of refused "
                  "rows (audit log)")
    about: list[tuple[str, Cell]] = [
        (say(context, "Dòng bị từ chối khi nhập", "Rows refused at import"), refused)]
    return ReportResult(NAME, document, sheets, rows=sum(len(p.items) for p in problems),
                        about=about)
