"""/api/v1: a ticket's clocks, manual escalation, vendor engagements, notifications:
happy paths, the role matrix, visibility, bad input naming the field, DB unchanged."""
from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from servicedesk.accounts.services import issue_token
from servicedesk.escalation import services as esc
from servicedesk.escalation.models import EngagementState, VendorEngagement
from servicedesk.escalation.schemas import ClockList, EngagementOut, EngagementPage
from servicedesk.notifications.models import Notification
from servicedesk.sla.sweep import sweep
from servicedesk.tickets.models import EventKind, Status, Ticket, TicketEvent

API = "/api/v1"
E = EngagementState


@pytest.fixture
def auth(db, clock):
    def _auth(user):
        _, secret = issue_token(db, user, name="tests", now=clock.now())
        return {"Authorization": f"Bearer {secret}"}

    return _auth


@pytest.fixture
def api(client, auth):
    """``api(user).get(url)`` / ``.post(url, json)`` with the user's token."""

    class Caller:
        def __init__(self, user):
            self.headers = auth(user)

        def get(self, url):
            return client.get(API + url, headers=self.headers)

        def post(self, url, body=None):
            return client.post(API + url, json=body if body is not None else {},
                               headers=self.headers)

    return Caller


def snapshot(db) -> tuple:
    db.expire_all()
    return (db.execute(sa.select(Ticket.id, Ticket.version, Ticket.status, Ticket.group_id,
                                 Ticket.tier)).all(),
            db.execute(sa.select(VendorEngagement.id, VendorEngagement.state,
                                 VendorEngagement.actual_cost)).all(),
            db.scalar(sa.select(sa.func.count(TicketEvent.id))),
            db.scalar(sa.select(sa.func.count(Notification.id))))


def error(resp) -> dict:
    return resp.get_json()["error"]


# --- clocks -----------------------------------------------------------------------------------

def test_staff_get_every_clock_with_firings(db, desk, api, clock):
    clock.advance(hours=5)
    sweep(db, clock.now())
    resp = api(desk["agent"]).get(f"/tickets/{desk['ticket'].id}/clocks")
    assert resp.status_code == 200
    body = ClockList.model_validate(resp.get_json())
    by_kind = {c.kind.value: c for c in body.items}
    assert set(by_kind) == {"response", "resolution"}
    resolution = by_kind["resolution"]
    assert (resolution.state, resolution.colour) == ("running", "warning")
    assert resolution.remaining_seconds == 3 * 3600
    assert resolution.due_at == desk["ticket"].created_at + timedelta(hours=8)
    assert [f.threshold for f in resolution.firings] == [50]
    assert resp.get_json()["items"][1]["due_at"].endswith("Z")
    assert by_kind["response"].state == "breached"


def test_requester_sees_only_the_resolution_promise(db, desk, api):
    resp = api(desk["requester"]).get(f"/tickets/{desk['ticket'].id}/clocks")
    assert resp.status_code == 200
    items = resp.get_json()["items"]
    assert [c["kind"] for c in items] == ["resolution"] and items[0]["firings"] == []


def test_vendor_sees_only_its_ola_clocks(db, desk, api, clock, request_vendor):
    engagement = request_vendor("100")
    esc.approve_engagement(db, engagement, actor=desk["manager"], now=clock.now())
    items = api(desk["vendor_user"]).get(f"/tickets/{desk['ticket'].id}/clocks").get_json()[
        "items"]
    assert {c["kind"] for c in items} == {"ola_response", "ola_fix"}
    assert {c["engagement_id"] for c in items} == {engagement.id}
    assert api(desk["other_vendor_user"]).get(
        f"/tickets/{desk['ticket'].id}/clocks").status_code == 404


def test_clocks_of_someone_elses_ticket_are_404(desk, api, make):
    assert api(make.requester()).get(f"/tickets/{desk['ticket'].id}/clocks").status_code == 404
    assert api(desk["agent"]).get("/tickets/999999/clocks").status_code == 404


# --- escalations ---------------------------------------------------------------------------

