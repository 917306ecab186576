"""/api/v1/tickets: happy paths, the per-role matrix, visibility, and every kind of bad input."""
from __future__ import annotations

import json
from types import SimpleNamespace

import pytest
import sqlalchemy as sa

from servicedesk.accounts.models import Role, User
from servicedesk.accounts.services import issue_token
from servicedesk.escalation.models import EngagementState
from servicedesk.tickets.models import Status, Ticket, TicketEvent
from servicedesk.tickets.schemas import EventOut, TicketDetail, TicketOut, TicketPage

API = "/api/v1"
ROLES = ["requester", "vendor", "agent", "expert", "manager", "admin"]


# --- helpers ---------------------------------------------------------------------------------

@pytest.fixture
def auth(db, clock):
    """``auth(user)`` -> headers with a fresh API token for ``user``."""

    def _auth(user):
        _, secret = issue_token(db, user, name="tests", now=clock.now())
        return {"Authorization": f"Bearer {secret}"}

    return _auth


@pytest.fixture
def world(db, make):
    """One of each role around one ticket: the requester's own, engaged to the vendor."""
    desk = make.group(name="Service desk", tier=1)
    experts = make.group(name="Airport systems", tier=2)
    vendor = make.vendor(name="Radar Co")
    users = SimpleNamespace(
        requester=make.requester(), vendor=make.vendor_user(vendor=vendor),
        agent=make.agent(groups=[desk]), expert=make.expert(groups=[experts]),
        manager=make.manager(), admin=make.admin(), other_requester=make.requester())
    service = make.service(name="T2 catering")
    ticket = make.ticket(actor=users.agent, requester=users.requester, service_id=service.id)
    make.engagement(ticket, vendor)
    return SimpleNamespace(users=users, ticket=ticket, desk=desk, experts=experts,
                           vendor=vendor, service=service)


def snapshot(db) -> tuple:
    """Everything an API write could touch, to prove a failed request changed nothing."""
    db.expire_all()
    tickets = db.execute(sa.select(
        Ticket.id, Ticket.version, Ticket.title, Ticket.description, Ticket.status,
        Ticket.priority, Ticket.impact, Ticket.urgency, Ticket.service_id, Ticket.group_id,
        Ticket.assignee_id, Ticket.parent_id, Ticket.duplicate_of_id, Ticket.updated_at,
    ).order_by(Ticket.id)).all()
    events = db.scalar(sa.select(sa.func.count(TicketEvent.id)))
    users = db.scalar(sa.select(sa.func.count(User.id)))
    return tickets, events, users


def new_ticket_body(**overrides) -> dict:
    body = {"title": "Radar display frozen in tower", "description": "Screen 3 stopped "
            "updating at 09:12; aircraft labels are stale.", "impact": 1, "urgency": 1}
    body.update(overrides)
    return body


def error_of(resp) -> dict:
    body = resp.get_json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "fields"}
    assert body["error"]["message"]
    return body["error"]


# --- happy paths -----------------------------------------------------------------------------

def test_agent_creates_ticket_for_caller_found_or_created(client, world, auth, db, clock):
    agent = world.users.agent
    body = new_ticket_body(channel="phone", service_id=world.service.id,
                           caller={"email": "Gate.Manager@airport.example", "name": "Li Na",
                                   "phone": "+86 10 5555 0101"})
    resp = client.post(f"{API}/tickets", json=body, headers=auth(agent))
    assert resp.status_code == 201, resp.get_json()
    data = resp.get_json()
    TicketDetail.model_validate(data)
    assert resp.headers["Location"] == f"{API}/tickets/{data['id']}"
    assert data["number"] == f"INC-{data['id']:06d}"
    assert data["priority"] == 1 and data["status"] == "new" and data["channel"] == "phone"
    assert data["service"] == {"id": world.service.id, "name": "T2 catering"}
    caller = db.scalar(sa.select(User).where(User.email == "gate.manager@airport.example"))
    assert caller.role is Role.requester and data["requester"] == {"id": caller.id,
                                                                    "name": "Li Na"}
    assert data["created_at"] == "2026-03-02T09:00:00Z" == data["updated_at"]
    assert data["version"] == 1 and data["flags"] == {
        "first_contact_resolution": False, "priority_overridden": False, "open": True}
    assert "resolved" in data["allowed_transitions"] and "assigned" not in \
        data["allowed_transitions"]  # nobody to be assigned yet
    assert [e["kind"] for e in data["events"]] == ["created"]
    # The same caller again is found, not duplicated.
    again = client.post(f"{API}/tickets", headers=auth(agent), json=new_ticket_body(
        caller={"email": "gate.manager@airport.example"}))
    assert again.status_code == 201 and again.get_json()["requester"]["id"] == caller.id


