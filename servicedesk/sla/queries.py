"""Read side of SLA clocks: what the ticket page and the queue show.

The queue's SLA column, sort and filters come from one SQL expression over the ticket's
resolution clock (``sla_state``), so "at risk" and "breached" mean the same thing on the page,
in the filter and in the API, and are computed by the database in the queue's one query.
"""
from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from servicedesk.sla import services as sla
from servicedesk.sla.models import ClockFiring, ClockKind, ClockState, SLAClock
from servicedesk.tickets.models import Ticket

#: A running resolution clock due within this is "at risk" even before its first warning.
AT_RISK_WITHIN = timedelta(hours=1)
#: Queue filters on the resolution clock.
SLA_FILTERS = {"at_risk": "At risk", "breached": "Breached"}
#: The ticket's own resolution clock (vendor OLA clocks have an engagement). A Core alias of
#: the table, so importing this module never forces the ORM mappers to configure.
ResolutionClock = SLAClock.__table__.alias("resolution_clock")


def resolution_clock_join(*states: ClockState) -> sa.ColumnElement[bool]:
    """ON clause joining ``tickets`` to its resolution clock (index ix_sla_clocks_ticket_kind).

    ``states`` narrows the join to clocks in those states, for callers that know no other
    state can match (an open ticket's resolution clock is never stopped; only a running clock
    can be at risk): PostgreSQL then reads those clocks through ix_sla_clocks_state_due
    instead of scanning every clock ever stopped.
    """
    C = ResolutionClock.c
    on = [C.ticket_id == Ticket.id, C.kind == ClockKind.resolution, C.engagement_id.is_(None)]
    if states:
        on.append(C.state.in_(states))
    return sa.and_(*on)


def join_states(view_is_open: bool, sla_filter: str) -> tuple[ClockState, ...]:
    """The clock states a queue query can need (see ``resolution_clock_join``)."""
    if sla_filter == "at_risk":
        return (ClockState.running,)
    if view_is_open:
        return (ClockState.running, ClockState.paused)
    return ()


def sla_state(now: datetime) -> sa.ColumnElement[str | None]:
    """The resolution clock as one word: breached, at_risk, on_track, paused, met, cancelled
    (NULL without a clock).

    Breached: recorded, or running past its due time, or paused with the target used up.
    At risk: running, not breached, and past a warning threshold (a firing below 100 %, or a
    crossing the sweep has not handled yet) or due within ``AT_RISK_WITHIN``.
    """
    C = ResolutionClock.c
    running = C.state == ClockState.running
    warned = sa.exists().where(ClockFiring.clock_id == C.id, ClockFiring.threshold < 100)
    return sa.case(
        (C.id.is_(None), sa.null()),
        (C.is_cancelled, "cancelled"),
        (sa.or_(C.breached_at.is_not(None), sa.and_(running, C.due_at <= now),
                sa.and_(C.state == ClockState.paused, C.elapsed_before >= C.target_seconds)),
         "breached"),
        (C.state == ClockState.stopped, "met"),
        (C.state == ClockState.paused, "paused"),
        (sa.or_(C.due_at <= now + AT_RISK_WITHIN, C.next_check_at <= now, warned), "at_risk"),
        else_="on_track")


def due_order() -> tuple:
    """"Due soonest": running resolution clocks by due time first; paused, stopped and
    clockless tickets after them (by priority)."""
    C = ResolutionClock.c
    return (sa.case((C.state == ClockState.running, 0), else_=1), C.due_at.asc(),
            Ticket.priority.asc(), Ticket.id.asc())


#: Colours of the states above (Bootstrap contextual names).
STATE_COLOURS = {"breached": "danger", "at_risk": "warning", "on_track": "success",
                 "paused": "secondary", "met": "success", "cancelled": "secondary"}


def firings_by_clock(session: Session, clock_ids: list[int]) -> dict[int, list[ClockFiring]]:
    """Threshold firings of the given clocks, in crossing order, in one query."""
    found: dict[int, list[ClockFiring]] = defaultdict(list)
    if clock_ids:
        for firing in session.scalars(sa.select(ClockFiring)
                                      .where(ClockFiring.clock_id.in_(clock_ids))
                                      .order_by(ClockFiring.crossed_at, ClockFiring.id)):
            found[firing.clock_id].append(firing)
    return found


def ticket_clocks(session: Session, ticket: Ticket, now: datetime, *,
                  engagement_ids: set[int] | None = None) -> list[sla.ClockStatus]:
    """Every clock of the ticket as shown to people; with ``engagement_ids`` only the OLA
    clocks of those engagements (what a vendor user may see)."""
    statuses = sla.ticket_clock_statuses(session, ticket, now)
    if engagement_ids is not None:
        statuses = [s for s in statuses if s.clock.engagement_id in engagement_ids]
    return statuses