def test_escalate_to_group(db, desk, api):
    resp = api(desk["agent"]).post(f"/tickets/{desk['ticket'].id}/escalations", {
        "target": "group", "group_id": desk["experts"].id, "reason": "Radar experts needed"})
    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()
    assert body["group"]["id"] == desk["experts"].id and body["tier"] == 2
    assert body["engagement"] is None


def test_escalate_to_vendor_creates_a_request(db, desk, api):
    resp = api(desk["expert"]).post(f"/tickets/{desk['ticket'].id}/escalations", {
        "target": "vendor", "vendor_id": desk["vendor"].id, "estimated_cost": "800.00",
        "reason": "Board failure"})
    assert resp.status_code == 201, resp.get_json()
    engagement = resp.get_json()["engagement"]
    assert engagement["state"] == "requested" and engagement["estimated_cost"] == "800.00"
    assert db.scalar(sa.select(Notification.kind).where(
        Notification.user_id == desk["manager"].id)) == "vendor_request"


def test_escalate_to_manager(db, desk, api):
    resp = api(desk["agent"]).post(f"/tickets/{desk['ticket'].id}/escalations",
                                   {"target": "manager", "reason": "Caller is the CEO"})
    assert resp.status_code == 201
    assert db.scalar(sa.select(sa.func.count()).select_from(TicketEvent).where(
        TicketEvent.kind == EventKind.escalated)) == 1


@pytest.mark.parametrize("body,status,field", [
    ({"target": "group", "reason": "x"}, 422, "group_id"),
    ({"target": "group", "group_id": 1, "reason": ""}, 422, "reason"),
    ({"target": "group", "group_id": 424242, "reason": "x"}, 422, "group_id"),
    ({"target": "vendor", "vendor_id": 1, "reason": "x"}, 422, "estimated_cost"),
    ({"target": "vendor", "estimated_cost": 5, "reason": "x"}, 422, "vendor_id"),
    ({"target": "vendor", "vendor_id": 1, "estimated_cost": -1, "reason": "x"}, 422,
     "estimated_cost"),
    ({"target": "vendor", "vendor_id": 1, "estimated_cost": "1.234", "reason": "x"}, 422,
     "estimated_cost"),
    ({"target": "manager", "reason": "x", "group_id": 1}, 422, "group_id"),
    ({"target": "sideways", "reason": "x"}, 422, "target"),
    ({"target": "manager", "reason": "x", "urgent": True}, 422, "urgent"),
    ({"target": "manager", "reason": "x" * 5001}, 422, "reason"),
])
def test_bad_escalations_name_the_field_and_change_nothing(db, desk, api, body, status, field):
    if body.get("vendor_id") == 1:
        body = {**body, "vendor_id": desk["vendor"].id}
    if body.get("group_id") == 1:
        body = {**body, "group_id": desk["experts"].id}
    before = snapshot(db)
    resp = api(desk["agent"]).post(f"/tickets/{desk['ticket'].id}/escalations", body)
    assert resp.status_code == status, resp.get_json()
    assert field in error(resp)["fields"], error(resp)
    assert snapshot(db) == before


@pytest.mark.parametrize("who", ["requester", "vendor_user"])
def test_only_staff_escalate(db, desk, api, request_vendor, clock, who):
    if who == "vendor_user":  # a vendor that can see the ticket still may not escalate it
        esc.approve_engagement(db, request_vendor("100"), actor=desk["manager"],
                               now=clock.now())
    before = snapshot(db)
    resp = api(desk[who]).post(f"/tickets/{desk['ticket'].id}/escalations",
                               {"target": "manager", "reason": "please"})
    assert resp.status_code == 403
    assert snapshot(db) == before


# --- engagements ----------------------------------------------------------------------------