def test_token_client_defaults_to_api_channel_and_monitoring_can_say_so(client, world, auth):
    headers = auth(world.users.agent)
    plain = client.post(f"{API}/tickets", json=new_ticket_body(), headers=headers)
    assert plain.get_json()["channel"] == "api"
    assert plain.get_json()["requester"]["id"] == world.users.agent.id  # logged for itself
    monitoring = client.post(f"{API}/tickets", headers=headers,
                             json=new_ticket_body(channel="monitoring"))
    assert monitoring.get_json()["channel"] == "monitoring"


def test_session_client_defaults_to_web_channel(client, world, login_as, db):
    db.commit()  # login_as opens a request context, whose end rolls back uncommitted setup
    login_as(world.users.requester)
    resp = client.post(f"{API}/tickets", json=new_ticket_body(impact=3, urgency=3))
    assert resp.status_code == 201
    data = resp.get_json()
    assert data["channel"] == "web" and data["priority"] == 4
    assert data["requester"]["id"] == world.users.requester.id


def test_staff_may_log_for_an_existing_user_and_override_priority(client, world, auth):
    resp = client.post(f"{API}/tickets", headers=auth(world.users.agent), json=new_ticket_body(
        impact=3, urgency=3, priority=2, priority_reason="Affects the VIP lounge",
        requester_id=world.users.other_requester.id, group_id=world.desk.id,
        assignee_id=world.users.agent.id))
    assert resp.status_code == 201, resp.get_json()
    data = resp.get_json()
    assert data["priority"] == 2 and data["priority_reason"] == "Affects the VIP lounge"
    assert data["flags"]["priority_overridden"] is True
    assert data["status"] == "assigned" and data["assignee"]["id"] == world.users.agent.id
    assert data["group"] == {"id": world.desk.id, "name": "Service desk", "tier": 1}
    assert data["requester"]["id"] == world.users.other_requester.id


def test_get_ticket_and_events(client, world, auth):
    ticket = world.ticket
    resp = client.get(f"{API}/tickets/{ticket.id}", headers=auth(world.users.expert))
    assert resp.status_code == 200
    data = TicketDetail.model_validate(resp.get_json())
    assert data.id == ticket.id and data.title == ticket.title
    events = client.get(f"{API}/tickets/{ticket.id}/events", headers=auth(world.users.expert))
    assert events.status_code == 200
    assert [e["kind"] for e in events.get_json()["items"]] == ["created"]


def test_list_filters_sorts_and_paginates(client, world, make, auth):
    agent = world.users.agent
    p1 = make.ticket(actor=agent, impact=1, urgency=1, title="Fuel pumps offline",
                     service_id=world.service.id)
    typo = make.ticket(actor=agent, impact=3, urgency=3, title="Catering menu typo")
    resolved = make.ticket(actor=agent, impact=2, urgency=3, title="Boarding printer")
    from servicedesk.tickets import services
    services.change_status(make.session, resolved, Status.resolved, actor=agent,
                           now=make.clock.now(), resolution_code="fixed",
                           resolution_notes="Replaced the roller")
    headers = auth(agent)

    first = client.get(f"{API}/tickets?per_page=2&sort=priority", headers=headers).get_json()
    TicketPage.model_validate(first)
    assert first["total"] == 3 and first["pages"] == 2 and first["per_page"] == 2  # open only
    assert [t["id"] for t in first["items"]] == [p1.id, world.ticket.id]
    second = client.get(f"{API}/tickets?per_page=2&page=2", headers=headers).get_json()
    assert [t["title"] for t in second["items"]] == ["Catering menu typo"]

    def ids(query):
        resp = client.get(f"{API}/tickets?{query}", headers=headers)
        assert resp.status_code == 200, resp.get_json()
        return {t["id"] for t in resp.get_json()["items"]}

    assert ids("view=all&status=resolved") == {resolved.id}
    assert ids("view=all&status=resolved&status=new") == {resolved.id, p1.id, typo.id,
                                                          world.ticket.id}
    assert ids("status=resolved") == set()  # the default view is open tickets
    assert ids("priority=1") == {p1.id}
    assert ids("priority=1&priority=4") == {p1.id, typo.id}
    assert ids(f"service_id={world.service.id}") == {p1.id, world.ticket.id}
    assert ids(f"q={p1.number}") == {p1.id}
    assert ids("q=fuel") == {p1.id}
    assert ids("view=unassigned") == {p1.id, typo.id, world.ticket.id}
    assert ids("view=mine") == set()
    newest = client.get(f"{API}/tickets?sort=newest", headers=headers).get_json()["items"]
    assert [t["id"] for t in newest] == [typo.id, p1.id, world.ticket.id]


