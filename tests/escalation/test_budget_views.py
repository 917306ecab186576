"""The vendor budget page (/admin/sla/budgets) and the usage figures behind it."""
from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal

import pytest
import sqlalchemy as sa

from servicedesk.accounts.models import Role
from servicedesk.escalation import budgets
from servicedesk.escalation.models import Budget, EngagementState
from servicedesk.escalation.services import approve_engagement

ROLES = ["requester", "vendor", "agent", "expert", "manager", "admin"]
E = EngagementState
URL = "/admin/sla/budgets"


@pytest.fixture
def login_as(login_as, db):
    def _login(user):
        db.commit()
        return login_as(user)

    return _login


def html(resp) -> str:
    return resp.get_data(as_text=True)


def row(page: str, month: str) -> str:
    part = page[page.index(f'data-month="{month}"'):]
    return part[:part.index("</tr>")]


def cells(page: str, month: str) -> list[str]:
    import re

    return re.findall(r'<td[^>]*>([^<]*)</td>', row(page, month))


def engaged(make, db, *, state, estimate, actual=None, decided_at):
    engagement = make.engagement(make.ticket(), make.vendor(), state=state,
                                 estimated_cost=Decimal(estimate))
    engagement.actual_cost = None if actual is None else Decimal(actual)
    engagement.decided_at = decided_at
    db.flush()
    return engagement


@pytest.mark.parametrize("role", ROLES)
def test_budget_page_is_for_managers_and_admins(make, login_as, db, role):
    client = login_as(make.user(Role(role)))
    allowed = role in ("manager", "admin")
    assert client.get(URL).status_code == (200 if allowed else 403)
    resp = client.post(URL, data={"month": "2026-03", "amount": "100"})
    assert resp.status_code == (302 if allowed else 403)
    assert (db.scalar(sa.select(sa.func.count(Budget.id))) == 1) is allowed


def test_set_then_edit_a_month(make, login_as, db):
    client = login_as(make.manager())
    page = html(client.get(URL))
    assert 'value="2026-03"' in page  # this month pre-filled
    assert client.post(URL, data={"month": "2026-03", "amount": "50000"}).status_code == 302
    assert client.post(URL, data={"month": "2026-03", "amount": "42000.50"}).status_code == 302
    only = db.scalars(sa.select(Budget)).all()
    assert len(only) == 1
    assert (only[0].period_start, only[0].period_end) == (date(2026, 3, 1), date(2026, 3, 31))
    assert only[0].amount == Decimal("42000.50")


def test_spent_committed_remaining(make, login_as, db):
    march = datetime(2026, 3, 10, tzinfo=timezone.utc)
    budgets.set_month_budget(db, actor=make.manager(), month="2026-03", amount="10000")
    budgets.set_month_budget(db, actor=make.manager(), month="2026-02", amount="5000")
    engaged(make, db, state=E.fixed, estimate="1000", actual="1300", decided_at=march)
    engaged(make, db, state=E.verified, estimate="700", actual="600", decided_at=march)
    engaged(make, db, state=E.approved, estimate="2000", decided_at=march)
    engaged(make, db, state=E.engaged, estimate="500", decided_at=march)
    engaged(make, db, state=E.rejected, estimate="9999", decided_at=march)
    engaged(make, db, state=E.requested, estimate="8888", decided_at=None)
    engaged(make, db, state=E.fixed, estimate="400", actual="450",
            decided_at=datetime(2026, 2, 28, 23, 59, tzinfo=timezone.utc))
    engaged(make, db, state=E.approved, estimate="300",
            decided_at=datetime(2026, 4, 1, tzinfo=timezone.utc))
    page = html(login_as(make.manager()).get(URL))
    assert cells(page, "2026-03") == ["2026-03", "10000.00", "1900.00", "2500.00", "5600.00"]
    assert cells(page, "2026-02") == ["2026-02", "5000.00", "450.00", "0.00", "4550.00"]
    assert page.index('data-month="2026-03"') < page.index('data-month="2026-02"')


def test_remaining_agrees_with_the_approval_check(make, db, clock):
    budgets.set_month_budget(db, actor=make.manager(), month="2026-03", amount="1000")
    engaged(make, db, state=E.fixed, estimate="300", actual="400", decided_at=clock.now())
    request = make.engagement(make.ticket(), make.vendor(), state=E.requested,
                              estimated_cost=Decimal("600"))
    usage = budgets.usage(db, db.scalar(sa.select(Budget)))
    assert usage.remaining == Decimal("600.00")
    approve_engagement(db, request, actor=make.manager(), now=clock.now())  # exactly fits
    usage = budgets.usage(db, db.scalar(sa.select(Budget)))
    assert (usage.committed, usage.remaining) == (Decimal("600.00"), Decimal("0.00"))


def test_overdrawn_month_is_shown_in_red(make, login_as, db, clock):
    budgets.set_month_budget(db, actor=make.manager(), month="2026-03", amount="100")
    engaged(make, db, state=E.fixed, estimate="100", actual="250", decided_at=clock.now())
    page = html(login_as(make.manager()).get(URL))
    assert "-150.00" in row(page, "2026-03") and "text-danger" in row(page, "2026-03")


@pytest.mark.parametrize("data,field", [
    ({"month": "2026-13", "amount": "10"}, "month"),
    ({"month": "26-03", "amount": "10"}, "month"),
    ({"month": "2026-03", "amount": "-1"}, "amount"),
    ({"month": "2026-03", "amount": "lots"}, "amount"),
    ({"month": "2026-03", "amount": "20000000"}, "amount"),
])
def test_bad_budget_input_names_the_field_and_saves_nothing(make, login_as, db, data, field):
    resp = login_as(make.manager()).post(URL, data=data)
    assert resp.status_code == 422 and f'id="{field}-error"' in html(resp)
    assert db.scalar(sa.select(sa.func.count(Budget.id))) == 0


def test_empty_list_explains_approvals_need_a_budget(make, login_as):
    page = html(login_as(make.manager()).get(URL))
    assert "vendor work cannot be approved until one is set" in page
