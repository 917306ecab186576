"""CSAT: one survey per resolved ticket, by e-mailed token or in the portal; low scores go to
the group's manager."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from servicedesk.feedback.models import Survey
from servicedesk.notifications.models import Notification, OutboundEmail
from servicedesk.tickets import services as tickets
from servicedesk.tickets.models import EventKind


@pytest.fixture
def resolved(db, make, clock):
    """A ticket of a desk group with a manager, resolved by an agent; returns (ticket, token)."""
    manager = make.manager()
    group = make.group()
    group.manager = manager
    agent = make.agent(groups=[group])
    ticket = make.ticket(actor=agent, group_id=group.id)
    tickets.change_status(db, ticket, "resolved", actor=agent, now=clock.now(),
                          resolution_code="fixed", resolution_notes="Replaced the roller.")
    return ticket, _token(db, ticket)


def _token(db, ticket) -> str:
    mail = db.scalar(sa.select(OutboundEmail).where(
        OutboundEmail.to_address == ticket.requester.email,
        OutboundEmail.subject.like(f"{ticket.number} is resolved%")))
    return re.search(r"/surveys/(\S+)", mail.body_text).group(1)


def test_resolving_sends_one_survey_to_the_requester(resolved, db, make, clock):
    ticket, token = resolved
    survey = db.scalar(sa.select(Survey).where(Survey.ticket_id == ticket.id))
    assert survey.requester_id == ticket.requester_id
    assert survey.expires_at == clock.now() + timedelta(days=14)
    assert survey.token_hash != token and len(token) >= 40  # only the hash is stored
    agent = make.agent()
    tickets.change_status(db, ticket, "in_progress", actor=agent, now=clock.now())
    tickets.change_status(db, ticket, "resolved", actor=agent, now=clock.now(),
                          resolution_code="fixed", resolution_notes="Again.")
    assert db.scalar(sa.select(sa.func.count(Survey.id))
                     .where(Survey.ticket_id == ticket.id)) == 1


def test_answer_by_link_without_login_once(resolved, client, db):
    ticket, token = resolved
    page = client.get(f"/surveys/{token}")
    assert page.status_code == 200 and ticket.title in page.get_data(as_text=True)
    resp = client.post(f"/surveys/{token}", data={"score": "4", "comment": "Quick, thanks"})
    assert resp.status_code == 302
    survey = db.scalar(sa.select(Survey).where(Survey.ticket_id == ticket.id))
    db.refresh(survey)
    assert (survey.score, survey.comment) == (4, "Quick, thanks")
    again = client.post(f"/surveys/{token}", data={"score": "1"})
    assert again.status_code == 410
    db.refresh(survey)
    assert survey.score == 4


def test_expired_and_unknown_links(resolved, client, clock):
    _, token = resolved
    assert client.get("/surveys/not-a-token").status_code == 404
    clock.advance(days=14)
    resp = client.post(f"/surveys/{token}", data={"score": "5"})
    assert resp.status_code == 410 and "expired" in resp.get_data(as_text=True)


@pytest.mark.parametrize("score", ["", "0", "6", "five"])
def test_bad_score_is_422_and_nothing_saved(resolved, client, db, score):
    ticket, token = resolved
    resp = client.post(f"/surveys/{token}", data={"score": score})
    assert resp.status_code == 422 and "score" in resp.get_data(as_text=True).lower()
    survey = db.scalar(sa.select(Survey).where(Survey.ticket_id == ticket.id))
    db.refresh(survey)
    assert survey.answered_at is None


def test_low_score_asks_the_group_manager_to_follow_up(resolved, client, db):
    ticket, token = resolved
    client.post(f"/surveys/{token}", data={"score": "2", "comment": "Took all day <b>x</b>"})
    notice = db.scalar(sa.select(Notification).where(Notification.kind == "csat_low"))
    assert notice.user_id == ticket.group.manager_id and notice.ticket_id == ticket.id
    assert "2/5" in notice.title and "Took all day" in notice.body
    note = db.scalar(sa.select(sa.func.count()).select_from(sa.text("ticket_events")).where(
        sa.text("ticket_id = :t AND kind = :k AND is_public = :p AND body LIKE 'Satisfaction 2/5%'")
    ).params(t=ticket.id, k=EventKind.comment.name, p=False))
    assert note == 1


def test_good_score_notifies_nobody(resolved, client, db):
    _, token = resolved
    client.post(f"/surveys/{token}", data={"score": "5"})
    assert db.scalar(sa.select(sa.func.count(Notification.id))
                     .where(Notification.kind == "csat_low")) == 0


def test_portal_lists_and_answers_own_surveys(resolved, make, login_as, db):
    ticket, _ = resolved
    client = login_as(ticket.requester)
    listing = client.get("/portal/surveys").get_data(as_text=True)
    assert ticket.number in listing and 'href="/portal/surveys"' in listing  # in the nav
    resp = client.post(f"/portal/surveys/{ticket.id}", data={"score": "3"})
    assert resp.status_code == 302
    assert ticket.number not in client.get("/portal/surveys").get_data(as_text=True)


@pytest.mark.parametrize("who,status", [("other_requester", 404), ("agent", 403),
                                        ("manager", 403)])
def test_portal_survey_of_someone_else(resolved, make, login_as, who, status):
    ticket, _ = resolved
    user = make.requester() if who == "other_requester" else make.user(
        {"agent": make.agent, "manager": make.manager}[who]().role)
    assert login_as(user).get(f"/portal/surveys/{ticket.id}").status_code == status


def test_portal_ticket_page_asks_for_the_open_survey_until_answered(resolved, make, login_as,
                                                                    clock):
    ticket, _ = resolved
    client = login_as(ticket.requester)
    link = f'href="/portal/surveys/{ticket.id}"'
    assert link in client.get(f"/portal/tickets/{ticket.id}").get_data(as_text=True)
    assert client.post(f"/portal/surveys/{ticket.id}", data={"score": "5"}).status_code == 302
    assert link not in client.get(f"/portal/tickets/{ticket.id}").get_data(as_text=True)


def test_portal_ticket_page_has_no_survey_link_once_expired(resolved, login_as, clock):
    ticket, _ = resolved
    clock.advance(days=15)
    page = login_as(ticket.requester).get(f"/portal/tickets/{ticket.id}").get_data(as_text=True)
    assert f"/portal/surveys/{ticket.id}" not in page
