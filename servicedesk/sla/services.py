"""Start, pause, resume, re-target and stop SLA clocks; keep ``due_at``/``next_check_at`` true.

Rules (docs/ARCHITECTURE.md has the long form):
- Every ticket gets a response and a resolution clock from the most specific matching policy.
- Response stops at the first staff response (first public reply, or the assignee taking the
  ticket into progress), or when the ticket is resolved.
- Resolution stops at resolved; reopening resumes it, keeping the time already counted.
- Statuses in the policy's ``pause_statuses`` pause the resolution clock; resuming moves the
  due time by the paused business time (the elapsed counter simply does not grow).
- A priority change re-targets running and paused clocks: elapsed business time is kept, the
  target (and calendar) change. Thresholds already crossed under the new target fire at the
  next sweep with the re-target instant as their time.
- Cancelling stops clocks unjudged (neither met nor breached), unless already breached.
Every function flushes nothing itself except where it adds rows; callers own the transaction.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from servicedesk.db import insert_now
from servicedesk.refcache import reference_cache
from servicedesk.sla.calendar import (
    WorkingCalendar, add_business_time, business_seconds_between,
)
from servicedesk.sla.models import (
    Calendar, ClockKind, ClockPause, ClockState, Holiday, SLAClock, SLAPolicy,
)
from servicedesk.tickets.models import Status, Ticket

TICKET_KINDS = (ClockKind.response, ClockKind.resolution)
#: Clocks without a policy (vendor OLAs) warn at these percentages.
DEFAULT_THRESHOLDS = (50, 75, 100)

# Policies and calendars change rarely and are read by every new ticket: cached per process.
reference_cache.watch(SLAPolicy, Calendar, Holiday)


class CalendarCache:
    """WorkingCalendar objects by calendar id, built once per operation or sweep (and shared
    between requests through the reference cache while the calendar tables are unchanged)."""

    def __init__(self, session: Session) -> None:
        self._session = session
        self._by_id: dict[int, WorkingCalendar] = {}

    def get(self, calendar_id: int) -> WorkingCalendar:
        cal = self._by_id.get(calendar_id)
        if cal is None:
            cal = reference_cache.get(
                self._session, ("working_calendar", calendar_id),
                lambda session: working_calendar(session.get(Calendar, calendar_id)))
            self._by_id[calendar_id] = cal
        return cal


def working_calendar(calendar: Calendar) -> WorkingCalendar:
    return WorkingCalendar.from_spec(calendar.timezone, calendar.weekly,
                                     holidays=[h.day for h in calendar.holidays])


@dataclass(frozen=True)
class PolicyTerms:
    """An active policy's matching criteria and targets, as plain (cacheable) data."""

    id: int
    priority: int | None
    service_id: int | None
    category_id: int | None
    calendar_id: int
    response_minutes: int
    resolution_minutes: int
    thresholds: tuple[int, ...]

    def matches(self, priority: int, service_id: int | None, category_id: int | None) -> bool:
        return ((self.priority is None or self.priority == priority)
                and (self.service_id is None or self.service_id == service_id)
                and (self.category_id is None or self.category_id == category_id))

    @property
    def specificity(self) -> int:
        """Service match 4, category 2, priority 1."""
        return ((4 if self.service_id is not None else 0)
                + (2 if self.category_id is not None else 0)
                + (1 if self.priority is not None else 0))


def _load_active_policies(session: Session) -> tuple[PolicyTerms, ...]:
    return tuple(PolicyTerms(id=p.id, priority=p.priority, service_id=p.service_id,
                             category_id=p.category_id, calendar_id=p.calendar_id,
                             response_minutes=p.response_minutes,
                             resolution_minutes=p.resolution_minutes,
                             thresholds=tuple(p.thresholds))
                 for p in session.scalars(sa.select(SLAPolicy).where(SLAPolicy.is_active)))


