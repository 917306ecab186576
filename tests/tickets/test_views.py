"""HTTP tests of the staff pages: queue, intake form, ticket page, vendor view, CSRF."""
from __future__ import annotations

import json
import re

import pytest
import sqlalchemy as sa

from servicedesk.accounts.models import Role, User
from servicedesk.tickets.models import Status, Ticket, TicketEvent

ROLES = ["requester", "vendor", "agent", "expert", "manager", "admin"]
STAFF = {"agent", "expert", "manager", "admin"}


@pytest.fixture
def login_as(login_as, db):
    """Commit the test's setup first: ``login_as`` opens a request context whose teardown
    rolls back whatever is still uncommitted (the shared fixture does not)."""

    def _login(user):
        db.commit()
        return login_as(user)

    return _login


def count(db, model) -> int:
    return db.scalar(sa.select(sa.func.count()).select_from(model))


def html(resp) -> str:
    return resp.get_data(as_text=True)


def intake_data(**overrides):
    data = {"caller_email": "mia.chen@example.com", "caller_name": "Mia Chen",
            "caller_phone": "+86 21 5555 0101", "channel": "phone", "service_id": "",
            "category_id": "", "impact": "2", "urgency": "1", "priority": "",
            "priority_reason": "", "title": "Baggage belt 3 stopped",
            "description": "Belt 3 in terminal 2 stopped at 08:40; bags piling up.",
            "group_id": "", "assignee_id": ""}
    data.update(overrides)
    return data


# --- queue -------------------------------------------------------------------------------

@pytest.mark.parametrize("role", ROLES)
def test_queue_is_for_staff_only(make, login_as, role):
    client = login_as(make.user(Role(role)))
    resp = client.get("/queue")
    assert resp.status_code == (200 if role in STAFF else 403)


def test_queue_needs_login(client):
    resp = client.get("/queue")
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]


def test_queue_lists_open_tickets_with_their_columns(make, login_as):
    agent = make.agent()
    service = make.service(name="T2 baggage belts")
    caller = make.requester(name="Mia Chen")
    ticket = make.ticket(title="Belt 3 stopped", impact=1, urgency=1, requester=caller,
                         service_id=service.id)
    resp = login_as(agent).get("/queue")
    page = html(resp)
    assert ticket.number in page and "Belt 3 stopped" in page
    assert "Mia Chen" in page and "T2 baggage belts" in page
    assert ">P1<" in page and "unassigned" in page


def test_queue_views_mine_group_unassigned(make, login_as, db):
    group = make.group(name="Desk T1")
    agent = make.agent(groups=[group])
    mine = make.ticket(title="Assigned to me", group_id=group.id, assignee_id=agent.id)
    other_group = make.ticket(title="In my group, nobody", group_id=group.id)
    elsewhere = make.ticket(title="Nowhere near me")
    client = login_as(agent)

    def titles(view):
        page = html(client.get(f"/queue?view={view}"))
        return {t.title for t in (mine, other_group, elsewhere) if t.number in page}

    assert titles("mine") == {"Assigned to me"}
    assert titles("group") == {"Assigned to me", "In my group, nobody"}
    assert titles("unassigned") == {"In my group, nobody", "Nowhere near me"}
    assert titles("open") == {"Assigned to me", "In my group, nobody", "Nowhere near me"}


def test_queue_filters_and_search(make, login_as):
    agent = make.agent()
    svc = make.service()
    p1 = make.ticket(title="Radar feed lost", impact=1, urgency=1, service_id=svc.id)
    p4 = make.ticket(title="Printer toner low", impact=3, urgency=3,
                     description="Toner for the radar room printer")
    client = login_as(agent)
    assert p1.number in html(client.get("/queue?priority=1"))
    assert p4.number not in html(client.get("/queue?priority=1"))
    page = html(client.get(f"/queue?service={svc.id}"))
    assert p1.number in page and p4.number not in page
    page = html(client.get("/queue?q=radar"))  # title of one, description of the other
    assert p1.number in page and p4.number in page
    page = html(client.get(f"/queue?q={p4.number}"))
    assert p4.number in page and p1.number not in page
    page = html(client.get("/queue?status=new&status=assigned&priority="))  # "Any" is ignored
    assert p1.number in page and p4.number in page