def test_full_engagement_flow_over_the_api(db, desk, api):
    resp = api(desk["expert"]).post("/engagements", {
        "ticket_id": desk["ticket"].id, "vendor_id": desk["vendor"].id,
        "reason": "Board failure", "estimated_cost": 800})
    assert resp.status_code == 201, resp.get_json()
    eid = resp.get_json()["id"]
    assert resp.headers["Location"].endswith(f"/api/v1/engagements/{eid}")
    flow = [
        (desk["manager"], "approve", {"note": "Within budget"}, "approved"),
        (desk["vendor_user"], "acknowledge", None, "engaged"),
        (desk["vendor_user"], "fix", {"notes": "Rebooted", "actual_cost": "100"}, "fixed"),
        (desk["expert"], "send-back", {"reason": "Froze again"}, "engaged"),
        (desk["vendor_user"], "fix", {"notes": "New board", "actual_cost": 750}, "fixed"),
        (desk["expert"], "verify", None, "verified"),
    ]
    for user, action, body, state in flow:
        resp = api(user).post(f"/engagements/{eid}/{action}", body)
        assert resp.status_code == 200, (action, resp.get_json())
        out = EngagementOut.model_validate(resp.get_json())
        assert out.state.value == state, action
    assert out.actual_cost == 750 and out.send_backs == 1
    ticket = db.get(Ticket, desk["ticket"].id)
    db.refresh(ticket)
    assert ticket.status is Status.in_progress and ticket.tier == 2


def test_list_is_filtered_by_role(db, desk, api, make, clock, request_vendor):
    mine = request_vendor("100")
    esc.approve_engagement(db, mine, actor=desk["manager"], now=clock.now())
    other_ticket = make.ticket(actor=desk["agent"])
    pending = esc.request_engagement(db, other_ticket, actor=desk["expert"],
                                     vendor_id=desk["vendor"].id, reason="Maybe",
                                     estimated_cost="50", now=clock.now())
    staff = EngagementPage.model_validate(api(desk["agent"]).get("/engagements").get_json())
    assert {e.id for e in staff.items} == {mine.id, pending.id} and staff.total == 2
    vendor = api(desk["vendor_user"]).get("/engagements").get_json()
    assert [e["id"] for e in vendor["items"]] == [mine.id]  # not the one still requested
    assert api(desk["other_vendor_user"]).get("/engagements").get_json()["total"] == 0
    assert api(desk["requester"]).get("/engagements").status_code == 403
    only = api(desk["agent"]).get("/engagements?state=requested").get_json()
    assert [e["id"] for e in only["items"]] == [pending.id]
    assert api(desk["agent"]).get("/engagements?state=lost").status_code == 422


def test_get_engagement_visibility(db, desk, api, request_vendor):
    engagement = request_vendor()
    assert api(desk["agent"]).get(f"/engagements/{engagement.id}").status_code == 200
    assert api(desk["vendor_user"]).get(f"/engagements/{engagement.id}").status_code == 404
    assert api(desk["requester"]).get(f"/engagements/{engagement.id}").status_code == 403
    assert api(desk["agent"]).get("/engagements/777777").status_code == 404


@pytest.mark.parametrize("who", ["agent", "expert", "vendor_user"])
def test_only_managers_approve(db, desk, api, request_vendor, who):
    engagement = request_vendor()
    before = snapshot(db)
    resp = api(desk[who]).post(f"/engagements/{engagement.id}/approve", {})
    assert resp.status_code in (403, 404)  # the vendor cannot even see a request
    assert snapshot(db) == before


def test_approval_over_budget_is_409_and_changes_nothing(db, desk, api, request_vendor):
    engagement = request_vendor("1000.01")
    before = snapshot(db)
    resp = api(desk["manager"]).post(f"/engagements/{engagement.id}/approve", {})
    assert resp.status_code == 409
    assert "would overdraw the budget" in error(resp)["message"]
    assert error(resp)["fields"] == {"estimated_cost": "over budget"}
    assert snapshot(db) == before


def test_reject_requires_a_note(db, desk, api, request_vendor):
    engagement = request_vendor()
    resp = api(desk["manager"]).post(f"/engagements/{engagement.id}/reject", {})
    assert resp.status_code == 422 and "note" in error(resp)["fields"]
    resp = api(desk["manager"]).post(f"/engagements/{engagement.id}/reject",
                                     {"note": "Use the spare"})
    assert resp.status_code == 200 and resp.get_json()["state"] == "rejected"