def matching_terms(session: Session, *, priority: int, service_id: int | None,
                   category_id: int | None) -> PolicyTerms | None:
    """The most specific active policy (service 4, category 2, priority 1; ties: lowest id)."""
    candidates = [t for t in reference_cache.get(session, "sla_policies", _load_active_policies)
                  if t.matches(priority, service_id, category_id)]
    return max(candidates, key=lambda t: (t.specificity, -t.id), default=None)


def match_policy(session: Session, *, priority: int, service_id: int | None,
                 category_id: int | None) -> SLAPolicy | None:
    """The most specific active policy as a row (see :func:`matching_terms`)."""
    terms = matching_terms(session, priority=priority, service_id=service_id,
                           category_id=category_id)
    return None if terms is None else session.get(SLAPolicy, terms.id)


def policy_for(session: Session, ticket: Ticket) -> SLAPolicy | None:
    return match_policy(session, priority=ticket.priority, service_id=ticket.service_id,
                        category_id=ticket.category_id)


def thresholds_of(clock: SLAClock) -> list[int]:
    if clock.policy is not None and clock.kind in TICKET_KINDS:
        return clock.policy.thresholds
    return list(DEFAULT_THRESHOLDS)


def _target_seconds(policy: SLAPolicy | PolicyTerms, kind: ClockKind) -> int:
    minutes = policy.response_minutes if kind is ClockKind.response else policy.resolution_minutes
    return minutes * 60


# --- clock arithmetic ----------------------------------------------------------------------

def elapsed_seconds(clock: SLAClock, cal: WorkingCalendar, now: datetime) -> float:
    """Business seconds counted so far (frozen while paused or stopped)."""
    if clock.state is ClockState.running and clock.segment_started_at is not None:
        return clock.elapsed_before + business_seconds_between(cal, clock.segment_started_at,
                                                               max(now, clock.segment_started_at))
    return clock.elapsed_before


def _instant_of(clock: SLAClock, cal: WorkingCalendar, threshold: int) -> datetime:
    """When a running clock reaches ``threshold`` % of its target (its segment start if the
    threshold was already passed before the segment began)."""
    needed = clock.target_seconds * threshold / 100 - clock.elapsed_before
    if needed <= 0:
        return clock.segment_started_at
    return add_business_time(cal, clock.segment_started_at, needed)


def reschedule(clock: SLAClock, cal: WorkingCalendar) -> None:
    """Recompute ``due_at`` and ``next_check_at`` from the stored state."""
    if clock.state is not ClockState.running:
        clock.due_at = None
        clock.next_check_at = None
        return
    clock.due_at = _instant_of(clock, cal, 100)
    if clock.next_threshold is None:
        clock.next_check_at = None
    else:
        clock.next_check_at = _instant_of(clock, cal, clock.next_threshold)


def advance_threshold(clock: SLAClock, cal: WorkingCalendar) -> None:
    """Move to the threshold after the one just fired and time it (the sweep's hot path:
    firing changes neither the elapsed time nor the stored due time, which is reused)."""
    later = [t for t in thresholds_of(clock) if t > (clock.next_threshold or 100)]
    clock.next_threshold = later[0] if later else None
    if clock.state is not ClockState.running or clock.due_at is None:
        reschedule(clock, cal)
    elif clock.next_threshold is None:
        clock.next_check_at = None
    elif clock.next_threshold >= 100:
        clock.next_check_at = clock.due_at
    else:
        clock.next_check_at = _instant_of(clock, cal, clock.next_threshold)


def new_clock(session: Session, *, ticket: Ticket, kind: ClockKind, target_seconds: int,
              calendar_id: int, now: datetime, cal: WorkingCalendar,
              policy: SLAPolicy | PolicyTerms | None = None, engagement=None) -> SLAClock:
    clock = _running_clock(kind=kind, target_seconds=target_seconds, calendar_id=calendar_id,
                           now=now, cal=cal, policy=policy, ticket=ticket,
                           engagement=engagement)
    session.add(clock)
    return clock


