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
from sqlalchemy.orm import Session, joinedload, selectinload

from servicedesk.accounts.models import Group
from servicedesk.catalog.models import Service
from servicedesk.escalation.models import VendorEngagement
from servicedesk.escalation.services import ActionLog, apply_rules
from servicedesk.sla import services as sla
from servicedesk.sla.models import ClockFiring, SLAClock, SLAPolicy
from servicedesk.tickets.models import EventKind, Ticket

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


def due_clocks_statement(session: Session, now: datetime, *, limit: int = BATCH) -> sa.Select:
    """The sweep's one query: a probe of the partial index on ``next_check_at``."""
    stmt = (sa.select(SLAClock.id).where(SLAClock.next_check_at <= now)
            .order_by(SLAClock.next_check_at).limit(limit))
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    return stmt


def due_clock_ids(session: Session, now: datetime, *, limit: int = BATCH) -> list[int]:
    """Claim up to ``limit`` due clocks (locked until commit on PostgreSQL)."""
    return list(session.scalars(due_clocks_statement(session, now, limit=limit)))


def sweep_batch(session: Session, now: datetime, *, limit: int = BATCH) -> SweepResult:
    """Process one batch of due clocks; flushes. An empty result means nothing is due.

    Everything the actions read is loaded for the whole batch up front (clocks, tickets,
    groups, people, policies and rules: a handful of IN queries); firings, history events,
    notices and e-mails are inserted in bulk at the end, the clocks' new thresholds with one
    UPDATE, and escalated tickets by one flush.
    """
    ids = due_clock_ids(session, now, limit=limit)
    result = SweepResult()
    if not ids:
        return result
    cache = sla.CalendarCache(session)
    log = ActionLog()
    firings: list[dict] = []
    clocks = _load(session, ids)
    with session.no_autoflush:  # the clocks are written below in one statement
        for clock in clocks:
            result.clocks += 1
            cal = cache.get(clock.calendar_id)
            while clock.next_check_at is not None and clock.next_check_at <= now:
                result.firings += 1
                result.actions += _fire(session, clock, cal, now, log, firings)
        if firings:
            session.execute(ClockFiring.__table__.insert(), firings)
        _write_clocks(session, clocks)
        log.write(session)
    session.flush()  # escalated tickets (versioned rows) through the ORM
    return result


#: What firing changes on a clock.
_FIRED_COLUMNS = ("next_threshold", "next_check_at", "breached_at")


def _write_clocks(session: Session, clocks: list[SLAClock]) -> None:
    """One executemany UPDATE for the batch's clocks instead of an ORM flush of each; the
    objects are then expired, so they read back exactly what was written."""
    table = SLAClock.__table__
    stmt = table.update().where(table.c.id == sa.bindparam("clock_id")).values(
        {name: sa.bindparam(name) for name in _FIRED_COLUMNS})
    session.execute(stmt, [{"clock_id": clock.id, **{name: getattr(clock, name)
                                                       for name in _FIRED_COLUMNS}}
                           for clock in clocks])
    for clock in clocks:
        session.expire(clock)


#: What the actions read of a ticket (the rest, long texts included, is not loaded).
_TICKET_COLUMNS = (Ticket.title, Ticket.priority, Ticket.status, Ticket.tier, Ticket.group_id,
                   Ticket.assignee_id, Ticket.service_id, Ticket.version)


def _load(session: Session, ids: list[int]) -> list[SLAClock]:
    """The claimed clocks, due order, with what their actions read (batch loads, no per-clock
    queries)."""
    ticket = joinedload(SLAClock.ticket, innerjoin=True)
    group = ticket.selectinload(Ticket.group)
    engagement = selectinload(SLAClock.engagement)  # vendor OLA clocks
    return list(session.scalars(
        sa.select(SLAClock).where(SLAClock.id.in_(ids))
        .order_by(SLAClock.next_check_at, SLAClock.id)
        .options(ticket.load_only(*_TICKET_COLUMNS), ticket.selectinload(Ticket.assignee),
                 ticket.selectinload(Ticket.service).selectinload(Service.expert_group),
                 group.selectinload(Group.dispatcher), group.selectinload(Group.manager),
                 selectinload(SLAClock.policy).selectinload(SLAPolicy.rules),
                 engagement.selectinload(VendorEngagement.vendor),
                 engagement.selectinload(VendorEngagement.requested_by))))


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


def _fire(session: Session, clock: SLAClock, cal, now: datetime, log: ActionLog,
          firings: list[dict]) -> int:
    threshold, crossed_at = clock.next_threshold, clock.next_check_at
    firings.append({"clock_id": clock.id, "threshold": threshold, "crossed_at": crossed_at,
                    "processed_at": now})
    what = f"{clock.kind.label} {'OLA' if clock.engagement_id else 'SLA'}"
    if threshold >= 100:
        clock.breached_at = crossed_at
        text = f"{what} breached at {crossed_at:%Y-%m-%d %H:%M:%S} UTC"
    else:
        text = f"{what} passed {threshold}% of its target at {crossed_at:%Y-%m-%d %H:%M:%S} UTC"
    log.event(clock.ticket, EventKind.sla, actor=None, now=now, field=clock.kind.value,
              new=f"{threshold}%", body=text)
    actions = apply_rules(session, clock, threshold, crossed_at, now, log=log)
    sla.advance_threshold(clock, cal)
    return actions