def test_queue_sorts(make, login_as, clock):
    agent = make.agent()
    old = make.ticket(title="Older", impact=3, urgency=3)
    clock.advance(hours=1)
    new = make.ticket(title="Newer", impact=1, urgency=1)
    client = login_as(agent)
    page = html(client.get("/queue?sort=oldest"))
    assert page.index(old.number) < page.index(new.number)
    page = html(client.get("/queue?sort=newest"))
    assert page.index(new.number) < page.index(old.number)
    page = html(client.get("/queue?sort=priority"))
    assert page.index(new.number) < page.index(old.number)


def test_queue_pagination_keeps_filters(make, login_as):
    agent = make.agent()
    tickets = [make.ticket(title=f"Gate printer {i}", impact=1, urgency=1) for i in range(3)]
    make.ticket(title="Not P1", impact=3, urgency=3)
    client = login_as(agent)
    page1 = html(client.get("/queue?priority=1&per_page=2&sort=oldest"))
    assert tickets[0].number in page1 and tickets[2].number not in page1
    assert "3 tickets" in page1 and "page 1 of 2" in page1
    [next_href] = re.findall(r'href="([^"]+)" rel="next"', page1)
    next_href = next_href.replace("&amp;", "&")
    assert "priority=1" in next_href and "page=2" in next_href and "sort=oldest" in next_href
    page2 = html(client.get(next_href))
    assert tickets[2].number in page2 and tickets[0].number not in page2
    assert "Not P1" not in page2


@pytest.mark.parametrize("query,field", [
    ("status=bogus", "Status"),
    ("priority=9", "Priority"),
    ("priority=high", "Priority"),
    ("group=abc", "Group"),
    ("service=-4", "Service"),
    ("sort=sideways", "Sort"),
    ("page=0", "Page"),
    ("page=lots", "Page"),
    ("per_page=1000", "Per page"),
    ("view=everything", "View"),
    ("q=" + "x" * 201, "Search"),
])
def test_queue_bad_filters_are_422_with_a_message(make, login_as, query, field):
    resp = login_as(make.agent()).get(f"/queue?{query}")
    assert resp.status_code == 422
    page = html(resp)
    assert "These filters cannot be applied" in page and f"<li>{field}:" in page


# --- intake form -------------------------------------------------------------------------

@pytest.mark.parametrize("role", ROLES)
def test_intake_form_is_for_staff_only(make, login_as, role):
    client = login_as(make.user(Role(role)))
    assert client.get("/tickets/new").status_code == (200 if role in STAFF else 403)
    resp = client.post("/tickets/new", data=intake_data())
    assert resp.status_code == (302 if role in STAFF else 403)


def test_intake_page_embeds_the_matrix_and_keyboard_hints(make, login_as, db):
    from servicedesk.catalog.services import set_matrix

    set_matrix(db, {(3, 3): 3})
    page = html(login_as(make.agent()).get("/tickets/new"))
    [raw] = re.findall(r'<script type="application/json" class="priority-matrix">(.*?)</script>',
                       page, re.S)
    matrix = json.loads(raw)
    assert matrix["cells"]["3-3"] == 3 and matrix["cells"]["1-1"] == 1
    assert "Alt</kbd>+<kbd>N</kbd>" in page and "Ctrl</kbd>+<kbd>Enter</kbd>" in page
    assert 'src="/static/js/app.js"' in page
    assert not re.search(r"\son[a-z]+=", page)  # no inline event handlers
    assert 'autofocus' in page


def test_intake_creates_ticket_and_new_caller(make, login_as, db):
    agent = make.agent()
    svc, cat = make.service(), make.category()
    resp = login_as(agent).post("/tickets/new", data=intake_data(
        service_id=str(svc.id), category_id=str(cat.id)))
    assert resp.status_code == 302
    ticket = db.scalar(sa.select(Ticket).order_by(Ticket.id.desc()))
    assert resp.headers["Location"].endswith(f"/tickets/{ticket.id}")
    assert ticket.title == "Baggage belt 3 stopped" and ticket.channel.value == "phone"
    assert ticket.priority == 2 and ticket.service is svc and ticket.category is cat
    assert ticket.created_by is agent
    caller = ticket.requester
    assert (caller.email, caller.name, caller.phone, caller.role) == (
        "mia.chen@example.com", "Mia Chen", "+86 21 5555 0101", Role.requester)


