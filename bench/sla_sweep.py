#!/usr/bin/env python
"""SLA sweep benchmark: 100,000 and 1,000,000 open tickets (running clocks) in the database.

For each database (a temporary SQLite file, a scratch PostgreSQL database on the server the
tests use) and each size it builds the schema with the Alembic migrations (the real indexes),
seeds the default calendars and P1-P4 policies (``seed_defaults``, business hours in
Europe/Berlin) and a desk / expert group / service, then bulk-inserts the open tickets (in
progress, tier 1), one stopped response clock, one running resolution clock and one "created"
event each (sqlite3 ``executemany`` / PostgreSQL ``COPY``, never the ORM per row). Each
resolution clock's stored times are computed with the real business-time arithmetic, so
whatever threshold it would cross next lies in the future: at ``NOW`` nothing is due. Then

  (a) nothing due: ``sweep(session, NOW, commit=session.commit)``, the scheduler job's call,
      ``--reps`` times; p50/p95 (target < 20 ms at 1,000,000 clocks), the due-clock query
      alone, and its plan (it must be a probe of the partial index on ``next_check_at``);
  (b) a sweep at the instant the ``--due``-th next check falls: the first ``--due`` due clocks
      (default 10,000; more may fall due at that same instant, e.g. everything logged
      overnight reaches 50 % at the same business minute) go through the sweep's own batch
      loop, one commit per batch of 500: warnings, expert reassignments, breaches with manager
      notices and vendor proposals, by the default rules. Prints rule actions/s (target
      >= 2,000/s) and threshold crossings/s, wall and per CPU-second, and checks each crossing
      was recorded once. An action is one rule action that acted (``apply_rules``): a notice
      to at least one person, a reassignment, a manager escalation or a vendor proposal; the
      SLA history event every crossing writes is not counted as an action.

Run from the repository root with the project's virtualenv:

    python bench/sla_sweep.py                                  # both DBs, 100k and 1M
    python bench/sla_sweep.py --db sqlite --sizes 100000 --reps 100
    python bench/sla_sweep.py --json bench/out/sla_sweep.json

See bench/README.md.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

from _db import clone, database, is_empty  # noqa: E402

#: Wednesday 11:00 in Berlin: inside business hours.
NOW = datetime(2026, 3, 4, 10, 0, tzinfo=timezone.utc)
TARGET_IDLE_MS = 20.0
TARGET_ACTIONS_PER_S = 2000.0
CHUNK = 50_000
#: Share of open tickets per priority.
PRIORITY_MIX = ((1, 3), (2, 17), (3, 50), (4, 30))
#: Mean age of an open ticket (minutes); ages are capped at two weeks.
MEAN_AGE_MIN, MAX_AGE_MIN = 36 * 60, 14 * 24 * 60



# --- building the data ---------------------------------------------------------------------

def seed_desk(session) -> dict:
    """Policies, calendars, people, groups and a service through the real services."""
    from servicedesk.accounts import services as accounts
    from servicedesk.accounts.models import Role
    from servicedesk.catalog import services as catalog
    from servicedesk.sla import services as sla
    from servicedesk.sla.defaults import seed_defaults

    policies = seed_defaults(session, timezone="Europe/Berlin")

    def user(email: str, role: Role):
        return accounts.create_user(session, email=email, name=email.split("@")[0].title(),
                                    role=role, now=NOW)

    manager = user("manager@bench.test", Role.manager)
    agent = user("agent@bench.test", Role.agent)
    dispatcher = user("dispatcher@bench.test", Role.agent)
    expert = user("expert@bench.test", Role.expert)
    requester = user("caller@bench.test", Role.requester)
    desk = accounts.create_group(session, name="Bench desk", tier=1, dispatcher=dispatcher,
                                 manager=manager, members=[agent, dispatcher])
    experts = accounts.create_group(session, name="Bench experts", tier=2, dispatcher=expert,
                                    manager=manager, members=[expert])
    service = catalog.create_service(session, name="Baggage handling", expert_group=experts)
    session.flush()
    cache = sla.CalendarCache(session)
    return {"agent": agent.id, "requester": requester.id, "desk": desk.id,
            "service": service.id,
            "policies": {p.priority: (p.id, p.calendar_id, p.resolution_minutes * 60,
                                      p.response_minutes * 60, cache.get(p.calendar_id))
                         for p in policies}}


def _plan(cal, created: datetime, target: int) -> tuple:
    """(elapsed now, next threshold, next check, due, breached at) of a resolution clock."""
    from servicedesk.sla.calendar import add_business_time, business_seconds_between

    elapsed = business_seconds_between(cal, created, NOW)
    due = add_business_time(cal, created, target)
    for threshold in (50, 75, 100):
        if elapsed < target * threshold / 100:
            at = due if threshold == 100 else add_business_time(cal, created,
                                                                target * threshold / 100)
            return elapsed, threshold, at, due, None
    return elapsed, None, None, due, due


TICKET_COLUMNS = ("id", "title", "description", "requester_id", "created_by_id", "channel",
                  "service_id", "impact", "urgency", "priority", "status", "group_id",
                  "assignee_id", "tier", "is_first_contact_resolution", "created_at",
                  "updated_at", "responded_at", "version")
CLOCK_COLUMNS = ("id", "ticket_id", "policy_id", "calendar_id", "kind", "state",
                 "target_seconds", "started_at", "segment_started_at", "elapsed_before",
                 "due_at", "next_check_at", "next_threshold", "stopped_at", "breached_at",
                 "is_cancelled")
EVENT_COLUMNS = ("id", "ticket_id", "actor_id", "kind", "body", "is_public", "created_at")
PRIORITY_IMPACT_URGENCY = {1: (1, 1), 2: (1, 2), 3: (2, 2), 4: (3, 3)}


def ages(size: int, rng: random.Random, scatter: bool) -> list[int]:
    """Each ticket's age in minutes, by ticket number: oldest first, as a desk numbers its
    tickets in the order they are logged (``scatter``: in random order, the old generator's
    worst case for page locality, where the clocks falling due together lie on as many
    pages as there are clocks)."""
    drawn = [min(int(rng.expovariate(1 / MEAN_AGE_MIN)), MAX_AGE_MIN) for _ in range(size)]
    return drawn if scatter else sorted(drawn, reverse=True)


def generate(desk: dict, start: int, stop: int, rng: random.Random, plan, age_of: list[int]):
    """Rows for tickets ``start+1 .. stop``: (tickets, clocks, events) as tuples."""
    priorities, weights = zip(*PRIORITY_MIX)
    tickets, clocks, events = [], [], []
    for n in range(start, stop):
        tid = n + 1
        priority = rng.choices(priorities, weights)[0]
        age = age_of[n]
        created = NOW - timedelta(minutes=age + 10)
        responded = created + timedelta(minutes=5)
        impact, urgency = PRIORITY_IMPACT_URGENCY[priority]
        tickets.append((tid, f"Belt {n % 40 + 1} motor tripped at gate B{n % 30}",
                        "Generated by bench/sla_sweep.py: the belt stopped with bags on it.",
                        desk["requester"], desk["agent"], "monitoring", desk["service"], impact,
                        urgency, priority, "in_progress", desk["desk"], desk["agent"], 1, False,
                        created, responded, responded, 1))
        policy_id, calendar_id, resolution, response, _ = desk["policies"][priority]
        elapsed, threshold, check, due, breached = plan(priority, created)
        clocks.append((2 * n + 1, tid, policy_id, calendar_id, "response", "stopped", response,
                       created, None, 300.0, None, None, None, responded, None, False))
        clocks.append((2 * n + 2, tid, policy_id, calendar_id, "resolution", "running",
                       resolution, created, created, 0.0, due, check, threshold, None, breached,
                       False))
        events.append((tid, tid, desk["agent"], "created", "Logged in bulk", True, created))
    return tickets, clocks, events


def _plan_for(desk: dict):
    def plan(priority: int, created: datetime) -> tuple:
        _, _, resolution, _, cal = desk["policies"][priority]
        return _plan(cal, created, resolution)
    return plan


def _sqlite_value(value):
    if isinstance(value, datetime):
        return f"{value.astimezone(timezone.utc):%Y-%m-%d %H:%M:%S.%f}"
    return value


def bulk_insert(engine, table: str, columns: tuple, rows: list) -> None:
    """executemany on SQLite, COPY on PostgreSQL, on the driver's connection."""
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        if engine.dialect.name == "sqlite":
            marks = ", ".join("?" * len(columns))
            cursor.execute("BEGIN")
            cursor.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})",
                               [tuple(_sqlite_value(v) for v in row) for row in rows])
        else:
            with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        raw.commit()
    finally:
        raw.close()