def test_patch_changes_fields_and_rederives_priority(client, world, auth, db):
    ticket = world.ticket
    resp = client.patch(f"{API}/tickets/{ticket.id}", headers=auth(world.users.agent), json={
        "version": ticket.version, "title": "Catering lift stuck at T2", "impact": 1,
        "urgency": 1, "category_id": None})
    assert resp.status_code == 200, resp.get_json()
    data = TicketOut.model_validate(resp.get_json())
    assert data.title == "Catering lift stuck at T2" and data.priority == 1
    assert data.version == ticket.version
    db.expire_all()
    assert db.get(Ticket, ticket.id).title == "Catering lift stuck at T2"


def test_patch_can_clear_the_service(client, world, auth):
    resp = client.patch(f"{API}/tickets/{world.ticket.id}", headers=auth(world.users.agent),
                        json={"version": world.ticket.version, "service_id": None})
    assert resp.status_code == 200 and resp.get_json()["service"] is None


def test_transition_resolve_then_requester_closes(client, world, auth):
    ticket, agent = world.ticket, world.users.agent
    resp = client.post(f"{API}/tickets/{ticket.id}/transition", headers=auth(agent), json={
        "status": "resolved", "resolution_code": "workaround",
        "resolution_notes": "Restarted the lift controller", "version": ticket.version})
    assert resp.status_code == 200, resp.get_json()
    data = resp.get_json()
    assert data["status"] == "resolved" and data["resolved_at"] == "2026-03-02T09:00:00Z"
    assert data["resolution"] == {"code": "workaround", "notes": "Restarted the lift "
                                  "controller", "resolved_at": "2026-03-02T09:00:00Z"}
    requester = auth(world.users.requester)
    seen = client.get(f"{API}/tickets/{ticket.id}", headers=requester).get_json()
    assert seen["allowed_transitions"] == ["in_progress", "closed"]
    closed = client.post(f"{API}/tickets/{ticket.id}/transition", headers=requester,
                         json={"status": "closed", "comment": "Works again, thanks"})
    assert closed.status_code == 200 and closed.get_json()["status"] == "closed"
    assert closed.get_json()["allowed_transitions"] == []


def test_resolving_without_a_code_names_the_field(client, world, auth, db):
    before = snapshot(db)
    resp = client.post(f"{API}/tickets/{world.ticket.id}/transition",
                       headers=auth(world.users.agent), json={"status": "resolved"})
    assert resp.status_code == 422 and "resolution_code" in error_of(resp)["fields"]
    assert snapshot(db) == before


def test_requester_may_cancel_own_new_ticket(client, world, auth):
    resp = client.post(f"{API}/tickets/{world.ticket.id}/transition",
                       headers=auth(world.users.requester), json={"status": "cancelled"})
    assert resp.status_code == 200 and resp.get_json()["status"] == "cancelled"


def test_comments_public_and_internal(client, world, auth):
    ticket = world.ticket
    public = client.post(f"{API}/tickets/{ticket.id}/comments", headers=auth(world.users.agent),
                         json={"body": "We are sending an engineer."})
    assert public.status_code == 201
    event = EventOut.model_validate(public.get_json())
    assert event.is_public and event.kind.value == "comment"
    internal = client.post(f"{API}/tickets/{ticket.id}/comments",
                           headers=auth(world.users.agent),
                           json={"body": "Vendor contract expires Friday.", "is_public": False})
    assert internal.status_code == 201 and internal.get_json()["is_public"] is False


