"""Escalation actions, manual escalation, and the vendor engagement workflow with its budget.

Automatic actions run from the SLA sweep (``apply_rules``), once per clock and threshold: the
sweep records a ClockFiring row (unique per clock and threshold) in the same transaction, so
the actions of one crossing commit together exactly once or not at all.
"""
from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal, InvalidOperation
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session
from sqlalchemy.orm.util import identity_key

from servicedesk.accounts.models import Group, Role, User, Vendor
from servicedesk.errors import Conflict, InvalidTransition, PermissionDenied, ValidationError
from servicedesk.escalation.models import Budget, EngagementState, VendorEngagement
from servicedesk.notifications.services import NoticeBatch, notify
from servicedesk.sla import services as sla
from servicedesk.db import insert_rows
from servicedesk.sla.models import (
    Calendar, ClockKind, EscalationAction, SLAClock,
)
from servicedesk.tickets.models import EventKind, Status, Ticket, TicketEvent
from servicedesk.tickets.services import event_row, record_event

E = EngagementState


# --- helpers -------------------------------------------------------------------------------

def _managers(session: Session, ticket: Ticket) -> list[User]:
    """The ticket group's manager, or every active manager when the group names none."""
    if ticket.group is not None and ticket.group.manager is not None:
        return [ticket.group.manager]
    return list(session.scalars(sa.select(User).where(User.role == Role.manager,
                                                      User.is_active_account)))


def _dispatcher(ticket: Ticket) -> User | None:
    return ticket.group.dispatcher if ticket.group is not None else None


def expert_group_for(session: Session, ticket: Ticket) -> Group | None:
    """The service's expert group, else the first tier-2 group by name."""
    if ticket.service is not None and ticket.service.expert_group is not None:
        return ticket.service.expert_group
    return session.scalar(sa.select(Group).where(Group.tier == 2).order_by(Group.name).limit(1))


def _money(value: Any, field: str) -> Decimal:
    try:
        amount = Decimal(str(value)).quantize(Decimal("0.01"))
    except (InvalidOperation, ValueError):
        raise ValidationError(f"{field.replace('_', ' ').capitalize()} must be an amount.",
                              field=field) from None
    if amount < 0 or amount > Decimal("10000000"):
        raise ValidationError(f"{field.replace('_', ' ').capitalize()} must be between 0 and "
                              "10,000,000.", field=field)
    return amount


def _reason(value: Any, field: str = "reason") -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValidationError("Give a reason.", field=field)
    if len(value) > 5000:
        raise ValidationError("The reason is too long (5,000 characters at most).", field=field)
    return value.strip()


# --- where actions write ------------------------------------------------------------------

class DirectLog:
    """History events and notices written at once through the ORM (manual actions)."""

    batched = False

    def __init__(self, session: Session) -> None:
        self.session = session

    def event(self, ticket: Ticket, kind: EventKind, **kw) -> None:
        record_event(self.session, ticket, kind, **kw)

    def notify(self, users, **kw) -> int:
        return len(notify(self.session, users, **kw))

    def managers(self, ticket: Ticket) -> list[User]:
        return _managers(self.session, ticket)

    def expert_group(self, ticket: Ticket) -> Group | None:
        return expert_group_for(self.session, ticket)


class ActionLog:
    """History events and notices collected across many actions and written by ``write``
    with a few bulk INSERTs: the SLA sweep's hot path (one per batch of clocks).

    The sweep's actions run on its batch views (``sla.batch``); ``reader`` answers the
    fallbacks (every active manager, the first tier-2 group) once per batch."""

    batched = True

    def __init__(self, reader=None) -> None:
        self.events: list[dict] = []
        self.notices = NoticeBatch()
        self.reader = reader
        self._ticket_ids: set[int] = set()

    def event(self, ticket: Ticket, kind: EventKind, **kw) -> None:
        self.events.append(event_row(ticket, kind, **kw))
        self._ticket_ids.add(ticket.id)

    def notify(self, users, **kw) -> int:
        return self.notices.add(users, **kw)

    def managers(self, ticket) -> list:
        if ticket.group is not None and ticket.group.manager is not None:
            return [ticket.group.manager]
        return self.reader.all_managers()

    def expert_group(self, ticket):
        if ticket.service is not None and ticket.service.expert_group is not None:
            return ticket.service.expert_group
        return self.reader.first_expert_group()

    def write(self, session: Session) -> None:
        """Insert what was collected (events in the order they happened)."""
        insert_rows(session, TicketEvent.__table__, self.events)
        self.notices.write(session)
        for ticket_id in self._ticket_ids:  # loaded histories no longer hold every row
            ticket = session.identity_map.get(identity_key(Ticket, ticket_id))
            if ticket is not None and "events" in ticket.__dict__:
                session.expire(ticket, ["events"])
        self.events, self._ticket_ids = [], set()