def build(app, size: int, seed: int, scatter: bool = False) -> None:
    from flask_migrate import upgrade

    from servicedesk.db import transaction
    from servicedesk.extensions import db
    from servicedesk.reports import rollups

    with app.app_context():
        upgrade()
        with transaction(db.session):
            desk = seed_desk(db.session())
        engine = db.engine
        db.session.remove()
        with engine.begin() as conn:  # as on an install upgraded with its history in place
            for statement in rollups.drop_statements(engine.dialect.name):
                conn.exec_driver_sql(statement)
    rng = random.Random(seed)
    age_of = ages(size, random.Random(seed + 1), scatter)
    plan = lru_cache(maxsize=None)(_plan_for(desk))  # creation times are whole minutes
    t0 = time.perf_counter()
    generated = 0.0
    for start in range(0, size, CHUNK):
        g0 = time.perf_counter()
        tickets, clocks, events = generate(desk, start, min(start + CHUNK, size), rng, plan,
                                           age_of)
        generated += time.perf_counter() - g0
        bulk_insert(engine, "tickets", TICKET_COLUMNS, tickets)
        bulk_insert(engine, "sla_clocks", CLOCK_COLUMNS, clocks)
        bulk_insert(engine, "ticket_events", EVENT_COLUMNS, events)
    r0 = time.perf_counter()
    with engine.begin() as conn:  # the reports' rollups, then their triggers, which the
        rollups.rebuild(conn)     # sweep's writes maintain like any other change
        rollups.create_triggers(conn)
    rebuilt = time.perf_counter() - r0
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            for table in ("tickets", "sla_clocks", "ticket_events"):
                conn.exec_driver_sql(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                     f"(SELECT max(id) FROM {table}))")
            conn.exec_driver_sql("ANALYZE")  # what autovacuum does shortly after a bulk load
        running = conn.scalar(sa.text("SELECT count(*) FROM sla_clocks WHERE state = 'running'"))
        checks = conn.scalar(sa.text("SELECT count(*) FROM sla_clocks "
                                     "WHERE next_check_at IS NOT NULL"))
    print(f"  {size} open tickets, {running} running clocks ({checks} with a next check) "
          f"bulk-loaded in {time.perf_counter() - t0:.1f} s ({generated:.1f} s of it computing "
          f"due times, {rebuilt:.1f} s rebuilding the report rollups)", flush=True)


