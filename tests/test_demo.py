import re
from datetime import timedelta
from collections import Counter

import pytest
import sqlalchemy as sa

from servicedesk import demo
from servicedesk.accounts.models import Group, Role, User, Vendor
from servicedesk.accounts.permissions import VENDOR_VISIBLE_STATES, visible_tickets_clause
from servicedesk.accounts.services import authenticate
from servicedesk.catalog.models import Service
from servicedesk.errors import Conflict, ValidationError
from servicedesk.escalation.models import EngagementState, VendorEngagement
from servicedesk.tickets.models import (
    EventKind, ResolutionCode, Status, Ticket, TicketEvent,
)

N = 60


@pytest.fixture
def seeded(db, clock):
    return demo.seed(db, now=clock.now(), tickets=N)


def test_seed_builds_the_drill_desk_with_working_logins(db, seeded):
    statuses = Counter(db.scalars(sa.select(Ticket.status)))
    assert set(statuses) == set(Status) and sum(statuses.values()) == N
    assert f"{N} tickets" in seeded
    for status in Status:
        assert f"{status.label} {statuses[status]}" in seeded
    assert set(db.scalars(sa.select(User.role))) == set(Role)
    requesters = db.scalar(sa.select(sa.func.count(User.id)).where(User.role == Role.requester))
    assert requesters >= 40

    groups = db.scalars(sa.select(Group).order_by(Group.tier, Group.name)).all()
    assert [g.tier for g in groups] == [1, 2, 2, 2]
    for group in groups:
        assert group.dispatcher is not None and group.dispatcher in group.members
        assert group.manager is not None and group.manager.role is Role.manager
    services = db.scalars(sa.select(Service)).all()
    assert len(services) >= 20
    assert all(s.expert_group is not None and s.expert_group.tier == 2 for s in services)
    assert {s.criticality for s in services} == {1, 2, 3}
    assert all(any(f"Terminal {n}" in s.name for s in services) for n in range(1, 5))
    vendors = db.scalars(sa.select(Vendor).order_by(Vendor.name)).all()
    assert [(v.name, v.cost_model) for v in vendors] == [
        ("Nordic Radar Systems", "hourly"), ("SkyTech Field Services", "fixed")]
    assert all(v.users for v in vendors)

    # The printed logins work with the printed password (one check per role: scrypt is slow,
    # and every demo account shares the one hash).
    password = re.search(r"password for all: (\S+)\)", seeded).group(1)
    listed = re.findall(r"^  (\S+@\S+)\s+(\w+)\s", seeded, flags=re.MULTILINE)
    assert {role for _, role in listed} == {r.value for r in Role}
    checked: dict[str, str] = {}
    for email, role in listed:
        user = db.scalar(sa.select(User).where(User.email == email))
        assert user is not None and user.role.value == role, email
        if role not in checked:
            assert authenticate(db, email, password) is user, email
            checked[role] = user.password_hash
        assert user.password_hash == checked[role], email
    assert authenticate(db, listed[0][0], password + "x") is None


