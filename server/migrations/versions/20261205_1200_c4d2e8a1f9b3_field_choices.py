"""field choices: a reviewer's choice of which value of a child's field is right when its
records disagree

Revision ID: c4d2e8a1f9b3
Revises: 5b1e0c7d9a21
Create Date: 2026-12-05 12:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'c4d2e8a1f9b3'
down_revision: str | None = '5b1e0c7d9a21'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('child_field_choices',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('child_id', sa.String(length=36), nullable=False),
    sa.Column('field', sa.String(length=32), nullable=False),
    sa.Column('value', sa.String(length=255), nullable=False),
    sa.Column('reason', sa.String(length=1000), nullable=False),
    sa.Column('chosen_by', sa.Integer(), nullable=True),
    sa.Column('chosen_at', sa.DateTime(), nullable=False),
    sa.Column('withdrawn_at', sa.DateTime(), nullable=True),
    sa.Column('withdrawn_by', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['child_id'], ['children.id'], name=op.f('fk_child_field_choices_child_id_children')),
    sa.ForeignKeyConstraint(['chosen_by'], ['actors.id'], name=op.f('fk_child_field_choices_chosen_by_actors')),
    sa.ForeignKeyConstraint(['withdrawn_by'], ['actors.id'], name=op.f('fk_child_field_choices_withdrawn_by_actors')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_child_field_choices'))
    )
    with op.batch_alter_table('child_field_choices', schema=None) as batch_op:
        # The view reads a child's choices by child (and one field's when choosing anew).
        batch_op.create_index('ix_child_field_choices_child_field', ['child_id', 'field'],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table('child_field_choices', schema=None) as batch_op:
        batch_op.drop_index('ix_child_field_choices_child_field')
    op.drop_table('child_field_choices')