@pytest.mark.parametrize("body,field", [
    ({"notes": "x"}, "actual_cost"), ({"actual_cost": 5}, "notes"),
    ({"notes": "x", "actual_cost": "cheap"}, "actual_cost"),
    ({"notes": "x", "actual_cost": 20_000_000}, "actual_cost"),
])
def test_bad_fix_reports(db, desk, api, request_vendor, clock, body, field):
    engagement = request_vendor()
    esc.approve_engagement(db, engagement, actor=desk["manager"], now=clock.now())
    before = snapshot(db)
    resp = api(desk["vendor_user"]).post(f"/engagements/{engagement.id}/fix", body)
    assert resp.status_code == 422 and field in error(resp)["fields"]
    assert snapshot(db) == before


def test_vendor_steps_are_the_vendors_and_verify_is_staffs(db, desk, api, request_vendor,
                                                           clock):
    engagement = request_vendor()
    esc.approve_engagement(db, engagement, actor=desk["manager"], now=clock.now())
    assert api(desk["expert"]).post(f"/engagements/{engagement.id}/acknowledge").status_code \
        == 403
    assert api(desk["other_vendor_user"]).post(
        f"/engagements/{engagement.id}/acknowledge").status_code == 404
    assert api(desk["expert"]).post(f"/engagements/{engagement.id}/verify").status_code == 409
    esc.mark_fixed(db, engagement, actor=desk["vendor_user"], now=clock.now(), notes="Done",
                   actual_cost="1")
    assert api(desk["vendor_user"]).post(f"/engagements/{engagement.id}/verify").status_code \
        == 403
    assert api(desk["vendor_user"]).post(f"/engagements/{engagement.id}/send-back",
                                         {"reason": "x"}).status_code == 403


def test_request_on_a_ticket_the_caller_cannot_see_or_that_is_closed(db, desk, api, make,
                                                                    clock):
    body = {"ticket_id": 999999, "vendor_id": desk["vendor"].id, "reason": "x",
            "estimated_cost": 1}
    assert api(desk["agent"]).post("/engagements", body).status_code == 404
    assert api(desk["requester"]).post(
        "/engagements", {**body, "ticket_id": desk["ticket"].id}).status_code == 403
    done = make.ticket(actor=desk["agent"])
    from servicedesk.tickets import services as tickets

    tickets.change_status(db, done, Status.cancelled, actor=desk["agent"], now=clock.now())
    assert api(desk["agent"]).post("/engagements",
                                   {**body, "ticket_id": done.id}).status_code == 409


# --- notifications ----------------------------------------------------------------------------

def test_notifications_list_and_mark_read(db, desk, api, request_vendor):
    request_vendor()  # notifies the manager
    manager = api(desk["manager"])
    body = manager.get("/notifications").get_json()
    assert body["unread"] == 1 and body["items"][0]["kind"] == "vendor_request"
    assert body["items"][0]["ticket_id"] == desk["ticket"].id
    nid = body["items"][0]["id"]
    assert api(desk["agent"]).post("/notifications/read", {"ids": [nid]}).get_json() == \
        {"marked": 0, "unread": 0}  # not theirs: nothing happens
    resp = manager.post("/notifications/read", {"ids": [nid]})
    assert resp.get_json() == {"marked": 1, "unread": 0}
    assert manager.get("/notifications?unread_only=true").get_json()["items"] == []


def test_mark_all_read_and_bad_input(db, desk, api, make, clock):
    from servicedesk.notifications.services import notify

    for i in range(3):
        notify(db, [desk["agent"]], kind="sla_warning", title=f"n{i}", body="", now=clock.now())
    agent = api(desk["agent"])
    assert agent.post("/notifications/read", {}).get_json() == {"marked": 3, "unread": 0}
    for body, field in (({"ids": []}, "ids"), ({"ids": ["1"]}, "ids.0"), ({"all": True}, "all")):
        resp = agent.post("/notifications/read", body)
        assert resp.status_code == 422 and field in error(resp)["fields"], resp.get_json()
    assert agent.get("/notifications?limit=0").status_code == 422