# --- automatic actions (called by the sweep) -----------------------------------------------

def apply_rules(session: Session, clock: SLAClock, threshold: int, crossed_at: datetime,
                now: datetime, *, log: ActionLog | None = None) -> int:
    """Run the actions configured for this clock kind and threshold; returns how many acted.

    An action counts when it did something: a notice went to at least one person, the ticket
    was reassigned, or a history event was written (manager escalation, vendor proposal).
    With ``log`` (the sweep's batch; ``clock`` and its ticket may then be the batch's views)
    events and notices are collected there for one bulk write; without, written at once.
    """
    out = log if log is not None else DirectLog(session)
    if clock.engagement_id is not None:
        return _ola_warning(out, clock, threshold, now)
    if clock.policy is None:
        return 0
    done = 0
    for rule in clock.policy.rules:
        if rule.clock_kind is not clock.kind or rule.threshold != threshold:
            continue
        done += _run_action(session, out, rule.action, clock.ticket, clock, threshold, now)
    return done


def _headline(clock: SLAClock, threshold: int) -> str:
    what = f"{clock.kind.label} SLA"
    return f"{what} breached" if threshold >= 100 else f"{what} at {threshold}%"


def _run_action(session, out, action: EscalationAction, ticket: Ticket, clock: SLAClock,
                threshold: int, now: datetime) -> int:
    """One rule action; 1 if it acted (see ``apply_rules``), else 0."""
    title = f"{ticket.number}: {_headline(clock, threshold)} — {ticket.title}"
    body = (f"{ticket.number} (P{ticket.priority}, {ticket.status.label}) "
            f"{_headline(clock, threshold).lower()}; due {clock.due_at:%Y-%m-%d %H:%M} UTC.")
    if action is EscalationAction.notify:
        sent = out.notify([ticket.assignee, _dispatcher(ticket)], kind="sla_warning"
                          if threshold < 100 else "sla_breach", title=title, body=body, now=now,
                          ticket=ticket)
        return 1 if sent else 0
    if action is EscalationAction.notify_manager:
        out.notify(out.managers(ticket), kind="escalated_manager", title=title,
                   body=body, now=now, ticket=ticket)
        out.event(ticket, EventKind.escalated, actor=None, now=now, field="manager",
                  body=f"Hierarchical escalation: {body}")
    elif action is EscalationAction.reassign_expert:
        group = out.expert_group(ticket)
        if group is None or ticket.tier >= 2 or not ticket.is_open:
            return 0  # already with experts (or further), or nowhere to send it
        escalate_to_group(session, ticket, group, actor=None, now=now,
                          reason=f"Automatic: {_headline(clock, threshold).lower()}", log=out)
    elif action is EscalationAction.propose_vendor:
        out.notify([*out.managers(ticket), _dispatcher(ticket)],
                   kind="vendor_proposal", title=f"{ticket.number}: consider a vendor engagement",
                   body=body + " Consider engaging a vendor.", now=now, ticket=ticket)
        out.event(ticket, EventKind.escalated, actor=None, now=now, field="vendor_proposal",
                  body=f"Vendor engagement proposed: {body}")
    return 1


def _ola_warning(out, clock, threshold, now) -> int:
    engagement = clock.engagement
    title = (f"{clock.ticket.number}: {engagement.vendor.name} "
             f"{_headline(clock, threshold).replace('SLA', 'OLA')}")
    sent = out.notify([engagement.requested_by, *out.managers(clock.ticket)],
                      kind="ola_breach" if threshold >= 100 else "ola_warning", title=title,
                      body=title, now=now, ticket=clock.ticket)
    return 1 if sent else 0


