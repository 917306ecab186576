"""sla_policies: earlier versions kept for running clocks (superseded_by_id, superseded_at)

Revision ID: a1b2c3d4e503
Revises: a1b2c3d4e502
Create Date: 2026-11-23 13:40:00.000000

"""
from alembic import op
import sqlalchemy as sa

import servicedesk.db


# revision identifiers, used by Alembic.
revision = 'a1b2c3d4e503'
down_revision = 'a1b2c3d4e502'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('sla_policies', schema=None) as batch_op:
        batch_op.add_column(sa.Column('superseded_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('superseded_at', servicedesk.db.UTCDateTime(timezone=True),
                                      nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_sla_policies_superseded_by_id_sla_policies'),
                                    'sla_policies', ['superseded_by_id'], ['id'])


def downgrade():
    with op.batch_alter_table('sla_policies', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_sla_policies_superseded_by_id_sla_policies'),
                                 type_='foreignkey')
        batch_op.drop_column('superseded_at')
        batch_op.drop_column('superseded_by_id')
