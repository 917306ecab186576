#!/usr/bin/env python
"""Queue benchmark: the agent queue's first page with 100,000 tickets in the database.

For each database (a scratch SQLite file, then a scratch PostgreSQL database) it builds the
schema with the Alembic migrations (so the indexes are the real ones), seeds the airport demo
desk (users, groups, services), bulk-inserts coherent tickets (core executemany in batches: a
year of history, most tickets closed, a realistic open backlog, assignees that belong to their
group, one "created" event each), then times

  * ``tickets.queries.queue(...)`` first page for an agent: views open / all / mine /
    unassigned / group sorted by priority, plus newest-first and a text search, and
  * the ``/queue`` HTML page through the Flask test client (logged in as that agent),

printing p50/p95 per case. Target: first page p50 < 100 ms. Run from the repository root:

    python bench/queue_page.py                  # 100,000 tickets on SQLite and PostgreSQL
    python bench/queue_page.py --db sqlite --tickets 20000 --explain

See bench/README.md.
"""
from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

from _db import database  # noqa: E402

TARGET_MS = 100.0
NOW = datetime.now(timezone.utc).replace(microsecond=0)
BATCH = 5_000
#: Share of tickets per status in a desk with a year of history.
STATUS_MIX = (("closed", 86.0), ("resolved", 4.0), ("cancelled", 5.0), ("new", 0.8),
              ("assigned", 1.2), ("in_progress", 1.6), ("pending_customer", 0.8),
              ("pending_vendor", 0.6))



def build(app, total: int, seed: int) -> None:
    """Schema by migrations, the demo desk, then ``total`` tickets in bulk."""
    from flask_migrate import upgrade

    from servicedesk import demo
    from servicedesk.accounts.models import Group, Role, User
    from servicedesk.catalog.models import Category, Service
    from servicedesk.db import transaction
    from servicedesk.extensions import db
    from servicedesk.tickets.models import Channel, EventKind, Status, Ticket, TicketEvent
    from servicedesk.tickets.priority import priority_for

    with app.app_context():
        upgrade()
        with transaction(db.session):
            demo.seed(db.session, now=NOW - timedelta(days=366), tickets=demo.MIN_TICKETS,
                      seed=seed)
        session = db.session
        requesters = session.scalars(sa.select(User.id).where(User.role == Role.requester)).all()
        creators = session.scalars(sa.select(User.id).where(User.role == Role.agent)).all()
        groups = [(g.id, g.tier, [m.id for m in g.members if m.is_staff])
                  for g in session.scalars(sa.select(Group).order_by(Group.id))]
        services = [(s.id, s.expert_group_id) for s in session.scalars(sa.select(Service))]
        categories = session.scalars(sa.select(Category.id)).all()
        desk = next(g for g in groups if g[1] == 1)
        agent_id = session.scalar(sa.select(User.id).where(User.email == "agent@demo.test"))
        db.session.remove()

    rng = random.Random(seed)
    statuses, weights = zip(*STATUS_MIX)
    span = timedelta(days=365).total_seconds()
    start = NOW - timedelta(days=365)
    # Creation times sorted, so ids follow time as in real life.
    created = sorted(start + timedelta(seconds=rng.random() * span) for _ in range(total))
    tickets_table, events_table = Ticket.__table__, TicketEvent.__table__
    with app.app_context():
        engine = db.engine
    insert_tickets = tickets_table.insert().returning(tickets_table.c.id,
                                                      sort_by_parameter_order=True)
    t0 = time.perf_counter()
    for offset in range(0, total, BATCH):
        rows, events = [], []
        for n in range(offset, min(offset + BATCH, total)):
            at = created[n]
            age = NOW - at
            status = Status(rng.choices(statuses, weights=weights)[0])
            if age < timedelta(days=14) and rng.random() < 0.35:  # recent tickets: more open
                status = rng.choice([Status.new, Status.assigned, Status.in_progress,
                                     Status.pending_customer, Status.resolved])
            impact, urgency = rng.randint(1, 3), rng.randint(1, 3)
            service_id, expert_group = rng.choice(services)
            escalated = rng.random() < 0.35 and status is not Status.new
            group = next(g for g in groups if g[0] == expert_group) if escalated else desk
            assignee = None
            if status is not Status.new and rng.random() < 0.97:
                assignee = agent_id if (group is desk and rng.random() < 0.2) else \
                    rng.choice(group[2])
            worked = min(at + timedelta(minutes=rng.randint(5, 5 * 24 * 60)), NOW)
            resolved_at = worked if status in (Status.resolved, Status.closed) else None
            closed_at = min(worked + timedelta(days=3), NOW) if status is Status.closed else None
            rows.append({
                "title": f"Bulk fault {n}: belt {n % 12 + 1} motor tripped at gate B{n % 30}",
                "description": "Generated by bench/queue_page.py: the belt stopped with bags on "
                               "it; panel shows motor fault E17.",
                "requester_id": rng.choice(requesters), "created_by_id": rng.choice(creators),
                "channel": rng.choice(list(Channel)), "service_id": service_id,
                "category_id": rng.choice(categories), "impact": impact, "urgency": urgency,
                "priority": priority_for(impact, urgency), "priority_override_reason": None,
                "status": status, "group_id": group[0], "assignee_id": assignee,
                "tier": group[1], "parent_id": None, "duplicate_of_id": None,
                "resolution_code": "fixed" if resolved_at else None,
                "resolution_notes": "Reset the motor breaker." if resolved_at else None,
                "is_first_contact_resolution": False, "created_at": at,
                "updated_at": closed_at or resolved_at or worked,
                "responded_at": at + timedelta(minutes=5) if assignee else None,
                "resolved_at": resolved_at, "closed_at": closed_at, "version": 1,
            })
            events.append({"actor_id": rows[-1]["created_by_id"],
                           "kind": EventKind.created, "field": None, "old_value": None,
                           "new_value": None, "body": "Logged in bulk", "is_public": True,
                           "created_at": at})
        with engine.begin() as conn:
            ids = conn.scalars(insert_tickets, rows).all()
            for event, ticket_id in zip(events, ids, strict=True):
                event["ticket_id"] = ticket_id
            conn.execute(events_table.insert(), events)
    with engine.begin() as conn:
        stored = conn.scalar(sa.select(sa.func.count()).select_from(tickets_table))
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql("ANALYZE")  # what autovacuum does shortly after a bulk load
    print(f"  {stored} tickets in the database ({total} bulk-inserted in "
          f"{time.perf_counter() - t0:.1f} s)", flush=True)


