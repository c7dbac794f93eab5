"""The master registry of a commune's children (docs/domain.md §4, docs/matching.md §4–5).

Source rows (`ChildRecord`) are immutable: one per child reported in a household submission or an
imported list row. A registry `Child` is a cluster of records held together by `LinkEdge`s; its
id is stable (a merged child keeps a redirect in `merged_into`). `MatchKey` holds the blocking
keys so matching looks up candidates through an index instead of comparing all pairs, and
`MatchCandidate` is the review queue a person works through.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from server.db import Base, utcnow


class RecordSource(enum.StrEnum):
    SUBMISSION = "submission"
    IMPORT = "import"


class ChildStatus(enum.StrEnum):
    ACTIVE = "active"
    MERGED = "merged"  # a redirect: follow `merged_into`


class EdgeKind(enum.StrEnum):
    LINK = "link"
    CANNOT_LINK = "cannot_link"


class EdgeSource(enum.StrEnum):
    AUTO = "auto"
    REVIEWER = "reviewer"
    IMPORT = "import"


class CandidateStatus(enum.StrEnum):
    OPEN = "open"
    DECIDED = "decided"


class ReviewDecision(enum.StrEnum):
    """A reviewer's answer on a queue row (docs/matching.md §4); `undo` reopens the row."""

    SAME = "same"
    NOT_SAME = "not_same"
    UNSURE = "unsure"


class VitalStatus(enum.StrEnum):
    """Where the child is now, as the latest follow-up visit says (the entity `status`)."""

    ACTIVE = "active"
    MOVED_AWAY = "moved_away"
    DIED = "died"


class UpdateConflict(enum.StrEnum):
    """Central's conflict kinds for an update made on an out-of-date `baseVersion`."""

    SOFT = "soft"  # other properties changed since the base version
    HARD = "hard"  # a property this update sets was also changed since the base version


