"""How values look on the pages: Vietnamese date order, Vietnam time, time left to a deadline,
labels of catalogue codes in the page's language."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from server.db import utcnow
from server.registry.access import category_of
from server.registry.child_code import format_code
from server.web.i18n import has, language, t

# Timestamps are stored as naive UTC; people read Vietnam time (no daylight saving).
VIETNAM = timedelta(hours=7)


def partial_date(value: str | None) -> str:
    """2015-03-04 → 04/03/2015, 2015-03 → 03/2015, 2015 → 2015 (precision kept visible)."""
    if not value:
        return "—"
    parts = value.split("-")
    return "/".join(reversed(parts))


def local_time(value: datetime | None) -> str:
    if value is None:
        return "—"
    return (value + VIETNAM).strftime("%d/%m/%Y %H:%M")


def local_day(value: datetime | None) -> str:
    """The Vietnamese calendar day of a stored (naive UTC) moment: 20/11/2026."""
    if value is None:
        return "—"
    return (value + VIETNAM).strftime("%d/%m/%Y")


def local_iso(value: str | None) -> str:
    """An API timestamp (`2026-11-29T03:04:05.000Z`, or a history entry's ISO time)."""
    if not value:
        return "—"
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return value
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return local_time(moment)


def sex(code: str | None) -> str:
    return t(f"sex.{code}") if code in ("M", "F") else t("sex.U")


def category_label(code: str) -> str:
    category = category_of(code)
    if category is None:
        return code
    return category.label_vi if language() == "vi" else category.label_en


def coded(prefix: str, value: str | None) -> str:
    """A translated label for an enum value, or the value itself when none is known."""
    if not value:
        return "—"
    key = f"{prefix}.{value}"
    return t(key) if has(key) else value


def time_left(deadline: datetime | None, now: datetime | None = None) -> tuple[str, bool]:
    """("còn 3 giờ 20 phút", False), or ("QUÁ HẠN …", True) once the deadline has passed."""
    if deadline is None:
        return "", False
    left = deadline - (now or utcnow())
    overdue = left.total_seconds() < 0
    minutes = int(abs(left.total_seconds()) // 60)
    text = t("flags.overdue" if overdue else "flags.time_left",
             hours=minutes // 60, minutes=minutes % 60)
    return text, overdue


FILTERS: dict[str, Callable[..., str]] = {
    "partial_date": partial_date, "local_time": local_time, "local_iso": local_iso, "sex": sex,
    "category_label": category_label, "local_day": local_day, "child_code": format_code,
}
