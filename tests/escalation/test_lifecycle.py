"""The issue's scenario: create -> warn at 50 % -> experts at 75 % -> breach -> vendor approved
-> fixed -> verified -> resolved, with an injected clock, history and figures asserted."""
from datetime import date, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from servicedesk.accounts.models import User
from servicedesk.errors import Conflict, PermissionDenied
from servicedesk.escalation import services as esc
from servicedesk.escalation.models import EngagementState
from servicedesk.notifications.models import Notification
from servicedesk.sla.models import ClockFiring, ClockKind, ClockState, SLAClock
from servicedesk.sla.sweep import sweep
from servicedesk.tickets import services as tickets
from servicedesk.tickets.models import EventKind, Status


@pytest.fixture
def desk(make):
    manager = make.manager(name="Operations Manager")
    agent = make.agent(name="Desk Agent")
    dispatcher = make.agent(name="Desk Dispatcher")
    desk = make.group(name="Service Desk", tier=1, dispatcher=dispatcher, manager=manager,
                      members=[agent, dispatcher])
    expert = make.expert(name="Radar Expert")
    experts = make.group(name="Airside Systems", tier=2, dispatcher=expert, manager=manager,
                         members=[expert])
    service = make.service(name="Radar display T2", expert_group=experts)
    vendor = make.vendor(name="Nordic Radar Systems", ola_response_minutes=30,
                         ola_fix_minutes=120)
    vendor_user = make.vendor_user(vendor=vendor, name="Radar Field Engineer")
    make.policy(priority=2, response_minutes=30, resolution_minutes=8 * 60)
    return dict(manager=manager, agent=agent, dispatcher=dispatcher, desk=desk, expert=expert,
                experts=experts, service=service, vendor=vendor, vendor_user=vendor_user)


def notified(db, user):
    return db.scalars(sa.select(Notification.kind).where(Notification.user_id == user.id)
                      .order_by(Notification.id)).all()


def notices_since(db, last_id):
    """{kind: sorted recipient names} of the notices made after id ``last_id``."""
    rows = db.execute(sa.select(Notification.kind, User.name).join(User)
                      .where(Notification.id > last_id).order_by(Notification.id)).all()
    out: dict[str, list[str]] = {}
    for kind, name in rows:
        out.setdefault(kind, []).append(name)
    return {kind: sorted(names) for kind, names in out.items()}


def last_notice_id(db):
    return db.scalar(sa.select(sa.func.coalesce(sa.func.max(Notification.id), 0)))


def history(db, ticket):
    """(kind, field, new value, actor name or None) of every event, in order."""
    db.expire(ticket, ["events"])
    return [(e.kind.value, e.field, e.new_value, e.actor.name if e.actor else None)
            for e in ticket.events]


