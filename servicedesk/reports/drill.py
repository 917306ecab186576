"""Drill-down: the tickets behind each dashboard figure, as one WHERE clause on tickets.

Each figure reuses the clause its number was counted with (reports.queries), so the list
always has exactly as many tickets as the figure counts (per ticket, not per clock).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session, joinedload

from servicedesk.errors import ValidationError
from servicedesk.feedback.models import Survey, UnmetRequest
from servicedesk.knowledge.models import ArticleUse
from servicedesk.reports import queries as q
from servicedesk.reports.sql import BUCKETS, bucket_start
from servicedesk.sla.models import ClockKind, SLAClock
from servicedesk.tickets.models import OPEN_STATUSES, Channel, Ticket
from servicedesk.tickets.queries import Page

FIGURES = {
    "judged": "Judged SLA clocks", "met": "SLA met", "breached": "SLA breached",
    "at_risk": "At risk now", "backlog": "Open backlog", "created": "Created",
    "resolved": "Resolved", "fcr": "First-contact resolution",
    "fcr_kb": "Knowledge-assisted FCR", "reopened": "Reopened", "escalated": "Escalated",
    "csat_low": "Low satisfaction (score 2 or less)", "csat": "Satisfaction answers",
    "unmet": "Unmet requests with a ticket", "person": "Resolved by one person",
    "kb_resolved": "Resolved with a knowledge article",
}


@dataclass(frozen=True)
class Drill:
    """What to list: a figure plus the optional narrowing the dashboard link carried."""

    figure: str
    kind: str | None = None
    dim: str | None = None
    value: str | None = None
    bucket: str | None = None
    unit: str = "day"
    age: str | None = None
    tier: int | None = None
    user_id: int | None = None

    def validate(self) -> Drill:
        if self.figure not in FIGURES:
            raise ValidationError(f"Unknown figure {self.figure!r}.", field="figure")
        if self.kind is not None and self.kind not in ("response", "resolution"):
            raise ValidationError("kind is response or resolution.", field="kind")
        if self.dim is not None and self.dim not in q.DIMENSIONS:
            raise ValidationError(f"dim is one of {', '.join(q.DIMENSIONS)}.", field="dim")
        if self.unit not in BUCKETS:
            raise ValidationError(f"unit is one of {', '.join(BUCKETS)}.", field="unit")
        if self.figure == "escalated" and self.tier not in (1, 2):
            raise ValidationError("tier is 1 or 2.", field="tier")
        if self.figure == "person" and self.user_id is None:
            raise ValidationError("user is required.", field="user")
        if self.age is not None and self.age not in {name for name, _, _ in q.AGE_BUCKETS}:
            raise ValidationError(f"Unknown age bucket {self.age!r}.", field="age")
        return self


def _dim_clause(dim: str, value: str | None) -> sa.ColumnElement[bool]:
    col = q._DIM_COLUMNS[dim]
    if value in (None, "", "none"):
        return col.is_(None)
    if dim == "channel":
        try:
            return col == Channel(value)
        except ValueError:
            raise ValidationError(f"Unknown channel {value!r}.", field="value") from None
    try:
        return col == int(value)
    except ValueError:
        raise ValidationError(f"{dim} value must be an id.", field="value") from None


def _in_bucket(col, d: Drill) -> sa.ColumnElement[bool]:
    return bucket_start(col, d.unit) == d.bucket if d.bucket else sa.true()


def clause(session: Session, d: Drill, period: q.Period, now: datetime
           ) -> sa.ColumnElement[bool]:
    """The WHERE clause selecting the tickets behind figure ``d`` in ``period``."""
    d.validate()
    f = d.figure
    if f in ("judged", "met", "breached"):
        j = q.judged_clocks(period, now)
        sub = sa.select(j.c.ticket_id).where(_in_bucket(j.c.decided_at, d))
        if d.kind:
            sub = sub.where(j.c.kind == ClockKind(d.kind))
        if f != "judged":
            sub = sub.where(j.c.is_breach == (1 if f == "breached" else 0))
        where = Ticket.id.in_(sub)
    elif f == "at_risk":
        where = Ticket.id.in_(sa.select(SLAClock.ticket_id).where(q.at_risk_clause(session, now)))
    elif f == "backlog":
        where = sa.and_(Ticket.status.in_(OPEN_STATUSES),
                        q.age_bucket_clause(d.age, now) if d.age else sa.true())
    elif f == "created":
        where = sa.and_(period.contains(Ticket.created_at), _in_bucket(Ticket.created_at, d))
    elif f == "escalated":
        where = sa.and_(period.contains(Ticket.created_at), q._tier_move(d.tier, higher=True))
    elif f == "kb_resolved":
        where = Ticket.id.in_(sa.select(ArticleUse.ticket_id).where(
            ArticleUse.is_resolution.is_(True), period.contains(ArticleUse.created_at)))
    elif f in ("csat", "csat_low", "unmet"):
        where = Ticket.id.in_(_feedback_tickets(f, period, d))
    else:  # figures over tickets resolved in the period
        where = sa.and_(period.contains(Ticket.resolved_at), _in_bucket(Ticket.resolved_at, d))
        if f == "fcr":
            where = sa.and_(where, Ticket.is_first_contact_resolution.is_(True))
        elif f == "fcr_kb":
            where = sa.and_(where, Ticket.is_first_contact_resolution.is_(True),
                            q._kb_assisted())
        elif f == "reopened":
            where = sa.and_(where, q._reopened())
        elif f == "person":
            where = sa.and_(where, Ticket.assignee_id == d.user_id)
    if d.dim:
        where = sa.and_(where, _dim_clause(d.dim, d.value))
    return where


def _feedback_tickets(figure: str, period: q.Period, d: Drill) -> sa.Select:
    if figure == "unmet":
        return sa.select(UnmetRequest.ticket_id).where(
            period.contains(UnmetRequest.created_at), UnmetRequest.ticket_id.is_not(None),
            _in_bucket(UnmetRequest.created_at, d))
    sub = sa.select(Survey.ticket_id).where(Survey.answered_at.is_not(None),
                                            period.contains(Survey.answered_at))
    return sub.where(Survey.score <= 2) if figure == "csat_low" else sub


def tickets(session: Session, d: Drill, period: q.Period, now: datetime, *, page: int = 1,
            per_page: int = 50) -> Page[Ticket]:
    """One page of the tickets behind a figure, newest first."""
    where = clause(session, d, period, now)
    total = session.scalar(sa.select(sa.func.count(Ticket.id)).where(where)) or 0
    rows = session.scalars(
        sa.select(Ticket).where(where)
        .options(joinedload(Ticket.group), joinedload(Ticket.assignee),
                 joinedload(Ticket.service))
        .order_by(Ticket.created_at.desc(), Ticket.id.desc())
        .limit(per_page).offset((page - 1) * per_page)).unique().all()
    return Page(items=list(rows), total=total, page=page, per_page=per_page)
