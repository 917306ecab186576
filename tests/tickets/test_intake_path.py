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


def test_warm_intake_reads_no_reference_table_and_inserts_in_one_flush(intake):
    app, post = intake
    post()  # warms the per-process reference cache
    sql = statements_during(app, post)
    selects = [s for s in sql if s.startswith("SELECT")]
    inserts = [s.split()[2] for s in sql if s.startswith("INSERT")]
    assert not [s for s in selects if any(f" {t} " in f" {s} " for t in REFERENCE_TABLES)]
    # the token and its user in one query, then the requester; nothing else is read
    assert len(selects) == 2, selects
    assert "FROM api_tokens JOIN users" in selects[0]
    # the ticket first; its one history event and its clocks in any order (the unit of work
    # orders tables that do not depend on each other as it likes)
    assert inserts[0] == "tickets" and inserts.count("ticket_events") == 1
    assert set(inserts[1:]) == {"ticket_events", "sla_clocks"}


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
