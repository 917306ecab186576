"""SLA clocks on tickets: start, pause/resume, re-target, stop, as the ticket moves."""
from datetime import datetime, timedelta, timezone

import pytest

from servicedesk.sla import services as sla
from servicedesk.sla.models import ClockKind, ClockState
from servicedesk.tickets import services as tickets

UTC = timezone.utc


def clocks_by_kind(ticket):
    return {c.kind: c for c in ticket.clocks}


def test_new_ticket_gets_response_and_resolution_clocks(db, make, clock):
    make.policy(priority=3, response_minutes=60, resolution_minutes=480)
    ticket = make.ticket(impact=2, urgency=2)  # P3
    c = clocks_by_kind(ticket)
    assert set(c) == {ClockKind.response, ClockKind.resolution}
    assert c[ClockKind.response].due_at == clock.now() + timedelta(hours=1)
    assert c[ClockKind.resolution].due_at == clock.now() + timedelta(hours=8)
    # the first threshold (50 %) is what the sweep looks at next
    assert c[ClockKind.resolution].next_check_at == clock.now() + timedelta(hours=4)
    assert c[ClockKind.resolution].next_threshold == 50


def test_no_policy_no_clocks(db, make):
    assert make.ticket().clocks == []


def test_most_specific_policy_wins(db, make):
    service, category = make.service(), make.category()
    generic = make.policy(priority=3, resolution_minutes=480)
    by_service = make.policy(priority=None, service=service, resolution_minutes=120)
    by_both = make.policy(priority=3, service=service, category=category,
                          resolution_minutes=60)
    match = lambda **kw: sla.match_policy(db, **kw)  # noqa: E731
    assert match(priority=3, service_id=None, category_id=None) is generic
    assert match(priority=3, service_id=service.id, category_id=None) is by_service
    assert match(priority=3, service_id=service.id, category_id=category.id) is by_both
    assert match(priority=1, service_id=service.id, category_id=category.id) is by_service


def test_business_hours_clock_skips_night_and_weekend(db, make, clock):
    cal = make.calendar(timezone="Europe/Berlin")  # Mon-Fri 09-17 local
    make.policy(priority=3, calendar=cal, resolution_minutes=4 * 60)
    clock.set(datetime(2026, 3, 6, 14, 0, tzinfo=UTC))  # Friday 15:00 Berlin (UTC+1)
    ticket = make.ticket(impact=2, urgency=2)
    resolution = clocks_by_kind(ticket)[ClockKind.resolution]
    # 2 h left on Friday (15-17), then 2 h on Monday 09-11 Berlin = 10:00 UTC
    assert resolution.due_at == datetime(2026, 3, 9, 10, 0, tzinfo=UTC)


def test_first_public_reply_stops_response_clock_met(db, make, clock):
    make.policy(priority=3, response_minutes=60)
    agent = make.agent()
    ticket = make.ticket(actor=agent, impact=2, urgency=2)
    clock.advance(minutes=20)
    tickets.add_comment(db, ticket, actor=agent, body="Looking at it", now=clock.now())
    response = clocks_by_kind(ticket)[ClockKind.response]
    assert response.state is ClockState.stopped and response.stopped_at == clock.now()
    assert response.is_met and response.elapsed_before == 20 * 60
    assert response.next_check_at is None


def test_late_stop_is_a_breach_at_the_due_time(db, make, clock):
    make.policy(priority=3, response_minutes=60)
    agent = make.agent()
    ticket = make.ticket(actor=agent, impact=2, urgency=2)
    due = clocks_by_kind(ticket)[ClockKind.response].due_at
    clock.advance(minutes=90)  # no sweep ran in between
    tickets.add_comment(db, ticket, actor=agent, body="Sorry for the wait", now=clock.now())
    response = clocks_by_kind(ticket)[ClockKind.response]
    assert response.breached_at == due and not response.is_met