def test_history_is_coherent_and_tells_the_drill_stories(db, seeded, clock):
    now = clock.now()
    rows = db.execute(sa.select(Ticket.id, Ticket.created_at).order_by(Ticket.id)).all()
    created = [c for _, c in rows]
    assert created == sorted(created), "ticket numbers follow creation time"
    assert now - created[0] > demo.HISTORY * 0.8 and created[-1] < now

    by_ticket: dict[int, list[TicketEvent]] = {}
    for event in db.scalars(sa.select(TicketEvent).order_by(TicketEvent.id)):
        by_ticket.setdefault(event.ticket_id, []).append(event)
    tickets = {t.id: t for t in db.scalars(sa.select(Ticket))}
    for ticket_id, events in by_ticket.items():
        ticket = tickets[ticket_id]
        times = [e.created_at for e in events]
        assert times == sorted(times), ticket.number
        assert times[0] == ticket.created_at and events[0].kind is EventKind.created
        assert times[-1] <= now
        assert ticket.updated_at <= now
    for ticket in tickets.values():
        if ticket.status in (Status.resolved, Status.closed):
            assert ticket.resolution_code is not None and ticket.resolution_notes
            assert ticket.created_at <= ticket.resolved_at <= now
        if ticket.status is Status.closed:
            assert ticket.resolved_at <= ticket.closed_at <= now
        if ticket.status in (Status.in_progress, Status.pending_customer):
            assert ticket.responded_at is not None
        if ticket.assignee is not None:
            assert ticket.assignee in ticket.group.members
    kinds = Counter((e.kind, e.is_public) for events in by_ticket.values() for e in events)
    assert kinds[(EventKind.comment, True)] and kinds[(EventKind.comment, False)]

    # The stories: two major incidents with children, duplicates, overrides, vendor work.
    parents = db.scalars(sa.select(Ticket).where(
        Ticket.id.in_(sa.select(Ticket.parent_id).where(Ticket.parent_id.is_not(None))))).all()
    assert len(parents) == 2
    for parent in parents:
        children = db.scalars(sa.select(Ticket).where(Ticket.parent_id == parent.id)).all()
        assert parent.priority == 1 and len(children) >= 3
        if parent.status is Status.closed:
            assert all(c.status is Status.closed for c in children)
        else:
            assert parent.is_open and all(c.is_open for c in children)

    duplicates = db.scalars(sa.select(Ticket).where(Ticket.duplicate_of_id.is_not(None))).all()
    assert len(duplicates) == 2
    assert all(d.resolution_code is ResolutionCode.duplicate for d in duplicates)

    overrides = db.scalars(sa.select(Ticket).where(
        Ticket.priority_override_reason.is_not(None))).all()
    assert len(overrides) >= 3
    assert db.scalar(sa.select(sa.func.count(Ticket.id)).where(
        Ticket.is_first_contact_resolution)) > 0
    assert len({t.channel for t in db.scalars(sa.select(Ticket))}) == 5

    # Every ticket waiting on a vendor has an approved or engaged engagement, and the vendor's
    # users see exactly the tickets a manager engaged them on (not those awaiting approval).
    waiting = db.scalars(sa.select(Ticket).where(Ticket.status == Status.pending_vendor)).all()
    for ticket in waiting:
        states = db.scalars(sa.select(VendorEngagement.state)
                            .where(VendorEngagement.ticket_id == ticket.id)).all()
        assert set(states) & {EngagementState.approved, EngagementState.engaged}, ticket.number
    for vendor in db.scalars(sa.select(Vendor)):
        user = vendor.users[0]
        seen = set(db.scalars(sa.select(Ticket.id).where(visible_tickets_clause(user))))
        engaged = set(db.scalars(sa.select(VendorEngagement.ticket_id).where(
            VendorEngagement.vendor_id == vendor.id,
            VendorEngagement.state.in_(VENDOR_VISIBLE_STATES))))
        assert seen == engaged and seen


def test_seeding_twice_or_into_real_data_refuses(db, clock, make):
    make.agent()
    before = db.scalar(sa.select(sa.func.count(User.id)))
    with pytest.raises(Conflict, match="already has users"):
        demo.seed(db, now=clock.now(), tickets=N)
    assert db.scalar(sa.select(sa.func.count(User.id))) == before
    assert db.scalar(sa.select(sa.func.count(Ticket.id))) == 0


def test_seeding_twice_refuses(db, seeded, clock):
    with pytest.raises(Conflict):
        demo.seed(db, now=clock.now(), tickets=N)
    assert db.scalar(sa.select(sa.func.count(Ticket.id))) == N


def test_too_few_tickets_is_refused_before_writing(db, clock):
    with pytest.raises(ValidationError) as err:
        demo.seed(db, now=clock.now(), tickets=demo.MIN_TICKETS - 1)
    assert "tickets" in err.value.fields
    assert db.scalar(sa.select(sa.func.count(User.id))) == 0


def test_demo_has_answered_surveys_and_unmet_requests_for_the_managers_view(db, seeded, clock):
    from servicedesk.feedback.models import Survey, UnmetRequest
    from servicedesk.notifications.models import Notification

    surveys = db.scalars(sa.select(Survey)).all()
    answered = [s for s in surveys if s.answered_at is not None]
    assert surveys and 0 < len(answered) < len(surveys)
    assert all(s.created_at < s.answered_at <= min(clock.now(), s.expires_at)
               for s in answered)
    assert {s.score for s in answered} <= {1, 2, 3, 4, 5}
    low = sum(s.score <= 2 for s in answered)
    assert db.scalar(sa.select(sa.func.count(Notification.id))
                     .where(Notification.kind == "csat_low")) == low
    assert f"{len(answered)} satisfaction surveys answered ({low} low" in seeded
    unmet = db.scalars(sa.select(UnmetRequest)).all()
    assert len(unmet) == 36 and f"{len(unmet)} unmet requests" in seeded
    assert len({u.category for u in unmet}) >= 4
    assert all(clock.now() - demo.HISTORY <= u.created_at <= clock.now() for u in unmet)
    assert all(u.recorded_by.role is Role.agent for u in unmet)


