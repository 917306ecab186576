"""The SLA sweep: find clocks whose next threshold has passed and act on each crossing once.

One indexed query (``next_check_at <= now`` on a partial index) finds the work; nothing scans
open tickets. Each crossing inserts a ClockFiring row (unique per clock and threshold) with the
instant the threshold was *crossed*, runs its escalation actions, and moves the clock to its
next threshold, all in the caller's transaction. After downtime one sweep catches up every
crossing, oldest first, each still once.

Several sweepers may run at once (several scheduler processes or hosts): on PostgreSQL each
batch is claimed with ``FOR UPDATE SKIP LOCKED``, so two sweepers never process the same
clock; on SQLite transactions are serialised by ``BEGIN IMMEDIATE``. Either way the unique
firing key is the last line of defence. The caller commits after each batch.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from servicedesk.escalation.services import apply_rules
from servicedesk.sla import services as sla
from servicedesk.sla.models import ClockFiring, SLAClock
from servicedesk.tickets.models import EventKind, Ticket
from servicedesk.tickets.services import record_event

BATCH = 500


@dataclass
class SweepResult:
    clocks: int = 0
    firings: int = 0
    actions: int = 0

    def __iadd__(self, other: SweepResult) -> SweepResult:
        self.clocks += other.clocks
        self.firings += other.firings
        self.actions += other.actions
        return self


def due_clock_ids(session: Session, now: datetime, *, limit: int = BATCH) -> list[int]:
    """Claim up to ``limit`` due clocks (locked until commit on PostgreSQL)."""
    stmt = (sa.select(SLAClock.id).where(SLAClock.next_check_at <= now)
            .order_by(SLAClock.next_check_at).limit(limit))
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    return list(session.scalars(stmt))


def sweep_batch(session: Session, now: datetime, *, limit: int = BATCH) -> SweepResult:
    """Process one batch of due clocks; flushes. An empty result means nothing is due."""
    ids = due_clock_ids(session, now, limit=limit)
    result = SweepResult()
    if not ids:
        return result
    clocks = session.scalars(
        sa.select(SLAClock).where(SLAClock.id.in_(ids)).order_by(SLAClock.next_check_at)
        .options(selectinload(SLAClock.ticket).selectinload(Ticket.group),
                 selectinload(SLAClock.policy), selectinload(SLAClock.pauses))).all()
    cache = sla.CalendarCache(session)
    for clock in clocks:
        result.clocks += 1
        cal = cache.get(clock.calendar_id)
        while clock.next_check_at is not None and clock.next_check_at <= now:
            result.firings += 1
            result.actions += _fire(session, clock, cal, now)
    session.flush()
    return result


def sweep(session: Session, now: datetime, *, commit=None, limit: int = BATCH) -> SweepResult:
    """Sweep until nothing is due; ``commit`` (if given) is called after each batch."""
    total = SweepResult()
    while True:
        batch = sweep_batch(session, now, limit=limit)
        if commit is not None:
            commit()
        if not batch.clocks:
            return total
        total += batch


def _fire(session: Session, clock: SLAClock, cal, now: datetime) -> int:
    threshold, crossed_at = clock.next_threshold, clock.next_check_at
    session.add(ClockFiring(clock=clock, threshold=threshold, crossed_at=crossed_at,
                            processed_at=now))
    what = f"{clock.kind.label} {'OLA' if clock.engagement_id else 'SLA'}"
    if threshold >= 100:
        clock.breached_at = crossed_at
        text = f"{what} breached at {crossed_at:%Y-%m-%d %H:%M:%S} UTC"
    else:
        text = f"{what} passed {threshold}% of its target at {crossed_at:%Y-%m-%d %H:%M:%S} UTC"
    record_event(session, clock.ticket, EventKind.sla, actor=None, now=now,
                 field=clock.kind.value, new=f"{threshold}%", body=text)
    actions = apply_rules(session, clock, threshold, crossed_at, now)
    sla.advance_threshold(clock, cal)
    return actions