def test_full_escalation_lifecycle(db, make, clock, desk):
    """P2, 24x7: respond in 30 min, resolve in 8 h; vendor OLA: respond 30 min, fix 2 h."""
    start = clock.now()
    agent, expert, manager = desk["agent"], desk["expert"], desk["manager"]
    vendor_user = desk["vendor_user"]
    ticket = make.ticket(actor=agent, impact=1, urgency=2, service_id=desk["service"].id,
                         group_id=desk["desk"].id, assignee_id=agent.id,
                         title="Radar display frozen at T2")
    assert ticket.priority == 2
    clocks = {c.kind: c for c in ticket.clocks}
    response, resolution = clocks[ClockKind.response], clocks[ClockKind.resolution]
    assert resolution.due_at == start + timedelta(hours=8)
    clock.advance(minutes=10)
    tickets.add_comment(db, ticket, actor=agent, body="We are on it", now=clock.now())
    assert response.state is ClockState.stopped and response.is_met
    assert response.elapsed_before == 600

    seen = last_notice_id(db)
    clock.set(start + timedelta(hours=4, seconds=30))  # 50 %: warn assignee and dispatcher
    assert sweep(db, clock.now()).firings == 1
    assert notices_since(db, seen) == {"sla_warning": ["Desk Agent", "Desk Dispatcher"]}
    assert ticket.tier == 1 and ticket.group is desk["desk"]

    seen = last_notice_id(db)
    clock.set(start + timedelta(hours=6, seconds=30))  # 75 %: functional escalation
    sweep(db, clock.now())
    assert ticket.group is desk["experts"] and ticket.tier == 2 and ticket.assignee is None
    assert notices_since(db, seen) == {"escalated": ["Radar Expert"]}  # experts' dispatcher
    tickets.assign(db, ticket, actor=expert, now=clock.now(), group_id=desk["experts"].id,
                   assignee_id=expert.id)

    seen = last_notice_id(db)
    clock.set(start + timedelta(hours=8, minutes=5))  # breach, noticed 5 minutes late
    sweep(db, clock.now())
    assert resolution.breached_at == start + timedelta(hours=8)  # when it happened
    assert notices_since(db, seen) == {"escalated_manager": ["Operations Manager"],
                                       "vendor_proposal": ["Operations Manager",
                                                           "Radar Expert"]}

    esc.set_budget(db, actor=manager, period_start=date(2026, 3, 1),
                   period_end=date(2026, 3, 31), amount=1000)
    engagement = esc.request_engagement(db, ticket, actor=expert, vendor_id=desk["vendor"].id,
                                        reason="Display controller board failure",
                                        estimated_cost="800", now=clock.now())
    assert "vendor_request" in notified(db, manager)
    approved_at = clock.now()
    esc.approve_engagement(db, engagement, actor=manager, now=approved_at)
    assert ticket.status is Status.pending_vendor and ticket.tier == 3
    budget = esc.budget_for(db, clock.now().date())
    assert esc.spent_in(db, budget) == Decimal("800.00")  # the estimate, until the invoice
    ola = {c.kind: c for c in ticket.clocks if c.engagement_id == engagement.id}
    assert ola[ClockKind.ola_response].due_at == approved_at + timedelta(minutes=30)
    assert ola[ClockKind.ola_fix].due_at == approved_at + timedelta(hours=2)
    assert resolution.state is ClockState.running  # pending_vendor does not pause this policy

    seen = last_notice_id(db)
    clock.set(approved_at + timedelta(minutes=20))  # OLA response at 67 %: warned at 50 %
    assert sweep(db, clock.now()).firings == 1
    assert notices_since(db, seen) == {"ola_warning": ["Operations Manager", "Radar Expert"]}
    esc.acknowledge_engagement(db, engagement, actor=vendor_user, now=clock.now())
    assert ola[ClockKind.ola_response].is_met
    clock.set(approved_at + timedelta(minutes=85))  # fix at 71 %: warned at 50 %, in time
    sweep(db, clock.now())
    esc.mark_fixed(db, engagement, actor=vendor_user, now=clock.now(),
                   notes="Replaced controller board", actual_cost="650")
    assert ola[ClockKind.ola_fix].is_met and ola[ClockKind.ola_fix].breached_at is None
    assert "vendor_fixed" in notified(db, expert)
    clock.advance(minutes=15)
    esc.verify_fix(db, engagement, actor=expert, now=clock.now())
    assert engagement.state is EngagementState.verified
    assert ticket.status is Status.in_progress and ticket.tier == 2
    tickets.change_status(db, ticket, "resolved", actor=expert, now=clock.now(),
                          resolution_code="fixed", resolution_notes="Vendor replaced board")

    # Clocks: response met, resolution stopped and breached at its due time.
    assert resolution.state is ClockState.stopped and not resolution.is_met
    assert resolution.breached_at == start + timedelta(hours=8)
    assert [c.state for c in ticket.clocks] == [ClockState.stopped] * 4
    # Budget: the actual cost replaces the estimate.
    assert esc.spent_in(db, budget) == Decimal("650.00")
    assert budget.amount - esc.spent_in(db, budget) == Decimal("350.00")
    # History: every step once, in order, with who did it (None: the SLA sweep).
    assert history(db, ticket) == EXPECTED_HISTORY


SWEEP, AGENT, EXPERT, MANAGER, VENDOR = (None, "Desk Agent", "Radar Expert",
                                         "Operations Manager", "Radar Field Engineer")