def test_the_demo_desk_counts_business_time_on_every_day_of_the_week(db, clock):
    """An airport desk works daily: with office hours (weekdays 09-17) most demo tickets
    would count no business time at all and the dashboard's business MTTA would read 0."""
    from servicedesk.sla.defaults import seed_defaults
    from servicedesk.sla.models import Calendar, ClockKind, SLAClock, SLAPolicy

    seed_defaults(db)
    demo.seed(db, now=clock.now(), tickets=N)

    desk = db.scalar(sa.select(Calendar).where(Calendar.name == demo.DESK_HOURS_NAME))
    assert desk is not None and not desk.is_builtin
    assert desk.weekly == {day: ["06:00-22:00"]
                           for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
    by_priority = {p.priority: p.calendar for p in db.scalars(sa.select(SLAPolicy))}
    assert by_priority[1].is_builtin and {by_priority[p] for p in (2, 3, 4)} == {desk}

    stopped = db.scalars(sa.select(SLAClock).where(
        SLAClock.calendar_id == desk.id, SLAClock.kind == ClockKind.response,
        SLAClock.stopped_at.is_not(None), SLAClock.stopped_at > SLAClock.started_at)).all()
    assert len(stopped) >= 20
    uncounted = [c for c in stopped if c.elapsed_before == 0]
    assert len(uncounted) / len(stopped) < 0.2


def test_demo_vendor_work_and_critical_faults_at_a_larger_size(db, clock):
    """Paid vendor work in the demo takes the real workflow: budgets for every month, each
    approval drawn on one, OLA clocks for every approved engagement (stopped when the vendor
    accepted or fixed), actual costs on fixed work, and some requests awaiting a manager.
    And no P1 is left new, assigned or in progress for days."""
    from servicedesk.escalation.models import Budget
    from servicedesk.escalation.services import budget_for, spent_in
    from servicedesk.sla.defaults import seed_defaults
    from servicedesk.sla.models import ClockKind, SLAClock

    seed_defaults(db)
    demo.seed(db, now=clock.now(), tickets=150)

    budgets = db.scalars(sa.select(Budget)).all()
    assert budgets and all(b.amount == demo.MONTHLY_VENDOR_BUDGET for b in budgets)
    engagements = db.scalars(sa.select(VendorEngagement)).all()
    states = Counter(e.state for e in engagements)
    assert states[EngagementState.requested] >= 1
    assert states[EngagementState.verified] >= 1
    decided = [e for e in engagements
               if e.state not in (EngagementState.requested, EngagementState.rejected)]
    for e in decided:
        assert e.decided_by.role is Role.manager and budget_for(db, e.decided_at.date())
        olas = {c.kind: c for c in db.scalars(sa.select(SLAClock).where(
            SLAClock.engagement_id == e.id))}
        assert set(olas) == {ClockKind.ola_response, ClockKind.ola_fix}
        accepted = e.acknowledged_at is not None
        assert (olas[ClockKind.ola_response].stopped_at is not None) == accepted
        if e.state is EngagementState.verified:
            assert e.actual_cost is not None and e.fixed_at and e.verified_at
            assert olas[ClockKind.ola_fix].stopped_at == e.fixed_at
    for e in engagements:
        if e.state is EngagementState.requested:
            assert e.ticket.is_open and e.ticket.status is not Status.pending_vendor
    assert sum((spent_in(db, b) for b in budgets), start=0) > 0

    # No critical fault sits being worked on for days (waiting on a vendor or caller may).
    stale_p1 = db.scalars(sa.select(Ticket).where(
        Ticket.priority == 1, Ticket.created_at < clock.now() - timedelta(days=2),
        Ticket.status.in_([Status.new, Status.assigned, Status.in_progress]))).all()
    assert stale_p1 == []


def test_demo_managers_turn_down_vendor_work_over_the_months_budget(db, clock, monkeypatch):
    """However the history falls on the calendar (a month only days old, say), the demo never
    overdraws a budget: a request the month cannot pay for is rejected by the manager, and
    that ticket's vendor steps (accept, fix, verify) do not happen."""
    from decimal import Decimal

    from servicedesk.escalation.models import Budget
    from servicedesk.escalation.services import spent_in
    from servicedesk.sla.defaults import seed_defaults
    from servicedesk.sla.models import SLAClock

    monkeypatch.setattr(demo, "MONTHLY_VENDOR_BUDGET", Decimal("600.00"))
    seed_defaults(db)
    demo.seed(db, now=clock.now(), tickets=150)

    engagements = db.scalars(sa.select(VendorEngagement)).all()
    rejected = [e for e in engagements if e.state is EngagementState.rejected]
    assert rejected and len(rejected) < len(engagements)
    for e in rejected:
        assert e.decided_by.role is Role.manager and e.acknowledged_at is None
        assert e.ticket.status is not Status.pending_vendor
        assert not db.scalars(sa.select(SLAClock).where(SLAClock.engagement_id == e.id)).all()
    for budget in db.scalars(sa.select(Budget)):
        assert spent_in(db, budget) <= budget.amount
