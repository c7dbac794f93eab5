"""registry: child records, match keys, children, edges, review queue, sync state

Revision ID: 87c11e802197
Revises: 038863a057d1
Create Date: 2026-11-29 05:35:34.654980
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '87c11e802197'
down_revision: str | None = '038863a057d1'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('children',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('merged_into', sa.String(length=36), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['merged_into'], ['children.id'], name=op.f('fk_children_merged_into_children')),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_children_project_id_projects')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_children'))
    )
    with op.batch_alter_table('children', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_children_project_id'), ['project_id'], unique=False)

    op.create_table('villages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('name_folded', sa.String(length=255), nullable=False),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_villages_project_id_projects')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_villages')),
    sa.UniqueConstraint('project_id', 'code', name=op.f('uq_villages_project_id_code'))
    )
    with op.batch_alter_table('villages', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_villages_project_id'), ['project_id'], unique=False)

    op.create_table('child_records',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('submission_def_id', sa.Integer(), nullable=True),
    sa.Column('source_key', sa.String(length=512), nullable=False),
    sa.Column('household_key', sa.String(length=255), nullable=False),
    sa.Column('full_name', sa.String(length=255), nullable=False),
    sa.Column('sex', sa.String(length=1), nullable=False),
    sa.Column('dob', sa.String(length=10), nullable=True),
    sa.Column('dob_precision', sa.String(length=8), nullable=True),
    sa.Column('dob_estimated', sa.Boolean(), nullable=False),
    sa.Column('village_code', sa.String(length=64), nullable=False),
    sa.Column('commune_code', sa.String(length=16), nullable=False),
    sa.Column('household_id', sa.String(length=64), nullable=False),
    sa.Column('household_head', sa.String(length=255), nullable=False),
    sa.Column('mother_name', sa.String(length=255), nullable=False),
    sa.Column('father_name', sa.String(length=255), nullable=False),
    sa.Column('guardian_name', sa.String(length=255), nullable=False),
    sa.Column('personal_id', sa.String(length=32), nullable=False),
    sa.Column('raw', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_child_records_project_id_projects')),
    sa.ForeignKeyConstraint(['submission_def_id'], ['submission_defs.id'], name=op.f('fk_child_records_submission_def_id_submission_defs')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_child_records')),
    sa.UniqueConstraint('project_id', 'source_key', name=op.f('uq_child_records_project_id_source_key'))
    )
    with op.batch_alter_table('child_records', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_child_records_project_id'), ['project_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_child_records_submission_def_id'), ['submission_def_id'], unique=False)

    op.create_table('child_memberships',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('record_id', sa.Integer(), nullable=False),
    sa.Column('child_id', sa.String(length=36), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['child_id'], ['children.id'], name=op.f('fk_child_memberships_child_id_children')),
    sa.ForeignKeyConstraint(['record_id'], ['child_records.id'], name=op.f('fk_child_memberships_record_id_child_records')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_child_memberships')),
    sa.UniqueConstraint('record_id', name=op.f('uq_child_memberships_record_id'))
    )
    with op.batch_alter_table('child_memberships', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_child_memberships_child_id'), ['child_id'], unique=False)

    op.create_table('link_edges',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('record_a', sa.Integer(), nullable=False),
    sa.Column('record_b', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('score', sa.Double(), nullable=True),
    sa.Column('model_version', sa.String(length=64), nullable=True),
    sa.Column('explanation', sa.JSON(), nullable=True),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('revoked_at', sa.DateTime(), nullable=True),
    sa.Column('revoked_by', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['created_by'], ['actors.id'], name=op.f('fk_link_edges_created_by_actors')),
    sa.ForeignKeyConstraint(['record_a'], ['child_records.id'], name=op.f('fk_link_edges_record_a_child_records')),
    sa.ForeignKeyConstraint(['record_b'], ['child_records.id'], name=op.f('fk_link_edges_record_b_child_records')),
    sa.ForeignKeyConstraint(['revoked_by'], ['actors.id'], name=op.f('fk_link_edges_revoked_by_actors')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_link_edges'))
    )
    with op.batch_alter_table('link_edges', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_link_edges_record_a'), ['record_a'], unique=False)
        batch_op.create_index(batch_op.f('ix_link_edges_record_b'), ['record_b'], unique=False)

    op.create_table('match_candidates',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('record_id', sa.Integer(), nullable=False),
    sa.Column('child_id', sa.String(length=36), nullable=False),
    sa.Column('score', sa.Double(), nullable=False),
    sa.Column('reasons', sa.JSON(), nullable=False),
    sa.Column('explanation', sa.JSON(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('decision', sa.String(length=16), nullable=True),
    sa.Column('decided_by', sa.Integer(), nullable=True),
    sa.Column('decided_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['child_id'], ['children.id'], name=op.f('fk_match_candidates_child_id_children')),
    sa.ForeignKeyConstraint(['decided_by'], ['actors.id'], name=op.f('fk_match_candidates_decided_by_actors')),
    sa.ForeignKeyConstraint(['record_id'], ['child_records.id'], name=op.f('fk_match_candidates_record_id_child_records')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_match_candidates'))
    )
    with op.batch_alter_table('match_candidates', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_match_candidates_child_id'), ['child_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_match_candidates_record_id'), ['record_id'], unique=False)
        batch_op.create_index('ix_match_candidates_status', ['status'], unique=False)

    op.create_table('match_keys',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key_type', sa.String(length=16), nullable=False),
    sa.Column('key_value', sa.String(length=512), nullable=False),
    sa.Column('record_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['record_id'], ['child_records.id'], name=op.f('fk_match_keys_record_id_child_records')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_match_keys'))
    )
    with op.batch_alter_table('match_keys', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_match_keys_record_id'), ['record_id'], unique=False)
        batch_op.create_index('ix_match_keys_type_value', ['key_type', 'key_value'], unique=False)

    with op.batch_alter_table('submission_defs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sync_state', sa.String(length=16), server_default='pending', nullable=False))
        batch_op.add_column(sa.Column('sync_error', sa.Text(), nullable=True))
        batch_op.create_index(batch_op.f('ix_submission_defs_sync_state'), ['sync_state'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('submission_defs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_submission_defs_sync_state'))
        batch_op.drop_column('sync_error')
        batch_op.drop_column('sync_state')

    with op.batch_alter_table('match_keys', schema=None) as batch_op:
        batch_op.drop_index('ix_match_keys_type_value')
        batch_op.drop_index(batch_op.f('ix_match_keys_record_id'))

    op.drop_table('match_keys')
    with op.batch_alter_table('match_candidates', schema=None) as batch_op:
        batch_op.drop_index('ix_match_candidates_status')
        batch_op.drop_index(batch_op.f('ix_match_candidates_record_id'))
        batch_op.drop_index(batch_op.f('ix_match_candidates_child_id'))

    op.drop_table('match_candidates')
    with op.batch_alter_table('link_edges', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_link_edges_record_b'))
        batch_op.drop_index(batch_op.f('ix_link_edges_record_a'))

    op.drop_table('link_edges')
    with op.batch_alter_table('child_memberships', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_child_memberships_child_id'))

    op.drop_table('child_memberships')
    with op.batch_alter_table('child_records', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_child_records_submission_def_id'))
        batch_op.drop_index(batch_op.f('ix_child_records_project_id'))

    op.drop_table('child_records')
    with op.batch_alter_table('villages', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_villages_project_id'))

    op.drop_table('villages')
    with op.batch_alter_table('children', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_children_project_id'))

    op.drop_table('children')
