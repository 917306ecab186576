"""HTTP tests of the escalation pages: manual escalation, the approval queue with the budget,
the vendor's accept/fix buttons, verify and send back; roles, bad input, DB unchanged."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from servicedesk.accounts.models import Role
from servicedesk.escalation import services as esc
from servicedesk.escalation.models import EngagementState, VendorEngagement
from servicedesk.notifications.models import Notification
from servicedesk.sla.models import ClockKind
from servicedesk.tickets.models import EventKind, Status, TicketEvent

E = EngagementState


def html(resp) -> str:
    return resp.get_data(as_text=True)


def count(db, model, *where) -> int:
    return db.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


def escalate(client, ticket, **data):
    form = {"target": "group", "group_id": "", "vendor_id": "", "estimated_cost": "",
            "reason": "Needs the radar experts"}
    form.update(data)
    return client.post(f"/tickets/{ticket.id}/escalate", data=form)


# --- manual escalation ---------------------------------------------------------------------

def test_ticket_page_offers_escalation_to_groups_managers_and_vendors(desk, login_as):
    page = html(login_as(desk["agent"]).get(f"/tickets/{desk['ticket'].id}"))
    assert 'action="/tickets/%d/escalate"' % desk["ticket"].id in page
    assert "Airside Systems (tier 2)" in page and "Nordic Radar Systems" in page
    assert "Service Desk (tier 1)" not in page.split('id="escalate"')[1].split("</form>")[0]


def test_escalate_to_an_expert_group(db, desk, login_as):
    ticket = desk["ticket"]
    resp = escalate(login_as(desk["agent"]), ticket, group_id=str(desk["experts"].id))
    assert resp.status_code == 302
    db.refresh(ticket)
    assert ticket.group_id == desk["experts"].id and ticket.tier == 2
    event = db.scalars(sa.select(TicketEvent).where(TicketEvent.ticket_id == ticket.id,
                                                    TicketEvent.kind == EventKind.escalated)
                       ).one()
    assert event.body == "Needs the radar experts" and event.actor_id == desk["agent"].id


def test_escalate_to_the_manager_notifies_them(db, desk, login_as):
    resp = escalate(login_as(desk["expert"]), desk["ticket"], target="manager",
                    reason="Third outage today")
    assert resp.status_code == 302
    notice = db.scalars(sa.select(Notification).where(
        Notification.user_id == desk["manager"].id)).one()
    assert notice.kind == "escalated_manager" and "Third outage today" in notice.body


def test_request_a_vendor_from_the_ticket_page(db, desk, login_as):
    resp = escalate(login_as(desk["expert"]), desk["ticket"], target="vendor",
                    vendor_id=str(desk["vendor"].id), estimated_cost="800.00",
                    reason="Board failure")
    assert resp.status_code == 302
    engagement = db.scalars(sa.select(VendorEngagement)).one()
    assert (engagement.state, engagement.estimated_cost, engagement.reason) == \
        (E.requested, 800, "Board failure")
    page = html(login_as(desk["expert"]).get(f"/tickets/{desk['ticket'].id}"))
    assert 'data-engagement-state="requested"' in page and "Waiting for a manager" in page


@pytest.mark.parametrize("data,status,message", [
    ({"reason": ""}, 422, "Give a reason."),
    ({"group_id": ""}, 422, "Choose the group to escalate to."),
    ({"target": "vendor", "vendor_id": "VENDOR"}, 422, "Give the estimated cost."),
    ({"target": "vendor", "estimated_cost": "500"}, 422, "Choose an active vendor."),
    ({"target": "vendor", "vendor_id": "VENDOR", "estimated_cost": "lots"}, 422,
     "Estimated cost must be an amount."),
    ({"target": "vendor", "vendor_id": "VENDOR", "estimated_cost": "-5"}, 422,
     "between 0 and 10,000,000"),
    ({"target": "sideways"}, 422, "Not a valid choice"),
])
def test_bad_escalations_are_refused_on_the_form_and_change_nothing(db, desk, login_as, data,
                                                                    status, message):
    ticket = desk["ticket"]
    if data.get("vendor_id") == "VENDOR":
        data = {**data, "vendor_id": str(desk["vendor"].id)}
    events = count(db, TicketEvent)
    resp = escalate(login_as(desk["agent"]), ticket, **data)
    assert resp.status_code == status
    page = html(resp)
    assert message in page and "is-invalid" in page and 'id="escalate" open' in page
    assert count(db, TicketEvent) == events and count(db, VendorEngagement) == 0
    db.refresh(ticket)
    assert ticket.group_id == desk["desk"].id


def test_a_second_vendor_request_is_a_conflict(db, desk, login_as, request_vendor):
    request_vendor()
    resp = escalate(login_as(desk["expert"]), desk["ticket"], target="vendor",
                    vendor_id=str(desk["vendor"].id), estimated_cost="100")
    assert resp.status_code == 409
    assert "already has an open vendor engagement" in html(resp)
    assert count(db, VendorEngagement) == 1


@pytest.mark.parametrize("role", ["requester", "vendor"])
def test_only_staff_escalate(db, desk, make, login_as, role):
    user = desk["requester"] if role == "requester" else desk["vendor_user"]
    resp = escalate(login_as(user), desk["ticket"], group_id=str(desk["experts"].id))
    assert resp.status_code == 403
    assert count(db, TicketEvent, TicketEvent.kind == EventKind.escalated) == 0


def test_escalating_an_unknown_ticket_is_404(desk, login_as):
    assert escalate(login_as(desk["agent"]), type("T", (), {"id": 987654})).status_code == 404


# --- approval queue --------------------------------------------------------------------------

@pytest.mark.parametrize("role,status", [("manager", 200), ("admin", 200), ("agent", 403),
                                         ("expert", 403), ("vendor", 403), ("requester", 403)])
def test_approval_queue_is_for_managers(make, login_as, desk, role, status):
    assert login_as(make.user(Role(role))).get("/engagements/approvals").status_code == status


def test_approval_queue_shows_requests_and_the_budget(db, desk, login_as, request_vendor, clock,
                                                      make):
    # 300 already spent on an earlier, verified engagement in March.
    other = make.ticket(actor=desk["agent"], impact=1, urgency=2)
    done = esc.request_engagement(db, other, actor=desk["expert"], vendor_id=desk["vendor"].id,
                                  reason="Earlier job", estimated_cost="250", now=clock.now())
    esc.approve_engagement(db, done, actor=desk["manager"], now=clock.now())
    esc.mark_fixed(db, done, actor=desk["vendor_user"], now=clock.now(), notes="Done",
                   actual_cost="300")
    engagement = request_vendor("800")
    page = html(login_as(desk["manager"]).get("/engagements/approvals"))
    assert f'id="engagement-{engagement.id}"' in page and "Display controller board" in page
    assert 'data-budget="amount">1000.00<' in page
    assert 'data-budget="spent">300.00<' in page
    assert 'data-budget="committed">0.00<' in page
    assert 'data-budget="remaining">700.00<' in page
    assert "over the remaining budget" in page  # 800 > 700


def test_manager_approves_and_the_vendor_sees_the_ticket(db, desk, login_as, request_vendor):
    engagement = request_vendor("800")
    resp = login_as(desk["manager"]).post(f"/engagements/{engagement.id}/approve",
                                          data={f"e{engagement.id}-note": "Go ahead"})
    assert resp.status_code == 302
    db.refresh(engagement)
    assert engagement.state is E.approved and engagement.decision_note == "Go ahead"
    assert desk["ticket"].status is Status.pending_vendor

    vendor = login_as(desk["vendor_user"])
    listing = html(vendor.get("/vendor/tickets"))
    assert desk["ticket"].number in listing and 'data-engagement-state="approved"' in listing
    assert "Radar display frozen" not in html(login_as(desk["other_vendor_user"])
                                               .get("/vendor/tickets"))


def test_approval_that_would_overdraw_the_budget_is_refused_clearly(db, desk, login_as,
                                                                     request_vendor):
    engagement = request_vendor("1200")
    resp = login_as(desk["manager"]).post(f"/engagements/{engagement.id}/approve", data={})
    assert resp.status_code == 409
    assert "would overdraw the budget (1000.00 left of 1000.00)" in html(resp)
    db.refresh(engagement)
    assert engagement.state is E.requested and desk["ticket"].status is not Status.pending_vendor


def test_reject_needs_a_note(db, desk, login_as, request_vendor):
    engagement = request_vendor()
    client = login_as(desk["manager"])
    resp = client.post(f"/engagements/{engagement.id}/reject", data={})
    assert resp.status_code == 422 and "Give a reason." in html(resp)
    db.refresh(engagement)
    assert engagement.state is E.requested
    resp = client.post(f"/engagements/{engagement.id}/reject",
                       data={f"e{engagement.id}-note": "Try the spare board first"})
    assert resp.status_code == 302
    db.refresh(engagement)
    assert engagement.state is E.rejected
    assert engagement.decision_note == "Try the spare board first"


@pytest.mark.parametrize("role", ["agent", "expert", "vendor", "requester"])
def test_only_managers_decide(db, desk, login_as, request_vendor, role):
    engagement = request_vendor()
    user = {"agent": desk["agent"], "expert": desk["expert"], "vendor": desk["vendor_user"],
            "requester": desk["requester"]}[role]
    client = login_as(user)
    assert client.post(f"/engagements/{engagement.id}/approve").status_code == 403
    assert client.post(f"/engagements/{engagement.id}/reject",
                       data={f"e{engagement.id}-note": "no"}).status_code == 403
    db.refresh(engagement)
    assert engagement.state is E.requested


def test_deciding_twice_is_a_conflict(db, desk, login_as, request_vendor):
    engagement = request_vendor("100")
    client = login_as(desk["manager"])
    assert client.post(f"/engagements/{engagement.id}/approve").status_code == 302
    resp = client.post(f"/engagements/{engagement.id}/reject",
                       data={f"e{engagement.id}-note": "changed my mind"})
    assert resp.status_code == 409
    assert "The engagement is approved; this needs requested." in html(resp)
    db.refresh(engagement)
    assert engagement.state is E.approved


# --- the vendor's work and the expert's verification ----------------------------------------

@pytest.fixture
def approved(db, desk, clock, request_vendor):
    engagement = request_vendor("800")
    esc.approve_engagement(db, engagement, actor=desk["manager"], now=clock.now())
    return engagement


def test_vendor_page_shows_its_engagement_and_only_the_ola_clocks(desk, login_as, approved):
    page = html(login_as(desk["vendor_user"]).get(f"/tickets/{desk['ticket'].id}"))
    assert "Accept the work" in page and "Report fixed" in page
    assert 'data-clock-kind="ola_response"' in page and 'data-clock-kind="ola_fix"' in page
    assert 'data-clock-kind="resolution"' not in page
    assert 'data-clock-kind="response"' not in page
    assert 'id="escalate"' not in page


def test_vendor_accepts_then_reports_the_fix(db, desk, login_as, approved, clock):
    client = login_as(desk["vendor_user"])
    assert client.post(f"/engagements/{approved.id}/acknowledge").status_code == 302
    db.refresh(approved)
    assert approved.state is E.engaged and approved.acknowledged_at == clock.now()
    clock.advance(minutes=40)
    resp = client.post(f"/engagements/{approved.id}/fix",
                       data={"notes": "Replaced the controller board", "actual_cost": "750"})
    assert resp.status_code == 302
    db.refresh(approved)
    assert (approved.state, approved.actual_cost) == (E.fixed, 750)
    ola_fix = next(c for c in desk["ticket"].clocks if c.kind is ClockKind.ola_fix)
    db.refresh(ola_fix)
    assert ola_fix.stopped_at == clock.now() and ola_fix.breached_at is None


@pytest.mark.parametrize("data,message", [
    ({"notes": "", "actual_cost": "750"}, "Describe the fix."),
    ({"notes": "Done", "actual_cost": ""}, "Give the actual cost."),
    ({"notes": "Done", "actual_cost": "cheap"}, "Actual cost must be an amount."),
])
def test_bad_fix_reports_are_refused(db, desk, login_as, approved, data, message):
    resp = login_as(desk["vendor_user"]).post(f"/engagements/{approved.id}/fix", data=data)
    assert resp.status_code == 422 and message in html(resp)
    db.refresh(approved)
    assert approved.state is E.approved and approved.actual_cost is None


def test_another_vendor_cannot_touch_the_engagement(db, desk, login_as, approved):
    client = login_as(desk["other_vendor_user"])
    assert client.post(f"/engagements/{approved.id}/acknowledge").status_code == 404
    assert client.post(f"/engagements/{approved.id}/fix",
                       data={"notes": "x", "actual_cost": "1"}).status_code == 404
    assert client.get(f"/tickets/{desk['ticket'].id}").status_code == 404
    db.refresh(approved)
    assert approved.state is E.approved


def test_staff_cannot_do_the_vendors_part(db, desk, login_as, approved):
    client = login_as(desk["expert"])
    assert client.post(f"/engagements/{approved.id}/acknowledge").status_code == 403
    assert client.post(f"/engagements/{approved.id}/fix",
                       data={"notes": "x", "actual_cost": "1"}).status_code == 403


def test_expert_sends_back_then_verifies(db, desk, login_as, approved, clock):
    esc.mark_fixed(db, approved, actor=desk["vendor_user"], now=clock.now(), notes="Rebooted",
                   actual_cost="100")
    client = login_as(desk["expert"])
    page = html(client.get(f"/tickets/{desk['ticket'].id}"))
    assert "Verify the fix" in page and "Send back to the vendor" in page

    resp = client.post(f"/engagements/{approved.id}/send-back", data={"reason": ""})
    assert resp.status_code == 422 and "Give a reason." in html(resp)
    db.refresh(approved)
    assert approved.state is E.fixed

    resp = client.post(f"/engagements/{approved.id}/send-back",
                       data={"reason": "Frozen again after ten minutes"})
    assert resp.status_code == 302
    db.refresh(approved)
    assert approved.state is E.engaged and approved.send_backs == 1

    esc.mark_fixed(db, approved, actor=desk["vendor_user"], now=clock.now(),
                   notes="Replaced the board", actual_cost="700")
    db.commit()
    assert client.post(f"/engagements/{approved.id}/verify").status_code == 302
    db.refresh(approved)
    db.refresh(desk["ticket"])
    assert approved.state is E.verified
    assert desk["ticket"].tier == 2 and desk["ticket"].status is Status.in_progress


def test_verifying_too_early_is_a_conflict_shown_on_the_page(db, desk, login_as, approved):
    resp = login_as(desk["expert"]).post(f"/engagements/{approved.id}/verify")
    assert resp.status_code == 409
    assert "The engagement is approved; this needs fixed." in html(resp)
    db.refresh(approved)
    assert approved.state is E.approved


@pytest.mark.parametrize("role", ["vendor", "requester"])
def test_only_staff_verify_or_send_back(db, desk, login_as, approved, clock, role):
    esc.mark_fixed(db, approved, actor=desk["vendor_user"], now=clock.now(), notes="Done",
                   actual_cost="100")
    user = desk["vendor_user"] if role == "vendor" else desk["requester"]
    client = login_as(user)
    assert client.post(f"/engagements/{approved.id}/verify").status_code == 403
    assert client.post(f"/engagements/{approved.id}/send-back",
                       data={"reason": "no"}).status_code == 403
    db.refresh(approved)
    assert approved.state is E.fixed


def test_engagements_are_listed_on_the_staff_ticket_page(desk, login_as, approved):
    page = html(login_as(desk["agent"]).get(f"/tickets/{desk['ticket'].id}"))
    assert 'id="engagements"' in page and 'data-engagement-state="approved"' in page
    assert "approved by Operations Manager" in page
