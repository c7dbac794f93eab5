"""The audit log as a file (`diemtua audit export`): CSV for a person, JSON Lines for a machine.

The format follows the file's extension: `.csv`, or `.jsonl` / `.ndjson`. Rows come oldest
first, like a ledger. CSV cells go through `exports.cells.safe_cell`: `details` and actor names
are typed by people and must not run as formulas when the file is opened in a spreadsheet.
JSON Lines rows are Central's audit JSON plus the row's `id` and the actor's display name.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from pathlib import Path
from typing import IO, Any

from exports.cells import safe_row
from exports.records import iso_utc
from server.models import Audit

CSV_COLUMNS = ("id", "loggedAt", "actorId", "actor", "action", "acteeId", "details")
FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl"}


class UnknownFormat(ValueError):
    """An output file whose extension names no format we write."""


def format_for(path: Path) -> str:
    try:
        return FORMATS[path.suffix.lower()]
    except KeyError:
        raise UnknownFormat(path.suffix or "(none)") from None


def _details(details: dict[str, Any] | None) -> str:
    return "" if details is None else json.dumps(details, ensure_ascii=False, sort_keys=True)


def _record(row: Audit, actor: str | None) -> dict[str, Any]:
    return {"id": row.id, "actorId": row.actor_id, "actor": actor, "action": row.action,
            "acteeId": row.actee, "details": row.details, "loggedAt": iso_utc(row.logged_at)}


def write_audits(handle: IO[str], rows: Iterable[Audit], actors: dict[int, str],
                 fmt: str) -> int:
    """Write `rows` to an open text file; the number written. `actors`: id → display name."""
    count = 0
    if fmt == "csv":
        writer = csv.writer(handle)
        writer.writerow(CSV_COLUMNS)
        for row in rows:
            actor = actors.get(row.actor_id) if row.actor_id is not None else None
            writer.writerow(safe_row([
                str(row.id), iso_utc(row.logged_at) or "",
                "" if row.actor_id is None else str(row.actor_id), actor or "", row.action,
                row.actee or "", _details(row.details)]))
            count += 1
        return count
    for row in rows:
        actor = actors.get(row.actor_id) if row.actor_id is not None else None
        handle.write(json.dumps(_record(row, actor), ensure_ascii=False) + "\n")
        count += 1
    return count