def test_assign_group_then_person_and_escalate(client, world, auth, make):
    ticket, headers = world.ticket, auth(world.users.agent)
    to_desk = client.post(f"{API}/tickets/{ticket.id}/assign", headers=headers, json={
        "group_id": world.desk.id, "assignee_id": world.users.agent.id})
    assert to_desk.status_code == 200, to_desk.get_json()
    data = to_desk.get_json()
    assert data["status"] == "assigned" and data["assignee"]["id"] == world.users.agent.id
    assert data["tier"] == 1
    # Escalating to the experts: the desk agent is not a member, so the ticket is unassigned.
    to_experts = client.post(f"{API}/tickets/{ticket.id}/assign", headers=headers, json={
        "group_id": world.experts.id, "version": data["version"]})
    assert to_experts.status_code == 200, to_experts.get_json()
    data = to_experts.get_json()
    assert data["group"]["id"] == world.experts.id and data["tier"] == 2
    assert data["assignee"] is None and data["status"] == "new"
    # Only the person given: the group stays.
    person = client.post(f"{API}/tickets/{ticket.id}/assign", headers=headers,
                         json={"assignee_id": world.users.expert.id})
    assert person.get_json()["group"]["id"] == world.experts.id
    assert person.get_json()["assignee"]["id"] == world.users.expert.id


def test_assignee_outside_the_group_is_refused(client, world, auth, db):
    before = snapshot(db)
    resp = client.post(f"{API}/tickets/{world.ticket.id}/assign",
                       headers=auth(world.users.agent),
                       json={"group_id": world.experts.id, "assignee_id": world.users.agent.id})
    assert resp.status_code == 422 and "assignee_id" in error_of(resp)["fields"]
    assert snapshot(db) == before


def test_links_set_and_explicit_null_removes(client, world, make, auth):
    major = make.ticket(actor=world.users.agent, title="Terminal 2 network outage")
    original = make.ticket(actor=world.users.agent, title="Lift stuck (first report)")
    headers, url = auth(world.users.agent), f"{API}/tickets/{world.ticket.id}/links"
    linked = client.post(url, headers=headers, json={"parent_id": major.id,
                                                     "duplicate_of_id": original.id})
    assert linked.status_code == 200, linked.get_json()
    data = linked.get_json()
    assert data["parent"] == {"id": major.id, "number": major.number}
    assert data["duplicate_of"] == {"id": original.id, "number": original.number}
    unlinked = client.post(url, headers=headers, json={"duplicate_of_id": None})
    assert unlinked.get_json()["duplicate_of"] is None
    assert unlinked.get_json()["parent"]["id"] == major.id  # omitted: unchanged


def test_link_to_itself_is_refused(client, world, auth, db):
    before = snapshot(db)
    resp = client.post(f"{API}/tickets/{world.ticket.id}/links", headers=auth(world.users.agent),
                       json={"parent_id": world.ticket.id})
    assert resp.status_code == 422 and "parent_id" in error_of(resp)["fields"]
    assert snapshot(db) == before


# --- visibility ------------------------------------------------------------------------------

def test_requester_lists_only_own_tickets_and_no_internal_comments(client, world, make, auth):
    agent, requester = world.users.agent, world.users.requester
    make.ticket(actor=agent, requester=world.users.other_requester, title="Someone else's")
    make.ticket(actor=agent, title="Unrelated")
    from servicedesk.tickets import services
    services.add_comment(make.session, world.ticket, actor=agent, now=make.clock.now(),
                         body="INTERNAL: caller is difficult", is_public=False)
    services.add_comment(make.session, world.ticket, actor=agent, now=make.clock.now(),
                         body="An engineer is on the way")
    headers = auth(requester)
    listed = client.get(f"{API}/tickets", headers=headers).get_json()
    assert [t["id"] for t in listed["items"]] == [world.ticket.id] and listed["total"] == 1
    for query in ("view=all", "view=open", "q=Unrelated", "status=new"):
        items = client.get(f"{API}/tickets?{query}", headers=headers).get_json()["items"]
        assert {t["requester"]["id"] for t in items} <= {requester.id}
    detail = client.get(f"{API}/tickets/{world.ticket.id}", headers=headers).get_json()
    bodies = [e["body"] for e in detail["events"]]
    assert "An engineer is on the way" in bodies
    assert all(e["is_public"] for e in detail["events"])
    assert not any("INTERNAL" in (b or "") for b in bodies)
    events = client.get(f"{API}/tickets/{world.ticket.id}/events", headers=headers).get_json()
    assert all(e["is_public"] for e in events["items"]) and len(events["items"]) == len(
        detail["events"])
    staff = client.get(f"{API}/tickets/{world.ticket.id}/events", headers=auth(agent)).get_json()
    assert any("INTERNAL" in (e["body"] or "") for e in staff["items"])