def _running_clock(*, kind: ClockKind, target_seconds: int, calendar_id: int, now: datetime,
                   cal: WorkingCalendar, policy: SLAPolicy | PolicyTerms | None,
                   **links) -> SLAClock:
    clock = SLAClock(kind=kind, policy_id=None if policy is None else policy.id,
                     calendar_id=calendar_id, state=ClockState.running,
                     target_seconds=target_seconds, started_at=now, segment_started_at=now,
                     elapsed_before=0.0, is_cancelled=False, **links)
    clock.next_threshold = (policy.thresholds if policy is not None and kind in TICKET_KINDS
                            else list(DEFAULT_THRESHOLDS))[0]
    reschedule(clock, cal)
    return clock


def pause(clock: SLAClock, cal: WorkingCalendar, now: datetime, reason: str) -> None:
    if clock.state is not ClockState.running:
        return
    clock.elapsed_before = elapsed_seconds(clock, cal, now)
    clock.segment_started_at = None
    clock.state = ClockState.paused
    clock.pauses.append(ClockPause(paused_at=now, reason=reason))
    reschedule(clock, cal)


def resume(clock: SLAClock, cal: WorkingCalendar, now: datetime) -> None:
    """Restart a paused or stopped clock from its counted time (reopen resumes, too)."""
    if clock.state is ClockState.running:
        return
    if clock.state is ClockState.paused and clock.pauses and clock.pauses[-1].resumed_at is None:
        clock.pauses[-1].resumed_at = now
    clock.state = ClockState.running
    clock.segment_started_at = now
    clock.stopped_at = None
    clock.is_cancelled = False
    reschedule(clock, cal)


def stop(clock: SLAClock, cal: WorkingCalendar, now: datetime, *, cancelled: bool = False) -> None:
    if clock.state is ClockState.stopped:
        return
    if clock.state is ClockState.paused and clock.pauses and clock.pauses[-1].resumed_at is None:
        clock.pauses[-1].resumed_at = now
    clock.elapsed_before = elapsed_seconds(clock, cal, now)
    clock.segment_started_at = None
    clock.state = ClockState.stopped
    clock.stopped_at = now
    clock.is_cancelled = cancelled and clock.breached_at is None
    # A clock stopped past its target before any sweep ran was still breached, at its due time.
    if clock.breached_at is None and not clock.is_cancelled \
            and clock.elapsed_before >= clock.target_seconds:
        clock.breached_at = clock.due_at or now
    reschedule(clock, cal)


def retarget(clock: SLAClock, cal_old: WorkingCalendar, cal_new: WorkingCalendar,
             now: datetime, *, policy: SLAPolicy, calendar_id: int) -> None:
    """New target from ``policy``, elapsed kept; unfired thresholds re-timed."""
    if clock.state is ClockState.stopped:
        return
    clock.elapsed_before = elapsed_seconds(clock, cal_old, now)
    if clock.state is ClockState.running:
        clock.segment_started_at = now
    clock.policy = policy
    clock.calendar_id = calendar_id
    clock.target_seconds = _target_seconds(policy, clock.kind)
    if clock.next_threshold is not None:
        later = [t for t in policy.thresholds if t >= clock.next_threshold]
        clock.next_threshold = later[0] if later else None
    reschedule(clock, cal_new)


# --- ticket lifecycle hooks ----------------------------------------------------------------

def ticket_clocks(ticket: Ticket, *kinds: ClockKind) -> list[SLAClock]:
    kinds = kinds or TICKET_KINDS
    return [c for c in ticket.clocks if c.kind in kinds and c.engagement_id is None]


