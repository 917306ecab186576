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
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError
from sqlalchemy.orm.util import identity_key

from servicedesk.escalation.services import ActionLog, apply_rules
from servicedesk.sla import services as sla
from servicedesk.sla.batch import BatchReader, ClockView
from servicedesk.db import insert_rows, update_rows
from servicedesk.sla.models import ClockFiring, SLAClock
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
    """Process one batch of due clocks; writes, does not commit. An empty result means
    nothing is due.

    Everything the actions read is loaded for the whole batch up front as plain views (one
    query for the clocks and their tickets, one per referenced table: ``sla.batch``); the
    actions and the threshold arithmetic run on those views; then firings, history events,
    notices and e-mails are inserted in bulk, the clocks' new thresholds written by one
    statement, and the escalated tickets by one (with their version check).
    """
    ids = due_clock_ids(session, now, limit=limit)
    result = SweepResult()
    if not ids:
        return result
    cache = sla.CalendarCache(session)
    reader = BatchReader(session)
    log = ActionLog(reader)
    firings: list[dict] = []
    clocks = reader.clocks(ids)
    for clock in clocks:
        result.clocks += 1
        cal = cache.get(clock.calendar_id)
        while clock.next_check_at is not None and clock.next_check_at <= now:
            result.firings += 1
            result.actions += _fire(session, clock, cal, now, log, firings)
    insert_rows(session, ClockFiring.__table__, firings)
    _write_clocks(session, clocks)
    _write_tickets(session, {clock.ticket.id: clock.ticket for clock in clocks}.values())
    log.write(session)
    return result


#: What firing changes on a clock.
_FIRED_COLUMNS = ("next_threshold", "next_check_at", "breached_at")


def _write_clocks(session: Session, clocks: list[ClockView]) -> None:
    """The batch's clocks in one bulk UPDATE; ORM copies of them already in the session are
    expired, so they read back exactly what was written."""
    update_rows(session, SLAClock.__table__,
                [{"id": c.id, "next_threshold": c.next_threshold, "next_check_at": c.next_check_at,
                  "breached_at": c.breached_at} for c in clocks],
                set_={name: name for name in _FIRED_COLUMNS})
    _expire_loaded(session, SLAClock, (clock.id for clock in clocks))


#: What escalation changes on a ticket (``TicketView.changes``).
_TICKET_COLUMNS = ("group_id", "assignee_id", "tier", "status", "updated_at")


def _write_tickets(session: Session, tickets) -> None:
    """Escalated tickets in one bulk UPDATE that bumps each version only where it is still
    the one read (the ORM's optimistic lock): a ticket changed meanwhile by someone else
    fails the batch (StaleDataError), which then rolls back and is swept again."""
    rows = [{"id": t.id, "version": t.version, "new_version": t.version + 1, **changes}
            for t in tickets if (changes := t.changes()) is not None]
    updated = update_rows(session, Ticket.__table__, rows, match=("id", "version"),
                          set_={"version": "new_version",
                                **{name: name for name in _TICKET_COLUMNS}})
    if updated != len(rows):
        raise StaleDataError(f"{len(rows) - updated} of {len(rows)} escalated tickets were "
                             "changed by someone else during the sweep")
    _expire_loaded(session, Ticket, (row["id"] for row in rows))


def _expire_loaded(session: Session, model, ids) -> None:
    """Expire the ORM objects of ``model`` among ``ids`` that the session holds (a caller's
    objects must not show the state from before a bulk UPDATE)."""
    if not session.identity_map:
        return
    for pk in ids:
        obj = session.identity_map.get(identity_key(model, pk))
        if obj is not None:
            session.expire(obj)


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


def _fire(session: Session, clock: ClockView, cal, now: datetime, log: ActionLog,
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
