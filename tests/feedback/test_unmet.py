"""Unmet requests: recorded by staff on their own page or in the intake form's section."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from servicedesk.accounts.models import Role
from servicedesk.feedback.models import UnmetCategory, UnmetRequest
from servicedesk.tickets.models import Ticket
from tests.tickets.test_views import intake_data


def _count(db) -> int:
    return db.scalar(sa.select(sa.func.count(UnmetRequest.id)))


@pytest.mark.parametrize("role,status", [(Role.agent, 302), (Role.expert, 302),
                                         (Role.manager, 302), (Role.admin, 302),
                                         (Role.requester, 403), (Role.vendor, 403)])
def test_unmet_page_is_for_staff(make, login_as, db, role, status):
    client = login_as(make.user(role))
    resp = client.post("/unmet/new", data={"unmet_category": "information",
                                           "unmet_description": "Weather in Lhasa"})
    assert resp.status_code == status
    assert _count(db) == (1 if status == 302 else 0)


@pytest.mark.parametrize("data,field", [
    ({"unmet_category": "lunch", "unmet_description": "x"}, "unmet_category"),
    ({"unmet_category": "information", "unmet_description": ""}, "unmet_description"),
    ({"unmet_category": "information", "unmet_description": "x" * 1001}, "unmet_description"),
])
def test_unmet_page_validation(make, login_as, db, data, field):
    resp = login_as(make.agent()).post("/unmet/new", data=data)
    assert resp.status_code == 422
    assert f'id="{field}-error"' in resp.get_data(as_text=True)
    assert _count(db) == 0


def test_intake_records_the_unmet_request_with_the_ticket(make, login_as, db):
    agent = make.agent()
    resp = login_as(agent).post("/tickets/new", data=intake_data(
        unmet_category="not_offered", unmet_description="Wants lounge access booked"))
    assert resp.status_code == 302
    ticket = db.scalar(sa.select(Ticket).order_by(Ticket.id.desc()))
    row = db.scalar(sa.select(UnmetRequest))
    assert (row.category, row.description, row.ticket_id, row.recorded_by_id) == (
        UnmetCategory.not_offered, "Wants lounge access booked", ticket.id, agent.id)


def test_intake_without_unmet_section_records_nothing(make, login_as, db):
    assert login_as(make.agent()).post("/tickets/new", data=intake_data()).status_code == 302
    assert _count(db) == 0


def test_bad_unmet_section_keeps_everything_unsaved(make, login_as, db):
    before = db.scalar(sa.select(sa.func.count(Ticket.id)))
    resp = login_as(make.agent()).post("/tickets/new", data=intake_data(
        unmet_category="", unmet_description="Something"))
    assert resp.status_code == 422
    page = resp.get_data(as_text=True)
    assert "Choose what kind of request it was." in page and "Something" in page
    assert db.scalar(sa.select(sa.func.count(Ticket.id))) == before and _count(db) == 0
