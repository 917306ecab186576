"""The scheduler process: its jobs, `flask sd scheduler --once`, heartbeats, failures, catch-up."""
from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler

from servicedesk import create_app
from servicedesk.clock import FrozenClock
from servicedesk.config import TestingConfig as _Testing
from servicedesk.extensions import db as _db
from servicedesk.scheduler import JOB_DEFINITIONS, build_scheduler, run_sla_sweep
from servicedesk.sla.models import ClockFiring, ClockKind, SchedulerHeartbeat, SLAClock
from servicedesk.tickets.models import EventKind, TicketEvent
from tests.conftest import START

UTC = timezone.utc


def heartbeats(db) -> dict[str, SchedulerHeartbeat]:
    db.expire_all()
    return {row.job: row for row in db.scalars(sa.select(SchedulerHeartbeat))}


def firings(db, ticket) -> list[tuple[ClockKind, int, datetime, datetime]]:
    """(clock kind, threshold, crossed at, processed at) in the order they were recorded."""
    return [tuple(row) for row in db.execute(
        sa.select(SLAClock.kind, ClockFiring.threshold, ClockFiring.crossed_at,
                  ClockFiring.processed_at)
        .join(SLAClock, SLAClock.id == ClockFiring.clock_id)
        .where(SLAClock.ticket_id == ticket.id).order_by(ClockFiring.id))]


def test_build_scheduler_registers_exactly_the_job_table_with_configured_intervals(
        app, monkeypatch):
    for seconds, job in enumerate(JOB_DEFINITIONS, start=11):
        monkeypatch.setitem(app.config, job.interval_config, seconds)
    scheduler = build_scheduler(app)
    assert isinstance(scheduler, BlockingScheduler) and not scheduler.running
    jobs = {job.id: job for job in scheduler.get_jobs()}
    assert sorted(jobs) == sorted(job.id for job in JOB_DEFINITIONS)
    for seconds, definition in enumerate(JOB_DEFINITIONS, start=11):
        job = jobs[definition.id]
        assert job.func is definition.func and tuple(job.args) == (app,)
        assert job.trigger.interval == timedelta(seconds=seconds)
        assert job.max_instances == 1 and job.coalesce  # never two runs of one job at once


def test_create_app_starts_no_scheduler(monkeypatch):
    started = []
    monkeypatch.setattr(BaseScheduler, "start", lambda self, *a, **kw: started.append(self))
    before = {thread.ident for thread in threading.enumerate()}
    app = create_app(_Testing, clock=FrozenClock(START))
    try:
        with app.app_context():
            _db.create_all()
        assert app.test_client().get("/healthz").status_code == 200
    finally:
        with app.app_context():
            _db.session.remove()
            _db.engine.dispose()
    assert started == []
    new = [t for t in threading.enumerate() if t.ident not in before]
    assert not [t for t in new if "apscheduler" in type(t).__module__.lower()
                or "apscheduler" in t.name.lower()]


def test_scheduler_once_runs_each_job_once_and_writes_heartbeats(app, db, make, clock):
    make.policy(priority=3, response_minutes=60, resolution_minutes=480, rules=())
    ticket = make.ticket(impact=2, urgency=2)
    db.commit()  # earlier, committed work; the jobs commit their own
    clock.advance(minutes=31)  # the response clock is past 50 %
    result = app.test_cli_runner().invoke(args=["sd", "scheduler", "--once"])
    assert result.exit_code == 0, (result.output, result.exception)
    lines = result.output.strip().splitlines()
    assert [line.split(":")[0] for line in lines] == [job.id for job in JOB_DEFINITIONS]
    assert "sla_sweep: 1 clocks, 1 crossings, 0 actions" in lines
    assert "send_email: 0 sent, 0 failed" in lines
    beats = heartbeats(db)
    assert sorted(beats) == sorted(job.id for job in JOB_DEFINITIONS)
    assert all(beat.beat_at == clock.now() and beat.host for beat in beats.values())
    assert beats["sla_sweep"].detail == "1 clocks, 1 crossings, 0 actions"
    assert [(kind, threshold) for kind, threshold, _, _ in firings(db, ticket)] == [
        (ClockKind.response, 50)]
    # PostgreSQL's rollup triggers appended the new ticket's counts as deltas; the job folded
    # them into the day totals (SQLite's triggers add in place: nothing to fold)
    from servicedesk.reports.models import report_count_deltas, report_counts
    on_pg = db.get_bind().dialect.name == "postgresql"
    folded = int(beats["report_rollups"].detail.split()[0])
    assert beats["report_rollups"].detail.endswith(" day totals updated")
    assert (folded > 0) == on_pg
    assert db.scalar(sa.select(sa.func.count()).select_from(report_count_deltas)) == 0
    assert db.scalar(sa.select(sa.func.sum(report_counts.c.n))
                     .where(report_counts.c.metric == "ticket.created")) == 1


