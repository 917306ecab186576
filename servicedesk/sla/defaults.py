"""The built-in 24x7 calendar, a business-hours calendar and default P1-P4 policies."""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from servicedesk.sla.models import Calendar, EscalationAction, EscalationRule, ClockKind, SLAPolicy

ALWAYS = {day: ["00:00-24:00"] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
OFFICE = {day: ["09:00-17:00"] for day in ("mon", "tue", "wed", "thu", "fri")}
BUSINESS_DAY_MINUTES = 8 * 60

A = EscalationAction
#: (name, priority, response min, resolution min, 24x7?)
DEFAULT_POLICIES = (
    ("P1 critical", 1, 15, 4 * 60, True),
    ("P2 high", 2, 30, 8 * 60, False),
    ("P3 moderate", 3, 4 * 60, 3 * BUSINESS_DAY_MINUTES, False),
    ("P4 low", 4, BUSINESS_DAY_MINUTES, 5 * BUSINESS_DAY_MINUTES, False),
)
#: (clock kind, threshold %, action): warn at 50, experts at 75, manager and vendor at breach.
DEFAULT_RULES = (
    (ClockKind.response, 75, A.notify),
    (ClockKind.response, 100, A.notify_manager),
    (ClockKind.resolution, 50, A.notify),
    (ClockKind.resolution, 75, A.reassign_expert),
    (ClockKind.resolution, 100, A.notify_manager),
    (ClockKind.resolution, 100, A.propose_vendor),
)


def ensure_builtin_calendar(session: Session) -> Calendar:
    cal = session.scalar(sa.select(Calendar).where(Calendar.is_builtin).order_by(Calendar.id))
    if cal is None:
        cal = Calendar(name="24x7", timezone="UTC", weekly=ALWAYS, is_builtin=True)
        session.add(cal)
        session.flush()
    return cal


def seed_defaults(session: Session, *, timezone: str = "UTC") -> list[SLAPolicy]:
    """Create the calendars and P1-P4 policies if there are no policies yet. Idempotent."""
    always = ensure_builtin_calendar(session)
    if session.scalar(sa.select(sa.func.count(SLAPolicy.id))):
        return []
    office = session.scalar(sa.select(Calendar).where(Calendar.name == "Business hours"))
    if office is None:
        office = Calendar(name="Business hours", timezone=timezone, weekly=OFFICE,
                          is_builtin=False)
        session.add(office)
    policies = []
    for name, priority, response, resolution, round_clock in DEFAULT_POLICIES:
        policy = SLAPolicy(name=name, priority=priority, response_minutes=response,
                           resolution_minutes=resolution,
                           calendar=always if round_clock else office,
                           pause_statuses=["pending_customer"], warning_thresholds=[50, 75],
                           is_active=True)
        policy.rules = [EscalationRule(clock_kind=kind, threshold=t, action=action)
                        for kind, t, action in DEFAULT_RULES]
        session.add(policy)
        policies.append(policy)
    session.flush()
    return policies
