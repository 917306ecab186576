"""The SLA clocks on the ticket page (state, colour, remaining or late, due time in the
viewer's zone, firings) and the queue's "due soonest" sort, SLA filters and due column."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from servicedesk.sla.sweep import sweep
from servicedesk.tickets import queries
from servicedesk.tickets import services as tickets
from servicedesk.tickets.models import Status


@pytest.fixture
def login_as(login_as, db):
    def _login(user):
        db.commit()
        return login_as(user)

    return _login


@pytest.fixture
def policy(make):
    """24x7: respond in 1 h, resolve in 8 h; warnings at 50 and 75 %."""
    return make.policy(response_minutes=60, resolution_minutes=480)


def html(resp) -> str:
    return resp.get_data(as_text=True)


def clock_item(page: str, kind: str) -> str:
    """The <li> of one clock in the panel."""
    match = re.search(rf'<li class="sla-clock[^"]*"[^>]*data-clock-kind="{kind}".*?</li>\s*'
                      r'(?=<li class="sla-clock|</ul>\s*</div>\s*</section>)', page, re.S)
    assert match, f"no {kind} clock on the page"
    return match.group(0)


# --- the ticket page's clock panel ---------------------------------------------------------

def test_fresh_ticket_shows_both_clocks_running_green_with_due_times_in_my_zone(
        make, login_as, policy):
    agent = make.agent()
    agent.timezone = "Asia/Shanghai"
    ticket = make.ticket(actor=agent)
    page = html(login_as(agent).get(f"/tickets/{ticket.id}"))
    resolution = clock_item(page, "resolution")
    assert 'data-clock-state="running"' in resolution and "border-success" in resolution
    assert "8 h 00 min left" in resolution
    assert "2026-03-03 01:00 CST" in resolution  # 09:00 UTC + 8 h, shown in Shanghai
    response = clock_item(page, "response")
    assert "1 h 00 min left" in response and "2026-03-02 18:00 CST" in response


def test_past_the_first_warning_is_amber_and_lists_the_firing(db, make, clock, login_as,
                                                                policy):
    agent = make.agent()
    ticket = make.ticket(actor=agent)
    tickets.add_comment(db, ticket, actor=agent, body="On it", now=clock.now(), is_public=True)
    clock.advance(hours=5)  # 62.5 % of the resolution target
    sweep(db, clock.now())
    resolution = clock_item(html(login_as(agent).get(f"/tickets/{ticket.id}")), "resolution")
    assert "border-warning" in resolution and "3 h 00 min left" in resolution
    assert "62.5 %" in resolution
    assert re.search(r">50 %</span> 2026-03-02 13:00 UTC", resolution)


def test_breached_clock_is_red_and_says_how_late(db, make, clock, login_as, policy):
    agent = make.agent()
    ticket = make.ticket(actor=agent)
    clock.advance(hours=9, minutes=30)
    sweep(db, clock.now())
    page = html(login_as(agent).get(f"/tickets/{ticket.id}"))
    resolution = clock_item(page, "resolution")
    assert 'data-clock-state="breached"' in resolution and "border-danger" in resolution
    assert "1 h 30 min late" in resolution
    assert "breached 2026-03-02 17:00 UTC" in resolution  # when it happened, not the sweep
    assert re.findall(r">(\d+) %</span>", resolution) == ["50", "75", "100"]
    response = clock_item(page, "response")
    assert 'data-clock-state="breached"' in response and "8 h 30 min late" in response


def test_paused_clock_is_grey(db, make, clock, login_as, policy):
    agent = make.agent()
    ticket = make.ticket(actor=agent)
    clock.advance(hours=2)
    tickets.change_status(db, ticket, Status.pending_customer, actor=agent, now=clock.now())
    resolution = clock_item(html(login_as(agent).get(f"/tickets/{ticket.id}")), "resolution")
    assert 'data-clock-state="paused"' in resolution and "border-secondary" in resolution
    assert "6 h 00 min left" in resolution and "Paused" in resolution


def test_met_and_cancelled_clocks(db, make, clock, login_as, policy):
    agent = make.agent()
    done, dropped = make.ticket(actor=agent), make.ticket(actor=agent)
    clock.advance(hours=3)
    tickets.change_status(db, done, Status.resolved, actor=agent, now=clock.now(),
                          resolution_code="fixed", resolution_notes="Reseated the cable")
    tickets.change_status(db, dropped, Status.cancelled, actor=agent, now=clock.now())
    client = login_as(agent)
    met = clock_item(html(client.get(f"/tickets/{done.id}")), "resolution")
    assert 'data-clock-state="met"' in met and "met with 5 h 00 min to spare" in met
    assert "Stopped 2026-03-02 12:00 UTC" in met
    cancelled = clock_item(html(client.get(f"/tickets/{dropped.id}")), "resolution")
    assert 'data-clock-state="cancelled"' in cancelled and "border-secondary" in cancelled


def test_a_ticket_without_a_policy_says_so(make, login_as):
    agent = make.agent()
    ticket = make.ticket(actor=agent)
    assert "No SLA applies to this ticket." in html(login_as(agent).get(f"/tickets/{ticket.id}"))


# --- the queue ------------------------------------------------------------------------------

@pytest.fixture
def spread(db, make, clock, policy):
    """Tickets whose resolution clocks stand differently at START + 7 h:

    late: due 17:00, P4 (created first): at 16:00 it is due within the hour -> at risk;
    early_p1: due 18:00, P1; warned: due 19:00, 50 % swept -> at risk; fresh: due 23:00;
    paused and resolved ones (no running clock) last.
    """
    agent = make.agent()
    start = clock.now()
    made = {"late": make.ticket(actor=agent, impact=3, urgency=3, title="late P4")}
    clock.advance(hours=1)
    made["early_p1"] = make.ticket(actor=agent, impact=1, urgency=1, title="early P1")
    clock.advance(hours=1)
    made["warned"] = make.ticket(actor=agent, title="warned")
    clock.advance(hours=4)
    made["paused"] = make.ticket(actor=agent, title="paused")
    tickets.change_status(db, made["paused"], Status.pending_customer, actor=agent,
                          now=clock.now())
    made["fresh"] = make.ticket(actor=agent, title="fresh")
    made["resolved"] = make.ticket(actor=agent, title="resolved")
    tickets.change_status(db, made["resolved"], Status.resolved, actor=agent, now=clock.now(),
                          resolution_code="fixed", resolution_notes="Done")
    clock.set(start + timedelta(hours=7))
    sweep(db, clock.now())
    return agent, made


def page_of(db, agent, clock, view="all", **kw):
    return queries.queue(db, agent, queries.QueueFilter(view=view, now=clock.now(), **kw))


def test_due_soonest_puts_running_clocks_first_by_due_time(db, clock, spread):
    agent, t = spread
    page = page_of(db, agent, clock, sort="due")
    numbers = [x.title for x in page.items]
    assert numbers[:4] == ["late P4", "early P1", "warned", "fresh"]
    assert set(numbers[4:]) == {"paused", "resolved"}
    assert page.sla[t["late"].id].due_at == t["late"].created_at + timedelta(hours=8)


def test_open_views_narrow_the_join_without_changing_the_answer(db, clock, spread):
    agent, t = spread
    # A reopened ticket's resolution clock runs again: it must still sort by its due time.
    tickets.change_status(db, t["resolved"], Status.in_progress, actor=agent, now=clock.now())
    for view in ("open", "unassigned"):
        due = page_of(db, agent, clock, view=view, sort="due")
        assert [x.title for x in due.items] == ["late P4", "early P1", "warned", "fresh",
                                                "resolved", "paused"], view  # reopened: +15 h
        at_risk = page_of(db, agent, clock, view=view, sla="at_risk")
        assert {x.title for x in at_risk.items} == {"late P4", "early P1", "warned"}
        assert page_of(db, agent, clock, view=view, sla="breached").total == 0


def test_priority_sort_is_unchanged(db, clock, spread):
    agent, _ = spread
    assert page_of(db, agent, clock, sort="priority").items[0].title == "early P1"


def test_at_risk_and_breached_filters(db, clock, spread):
    agent, t = spread
    # 07:00 after START: "late" (due 17:00) is due within the hour and warned at 75 %.
    at_risk = page_of(db, agent, clock, sla="at_risk")
    assert {x.title for x in at_risk.items} == {"late P4", "early P1", "warned"}
    assert at_risk.total == 3
    assert page_of(db, agent, clock, sla="breached").total == 0
    clock.advance(hours=1, minutes=30)  # 17:30: "late" is past due, the sweep not yet run
    breached = page_of(db, agent, clock, sla="breached")
    assert [x.title for x in breached.items] == ["late P4"]
    assert breached.sla[t["late"].id].state == "breached"
    states = page_of(db, agent, clock).sla
    assert states[t["fresh"].id].state == "on_track"
    assert states[t["paused"].id].state == "paused"
    assert states[t["resolved"].id].state == "met"


def test_queue_page_shows_the_due_column_coloured_and_filters(db, clock, login_as, spread):
    agent, t = spread
    client = login_as(agent)
    page = html(client.get("/queue?view=all&sort=due"))
    assert page.index("late P4") < page.index("early P1") < page.index("warned")
    assert re.search(r'data-sla="at_risk">\s*<span class="badge text-bg-warning">at risk</span>\s*'
                     r'<time[^>]*>2026-03-02 17:00 UTC</time>', page)
    assert 'data-sla="on_track">' in page and 'data-sla="paused">' in page
    page = html(client.get("/queue?view=all&sla=at_risk"))
    assert "warned" in page and "fresh" not in page and "3 tickets" in page
    assert '<option value="at_risk" selected>At risk</option>' in page


def test_unknown_sla_filter_is_422_naming_it(make, login_as):
    resp = login_as(make.agent()).get("/queue?sla=soon")
    assert resp.status_code == 422 and "SLA: Not a valid choice" in html(resp)


@pytest.mark.parametrize("sort,sla,joins", [
    # count, page ids (sort + filter), the page's tickets by id, the page's cells
    ("due", "at_risk", [True, True, False, True]),
    ("due", "", [False, True, False, True]),         # the count needs no clock
    ("priority", "", [False, False, False, True]),   # only the cells of the 25 shown tickets
])
def test_queue_statements(db, clock, spread, sort, sla, joins):
    """Sort and filter happen in the page query; the due column costs one query by id."""
    agent, _ = spread
    seen = []
    engine = db.get_bind().engine

    def record(conn, cursor, statement, *args):
        if statement.lstrip().upper().startswith("SELECT"):
            seen.append(statement)

    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        page = page_of(db, agent, clock, sort=sort, sla=sla)
        [(t.requester.name, t.group, t.service) for t in page.items]  # loaded with the page
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)
    assert ["resolution_clock" in s for s in seen] == joins, seen
    assert set(page.sla) == {t.id for t in page.items}


def test_the_clock_join_uses_the_ticket_kind_index(db, clock, spread):
    """The join and the firings probe are index lookups (PostgreSQL: with sequential scans
    discouraged, as on large tables; these test tables are tiny)."""
    agent, _ = spread
    f = queries.QueueFilter(view="all", sort="due", sla="at_risk", now=clock.now())
    stmt = (sa.select(queries.Ticket.id)
            .outerjoin(queries.ResolutionClock, queries.resolution_clock_join())
            .where(*queries.ticket_filter_clauses(agent, f.validate()),
                   queries.sla_state(clock.now()) == "at_risk"))
    compiled = stmt.compile(db.get_bind(), compile_kwargs={"literal_binds": True})
    if db.get_bind().dialect.name == "sqlite":
        plan = " | ".join(str(r[-1]) for r in db.execute(
            sa.text(f"EXPLAIN QUERY PLAN {compiled}")))
        assert "SEARCH resolution_clock USING INDEX ix_sla_clocks_ticket_kind" in plan, plan
        assert "SEARCH sla_clock_firings USING INDEX" in plan, plan  # unique (clock, threshold)
    else:  # the cost-based planner picks among the clock indexes; none may be a full scan
        db.execute(sa.text("SET LOCAL enable_seqscan = off"))
        plan = " | ".join(str(r[-1]) for r in db.execute(sa.text(f"EXPLAIN {compiled}")))
        assert "Seq Scan" not in plan and "resolution_clock" in plan, plan
        assert "uq_sla_clock_firings_clock_threshold" in plan, plan


def test_api_lists_due_soonest_and_filters_at_risk(db, clock, spread, client):
    from servicedesk.accounts.services import issue_token

    agent, _ = spread
    _, secret = issue_token(db, agent, name="t", now=clock.now())
    headers = {"Authorization": f"Bearer {secret}"}
    due = client.get("/api/v1/tickets?view=all&sort=due", headers=headers).get_json()
    assert [t["title"] for t in due["items"][:3]] == ["late P4", "early P1", "warned"]
    risky = client.get("/api/v1/tickets?view=all&sla=at_risk", headers=headers).get_json()
    assert risky["total"] == 3
    resp = client.get("/api/v1/tickets?sla=soon", headers=headers)
    assert resp.status_code == 422 and "sla" in resp.get_json()["error"]["fields"]