def test_intake_reuses_an_existing_caller(make, login_as, db):
    caller = make.requester(email="known@example.com")
    client = login_as(make.agent())
    users = count(db, User)
    resp = client.post("/tickets/new", data=intake_data(
        caller_email="KNOWN@example.com", caller_name=""))
    assert resp.status_code == 302
    assert count(db, User) == users
    assert db.scalar(sa.select(Ticket).order_by(Ticket.id.desc())).requester is caller


def test_intake_missing_title_keeps_input_and_creates_nothing(make, login_as, db):
    client = login_as(make.agent())
    tickets, users = count(db, Ticket), count(db, User)
    resp = client.post("/tickets/new", data=intake_data(title="  ", caller_name="Zoë <b>"))
    assert resp.status_code == 422
    page = html(resp)
    assert re.search(r'id="title"[^>]*class="form-control is-invalid"|'
                     r'class="form-control is-invalid"[^>]*id="title"', page)
    assert "Title is required." in page and "invalid-feedback" in page
    assert "Belt 3 in terminal 2 stopped at 08:40" in page  # description kept
    assert 'value="Zoë &lt;b&gt;"' in page  # caller name kept, escaped
    assert count(db, Ticket) == tickets and count(db, User) == users


def test_intake_override_without_reason_is_refused_inline(make, login_as, db):
    client = login_as(make.agent())
    tickets, users = count(db, Ticket), count(db, User)
    resp = client.post("/tickets/new", data=intake_data(impact="3", urgency="3", priority="1"))
    assert resp.status_code == 422
    page = html(resp)
    assert "Overriding the matrix priority needs a reason." in page
    assert 'id="priority_reason-error"' in page
    assert count(db, Ticket) == tickets and count(db, User) == users  # the caller too
    resp = client.post("/tickets/new", data=intake_data(
        impact="3", urgency="3", priority="1", priority_reason="Tower radio, flights waiting"))
    assert resp.status_code == 302
    ticket = db.scalar(sa.select(Ticket).order_by(Ticket.id.desc()))
    assert ticket.priority == 1 and ticket.priority_override_reason.startswith("Tower radio")


@pytest.mark.parametrize("overrides,field,message", [
    ({"caller_email": "", "caller_phone": ""}, "caller_email", "e-mail or phone"),
    ({"caller_email": "not-an-email"}, "caller_email", "valid e-mail"),
    ({"caller_name": ""}, "caller_name", "needs a name"),
    ({"caller_email": "", "caller_phone": "+00 unknown"}, "caller_email", "needs an e-mail"),
    ({"description": ""}, "description", "Description is required"),
    ({"impact": "7"}, "impact", "Not a valid choice"),
    ({"channel": "fax"}, "channel", "Not a valid choice"),
    ({"service_id": "999999"}, "service_id", "Not a valid choice"),
    ({"caller_phone": "1" * 41}, "caller_phone", "40"),
])
def test_intake_validation_names_the_field(make, login_as, db, overrides, field, message):
    tickets = count(db, Ticket)
    resp = login_as(make.agent()).post("/tickets/new", data=intake_data(**overrides))
    assert resp.status_code == 422
    page = html(resp)
    [error] = re.findall(rf'<div class="invalid-feedback" id="{field}-error">(.*?)</div>', page)
    assert message in error
    assert count(db, Ticket) == tickets


def test_intake_assignee_must_be_in_the_group(make, login_as, db):
    group = make.group()
    outsider = make.expert()
    tickets = count(db, Ticket)
    resp = login_as(make.agent()).post("/tickets/new", data=intake_data(
        group_id=str(group.id), assignee_id=str(outsider.id)))
    assert resp.status_code == 422
    assert "is not a member of" in html(resp) and count(db, Ticket) == tickets


def test_intake_lists_assignees_with_their_groups(make, login_as):
    group = make.group()
    expert = make.expert(groups=[group])
    page = html(login_as(make.agent()).get("/tickets/new"))
    assert f'data-groups="{group.id}"' in page and expert.name in page


@pytest.mark.parametrize("role", ROLES)
def test_caller_lookup_is_staff_only(make, login_as, role):
    resp = login_as(make.user(Role(role))).get("/tickets/callers?q=ab")
    assert resp.status_code == (200 if role in STAFF else 403)