def test_requester_does_not_see_the_override_reason(client, world, make, auth):
    ticket = make.ticket(actor=world.users.agent, requester=world.users.requester, impact=3,
                         urgency=3, priority=1, priority_reason="Caller is the airport CEO")
    staff = client.get(f"{API}/tickets/{ticket.id}", headers=auth(world.users.agent)).get_json()
    assert staff["priority_reason"] == "Caller is the airport CEO"
    own = client.get(f"{API}/tickets/{ticket.id}", headers=auth(world.users.requester))
    assert own.get_json()["priority_reason"] is None
    assert "CEO" not in own.get_data(as_text=True)


@pytest.mark.parametrize("who", ["other_requester", "unengaged_vendor"])
@pytest.mark.parametrize("path", ["", "/events"])
def test_invisible_ticket_is_404_like_a_missing_one(client, world, make, auth, who, path):
    user = world.users.other_requester if who == "other_requester" else make.vendor_user()
    headers = auth(user)
    hidden = client.get(f"{API}/tickets/{world.ticket.id}{path}", headers=headers)
    missing = client.get(f"{API}/tickets/999999{path}", headers=headers)
    assert hidden.status_code == missing.status_code == 404
    assert error_of(hidden)["code"] == error_of(missing)["code"] == "not_found"
    assert hidden.get_json()["error"]["message"].replace(str(world.ticket.id), "N") == \
        missing.get_json()["error"]["message"].replace("999999", "N")


@pytest.mark.parametrize("action,body", [
    ("patch", {"version": 1, "title": "x"}),
    ("transition", {"status": "cancelled"}),
    ("comments", {"body": "hello"}),
    ("assign", {"group_id": 1}),
    ("links", {"parent_id": None}),
])
def test_writes_on_invisible_ticket_are_404_and_change_nothing(client, world, auth, db, action,
                                                               body):
    headers = auth(world.users.other_requester)
    before = snapshot(db)
    url = f"{API}/tickets/{world.ticket.id}"
    resp = client.patch(url, json=body, headers=headers) if action == "patch" else \
        client.post(f"{url}/{action}", json=body, headers=headers)
    assert resp.status_code == 404 and error_of(resp)["code"] == "not_found"
    assert snapshot(db) == before


def test_vendor_sees_only_engaged_tickets(client, world, make, auth):
    vendor_user = world.users.vendor
    requested = make.ticket(actor=world.users.agent, title="Engagement only requested")
    make.engagement(requested, world.vendor, state=EngagementState.requested)
    other_vendor = make.vendor()
    theirs = make.ticket(actor=world.users.agent, title="Another vendor's job")
    make.engagement(theirs, other_vendor)
    make.ticket(actor=world.users.agent, title="Nobody engaged")
    from servicedesk.tickets import services
    services.add_comment(make.session, world.ticket, actor=world.users.agent,
                         now=make.clock.now(), body="Internal cost note", is_public=False)
    headers = auth(vendor_user)
    listed = client.get(f"{API}/tickets?view=all", headers=headers).get_json()
    assert [t["id"] for t in listed["items"]] == [world.ticket.id]
    assert client.get(f"{API}/tickets/{requested.id}", headers=headers).status_code == 404
    assert client.get(f"{API}/tickets/{theirs.id}", headers=headers).status_code == 404
    detail = client.get(f"{API}/tickets/{world.ticket.id}", headers=headers).get_json()
    assert all(e["is_public"] for e in detail["events"])
    assert "Internal cost note" not in json.dumps(detail)
    assert detail["allowed_transitions"] == []


