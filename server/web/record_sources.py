"""Where a record of a child came from, as people say it: "Phiếu hộ gia đình 20/11/2026, Thôn
Đông", with a link to the visit's page — never an instance id (`uuid:…#1`) nor an internal
record number (docs/pages.md, "The child's page").

A phone's record links to the submission's page, `/ui/p/<commune>/submissions/<form>/<instance>`
(the submissions pages show the visit as the caller may read it); an imported list's row names
the list and has no page of its own.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import quote

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.models import ChildRecord, Form, Submission, SubmissionDef
from server.models.registry import RecordSource
from server.registry.view import SOURCE_RANK, source_rank
from server.web.format import local_day
from server.web.i18n import t


@dataclass(frozen=True)
class Source:
    """One record's source in words, and the page showing it (None for a list row)."""

    text: str
    url: str | None
    official: bool  # a list the commune's office keeps (`server.registry.view.SOURCE_RANK`)


def submission_url(project_id: int, xml_form_id: str, instance_id: str) -> str:
    return (f"/ui/p/{project_id}/submissions/{quote(xml_form_id, safe='')}/"
            f"{quote(instance_id, safe=':')}")


def record_sources(session: Session, project_id: int, records: Iterable[ChildRecord],
                   village_names: Mapping[str, str]) -> dict[int, Source]:
    """Each record's `Source`, by record id (one query for the submissions among them)."""
    records = list(records)
    visits = {record_id: (form_id, instance_id) for record_id, form_id, instance_id in
              session.execute(select(ChildRecord.id, Form.xml_form_id, Submission.instance_id)
                              .join(SubmissionDef,
                                    SubmissionDef.id == ChildRecord.submission_def_id)
                              .join(Submission, Submission.id == SubmissionDef.submission_id)
                              .join(Form, Form.id == Submission.form_id)
                              .where(ChildRecord.id.in_([r.id for r in records])))
              } if records else {}
    found = {}
    for record in records:
        day = local_day(record.reported_at or record.created_at)
        village = village_names.get(record.village_code, record.village_code) or "—"
        official = source_rank(record) > SOURCE_RANK[RecordSource.SUBMISSION.value]
        if record.source == RecordSource.IMPORT.value:
            name = str((record.raw or {}).get("source") or record.source_key.rsplit("#", 1)[0])
            found[record.id] = Source(t("source.list_row", name=name, date=day,
                                        village=village), None, official)
            continue
        visit = visits.get(record.id)
        found[record.id] = Source(
            t("source.household_visit", date=day, village=village),
            submission_url(project_id, *visit) if visit else None, official)
    return found
