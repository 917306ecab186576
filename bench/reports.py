#!/usr/bin/env python
"""Reports benchmark: the managers' dashboard and the CSV export over 1,000,000 tickets.

For each database (a scratch SQLite file, then a scratch PostgreSQL database) it builds the
schema with the Alembic migrations (the real indexes), a small desk (groups, agents, experts,
services, categories, one business calendar) and then bulk-inserts a year of history with Core
executemany in batches: tickets (most resolved/closed, a realistic open backlog), their
response and resolution SLA clocks (met, breached with the breach instant, running, cancelled),
tier-change, escalation and reopen events for a share of them, surveys and unmet requests.

It then times, for a 30-day and a 365-day period ending now:

  * ``reports.dashboard.dashboard(...)``: every dashboard figure and the previous period's
    headline (the server-side work of the page), and
  * ``GET /reports?days=N`` through the Flask test client as a manager (figures + template),

printing the runs and the best and median. Targets: 30 days < 300 ms, 365 days < 1.5 s.
Last, in a fresh subprocess, it streams ``GET /api/v1/reports/tickets?format=csv`` for 365
days (every ticket) to /dev/null and prints rows, seconds and the process's peak RSS
(target < 200 MB, flat: the rows are never all in memory).

    python bench/reports.py                       # 1,000,000 tickets, SQLite and PostgreSQL
    python bench/reports.py --db sqlite --tickets 100000 --runs 3

The machine is shared: report the load (``uptime``) next to the figures.
"""
from __future__ import annotations

import argparse
import os
import random
import resource
import statistics
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

from _db import database  # noqa: E402

UTC = timezone.utc
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
BATCH = 10_000
TARGETS_MS = {30: 300.0, 365: 1500.0}
RSS_TARGET_MB = 200.0
#: Response and resolution targets per priority, seconds (24x7 calendar for simplicity).
TARGETS = {1: (900, 4 * 3600), 2: (1800, 8 * 3600), 3: (3600, 24 * 3600), 4: (4 * 3600, 72 * 3600)}



def _desk(conn, md) -> dict:
    """Groups, people, services, categories and the 24x7 calendar; returns their ids."""
    t = md.tables
    conn.execute(t["calendars"].insert(), [{"id": 1, "name": "24x7", "timezone": "UTC",
                                            "weekly": {d: ["00:00-24:00"] for d in
                                                       ("mon", "tue", "wed", "thu", "fri",
                                                        "sat", "sun")},
                                            "is_builtin": True}])
    users = [{"id": 1, "email": "manager@bench.test", "name": "Manager", "role": "manager",
              "is_active_account": True, "timezone": "UTC", "created_at": NOW}]
    for i in range(2, 22):
        users.append({"id": i, "email": f"agent{i}@bench.test", "name": f"Agent {i}",
                      "role": "agent", "is_active_account": True, "timezone": "UTC",
                      "created_at": NOW})
    for i in range(22, 37):
        users.append({"id": i, "email": f"expert{i}@bench.test", "name": f"Expert {i}",
                      "role": "expert", "is_active_account": True, "timezone": "UTC",
                      "created_at": NOW})
    for i in range(100, 1100):
        users.append({"id": i, "email": f"caller{i}@bench.test", "name": f"Caller {i}",
                      "role": "requester", "is_active_account": True, "timezone": "UTC",
                      "created_at": NOW})
    conn.execute(t["users"].insert(), users)
    groups = [{"id": 1, "name": "Service desk", "tier": 1, "description": "", "manager_id": 1}]
    groups += [{"id": g, "name": f"Experts {g}", "tier": 2, "description": "", "manager_id": 1}
               for g in (2, 3, 4)]
    conn.execute(t["groups"].insert(), groups)
    members = [{"group_id": 1, "user_id": u} for u in range(2, 22)]
    members += [{"group_id": 2 + (u - 22) % 3, "user_id": u} for u in range(22, 37)]
    conn.execute(t["group_members"].insert(), members)
    services = [{"id": s, "name": f"Service {s}", "description": "", "criticality": 2,
                 "is_active": True} for s in range(1, 21)]
    cols = set(t["services"].c.keys())
    conn.execute(t["services"].insert(), [{k: v for k, v in s.items() if k in cols}
                                         for s in services])
    cats = [{"id": c, "name": f"Category {c}", "is_active": True} for c in range(1, 9)]
    cols = set(t["categories"].c.keys())
    conn.execute(t["categories"].insert(), [{k: v for k, v in c.items() if k in cols}
                                           for c in cats])
    return {"agents": list(range(2, 22)), "experts": {g: [u for u in range(22, 37)
                                                          if 2 + (u - 22) % 3 == g]
                                                      for g in (2, 3, 4)}}