def test_caller_lookup_finds_by_email_name_and_phone(make, login_as, db):
    caller = make.requester(email="li.wei@example.com", name="Li Wei")
    caller.phone = "+86 10 1234"
    db.flush()
    client = login_as(make.agent())
    for q in ("li.wei@", "Li W", "10 12"):
        items = client.get("/tickets/callers", query_string={"q": q}).get_json()["items"]
        assert [i["email"] for i in items] == ["li.wei@example.com"], q
    assert client.get("/tickets/callers?q=%25").get_json()["items"] == []  # % is literal
    assert client.get("/tickets/callers?q=" + "x" * 101).status_code == 422


# --- ticket page -------------------------------------------------------------------------

@pytest.mark.parametrize("role", ROLES)
def test_ticket_page_per_role(make, login_as, role):
    ticket = make.ticket()
    resp = login_as(make.user(Role(role))).get(f"/tickets/{ticket.id}")
    expected = {"requester": 403, "vendor": 404}.get(role, 200)
    assert resp.status_code == expected


def test_requester_never_sees_the_staff_page_even_for_own_ticket(make, login_as):
    caller = make.requester()
    ticket = make.ticket(requester=caller)
    assert login_as(caller).get(f"/tickets/{ticket.id}").status_code == 403


def test_unknown_and_huge_ticket_ids_are_404(make, login_as):
    client = login_as(make.agent())
    assert client.get("/tickets/999999").status_code == 404
    assert client.get("/tickets/99999999999999").status_code == 404


def test_staff_page_shows_fields_history_and_internal_notes(make, login_as, db, clock):
    from servicedesk.tickets import services

    agent = make.agent(name="Ana Agent")
    ticket = make.ticket(actor=agent, title="Fuel pump 4 offline", impact=1, urgency=2)
    services.add_comment(db, ticket, actor=agent, body="Called the fuel farm; no answer",
                         now=clock.now(), is_public=False)
    services.add_comment(db, ticket, actor=agent, body="We are on it", now=clock.now())
    page = html(login_as(agent).get(f"/tickets/{ticket.id}"))
    assert ticket.number in page and "Fuel pump 4 offline" in page
    assert "Called the fuel farm; no answer" in page and "We are on it" in page
    internal = re.search(r'<li class="timeline-item event-internal"[^>]*>(.*?)</li>', page, re.S)
    assert internal and "Called the fuel farm" in internal.group(1)
    assert "internal</span>" in internal.group(1)
    assert f'name="version" type="hidden" value="{ticket.version}"' in page


def test_status_choices_are_the_allowed_transitions(make, login_as):
    ticket = make.ticket()
    page = html(login_as(make.agent()).get(f"/tickets/{ticket.id}"))
    select = re.search(r'<select[^>]*id="status"[^>]*>(.*?)</select>', page, re.S).group(1)
    values = re.findall(r'value="([a-z_]+)"', select)
    assert set(values) == {"assigned", "in_progress", "pending_customer", "resolved",
                           "cancelled"}


def test_user_text_is_escaped_in_queue_and_ticket_page(make, login_as, db):
    agent = make.agent()
    client = login_as(agent)
    evil = '<script>alert("x")</script>'
    resp = client.post("/tickets/new", data=intake_data(title=evil, description=evil,
                                                        caller_name="<img src=x>"))
    assert resp.status_code == 302
    ticket = db.scalar(sa.select(Ticket).order_by(Ticket.id.desc()))
    for url in ("/queue", f"/tickets/{ticket.id}"):
        page = html(client.get(url))
        assert evil not in page and "<img src=x>" not in page
        assert "&lt;script&gt;alert(" in page


# --- edit / optimistic locking -----------------------------------------------------------

def edit_data(ticket, **overrides):
    data = {"title": ticket.title, "description": ticket.description, "service_id": "",
            "category_id": "", "impact": str(ticket.impact), "urgency": str(ticket.urgency),
            "priority": "", "priority_reason": "", "version": str(ticket.version)}
    data.update(overrides)
    return data


def test_edit_saves_fields_and_history(make, login_as, db):
    ticket = make.ticket(impact=3, urgency=3)
    resp = login_as(make.agent()).post(f"/tickets/{ticket.id}/edit", data=edit_data(
        ticket, title="Radar display flickers", impact="1", urgency="1"))
    assert resp.status_code == 302
    db.refresh(ticket)
    assert ticket.title == "Radar display flickers" and ticket.priority == 1
    changed = {e.field for e in ticket.events}
    assert {"title", "impact", "urgency", "priority"} <= changed