class FlagStatus(enum.StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    CLOSED = "closed"


class Village(Base):
    """A village (thôn/bản) of the project's commune; `name_folded` finds it without marks."""

    __tablename__ = "villages"
    __table_args__ = (UniqueConstraint("project_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    code: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(255))
    name_folded: Mapped[str] = mapped_column(String(255))


class ChildRecord(Base):
    """One report of one child, never updated: the registry's view is recomputed from these."""

    __tablename__ = "child_records"
    __table_args__ = (UniqueConstraint("project_id", "source_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    source: Mapped[str] = mapped_column(String(16))
    submission_def_id: Mapped[int | None] = mapped_column(
        ForeignKey("submission_defs.id"), index=True)
    # "<instanceID>#<repeat index>" for a submission, "<file>#<record_id>" for an import row.
    source_key: Mapped[str] = mapped_column(String(512))
    # Rows sharing it come from one household visit (never one child between them).
    household_key: Mapped[str] = mapped_column(String(255))
    full_name: Mapped[str] = mapped_column(String(255))
    sex: Mapped[str] = mapped_column(String(1), default="U")
    dob: Mapped[str | None] = mapped_column(String(10))  # ISO, partial: 2015-03-04, 2015-03, 2015
    dob_precision: Mapped[str | None] = mapped_column(String(8))
    dob_estimated: Mapped[bool] = mapped_column(default=False)
    village_code: Mapped[str] = mapped_column(String(64), default="")
    commune_code: Mapped[str] = mapped_column(String(16), default="")
    household_id: Mapped[str] = mapped_column(String(64), default="")
    household_head: Mapped[str] = mapped_column(String(255), default="")
    mother_name: Mapped[str] = mapped_column(String(255), default="")
    father_name: Mapped[str] = mapped_column(String(255), default="")
    guardian_name: Mapped[str] = mapped_column(String(255), default="")
    personal_id: Mapped[str] = mapped_column(String(32), default="")
    # The child's home name (tên thường gọi ở nhà: Bắp, Sóc, Tôm…) as reported, beside the
    # full name; the matcher compares it with the other record's given and home names
    # (docs/matching.md §2.1).
    home_name: Mapped[str] = mapped_column(String(255), default="")
    # Fields of this report kept but not trusted (`personal_id`, `dob`, `sex`, …): a row is
    # never refused for one doubtful value (docs/registry.md, "Doubtful fields"); a doubtful
    # field is no identity evidence for matching and is listed in the data-quality report.
    # Items: {"field": name, "value": what was given, "reason": English code}.
    doubtful: Mapped[list[Any]] = mapped_column(JSON, default=list)
    raw: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # The special-circumstance categories this report's answers point to, as derived when it
    # was stored (`sync.categories.DerivedCategory` as dicts), so a child's provisional
    # categories can be recomputed from its records after an unmerge.
    derived_categories: Mapped[list[Any]] = mapped_column(JSON, default=list)
    # When the child was reported: the phone's submission reaching the server, or an imported
    # row's `submitted_at`. The current view prefers the most recently *reported* values, so an
    # old Excel list imported after the phones' visits does not overwrite them. NULL (an
    # undated list row) counts as older than any dated report.
    reported_at: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class MatchKey(Base):
    """A blocking key of a record (docs/matching.md §3.1): candidates come from this index only."""

    __tablename__ = "match_keys"
    __table_args__ = (Index("ix_match_keys_type_value", "key_type", "key_value"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key_type: Mapped[str] = mapped_column(String(16))
    key_value: Mapped[str] = mapped_column(String(512))
    record_id: Mapped[int] = mapped_column(ForeignKey("child_records.id"), index=True)


class Child(Base):
    """A registry child: a stable id (also the entity `name` on the phones).

    The columns after `version` are the child's *current view* (golden record): never typed in,
    always recomputed from the child's records and follow-up updates (`server.registry.view`),
    and stored only so lists can filter and sort in SQL.
    """

    __tablename__ = "children"
    __table_args__ = (Index("ix_children_project_village", "project_id", "village_code"),
                      # The children list and its exports read children by name, in pages.
                      Index("ix_children_project_name", "project_id", "name_folded", "id"),
                      UniqueConstraint("project_id", "number"))

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    # The child's number in its commune, shown with a check digit as the code people read
    # aloud and write on paper (`server.registry.child_code`, docs/reports.md §1).
    number: Mapped[int] = mapped_column()
    status: Mapped[str] = mapped_column(String(16), default=ChildStatus.ACTIVE.value)
    merged_into: Mapped[str | None] = mapped_column(ForeignKey("children.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    # The entity list's `__version`: bumped whenever the child's current view changes.
    version: Mapped[int] = mapped_column(default=1)

    full_name: Mapped[str] = mapped_column(String(255), default="")
    # The full name then the home name, without marks, lower case: the name search and the
    # list's order read it (server/registry/view.py writes it).
    name_folded: Mapped[str] = mapped_column(String(255), default="")
    sex: Mapped[str] = mapped_column(String(1), default="U")
    dob: Mapped[str | None] = mapped_column(String(10))
    dob_precision: Mapped[str | None] = mapped_column(String(16))
    village_code: Mapped[str] = mapped_column(String(64), default="")
    household_head: Mapped[str] = mapped_column(String(255), default="")
    mother_name: Mapped[str] = mapped_column(String(255), default="")
    father_name: Mapped[str] = mapped_column(String(255), default="")
    guardian_name: Mapped[str] = mapped_column(String(255), default="")
    personal_id: Mapped[str] = mapped_column(String(32), default="")
    home_name: Mapped[str] = mapped_column(String(255), default="")
    vital_status: Mapped[str] = mapped_column(String(16), default=VitalStatus.ACTIVE.value)
    school_status: Mapped[str] = mapped_column(String(32), default="")
    support: Mapped[str] = mapped_column(String(255), default="")  # space-separated codes
    last_visit: Mapped[str | None] = mapped_column(String(10))
    death_date: Mapped[str | None] = mapped_column(String(10))
    moved_date: Mapped[str | None] = mapped_column(String(10))
    moved_to: Mapped[str] = mapped_column(String(255), default="")
    # Who cares for the child now (the screening's `carer_type` codes) and whether an
    # alternative-care arrangement is registered with the commune (yes / no / dont_know).
    care_arrangement: Mapped[str] = mapped_column(String(32), default="")
    care_registered: Mapped[str] = mapped_column(String(16), default="")
    # How many reports (records) the child is made of, and when it was first reported: the
    # exports' "source reports" column and their `reportedFrom`/`reportedTo` filters.
    report_count: Mapped[int] = mapped_column(default=0)
    first_reported_at: Mapped[datetime | None] = mapped_column(default=None, index=True)


class ChildMembership(Base):
    """Which child a record belongs to now (derived from the edges; one child per record)."""

    __tablename__ = "child_memberships"

    id: Mapped[int] = mapped_column(primary_key=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("child_records.id"), unique=True)
    child_id: Mapped[str] = mapped_column(ForeignKey("children.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ChildUpdate(Base):
    """A follow-up visit's changes to one child (an entity update from the phones).

    Kept as a source row like a `ChildRecord`: the current view replays updates in order.
    `base_version` is the `__version` the phone held; an update made on an older version is
    still applied (Central's rule) but marked with its conflict kind for a person to check.
    """

    __tablename__ = "child_updates"

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    child_id: Mapped[str] = mapped_column(ForeignKey("children.id"), index=True)
    submission_def_id: Mapped[int | None] = mapped_column(
        ForeignKey("submission_defs.id"), index=True)
    base_version: Mapped[int | None] = mapped_column()
    version: Mapped[int] = mapped_column()  # the child's version this update produced
    properties: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    conflict: Mapped[str | None] = mapped_column(String(8))
    conflict_resolved_at: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ChildCategoryEpisode(Base):
    """One episode of one special-circumstance category on one child (`sync.categories`).

    `history` holds the episode's `HistoryEntry`s as dicts; confidential entries stay in it
    and are filtered by the API for roles that may not see them.
    """

    __tablename__ = "child_categories"

    id: Mapped[int] = mapped_column(primary_key=True)
    child_id: Mapped[str] = mapped_column(ForeignKey("children.id"), index=True)
    code: Mapped[str] = mapped_column(String(32), index=True)
    subcode: Mapped[str | None] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))
    urgent_signal: Mapped[bool] = mapped_column(default=False)
    confidential: Mapped[bool] = mapped_column(default=False)
    opened_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    history: Mapped[list[Any]] = mapped_column(JSON, default=list)
    # Read from `history` when it is stored, so reports count by period in SQL
    # (docs/reports.md): when the episode ended, when its intervention plan was approved.
    ended_at: Mapped[datetime | None] = mapped_column(default=None)
    plan_approved_at: Mapped[datetime | None] = mapped_column(default=None)


class Flag(Base):
    """Something the commune must act on: a new child in special circumstances, an urgent
    case with its Decree 56 Art. 26 deadline, or a confidential referral."""

    __tablename__ = "flags"
    __table_args__ = (Index("ix_flags_project_status", "project_id", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    child_id: Mapped[str] = mapped_column(ForeignKey("children.id"), index=True)
    code: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(32))
    deadline: Mapped[datetime | None] = mapped_column(default=None)
    confidential: Mapped[bool] = mapped_column(default=False)
    status: Mapped[str] = mapped_column(String(16), default=FlagStatus.OPEN.value)
    # The record (report) whose answers raised it, when one did.
    record_id: Mapped[int | None] = mapped_column(ForeignKey("child_records.id"))
    raised_at: Mapped[datetime] = mapped_column(default=utcnow)
    acknowledged_by: Mapped[int | None] = mapped_column(ForeignKey("actors.id"))
    acknowledged_at: Mapped[datetime | None] = mapped_column(default=None)
    closed_by: Mapped[int | None] = mapped_column(ForeignKey("actors.id"))
    closed_at: Mapped[datetime | None] = mapped_column(default=None)
    close_reason: Mapped[str | None] = mapped_column(String(1000))
    # Why it was raised, when the code and kind alone do not say (a follow-up not applied).
    note: Mapped[str | None] = mapped_column(Text, default=None)
    # The submission version that raised it, when it came from one without a record.
    submission_def_id: Mapped[int | None] = mapped_column(ForeignKey("submission_defs.id"))


class LinkEdge(Base):
    """A decision between two records: same child (link) or never the same (cannot_link).

    Edges are revoked, never deleted, so every merge can be explained and undone.
    """

    __tablename__ = "link_edges"

    id: Mapped[int] = mapped_column(primary_key=True)
    record_a: Mapped[int] = mapped_column(ForeignKey("child_records.id"), index=True)
    record_b: Mapped[int] = mapped_column(ForeignKey("child_records.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(16))
    score: Mapped[float | None] = mapped_column()
    model_version: Mapped[str | None] = mapped_column(String(64))
    explanation: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("actors.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)
    revoked_by: Mapped[int | None] = mapped_column(ForeignKey("actors.id"))


class MatchCandidate(Base):
    """The review queue: a record that may be an existing child, waiting for a person."""

    __tablename__ = "match_candidates"
    __table_args__ = (Index("ix_match_candidates_status", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("child_records.id"), index=True)
    child_id: Mapped[str] = mapped_column(ForeignKey("children.id"), index=True)
    score: Mapped[float] = mapped_column()
    reasons: Mapped[list[str]] = mapped_column(JSON, default=list)
    explanation: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default=CandidateStatus.OPEN.value)
    decision: Mapped[str | None] = mapped_column(String(16))
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("actors.id"))
    decided_at: Mapped[datetime | None] = mapped_column(default=None)
    # The edge a "same" or "not the same" decision wrote (revoked again by an undo).
    edge_id: Mapped[int | None] = mapped_column(ForeignKey("link_edges.id"))


class ChildFieldChoice(Base):
    """A reviewer's choice of which value of a field is right when a child's records disagree
    (`server.registry.field_choices`, docs/registry.md §2).

    The value is one that a record of the child holds; the current view takes it instead of
    its default rule. Withdrawn, never deleted: the view falls back to its default, and the
    row stays to say who chose what, when and why.
    """

    __tablename__ = "child_field_choices"
    __table_args__ = (Index("ix_child_field_choices_child_field", "child_id", "field"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    child_id: Mapped[str] = mapped_column(ForeignKey("children.id"))
    field: Mapped[str] = mapped_column(String(32))  # a `Child` view column
    value: Mapped[str] = mapped_column(String(255))
    reason: Mapped[str] = mapped_column(String(1000))
    chosen_by: Mapped[int | None] = mapped_column(ForeignKey("actors.id"))
    chosen_at: Mapped[datetime] = mapped_column(default=utcnow)
    withdrawn_at: Mapped[datetime | None] = mapped_column(default=None)
    withdrawn_by: Mapped[int | None] = mapped_column(ForeignKey("actors.id"))