# --- manual escalation ---------------------------------------------------------------------

def escalate_to_group(session: Session, ticket: Ticket, group: Group, *, actor: User | None,
                      now: datetime, reason: str,
                      log: ActionLog | DirectLog | None = None) -> Ticket:
    """Functional escalation: hand the ticket to ``group`` (unassigned), tier follows it.

    With ``log`` (the sweep) history and notices go to the batch and nothing is flushed here.
    """
    if not ticket.is_open:
        raise InvalidTransition(f"{ticket.number} is {ticket.status.label}; reopen it first.")
    out = log if log is not None else DirectLog(session)
    old_group, old_tier = ticket.group, ticket.tier
    ticket.group = group
    ticket.assignee = None
    ticket.tier = group.tier
    if ticket.status is Status.assigned:
        ticket.status = Status.new
        out.event(ticket, EventKind.status_changed, actor=actor, now=now, field="status",
                  old="assigned", new="new", is_public=True)
    out.event(ticket, EventKind.field_changed, actor=actor, now=now, field="group",
              old=old_group.name if old_group else None, new=group.name)
    if old_tier != group.tier:
        out.event(ticket, EventKind.field_changed, actor=actor, now=now, field="tier",
                  old=old_tier, new=group.tier)
    out.event(ticket, EventKind.escalated, actor=actor, now=now, field="group", new=group.name,
              body=reason)
    ticket.updated_at = now
    out.notify([group.dispatcher], kind="escalated", now=now, ticket=ticket,
               title=f"{ticket.number} escalated to {group.name}: {ticket.title}",
               body=f"{ticket.number} (P{ticket.priority}) was escalated to {group.name}. "
                    f"Reason: {reason}")
    if not out.batched:
        session.flush()
    return ticket


def escalate_manually(session: Session, ticket: Ticket, *, actor: User, now: datetime,
                      target: str, reason: Any, group_id: int | None = None) -> Ticket:
    """An agent or expert escalates at any time: to an expert group or to a manager."""
    if actor.role not in (Role.agent, Role.expert, Role.manager, Role.admin):
        raise PermissionDenied("Only staff can escalate tickets.")
    reason = _reason(reason)
    if target == "group":
        group = session.get(Group, group_id) if isinstance(group_id, int) else None
        if group is None:
            raise ValidationError("Choose the group to escalate to.", field="group_id")
        return escalate_to_group(session, ticket, group, actor=actor, now=now,
                                 reason=reason)
    if target == "manager":
        notify(session, _managers(session, ticket), kind="escalated_manager", now=now,
               ticket=ticket, title=f"{ticket.number} escalated to you: {ticket.title}",
               body=f"{actor.name} escalated {ticket.number}: {reason}")
        record_event(session, ticket, EventKind.escalated, actor=actor, now=now,
                     field="manager", body=reason)
        ticket.updated_at = now
        session.flush()
        return ticket
    raise ValidationError("Escalate to a group or a manager (vendor work is requested "
                          "separately).", field="target")


# --- budget --------------------------------------------------------------------------------

def budget_for(session: Session, day: date) -> Budget | None:
    return session.scalar(sa.select(Budget).where(Budget.period_start <= day,
                                                  Budget.period_end >= day))


def set_budget(session: Session, *, actor: User, period_start: date, period_end: date,
               amount: Any) -> Budget:
    if actor.role not in (Role.manager, Role.admin):
        raise PermissionDenied("Only managers set budgets.")
    if period_end < period_start:
        raise ValidationError("The period ends before it starts.", field="period_end")
    amount = _money(amount, "amount")
    overlap = session.scalar(sa.select(Budget).where(Budget.period_start <= period_end,
                                                     Budget.period_end >= period_start))
    if overlap is not None and overlap.period_start != period_start:
        raise Conflict(f"That period overlaps the budget {overlap.period_start} – "
                       f"{overlap.period_end}.", fields={"period_start": "overlaps"})
    budget = overlap or Budget(period_start=period_start, period_end=period_end)
    budget.period_end = period_end
    budget.amount = amount
    session.add(budget)
    session.flush()
    return budget


