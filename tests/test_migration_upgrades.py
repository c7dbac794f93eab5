"""A database filled at the first migration's schema keeps its data through every later one.

The database goes down to nothing, up to the first revision, and receives representative rows
with plain SQL (a commune, its people, a form, submissions with a photo, an audit row, a
session); each later revision is then applied one at a time, and rows of the tables a revision
introduces are added right after it. At the head every row is read back with its values, and
the columns later revisions added hold what they promise: their defaults, or the values their
backfills compute (village of a submission, hashed session token, children's numbers, report
counts, the end of an ended category). On SQLite and PostgreSQL alike (`database_url`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from alembic.script import ScriptDirectory

from server.migrations import alembic_config, current_heads, downgrade, upgrade

Row = dict[str, Any]

T0 = datetime(2026, 11, 20, 8, 30, 0)
T1 = datetime(2026, 11, 21, 9, 15, 0)
T2 = datetime(2026, 11, 22, 10, 0, 0)
T3 = datetime(2026, 11, 23, 14, 45, 0)
SESSION_TOKEN = "a-clear-session-token-of-the-first-schema"

HOUSEHOLD_XML = ('<data id="household_screening" version="2026112001"><village>T01</village>'
                 "<head_name>Lò Văn Pó</head_name><meta><instanceID>uuid:h-1</instanceID>"
                 "</meta></data>")
PHOTO_XML = ('<data id="photo_visit" version="1"><village>T02</village><photo>a.jpg</photo>'
             "<meta><instanceID>uuid:p-1</instanceID></meta></data>")

# The first schema's rows, table by table in an order their foreign keys accept.
FIRST_ROWS: list[tuple[str, Row]] = [
    ("actors", {"id": 1, "type": "user", "display_name": "Nguyễn Thị Lan", "created_at": T0,
                "updated_at": None, "deleted_at": None}),
    ("actors", {"id": 2, "type": "field_key", "display_name": "Trưởng thôn Đông",
                "created_at": T0, "updated_at": T1, "deleted_at": None}),
    ("users", {"actor_id": 1, "email": "lan@xa.vn", "password_hash": "$argon2id$x",
               "role": "admin"}),
    ("projects", {"id": 1, "name": "Xã Hòa Bình", "description": "Trẻ em xã Hòa Bình",
                  "commune_code": "00001", "archived": False, "created_at": T0,
                  "updated_at": None, "deleted_at": None}),
    ("app_users", {"actor_id": 2, "project_id": 1, "token": "k" * 64, "created_by": 1,
                   "villages": ["T01", "T02"]}),
    ("blobs", {"id": 1, "sha256": "a" * 64, "md5": "b" * 32, "size": 20_000,
               "content_type": "image/jpeg", "created_at": T1}),
    ("forms", {"id": 1, "project_id": 1, "xml_form_id": "household_screening", "state": "open",
               "current_def_id": None, "draft_def_id": None, "created_at": T0,
               "updated_at": None, "deleted_at": None}),
    ("forms", {"id": 2, "project_id": 1, "xml_form_id": "photo_visit", "state": "closing",
               "current_def_id": None, "draft_def_id": None, "created_at": T0,
               "updated_at": None, "deleted_at": None}),
    ("form_defs", {"id": 1, "form_id": 1, "version": "2026112001", "name": "Sàng lọc hộ",
                   "xml": "<h:html/>", "md5": "c" * 32, "sha256": "d" * 64,
                   "binary_paths": [], "entity_datasets": ["children"],
                   "xlsform_blob_id": None, "draft_token": None, "created_at": T0,
                   "published_at": T0}),
    ("form_defs", {"id": 2, "form_id": 2, "version": "1", "name": "Ảnh thăm hộ",
                   "xml": "<h:html/>", "md5": "e" * 32, "sha256": "f" * 64,
                   "binary_paths": ["/data/photo"], "entity_datasets": [],
                   "xlsform_blob_id": 1, "draft_token": None, "created_at": T0,
                   "published_at": T0}),
    ("form_assignments", {"id": 1, "form_id": 1, "actor_id": 2, "role": "app-user"}),
    ("project_roles", {"id": 1, "project_id": 1, "actor_id": 1, "role": "manager"}),
    ("sessions", {"token": SESSION_TOKEN, "actor_id": 1, "csrf": "s" * 64,
                  "created_at": T1, "expires_at": T3}),
    ("submissions", {"id": 1, "form_id": 1, "instance_id": "uuid:h-1", "submitter_id": 2,
                     "device_id": "collect:abc", "review_state": None, "created_at": T1,
                     "updated_at": None, "deleted_at": None}),
    ("submissions", {"id": 2, "form_id": 2, "instance_id": "uuid:p-1", "submitter_id": 2,
                     "device_id": None, "review_state": "approved", "created_at": T2,
                     "updated_at": T2, "deleted_at": None}),
    ("submission_defs", {"id": 1, "submission_id": 1, "form_id": 1, "form_def_id": 1,
                         "instance_id": "uuid:h-1", "deprecated_id": None,
                         "instance_name": "Hộ Lò Văn Pó", "xml": HOUSEHOLD_XML,
                         "xml_sha256": "1" * 64, "current": True, "submitter_id": 2,
                         "device_id": "collect:abc", "user_agent": "Collect/v2026.2",
                         "created_at": T1}),
    ("submission_defs", {"id": 2, "submission_id": 2, "form_id": 2, "form_def_id": 2,
                         "instance_id": "uuid:p-1", "deprecated_id": None,
                         "instance_name": None, "xml": PHOTO_XML, "xml_sha256": "2" * 64,
                         "current": True, "submitter_id": 2, "device_id": None,
                         "user_agent": None, "created_at": T2}),
    ("submission_attachments", {"id": 1, "submission_def_id": 2, "name": "a.jpg",
                                "blob_id": 1, "is_client_audit": False}),
    ("comments", {"id": 1, "submission_id": 1, "actor_id": 1, "body": "Đã gọi điện cho hộ",
                  "created_at": T2}),
    ("audits", {"id": 1, "actor_id": 2, "action": "submission.create", "actee": "form:1",
                "details": {"instanceId": "uuid:h-1", "formId": "household_screening"},
                "logged_at": T1}),
]

# The registry's first tables (87c11e802197): two children, one made of a record.
REGISTRY_ROWS: list[tuple[str, Row]] = [
    ("villages", {"id": 1, "project_id": 1, "code": "T01", "name": "Thôn Đông",
                  "name_folded": "thon dong"}),
    ("children", {"id": "c-older", "project_id": 1, "status": "active", "merged_into": None,
                  "created_at": T1, "updated_at": T1, "version": 1}),
    ("children", {"id": "c-newer", "project_id": 1, "status": "active", "merged_into": None,
                  "created_at": T2, "updated_at": T2, "version": 3}),
    ("child_records", {"id": 1, "project_id": 1, "source": "submission",
                       "submission_def_id": 1, "source_key": "submission:1:0",
                       "household_key": "h-1", "full_name": "Lò Thị Mai", "sex": "F",
                       "dob": "2015-03-02", "dob_precision": "day", "dob_estimated": False,
                       "village_code": "T01", "commune_code": "00001", "household_id": "h-1",
                       "household_head": "Lò Văn Pó", "mother_name": "Quàng Thị Én",
                       "father_name": "Lò Văn Pó", "guardian_name": "",
                       "personal_id": "001215000123", "raw": {"child_name": "Lò Thị Mai"},
                       "created_at": T1}),
    ("child_memberships", {"id": 1, "record_id": 1, "child_id": "c-older", "created_at": T1}),
]

ENDED_AT = datetime(2026, 11, 22, 16, 0, 0)
# Categories and flags (630f4662eb45): an ended episode, whose end a later revision backfills.
CURRENT_VIEW_ROWS: list[tuple[str, Row]] = [
    ("child_categories", {"id": 1, "child_id": "c-older", "code": "HCDB-A", "subcode": None,
                          "status": "ended", "urgent_signal": False, "confidential": True,
                          "opened_at": T1, "updated_at": ENDED_AT,
                          "history": [{"status": "open", "at": T1.isoformat()},
                                      {"status": "ended", "at": ENDED_AT.isoformat()}]}),
    ("child_categories", {"id": 2, "child_id": "c-newer", "code": "RISK", "subcode": None,
                          "status": "open", "urgent_signal": True, "confidential": False,
                          "opened_at": T2, "updated_at": T2,
                          "history": [{"status": "open", "at": T2.isoformat()}]}),
    ("flags", {"id": 1, "project_id": 1, "child_id": "c-older", "code": "HCDB-A",
               "kind": "review", "deadline": T3, "confidential": False, "status": "open",
               "record_id": 1, "raised_at": T2, "acknowledged_by": None,
               "acknowledged_at": None, "closed_by": None, "closed_at": None,
               "close_reason": None}),
]

LATER_ROWS: dict[str, list[tuple[str, Row]]] = {
    "87c11e802197": REGISTRY_ROWS,
    "630f4662eb45": CURRENT_VIEW_ROWS,
    "ec8539173bd2": [("sign_in_failures", {"id": 1, "key": "email:lan@xa.vn",
                                           "failed_at": T2})],
    "c4d2e8a1f9b3": [("child_field_choices", {
        "id": 1, "child_id": "c-older", "field": "dob", "value": "2015-03-02",
        "reason": "Giấy khai sinh", "chosen_by": 1, "chosen_at": T3, "withdrawn_at": None,
        "withdrawn_by": None})],
}

# What the later revisions add to rows that existed before them, row by row.
ADDED_BY_LATER_REVISIONS: dict[tuple[str, object], Row] = {
    ("submission_defs", 1): {"sync_state": "pending", "sync_error": None},
    ("submission_defs", 2): {"sync_state": "pending", "sync_error": None},
    # The village of a household screening is read from its answers; a form the backfill
    # does not know keeps none.
    ("submissions", 1): {"village_code": "T01"},
    ("submissions", 2): {"village_code": None},
    ("project_roles", 1): {"villages": []},
    # Numbered by creation; the next child of the commune gets the number after the last.
    ("projects", 1): {"next_child_number": 3},
    ("children", "c-older"): {"number": 1, "report_count": 1, "first_reported_at": T1,
                              "full_name": "", "home_name": "", "vital_status": "active",
                              "care_arrangement": "", "care_registered": ""},
    ("children", "c-newer"): {"number": 2, "report_count": 0, "first_reported_at": None},
    ("child_records", 1): {"derived_categories": [], "reported_at": None, "home_name": "",
                           "doubtful": []},
    ("child_categories", 1): {"ended_at": ENDED_AT, "plan_approved_at": None},
    ("child_categories", 2): {"ended_at": None, "plan_approved_at": None},
    ("flags", 1): {"note": None, "submission_def_id": None},
}

# Primary keys that are not `id`.
KEYS = {"users": "actor_id", "app_users": "actor_id", "sessions": "token_hash"}


def revisions_in_order(database_url: str) -> list[str]:
    script = ScriptDirectory.from_config(alembic_config(database_url))
    return [revision.revision for revision in reversed(list(script.walk_revisions()))]


@contextmanager
def connected(database_url: str) -> Iterator[sa.Connection]:
    """One transaction on an engine of its own, closed before Alembic runs again (SQLite's
    batch mode rebuilds tables and must not meet an open connection)."""
    engine = sa.create_engine(database_url)
    try:
        with engine.begin() as connection:
            yield connection
    finally:
        engine.dispose()


def reflected(connection: sa.Connection, name: str) -> sa.Table:
    """The table as the database has it now, so values bind with the column types of that
    revision (JSON, dates and booleans on both databases)."""
    return sa.Table(name, sa.MetaData(), autoload_with=connection)


def insert_rows(database_url: str, rows: list[tuple[str, Row]]) -> None:
    with connected(database_url) as connection:
        for name, values in rows:
            connection.execute(reflected(connection, name).insert().values(**values))
        if any(name == "form_defs" for name, _ in rows):
            # forms and form_defs point at each other: the published versions come last.
            forms = reflected(connection, "forms")
            for form_id in (1, 2):
                connection.execute(forms.update().where(forms.c.id == form_id)
                                   .values(current_def_id=form_id))


def read_row(connection: sa.Connection, name: str, key: object) -> Row:
    table = reflected(connection, name)
    column = table.c[KEYS.get(name, "id")]
    row = connection.execute(sa.select(table).where(column == key)).mappings().one()
    return dict(row)


def expected_at_head(name: str, values: Row) -> tuple[object, Row]:
    """The row's key and the values it must have at the head."""
    expected = dict(values)
    if name == "sessions":
        # The session token is kept only as its SHA-256 (ec8539173bd2).
        expected["token_hash"] = hashlib.sha256(expected.pop("token").encode()).hexdigest()
    if name == "forms":
        expected["current_def_id"] = expected["id"]
    key = expected[KEYS.get(name, "id")]
    expected.update(ADDED_BY_LATER_REVISIONS.get((name, key), {}))
    return key, expected


