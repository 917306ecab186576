"""reports: on PostgreSQL the rollup triggers made of net statements run once per statement

Revision ID: a1b2c3d4e507
Revises: a1b2c3d4e506
Create Date: 2026-12-08 02:30:00

The trigger text comes from servicedesk.reports.rollups (see a1b2c3d4e505 and a1b2c3d4e506).
On PostgreSQL every trigger whose body is made of net statements (counts, ticket flow,
people) becomes an AFTER ... FOR EACH STATEMENT trigger over the statement's transition
tables: one grouped INSERT into report_count_deltas per statement instead of one per changed
row (the SLA sweep writes 500 clocks, their escalated tickets and history events per
statement). The deltas sum to the same figures. The duration triggers stay per row. SQLite
is unchanged (its triggers are recreated as they were). Downgrading keeps the current
definitions (same rollups as the previous ones).
"""
from alembic import op

from servicedesk.reports import rollups

# revision identifiers, used by Alembic.
revision = 'a1b2c3d4e507'
down_revision = 'a1b2c3d4e506'
branch_labels = None
depends_on = None


def upgrade():
    rollups.recreate_triggers(op.get_bind())


def downgrade():
    pass  # the definitions stay: the same figures as a1b2c3d4e506's (see above)
