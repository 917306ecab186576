"""reports: rollup triggers recreated: a moved contribution in one net statement; the
people trigger on tickets only for tickets resolved with an assignee; an event's or a tier
change's trigger computes only the metrics it can change

Revision ID: a1b2c3d4e506
Revises: a1b2c3d4e505
Create Date: 2026-11-23 18:40:00

The trigger text comes from servicedesk.reports.rollups (see a1b2c3d4e505): each trigger that
moves a row's contribution now takes out the old one and adds the new one in one grouped
statement (what did not change cancels out and is not written);
trg_report_people_ticket_upd fires only when the ticket was or is resolved with an assignee
(otherwise it wrote nothing anyway); a tier change event recomputes only the tier metrics, a
reopening event (trg_report_event_reopen, new) only the reopen count, and a ticket whose tier
alone changed only the two "was at tier" metrics (trg_report_ticket_tier, new). The figures
are the same; the SLA sweep's escalations and breaches pay about half the trigger time on
PostgreSQL. Downgrading keeps the current definitions (same rollups as the previous ones).
"""
from alembic import op

from servicedesk.reports import rollups

# revision identifiers, used by Alembic.
revision = 'a1b2c3d4e506'
down_revision = 'a1b2c3d4e505'
branch_labels = None
depends_on = None


def upgrade():
    rollups.recreate_triggers(op.get_bind())


def downgrade():
    pass  # the definitions stay: the same figures as a1b2c3d4e505's (see above)