# --- the per-role permission matrix ----------------------------------------------------------

STAFF_OK = {"agent": True, "expert": True, "manager": True, "admin": True}
MATRIX = {
    # action: roles that may do it (on the requester's own / the vendor's engaged ticket)
    "create": {"requester": True, "vendor": False, **STAFF_OK},
    "list": {"requester": True, "vendor": True, **STAFF_OK},
    "get": {"requester": True, "vendor": True, **STAFF_OK},
    "patch": {"requester": False, "vendor": False, **STAFF_OK},
    "transition": {"requester": False, "vendor": False, **STAFF_OK},
    "comment": {"requester": True, "vendor": True, **STAFF_OK},
    "internal_comment": {"requester": False, "vendor": False, **STAFF_OK},
    "assign": {"requester": False, "vendor": False, **STAFF_OK},
    "link": {"requester": False, "vendor": False, **STAFF_OK},
    "matrix": {"requester": False, "vendor": False, "agent": False, "expert": False,
               "manager": True, "admin": True},
}


def _do(client, action, world, headers):
    t = world.ticket
    url = f"{API}/tickets/{t.id}"
    if action == "create":
        return client.post(f"{API}/tickets", json=new_ticket_body(), headers=headers), 201
    if action == "list":
        return client.get(f"{API}/tickets", headers=headers), 200
    if action == "get":
        return client.get(url, headers=headers), 200
    if action == "patch":
        return client.patch(url, json={"version": t.version, "title": "Renamed"},
                            headers=headers), 200
    if action == "transition":
        return client.post(f"{url}/transition", json={"status": "in_progress"},
                           headers=headers), 200
    if action == "comment":
        return client.post(f"{url}/comments", json={"body": "Any news?"}, headers=headers), 201
    if action == "internal_comment":
        return client.post(f"{url}/comments", json={"body": "Note", "is_public": False},
                           headers=headers), 201
    if action == "assign":
        return client.post(f"{url}/assign", json={"group_id": world.desk.id},
                           headers=headers), 200
    if action == "link":
        return client.post(f"{url}/links", json={"parent_id": None}, headers=headers), 200
    if action == "matrix":
        cells = [{"impact": i, "urgency": u, "priority": min(4, i + u - 1)}
                 for i in (1, 2, 3) for u in (1, 2, 3)]
        return client.put(f"{API}/priority-matrix", json={"cells": cells}, headers=headers), 200
    raise AssertionError(action)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("action", list(MATRIX))
def test_permission_matrix(client, world, auth, db, role, action):
    headers = auth(getattr(world.users, role))
    before = snapshot(db)
    resp, ok_status = _do(client, action, world, headers)
    if MATRIX[action][role]:
        assert resp.status_code == ok_status, resp.get_json()
    else:
        assert resp.status_code == 403, resp.get_json()
        assert error_of(resp)["code"] == "forbidden"
        assert snapshot(db) == before


# --- bad input: each a 4xx envelope naming the field, and nothing changed --------------------

def _stale(world, client, headers):
    """Make the ticket move on so version 1 is stale."""
    resp = client.patch(f"{API}/tickets/{world.ticket.id}", headers=headers,
                        json={"version": world.ticket.version, "title": "Moved on"})
    assert resp.status_code == 200


