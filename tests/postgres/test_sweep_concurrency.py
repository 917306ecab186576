"""Several SLA sweepers at once on PostgreSQL: every threshold action happens exactly once.

The sweepers are threads, each with its own application context, session and connection, all
sweeping the same due clocks at the same time (``sweep(..., limit=20)`` commits per batch).
A barrier inside each sweeper's first commit makes them hold their first batches uncommitted
at the same moment, so the claim really is contended: without ``FOR UPDATE SKIP LOCKED`` they
would claim the same clocks and block on each other (the barrier then times out), or double
the work.
"""
from __future__ import annotations

import threading
from collections import Counter
from datetime import timedelta
from types import SimpleNamespace

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from servicedesk.accounts.models import User
from servicedesk.clock import FrozenClock
from servicedesk.db import transaction
from servicedesk.extensions import db
from servicedesk.notifications.models import Notification, OutboundEmail
from servicedesk.sla.models import ClockFiring, ClockKind, EscalationAction, SLAClock
from servicedesk.sla.sweep import SweepResult, sweep
from servicedesk.tickets.models import EventKind, Status, Ticket, TicketEvent
from servicedesk.tickets.services import create_ticket
from tests.factories import Factories
from tests.postgres.conftest import T0

pytestmark = pytest.mark.postgres

A = EscalationAction
SWEEPERS = 4
LIMIT = 20
THRESHOLDS = (50, 75, 100)
RESPONSE_MINUTES, RESOLUTION_MINUTES = 60, 480
#: Warn at 50, experts at 75, manager and vendor proposal at the breach; the response breach
#: tells the manager too, so both clocks of a ticket act on it.
RULES = (
    (ClockKind.response, 100, A.notify_manager),
    (ClockKind.resolution, 50, A.notify),
    (ClockKind.resolution, 75, A.reassign_expert),
    (ClockKind.resolution, 100, A.notify_manager),
    (ClockKind.resolution, 100, A.propose_vendor),
)
ACTIONS_PER_TICKET = len(RULES)
#: Long after every clock's breach: one sweep has every threshold to catch up.
LATER = T0 + timedelta(days=30)


@pytest.fixture(scope="module")
def desk(pg_app):
    """A desk group and an expert group under one manager, a service routed to the experts,
    and a policy for that service with the rules above (ids only, committed)."""
    with pg_app.app_context(), transaction(db.session):
        make = Factories(db.session, FrozenClock(T0))
        manager = make.manager(name="Ops Manager")
        agent = make.agent(name="Desk Agent")
        dispatcher = make.agent(name="Desk Dispatcher")
        desk = make.group(name="Sweep Desk", tier=1, dispatcher=dispatcher, manager=manager,
                          members=[agent])
        expert = make.expert(name="Expert Dispatcher")
        experts = make.group(name="Sweep Experts", tier=2, dispatcher=expert, manager=manager)
        service = make.service(name="Baggage sorter", expert_group=experts)
        make.policy(name="Baggage SLA", service=service, response_minutes=RESPONSE_MINUTES,
                    resolution_minutes=RESOLUTION_MINUTES, thresholds=(50, 75), rules=RULES)
        ids = SimpleNamespace(manager=manager.id, agent=agent.id, dispatcher=dispatcher.id,
                              desk=desk.id, expert=expert.id, experts=experts.id,
                              service=service.id)
    with pg_app.app_context():
        db.session.remove()
    return ids


def open_tickets(pg_app, desk, count: int) -> list[int]:
    """``count`` tickets assigned to the desk agent, one second apart (a stable due order)."""
    with pg_app.app_context(), transaction(db.session):
        agent = db.session.get(User, desk.agent)
        ids = [create_ticket(db.session, actor=agent, requester=agent, channel="monitoring",
                             title=f"Sorter jam {i}", description="Belt stops at the merge.",
                             impact=2, urgency=2, service_id=desk.service, group_id=desk.desk,
                             assignee_id=agent.id, now=T0 + timedelta(seconds=i)).id
               for i in range(count)]
    with pg_app.app_context():
        db.session.remove()
    return ids