class Timings(list):
    """Wall-clock milliseconds per run; ``cpu`` holds this process's CPU milliseconds (on a
    loaded machine the CPU time is what a run costs; the wall time adds waiting for a core)."""

    cpu: list[float]


def timed(fn: Callable[[], object], reps: int, warm: int = 3) -> Timings:
    for _ in range(warm):
        fn()
    out = Timings()
    out.cpu = []
    for _ in range(reps):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        out.append((time.perf_counter() - t0) * 1000)
        out.cpu.append((time.process_time() - c0) * 1000)
    return out


def line(name: str, ms: list[float], extra: str = "") -> str:
    q = statistics.quantiles(ms, n=20, method="inclusive")
    p50, p95 = statistics.median(ms), q[18]
    verdict = "ok" if p50 < TARGET_MS else "MISSED"
    cpu = getattr(ms, "cpu", None)
    cpu_text = f"   (CPU p50 {statistics.median(cpu):6.1f} ms)" if cpu else ""
    return (f"  {name:<34} p50 {p50:7.1f} ms   p95 {p95:7.1f} ms   {verdict}{extra}"
            f"{cpu_text}")


def bench_database(kind: str, args: argparse.Namespace) -> list[dict]:
    from servicedesk.accounts.models import User
    from servicedesk.extensions import db
    from servicedesk.tickets.queries import QueueFilter, queue
    from tests.postgres.scratch import make_app

    results = []
    with database(kind, "queue") as url:
        print(f"== {kind}: {args.tickets} tickets ==", flush=True)
        app = make_app(url)
        try:
            build(app, args.tickets, args.seed)
            with app.app_context():
                agent = db.session.scalar(sa.select(User).where(
                    User.email == "agent@demo.test"))
                agent_id = agent.id
                cases = [("queue(view=open, sort=priority)", QueueFilter(view="open")),
                         ("queue(view=all, sort=priority)", QueueFilter(view="all")),
                         ("queue(view=mine, sort=priority)", QueueFilter(view="mine")),
                         ("queue(view=unassigned, sort=prio.)", QueueFilter(view="unassigned")),
                         ("queue(view=group, sort=priority)", QueueFilter(view="group")),
                         ("queue(view=open, sort=newest)", QueueFilter(view="open",
                                                                       sort="newest")),
                         ("queue(view=all, q='belt 7', prio.)", QueueFilter(view="all",
                                                                           q="belt 7"))]
                for name, f in cases:
                    agent = db.session.get(User, agent_id)
                    page = queue(db.session, agent, f)

                    def run(f=f):
                        db.session.expunge_all()  # a fresh request: nothing cached
                        queue(db.session, db.session.get(User, agent_id), f)

                    ms = timed(run, args.reps)
                    print(line(name, ms, f"   ({page.total} matching)"), flush=True)
                    results.append({"database": kind, "case": name, "total": page.total,
                                    "p50_ms": round(statistics.median(ms), 2), "ms": ms,
                                    "cpu_p50_ms": round(statistics.median(ms.cpu), 2)})
                    if args.explain:
                        explain(db.session, agent, f)
                db.session.remove()
            results += html_page(app, kind, agent_id, args)
        finally:
            with app.app_context():
                db.session.remove()
                db.engine.dispose()
    return results


