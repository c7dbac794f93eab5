"""Children lists as communes keep them (CSV, XLSX), and a registry already fed by phones."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import Any

from openpyxl import Workbook
from sqlalchemy import func, select

from server.demo import DEMO_PROJECT
from server.models import ChildMembership, ChildRecord, Project
from server.registry.importer import ImportReport, import_file
from server.registry.sync import sync_pending
from server.services import Services
from tests.registry.helpers import load_households, strip_marks

HEADER = ["record_id", "source", "submission_id", "collaborator_id", "submitted_at",
          "commune_code", "commune", "village", "household_head", "full_name", "sex", "dob",
          "mother_name", "father_name", "guardian_name", "personal_id", "special_circumstances"]


def phone_registry(services: Services, households: int = 6) -> int:
    """The demo commune with `households` phone visits synced into the registry; → project id."""
    load_households(services, households)
    summary = sync_pending(services.database.sessions)
    assert summary.failed == 0 and summary.records > 0
    with services.database.unit_of_work() as db:
        return db.scalars(select(Project.id).where(Project.name == DEMO_PROJECT)).one()


def csv_bytes(rows: Sequence[dict[str, Any]], header: Sequence[str] = HEADER, *,
              bom: bool = False, delimiter: str = ",") -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter)
    writer.writerow(header)
    for row in rows:
        writer.writerow([row.get(name, "") for name in header])
    return ("\ufeff" if bom else "").encode() + out.getvalue().encode("utf-8")


def xlsx_bytes(rows: Sequence[dict[str, Any]], header: Sequence[str] = HEADER) -> bytes:
    """A workbook as Excel saves it: dates stay dates, numbers stay numbers."""
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = "Danh sách trẻ em"
    sheet.append(list(header))
    for row in rows:
        sheet.append([row.get(name) for name in header])
    data = io.BytesIO()
    workbook.save(data)
    return data.getvalue()


def run_import(services: Services, project_id: int, data: bytes, *,
               source: str = "so-theo-doi-2025", **options: Any) -> ImportReport:
    with services.database.unit_of_work() as db:
        return import_file(db, project_id, data, source=source, store=services.store,
                           **options)


def phone_record(services: Services, *, with_parents: bool = True) -> ChildRecord:
    """A child a phone reported: day-precise date of birth (and both parents if asked)."""
    with services.database.unit_of_work() as db:
        for record in db.scalars(select(ChildRecord).where(ChildRecord.source == "submission")
                                 .order_by(ChildRecord.id)):
            if record.dob_precision == "day" and (
                    not with_parents or (record.mother_name and record.father_name)):
                return record
    raise AssertionError("no phone record with a full date of birth")


def child_of_record(services: Services, source_key: str) -> str:
    with services.database.unit_of_work() as db:
        return db.scalars(select(ChildMembership.child_id)
                          .join(ChildRecord, ChildRecord.id == ChildMembership.record_id)
                          .where(ChildRecord.source_key == source_key)).one()


def count(services: Services, model: type) -> int:
    with services.database.unit_of_work() as db:
        return db.scalar(select(func.count()).select_from(model)) or 0


def typed_without_marks(record: ChildRecord, record_id: str, village: str) -> dict[str, Any]:
    """The phone's child as a commune's Excel list writes it: no diacritics, village by name."""
    return {"record_id": record_id, "village": village, "full_name": strip_marks(record.full_name),
            "sex": {"M": "Nam", "F": "Nữ"}.get(record.sex, ""), "dob": record.dob,
            "mother_name": strip_marks(record.mother_name),
            "father_name": strip_marks(record.father_name)}