def spent_in(session: Session, budget: Budget) -> Decimal:
    """Committed spend in the budget's period: actual cost when known, else the estimate,
    of every engagement approved in the period (SQL sum, not a Python loop)."""
    V = VendorEngagement
    cost = sa.func.coalesce(V.actual_cost, V.estimated_cost)
    start = datetime.combine(budget.period_start, datetime.min.time()).replace(tzinfo=timezone.utc)
    end = datetime.combine(budget.period_end, datetime.max.time()).replace(tzinfo=timezone.utc)
    total = session.scalar(sa.select(sa.func.coalesce(sa.func.sum(cost), 0)).where(
        V.state.not_in([E.requested, E.rejected]), V.decided_at >= start, V.decided_at <= end))
    return Decimal(total or 0).quantize(Decimal("0.01"))


# --- vendor engagement workflow ------------------------------------------------------------

def request_engagement(session: Session, ticket: Ticket, *, actor: User, vendor_id: Any,
                       reason: Any, estimated_cost: Any, now: datetime) -> VendorEngagement:
    """An expert (or agent, manager) asks for paid vendor help; managers are notified."""
    if actor.role not in (Role.agent, Role.expert, Role.manager, Role.admin):
        raise PermissionDenied("Only staff can request vendor work.")
    if not ticket.is_open:
        raise InvalidTransition(f"{ticket.number} is {ticket.status.label}.")
    vendor = session.get(Vendor, vendor_id) if isinstance(vendor_id, int) else None
    if vendor is None or not vendor.is_active:
        raise ValidationError("Choose an active vendor.", field="vendor_id")
    open_one = session.scalar(sa.select(VendorEngagement).where(
        VendorEngagement.ticket_id == ticket.id,
        VendorEngagement.state.in_([E.requested, E.approved, E.engaged, E.fixed])))
    if open_one is not None:
        raise Conflict(f"{ticket.number} already has an open vendor engagement "
                       f"({open_one.vendor.name}, {open_one.state.value}).")
    engagement = VendorEngagement(ticket=ticket, vendor=vendor, requested_by_id=actor.id,
                                  reason=_reason(reason),
                                  estimated_cost=_money(estimated_cost, "estimated_cost"),
                                  state=E.requested, created_at=now, send_backs=0)
    session.add(engagement)
    record_event(session, ticket, EventKind.vendor, actor=actor, now=now, field="engagement",
                 new="requested", body=f"{vendor.name}, estimate {engagement.estimated_cost}: "
                                        f"{engagement.reason}")
    notify(session, _managers(session, ticket), kind="vendor_request", now=now, ticket=ticket,
           title=f"{ticket.number}: approve {vendor.name} for {engagement.estimated_cost}?",
           body=f"{actor.name} asks for {vendor.name} on {ticket.number}: {engagement.reason}")
    session.flush()
    return engagement


def _require_manager(actor: User) -> None:
    if actor.role not in (Role.manager, Role.admin):
        raise PermissionDenied("Only managers decide on vendor work.")


def _require_state(engagement: VendorEngagement, *states: EngagementState) -> None:
    if engagement.state not in states:
        raise InvalidTransition(f"The engagement is {engagement.state.value}; this needs "
                                f"{' or '.join(s.value for s in states)}.")


def approve_engagement(session: Session, engagement: VendorEngagement, *, actor: User,
                       now: datetime, note: str | None = None) -> VendorEngagement:
    """Approve within budget: the ticket goes to tier 3 and pending_vendor, OLA clocks start.

    Refused (Conflict) without a budget for today or when the estimate would overdraw it.
    """
    _require_manager(actor)
    _require_state(engagement, E.requested)
    budget = budget_for(session, now.date())
    if budget is None:
        raise Conflict("There is no vendor budget for this period; set one first.",
                       fields={"budget": "missing"})
    remaining = budget.amount - spent_in(session, budget)
    if engagement.estimated_cost > remaining:
        raise Conflict(f"Approving {engagement.estimated_cost} would overdraw the budget "
                       f"({remaining} left of {budget.amount}).",
                       fields={"estimated_cost": "over budget"})
    budget.amount = budget.amount  # touch: bumps the budget's version, serialising approvals
    session.add(budget)
    engagement.state = E.approved
    engagement.decided_by_id = actor.id
    engagement.decided_at = now
    engagement.decision_note = (note or "").strip() or None
    ticket = engagement.ticket
    _to_vendor_tier(session, ticket, actor, now)
    record_event(session, ticket, EventKind.vendor, actor=actor, now=now, field="engagement",
                 old="requested", new="approved", body=engagement.decision_note)
    _start_ola_clocks(session, engagement, now)
    notify(session, [*engagement.vendor.users, engagement.requested_by], kind="vendor_approved",
           now=now, ticket=ticket, title=f"{ticket.number} engaged to {engagement.vendor.name}",
           body=f"{ticket.number}: {ticket.title}\n{engagement.reason}")
    session.flush()
    return engagement