def html_page(app, kind: str, agent_id: int, args: argparse.Namespace) -> list[dict]:
    client = app.test_client()
    with client.session_transaction() as sess:
        sess["_user_id"] = str(agent_id)
        sess["_fresh"] = True
    out = []
    for path in ("/queue", "/queue?view=all", "/queue?view=mine", "/queue?view=all&q=belt+7"):
        try:
            response = client.get(path)
        except Exception as exc:  # testing config propagates view errors: report, go on
            print(f"  GET {path}: the page failed ({type(exc).__name__}: {exc}), skipped.")
            return out
        if response.status_code != 200 or b"<table" not in response.data:
            print(f"  GET {path}: {response.status_code}, {len(response.data)} bytes and no "
                  "ticket table: the web queue is not there yet, skipped.")
            return out
        ms = timed(lambda: client.get(path), args.reps)
        print(line(f"GET {path} (HTML)", ms), flush=True)
        out.append({"database": kind, "case": f"GET {path}",
                    "p50_ms": round(statistics.median(ms), 2), "ms": ms,
                    "cpu_p50_ms": round(statistics.median(ms.cpu), 2)})
    return out


def explain(session, agent, f) -> None:
    """Print the plans of the page's two statements (count and page)."""
    from servicedesk.tickets.queries import SORTS, ticket_filter_clauses
    from servicedesk.tickets.models import Ticket

    clauses = ticket_filter_clauses(agent, f)
    statements = [sa.select(sa.func.count(Ticket.id)).where(*clauses),
                  sa.select(Ticket.id).where(*clauses).order_by(*SORTS[f.sort]).limit(25)]
    for stmt in statements:
        print_plan(session, stmt)


def print_plan(session, stmt) -> None:
    """Print the database's plan of one statement (EXPLAIN ANALYZE on PostgreSQL)."""
    dialect = session.get_bind().dialect
    prefix = "EXPLAIN QUERY PLAN " if dialect.name == "sqlite" else "EXPLAIN ANALYZE "
    sql = str(stmt.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))
    rows = session.execute(sa.text(prefix + sql)).all()
    print("      " + "\n      ".join(" | ".join(str(c) for c in row) for row in rows))


def main() -> None:
    run(__doc__, bench_database, explain_help="print query plans per case")


def run(doc: str, bench_database, *, explain_help: str) -> None:
    """The command line shared by the queue benchmarks: parse, bench each database, dump JSON."""
    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    parser.add_argument("--db", default="sqlite,postgresql",
                        help="comma-separated: sqlite, postgresql (default both)")
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--reps", type=int, default=30, help="timed repetitions per case")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--explain", action="store_true", help=explain_help)
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    args = parser.parse_args()
    results = []
    for kind in [k.strip() for k in args.db.split(",") if k.strip()]:
        results += bench_database(kind, args)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