def _rows(total: int, desk: dict, rng: random.Random):
    """Yield (ticket, [clocks], [events], survey|None, unmet|None) for ``total`` tickets."""
    span = 365 * 86400
    channels = ("phone", "email", "web", "api", "monitoring")
    for tid in range(1, total + 1):
        created = NOW - timedelta(seconds=span * (1 - tid / total) + rng.random() * 60)
        prio = rng.choices((1, 2, 3, 4), (3, 17, 50, 30))[0]
        resp_t, res_t = TARGETS[prio]
        age = (NOW - created).total_seconds()
        escalated = rng.random() < 0.25
        group = rng.choice((2, 3, 4)) if escalated else 1
        tier = 2 if escalated else 1
        assignee = rng.choice(desk["experts"][group]) if escalated else rng.choice(desk["agents"])
        cancelled = rng.random() < 0.03
        # about 3 % still open (mostly young tickets)
        is_open = not cancelled and (age < 3 * 86400 and rng.random() < 0.5
                                     or rng.random() < 0.01)
        respond = rng.expovariate(1 / (resp_t * 0.6))
        resolve = max(respond, rng.expovariate(1 / (res_t * 0.55)))
        if is_open or cancelled:
            resolve = None
        if respond > age:
            respond = None
        status = ("cancelled" if cancelled else
                  rng.choice(("new", "assigned", "in_progress", "pending_customer"))
                  if is_open else rng.choices(("closed", "resolved"), (9, 1))[0])
        resolved_at = created + timedelta(seconds=resolve) if resolve is not None else None
        if resolved_at is not None and resolved_at > NOW:
            resolved_at, resolve, status = None, None, "in_progress"
        fcr = resolved_at is not None and not escalated and rng.random() < 0.6
        ticket = {
            "id": tid, "title": f"Bench ticket {tid}", "description": "Generated.",
            "requester_id": 100 + tid % 1000, "created_by_id": desk["agents"][tid % 20],
            "channel": channels[tid % 5], "service_id": 1 + tid % 20,
            "category_id": 1 + (tid // 7) % 8, "impact": 2, "urgency": 2, "priority": prio,
            "status": status, "group_id": group, "assignee_id": assignee, "tier": tier,
            "is_first_contact_resolution": fcr, "created_at": created, "updated_at": created,
            "responded_at": created + timedelta(seconds=respond) if respond is not None
            else None,
            "resolved_at": resolved_at,
            "closed_at": resolved_at + timedelta(days=2) if status == "closed" else None,
            "version": 1}
        clocks = [_clock(tid, "response", created, resp_t, respond, cancelled),
                  _clock(tid, "resolution", created, res_t, resolve, cancelled)]
        events = []
        if escalated:
            at = created + timedelta(seconds=min(600, age / 2))
            events.append(_event(tid, "field_changed", "tier", "1", "2", at))
            events.append(_event(tid, "escalated", "group", None, f"Experts {group}", at))
        if resolved_at is not None and rng.random() < 0.04:
            events.append(_event(tid, "status_changed", "status", "resolved", "in_progress",
                                 resolved_at, public=True))
        survey = None
        if resolved_at is not None and rng.random() < 0.3:
            answered = rng.random() < 0.4
            survey = {"ticket_id": tid, "requester_id": 100 + tid % 1000,
                      "token_hash": f"{tid:064x}", "created_at": resolved_at,
                      "expires_at": resolved_at + timedelta(days=14),
                      "score": rng.choices((1, 2, 3, 4, 5), (5, 8, 17, 35, 35))[0]
                      if answered else None,
                      "comment": None,
                      "answered_at": resolved_at + timedelta(hours=3) if answered else None}
        unmet = None
        if tid % 50 == 0:
            unmet = {"category": rng.choice(("not_offered", "information", "hours_or_channel",
                                              "other_provider", "other")),
                     "description": "Asked for something else", "ticket_id": None,
                     "recorded_by_id": desk["agents"][tid % 20], "created_at": created}
        yield ticket, clocks, events, survey, unmet


def _event(tid, kind, field, old, new, at, public=False) -> dict:
    return {"ticket_id": tid, "actor_id": None, "kind": kind, "field": field, "old_value": old,
            "new_value": new, "body": None, "is_public": public, "created_at": at}


def _clock(tid, kind, created, target, done_after, cancelled) -> dict:
    age = (NOW - created).total_seconds()
    row = {"ticket_id": tid, "kind": kind, "calendar_id": 1, "target_seconds": target,
           "started_at": created, "is_cancelled": False, "next_threshold": None,
           "next_check_at": None, "segment_started_at": None, "due_at": None,
           "stopped_at": None, "breached_at": None, "elapsed_before": 0.0}
    due = created + timedelta(seconds=target)
    if cancelled:
        row.update(state="stopped", stopped_at=created + timedelta(seconds=600),
                   elapsed_before=600.0, is_cancelled=600 < target)
        if not row["is_cancelled"]:
            row["breached_at"] = due
    elif done_after is None:
        row.update(state="running", segment_started_at=created, due_at=due,
                   breached_at=due if age > target else None,
                   next_check_at=None if age > target else due, next_threshold=None
                   if age > target else 100)
    else:
        row.update(state="stopped", stopped_at=created + timedelta(seconds=done_after),
                   elapsed_before=float(round(done_after)),
                   breached_at=due if done_after >= target else None)
    return row


def build(app, total: int, seed: int) -> None:
    from flask_migrate import upgrade

    from servicedesk.extensions import db
    from servicedesk.reports import rollups

    rng = random.Random(seed)
    with app.app_context():
        upgrade()
        md = db.metadata
        t = md.tables
        started = time.perf_counter()
        with db.engine.begin() as conn:
            desk = _desk(conn, md)
            # As on an install upgraded to a1b2c3d4e505: the history is there before the
            # rollup triggers; the rollup is then rebuilt from it (timed below).
            for statement in rollups.drop_statements(db.engine.dialect.name):
                conn.exec_driver_sql(statement)
        buf = {"tickets": [], "sla_clocks": [], "ticket_events": [], "surveys": [],
               "unmet_requests": []}

        def flush(conn):
            for name in buf:  # parents first: dict order is tickets, clocks, events, ...
                if buf[name]:
                    conn.execute(t[name].insert(), buf[name])
                    buf[name].clear()

        with db.engine.begin() as conn:
            for i, (ticket, clocks, events, survey, unmet) in enumerate(_rows(total, desk, rng),
                                                                        1):
                buf["tickets"].append(ticket)
                buf["sla_clocks"].extend(clocks)
                buf["ticket_events"].extend(events)
                if survey:
                    buf["surveys"].append(survey)
                if unmet:
                    buf["unmet_requests"].append(unmet)
                if i % BATCH == 0:
                    flush(conn)
                    if i % (BATCH * 10) == 0:
                        print(f"    {i:,} tickets ({time.perf_counter() - started:.0f} s)",
                              flush=True)
            flush(conn)
        print(f"  loaded {total:,} tickets in {time.perf_counter() - started:.0f} s", flush=True)
        rebuilt = time.perf_counter()
        with db.engine.begin() as conn:
            rows = rollups.rebuild(conn)
            rollups.create_triggers(conn)
        print(f"  rollup rebuild: {rows:,} rows in {time.perf_counter() - rebuilt:.1f} s",
              flush=True)
        if db.engine.dialect.name == "postgresql":
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(sa.text("VACUUM ANALYZE"))
        else:
            with db.engine.begin() as conn:
                conn.execute(sa.text("ANALYZE"))
        print(f"  built {total:,} tickets in {time.perf_counter() - started:.0f} s", flush=True)


def _built(app) -> bool:
    from servicedesk.extensions import db

    with app.app_context():
        if "tickets" not in sa.inspect(db.engine).get_table_names():
            return False
        count = db.session.scalar(sa.text("SELECT count(*) FROM tickets"))
        db.session.rollback()
    print(f"  reusing {count:,} tickets", flush=True)
    return bool(count)


def time_dashboard(app, days: int, runs: int) -> tuple[list[float], list[float]]:
    from servicedesk.extensions import db
    from servicedesk.reports.dashboard import dashboard
    from servicedesk.reports.queries import Period

    figures, pages = [], []
    with app.app_context():
        period = Period.last_days(NOW, days)
        for _ in range(runs):
            start = time.perf_counter()
            dashboard(db.session, period, NOW)
            figures.append((time.perf_counter() - start) * 1000)
            db.session.rollback()
        print(f"  dashboard {days:>3} d figures: {', '.join(f'{x:.0f}' for x in figures)} ms",
              flush=True)
    client = app.test_client()
    with client.session_transaction() as sess:
        sess["_user_id"] = "1"
        sess["_fresh"] = True
    for _ in range(runs):
        start = time.perf_counter()
        resp = client.get(f"/reports?days={days}")
        pages.append((time.perf_counter() - start) * 1000)
        assert resp.status_code == 200, resp.status_code
    return figures, pages


def export_child(url: str) -> None:
    """In a fresh process: stream the 365-day ticket CSV, print rows, seconds, peak RSS."""
    from tests.postgres.scratch import make_app

    from servicedesk.clock import FrozenClock

    app = make_app(url, SERVER_NAME="localhost")
    app.extensions["clock"] = FrozenClock(NOW)
    client = app.test_client()
    with client.session_transaction() as sess:
        sess["_user_id"] = "1"
        sess["_fresh"] = True
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    start = time.perf_counter()
    resp = client.get("/api/v1/reports/tickets?days=365&format=csv", buffered=False)
    lines = size = 0
    for chunk in resp.response:
        size += len(chunk)
        lines += chunk.count(b"\n") if isinstance(chunk, bytes) else chunk.count("\n")
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"EXPORT rows={lines - 1} bytes={size} seconds={seconds:.1f} "
          f"rss_before_mb={base:.0f} peak_rss_mb={peak:.0f}")


