"""reports: daily rollups (report_counts, report_durations) kept by triggers, backfilled

Revision ID: a1b2c3d4e505
Revises: a1b2c3d4e504
Create Date: 2026-11-23 15:55:00

The trigger text comes from servicedesk.reports.rollups (one definition for create_all, this
migration and the tests); a later change to it needs a new revision that drops and recreates
the triggers.
"""
from alembic import op
import sqlalchemy as sa

from servicedesk.reports import rollups

# revision identifiers, used by Alembic.
revision = 'a1b2c3d4e505'
down_revision = 'a1b2c3d4e504'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('report_counts',
    sa.Column('metric', sa.String(length=24), nullable=False),
    sa.Column('dim', sa.String(length=12), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('key', sa.String(length=40), nullable=False),
    sa.Column('n', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('metric', 'dim', 'day', 'key', name=op.f('pk_report_counts'))
    )
    op.create_table('report_count_deltas',
    sa.Column('metric', sa.String(length=24), nullable=False),
    sa.Column('dim', sa.String(length=12), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('key', sa.String(length=40), nullable=False),
    sa.Column('n', sa.BigInteger(), nullable=False)
    )
    op.create_index('ix_report_count_deltas_metric_dim_day', 'report_count_deltas',
                    ['metric', 'dim', 'day'], unique=False)
    op.create_table('report_durations',
    sa.Column('clock_id', sa.Integer(), nullable=False),
    sa.Column('measure', sa.String(length=8), nullable=False),
    sa.Column('kind', sa.String(length=12), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('bucket', sa.Integer(), nullable=False),
    sa.Column('value', sa.Float(), nullable=False),
    sa.PrimaryKeyConstraint('clock_id', 'measure', name=op.f('pk_report_durations'))
    )
    op.create_index('ix_report_durations_rank', 'report_durations',
                    ['kind', 'measure', 'bucket', 'value', 'day'], unique=False)
    op.create_index('ix_sla_clocks_unswept_due', 'sla_clocks', ['kind', 'due_at'], unique=False,
                    sqlite_where=sa.text("state = 'running' AND breached_at IS NULL"),
                    postgresql_where=sa.text("state = 'running' AND breached_at IS NULL"))
    op.create_index('ix_surveys_created_answered', 'surveys', ['created_at', 'answered_at'],
                    unique=False)
    op.create_index('ix_surveys_answered_score', 'surveys', ['answered_at', 'score'],
                    unique=False)
    op.create_index('ix_unmet_requests_created_category', 'unmet_requests',
                    ['created_at', 'category'], unique=False)
    bind = op.get_bind()
    rollups.create_triggers(bind)
    rollups.rebuild(bind)


def downgrade():
    bind = op.get_bind()
    for statement in rollups.drop_statements(bind.dialect.name):
        bind.exec_driver_sql(statement)
    op.drop_index('ix_unmet_requests_created_category', table_name='unmet_requests')
    op.drop_index('ix_surveys_answered_score', table_name='surveys')
    op.drop_index('ix_surveys_created_answered', table_name='surveys')
    op.drop_index('ix_sla_clocks_unswept_due', table_name='sla_clocks')
    op.drop_index('ix_report_durations_rank', table_name='report_durations')
    op.drop_table('report_durations')
    op.drop_index('ix_report_count_deltas_metric_dim_day', table_name='report_count_deltas')
    op.drop_table('report_count_deltas')
    op.drop_table('report_counts')
