"""officers' outputs: care arrangement, report count and first report of children; when a
category ended and when its intervention plan was approved

Revision ID: 5b1e0c7d9a21
Revises: ec8539173bd2
Create Date: 2026-12-05 00:00:00.000000
"""

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = '5b1e0c7d9a21'
down_revision: str | None = 'ec8539173bd2'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _ended_at(history: list[dict[str, Any]] | None) -> datetime | None:
    for entry in reversed(history or []):
        if entry.get("status") == "ended":
            return datetime.fromisoformat(entry["at"])
    return None


def _number_children(connection: sa.Connection) -> None:
    """Number existing children per commune in the order they were made."""
    children = sa.table('children', sa.column('id', sa.String), sa.column('project_id', sa.Integer),
                        sa.column('created_at', sa.DateTime), sa.column('number', sa.Integer))
    projects = sa.table('projects', sa.column('id', sa.Integer),
                        sa.column('next_child_number', sa.Integer))
    counters: dict[int, int] = {}
    rows = connection.execute(sa.select(children.c.id, children.c.project_id)
                              .order_by(children.c.project_id, children.c.created_at,
                                        children.c.id)).all()
    for row in rows:
        counters[row.project_id] = counters.get(row.project_id, 0) + 1
        connection.execute(children.update().where(children.c.id == row.id)
                           .values(number=counters[row.project_id]))
    for project_id, last in counters.items():
        connection.execute(projects.update().where(projects.c.id == project_id)
                           .values(next_child_number=last + 1))


def upgrade() -> None:
    with op.batch_alter_table('projects', schema=None) as batch_op:
        batch_op.add_column(sa.Column('next_child_number', sa.Integer(), nullable=False,
                                      server_default='1'))
    with op.batch_alter_table('children', schema=None) as batch_op:
        batch_op.add_column(sa.Column('number', sa.Integer(), nullable=True))
    _number_children(op.get_bind())
    with op.batch_alter_table('children', schema=None) as batch_op:
        batch_op.alter_column('number', existing_type=sa.Integer(), nullable=False)
        batch_op.create_unique_constraint('uq_children_project_id_number',
                                          ['project_id', 'number'])
        batch_op.add_column(sa.Column('care_arrangement', sa.String(length=32),
                                      nullable=False, server_default=''))
        batch_op.add_column(sa.Column('care_registered', sa.String(length=16),
                                      nullable=False, server_default=''))
        batch_op.add_column(sa.Column('report_count', sa.Integer(), nullable=False,
                                      server_default='0'))
        batch_op.add_column(sa.Column('first_reported_at', sa.DateTime(), nullable=True))
        batch_op.create_index('ix_children_first_reported_at', ['first_reported_at'])
        # The children list and its exports read children by name, page after page.
        batch_op.create_index('ix_children_project_name', ['project_id', 'name_folded', 'id'])
    with op.batch_alter_table('child_categories', schema=None) as batch_op:
        batch_op.add_column(sa.Column('ended_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('plan_approved_at', sa.DateTime(), nullable=True))

    # The report count and the first report, from the records each child is made of.
    op.execute("""
        UPDATE children SET
          report_count = (SELECT count(*) FROM child_memberships m
                          WHERE m.child_id = children.id),
          first_reported_at = (SELECT min(coalesce(r.reported_at, r.created_at))
                               FROM child_memberships m
                               JOIN child_records r ON r.id = m.record_id
                               WHERE m.child_id = children.id)
    """)
    # When ended episodes ended, from their history (no plan was approved before this).
    connection = op.get_bind()
    episodes = sa.table('child_categories', sa.column('id', sa.Integer),
                        sa.column('status', sa.String), sa.column('history', sa.JSON),
                        sa.column('ended_at', sa.DateTime))
    for row in connection.execute(sa.select(episodes.c.id, episodes.c.history)
                                  .where(episodes.c.status == 'ended')).all():
        connection.execute(episodes.update().where(episodes.c.id == row.id)
                           .values(ended_at=_ended_at(row.history)))


def downgrade() -> None:
    with op.batch_alter_table('child_categories', schema=None) as batch_op:
        batch_op.drop_column('plan_approved_at')
        batch_op.drop_column('ended_at')
    with op.batch_alter_table('children', schema=None) as batch_op:
        batch_op.drop_index('ix_children_project_name')
        batch_op.drop_index('ix_children_first_reported_at')
        batch_op.drop_column('first_reported_at')
        batch_op.drop_column('report_count')
        batch_op.drop_column('care_registered')
        batch_op.drop_column('care_arrangement')
        batch_op.drop_constraint('uq_children_project_id_number', type_='unique')
        batch_op.drop_column('number')
    with op.batch_alter_table('projects', schema=None) as batch_op:
        batch_op.drop_column('next_child_number')
