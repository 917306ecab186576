"""The sweep: one indexed query, each crossing once, with the time it really happened."""
from datetime import timedelta

import sqlalchemy as sa

from servicedesk.accounts.models import User
from servicedesk.notifications.models import Notification
from servicedesk.sla.models import ClockFiring, ClockKind
from servicedesk.sla.sweep import due_clock_ids, sweep
from servicedesk.tickets import services as tickets
from servicedesk.tickets.models import EventKind, TicketEvent


def firings(db, ticket, kind=None):
    clock_ids = [c.id for c in ticket.clocks if kind is None or c.kind is kind]
    return db.execute(sa.select(ClockFiring.threshold, ClockFiring.crossed_at)
                      .where(ClockFiring.clock_id.in_(clock_ids))
                      .order_by(ClockFiring.crossed_at, ClockFiring.threshold)).all()


def test_nothing_due_nothing_done(db, make, clock):
    make.policy(priority=3)
    make.ticket(impact=2, urgency=2)
    assert due_clock_ids(db, clock.now()) == []
    result = sweep(db, clock.now())
    assert (result.clocks, result.firings, result.actions) == (0, 0, 0)


def test_warning_fires_once_at_its_true_time(db, make, clock):
    make.policy(priority=3, response_minutes=600, resolution_minutes=480)
    agent = make.agent()
    ticket = make.ticket(actor=agent, impact=2, urgency=2)
    start = clock.now()
    clock.advance(hours=4, minutes=7)  # the sweep runs late
    assert sweep(db, clock.now()).firings == 1
    assert firings(db, ticket) == [(50, start + timedelta(hours=4))]
    assert sweep(db, clock.now()).firings == 0  # a second sweep finds nothing
    clock.advance(minutes=1)
    assert sweep(db, clock.now()).firings == 0


def test_catch_up_after_downtime_fires_every_threshold_once_in_order(db, make, clock):
    make.policy(priority=3, response_minutes=60, resolution_minutes=480)
    expert_group = make.group(tier=2, name="Airside Systems")
    ticket = make.ticket(impact=2, urgency=2, service_id=make.service(
        expert_group=expert_group).id)
    start = clock.now()
    clock.advance(days=2)  # the scheduler was down
    result = sweep(db, clock.now())
    got = firings(db, ticket)
    assert got == [
        (50, start + timedelta(minutes=30)),   # response 50 %
        (75, start + timedelta(minutes=45)),   # response 75 %
        (100, start + timedelta(minutes=60)),  # response breach
        (50, start + timedelta(hours=4)),      # resolution 50 %
        (75, start + timedelta(hours=6)),      # resolution 75 %
        (100, start + timedelta(hours=8)),     # resolution breach
    ]
    assert result.firings == 6
    by_kind = {c.kind: c for c in ticket.clocks}
    assert by_kind[ClockKind.resolution].breached_at == start + timedelta(hours=8)
    assert by_kind[ClockKind.response].breached_at == start + timedelta(hours=1)
    assert ticket.group is expert_group and ticket.tier == 2  # escalated at 75 %
    assert sweep(db, clock.now()).firings == 0


def test_breach_notifies_manager_and_writes_history(db, make, clock):
    manager = make.manager()
    desk = make.group(tier=1, manager=manager)
    agent = make.agent(groups=[desk])
    make.policy(priority=3, response_minutes=600, resolution_minutes=60)
    ticket = make.ticket(actor=agent, impact=2, urgency=2, group_id=desk.id,
                         assignee_id=agent.id)
    clock.advance(hours=2)
    sweep(db, clock.now())
    kinds = db.scalars(sa.select(Notification.kind).where(Notification.user_id == manager.id)
                       ).all()
    assert "escalated_manager" in kinds and "vendor_proposal" in kinds
    sla_events = db.scalars(sa.select(TicketEvent.body).where(
        TicketEvent.ticket_id == ticket.id, TicketEvent.kind == EventKind.sla)).all()
    assert any("breached" in body for body in sla_events)


def test_paused_clock_is_not_swept(db, make, clock):
    make.policy(priority=3, response_minutes=600, resolution_minutes=60)
    agent = make.agent()
    ticket = make.ticket(actor=agent, impact=2, urgency=2)
    tickets.change_status(db, ticket, "pending_customer", actor=agent, now=clock.now())
    clock.advance(hours=5)
    sweep(db, clock.now())
    assert firings(db, ticket, ClockKind.resolution) == []
    assert [t for t, _ in firings(db, ticket, ClockKind.response)] == [50]


