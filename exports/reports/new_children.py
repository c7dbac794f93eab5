"""`new-children`: the children who became "new in special circumstances" in the period, and
the urgent cases, village by village (docs/reports.md §2).

A child is *new* when its first open Article 10 category appeared while none was open: the
registry raised a `new_special_circumstance` flag then (docs/categories.md §6 rule 2,
`sync.categories.status.flags_to_raise`). An *urgent* case is a flag with a Decree 56 Art. 26
deadline, whatever its kind. The report lists every such flag raised in the period — open,
acknowledged or closed since — one row per flag, grouped by village, urgent ones first (the
soonest deadline first), then by when they were raised.

Each row links to what raised it: the submission its record came from, as the API serves it
(`/projects/{p}/forms/{xmlFormId}/submissions/{instanceId}`), or the imported list and row.
Only flags the caller sees in full are listed (`RegistryAccess.flag_view`): a masked urgent
alert names no child, and belongs on the flags page, not in a file that gets forwarded.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from exports.periods import vietnam_time
from exports.registry_rows import ChildRow, iter_child_rows
from exports.reports import ReportContext, ReportResult, report
from exports.reports.presentation import (
    CHILD_COLUMNS,
    Column,
    Item,
    category_label,
    child_item,
    flag_status,
    open_episodes,
    say,
    shows_code,
    submission_url,
    table_sheet,
)
from exports.xlsx_book import Link
from server.models import Child, ChildRecord, Flag, Form, Submission, SubmissionDef
from server.registry.access import FlagView
from server.registry.children_query import children_query
from sync.categories import FlagKind

NAME = "new-children"
_KINDS = {FlagKind.NEW_SPECIAL_CIRCUMSTANCE.value: ("Mới rơi vào HCĐB",
                                                    "Newly in special circumstances"),
          FlagKind.URGENT.value: ("Khẩn cấp", "Urgent"),
          FlagKind.REFERRAL.value: ("Chuyển tuyến bảo mật", "Confidential referral")}
COLUMNS = (Column("village", "Thôn", "Village", 18), *CHILD_COLUMNS[:4],
           Column("categories", "Nhóm hoàn cảnh đang mở", "Open categories", 40),
           Column("kind", "Loại cảnh báo", "Flag", 22),
           Column("flagCategory", "Vì nhóm", "For category", 30),
           Column("deadline", "Hạn can thiệp (12 giờ)", "Intervention deadline (12 h)", 18),
           Column("status", "Trạng thái", "Status", 14),
           Column("raisedAt", "Phát hiện lúc", "Raised at", 18),
           Column("source", "Phiếu nguồn", "Source submission", 40))


@dataclass(frozen=True)
class FlagLine:
    id: int
    child_id: str
    code: str
    kind: str
    status: str
    raised_at: datetime
    deadline: datetime | None
    record_id: int | None
    submission_def_id: int | None


def _flags(context: ReportContext) -> list[FlagLine]:
    """Flags of the period on the children the caller lists with these filters, seen in
    full, and naming no sensitive category when the report is redacted."""
    listed = children_query(context.project_id, context.access, context.filters,
                            context.today).order_by(None).with_only_columns(Child.id)
    rows = context.session.execute(
        select(Flag.id, Flag.child_id, Flag.code, Flag.kind, Flag.status, Flag.raised_at,
               Flag.deadline, Flag.record_id, Flag.submission_def_id, Flag.confidential,
               Child.village_code)
        .join(Child, Child.id == Flag.child_id)
        .where(Flag.project_id == context.project_id, Flag.child_id.in_(listed),
               Flag.raised_at >= context.period.start_utc,
               Flag.raised_at < context.period.end_utc,
               or_(Flag.kind == FlagKind.NEW_SPECIAL_CIRCUMSTANCE.value,
                   Flag.deadline.is_not(None))))
    found = []
    for row in rows:
        seen = context.access.flag_view(row.code, row.village_code,
                                        confidential=row.confidential,
                                        urgent=row.deadline is not None)
        if seen is FlagView.FULL and shows_code(context, row.code):
            found.append(FlagLine(row.id, row.child_id, row.code, row.kind, row.status,
                                  row.raised_at, row.deadline, row.record_id,
                                  row.submission_def_id))
    return found


@dataclass(frozen=True)
class _Version:
    instance_id: str  # the submission's, as in its URL
    xml_form_id: str


def _versions(session: Session, ids: set[int]) -> dict[int, _Version]:
    if not ids:
        return {}
    rows = session.execute(
        select(SubmissionDef.id, Submission.instance_id, Form.xml_form_id)
        .join(Submission, Submission.id == SubmissionDef.submission_id)
        .join(Form, Form.id == SubmissionDef.form_id)
        .where(SubmissionDef.id.in_(sorted(ids))))
    return {row.id: _Version(row.instance_id, row.xml_form_id) for row in rows}


@dataclass(frozen=True)
class _Record:
    version_id: int | None  # the submission version it came from
    raw: Mapping[str, Any]  # an import row: its list (`source`) and spreadsheet `row`


def _records(session: Session, ids: set[int]) -> dict[int, _Record]:
    if not ids:
        return {}
    rows = session.execute(select(ChildRecord.id, ChildRecord.submission_def_id,
                                  ChildRecord.raw).where(ChildRecord.id.in_(sorted(ids))))
    return {row.id: _Record(row.submission_def_id, row.raw or {}) for row in rows}


def _sources(context: ReportContext, flags: list[FlagLine]) -> dict[int, Link]:
    """What raised each flag: a link to its submission, or the imported list and row (a
    link without a URL). A flag raised by a person's decision has neither."""
    records = _records(context.session, {f.record_id for f in flags if f.record_id})
    no_record = _Record(None, {})

    def record_of(flag: FlagLine) -> _Record:
        return records.get(flag.record_id, no_record) if flag.record_id else no_record

    def version_of(flag: FlagLine) -> int | None:
        return record_of(flag).version_id or flag.submission_def_id

    versions = _versions(context.session, {v for f in flags if (v := version_of(f))})
    found: dict[int, Link] = {}
    for flag in flags:
        version, raw = versions.get(version_of(flag) or 0), record_of(flag).raw
        if version is not None:
            found[flag.id] = Link(submission_url(context, version.xml_form_id,
                                                 version.instance_id), version.instance_id)
        elif raw.get("row"):
            found[flag.id] = Link("", say(
                context, f"Danh sách nhập “{raw.get('source', '')}”, dòng {raw['row']}",
                f"imported list “{raw.get('source', '')}”, row {raw['row']}"))
    return found


