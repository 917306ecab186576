#!/usr/bin/env python
"""Queue SLA benchmark: the first queue page with each ticket's resolution clock joined.

Builds the same database as bench/queue_page.py (migrations, demo desk, N bulk tickets), then
bulk-inserts a response and a resolution clock per ticket as the clock service would have
left them (24x7 targets per priority; open tickets running or paused, some past a warning
with its firing, some breached; resolved/closed ones stopped, met or late; cancelled ones
stopped unjudged), and times ``tickets.queries.queue`` with SLA judgement (``now`` given):
the "due soonest" sort, the "at risk" and "breached" filters, the default priority sort with
the due column, and the same priority page without SLA for the overhead; then the /queue HTML
page with those arguments. Prints p50/p95 (target: first page p50 < 100 ms, as for the
queue) and, with --explain, the plans. Run from the repository root:

    python bench/queue_sla.py --db sqlite --tickets 100000
    python bench/queue_sla.py --db postgresql --tickets 100000 --explain
"""
from __future__ import annotations

import random
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import sqlalchemy as sa  # noqa: E402

import queue_page  # noqa: E402  (the shared database builder and timing helpers)
from queue_page import NOW, database, line, timed  # noqa: E402

#: Resolution targets by priority (24x7 business time), in hours.
RESOLVE_HOURS = {1: 4, 2: 8, 3: 24, 4: 40}
RESPOND_MINUTES = {1: 15, 2: 30, 3: 240, 4: 480}
BATCH = 5_000


def add_clocks(app, seed: int) -> None:
    """Two clocks per ticket, bulk-inserted, consistent with the tickets' statuses."""
    from servicedesk.extensions import db
    from servicedesk.sla.defaults import ensure_builtin_calendar
    from servicedesk.sla.models import ClockFiring, ClockKind, SLAClock
    from servicedesk.tickets.models import Ticket

    rng = random.Random(seed)
    with app.app_context():
        calendar_id = ensure_builtin_calendar(db.session).id
        db.session.commit()
        engine = db.engine
        tickets = db.session.execute(sa.select(
            Ticket.id, Ticket.status, Ticket.priority, Ticket.created_at, Ticket.resolved_at,
            Ticket.responded_at, Ticket.closed_at).order_by(Ticket.id)).all()
        db.session.remove()
    clocks_t, firings_t = SLAClock.__table__, ClockFiring.__table__
    insert = clocks_t.insert().returning(clocks_t.c.id, sort_by_parameter_order=True)
    t0, made = time.perf_counter(), 0
    for offset in range(0, len(tickets), BATCH):
        rows, pending_firings = [], []
        for t in tickets[offset:offset + BATCH]:
            for kind in (ClockKind.response, ClockKind.resolution):
                row, firings = _clock(t, kind, calendar_id, rng)
                rows.append(row)
                pending_firings.append(firings)
        with engine.begin() as conn:
            ids = conn.scalars(insert, rows).all()
            firings = [{**f, "clock_id": clock_id}
                       for clock_id, fs in zip(ids, pending_firings, strict=True) for f in fs]
            if firings:
                conn.execute(firings_t.insert(), firings)
        made += len(rows)
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql("ANALYZE")
    print(f"  {made} clocks inserted in {time.perf_counter() - t0:.1f} s", flush=True)


def _clock(t, kind, calendar_id: int, rng: random.Random) -> tuple[dict, list[dict]]:
    from servicedesk.sla.models import ClockKind, ClockState
    from servicedesk.tickets.models import Status

    target = (RESOLVE_HOURS[t.priority] * 3600 if kind is ClockKind.resolution
              else RESPOND_MINUTES[t.priority] * 60)
    base = {"ticket_id": t.id, "engagement_id": None, "policy_id": None,
            "calendar_id": calendar_id, "kind": kind, "target_seconds": target,
            "started_at": t.created_at, "is_cancelled": False, "breached_at": None,
            "stopped_at": None, "due_at": None, "next_check_at": None,
            "next_threshold": None, "segment_started_at": None}
    due = t.created_at + timedelta(seconds=target)
    end = t.resolved_at or t.closed_at or (t.responded_at if kind is ClockKind.response
                                          else None)
    if t.status is Status.cancelled or end is not None:
        end = end or t.created_at + timedelta(minutes=30)
        elapsed = (end - t.created_at).total_seconds()
        late = end > due and t.status is not Status.cancelled
        return {**base, "state": ClockState.stopped, "stopped_at": end,
                "elapsed_before": elapsed, "breached_at": due if late else None,
                "is_cancelled": t.status is Status.cancelled}, []
    elapsed = (NOW - t.created_at).total_seconds()
    crossed = [p for p in (50, 75, 100) if elapsed >= target * p / 100]
    firings = [{"threshold": p, "crossed_at": t.created_at + timedelta(seconds=target * p / 100),
                "processed_at": NOW} for p in crossed]
    if t.status is Status.pending_customer and kind is ClockKind.resolution:
        paused_at = t.created_at + timedelta(seconds=min(elapsed, target) * rng.random())
        return {**base, "state": ClockState.paused,
                "elapsed_before": (paused_at - t.created_at).total_seconds(),
                "next_threshold": None}, []
    later = [p for p in (50, 75, 100) if p not in crossed]
    return {**base, "state": ClockState.running, "segment_started_at": t.created_at,
            "elapsed_before": 0.0, "due_at": due,
            "breached_at": due if 100 in crossed else None,
            "next_threshold": later[0] if later else None,
            "next_check_at": (t.created_at + timedelta(seconds=target * later[0] / 100))
            if later else None}, firings