def test_pending_customer_pauses_and_moves_due_time(db, make, clock):
    make.policy(priority=3, resolution_minutes=480)
    agent = make.agent()
    ticket = make.ticket(actor=agent, impact=2, urgency=2)
    resolution = clocks_by_kind(ticket)[ClockKind.resolution]
    due = resolution.due_at
    clock.advance(hours=1)
    tickets.change_status(db, ticket, "pending_customer", actor=agent, now=clock.now())
    assert resolution.state is ClockState.paused and resolution.due_at is None
    assert resolution.next_check_at is None and resolution.elapsed_before == 3600
    clock.advance(hours=3)
    tickets.add_comment(db, ticket, actor=ticket.requester, body="Done, try again",
                        now=clock.now())  # resumes the ticket
    assert resolution.state is ClockState.running
    assert resolution.due_at == due + timedelta(hours=3)
    [pause] = resolution.pauses
    assert pause.resumed_at - pause.paused_at == timedelta(hours=3)


def test_pending_vendor_pauses_only_when_policy_says_so(db, make, clock):
    make.policy(priority=3, pause_statuses=("pending_customer", "pending_vendor"))
    agent = make.agent()
    ticket = make.ticket(actor=agent, impact=2, urgency=2)
    tickets.assign(db, ticket, actor=agent, now=clock.now(), assignee_id=agent.id)
    tickets.change_status(db, ticket, "pending_vendor", actor=agent, now=clock.now())
    assert clocks_by_kind(ticket)[ClockKind.resolution].state is ClockState.paused


def test_resolve_stops_and_reopen_resumes_keeping_elapsed(db, make, clock):
    make.policy(priority=3, resolution_minutes=480)
    agent = make.agent()
    ticket = make.ticket(actor=agent, impact=2, urgency=2)
    resolution = clocks_by_kind(ticket)[ClockKind.resolution]
    clock.advance(hours=2)
    tickets.change_status(db, ticket, "resolved", actor=agent, now=clock.now(),
                          resolution_code="fixed", resolution_notes="Reseated the cable")
    assert resolution.state is ClockState.stopped and resolution.is_met
    clock.advance(hours=5)  # the requester tests it for a while
    tickets.change_status(db, ticket, "in_progress", actor=ticket.requester, now=clock.now())
    assert resolution.state is ClockState.running
    assert resolution.due_at == clock.now() + timedelta(hours=6)  # 2 h were already used


def test_cancel_stops_clocks_without_breach(db, make, clock):
    make.policy(priority=3)
    agent = make.agent()
    ticket = make.ticket(actor=agent, impact=2, urgency=2)
    clock.advance(hours=20)
    tickets.change_status(db, ticket, "cancelled", actor=agent, now=clock.now())
    for c in ticket.clocks:
        assert c.state is ClockState.stopped and c.is_cancelled
        assert c.breached_at is None and not c.is_met


def test_priority_change_retargets_keeping_elapsed(db, make, clock):
    make.policy(priority=3, resolution_minutes=480)
    make.policy(priority=1, resolution_minutes=240)
    agent = make.agent()
    ticket = make.ticket(actor=agent, impact=2, urgency=2)
    resolution = clocks_by_kind(ticket)[ClockKind.resolution]
    clock.advance(hours=1)
    tickets.update_ticket(db, ticket, actor=agent, now=clock.now(), impact=1, urgency=1)
    assert ticket.priority == 1 and resolution.target_seconds == 4 * 3600
    assert resolution.due_at == clock.now() + timedelta(hours=3)


def test_retarget_past_a_threshold_fires_it_at_the_retarget_time(db, make, clock):
    make.policy(priority=3, resolution_minutes=480)
    make.policy(priority=1, resolution_minutes=240)
    agent = make.agent()
    ticket = make.ticket(actor=agent, impact=2, urgency=2)
    resolution = clocks_by_kind(ticket)[ClockKind.resolution]
    clock.advance(hours=3)  # 37.5 % of 8 h, but 75 % of 4 h
    tickets.update_ticket(db, ticket, actor=agent, now=clock.now(), impact=1, urgency=1)
    assert resolution.next_threshold == 50 and resolution.next_check_at == clock.now()


@pytest.mark.parametrize("hours,state,colour", [
    (1, "running", "success"), (5, "running", "warning"), (9, "breached", "danger"),
])
def test_clock_status_for_display(db, make, clock, hours, state, colour):
    make.policy(priority=3, resolution_minutes=480)
    ticket = make.ticket(impact=2, urgency=2)
    clock.advance(hours=hours)
    status = {s.clock.kind: s for s in sla.ticket_clock_statuses(db, ticket, clock.now())}
    resolution = status[ClockKind.resolution]
    assert (resolution.state, resolution.colour) == (state, colour)
    assert resolution.remaining_seconds == (8 - hours) * 3600