BAD_INPUT = [
    # id, method, path (ticket path uses {id}), raw body or json, status, code, field
    ("malformed json", "POST", "/tickets", b'{"title": "x",', 400, "bad_request", None),
    ("deeply nested json", "POST", "/tickets", b"[" * 100_000 + b"]" * 100_000, 400,
     "bad_request", None),
    ("array body", "POST", "/tickets", [new_ticket_body()], 400, "bad_request", None),
    ("null body", "POST", "/tickets", b"null", 400, "bad_request", None),
    ("invalid utf-8", "POST", "/tickets", b'{"title": "\xff\xfe"}', 400, "bad_request", None),
    ("unknown field", "POST", "/tickets", new_ticket_body(colour="red"), 422,
     "validation_error", "colour"),
    ("string impact", "POST", "/tickets", new_ticket_body(impact="2"), 422,
     "validation_error", "impact"),
    ("boolean urgency", "POST", "/tickets", new_ticket_body(urgency=True), 422,
     "validation_error", "urgency"),
    ("impact out of range", "POST", "/tickets", new_ticket_body(impact=4), 422,
     "validation_error", "impact"),
    ("numeric title", "POST", "/tickets", new_ticket_body(title=12345), 422,
     "validation_error", "title"),
    ("blank title", "POST", "/tickets", new_ticket_body(title="   "), 422,
     "validation_error", "title"),
    ("missing description", "POST", "/tickets",
     {k: v for k, v in new_ticket_body().items() if k != "description"}, 422,
     "validation_error", "description"),
    ("oversized title", "POST", "/tickets", new_ticket_body(title="x" * 201), 422,
     "validation_error", "title"),
    ("oversized description", "POST", "/tickets", new_ticket_body(description="x" * 20_001),
     422, "validation_error", "description"),
    ("unknown service id", "POST", "/tickets", new_ticket_body(service_id=999_999), 422,
     "validation_error", "service_id"),
    ("huge service id", "POST", "/tickets", new_ticket_body(service_id=10**30), 422,
     "validation_error", "service_id"),
    ("string service id", "POST", "/tickets", new_ticket_body(service_id="7"), 422,
     "validation_error", "service_id"),
    ("unknown channel", "POST", "/tickets", new_ticket_body(channel="fax"), 422,
     "validation_error", "channel"),
    ("override without reason", "POST", "/tickets", new_ticket_body(priority=4), 422,
     "validation_error", "priority_reason"),
    ("caller with wrong type", "POST", "/tickets", new_ticket_body(caller={"email": 42}), 422,
     "validation_error", "caller.email"),
    ("new caller without name", "POST", "/tickets",
     new_ticket_body(caller={"email": "new.person@example.com"}), 422, "validation_error",
     "caller.name"),
    ("caller and requester_id", "POST", "/tickets",
     new_ticket_body(caller={"email": "a@example.com"}, requester_id=1), 422,
     "validation_error", "caller"),
    ("unknown requester", "POST", "/tickets", new_ticket_body(requester_id=999_999), 422,
     "validation_error", "requester_id"),
    ("unknown ticket id", "GET", "/tickets/999999", None, 404, "not_found", None),
    ("ticket id beyond 32 bits", "GET", "/tickets/99999999999999999999", None, 404,
     "not_found", None),
    ("patch unknown ticket", "PATCH", "/tickets/999999", {"version": 1, "title": "x"}, 404,
     "not_found", None),
    ("patch without version", "PATCH", "/tickets/{id}", {"title": "New title"}, 422,
     "validation_error", "version"),
    ("patch with nothing to change", "PATCH", "/tickets/{id}", {"version": 1}, 422,
     "validation_error", "body"),
    ("patch null title", "PATCH", "/tickets/{id}", {"version": 1, "title": None}, 422,
     "validation_error", "title"),
    ("patch reason without priority", "PATCH", "/tickets/{id}",
     {"version": 1, "priority_reason": "why"}, 422, "validation_error", "priority_reason"),
    ("patch oversized description", "PATCH", "/tickets/{id}",
     {"version": 1, "description": "y" * 20_001}, 422, "validation_error", "description"),
    ("patch unknown field", "PATCH", "/tickets/{id}", {"version": 1, "status": "closed"}, 422,
     "validation_error", "status"),
    ("stale version", "PATCH", "/tickets/{id}", {"version": 1, "title": "Mine"}, 409,
     "conflict", "version"),
    ("bad status", "POST", "/tickets/{id}/transition", {"status": "flying"}, 422,
     "validation_error", "status"),
    ("forbidden move", "POST", "/tickets/{id}/transition", {"status": "closed"}, 409,
     "invalid_transition", "status"),
    ("stale transition", "POST", "/tickets/{id}/transition",
     {"status": "in_progress", "version": 1}, 409, "conflict", "version"),
    ("empty comment", "POST", "/tickets/{id}/comments", {"body": ""}, 422,
     "validation_error", "body"),
    ("string is_public", "POST", "/tickets/{id}/comments", {"body": "hi", "is_public": "no"},
     422, "validation_error", "is_public"),
    ("unknown group", "POST", "/tickets/{id}/assign", {"group_id": 999_999}, 422,
     "validation_error", "group_id"),
    ("assign nothing", "POST", "/tickets/{id}/assign", {"version": 2}, 422,
     "validation_error", "body"),
    ("unknown parent", "POST", "/tickets/{id}/links", {"parent_id": 999_999}, 422,
     "validation_error", "parent_id"),
]