def test_edit_with_a_stale_version_is_409_and_keeps_input(make, login_as, db, clock):
    from servicedesk.tickets import services

    agent, other = make.agent(), make.agent()
    ticket = make.ticket(title="Original title")
    seen_version = ticket.version
    services.update_ticket(db, ticket, actor=other, now=clock.now(),
                           description="Someone else's change")
    db.flush()
    resp = login_as(agent).post(f"/tickets/{ticket.id}/edit", data=edit_data(
        ticket, title="My careful new title", description="My long typed description",
        version=str(seen_version)))
    assert resp.status_code == 409
    page = html(resp)
    assert "changed by someone else" in page
    assert 'value="My careful new title"' in page and "My long typed description" in page
    assert "<details class=\"card mb-3\" id=\"edit\" open>" in page
    db.refresh(ticket)
    assert ticket.title == "Original title"
    assert ticket.description == "Someone else's change"
    # The form now carries the current version: submitting again deliberately applies it.
    assert f'name="version" type="hidden" value="{ticket.version}"' in page


def test_edit_validation_is_inline(make, login_as, db):
    ticket = make.ticket(title="Keep me")
    resp = login_as(make.agent()).post(f"/tickets/{ticket.id}/edit",
                                       data=edit_data(ticket, title=""))
    assert resp.status_code == 422 and "Title is required." in html(resp)
    db.refresh(ticket)
    assert ticket.title == "Keep me"


def test_edit_needs_a_version(make, login_as):
    ticket = make.ticket()
    data = edit_data(ticket)
    del data["version"]
    assert login_as(make.agent()).post(f"/tickets/{ticket.id}/edit",
                                       data=data).status_code == 422


@pytest.mark.parametrize("role", ["requester", "vendor"])
def test_non_staff_cannot_post_staff_forms(make, login_as, db, role):
    user = make.user(Role(role))
    ticket = make.ticket(requester=user if role == "requester" else None)
    if role == "vendor":
        make.engagement(ticket, user.vendor)
    client = login_as(user)
    for action, data in [("edit", edit_data(ticket, title="Hacked")),
                         ("assign", {"group_id": "", "assignee_id": "",
                                     "version": ticket.version}),
                         ("status", {"status": "cancelled", "version": ticket.version}),
                         ("link", {"parent_number": "", "duplicate_of_number": "",
                                   "version": ticket.version})]:
        assert client.post(f"/tickets/{ticket.id}/{action}", data=data).status_code == 403
    db.refresh(ticket)
    assert ticket.title != "Hacked" and ticket.status is Status.new


# --- assign / status / comment / links ---------------------------------------------------

def test_assign_to_group_member(make, login_as, db):
    group = make.group(tier=2)
    expert = make.expert(groups=[group])
    ticket = make.ticket()
    resp = login_as(make.agent()).post(f"/tickets/{ticket.id}/assign", data={
        "group_id": group.id, "assignee_id": expert.id, "version": ticket.version})
    assert resp.status_code == 302
    db.refresh(ticket)
    assert ticket.assignee is expert and ticket.status is Status.assigned and ticket.tier == 2


def test_assign_non_member_is_refused(make, login_as, db):
    group, outsider = make.group(), make.expert()
    ticket = make.ticket()
    resp = login_as(make.agent()).post(f"/tickets/{ticket.id}/assign", data={
        "group_id": group.id, "assignee_id": outsider.id, "version": ticket.version})
    assert resp.status_code == 422 and "is not a member of" in html(resp)
    db.refresh(ticket)
    assert ticket.assignee is None


def test_resolve_needs_code_and_notes(make, login_as, db):
    ticket = make.ticket()
    client = login_as(make.agent())
    resp = client.post(f"/tickets/{ticket.id}/status", data={
        "status": "resolved", "resolution_code": "", "resolution_notes": "",
        "version": ticket.version})
    assert resp.status_code == 422 and "Choose a resolution code." in html(resp)
    resp = client.post(f"/tickets/{ticket.id}/status", data={
        "status": "resolved", "resolution_code": "fixed", "resolution_notes": "",
        "version": ticket.version})
    assert resp.status_code == 422 and "Resolution notes is required." in html(resp)
    db.refresh(ticket)
    assert ticket.status is Status.new
    resp = client.post(f"/tickets/{ticket.id}/status", data={
        "status": "resolved", "resolution_code": "workaround",
        "resolution_notes": "Restarted the belt controller", "version": ticket.version})
    assert resp.status_code == 302
    db.refresh(ticket)
    assert ticket.status is Status.resolved and ticket.resolution_notes.startswith("Restarted")


