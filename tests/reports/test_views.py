"""Report pages: managers only, figures on the page, drill-down lists the tickets behind them."""
from __future__ import annotations

import re

import pytest

from servicedesk.accounts.models import Role

PERIOD_ARGS = "from=2026-03-02&to=2026-03-06"


@pytest.mark.parametrize("role,status", [
    (Role.manager, 200), (Role.admin, 403), (Role.agent, 403), (Role.expert, 403),
    (Role.requester, 403), (Role.vendor, 403)])
@pytest.mark.parametrize("path", ["/reports", "/reports/tickets?figure=created",
                                  "/reports/breaches", "/reports/unmet"])
def test_report_pages_are_for_managers_only(make, login_as, client, role, status, path):
    login_as(make.user(role))
    assert client.get(path).status_code == status


def test_anonymous_is_sent_to_login(client):
    resp = client.get("/reports")
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]


def test_dashboard_shows_the_figures_and_their_definitions(desk, login_as, client):
    login_as(desk.manager)
    resp = client.get(f"/reports?{PERIOD_ARGS}&unit=day")
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    assert "66.7 %" in html and "60.0 %" in html  # response / resolution compliance
    assert "83.3 %" in html  # FCR
    assert "Latest breaches (4)" in html and "At risk now (1)" in html
    assert 'id="def-compliance"' in html and "Met clocks / judged clocks" in html
    assert html.count("<svg") >= 2
    assert "People, ranked" in html and desk.agent.name in html


def _drill_count(client, query):
    html = client.get(f"/reports/tickets?{PERIOD_ARGS}&{query}").get_data(as_text=True)
    return int(re.search(r"(\d+) tickets?</p>", html).group(1)), html


@pytest.mark.parametrize("query,names", [
    ("figure=breached", {"T2", "T3", "T8"}),
    ("figure=breached&kind=resolution", {"T2", "T3"}),
    ("figure=judged&kind=resolution&dim=tier&value=2", {"T3"}),
    ("figure=met&kind=response&dim=channel&value=phone", {"T1", "T3", "T4", "T5"}),
    ("figure=judged&kind=response&bucket=2026-03-02&unit=day", {"T1", "T2"}),
    ("figure=at_risk", {"T6"}),
    ("figure=backlog&age=1-3+days", {"T6"}),
    ("figure=created", {"T1", "T2", "T3", "T4", "T5", "T6", "T7", "T8"}),
    ("figure=resolved&bucket=2026-03-04&unit=day", {"T3", "T4"}),
    ("figure=fcr", {"T0", "T1", "T2", "T4", "T5"}),
    ("figure=fcr_kb", {"T1"}),
    ("figure=kb_resolved", {"T1"}),
    ("figure=reopened", {"T4"}),
    ("figure=escalated&tier=1", {"T3"}),
    ("figure=csat_low", {"T2"}),
    ("figure=unmet", {"T1"}),
])
def test_drill_down_lists_exactly_the_tickets_behind_a_figure(desk, login_as, client, query,
                                                             names):
    login_as(desk.manager)
    count, html = _drill_count(client, query)
    assert count == len(names)
    for name, ticket in desk.t.items():
        assert (ticket.number in html) == (name in names), name


def test_person_drill_down(desk, login_as, client):
    login_as(desk.manager)
    count, _ = _drill_count(client, f"figure=person&user={desk.expert.id}")
    assert count == 1


@pytest.mark.parametrize("query,field", [
    ("figure=nonsense", "figure"), ("figure=judged&kind=lunch", "kind"),
    ("figure=judged&dim=colour", "dim"), ("figure=escalated&tier=7", "tier"),
    ("figure=created&from=2026-03-09&to=2026-03-01", "to"),
    ("figure=created&from=2026-03-01", "to"),
    ("figure=created&from=yesterday&to=2026-03-01", "from"), ("figure=backlog&age=old", "age"),
    ("figure=judged&dim=group&value=abc", "value"), ("figure=person", "user"),
])
def test_bad_drill_arguments_are_422_naming_the_field(make, login_as, client, query, field):
    login_as(make.manager())
    resp = client.get(f"/reports/tickets?{query}")
    assert resp.status_code == 422
    assert field in resp.get_data(as_text=True)


def test_breaches_and_unmet_pages(desk, login_as, client):
    login_as(desk.manager)
    html = client.get(f"/reports/breaches?{PERIOD_ARGS}").get_data(as_text=True)
    assert "4 breached clocks" in html and desk.t["T3"].number in html
    html = client.get(f"/reports/unmet?{PERIOD_ARGS}").get_data(as_text=True)
    assert "3 recorded" in html and "Lounge booking" in html and "Taxi" not in html


def test_user_text_is_escaped(desk, make, login_as, client, db, clock):
    from servicedesk.feedback.services import record_unmet
    from tests.reports.conftest import at

    record_unmet(db, actor=desk.agent, category="other", description="<script>x()</script>",
                 now=at(3, 3, 9))
    login_as(desk.manager)
    html = client.get(f"/reports/unmet?{PERIOD_ARGS}").get_data(as_text=True)
    assert "<script>x()" not in html and "&lt;script&gt;" in html


def test_nav_shows_reports_to_managers_only(make, login_as, client):
    login_as(make.manager())
    assert 'href="/reports"' in client.get("/queue").get_data(as_text=True)
    login_as(make.agent())
    assert 'href="/reports"' not in client.get("/queue").get_data(as_text=True)