def run_sweepers(pg_app, count: int, now) -> list[SweepResult]:
    """``count`` concurrent sweeps; each holds its first batch until all hold one."""
    barrier = threading.Barrier(count)
    results: dict[int, SweepResult] = {}
    errors: list[BaseException] = []

    def sweeper(n: int) -> None:
        try:
            with pg_app.app_context():
                session = db.session  # this thread's own session and connection
                first = [True]

                def commit() -> None:
                    if first[0]:
                        first[0] = False
                        barrier.wait(timeout=60)
                    session.commit()

                try:
                    results[n] = sweep(session, now, commit=commit, limit=LIMIT)
                finally:
                    db.session.remove()
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)
            barrier.abort()

    threads = [threading.Thread(target=sweeper, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert not any(thread.is_alive() for thread in threads)
    assert not errors, errors
    return [results[n] for n in range(count)]


def assert_every_action_once(engine, desk, ticket_ids: list[int]) -> None:
    """The whole outcome of sweeping ``ticket_ids`` past every threshold, counted per ticket."""
    with Session(engine) as s:
        clocks = s.scalars(sa.select(SLAClock).where(SLAClock.ticket_id.in_(ticket_ids))).all()
        clock_by_id = {c.id: c for c in clocks}
        firings = s.execute(sa.select(ClockFiring.clock_id, ClockFiring.threshold,
                                      ClockFiring.crossed_at)
                            .where(ClockFiring.clock_id.in_(clock_by_id))).all()
        sla_events = s.execute(sa.select(TicketEvent.ticket_id, TicketEvent.field,
                                         TicketEvent.new_value).where(
            TicketEvent.ticket_id.in_(ticket_ids), TicketEvent.kind == EventKind.sla)).all()
        escalations = s.execute(sa.select(TicketEvent.ticket_id, TicketEvent.field).where(
            TicketEvent.ticket_id.in_(ticket_ids),
            TicketEvent.kind == EventKind.escalated)).all()
        notices = s.execute(sa.select(Notification.ticket_id, Notification.user_id,
                                      Notification.kind)
                            .where(Notification.ticket_id.in_(ticket_ids))).all()
        emails = s.scalar(sa.select(sa.func.count(OutboundEmail.id)).join(
            Notification, OutboundEmail.notification_id == Notification.id).where(
            Notification.ticket_id.in_(ticket_ids)))
        tickets = s.scalars(sa.select(Ticket).where(Ticket.id.in_(ticket_ids))).all()

        # Two clocks per ticket, every threshold fired once, with the instant it was crossed.
        assert len(clocks) == 2 * len(ticket_ids)
        assert Counter((f.clock_id, f.threshold) for f in firings) == Counter(
            {(c, t): 1 for c in clock_by_id for t in THRESHOLDS})
        for f in firings:
            clock = clock_by_id[f.clock_id]
            assert f.crossed_at == clock.started_at + timedelta(
                seconds=clock.target_seconds * f.threshold / 100)
        for clock in clocks:
            assert clock.next_check_at is None and clock.next_threshold is None
            assert clock.breached_at == clock.started_at + timedelta(seconds=clock.target_seconds)

        # History: one SLA event per crossing (so one breach event per clock).
        assert Counter(sla_events) == Counter(
            {(t, kind.value, f"{p}%"): 1 for t in ticket_ids
             for kind in (ClockKind.response, ClockKind.resolution) for p in THRESHOLDS})
        assert Counter(escalations) == Counter(
            {key: n for t in ticket_ids
             for key, n in (((t, "group"), 1), ((t, "manager"), 2), ((t, "vendor_proposal"), 1))})

        # Notices: 50 % to assignee and desk dispatcher; the escalation to the experts'
        # dispatcher; each breach to the manager; the vendor proposal to manager and dispatcher.
        expected = Counter()
        for t in ticket_ids:
            expected.update({(t, desk.agent, "sla_warning"): 1,
                             (t, desk.dispatcher, "sla_warning"): 1,
                             (t, desk.expert, "escalated"): 1,
                             (t, desk.manager, "escalated_manager"): 2,
                             (t, desk.manager, "vendor_proposal"): 1,
                             (t, desk.expert, "vendor_proposal"): 1})
        assert Counter(notices) == expected
        assert emails == len(notices)

        # Escalated to the experts once: their group, tier 2, unassigned, back to "new".
        assert {(t.group_id, t.tier, t.assignee_id, t.status) for t in tickets} == {
            (desk.experts, 2, None, Status.new)}


def test_concurrent_sweepers_do_every_action_exactly_once(pg_app, desk):
    ticket_ids = open_tickets(pg_app, desk, 200)
    with pg_app.app_context():
        engine = db.engine

    results = run_sweepers(pg_app, SWEEPERS, LATER)

    clocks = 2 * len(ticket_ids)
    assert sum(r.clocks for r in results) == clocks
    assert sum(r.firings for r in results) == clocks * len(THRESHOLDS)
    assert sum(r.actions for r in results) == len(ticket_ids) * ACTIONS_PER_TICKET
    # The work was shared: every sweeper processed at least its first batch.
    per_sweeper = [r.firings for r in results]
    assert all(n > 0 for n in per_sweeper), per_sweeper
    assert_every_action_once(engine, desk, ticket_ids)

    # Nothing is left: more sweepers find no work.
    assert [r.firings for r in run_sweepers(pg_app, SWEEPERS, LATER)] == [0] * SWEEPERS


@pytest.fixture
def crash_on_clock(pg_app):
    """``crash_on_clock(id)``: the database refuses that clock's firing (a sweeper dying in
    the middle of its batch); removed after the test."""
    with pg_app.app_context():
        engine = db.engine
    with engine.begin() as conn:
        conn.exec_driver_sql("""
            CREATE TABLE sd_test_crash (clock_id integer PRIMARY KEY);
            CREATE FUNCTION sd_test_crash() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF EXISTS (SELECT 1 FROM sd_test_crash WHERE clock_id = NEW.clock_id) THEN
                    RAISE EXCEPTION 'sweeper crashed on clock %%', NEW.clock_id;
                END IF;
                RETURN NEW;
            END $$;
            CREATE TRIGGER sd_test_crash BEFORE INSERT ON sla_clock_firings
                FOR EACH ROW EXECUTE FUNCTION sd_test_crash();
        """)

    def arm(clock_id: int) -> None:
        with engine.begin() as conn:
            conn.execute(sa.text("INSERT INTO sd_test_crash VALUES (:id)"), {"id": clock_id})

    yield arm
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP TRIGGER sd_test_crash ON sla_clock_firings; "
                             "DROP FUNCTION sd_test_crash(); DROP TABLE sd_test_crash;")


def test_a_sweeper_crashing_mid_batch_loses_nothing_and_doubles_nothing(pg_app, desk,
                                                                       crash_on_clock):
    ticket_ids = open_tickets(pg_app, desk, 60)
    with pg_app.app_context():
        engine = db.engine
    with Session(engine) as s:
        response = dict(s.execute(sa.select(SLAClock.ticket_id, SLAClock.id).where(
            SLAClock.ticket_id.in_(ticket_ids), SLAClock.kind == ClockKind.response)).all())
    # Due order is ticket order (one second apart), response clocks first: batch 1 is the
    # response clocks of tickets 0-19, batch 2 those of 20-39; crash on the 11th of batch 2.
    crash_on_clock(response[ticket_ids[30]])

    with pg_app.app_context():
        session = db.session
        commits = []

        def commit() -> None:
            session.commit()
            commits.append(True)

        with pytest.raises(sa.exc.DBAPIError, match="sweeper crashed"):
            sweep(session, LATER, commit=commit, limit=LIMIT)
        session.rollback()
        db.session.remove()
    assert len(commits) == 1  # the first batch committed, the second died

    with Session(engine) as s:
        fired = s.execute(sa.select(SLAClock.ticket_id, sa.func.count(ClockFiring.id))
                          .join(ClockFiring, ClockFiring.clock_id == SLAClock.id)
                          .where(SLAClock.ticket_id.in_(ticket_ids))
                          .group_by(SLAClock.ticket_id)).all()
        noticed = s.scalar(sa.select(sa.func.count(Notification.id)).where(
            Notification.ticket_id.in_(ticket_ids)))
    # Only the committed batch left a trace: three crossings of each of its 20 response clocks,
    # and the response-breach notice to the manager; none of the dead batch's work survived.
    assert dict(fired) == {t: 3 for t in ticket_ids[:20]}
    assert noticed == 20

    with pg_app.app_context():  # the crashed clock is healthy again; the next sweep runs
        with engine.begin() as conn:
            conn.exec_driver_sql("DELETE FROM sd_test_crash")
        session = db.session
        result = sweep(session, LATER, commit=session.commit, limit=LIMIT)
        db.session.remove()
    assert result.clocks == 2 * len(ticket_ids) - 20
    assert_every_action_once(engine, desk, ticket_ids)
