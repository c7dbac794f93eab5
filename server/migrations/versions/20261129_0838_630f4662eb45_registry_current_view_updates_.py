"""registry current view, updates, categories, flags, scoped roles

Revision ID: 630f4662eb45
Revises: 87c11e802197
Create Date: 2026-11-29 08:38:05.659800
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '630f4662eb45'
down_revision: str | None = '87c11e802197'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('child_categories',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('child_id', sa.String(length=36), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('subcode', sa.String(length=32), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('urgent_signal', sa.Boolean(), nullable=False),
    sa.Column('confidential', sa.Boolean(), nullable=False),
    sa.Column('opened_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('history', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['child_id'], ['children.id'], name=op.f('fk_child_categories_child_id_children')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_child_categories'))
    )
    with op.batch_alter_table('child_categories', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_child_categories_child_id'), ['child_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_child_categories_code'), ['code'], unique=False)

    op.create_table('child_updates',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('child_id', sa.String(length=36), nullable=False),
    sa.Column('submission_def_id', sa.Integer(), nullable=True),
    sa.Column('base_version', sa.Integer(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('properties', sa.JSON(), nullable=False),
    sa.Column('conflict', sa.String(length=8), nullable=True),
    sa.Column('conflict_resolved_at', sa.DateTime(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['child_id'], ['children.id'], name=op.f('fk_child_updates_child_id_children')),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_child_updates_project_id_projects')),
    sa.ForeignKeyConstraint(['submission_def_id'], ['submission_defs.id'], name=op.f('fk_child_updates_submission_def_id_submission_defs')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_child_updates'))
    )
    with op.batch_alter_table('child_updates', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_child_updates_child_id'), ['child_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_child_updates_project_id'), ['project_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_child_updates_submission_def_id'), ['submission_def_id'], unique=False)

    op.create_table('flags',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('child_id', sa.String(length=36), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('deadline', sa.DateTime(), nullable=True),
    sa.Column('confidential', sa.Boolean(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('record_id', sa.Integer(), nullable=True),
    sa.Column('raised_at', sa.DateTime(), nullable=False),
    sa.Column('acknowledged_by', sa.Integer(), nullable=True),
    sa.Column('acknowledged_at', sa.DateTime(), nullable=True),
    sa.Column('closed_by', sa.Integer(), nullable=True),
    sa.Column('closed_at', sa.DateTime(), nullable=True),
    sa.Column('close_reason', sa.String(length=1000), nullable=True),
    sa.ForeignKeyConstraint(['acknowledged_by'], ['actors.id'], name=op.f('fk_flags_acknowledged_by_actors')),
    sa.ForeignKeyConstraint(['child_id'], ['children.id'], name=op.f('fk_flags_child_id_children')),
    sa.ForeignKeyConstraint(['closed_by'], ['actors.id'], name=op.f('fk_flags_closed_by_actors')),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_flags_project_id_projects')),
    sa.ForeignKeyConstraint(['record_id'], ['child_records.id'], name=op.f('fk_flags_record_id_child_records')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_flags'))
    )
    with op.batch_alter_table('flags', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_flags_child_id'), ['child_id'], unique=False)
        batch_op.create_index('ix_flags_project_status', ['project_id', 'status'], unique=False)

    with op.batch_alter_table('child_records', schema=None) as batch_op:
        batch_op.add_column(sa.Column('derived_categories', sa.JSON(), nullable=False, server_default=sa.text("'[]'")))
        batch_op.add_column(sa.Column('reported_at', sa.DateTime(), nullable=True))

    with op.batch_alter_table('children', schema=None) as batch_op:
        batch_op.add_column(sa.Column('full_name', sa.String(length=255), nullable=False, server_default=sa.text("''")))
        batch_op.add_column(sa.Column('name_folded', sa.String(length=255), nullable=False, server_default=sa.text("''")))
        batch_op.add_column(sa.Column('sex', sa.String(length=1), nullable=False, server_default=sa.text("'U'")))
        batch_op.add_column(sa.Column('dob', sa.String(length=10), nullable=True))
        batch_op.add_column(sa.Column('dob_precision', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('village_code', sa.String(length=64), nullable=False, server_default=sa.text("''")))
        batch_op.add_column(sa.Column('household_head', sa.String(length=255), nullable=False, server_default=sa.text("''")))
        batch_op.add_column(sa.Column('mother_name', sa.String(length=255), nullable=False, server_default=sa.text("''")))
        batch_op.add_column(sa.Column('father_name', sa.String(length=255), nullable=False, server_default=sa.text("''")))
        batch_op.add_column(sa.Column('guardian_name', sa.String(length=255), nullable=False, server_default=sa.text("''")))
        batch_op.add_column(sa.Column('personal_id', sa.String(length=32), nullable=False, server_default=sa.text("''")))
        batch_op.add_column(sa.Column('vital_status', sa.String(length=16), nullable=False, server_default=sa.text("'active'")))
        batch_op.add_column(sa.Column('school_status', sa.String(length=32), nullable=False, server_default=sa.text("''")))
        batch_op.add_column(sa.Column('support', sa.String(length=255), nullable=False, server_default=sa.text("''")))
        batch_op.add_column(sa.Column('last_visit', sa.String(length=10), nullable=True))
        batch_op.add_column(sa.Column('death_date', sa.String(length=10), nullable=True))
        batch_op.add_column(sa.Column('moved_date', sa.String(length=10), nullable=True))
        batch_op.add_column(sa.Column('moved_to', sa.String(length=255), nullable=False, server_default=sa.text("''")))
        batch_op.create_index('ix_children_project_village', ['project_id', 'village_code'], unique=False)

    with op.batch_alter_table('match_candidates', schema=None) as batch_op:
        batch_op.add_column(sa.Column('edge_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_match_candidates_edge_id_link_edges'), 'link_edges', ['edge_id'], ['id'])

    with op.batch_alter_table('project_roles', schema=None) as batch_op:
        batch_op.add_column(sa.Column('villages', sa.JSON(), nullable=False, server_default=sa.text("'[]'")))



def downgrade() -> None:
    with op.batch_alter_table('project_roles', schema=None) as batch_op:
        batch_op.drop_column('villages')

    with op.batch_alter_table('match_candidates', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_match_candidates_edge_id_link_edges'), type_='foreignkey')
        batch_op.drop_column('edge_id')

    with op.batch_alter_table('children', schema=None) as batch_op:
        batch_op.drop_index('ix_children_project_village')
        batch_op.drop_column('moved_to')
        batch_op.drop_column('moved_date')
        batch_op.drop_column('death_date')
        batch_op.drop_column('last_visit')
        batch_op.drop_column('support')
        batch_op.drop_column('school_status')
        batch_op.drop_column('vital_status')
        batch_op.drop_column('personal_id')
        batch_op.drop_column('guardian_name')
        batch_op.drop_column('father_name')
        batch_op.drop_column('mother_name')
        batch_op.drop_column('household_head')
        batch_op.drop_column('village_code')
        batch_op.drop_column('dob_precision')
        batch_op.drop_column('dob')
        batch_op.drop_column('sex')
        batch_op.drop_column('name_folded')
        batch_op.drop_column('full_name')

    with op.batch_alter_table('child_records', schema=None) as batch_op:
        batch_op.drop_column('reported_at')
        batch_op.drop_column('derived_categories')

    with op.batch_alter_table('flags', schema=None) as batch_op:
        batch_op.drop_index('ix_flags_project_status')
        batch_op.drop_index(batch_op.f('ix_flags_child_id'))

    op.drop_table('flags')
    with op.batch_alter_table('child_updates', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_child_updates_submission_def_id'))
        batch_op.drop_index(batch_op.f('ix_child_updates_project_id'))
        batch_op.drop_index(batch_op.f('ix_child_updates_child_id'))

    op.drop_table('child_updates')
    with op.batch_alter_table('child_categories', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_child_categories_code'))
        batch_op.drop_index(batch_op.f('ix_child_categories_child_id'))

    op.drop_table('child_categories')
