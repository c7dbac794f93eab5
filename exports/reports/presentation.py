"""How every report shows what it computed: labels in Vietnamese or English, the child's
columns, tables that become both JSON items and XLSX rows, and the file's about lines.

A report computes its rows once, as `Item`s (column key → value); `table_sheet` turns them into
an XLSX `Sheet` and `jsonable` into the JSON document, so the two forms can never disagree
(docs/reports.md). Labels follow `ReportContext.language` ("vi", or "en").

What a report may show of a child's categories is decided twice: `RegistryAccess` (in
`exports.registry_rows`) leaves out what the caller may not read, and a *redacted* report also
leaves out every sensitive category (docs/privacy.md §4, §8: "sensitive — hidden from list
views and redacted exports"), even one the caller reads elsewhere — the health station reads
HCDB-DD on a child's page, but its report files, which get forwarded, never name it.

Plain Python, no Flask: the API and `diemtua report` both call `envelope`, `about_lines` and
`write_xlsx`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import IO, Any
from urllib.parse import quote

from exports.periods import vietnam_time
from exports.registry_rows import ChildRow, EpisodeRow
from exports.reports import ReportContext, ReportResult
from exports.xlsx_book import Cell, Link, Sheet, write_book
from server.auth.principal import Principal
from server.registry.access import category_of, is_sensitive_code
from server.registry.children_query import VIETNAM
from xlsforms.sheet import EN, VI
from xlsforms.sources.choices import CARER_TYPE, SUPPORT

# Each report's title, for the list of reports, the about sheet and the JSON document.
TITLES: dict[str, tuple[str, str]] = {
    "new-children": ("Trẻ em mới rơi vào hoàn cảnh đặc biệt trong kỳ",
                     "Children newly in special circumstances in the period"),
    "by-category": ("Danh sách trẻ em theo nhóm hoàn cảnh",
                    "Children by special-circumstance group"),
    "indicators": ("Bảng chỉ tiêu", "Indicator sheet"),
    "national": ("Danh sách cho hệ thống thông tin quốc gia về trẻ em",
                 "List for the national child-information system"),
    "data-quality": ("Chất lượng dữ liệu", "Data quality"),
    "audit": ("Nhật ký xem và xuất hồ sơ nhạy cảm", "Views and exports of sensitive records"),
}
FORMATS = ("json", "xlsx")
LANGUAGES = ("vi", "en")

_SEX = {"M": ("Nam", "Male"), "F": ("Nữ", "Female"), "U": ("Không rõ", "Unknown")}
_EPISODE_STATUS = {"provisional": ("Tạm thời", "Provisional"),
                   "confirmed": ("Đã xác nhận", "Confirmed"),
                   "referred": ("Chờ xem xét", "Referred"), "ended": ("Đã kết thúc", "Ended")}
_FLAG_STATUS = {"open": ("Chưa xử lý", "Open"), "acknowledged": ("Đã tiếp nhận", "Acknowledged"),
                "closed": ("Đã đóng", "Closed")}
NO_VILLAGE = ("(chưa rõ thôn)", "(village unknown)")


def _choices(rows: Sequence[Mapping[str, str]]) -> dict[str, tuple[str, str]]:
    return {row["name"]: (row[f"label::{VI}"], row[f"label::{EN}"]) for row in rows}


# The forms' own labels, so a report says what the phone showed.
_CARE = _choices(CARER_TYPE)
_SUPPORT = _choices(SUPPORT)

Item = dict[str, Any]


def say(context: ReportContext, vi: str, en: str) -> str:
    return en if context.language == "en" else vi


def _pick(context: ReportContext, pair: tuple[str, str] | None, fallback: str) -> str:
    return fallback if pair is None else say(context, *pair)


def title(context: ReportContext, name: str) -> str:
    return _pick(context, TITLES.get(name), name)


# --- categories ----------------------------------------------------------------------------


def shows_code(context: ReportContext, code: str) -> bool:
    """Whether a redacted report may name this code (the caller's access already decided
    whether it may be read at all)."""
    return not (context.redacted and is_sensitive_code(code))


def category_label(context: ReportContext, code: str) -> str:
    category = category_of(code)
    if category is None:
        return code
    return say(context, category.label_vi, category.label_en)


def open_episodes(context: ReportContext, row: ChildRow) -> list[EpisodeRow]:
    """The child's open episodes this report may show, in legal order."""
    return [e for e in row.open_episodes if shows_code(context, e.code)]


def category_labels(context: ReportContext, codes: Iterable[str]) -> list[str]:
    return [category_label(context, code) for code in codes]


def episode_status(context: ReportContext, status: str) -> str:
    return _pick(context, _EPISODE_STATUS.get(status), status)


def flag_status(context: ReportContext, status: str) -> str:
    return _pick(context, _FLAG_STATUS.get(status), status)


# --- the child ------------------------------------------------------------------------------


def sex_label(context: ReportContext, sex: str) -> str:
    return _pick(context, _SEX.get(sex), sex)


def care_label(context: ReportContext, code: str) -> str:
    return _pick(context, _CARE.get(code), code) if code else ""


def support_labels(context: ReportContext, codes: Iterable[str]) -> list[str]:
    return [_pick(context, _SUPPORT.get(code), code) for code in codes]


def village_label(context: ReportContext, code: str, name: str) -> str:
    return name or code or say(context, *NO_VILLAGE)