def test_transition_not_allowed_from_current_status(make, login_as, db):
    ticket = make.ticket()
    resp = login_as(make.agent()).post(f"/tickets/{ticket.id}/status", data={
        "status": "closed", "version": ticket.version})
    assert resp.status_code == 422 and "Not a valid choice" in html(resp)
    db.refresh(ticket)
    assert ticket.status is Status.new


def test_status_change_with_stale_version_is_409(make, login_as, db, clock):
    from servicedesk.tickets import services

    ticket = make.ticket()
    old = ticket.version
    services.add_comment(db, ticket, actor=make.agent(), body="bump", now=clock.now())
    db.flush()
    resp = login_as(make.agent()).post(f"/tickets/{ticket.id}/status", data={
        "status": "cancelled", "comment": "Caller withdrew it", "version": old})
    assert resp.status_code == 409 and "Caller withdrew it" in html(resp)
    db.refresh(ticket)
    assert ticket.status is Status.new


@pytest.mark.parametrize("visibility,public", [("internal", False), ("public", True)])
def test_staff_comment_visibility(make, login_as, db, visibility, public):
    ticket = make.ticket()
    resp = login_as(make.agent()).post(f"/tickets/{ticket.id}/comment", data={
        "body": "Checked the switch", "visibility": visibility})
    assert resp.status_code == 302
    event = db.scalar(sa.select(TicketEvent).where(TicketEvent.ticket_id == ticket.id,
                                                   TicketEvent.body == "Checked the switch"))
    assert event.is_public is public


def test_empty_comment_is_422(make, login_as, db):
    ticket = make.ticket()
    events = count(db, TicketEvent)
    resp = login_as(make.agent()).post(f"/tickets/{ticket.id}/comment",
                                       data={"body": " ", "visibility": "public"})
    assert resp.status_code == 422 and "Write something first." in html(resp)
    assert count(db, TicketEvent) == events


def test_comment_on_closed_ticket_is_409(make, login_as, db):
    ticket = make.ticket()
    ticket.status = Status.cancelled
    db.flush()
    resp = login_as(make.agent()).post(f"/tickets/{ticket.id}/comment",
                                       data={"body": "late", "visibility": "public"})
    assert resp.status_code == 409 and "comments are closed" in html(resp)


def test_link_parent_and_duplicate_by_number(make, login_as, db):
    major, original, ticket = make.ticket(), make.ticket(), make.ticket()
    client = login_as(make.agent())
    resp = client.post(f"/tickets/{ticket.id}/link", data={
        "parent_number": major.number, "duplicate_of_number": str(original.id),
        "version": ticket.version})
    assert resp.status_code == 302
    db.refresh(ticket)
    assert ticket.parent is major and ticket.duplicate_of is original
    page = html(client.get(f"/tickets/{major.id}"))
    children = re.search(r"<dt class=\"col-5\">Children</dt>(.*?)</dd>", page, re.S).group(1)
    assert ticket.number in children


@pytest.mark.parametrize("value,message", [
    ("INC-XYZ", "is not a ticket number"),
    ("INC-999999", "No parent with id 999999"),
])
def test_bad_link_numbers_are_inline_errors(make, login_as, db, value, message):
    ticket = make.ticket()
    resp = login_as(make.agent()).post(f"/tickets/{ticket.id}/link", data={
        "parent_number": value, "duplicate_of_number": "", "version": ticket.version})
    assert resp.status_code == 422
    [error] = re.findall(r'id="parent_number-error">(.*?)</div>', html(resp))
    assert message in error
    db.refresh(ticket)
    assert ticket.parent is None


def test_link_to_itself_is_refused(make, login_as, db):
    ticket = make.ticket()
    resp = login_as(make.agent()).post(f"/tickets/{ticket.id}/link", data={
        "parent_number": ticket.number, "duplicate_of_number": "", "version": ticket.version})
    assert resp.status_code == 422 and "its own parent" in html(resp)