def bench(kind: str, args) -> None:
    from servicedesk.clock import FrozenClock
    from tests.postgres.scratch import make_app

    with database(kind, "reports", keep=args.keep) as url:
        print(f"== {kind}: {args.tickets:,} tickets ==", flush=True)
        app = make_app(url, SERVER_NAME="localhost")
        app.extensions["clock"] = FrozenClock(NOW)
        if not _built(app):
            build(app, args.tickets, args.seed)
        for days in (30, 365):
            figures, pages = time_dashboard(app, days, args.runs)
            target = TARGETS_MS[days]
            best = min(figures)
            print(f"  dashboard {days:>3} d: figures best {best:7.0f} ms, median "
                  f"{statistics.median(figures):7.0f} ms; page best {min(pages):7.0f} ms "
                  f"(runs {', '.join(f'{x:.0f}' for x in figures)}) target {target:.0f} ms "
                  f"{'MET' if best < target else 'MISSED'}", flush=True)
        with app.app_context():
            from servicedesk.extensions import db
            db.engine.dispose()
        out = subprocess.run([sys.executable, __file__, "--export-child", url],
                             capture_output=True, text=True, env={**os.environ})
        line = next((x for x in out.stdout.splitlines() if x.startswith("EXPORT")),
                    out.stdout[-500:] + out.stderr[-2000:])
        print(f"  csv export 365 d: {line}", flush=True)
        if line.startswith("EXPORT"):
            peak = float(line.rsplit("peak_rss_mb=", 1)[1])
            print(f"  csv peak RSS {peak:.0f} MB target {RSS_TARGET_MB:.0f} MB "
                  f"{'MET' if peak < RSS_TARGET_MB else 'MISSED'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--keep", metavar="URL",
                        help="use (and keep) this database; build it only if it is empty")
    parser.add_argument("--export-child", metavar="URL", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.export_child:
        export_child(args.export_child)
        return
    print(f"load: {os.getloadavg()[0]:.1f} {os.getloadavg()[1]:.1f} "
          f"{os.getloadavg()[2]:.1f} on {os.cpu_count()} CPUs", flush=True)
    for kind in (("sqlite", "postgresql") if args.db == "both" else (args.db,)):
        bench(kind, args)


if __name__ == "__main__":
    main()
