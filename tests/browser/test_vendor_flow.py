"""In a real browser: a manager approves a vendor request on the approval page (seeing the
budget) and the vendor's user then finds the ticket in their list and accepts the work."""
from __future__ import annotations

import re
from datetime import date

import pytest

pytestmark = pytest.mark.browser


@pytest.fixture
def vendor_request(live_server):
    """A ticket with a pending vendor request, a manager, and the vendor's user (logins added
    as "b1_manager" / "b1_vendor"), plus this month's budget of 5,000."""
    from servicedesk.accounts.models import Role
    from servicedesk.accounts.services import create_user, create_vendor
    from servicedesk.clock import utcnow
    from servicedesk.escalation import services as esc
    from servicedesk.extensions import db
    from servicedesk.tickets.models import Channel
    from servicedesk.tickets.services import create_ticket

    with live_server.app.app_context():
        now = utcnow()
        users = {}
        vendor = create_vendor(db.session, name="Runway Lighting Ltd", ola_fix_minutes=240)
        for key, role in (("b1_manager", Role.manager), ("b1_expert", Role.expert),
                          ("b1_vendor", Role.vendor)):
            users[key] = create_user(db.session, email=f"{key}@browser.test",
                                     name=f"B1 {role.value.title()}", role=role, now=now,
                                     password=live_server.password,
                                     vendor=vendor if role is Role.vendor else None)
            live_server.logins[key] = users[key].email
        requester = create_user(db.session, email="b1_caller@browser.test", name="Caller B1",
                                role=Role.requester, now=now)
        ticket = create_ticket(db.session, actor=users["b1_expert"], requester=requester,
                               title="Runway 2 edge lights dark", channel=Channel.phone,
                               description="Half of the edge lights on runway 2 are off.",
                               impact=1, urgency=1, now=now)
        first = now.date().replace(day=1)
        last = date(first.year + first.month // 12, first.month % 12 + 1, 1)
        esc.set_budget(db.session, actor=users["b1_manager"], period_start=first,
                       period_end=date.fromordinal(last.toordinal() - 1), amount=5000)
        esc.request_engagement(db.session, ticket, actor=users["b1_expert"],
                               vendor_id=vendor.id, reason="Transformer vault flooded",
                               estimated_cost="1200", now=now)
        db.session.commit()
        number = ticket.number
        db.session.remove()
    return number


def test_manager_approves_and_the_vendor_sees_and_accepts_the_ticket(page, login,
                                                                     vendor_request):
    expect = pytest.importorskip("playwright.sync_api").expect
    number = vendor_request
    login(page, "b1_manager")
    page.click("nav >> text=Vendor approvals")
    expect(page).to_have_url(re.compile(r"/engagements/approvals$"))
    expect(page.locator('[data-budget="amount"]')).to_have_text("5000.00")
    request = page.locator("section.approval", has_text=number)
    expect(request).to_contain_text("Runway Lighting Ltd")
    expect(request).to_contain_text("1200.00")
    request.locator("textarea").fill("Safety critical, approved")
    with page.expect_navigation():
        request.locator("button", has_text="Approve").click()
    expect(page.locator(".alert-success")).to_contain_text(
        f"Approved: Runway Lighting Ltd now works {number}.")
    expect(page.locator("section.approval", has_text=number)).to_have_count(0)
    expect(page.locator('[data-budget="committed"]')).to_have_text("1200.00")
    expect(page.locator('[data-budget="remaining"]')).to_have_text("3800.00")

    with page.expect_navigation():
        page.click("nav >> text=Sign out")
    login(page, "b1_vendor")
    page.goto("/vendor/tickets")
    row = page.locator("tbody tr", has_text=number)
    expect(row).to_contain_text("Runway 2 edge lights dark")
    expect(row).to_contain_text("to accept")
    with page.expect_navigation():
        row.locator("a.ticket-number").click()
    expect(page.locator("#clocks")).to_contain_text("Vendor fix")
    expect(page.locator("#clocks")).not_to_contain_text("Resolution")
    with page.expect_navigation():
        page.click("text=Accept the work")
    expect(page.locator(".alert-success")).to_contain_text("Accepted")
    expect(page.locator('[data-engagement-state="engaged"]')).to_have_count(1)
