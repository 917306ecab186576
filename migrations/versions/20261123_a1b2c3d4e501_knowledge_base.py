"""knowledge base: articles, versions, uses, votes, must-read acks, index outbox, problems,
portal searches

Revision ID: a1b2c3d4e501
Revises: 2715f06a178b
Create Date: 2026-11-23 13:01:00.088873

"""
from alembic import op
import sqlalchemy as sa

import servicedesk.db


# revision identifiers, used by Alembic.
revision = 'a1b2c3d4e501'
down_revision = '2715f06a178b'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('index_outbox',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('article_id', sa.Integer(), nullable=True),
    sa.Column('op', sa.Enum('upsert', 'delete', 'rebuild', name='outboxop', native_enum=False, length=32), nullable=False),
    sa.Column('created_at', servicedesk.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('retry_at', servicedesk.db.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_index_outbox'))
    )
    op.create_table('problems',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('status', sa.Enum('open', 'known_error', 'resolved', name='problemstatus', native_enum=False, length=32), nullable=False),
    sa.Column('root_cause', sa.Text(), nullable=False),
    sa.Column('workaround', sa.Text(), nullable=False),
    sa.Column('service_id', sa.Integer(), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=False),
    sa.Column('created_at', servicedesk.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', servicedesk.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('known_error_at', servicedesk.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('resolved_at', servicedesk.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_problems_created_by_id_users')),
    sa.ForeignKeyConstraint(['service_id'], ['services.id'], name=op.f('fk_problems_service_id_services')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_problems'))
    )
    with op.batch_alter_table('problems', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_problems_service_id'), ['service_id'], unique=False)

    op.create_table('articles',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('symptoms', sa.Text(), nullable=False),
    sa.Column('cause', sa.Text(), nullable=False),
    sa.Column('resolution', sa.Text(), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('tags', sa.JSON(), nullable=False),
    sa.Column('language', sa.String(length=8), nullable=False),
    sa.Column('audience', sa.Enum('internal', 'public', name='audience', native_enum=False, length=32), nullable=False),
    sa.Column('status', sa.Enum('draft', 'in_review', 'published', 'retired', name='articlestatus', native_enum=False, length=32), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=False),
    sa.Column('reviewer_id', sa.Integer(), nullable=True),
    sa.Column('is_must_read', sa.Boolean(), nullable=False),
    sa.Column('is_known_error', sa.Boolean(), nullable=False),
    sa.Column('problem_id', sa.Integer(), nullable=True),
    sa.Column('source_ticket_id', sa.Integer(), nullable=True),
    sa.Column('published_revision', sa.Integer(), nullable=True),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('view_count', sa.Integer(), nullable=False),
    sa.Column('use_count', sa.Integer(), nullable=False),
    sa.Column('helpful_count', sa.Integer(), nullable=False),
    sa.Column('unhelpful_count', sa.Integer(), nullable=False),
    sa.Column('last_used_at', servicedesk.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', servicedesk.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', servicedesk.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('published_at', servicedesk.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('retired_at', servicedesk.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.CheckConstraint('view_count >= 0 AND use_count >= 0 AND helpful_count >= 0 AND unhelpful_count >= 0', name=op.f('ck_articles_counters_positive')),
    sa.ForeignKeyConstraint(['author_id'], ['users.id'], name=op.f('fk_articles_author_id_users')),
    sa.ForeignKeyConstraint(['problem_id'], ['problems.id'], name=op.f('fk_articles_problem_id_problems')),
    sa.ForeignKeyConstraint(['reviewer_id'], ['users.id'], name=op.f('fk_articles_reviewer_id_users')),
    sa.ForeignKeyConstraint(['source_ticket_id'], ['tickets.id'], name=op.f('fk_articles_source_ticket_id_tickets')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_articles'))
    )
    with op.batch_alter_table('articles', schema=None) as batch_op:
        batch_op.create_index('ix_articles_author_status', ['author_id', 'status'], unique=False)
        batch_op.create_index(batch_op.f('ix_articles_problem_id'), ['problem_id'], unique=False)
        batch_op.create_index('ix_articles_status_audience', ['status', 'audience'], unique=False)

    op.create_table('problem_incidents',
    sa.Column('problem_id', sa.Integer(), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['problem_id'], ['problems.id'], name=op.f('fk_problem_incidents_problem_id_problems'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_problem_incidents_ticket_id_tickets'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('problem_id', 'ticket_id', name=op.f('pk_problem_incidents'))
    )
    with op.batch_alter_table('problem_incidents', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_problem_incidents_ticket_id'), ['ticket_id'], unique=False)

    op.create_table('article_must_read_groups',
    sa.Column('article_id', sa.Integer(), nullable=False),
    sa.Column('group_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['article_id'], ['articles.id'], name=op.f('fk_article_must_read_groups_article_id_articles'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['group_id'], ['groups.id'], name=op.f('fk_article_must_read_groups_group_id_groups'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('article_id', 'group_id', name=op.f('pk_article_must_read_groups'))
    )
    op.create_table('article_services',
    sa.Column('article_id', sa.Integer(), nullable=False),
    sa.Column('service_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['article_id'], ['articles.id'], name=op.f('fk_article_services_article_id_articles'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['service_id'], ['services.id'], name=op.f('fk_article_services_service_id_services'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('article_id', 'service_id', name=op.f('pk_article_services'))
    )
    op.create_table('article_uses',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('article_id', sa.Integer(), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('created_at', servicedesk.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('is_resolution', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['article_id'], ['articles.id'], name=op.f('fk_article_uses_article_id_articles'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_article_uses_ticket_id_tickets'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_article_uses_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_article_uses')),
    sa.UniqueConstraint('article_id', 'ticket_id', name='uq_article_uses_article_ticket')
    )
    with op.batch_alter_table('article_uses', schema=None) as batch_op:
        batch_op.create_index('ix_article_uses_article_created', ['article_id', 'created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_article_uses_ticket_id'), ['ticket_id'], unique=False)

    op.create_table('article_versions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('article_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('editor_id', sa.Integer(), nullable=False),
    sa.Column('created_at', servicedesk.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('note', sa.String(length=500), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('symptoms', sa.Text(), nullable=False),
    sa.Column('cause', sa.Text(), nullable=False),
    sa.Column('resolution', sa.Text(), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('tags', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['article_id'], ['articles.id'], name=op.f('fk_article_versions_article_id_articles'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['editor_id'], ['users.id'], name=op.f('fk_article_versions_editor_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_article_versions')),
    sa.UniqueConstraint('article_id', 'number', name='uq_article_versions_article_number')
    )
    op.create_table('article_votes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('article_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('is_helpful', sa.Boolean(), nullable=False),
    sa.Column('created_at', servicedesk.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['article_id'], ['articles.id'], name=op.f('fk_article_votes_article_id_articles'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_article_votes_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_article_votes')),
    sa.UniqueConstraint('article_id', 'user_id', name='uq_article_votes_article_user')
    )
    op.create_table('must_read_acks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('article_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('acknowledged_at', servicedesk.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['article_id'], ['articles.id'], name=op.f('fk_must_read_acks_article_id_articles'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_must_read_acks_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_must_read_acks')),
    sa.UniqueConstraint('article_id', 'user_id', 'revision', name='uq_must_read_acks_article_user_revision')
    )
    with op.batch_alter_table('must_read_acks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_must_read_acks_user_id'), ['user_id'], unique=False)

    op.create_table('portal_searches',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('requester_id', sa.Integer(), nullable=False),
    sa.Column('query', sa.String(length=256), nullable=False),
    sa.Column('results_count', sa.Integer(), nullable=False),
    sa.Column('is_deflected', sa.Boolean(), nullable=False),
    sa.Column('article_id', sa.Integer(), nullable=True),
    sa.Column('created_at', servicedesk.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('deflected_at', servicedesk.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['article_id'], ['articles.id'], name=op.f('fk_portal_searches_article_id_articles'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['requester_id'], ['users.id'], name=op.f('fk_portal_searches_requester_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_portal_searches'))
    )
    with op.batch_alter_table('portal_searches', schema=None) as batch_op:
        batch_op.create_index('ix_portal_searches_created_at', ['created_at'], unique=False)
        batch_op.create_index('ix_portal_searches_requester_created', ['requester_id', 'created_at'], unique=False)



def downgrade():
    with op.batch_alter_table('portal_searches', schema=None) as batch_op:
        batch_op.drop_index('ix_portal_searches_requester_created')
        batch_op.drop_index('ix_portal_searches_created_at')

    op.drop_table('portal_searches')
    with op.batch_alter_table('must_read_acks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_must_read_acks_user_id'))

    op.drop_table('must_read_acks')
    op.drop_table('article_votes')
    op.drop_table('article_versions')
    with op.batch_alter_table('article_uses', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_article_uses_ticket_id'))
        batch_op.drop_index('ix_article_uses_article_created')

    op.drop_table('article_uses')
    op.drop_table('article_services')
    op.drop_table('article_must_read_groups')
    with op.batch_alter_table('problem_incidents', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_problem_incidents_ticket_id'))

    op.drop_table('problem_incidents')
    with op.batch_alter_table('articles', schema=None) as batch_op:
        batch_op.drop_index('ix_articles_status_audience')
        batch_op.drop_index(batch_op.f('ix_articles_problem_id'))
        batch_op.drop_index('ix_articles_author_status')

    op.drop_table('articles')
    with op.batch_alter_table('problems', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_problems_service_id'))

    op.drop_table('problems')
    op.drop_table('index_outbox')
