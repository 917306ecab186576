"""A small desk for the escalation pages and API: agent, experts, manager, a vendor, a budget."""
from __future__ import annotations

from datetime import date

import pytest

from servicedesk.escalation import services as esc


@pytest.fixture
def desk(db, make):
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
    other_vendor_user = make.vendor_user(name="Someone Else's Engineer")
    make.policy(priority=2, response_minutes=30, resolution_minutes=8 * 60)
    esc.set_budget(db, actor=manager, period_start=date(2026, 3, 1),
                   period_end=date(2026, 3, 31), amount=1000)
    ticket = make.ticket(actor=agent, impact=1, urgency=2, service_id=service.id,
                         group_id=desk.id, assignee_id=agent.id,
                         title="Radar display frozen at T2")
    return dict(manager=manager, agent=agent, desk=desk, expert=expert, experts=experts,
                service=service, vendor=vendor, vendor_user=vendor_user,
                other_vendor_user=other_vendor_user, ticket=ticket,
                requester=ticket.requester)


@pytest.fixture
def request_vendor(db, clock, desk):
    """``request_vendor(cost)``: the expert asks for the desk's vendor on the desk's ticket."""

    def _request(cost="800"):
        return esc.request_engagement(db, desk["ticket"], actor=desk["expert"],
                                      vendor_id=desk["vendor"].id, now=clock.now(),
                                      reason="Display controller board failure",
                                      estimated_cost=cost)

    return _request


@pytest.fixture
def login_as(login_as, db):
    """Commit the test's setup first (the login request's teardown rolls back the rest)."""

    def _login(user):
        db.commit()
        return login_as(user)

    return _login