def child_item(context: ReportContext, row: ChildRow) -> Item:
    """The columns every list of children starts with: code, name, sex, age, village."""
    return {"childId": row.id, "code": row.code, "name": row.full_name,
            "sex": sex_label(context, row.sex), "age": row.age_on(context.today),
            "village": village_label(context, row.village_code, row.village_name),
            "villageCode": row.village_code}


def submission_url(context: ReportContext, xml_form_id: str, instance_id: str) -> str:
    """A submission as the API serves it (ODK Central's URL); "" when the server's address
    is not known (the CLI without DIEMTUA_PUBLIC_URL): a link then shows its text only."""
    if not context.base_url:
        return ""
    return (f"{context.base_url}/projects/{context.project_id}/forms/{quote(xml_form_id)}"
            f"/submissions/{quote(instance_id, safe=':')}")


# --- time -----------------------------------------------------------------------------------


# --- tables: one computation, two forms -----------------------------------------------------


@dataclass(frozen=True)
class Column:
    """One column of a table: the item's key, its header in each language, its width."""

    key: str
    vi: str
    en: str
    width: float = 14


CHILD_COLUMNS = (Column("code", "Mã trẻ", "Child code", 10),
                 Column("name", "Họ và tên", "Full name", 26),
                 Column("sex", "Giới tính", "Sex", 9), Column("age", "Tuổi", "Age", 6),
                 Column("village", "Thôn", "Village", 18))


def _cell(value: Any) -> Cell:
    if isinstance(value, Link) and not value.url:
        return value.text
    if isinstance(value, list | tuple):
        return "; ".join(str(part) for part in value if part not in (None, ""))
    if isinstance(value, bool):
        return "x" if value else ""
    cell: Cell = value
    return cell


def table_sheet(context: ReportContext, sheet_title: str, columns: Sequence[Column],
                items: Iterable[Item]) -> Sheet:
    return Sheet(sheet_title, [say(context, c.vi, c.en) for c in columns],
                 ([_cell(item.get(c.key)) for c in columns] for item in items),
                 widths=[c.width for c in columns])


def jsonable(value: Any) -> Any:
    """Items as JSON: times as ISO 8601 in UTC+7, links as {url, text}."""
    if isinstance(value, datetime):
        return value.replace(tzinfo=VIETNAM).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Link):
        return {"url": value.url or None, "text": value.text}
    if isinstance(value, Mapping):
        return {key: jsonable(part) for key, part in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(part) for part in value]
    return value


# --- the whole file -------------------------------------------------------------------------


def who_label(principal: Principal, via: str) -> str:
    """Who made the report, as the about sheet names them (files get forwarded)."""
    if via == "cli":
        return "diemtua (CLI)"
    if principal.user is not None:
        name = principal.actor.display_name if principal.actor else ""
        return f"{name} <{principal.user.email}>" if name else principal.user.email
    return principal.actor.display_name if principal.actor else ""


def _filters_text(context: ReportContext) -> str:
    return ", ".join(f"{name}={value}" for name, value in context.filters.as_dict().items())


def about_lines(context: ReportContext, result: ReportResult, *, via: str = "api"
                ) -> list[tuple[str, Cell]]:
    """The first sheet: what, of which commune, for which period, by whom, when, how much."""
    scope = (say(context, "Đã lược bớt: không có nhóm hoàn cảnh nhạy cảm",
                 "Redacted: no sensitive category") if context.redacted
             else say(context, "Đầy đủ", "Full"))
    period = context.period
    days = f"{period.first.strftime('%d/%m/%Y')} – {period.last.strftime('%d/%m/%Y')}"
    return [
        (say(context, "Dự án (xã)", "Project (commune)"), context.project_name),
        (say(context, "Báo cáo", "Report"), f"{title(context, result.name)} ({result.name})"),
        (say(context, "Kỳ báo cáo", "Period"), f"{period.name}: {days}"),
        (say(context, "Người xuất", "Exported by"), who_label(context.principal, via)),
        (say(context, "Thời điểm xuất (giờ Việt Nam, UTC+7)", "Exported at (Vietnam time, UTC+7)"),
         vietnam_time(context.now)),
        (say(context, "Mức độ", "Scope"), scope),
        (say(context, "Bộ lọc", "Filters"), _filters_text(context) or say(context, "(không)",
                                                                          "(none)")),
        (say(context, "Số dòng", "Rows"), result.rows),
        *result.about,
    ]


def envelope(context: ReportContext, result: ReportResult) -> dict[str, Any]:
    """The JSON answer: what the about sheet says, then the report's own document."""
    period = context.period
    about = {
        "report": result.name, "title": title(context, result.name),
        "projectId": context.project_id, "project": context.project_name,
        "period": {"name": period.name, "first": period.first.isoformat(),
                   "last": period.last.isoformat()},
        "language": context.language, "redacted": context.redacted,
        "generatedAt": jsonable(vietnam_time(context.now)),
        "filters": context.filters.as_dict(), "rows": result.rows,
    }
    # The report's own keys come after, and never replace what says what the document is.
    return {**about, **{key: jsonable(value) for key, value in result.document.items()
                        if key not in about}}


def write_xlsx(target: str | Path | IO[bytes], context: ReportContext, result: ReportResult,
               *, via: str = "api") -> None:
    write_book(target, about_lines(context, result, via=via), result.sheets)