def _to_vendor_tier(session, ticket: Ticket, actor: User, now: datetime) -> None:
    from servicedesk import events

    if ticket.tier != 3:
        record_event(session, ticket, EventKind.field_changed, actor=actor, now=now,
                     field="tier", old=ticket.tier, new=3)
        ticket.tier = 3
    if ticket.status is not Status.pending_vendor:
        old = ticket.status
        ticket.status = Status.pending_vendor
        record_event(session, ticket, EventKind.status_changed, actor=actor, now=now,
                     field="status", old=old.value, new="pending_vendor", is_public=True)
        events.status_changed.send(ticket, session=session, actor=actor, now=now, old=old,
                                   new=Status.pending_vendor)
    ticket.updated_at = now


def _ola_calendar_id(session: Session, vendor: Vendor) -> int:
    if vendor.calendar_id is not None:
        return vendor.calendar_id
    return session.scalar(sa.select(Calendar.id).where(Calendar.is_builtin)
                          .order_by(Calendar.id).limit(1)) or _builtin_calendar(session).id


def _builtin_calendar(session: Session) -> Calendar:
    from servicedesk.sla.defaults import ensure_builtin_calendar

    return ensure_builtin_calendar(session)


def _start_ola_clocks(session, engagement: VendorEngagement, now: datetime) -> None:
    cache = sla.CalendarCache(session)
    calendar_id = _ola_calendar_id(session, engagement.vendor)
    cal = cache.get(calendar_id)
    for kind, minutes in ((ClockKind.ola_response, engagement.vendor.ola_response_minutes),
                          (ClockKind.ola_fix, engagement.vendor.ola_fix_minutes)):
        sla.new_clock(session, ticket=engagement.ticket, kind=kind, target_seconds=minutes * 60,
                      calendar_id=calendar_id, now=now, cal=cal, engagement=engagement)


def _ola_clock(session, engagement: VendorEngagement, kind: ClockKind) -> SLAClock | None:
    return session.scalar(sa.select(SLAClock).where(SLAClock.engagement_id == engagement.id,
                                                    SLAClock.kind == kind))


def _stop_ola(session, engagement, kind, now) -> None:
    clock = _ola_clock(session, engagement, kind)
    if clock is not None:
        sla.stop(clock, sla.CalendarCache(session).get(clock.calendar_id), now)


def reject_engagement(session: Session, engagement: VendorEngagement, *, actor: User,
                      now: datetime, note: Any) -> VendorEngagement:
    _require_manager(actor)
    _require_state(engagement, E.requested)
    engagement.state = E.rejected
    engagement.decided_by_id = actor.id
    engagement.decided_at = now
    engagement.decision_note = _reason(note, "note")
    record_event(session, engagement.ticket, EventKind.vendor, actor=actor, now=now,
                 field="engagement", old="requested", new="rejected", body=engagement.decision_note)
    notify(session, [engagement.requested_by], kind="vendor_rejected", now=now,
           ticket=engagement.ticket,
           title=f"{engagement.ticket.number}: vendor request rejected",
           body=engagement.decision_note)
    session.flush()
    return engagement


def _require_vendor_user(actor: User, engagement: VendorEngagement) -> None:
    if actor.role is not Role.vendor or actor.vendor_id != engagement.vendor_id:
        raise PermissionDenied("Only the engaged vendor's users can do that.")


def acknowledge_engagement(session: Session, engagement: VendorEngagement, *, actor: User,
                           now: datetime) -> VendorEngagement:
    """The vendor accepts the work: its OLA response clock stops."""
    _require_vendor_user(actor, engagement)
    _require_state(engagement, E.approved)
    engagement.state = E.engaged
    engagement.acknowledged_at = now
    _stop_ola(session, engagement, ClockKind.ola_response, now)
    record_event(session, engagement.ticket, EventKind.vendor, actor=actor, now=now,
                 field="engagement", old="approved", new="engaged", is_public=False)
    session.flush()
    return engagement


