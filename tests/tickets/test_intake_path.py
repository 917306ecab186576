"""The API intake hot path on an app of its own (a database file with real commits): what a
warm POST /api/v1/tickets asks the database, and that cached reference data never goes stale
in this process when an admin changes the matrix or a policy."""
from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from servicedesk.accounts import services as accounts
from servicedesk.accounts.models import Role
from servicedesk.catalog.services import set_matrix
from servicedesk.clock import SystemClock
from servicedesk.db import transaction
from servicedesk.extensions import db
from servicedesk.refcache import reference_cache
from servicedesk.sla.defaults import seed_defaults
from servicedesk.sla.models import ClockKind, SLAClock, SLAPolicy
from servicedesk.tickets.models import Ticket
from tests.postgres.scratch import make_app

REFERENCE_TABLES = ("priority_rules", "sla_policies", "calendars", "holidays")


@pytest.fixture
def intake(tmp_path, monkeypatch):
    # a warm entry must stay warm however slowly a loaded machine runs the test
    monkeypatch.setattr(reference_cache, "ttl", 3600.0)
    app = make_app(f"sqlite:///{tmp_path / 'intake.db'}")
    now = SystemClock().now()
    with app.app_context():
        db.create_all()
        with transaction(db.session):
            seed_defaults(db.session)
            agent = accounts.create_user(db.session, email="probe@example.com", name="Probe",
                                         role=Role.agent, now=now)
            caller = accounts.create_user(db.session, email="caller@example.com",
                                          name="Caller", role=Role.requester, now=now)
            _, secret = accounts.issue_token(db.session, agent, name="probe", now=now)
            caller_id = caller.id
        db.session.remove()
    client = app.test_client()
    headers = {"Authorization": f"Bearer {secret}"}

    def post(impact=2, urgency=2):
        resp = client.post("/api/v1/tickets", headers=headers, json={
            "title": "Belt 4 motor tripped", "description": "E17 on the panel.",
            "impact": impact, "urgency": urgency, "channel": "monitoring",
            "requester_id": caller_id})
        assert resp.status_code == 201, resp.get_data(as_text=True)
        return resp.get_json()

    yield app, post
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def statements_during(app, action) -> list[str]:
    seen: list[str] = []

    def record(conn, cursor, statement, *args):
        seen.append(" ".join(statement.split()))

    with app.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        action()
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)
    return seen


def test_warm_intake_reads_no_reference_table_and_only_inserts(intake):
    app, post = intake
    post()  # warms the per-process reference cache
    sql = statements_during(app, post)
    selects = [s for s in sql if s.startswith("SELECT")]
    inserts = [s.split()[2] for s in sql if s.startswith("INSERT")]
    assert not [s for s in selects if any(f" {t} " in f" {s} " for t in REFERENCE_TABLES)]
    # the token and its user in one query, then the requester; nothing else is read
    assert len(selects) == 2, selects
    assert "FROM api_tokens JOIN users" in selects[0]
    # the ticket, its one history event, its two clocks (SQLite cannot return a multi-row
    # INSERT's ids in order, so one statement each); nothing is updated afterwards
    assert inserts == ["tickets", "ticket_events", "sla_clocks", "sla_clocks"], inserts
    assert all(" RETURNING " in s for s in sql if s.startswith("INSERT"))
    assert not [s for s in sql if s.startswith(("UPDATE", "DELETE"))]


def test_intake_answer_carries_the_stored_ticket_and_its_clocks(intake):
    app, post = intake
    answer = post(impact=1, urgency=1)
    with app.app_context():
        ticket = db.session.get(Ticket, answer["id"])
        assert ticket.priority == answer["priority"] == 1 and ticket.version == 1
        assert [e.kind.value for e in ticket.events] == ["created"]
        assert [e["id"] for e in answer["events"]] == [e.id for e in ticket.events]
        assert {c.kind for c in ticket.clocks} == {ClockKind.response, ClockKind.resolution}
        assert all(c.due_at is not None and c.ticket_id == ticket.id for c in ticket.clocks)
        db.session.remove()


def test_new_tickets_follow_a_changed_matrix_and_policy_at_once(intake):
    app, post = intake
    assert post(impact=3, urgency=3)["priority"] == 4
    with app.app_context():
        with transaction(db.session):
            set_matrix(db.session, {(3, 3): 2})
            p2 = db.session.scalar(sa.select(SLAPolicy).where(SLAPolicy.priority == 2,
                                                              SLAPolicy.is_active))
            p2.resolution_minutes = 17
            p2_id = p2.id
        db.session.remove()
    created = post(impact=3, urgency=3)
    assert created["priority"] == 2
    with app.app_context():
        ticket = db.session.get(Ticket, created["id"])
        resolution = db.session.scalar(sa.select(SLAClock).where(
            SLAClock.ticket_id == ticket.id, SLAClock.kind == ClockKind.resolution))
        assert resolution.policy_id == p2_id
        assert resolution.target_seconds == 17 * 60
        assert resolution.due_at - resolution.started_at >= timedelta(minutes=17)
        db.session.remove()
