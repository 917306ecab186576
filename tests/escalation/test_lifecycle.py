"""The issue's scenario: create -> warn at 50 % -> experts at 75 % -> breach -> vendor approved
-> fixed -> verified -> resolved, with an injected clock, history and figures asserted."""
from datetime import date, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from servicedesk.errors import Conflict, PermissionDenied
from servicedesk.escalation import services as esc
from servicedesk.escalation.models import EngagementState
from servicedesk.notifications.models import Notification
from servicedesk.sla.models import ClockKind, ClockState
from servicedesk.sla.sweep import sweep
from servicedesk.tickets import services as tickets
from servicedesk.tickets.models import EventKind, Status


@pytest.fixture
def desk(make):
    manager = make.manager(name="Operations Manager")
    agent = make.agent(name="Desk Agent")
    desk = make.group(name="Service Desk", tier=1, dispatcher=agent, manager=manager,
                      members=[agent])
    expert = make.expert(name="Radar Expert")
    experts = make.group(name="Airside Systems", tier=2, dispatcher=expert, manager=manager,
                         members=[expert])
    service = make.service(name="Radar display T2", expert_group=experts)
    vendor = make.vendor(name="Nordic Radar Systems", ola_response_minutes=30,
                         ola_fix_minutes=120)
    vendor_user = make.vendor_user(vendor=vendor, name="Radar Field Engineer")
    make.policy(priority=2, response_minutes=30, resolution_minutes=8 * 60)
    return dict(manager=manager, agent=agent, desk=desk, expert=expert, experts=experts,
                service=service, vendor=vendor, vendor_user=vendor_user)


def notified(db, user):
    return db.scalars(sa.select(Notification.kind).where(Notification.user_id == user.id)
                      .order_by(Notification.id)).all()


def test_full_escalation_lifecycle(db, make, clock, desk):
    start = clock.now()
    agent, expert, manager = desk["agent"], desk["expert"], desk["manager"]
    ticket = make.ticket(actor=agent, impact=1, urgency=2, service_id=desk["service"].id,
                         group_id=desk["desk"].id, assignee_id=agent.id,
                         title="Radar display frozen at T2")
    assert ticket.priority == 2
    clock.advance(minutes=10)
    tickets.add_comment(db, ticket, actor=agent, body="We are on it", now=clock.now())
    resolution = next(c for c in ticket.clocks if c.kind is ClockKind.resolution)

    clock.set(start + timedelta(hours=4, seconds=30))  # 50 %
    sweep(db, clock.now())
    assert "sla_warning" in notified(db, agent)
    assert ticket.tier == 1

    clock.set(start + timedelta(hours=6, seconds=30))  # 75 %: functional escalation
    sweep(db, clock.now())
    assert ticket.group is desk["experts"] and ticket.tier == 2 and ticket.assignee is None
    assert "escalated" in notified(db, expert)  # the experts' dispatcher
    tickets.assign(db, ticket, actor=expert, now=clock.now(), group_id=desk["experts"].id,
                   assignee_id=expert.id)

    clock.set(start + timedelta(hours=8, minutes=5))  # breach
    sweep(db, clock.now())
    assert resolution.breached_at == start + timedelta(hours=8)
    assert {"escalated_manager", "vendor_proposal"} <= set(notified(db, manager))

    esc.set_budget(db, actor=manager, period_start=date(2026, 3, 1),
                   period_end=date(2026, 3, 31), amount=1000)
    engagement = esc.request_engagement(db, ticket, actor=expert, vendor_id=desk["vendor"].id,
                                        reason="Display controller board failure",
                                        estimated_cost="800", now=clock.now())
    assert "vendor_request" in notified(db, manager)
    esc.approve_engagement(db, engagement, actor=manager, now=clock.now())
    assert ticket.status is Status.pending_vendor and ticket.tier == 3
    ola = {c.kind: c for c in ticket.clocks if c.engagement_id == engagement.id}
    assert ola[ClockKind.ola_fix].due_at == clock.now() + timedelta(hours=2)

    clock.advance(minutes=20)
    esc.acknowledge_engagement(db, engagement, actor=desk["vendor_user"], now=clock.now())
    assert ola[ClockKind.ola_response].state is ClockState.stopped
    assert ola[ClockKind.ola_response].is_met
    clock.advance(minutes=70)
    esc.mark_fixed(db, engagement, actor=desk["vendor_user"], now=clock.now(),
                   notes="Replaced controller board", actual_cost="650")
    assert ola[ClockKind.ola_fix].is_met
    esc.verify_fix(db, engagement, actor=expert, now=clock.now())
    assert engagement.state is EngagementState.verified
    assert ticket.status is Status.in_progress and ticket.tier == 2
    tickets.change_status(db, ticket, "resolved", actor=expert, now=clock.now(),
                          resolution_code="fixed", resolution_notes="Vendor replaced board")
    assert resolution.state is ClockState.stopped and not resolution.is_met

    budget = esc.budget_for(db, clock.now().date())
    assert esc.spent_in(db, budget) == Decimal("650.00")  # actual cost replaces the estimate
    history = [(e.kind, e.field, e.new_value) for e in ticket.events]
    for expected in [(EventKind.sla, "resolution", "50%"), (EventKind.sla, "resolution", "75%"),
                     (EventKind.escalated, "group", "Airside Systems"),
                     (EventKind.sla, "resolution", "100%"),
                     (EventKind.vendor, "engagement", "requested"),
                     (EventKind.vendor, "engagement", "approved"),
                     (EventKind.vendor, "engagement", "engaged"),
                     (EventKind.vendor, "engagement", "fixed"),
                     (EventKind.vendor, "engagement", "verified"),
                     (EventKind.status_changed, "status", "resolved")]:
        assert expected in history, expected
    assert [h for h in history if h[0] is EventKind.sla and h[2] == "100%"] == [
        (EventKind.sla, "resolution", "100%")]  # the breach is recorded once


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