def upgrade_step_by_step(database_url: str, fill: Callable[[str], None]) -> list[str]:
    """From nothing to the head one revision at a time; `fill(revision)` after each."""
    downgrade(database_url, "base")
    revisions = revisions_in_order(database_url)
    for revision in revisions:
        upgrade(database_url, revision)
        fill(revision)
    return revisions


def test_rows_of_the_first_schema_survive_every_later_migration(database_url: str) -> None:
    written: list[tuple[str, Row]] = []

    def fill(revision: str) -> None:
        rows = FIRST_ROWS if not written else LATER_ROWS.get(revision, [])
        insert_rows(database_url, rows)
        written.extend(rows)

    revisions = upgrade_step_by_step(database_url, fill)

    assert revisions[0] == "038863a057d1"
    assert [revisions[-1]] == current_heads(database_url)
    with connected(database_url) as connection:
        version = connection.execute(sa.text("SELECT version_num FROM alembic_version"))
        assert version.scalar_one() == revisions[-1]
        for name, values in written:
            key, expected = expected_at_head(name, values)
            stored = read_row(connection, name, key)
            assert {column: stored.get(column) for column in expected} == expected, (name, key)
        counts = {name: connection.execute(
            sa.select(sa.func.count()).select_from(reflected(connection, name))).scalar_one()
            for name in {name for name, _ in written}}
    assert counts == {name: sum(1 for other, _ in written if other == name)
                      for name in counts}