# --- measuring ---------------------------------------------------------------------------

def explain(session, now: datetime) -> str:
    from servicedesk.sla.sweep import due_clocks_statement

    dialect = session.get_bind().dialect
    sql = str(due_clocks_statement(session, now).compile(
        dialect=dialect, compile_kwargs={"literal_binds": True}))
    prefix = "EXPLAIN QUERY PLAN " if dialect.name == "sqlite" else "EXPLAIN ANALYZE "
    rows = session.execute(sa.text(prefix + sql)).all()
    session.rollback()
    return "\n".join(" | ".join(str(c) for c in row) for row in rows)


def backend_cpu(session) -> float | None:
    """CPU seconds used so far by this session's PostgreSQL backend process, when the server
    runs on this machine (read from /proc); None otherwise (SQLite runs in-process)."""
    if session.get_bind().dialect.name != "postgresql":
        return None
    pid = session.scalar(sa.text("SELECT pg_backend_pid()"))
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def quantiles(ms: list[float]) -> tuple[float, float]:
    q = statistics.quantiles(ms, n=20, method="inclusive")
    return statistics.median(ms), q[18]


def bench_size(kind: str, size: int, args) -> list[dict]:
    """Build a database of ``size`` open tickets and time it: once on a fresh database, or,
    with ``--keep URL``, build into URL only if it is empty and time ``--runs`` copies of it."""
    from servicedesk.extensions import db
    from tests.postgres.scratch import make_app

    print(f"== {kind}: {size:,} open tickets ==", flush=True)
    with database(kind, "sweep", keep=args.keep) as url:
        if not args.keep or is_empty(url, "tickets"):
            app = make_app(url)
            try:
                build(app, size, args.seed, args.scatter)
            finally:
                with app.app_context():
                    db.session.remove()
                    db.engine.dispose()
        if not args.keep:
            return [measure(kind, size, url, args)]
        results = []
        for run in range(args.runs):
            with clone(url, "sweep") as copy:
                print(f"  run {run + 1} of {args.runs}, on a copy of {url}", flush=True)
                results.append(measure(kind, size, copy, args))
        return results


