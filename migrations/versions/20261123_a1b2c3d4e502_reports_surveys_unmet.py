"""reports: CSAT surveys, unmet requests, weekly report log, report indexes

Revision ID: a1b2c3d4e502
Revises: a1b2c3d4e501
Create Date: 2026-11-23 13:04:23.266527

"""
from alembic import op
import sqlalchemy as sa

import servicedesk.db


# revision identifiers, used by Alembic.
revision = 'a1b2c3d4e502'
down_revision = 'a1b2c3d4e501'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('weekly_reports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('period_start', sa.Date(), nullable=False),
    sa.Column('sent_at', servicedesk.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('recipients', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_weekly_reports')),
    sa.UniqueConstraint('period_start', name=op.f('uq_weekly_reports_period_start'))
    )
    op.create_table('surveys',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=False),
    sa.Column('requester_id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', servicedesk.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', servicedesk.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('score', sa.Integer(), nullable=True),
    sa.Column('comment', sa.Text(), nullable=True),
    sa.Column('answered_at', servicedesk.db.UTCDateTime(timezone=True), nullable=True),
    sa.CheckConstraint('score IS NULL OR score BETWEEN 1 AND 5', name=op.f('ck_surveys_score_range')),
    sa.ForeignKeyConstraint(['requester_id'], ['users.id'], name=op.f('fk_surveys_requester_id_users')),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_surveys_ticket_id_tickets'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_surveys')),
    sa.UniqueConstraint('ticket_id', name=op.f('uq_surveys_ticket_id')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_surveys_token_hash'))
    )
    op.create_index('ix_surveys_answered_at', 'surveys', ['answered_at'], unique=False)
    op.create_index('ix_surveys_requester_answered', 'surveys', ['requester_id', 'answered_at'], unique=False)
    op.create_table('unmet_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('category', sa.Enum('not_offered', 'information', 'hours_or_channel', 'other_provider', 'other', name='unmetcategory', native_enum=False, length=32), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=True),
    sa.Column('recorded_by_id', sa.Integer(), nullable=False),
    sa.Column('created_at', servicedesk.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'], name=op.f('fk_unmet_requests_recorded_by_id_users')),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_unmet_requests_ticket_id_tickets'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_unmet_requests'))
    )
    op.create_index('ix_unmet_requests_created_at', 'unmet_requests', ['created_at'], unique=False)
    op.create_index('ix_unmet_requests_ticket_id', 'unmet_requests', ['ticket_id'], unique=False)
    op.create_index('ix_sla_clocks_kind_breached_at', 'sla_clocks', ['kind', 'breached_at'],
                    unique=False, sqlite_where=sa.text('breached_at IS NOT NULL'),
                    postgresql_where=sa.text('breached_at IS NOT NULL'))
    op.create_index('ix_sla_clocks_kind_stopped_at', 'sla_clocks', ['kind', 'stopped_at'], unique=False)
    op.create_index('ix_tickets_resolved_at', 'tickets', ['resolved_at'], unique=False)


def downgrade():
    op.drop_index('ix_tickets_resolved_at', table_name='tickets')
    op.drop_index('ix_sla_clocks_kind_stopped_at', table_name='sla_clocks')
    op.drop_index('ix_sla_clocks_kind_breached_at', table_name='sla_clocks')
    op.drop_index('ix_unmet_requests_ticket_id', table_name='unmet_requests')
    op.drop_index('ix_unmet_requests_created_at', table_name='unmet_requests')
    op.drop_table('unmet_requests')
    op.drop_index('ix_surveys_requester_answered', table_name='surveys')
    op.drop_index('ix_surveys_answered_at', table_name='surveys')
    op.drop_table('surveys')
    op.drop_table('weekly_reports')
