"""Follow-up visits (`child_followup`): entity updates from the phones applied to the registry.

Not written yet: the sync marks such submissions failed with this message, and `diemtua sync
run` retries nothing until they are reset. Being written in this same session (issue 3 §4).
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from server.models import SubmissionDef

FOLLOWUP_FORMS = frozenset({"child_followup"})


def apply_followup(session: Session, version: SubmissionDef, project_id: int) -> None:
    raise NotImplementedError("follow-up updates are not applied yet")
