"""Reports own no facts, only: the record of weekly reports sent, and the indexes their
aggregates need on other domains' tables (declared here so the reason sits with the query)."""
from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from servicedesk.db import UTCDateTime
from servicedesk.extensions import db
from servicedesk.feedback.models import Survey, UnmetRequest
from servicedesk.sla.models import SLAClock
from servicedesk.tickets.models import Ticket


class WeeklyReport(db.Model):
    """One row per week whose report was e-mailed: the unique key makes sending exactly-once."""

    __tablename__ = "weekly_reports"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Monday (UTC) the reported week starts; the week is [start, start + 7 days).
    period_start: Mapped[date] = mapped_column(sa.Date, unique=True)
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime)
    recipients: Mapped[int] = mapped_column(sa.Integer, default=0)

    def __repr__(self) -> str:
        return f"<WeeklyReport {self.period_start} to {self.recipients}>"


# Compliance counts a clock in the period its outcome was decided: met clocks by stopped_at,
# breached ones by breached_at. Both are range scans per kind.
sa.Index("ix_sla_clocks_kind_stopped_at", SLAClock.kind, SLAClock.stopped_at)
# Partial: "breached_at IS NULL" must never pick this index (most clocks are never breached).
sa.Index("ix_sla_clocks_kind_breached_at", SLAClock.kind, SLAClock.breached_at,
         sqlite_where=SLAClock.breached_at.is_not(None),
         postgresql_where=SLAClock.breached_at.is_not(None))
# Resolved-in-period figures (MTTR, FCR, reopen rate, people).
sa.Index("ix_tickets_resolved_at", Ticket.resolved_at)
# Past due but not yet swept (judged live, never rolled up): few rows, whatever the history.
sa.Index("ix_sla_clocks_unswept_due", SLAClock.kind, SLAClock.due_at,
         sqlite_where=sa.text("state = 'running' AND breached_at IS NULL"),
         postgresql_where=sa.text("state = 'running' AND breached_at IS NULL"))
# CSAT and unmet figures read these columns only: index-only range scans.
sa.Index("ix_surveys_created_answered", Survey.created_at, Survey.answered_at)
sa.Index("ix_surveys_answered_score", Survey.answered_at, Survey.score)
sa.Index("ix_unmet_requests_created_category", UnmetRequest.created_at, UnmetRequest.category)


#: Daily compliance rollup maintained by triggers (see reports/rollups.py).
report_counts = sa.Table(
    "report_counts", db.metadata,
    sa.Column("metric", sa.String(24), primary_key=True),
    sa.Column("dim", sa.String(12), primary_key=True),
    sa.Column("day", sa.Date, primary_key=True),
    sa.Column("key", sa.String(40), primary_key=True),  # '' = the total, or a NULL value
    sa.Column("n", sa.BigInteger, nullable=False),  # people.elapsed_us sums microseconds
)

#: What PostgreSQL's triggers add, appended without a key (no row lock shared by writers);
#: ``rollups.compact`` folds it into report_counts, readers sum both.
report_count_deltas = sa.Table(
    "report_count_deltas", db.metadata,
    sa.Column("metric", sa.String(24), nullable=False),
    sa.Column("dim", sa.String(12), nullable=False),
    sa.Column("day", sa.Date, nullable=False),
    sa.Column("key", sa.String(40), nullable=False),
    sa.Column("n", sa.BigInteger, nullable=False),
    sa.Index("ix_report_count_deltas_metric_dim_day", "metric", "dim", "day"),
)

#: One row per measured duration (MTTA/MTTR, business and wall) of a stopped ticket clock,
#: with its histogram bucket: exact percentiles read one bucket (see reports/rollups.py).
report_durations = sa.Table(
    "report_durations", db.metadata,
    sa.Column("clock_id", sa.Integer, primary_key=True),
    sa.Column("measure", sa.String(8), primary_key=True),  # business | wall
    sa.Column("kind", sa.String(12), nullable=False),
    sa.Column("day", sa.Date, nullable=False),
    sa.Column("bucket", sa.Integer, nullable=False),
    sa.Column("value", sa.Float, nullable=False),
    sa.Index("ix_report_durations_rank", "kind", "measure", "bucket", "value", "day"),
)


@sa.event.listens_for(db.metadata, "after_create")
def _create_report_triggers(target, connection, **kw) -> None:
    """create_all (tests, init-db) gets the same triggers as the migration, once: only the
    create_all call that creates the rollup table adds them (a later create_all on the same
    database creates nothing and must not fail on triggers that exist)."""
    from servicedesk.reports.rollups import create_triggers

    if report_counts in kw.get("tables", ()):
        create_triggers(connection)