def _item(context: ReportContext, flag: FlagLine, child: ChildRow, source: Link | None
          ) -> Item:
    kind = _KINDS.get(flag.kind)
    return {
        **child_item(context, child),
        "categories": [category_label(context, e.code) for e in open_episodes(context, child)],
        "categoryCodes": [e.code for e in open_episodes(context, child)],
        "flagId": flag.id, "kind": say(context, *kind) if kind else flag.kind,
        "kindCode": flag.kind, "flagCode": flag.code,
        "flagCategory": category_label(context, flag.code),
        "deadline": vietnam_time(flag.deadline), "status": flag_status(context, flag.status),
        "statusCode": flag.status, "raisedAt": vietnam_time(flag.raised_at),
        "source": source or Link("", "—"),
    }


def _order(item: Item) -> tuple[Any, ...]:
    """By village (unknown last), urgent first with the soonest deadline, then as raised."""
    deadline = item["deadline"]
    return (item["villageCode"] == "", item["villageCode"], deadline is None,
            deadline or item["raisedAt"], item["raisedAt"], item["flagId"])


def _by_village(items: list[Item]) -> list[dict[str, Any]]:
    villages: dict[str, dict[str, Any]] = {}
    for item in items:
        group = villages.setdefault(item["villageCode"], {
            "code": item["villageCode"], "name": item["village"], "flags": []})
        group["flags"].append(item)
    return list(villages.values())


@report(NAME)
def build(context: ReportContext) -> ReportResult:
    flags = _flags(context)
    wanted = {flag.child_id for flag in flags}
    # The flagged children's rows, as every report reads children (their visible categories
    # included): one pass over the commune's registry, a page at a time.
    children = {} if not wanted else {
        row.id: row for row in iter_child_rows(context.session, context.project_id,
                                                context.access, context.filters, context.today)
        if row.id in wanted}
    sources = _sources(context, flags)
    items = sorted((_item(context, flag, children[flag.child_id], sources.get(flag.id))
                    for flag in flags if flag.child_id in children), key=_order)
    document = {
        "counts": {"children": len({item["childId"] for item in items}), "flags": len(items),
                   "urgent": sum(1 for item in items if item["deadline"] is not None)},
        "villages": _by_village(items),
    }
    sheet = table_sheet(context, say(context, "Trẻ mới và khẩn cấp", "New and urgent"),
                        COLUMNS, items)
    return ReportResult(NAME, document, [sheet], rows=len(items),
                        about=[(say(context, "Quy tắc", "Rule"), say(
                            context, "Mỗi dòng là một cảnh báo phát hiện trong kỳ: trẻ mới rơi "
                            "vào hoàn cảnh đặc biệt, hoặc có hạn can thiệp 12 giờ (Nghị định "
                            "56/2017, Điều 26)", "One row per flag raised in the period: a child "
                            "newly in special circumstances, or a case with the 12-hour "
                            "intervention deadline (Decree 56/2017, Art. 26)"))])