def start_ticket_clocks(session: Session, ticket: Ticket, now: datetime) -> list[SLAClock]:
    """Response and resolution clocks for a new, already inserted ticket (none if no policy
    matches), inserted at once by one INSERT ... RETURNING (``db.insert_now``): intake is the
    hot write path. ``ticket.clocks`` is set to them."""
    terms = matching_terms(session, priority=ticket.priority, service_id=ticket.service_id,
                           category_id=ticket.category_id)
    if terms is None:
        set_committed_value(ticket, "clocks", [])
        return []
    cal = CalendarCache(session).get(terms.calendar_id)
    clocks = [_running_clock(kind=kind, policy=terms, now=now, cal=cal,
                             target_seconds=_target_seconds(terms, kind),
                             calendar_id=terms.calendar_id, ticket_id=ticket.id,
                             engagement_id=None)
              for kind in TICKET_KINDS]
    insert_now(session, *clocks)
    for clock in clocks:
        set_committed_value(clock, "ticket", ticket)
    set_committed_value(ticket, "clocks", clocks)
    return clocks


def on_first_response(session: Session, ticket: Ticket, now: datetime) -> None:
    cache = CalendarCache(session)
    for clock in ticket_clocks(ticket, ClockKind.response):
        stop(clock, cache.get(clock.calendar_id), now)


def on_status_changed(session: Session, ticket: Ticket, old: Status, new: Status,
                      now: datetime) -> None:
    """Pause, resume or stop the ticket's clocks for a status move."""
    cache = CalendarCache(session)
    for clock in ticket_clocks(ticket):
        cal = cache.get(clock.calendar_id)
        if new is Status.cancelled:
            stop(clock, cal, now, cancelled=True)
        elif new in (Status.resolved, Status.closed):
            stop(clock, cal, now)
        elif clock.kind is ClockKind.resolution:
            pausing = clock.policy is not None and new.value in clock.policy.pause_statuses
            if pausing:
                pause(clock, cal, now, reason=new.value)
            elif old is Status.resolved or clock.state is ClockState.paused:
                resume(clock, cal, now)
    session.flush()


def on_priority_changed(session: Session, ticket: Ticket, now: datetime) -> None:
    """Re-target open clocks to the policy that matches the new priority."""
    policy = policy_for(session, ticket)
    if policy is None:
        return
    cache = CalendarCache(session)
    for clock in ticket_clocks(ticket):
        retarget(clock, cache.get(clock.calendar_id), cache.get(policy.calendar_id), now,
                 policy=policy, calendar_id=policy.calendar_id)
    session.flush()


# --- what people see -----------------------------------------------------------------------

@dataclass(frozen=True)
class ClockStatus:
    clock: SLAClock
    label: str
    state: str  # running, paused, met, breached, cancelled
    elapsed_seconds: float
    target_seconds: int
    remaining_seconds: float
    percent: float
    due_at: datetime | None
    #: The first warning threshold (percent): running clocks past it show amber.
    warning_percent: int = 50

    @property
    def colour(self) -> str:
        """Bootstrap colour: green well within, amber past the first warning, red breached."""
        if self.state == "breached":
            return "danger"
        if self.state in ("met", "cancelled"):
            return "success" if self.state == "met" else "secondary"
        if self.state == "paused":
            return "secondary"
        return "warning" if self.percent >= self.warning_percent else "success"


def clock_status(clock: SLAClock, cal: WorkingCalendar, now: datetime) -> ClockStatus:
    elapsed = elapsed_seconds(clock, cal, now)
    if clock.is_cancelled:
        state = "cancelled"
    elif clock.breached_at is not None or elapsed >= clock.target_seconds:
        state = "breached"
    elif clock.state is ClockState.stopped:
        state = "met"
    else:
        state = clock.state.value
    return ClockStatus(clock=clock, label=clock.kind.label, state=state, elapsed_seconds=elapsed,
                       target_seconds=clock.target_seconds,
                       remaining_seconds=clock.target_seconds - elapsed,
                       percent=round(100 * elapsed / clock.target_seconds, 1),
                       due_at=clock.due_at, warning_percent=thresholds_of(clock)[0])


def ticket_clock_statuses(session: Session, ticket: Ticket, now: datetime) -> list[ClockStatus]:
    cache = CalendarCache(session)
    return [clock_status(c, cache.get(c.calendar_id), now)
            for c in sorted(ticket.clocks, key=lambda c: c.id)]