def measure(kind: str, size: int, url: str, args) -> dict:
    """(a) and (b) on the built database at ``url`` (which (b) changes)."""
    from servicedesk.extensions import db
    from servicedesk.sla.models import ClockFiring, SLAClock
    from servicedesk.sla.sweep import BATCH, SweepResult, due_clock_ids, sweep, sweep_batch
    from tests.postgres.scratch import make_app

    app = make_app(url)
    try:
        with app.app_context():
            session = db.session()  # the Session itself, as a job sees it
            plan = explain(session, NOW)
            print("  due-clock query plan:\n    " + plan.replace("\n", "\n    "))
            for _ in range(5):  # warm-up
                sweep(session, NOW, commit=session.commit)
            idle = []
            for _ in range(args.reps):
                t0 = time.perf_counter()
                result = sweep(session, NOW, commit=session.commit)
                idle.append((time.perf_counter() - t0) * 1000)
                assert result.firings == 0, result
            probe = []  # the due-clock query alone, inside an open transaction
            session.execute(sa.text("SELECT 1"))
            for _ in range(args.reps):
                t0 = time.perf_counter()
                due_clock_ids(session, NOW)
                probe.append((time.perf_counter() - t0) * 1000)
            session.rollback()
            p50, p95 = quantiles(idle)
            q50, q95 = quantiles(probe)
            ok = "ok" if p50 < TARGET_IDLE_MS else "MISSED"
            print(f"  (a) nothing due, {args.reps} sweeps: p50 {p50:.2f} ms, p95 {p95:.2f} ms"
                  f" (target p50 < {TARGET_IDLE_MS:.0f} ms) {ok}; the query alone: p50 "
                  f"{q50:.2f} ms, p95 {q95:.2f} ms; load average {os.getloadavg()[0]:.1f} "
                  f"on {os.cpu_count()} CPUs", flush=True)

            later = session.scalar(
                sa.select(SLAClock.next_check_at).where(SLAClock.next_check_at.is_not(None))
                .order_by(SLAClock.next_check_at).offset(args.due - 1).limit(1))
            due = session.scalar(sa.select(sa.func.count(SLAClock.id)).where(
                SLAClock.next_check_at <= later))
            server0 = backend_cpu(session)
            session.rollback()
            load0 = os.getloadavg()[0]
            t0, cpu0 = time.perf_counter(), time.process_time()
            result = SweepResult()
            while result.clocks < args.due:  # sweep()'s loop, stopped after --due clocks
                batch = sweep_batch(session, later, limit=min(BATCH, args.due - result.clocks))
                session.commit()
                if not batch.clocks:
                    break
                result += batch
            seconds, cpu = time.perf_counter() - t0, time.process_time() - cpu0
            server = backend_cpu(session)
            if server is not None and server0 is not None:
                server -= server0
            load1 = os.getloadavg()[0]
            stored = session.scalar(sa.select(sa.func.count(ClockFiring.id)))
            session.rollback()
            per_s, actions_s = result.firings / seconds, result.actions / seconds
            busy = cpu + (server or 0.0)
            ok = "ok" if actions_s >= TARGET_ACTIONS_PER_S else "MISSED"
            print(f"  (b) {due:,} clocks due at {later:%Y-%m-%d %H:%M:%S} UTC; the first "
                  f"{result.clocks:,} swept in {seconds:.2f} s wall:", flush=True)
            print(f"      rule actions executed: {result.actions:,} = {actions_s:,.0f} "
                  f"actions/s wall (target >= {TARGET_ACTIONS_PER_S:,.0f}/s) {ok}; "
                  f"{result.actions / busy:,.0f} per CPU-second", flush=True)
            print(f"      threshold crossings:   {result.firings:,} = {per_s:,.0f} "
                  f"crossings/s wall; {result.firings / busy:,.0f} per CPU-second",
                  flush=True)
            print(f"      CPU: {cpu:.2f} s in this process"
                  + (f" + {server:.2f} s in the PostgreSQL backend" if server else "")
                  + f"; load average {load0:.1f} -> {load1:.1f} on {os.cpu_count()} CPUs",
                  flush=True)
            print(f"      batches of {BATCH} clocks (one commit each); firings stored "
                  f"{stored:,} (= crossings: {'yes' if stored == result.firings else 'NO'})",
                  flush=True)
            db.session.remove()
            return {"database": kind, "size": size, "idle_p50_ms": round(p50, 3),
                    "idle_p95_ms": round(p95, 3), "probe_p50_ms": round(q50, 3),
                    "probe_p95_ms": round(q95, 3), "idle_ms": idle, "due_clocks": due,
                    "crossings": result.firings, "actions": result.actions,
                    "due_sweep_s": round(seconds, 3), "client_cpu_s": round(cpu, 3),
                    "server_cpu_s": None if server is None else round(server, 3),
                    "crossings_per_cpu_s": round(result.firings / busy, 1),
                    "actions_per_cpu_s": round(result.actions / busy, 1),
                    "load_average": [load0, load1],
                    "crossings_per_s": round(per_s, 1), "actions_per_s": round(actions_s, 1),
                    "plan": plan}
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", default="both", choices=("sqlite", "postgresql", "both"))
    parser.add_argument("--sizes", default="100000,1000000",
                        help="comma-separated numbers of open tickets (default 100000,1000000)")
    parser.add_argument("--due", type=int, default=10_000, help="clocks crossing in sweep (b)")
    parser.add_argument("--reps", type=int, default=200, help="nothing-due sweeps timed")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    parser.add_argument("--keep", metavar="URL",
                        help="build into this database only if it is empty, keep it, and time "
                             "--runs copies of it (one --db, one size)")
    parser.add_argument("--runs", type=int, default=1, help="copies timed with --keep")
    parser.add_argument("--scatter", action="store_true",
                        help="number tickets in random order of creation (worst locality)")
    args = parser.parse_args()
    kinds = ("sqlite", "postgresql") if args.db == "both" else (args.db,)
    sizes = [int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()]
    if args.keep and (len(kinds) != 1 or len(sizes) != 1):
        parser.error("--keep takes one --db and one size in --sizes")
    results = [r for kind in kinds for size in sizes for r in bench_size(kind, size, args)]
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