EXPECTED_HISTORY = [
    ("created", None, None, AGENT),
    ("comment", None, None, AGENT),  # first response: the response clock is met
    ("sla", "resolution", "50%", SWEEP),
    ("sla", "resolution", "75%", SWEEP),
    ("status_changed", "status", "new", SWEEP),  # handed over unassigned
    ("field_changed", "group", "Airside Systems", SWEEP),
    ("field_changed", "tier", "2", SWEEP),
    ("escalated", "group", "Airside Systems", SWEEP),
    ("field_changed", "assignee", "Radar Expert", EXPERT),
    ("status_changed", "status", "assigned", EXPERT),
    ("sla", "resolution", "100%", SWEEP),  # the breach, once
    ("escalated", "manager", None, SWEEP),
    ("escalated", "vendor_proposal", None, SWEEP),
    ("vendor", "engagement", "requested", EXPERT),
    ("field_changed", "tier", "3", MANAGER),
    ("status_changed", "status", "pending_vendor", MANAGER),
    ("vendor", "engagement", "approved", MANAGER),
    ("sla", "ola_response", "50%", SWEEP),
    ("vendor", "engagement", "engaged", VENDOR),
    ("sla", "ola_fix", "50%", SWEEP),
    ("vendor", "engagement", "fixed", VENDOR),
    ("vendor", "engagement", "verified", EXPERT),
    ("field_changed", "tier", "2", EXPERT),
    ("status_changed", "status", "in_progress", EXPERT),
    ("status_changed", "status", "resolved", EXPERT),
    ("field_changed", "resolution", "fixed", EXPERT),
]


def test_a_late_vendor_breaches_its_ola_clocks_at_their_due_times(db, make, clock, desk):
    """The vendor accepts after 45 min (OLA response 30 min) and fixes after 3 h (OLA fix
    2 h): both OLA clocks breach when their targets passed, warned first, each once."""
    esc.set_budget(db, actor=desk["manager"], period_start=date(2026, 3, 1),
                   period_end=date(2026, 3, 31), amount=1000)
    ticket = make.ticket(actor=desk["agent"], impact=1, urgency=2)
    tickets.add_comment(db, ticket, actor=desk["agent"], body="On it", now=clock.now())
    engagement = esc.request_engagement(db, ticket, actor=desk["expert"],
                                        vendor_id=desk["vendor"].id, reason="Board failure",
                                        estimated_cost=400, now=clock.now())
    approved_at = clock.now()
    esc.approve_engagement(db, engagement, actor=desk["manager"], now=approved_at)
    ola = {c.kind: c for c in ticket.clocks if c.engagement_id == engagement.id}

    seen = last_notice_id(db)
    clock.set(approved_at + timedelta(minutes=45))
    sweep(db, clock.now())
    esc.acknowledge_engagement(db, engagement, actor=desk["vendor_user"], now=clock.now())
    response = ola[ClockKind.ola_response]
    assert response.breached_at == approved_at + timedelta(minutes=30)
    assert response.state is ClockState.stopped and not response.is_met
    assert notices_since(db, seen) == {
        "ola_breach": ["Operations Manager", "Radar Expert"],
        "ola_warning": ["Operations Manager", "Operations Manager", "Radar Expert",
                        "Radar Expert"]}  # response 50 % and 75 %

    clock.set(approved_at + timedelta(hours=3))
    sweep(db, clock.now())
    esc.mark_fixed(db, engagement, actor=desk["vendor_user"], now=clock.now(),
                   notes="Replaced the board", actual_cost=380)
    fix = ola[ClockKind.ola_fix]
    assert fix.breached_at == approved_at + timedelta(hours=2) and not fix.is_met
    crossed = db.execute(sa.select(SLAClock.kind, ClockFiring.threshold, ClockFiring.crossed_at)
                         .join(SLAClock).where(SLAClock.engagement_id == engagement.id)
                         .order_by(ClockFiring.id)).all()
    assert crossed == [
        (ClockKind.ola_response, 50, approved_at + timedelta(minutes=15)),
        (ClockKind.ola_response, 75, approved_at + timedelta(minutes=22, seconds=30)),
        (ClockKind.ola_response, 100, approved_at + timedelta(minutes=30)),
        (ClockKind.ola_fix, 50, approved_at + timedelta(hours=1)),
        (ClockKind.ola_fix, 75, approved_at + timedelta(hours=1, minutes=30)),
        (ClockKind.ola_fix, 100, approved_at + timedelta(hours=2)),
    ]