def test_sweep_uses_the_next_check_index(db, make, clock):
    from servicedesk.sla.models import SLAClock

    if db.get_bind().dialect.name != "sqlite":
        return
    stmt = sa.select(SLAClock.id).where(SLAClock.next_check_at <= clock.now()) \
        .order_by(SLAClock.next_check_at).limit(500)
    compiled = stmt.compile(db.get_bind(), compile_kwargs={"literal_binds": True})
    plan = " ".join(str(r) for r in db.execute(sa.text(f"EXPLAIN QUERY PLAN {compiled}")))
    assert "ix_sla_clocks_next_check_at" in plan


def test_a_batch_reads_and_inserts_in_bulk_not_per_clock(db, make, clock, monkeypatch):
    """3 or 12 due tickets (each with its own assignee): the same number of SELECTs and
    INSERTs, and every notice's e-mail linked to it."""
    from collections import Counter

    from servicedesk.notifications.models import OutboundEmail
    from servicedesk.refcache import reference_cache
    from servicedesk.sla.sweep import sweep_batch

    manager = make.manager()
    experts = make.group(tier=2, dispatcher=make.expert(), manager=manager)
    desk = make.group(tier=1, dispatcher=make.agent(), manager=manager)
    service = make.service(expert_group=experts)
    make.policy(priority=3, response_minutes=60, resolution_minutes=480)
    bind = db.connection()
    # Count every read: with the cache on, whether a calendar comes from it depends on how
    # long the run took (its TTL is wall time), which made this comparison flaky under load.
    monkeypatch.setattr(reference_cache, "ttl", 0.0)

    def statements_for(count: int) -> Counter:
        for _ in range(count):
            agent = make.agent(groups=[desk])
            make.ticket(actor=agent, impact=2, urgency=2, service_id=service.id,
                        group_id=desk.id, assignee_id=agent.id)
        clock.advance(days=2)  # every threshold of both clocks is due
        db.expire_all()  # both runs start cold: nothing answered from the identity map
        seen: Counter = Counter()

        def record(conn, cursor, statement, parameters, context, executemany):
            seen[statement.split(None, 1)[0].upper()] += 1

        sa.event.listen(bind, "before_cursor_execute", record)
        try:
            result = sweep_batch(db, clock.now())
        finally:
            sa.event.remove(bind, "before_cursor_execute", record)
        assert (result.clocks, result.firings) == (2 * count, 6 * count)
        return seen

    few, many = statements_for(3), statements_for(12)
    assert many["SELECT"] == few["SELECT"] and many["INSERT"] == few["INSERT"]
    assert few["SELECT"] <= 15 and few["INSERT"] <= 5
    mails = db.execute(sa.select(OutboundEmail.to_address, Notification.user_id)
                       .join(Notification)).all()
    assert len(mails) == db.scalar(sa.select(sa.func.count(Notification.id))) > 0
    emails = {u.id: u.email for u in db.scalars(sa.select(User))}
    assert all(emails[user_id] == address for address, user_id in mails)


def test_an_action_counts_only_when_it_acted(db, make, clock):
    """The 50 % notice of an unassigned ticket in a group without a dispatcher reaches
    nobody: the crossing is recorded (with its history event) but no action is counted."""
    make.policy(priority=3, response_minutes=600, resolution_minutes=480)
    ticket = make.ticket(impact=2, urgency=2, group_id=make.group(tier=1).id)
    clock.advance(hours=4, minutes=1)
    result = sweep(db, clock.now())
    assert (result.firings, result.actions) == (1, 0)
    assert db.scalar(sa.select(sa.func.count(Notification.id))) == 0
    assert db.scalars(sa.select(TicketEvent.new_value).where(
        TicketEvent.ticket_id == ticket.id, TicketEvent.kind == EventKind.sla)).all() == ["50%"]


def test_escalating_a_ticket_changed_meanwhile_fails_the_batch(db, make, clock, monkeypatch):
    """The sweep's ticket UPDATE keeps the optimistic lock: a ticket whose version moved
    after the batch read it is not overwritten; the batch fails (and is rolled back)."""
    import pytest
    from sqlalchemy.orm.exc import StaleDataError

    from servicedesk.sla.batch import BatchReader
    from servicedesk.tickets.models import Ticket

    make.policy(priority=3, response_minutes=600, resolution_minutes=480)
    experts = make.group(tier=2, name="Experts")
    ticket = make.ticket(impact=2, urgency=2, service_id=make.service(expert_group=experts).id)
    read = BatchReader.clocks

    def read_then_someone_edits(self, ids):
        views = read(self, ids)
        db.execute(sa.update(Ticket).where(Ticket.id == ticket.id)
                   .values(version=Ticket.version + 1, title="Edited meanwhile")
                   .execution_options(synchronize_session=False))
        return views

    monkeypatch.setattr(BatchReader, "clocks", read_then_someone_edits)
    clock.advance(hours=6, minutes=1)  # resolution 75 %: reassign to the experts
    with pytest.raises(StaleDataError):
        sweep(db, clock.now())