def mark_fixed(session: Session, engagement: VendorEngagement, *, actor: User, now: datetime,
               notes: Any, actual_cost: Any) -> VendorEngagement:
    """The vendor reports the fix with notes and actual cost; the expert verifies next."""
    _require_vendor_user(actor, engagement)
    _require_state(engagement, E.approved, E.engaged)
    if engagement.state is E.approved:  # fixing implies accepting
        engagement.acknowledged_at = now
        _stop_ola(session, engagement, ClockKind.ola_response, now)
    engagement.fix_notes = _reason(notes, "notes")
    engagement.actual_cost = _money(actual_cost, "actual_cost")
    engagement.state = E.fixed
    engagement.fixed_at = now
    _stop_ola(session, engagement, ClockKind.ola_fix, now)
    record_event(session, engagement.ticket, EventKind.vendor, actor=actor, now=now,
                 field="engagement", new="fixed",
                 body=f"{engagement.fix_notes} (actual cost {engagement.actual_cost})")
    notify(session, [engagement.requested_by, engagement.ticket.assignee], kind="vendor_fixed",
           now=now, ticket=engagement.ticket,
           title=f"{engagement.ticket.number}: {engagement.vendor.name} reports it fixed",
           body=engagement.fix_notes)
    session.flush()
    return engagement


def verify_fix(session: Session, engagement: VendorEngagement, *, actor: User,
               now: datetime) -> VendorEngagement:
    """The expert confirms the vendor's fix: the ticket returns to tier 2, in progress."""
    if not actor.is_staff:
        raise PermissionDenied("Only staff verify vendor fixes.")
    _require_state(engagement, E.fixed)
    engagement.state = E.verified
    engagement.verified_at = now
    ticket = engagement.ticket
    record_event(session, ticket, EventKind.vendor, actor=actor, now=now, field="engagement",
                 old="fixed", new="verified")
    _back_from_vendor(session, ticket, actor, now)
    session.flush()
    return engagement


def send_back(session: Session, engagement: VendorEngagement, *, actor: User, now: datetime,
              reason: Any) -> VendorEngagement:
    """The fix did not hold: back to the vendor, whose fix clock resumes."""
    if not actor.is_staff:
        raise PermissionDenied("Only staff send vendor fixes back.")
    _require_state(engagement, E.fixed)
    reason = _reason(reason)
    engagement.state = E.engaged
    engagement.fixed_at = None
    engagement.send_backs += 1
    clock = _ola_clock(session, engagement, ClockKind.ola_fix)
    if clock is not None:
        sla.resume(clock, sla.CalendarCache(session).get(clock.calendar_id), now)
    record_event(session, engagement.ticket, EventKind.vendor, actor=actor, now=now,
                 field="engagement", old="fixed", new="engaged", body=f"Sent back: {reason}")
    notify(session, engagement.vendor.users, kind="vendor_sent_back", now=now,
           ticket=engagement.ticket, title=f"{engagement.ticket.number}: fix sent back",
           body=reason)
    session.flush()
    return engagement


def _back_from_vendor(session, ticket: Ticket, actor: User, now: datetime) -> None:
    from servicedesk import events

    if ticket.tier == 3:
        record_event(session, ticket, EventKind.field_changed, actor=actor, now=now,
                     field="tier", old=3, new=2)
        ticket.tier = 2
    if ticket.status is Status.pending_vendor:
        ticket.status = Status.in_progress
        record_event(session, ticket, EventKind.status_changed, actor=actor, now=now,
                     field="status", old="pending_vendor", new="in_progress", is_public=True)
        events.status_changed.send(ticket, session=session, actor=actor, now=now,
                                   old=Status.pending_vendor, new=Status.in_progress)
    ticket.updated_at = now


def pending_approvals(session: Session) -> list[VendorEngagement]:
    return list(session.scalars(sa.select(VendorEngagement).where(
        VendorEngagement.state == E.requested).order_by(VendorEngagement.created_at)))