def test_a_failing_sweep_beats_with_the_error_and_the_next_run_recovers(
        app, db, make, clock, monkeypatch):
    make.policy(priority=3, response_minutes=60, resolution_minutes=480)
    agent = make.agent()
    ticket = make.ticket(impact=2, urgency=2, actor=agent, assignee_id=agent.id)
    db.commit()
    response = next(c for c in ticket.clocks if c.kind is ClockKind.response)
    due = response.next_check_at

    def broken(*args, **kwargs):
        raise RuntimeError("database connection lost")

    monkeypatch.setattr("servicedesk.sla.sweep.apply_rules", broken)
    clock.advance(minutes=50)  # response at 83 %: 50 % and 75 % are due
    detail = run_sla_sweep(app)
    assert detail == "error: RuntimeError: database connection lost"
    beat = heartbeats(db)["sla_sweep"]
    assert (beat.beat_at, beat.detail) == (clock.now(), detail)
    assert firings(db, ticket) == []  # the failed batch left nothing behind
    assert db.get(SLAClock, response.id).next_check_at == due

    monkeypatch.undo()
    clock.advance(minutes=1)
    assert run_sla_sweep(app) == "1 clocks, 2 crossings, 1 actions"  # 75 % notifies
    assert firings(db, ticket) == [
        (ClockKind.response, 50, START + timedelta(minutes=30), clock.now()),
        (ClockKind.response, 75, START + timedelta(minutes=45), clock.now())]
    assert heartbeats(db)["sla_sweep"].detail == "1 clocks, 2 crossings, 1 actions"
    assert run_sla_sweep(app) == "0 clocks, 0 crossings, 0 actions"


def test_catch_up_after_downtime_fires_every_missed_threshold_once_at_its_crossing_time(
        app, db, make, clock):
    """Office hours in Berlin (09-17 CET = 08-16 UTC, Mon-Fri): a ticket logged on Friday
    afternoon, the scheduler down until Wednesday."""
    office = make.calendar(timezone="Europe/Berlin")
    make.policy(priority=3, response_minutes=4 * 60, resolution_minutes=16 * 60,
                calendar=office)
    clock.set(datetime(2026, 3, 6, 14, 0, tzinfo=UTC))  # Friday 15:00 in Berlin
    ticket = make.ticket(impact=2, urgency=2)
    db.commit()
    clock.set(datetime(2026, 3, 11, 12, 0, tzinfo=UTC))  # Wednesday: the scheduler is back
    detail = run_sla_sweep(app)
    swept = clock.now()
    at = lambda day, hour: datetime(2026, 3, day, hour, 0, tzinfo=UTC)  # noqa: E731
    assert firings(db, ticket) == [
        (ClockKind.response, 50, at(6, 16), swept),     # Fri 17:00 Berlin: 2 of 4 h
        (ClockKind.response, 75, at(9, 9), swept),      # Mon 10:00, after the weekend
        (ClockKind.response, 100, at(9, 10), swept),    # Mon 11:00: breached
        (ClockKind.resolution, 50, at(9, 14), swept),   # Mon 15:00: 8 of 16 h
        (ClockKind.resolution, 75, at(10, 10), swept),  # Tue 11:00: 12 h
        (ClockKind.resolution, 100, at(10, 14), swept),  # Tue 15:00: breached
    ]
    assert detail.startswith("2 clocks, 6 crossings, ")
    clocks = {c.kind: db.get(SLAClock, c.id) for c in ticket.clocks}
    assert clocks[ClockKind.response].breached_at == at(9, 10)
    assert clocks[ClockKind.resolution].breached_at == at(10, 14)
    assert all(c.next_check_at is None for c in clocks.values())
    history = db.scalars(sa.select(TicketEvent.new_value).where(
        TicketEvent.ticket_id == ticket.id, TicketEvent.kind == EventKind.sla)
        .order_by(TicketEvent.id)).all()
    assert history == ["50%", "75%", "100%"] * 2
    assert run_sla_sweep(app) == "0 clocks, 0 crossings, 0 actions"  # each exactly once
    assert len(firings(db, ticket)) == 6

