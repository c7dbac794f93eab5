"""data protection: village of submissions, hashed session tokens, sign-in failures,
flags' note and source, append-only audit log

Revision ID: ec8539173bd2
Revises: 630f4662eb45
Create Date: 2026-12-04 19:30:00.000000
"""

import hashlib
from collections.abc import Sequence
from xml.etree.ElementTree import ParseError

import sqlalchemy as sa
from alembic import op
from defusedxml.ElementTree import fromstring

revision: str = 'ec8539173bd2'
down_revision: str | None = '630f4662eb45'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The village answer of the forms published before field policies existed; frozen here so
# this migration does the same thing whatever the code says later.
VILLAGE_ELEMENT = {"household_screening": "village", "child_followup": "village"}

APPEND_ONLY_FUNCTION = """
CREATE FUNCTION audits_append_only() RETURNS trigger AS $$
BEGIN
  RAISE EXCEPTION 'the audit log is append-only: % on audits is refused', TG_OP;
END;
$$ LANGUAGE plpgsql
"""
APPEND_ONLY_TRIGGER = """
CREATE TRIGGER audits_append_only BEFORE UPDATE OR DELETE ON audits
FOR EACH ROW EXECUTE FUNCTION audits_append_only()
"""
# SQLite has no trigger functions: one trigger per statement kind, aborting with the same
# message. A later batch migration of `audits` on SQLite recreates the table and must
# create these again.
SQLITE_APPEND_ONLY = {
    kind: f"""
CREATE TRIGGER audits_append_only_{kind.lower()} BEFORE {kind} ON audits
BEGIN
  SELECT RAISE(ABORT, 'the audit log is append-only: {kind} on audits is refused');
END
""" for kind in ("UPDATE", "DELETE")}


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _village_of(xml: str, element: str) -> str | None:
    try:
        root = fromstring(xml.encode("utf-8"))
    except (ParseError, ValueError):
        return None
    for child in root:
        if _local(child.tag) == element:
            text = (child.text or "").strip()
            return text[:64] or None
    return None


def _backfill_villages() -> None:
    connection = op.get_bind()
    rows = connection.execute(sa.text(
        "SELECT s.id, f.xml_form_id, d.xml FROM submissions s "
        "JOIN forms f ON f.id = s.form_id "
        "JOIN submission_defs d ON d.submission_id = s.id AND d.current = :yes"),
        {"yes": True})
    for submission_id, xml_form_id, xml in rows.all():
        element = VILLAGE_ELEMENT.get(xml_form_id)
        village = _village_of(xml, element) if element else None
        if village:
            connection.execute(sa.text("UPDATE submissions SET village_code = :v WHERE id = :i"),
                               {"v": village, "i": submission_id})


def _hash_session_tokens() -> None:
    connection = op.get_bind()
    for (token,) in connection.execute(sa.text("SELECT token_hash FROM sessions")).all():
        digest = hashlib.sha256(token.encode("utf-8")).hexdigest()
        connection.execute(sa.text("UPDATE sessions SET token_hash = :h WHERE token_hash = :t"),
                           {"h": digest, "t": token})


def upgrade() -> None:
    with op.batch_alter_table('submissions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('village_code', sa.String(length=64), nullable=True))
        batch_op.create_index('ix_submissions_form_village', ['form_id', 'village_code'],
                              unique=False)
    _backfill_villages()

    with op.batch_alter_table('sessions', schema=None) as batch_op:
        batch_op.alter_column('token', new_column_name='token_hash',
                              existing_type=sa.String(length=64), existing_nullable=False)
    _hash_session_tokens()

    op.create_table('sign_in_failures',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=400), nullable=False),
    sa.Column('failed_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sign_in_failures'))
    )
    with op.batch_alter_table('sign_in_failures', schema=None) as batch_op:
        batch_op.create_index('ix_sign_in_failures_key_at', ['key', 'failed_at'], unique=False)

    with op.batch_alter_table('flags', schema=None) as batch_op:
        batch_op.add_column(sa.Column('note', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('submission_def_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_flags_submission_def_id_submission_defs'),
                                    'submission_defs', ['submission_def_id'], ['id'])

    if op.get_bind().dialect.name == "postgresql":
        op.execute(APPEND_ONLY_FUNCTION)
        op.execute(APPEND_ONLY_TRIGGER)
    elif op.get_bind().dialect.name == "sqlite":
        for trigger in SQLITE_APPEND_ONLY.values():
            op.execute(trigger)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audits_append_only ON audits")
        op.execute("DROP FUNCTION IF EXISTS audits_append_only()")
    elif op.get_bind().dialect.name == "sqlite":
        for kind in SQLITE_APPEND_ONLY:
            op.execute(f"DROP TRIGGER IF EXISTS audits_append_only_{kind.lower()}")

    with op.batch_alter_table('flags', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_flags_submission_def_id_submission_defs'),
                                 type_='foreignkey')
        batch_op.drop_column('submission_def_id')
        batch_op.drop_column('note')

    with op.batch_alter_table('sign_in_failures', schema=None) as batch_op:
        batch_op.drop_index('ix_sign_in_failures_key_at')
    op.drop_table('sign_in_failures')

    # Hashed tokens cannot be turned back into tokens: every session ends.
    op.execute("DELETE FROM sessions")
    with op.batch_alter_table('sessions', schema=None) as batch_op:
        batch_op.alter_column('token_hash', new_column_name='token',
                              existing_type=sa.String(length=64), existing_nullable=False)

    with op.batch_alter_table('submissions', schema=None) as batch_op:
        batch_op.drop_index('ix_submissions_form_village')
        batch_op.drop_column('village_code')
