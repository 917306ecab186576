"""HTTP tests of the requester portal: own tickets only, public history only, workflow buttons."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from servicedesk.accounts.models import Role
from servicedesk.tickets import services
from servicedesk.tickets.models import Channel, Status, Ticket, TicketEvent

ROLES = ["requester", "vendor", "agent", "expert", "manager", "admin"]
STAFF = {"agent", "expert", "manager", "admin"}


@pytest.fixture
def login_as(login_as, db):
    """Commit the setup first: ``login_as`` opens a request context whose teardown rolls back
    whatever is still uncommitted."""

    def _login(user):
        db.commit()
        return login_as(user)

    return _login


def html(resp) -> str:
    return resp.get_data(as_text=True)


def count(db, model) -> int:
    return db.scalar(sa.select(sa.func.count()).select_from(model))


def resolve(db, ticket, clock):
    agent = ticket.created_by
    services.change_status(db, ticket, Status.resolved, actor=agent, now=clock.now(),
                           resolution_code="fixed", resolution_notes="Replaced the cable")
    db.flush()


# --- access ------------------------------------------------------------------------------

@pytest.mark.parametrize("role", ROLES)
def test_portal_index_per_role(make, login_as, role):
    resp = login_as(make.user(Role(role))).get("/portal/")
    if role == "requester":
        assert resp.status_code == 200
    elif role in STAFF:
        assert resp.status_code == 302 and resp.headers["Location"].endswith("/queue")
    else:
        assert resp.status_code == 403


def test_portal_needs_login(client):
    resp = client.get("/portal/")
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]


@pytest.mark.parametrize("role", ROLES)
def test_portal_new_per_role(make, login_as, db, role):
    client = login_as(make.user(Role(role)))
    resp = client.get("/portal/new")
    expected = {"requester": 200, "vendor": 403}.get(role, 302)
    assert resp.status_code == expected
    before = count(db, Ticket)
    resp = client.post("/portal/new", data={"title": "x", "description": "y", "impact": "3",
                                            "urgency": "3", "service_id": ""})
    assert resp.status_code == (302 if role == "requester" else 403)
    assert count(db, Ticket) == before + (1 if role == "requester" else 0)


def test_staff_opening_a_portal_ticket_go_to_the_staff_page(make, login_as):
    ticket = make.ticket()
    resp = login_as(make.agent()).get(f"/portal/tickets/{ticket.id}")
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/tickets/{ticket.id}")


def test_requester_lists_only_own_tickets(make, login_as):
    me, other = make.requester(), make.requester()
    mine = make.ticket(requester=me, title="My kiosk is frozen")
    theirs = make.ticket(requester=other, title="Someone else's printer")
    page = html(login_as(me).get("/portal/"))
    assert mine.number in page and "My kiosk is frozen" in page
    assert theirs.number not in page and "Someone else" not in page


def test_portal_index_bad_page_is_400(make, login_as):
    assert login_as(make.requester()).get("/portal/?page=zero").status_code == 400


def test_requester_cannot_open_someone_elses_ticket(make, login_as):
    me = make.requester()
    theirs = make.ticket()
    client = login_as(me)
    assert client.get(f"/portal/tickets/{theirs.id}").status_code == 404
    assert client.post(f"/portal/tickets/{theirs.id}/reply",
                       data={"body": "hello"}).status_code == 404
    assert client.post(f"/portal/tickets/{theirs.id}/status",
                       data={"status": "cancelled", "version": theirs.version}
                       ).status_code == 404
    assert client.get("/portal/tickets/99999999999").status_code == 404


# --- logging a ticket ----------------------------------------------------------------------

def test_requester_logs_a_ticket_from_the_web(make, login_as, db):
    me = make.requester()
    svc = make.service()
    resp = login_as(me).post("/portal/new", data={
        "title": "Kiosk at door 4 is blank", "description": "Blank since 7am.",
        "service_id": str(svc.id), "impact": "2", "urgency": "1"})
    assert resp.status_code == 302
    ticket = db.scalar(sa.select(Ticket).order_by(Ticket.id.desc()))
    assert resp.headers["Location"].endswith(f"/portal/tickets/{ticket.id}")
    assert ticket.requester is me and ticket.created_by is me
    assert ticket.channel is Channel.web and ticket.service is svc
    assert (ticket.impact, ticket.urgency, ticket.priority) == (2, 1, 2)


@pytest.mark.parametrize("data,field,message", [
    ({"title": ""}, "title", "Tell us what is wrong."),
    ({"description": " "}, "description", "Please describe the problem."),
    ({"impact": "9"}, "impact", "Not a valid choice"),
    ({"service_id": "abc"}, "service_id", "Invalid Choice"),
    ({"title": "x" * 201}, "title", "200"),
])
def test_portal_form_errors_are_inline_and_nothing_is_created(make, login_as, db, data, field,
                                                               message):
    form = {"title": "Printer", "description": "Jams", "impact": "3", "urgency": "3",
            "service_id": ""}
    form.update(data)
    before = count(db, Ticket)
    resp = login_as(make.requester()).post("/portal/new", data=form)
    assert resp.status_code == 422
    page = html(resp)
    assert message in page and "is-invalid" in page
    assert count(db, Ticket) == before


def test_portal_form_speaks_plain_language(make, login_as):
    page = html(login_as(make.requester()).get("/portal/new"))
    assert "Who is affected?" in page and "I cannot work at all" in page
    assert "Priority" not in page and "matrix" not in page


# --- ticket page, replies, buttons ---------------------------------------------------------

def test_portal_ticket_shows_public_history_only(make, login_as, db, clock):
    me = make.requester()
    agent = make.agent()
    ticket = make.ticket(actor=agent, requester=me)
    services.add_comment(db, ticket, actor=agent, body="Caller sounds annoyed", now=clock.now(),
                         is_public=False)
    services.add_comment(db, ticket, actor=agent, body="A technician is on the way",
                         now=clock.now())
    db.flush()
    page = html(login_as(me).get(f"/portal/tickets/{ticket.id}"))
    assert "A technician is on the way" in page
    assert "Caller sounds annoyed" not in page
    assert "event-internal" not in page and "internal</span>" not in page


def test_requester_reply_is_public_and_resumes_a_waiting_ticket(make, login_as, db, clock):
    me = make.requester()
    agent = make.agent()
    ticket = make.ticket(actor=agent, requester=me)
    services.change_status(db, ticket, Status.pending_customer, actor=agent, now=clock.now())
    db.flush()
    resp = login_as(me).post(f"/portal/tickets/{ticket.id}/reply",
                             data={"body": "The serial number is K-4471"})
    assert resp.status_code == 302
    db.refresh(ticket)
    assert ticket.status is Status.in_progress
    reply = db.scalar(sa.select(TicketEvent)
                      .where(TicketEvent.body == "The serial number is K-4471"))
    assert reply.is_public and reply.actor is me


def test_empty_reply_is_422(make, login_as, db):
    me = make.requester()
    ticket = make.ticket(requester=me)
    events = count(db, TicketEvent)
    resp = login_as(me).post(f"/portal/tickets/{ticket.id}/reply", data={"body": ""})
    assert resp.status_code == 422 and "Write something first." in html(resp)
    assert count(db, TicketEvent) == events


def test_buttons_follow_the_requester_workflow(make, login_as, db, clock):
    me = make.requester()
    ticket = make.ticket(requester=me)
    client = login_as(me)
    page = html(client.get(f"/portal/tickets/{ticket.id}"))
    assert 'value="cancelled"' in page and 'value="closed"' not in page
    resolve(db, ticket, clock)
    page = html(client.get(f"/portal/tickets/{ticket.id}"))
    assert 'value="closed"' in page and 'value="in_progress"' in page
    assert 'value="cancelled"' not in page
    assert "Replaced the cable" in page  # the resolution notes are public


def test_requester_withdraws_a_new_ticket(make, login_as, db):
    me = make.requester()
    ticket = make.ticket(requester=me)
    resp = login_as(me).post(f"/portal/tickets/{ticket.id}/status", data={
        "status": "cancelled", "version": ticket.version, "comment": "Fixed itself"})
    assert resp.status_code == 302
    db.refresh(ticket)
    assert ticket.status is Status.cancelled


@pytest.mark.parametrize("target,final", [("closed", Status.closed),
                                          ("in_progress", Status.in_progress)])
def test_requester_confirms_or_reopens_a_resolution(make, login_as, db, clock, target, final):
    me = make.requester()
    ticket = make.ticket(requester=me)
    resolve(db, ticket, clock)
    resp = login_as(me).post(f"/portal/tickets/{ticket.id}/status",
                             data={"status": target, "version": ticket.version})
    assert resp.status_code == 302
    db.refresh(ticket)
    assert ticket.status is final


@pytest.mark.parametrize("target,status", [("closed", 409), ("assigned", 403),
                                           ("bogus", 422)])
def test_requester_cannot_make_staff_moves(make, login_as, db, target, status):
    me = make.requester()
    ticket = make.ticket(requester=me)
    resp = login_as(me).post(f"/portal/tickets/{ticket.id}/status",
                             data={"status": target, "version": ticket.version})
    assert resp.status_code == status
    db.refresh(ticket)
    assert ticket.status is Status.new


def test_stale_version_on_a_portal_button_is_409(make, login_as, db, clock):
    me = make.requester()
    ticket = make.ticket(requester=me)
    seen = ticket.version
    services.add_comment(db, ticket, actor=make.agent(), body="Looking", now=clock.now())
    db.flush()
    resp = login_as(me).post(f"/portal/tickets/{ticket.id}/status",
                             data={"status": "cancelled", "version": seen})
    assert resp.status_code == 409 and "changed by someone else" in html(resp)
    db.refresh(ticket)
    assert ticket.status is Status.new


def test_portal_escapes_user_text(make, login_as):
    me = make.requester()
    ticket = make.ticket(requester=me, title="<script>alert(1)</script>",
                         description="<b>bold</b>")
    client = login_as(me)
    for url in ("/portal/", f"/portal/tickets/{ticket.id}"):
        page = html(client.get(url))
        assert "<script>alert(1)</script>" not in page and "<b>bold</b>" not in page
        assert "&lt;script&gt;" in page
