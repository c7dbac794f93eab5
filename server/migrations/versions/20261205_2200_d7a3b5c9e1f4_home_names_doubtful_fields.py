"""home names and doubtful fields: a child's home name (tên thường gọi ở nhà) on its reports
and on the registry child; a report's doubtful fields, kept rather than refused

Revision ID: d7a3b5c9e1f4
Revises: c4d2e8a1f9b3
Create Date: 2026-12-05 22:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'd7a3b5c9e1f4'
down_revision: str | None = 'c4d2e8a1f9b3'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('child_records', schema=None) as batch_op:
        batch_op.add_column(sa.Column('home_name', sa.String(length=255), nullable=False,
                                      server_default=''))
        batch_op.add_column(sa.Column('doubtful', sa.JSON(), nullable=False,
                                      server_default='[]'))
    with op.batch_alter_table('children', schema=None) as batch_op:
        batch_op.add_column(sa.Column('home_name', sa.String(length=255), nullable=False,
                                      server_default=''))


def downgrade() -> None:
    with op.batch_alter_table('children', schema=None) as batch_op:
        batch_op.drop_column('home_name')
    with op.batch_alter_table('child_records', schema=None) as batch_op:
        batch_op.drop_column('doubtful')
        batch_op.drop_column('home_name')