@pytest.mark.parametrize("case", BAD_INPUT, ids=[c[0] for c in BAD_INPUT])
def test_bad_input_is_a_4xx_naming_the_field_and_changes_nothing(client, world, auth, db, case):
    name, method, path, body, status, code, field = case
    headers = auth(world.users.agent)
    if name.startswith("stale"):
        _stale(world, client, headers)
    before = snapshot(db)
    kwargs = {"headers": headers}
    if isinstance(body, bytes):
        kwargs.update(data=body, content_type="application/json")
    elif body is not None:
        kwargs["json"] = body
    resp = client.open(API + path.format(id=world.ticket.id), method=method, **kwargs)
    assert resp.status_code == status, resp.get_json()
    error = error_of(resp)
    assert error["code"] == code
    if field is None:
        assert error["fields"] == {}
    else:
        assert field in error["fields"], error
    assert snapshot(db) == before


@pytest.mark.parametrize("content_type,data", [
    ("text/plain", '{"title": "x"}'),
    ("application/x-www-form-urlencoded", "title=x"),
    (None, None),
])
def test_wrong_content_type_is_415(client, world, auth, db, content_type, data):
    before = snapshot(db)
    resp = client.post(f"{API}/tickets", data=data, content_type=content_type,
                       headers=auth(world.users.agent))
    assert resp.status_code == 415 and error_of(resp)["code"] == "unsupported_media_type"
    assert snapshot(db) == before


def test_body_over_max_content_length_is_413(client, app, world, auth, db):
    before = snapshot(db)
    huge = new_ticket_body(description="x" * (app.config["MAX_CONTENT_LENGTH"] + 10))
    resp = client.post(f"{API}/tickets", json=huge, headers=auth(world.users.agent))
    assert resp.status_code == 413 and error_of(resp)["code"] == "payload_too_large"
    assert snapshot(db) == before


@pytest.mark.parametrize("method,path", [
    ("PUT", "/tickets"), ("DELETE", "/tickets/{id}"), ("GET", "/tickets/{id}/comments"),
    ("POST", "/tickets/{id}/events"),
])
def test_wrong_method_is_405_envelope(client, world, auth, method, path):
    resp = client.open(API + path.format(id=world.ticket.id), method=method,
                       headers=auth(world.users.agent), json={})
    assert resp.status_code == 405 and error_of(resp)["code"] == "method_not_allowed"


@pytest.mark.parametrize("query,field", [
    ("view=everything", "view"), ("status=flying", "status.0"), ("priority=7", "priority.0"),
    ("page=0", "page"), ("per_page=1000", "per_page"), ("sort=random", "sort"),
    ("group_id=abc", "group_id"), ("q=" + "x" * 201, "q"), ("colour=red", "colour"),
    ("page=99999999999999999999", "page"),
])
def test_bad_list_query_is_422_naming_the_parameter(client, world, auth, query, field):
    resp = client.get(f"{API}/tickets?{query}", headers=auth(world.users.agent))
    assert resp.status_code == 422 and field in error_of(resp)["fields"]


def test_concurrent_edit_loses_nothing(client, world, auth, db):
    """Two agents read version N; the second writer gets 409 and the first's change stays."""
    first, second = auth(world.users.agent), auth(world.users.expert)
    version = world.ticket.version
    ok = client.patch(f"{API}/tickets/{world.ticket.id}", headers=first,
                      json={"version": version, "title": "First writer wins"})
    assert ok.status_code == 200
    late = client.patch(f"{API}/tickets/{world.ticket.id}", headers=second,
                        json={"version": version, "description": "Second writer"})
    assert late.status_code == 409 and error_of(late)["code"] == "conflict"
    assert "version" in late.get_json()["error"]["message"]
    now = client.get(f"{API}/tickets/{world.ticket.id}", headers=first).get_json()
    assert now["title"] == "First writer wins" and now["description"] != "Second writer"