# --- vendors -----------------------------------------------------------------------------

def test_vendor_sees_engaged_ticket_public_history_only(make, login_as, db, clock):
    from servicedesk.tickets import services

    vendor_user = make.vendor_user()
    agent = make.agent()
    ticket = make.ticket(actor=agent, title="Docking guidance T3 dark")
    services.add_comment(db, ticket, actor=agent, body="Vendor is slow, chase them",
                         now=clock.now(), is_public=False)
    services.add_comment(db, ticket, actor=agent, body="Vendor engaged", now=clock.now())
    other = make.ticket(title="Not theirs")
    make.engagement(ticket, vendor_user.vendor)
    client = login_as(vendor_user)
    page = html(client.get(f"/tickets/{ticket.id}"))
    assert "Docking guidance T3 dark" in page and "Vendor engaged" in page
    assert "chase them" not in page and "internal" not in page
    assert 'action="/tickets/%d/comment"' % ticket.id in page
    assert 'name="visibility"' not in page and 'action="/tickets/%d/edit"' % ticket.id not in page
    assert client.get(f"/tickets/{other.id}").status_code == 404
    listing = html(client.get("/vendor/tickets"))
    assert ticket.number in listing and other.number not in listing


def test_vendor_comment_is_public_and_only_on_engaged_tickets(make, login_as, db):
    vendor_user = make.vendor_user()
    ticket, other = make.ticket(), make.ticket()
    make.engagement(ticket, vendor_user.vendor)
    client = login_as(vendor_user)
    resp = client.post(f"/tickets/{ticket.id}/comment",
                       data={"body": "Engineer on site 14:00", "visibility": "internal"})
    assert resp.status_code == 302
    event = db.scalar(sa.select(TicketEvent).where(TicketEvent.body == "Engineer on site 14:00"))
    assert event.is_public
    events = count(db, TicketEvent)
    assert client.post(f"/tickets/{other.id}/comment",
                       data={"body": "sneaky"}).status_code == 404
    assert count(db, TicketEvent) == events


@pytest.mark.parametrize("role", ROLES)
def test_vendor_list_is_for_vendors(make, login_as, role):
    resp = login_as(make.user(Role(role))).get("/vendor/tickets")
    assert resp.status_code == (200 if role == "vendor" else 403)


# --- CSRF --------------------------------------------------------------------------------

def test_csrf_token_is_enforced_on_forms(tmp_path):
    from servicedesk import create_app
    from servicedesk.accounts.services import create_user
    from servicedesk.config import TestingConfig
    from servicedesk.extensions import db as _db

    class CsrfConfig(TestingConfig):
        WTF_CSRF_ENABLED = True
        SQLALCHEMY_DATABASE_URI = f"sqlite:///{tmp_path / 'csrf.db'}"

    app = create_app(CsrfConfig)
    with app.app_context():
        _db.create_all()
        from servicedesk.clock import utcnow

        create_user(_db.session, email="agent@example.com", name="Agent", role=Role.agent,
                    password="long enough pw", now=utcnow())
        _db.session.commit()
    try:
        client = app.test_client()
        resp = client.post("/login", data={"email": "agent@example.com",
                                           "password": "long enough pw"})
        assert resp.status_code == 400 and "CSRF" in html(resp)
        token = re.search(r'name="csrf-token" content="([^"]+)"', html(client.get("/login")))
        resp = client.post("/login", data={"email": "agent@example.com",
                                           "password": "long enough pw",
                                           "csrf_token": token.group(1)})
        assert resp.status_code == 302
        resp = client.post("/tickets/new", data=intake_data())
        assert resp.status_code == 400
        with app.app_context():
            assert _db.session.scalar(sa.select(sa.func.count(Ticket.id))) == 0
    finally:
        with app.app_context():
            _db.session.remove()
            _db.engine.dispose()


def test_queue_filter_lists_follow_new_groups_and_services(make, login_as):
    """The lists come through the reference cache; a write to groups or services clears it."""
    client = login_as(make.agent())
    assert "Night shift" not in html(client.get("/queue"))  # cached now
    make.group(name="Night shift")
    make.service(name="Runway lights")
    page = html(client.get("/queue"))
    assert "Night shift" in page and "Runway lights" in page