def bench_database(kind: str, args) -> list[dict]:
    from servicedesk.accounts.models import User
    from servicedesk.extensions import db
    from servicedesk.tickets.queries import QueueFilter, queue
    from tests.postgres.scratch import make_app

    results = []
    with database(kind) as url:
        print(f"== {kind}: {args.tickets} tickets ==", flush=True)
        app = make_app(url)
        try:
            queue_page.build(app, args.tickets, args.seed)
            add_clocks(app, args.seed)
            with app.app_context():
                agent_id = db.session.scalar(sa.select(User.id).where(
                    User.email == "agent@demo.test"))
                cases = [
                    ("open, priority, no SLA (baseline)", dict(view="open"), False),
                    ("open, priority + due column", dict(view="open"), True),
                    ("open, due soonest", dict(view="open", sort="due"), True),
                    ("open, at risk", dict(view="open", sla="at_risk"), True),
                    ("open, breached, due soonest", dict(view="open", sla="breached",
                                                         sort="due"), True),
                    ("all, due soonest", dict(view="all", sort="due"), True),
                    ("all, breached", dict(view="all", sla="breached"), True),
                ]
                for name, kw, with_sla in cases:
                    def make_filter(kw=kw, with_sla=with_sla):
                        return QueueFilter(now=NOW if with_sla else None, **kw)

                    page = queue(db.session, db.session.get(User, agent_id), make_filter())

                    def run(make_filter=make_filter):
                        db.session.expunge_all()
                        queue(db.session, db.session.get(User, agent_id), make_filter())

                    ms = timed(run, args.reps)
                    print(line(name, ms, f"   ({page.total} matching)"), flush=True)
                    results.append({"database": kind, "case": name, "total": page.total,
                                    "p50_ms": round(statistics.median(ms), 2), "ms": ms})
                    if args.explain and with_sla:
                        explain(db.session, db.session.get(User, agent_id), make_filter())
                db.session.remove()
            results += html_pages(app, kind, agent_id, args)
        finally:
            with app.app_context():
                db.session.remove()
                db.engine.dispose()
    return results


def html_pages(app, kind: str, agent_id: int, args) -> list[dict]:
    client = app.test_client()
    with client.session_transaction() as sess:
        sess["_user_id"] = str(agent_id)
        sess["_fresh"] = True
    out = []
    for path in ("/queue?sort=due", "/queue?sla=at_risk", "/queue?view=all&sla=breached"):
        assert client.get(path).status_code == 200, path
        ms = timed(lambda: client.get(path), args.reps)
        print(line(f"GET {path} (HTML)", ms), flush=True)
        out.append({"database": kind, "case": f"GET {path}",
                    "p50_ms": round(statistics.median(ms), 2), "ms": ms})
    return out


def explain(session, agent, f) -> None:
    """The page statement's plan (the count has the same filters; the due cells of the 25
    shown tickets are read by id)."""
    from servicedesk.sla.queries import (
        ResolutionClock, join_states, resolution_clock_join, sla_state,
    )
    from servicedesk.tickets.models import Ticket
    from servicedesk.tickets.queries import OPEN_VIEWS, SORTS, ticket_filter_clauses

    clauses = ticket_filter_clauses(agent, f.validate())
    stmt = sa.select(Ticket.id)
    if f.sla:
        clauses.append(sla_state(f.now) == f.sla)
    if f.sla or f.sort == "due":
        stmt = stmt.outerjoin(ResolutionClock, resolution_clock_join(
            *join_states(f.view in OPEN_VIEWS, f.sla)))
    stmt = stmt.where(*clauses).order_by(*SORTS[f.sort]).limit(25)
    queue_page.print_plan(session, stmt)


def main() -> None:
    queue_page.run(__doc__, bench_database, explain_help="print the page plans")


if __name__ == "__main__":
    main()