def test_approval_refused_when_it_would_overdraw_the_budget(db, make, clock, desk):
    manager, expert = desk["manager"], desk["expert"]
    esc.set_budget(db, actor=manager, period_start=date(2026, 3, 1),
                   period_end=date(2026, 3, 31), amount=1000)
    first = esc.request_engagement(db, make.ticket(), actor=expert, vendor_id=desk["vendor"].id,
                                   reason="a", estimated_cost=700, now=clock.now())
    esc.approve_engagement(db, first, actor=manager, now=clock.now())
    second = esc.request_engagement(db, make.ticket(), actor=expert,
                                    vendor_id=desk["vendor"].id, reason="b",
                                    estimated_cost=301, now=clock.now())
    with pytest.raises(Conflict) as err:
        esc.approve_engagement(db, second, actor=manager, now=clock.now())
    assert "overdraw" in err.value.message and "300.00 left" in err.value.message
    assert second.state is EngagementState.requested


def test_no_budget_no_approval(db, make, clock, desk):
    engagement = esc.request_engagement(db, make.ticket(), actor=desk["expert"],
                                        vendor_id=desk["vendor"].id, reason="x",
                                        estimated_cost=10, now=clock.now())
    with pytest.raises(Conflict):
        esc.approve_engagement(db, engagement, actor=desk["manager"], now=clock.now())


def test_only_managers_approve_and_only_the_vendor_fixes(db, make, clock, desk):
    esc.set_budget(db, actor=desk["manager"], period_start=date(2026, 3, 1),
                   period_end=date(2026, 3, 31), amount=1000)
    engagement = esc.request_engagement(db, make.ticket(), actor=desk["expert"],
                                        vendor_id=desk["vendor"].id, reason="x",
                                        estimated_cost=10, now=clock.now())
    with pytest.raises(PermissionDenied):
        esc.approve_engagement(db, engagement, actor=desk["expert"], now=clock.now())
    esc.approve_engagement(db, engagement, actor=desk["manager"], now=clock.now())
    other_vendor_user = make.vendor_user()
    with pytest.raises(PermissionDenied):
        esc.mark_fixed(db, engagement, actor=other_vendor_user, now=clock.now(), notes="n",
                       actual_cost=1)


def test_send_back_resumes_the_vendor_fix_clock(db, make, clock, desk):
    esc.set_budget(db, actor=desk["manager"], period_start=date(2026, 3, 1),
                   period_end=date(2026, 3, 31), amount=1000)
    engagement = esc.request_engagement(db, make.ticket(), actor=desk["expert"],
                                        vendor_id=desk["vendor"].id, reason="x",
                                        estimated_cost=10, now=clock.now())
    esc.approve_engagement(db, engagement, actor=desk["manager"], now=clock.now())
    clock.advance(minutes=30)
    esc.mark_fixed(db, engagement, actor=desk["vendor_user"], now=clock.now(), notes="n",
                   actual_cost=5)
    clock.advance(minutes=15)
    esc.send_back(db, engagement, actor=desk["expert"], now=clock.now(), reason="Still frozen")
    fix = next(c for c in engagement.ticket.clocks
               if c.kind is ClockKind.ola_fix and c.engagement_id == engagement.id)
    assert engagement.state is EngagementState.engaged and engagement.send_backs == 1
    assert fix.state is ClockState.running
    assert fix.due_at == clock.now() + timedelta(minutes=90)  # 30 of 120 min were used


def test_manual_escalation_to_manager_and_group(db, make, clock, desk):
    ticket = make.ticket(actor=desk["agent"])
    esc.escalate_manually(db, ticket, actor=desk["agent"], now=clock.now(), target="manager",
                          reason="Caller is the airport director")
    assert "escalated_manager" in notified(db, desk["manager"])
    esc.escalate_manually(db, ticket, actor=desk["agent"], now=clock.now(), target="group",
                          group_id=desk["experts"].id, reason="Needs radar knowledge")
    assert ticket.group is desk["experts"] and ticket.tier == 2
    with pytest.raises(PermissionDenied):
        esc.escalate_manually(db, ticket, actor=ticket.requester, now=clock.now(),
                              target="manager", reason="please")
