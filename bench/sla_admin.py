#!/usr/bin/env python
"""SLA admin benchmark: the costs the admin features add.

1. The staff banner's heartbeat lookup (``sla.heartbeat.sweep_outage``), which runs once per
   rendered staff page: p50/p95 of the lookup alone.
2. A calendar edit (``sla.admin.update_calendar``) with N running clocks on that calendar: each
   running clock's counted time is folded and its due time recomputed, in one transaction.
3. The budget list (``escalation.budgets.overview``): M months and E engagements.

Throw-away database: a temporary SQLite file (schema by create_all), or ``--db-url`` (e.g. a
scratch PostgreSQL database, whose tables are dropped afterwards). Run from the repository root:

    python bench/sla_admin.py --clocks 10000
    python bench/sla_admin.py --db-url postgresql+psycopg://postgres@127.0.0.1:5432/bench_b2
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

NOW = datetime(2026, 3, 4, 10, 0, tzinfo=timezone.utc)  # a Wednesday


def build_app(url: str):
    from servicedesk import create_app
    from servicedesk.config import TestingConfig

    class BenchConfig(TestingConfig):
        SQLALCHEMY_DATABASE_URI = url

    return create_app(BenchConfig)


def ms(values: list[float]) -> str:
    values = sorted(values)
    p95 = values[int(len(values) * 0.95) - 1]
    return f"p50 {statistics.median(values) * 1000:7.3f} ms  p95 {p95 * 1000:7.3f} ms"


def bench_banner(session, app, runs: int) -> None:
    from servicedesk.scheduler import beat
    from servicedesk.sla.heartbeat import sweep_outage

    beat(session, "sla_sweep", NOW - timedelta(minutes=5), "0 clocks")
    session.commit()
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        sweep_outage(session, now=NOW, config=app.config)
        times.append(time.perf_counter() - t0)
        session.expire_all()  # each request starts with an empty identity map
    print(f"  banner heartbeat lookup x{runs}: {ms(times)}")


def bench_calendar_edit(session, clocks: int) -> None:
    from servicedesk.accounts.models import Role, User
    from servicedesk.sla.admin import update_calendar
    from servicedesk.sla.models import Calendar, ClockKind, ClockState, SLAClock
    from servicedesk.sla.services import reschedule, working_calendar
    from servicedesk.tickets.models import Channel, Status, Ticket

    manager = User(email="m@bench.test", name="Manager", role=Role.manager,
                   is_active_account=True, timezone="UTC", password_hash="x",
                   created_at=NOW)
    cal = Calendar(name="Office", timezone="Europe/Berlin", is_builtin=False,
                   weekly={d: ["09:00-12:00", "13:00-18:00"]
                           for d in ("mon", "tue", "wed", "thu", "fri")})
    session.add_all([manager, cal])
    session.flush()
    wcal = working_calendar(cal)
    t0 = time.perf_counter()
    for i in range(clocks):
        started = NOW - timedelta(minutes=i % 2000)
        ticket = Ticket(title="t", description="d", requester_id=manager.id,
                        created_by_id=manager.id, channel=Channel.phone, impact=2, urgency=2,
                        priority=3, status=Status.in_progress, tier=1, created_at=started,
                        updated_at=started)
        clock = SLAClock(ticket=ticket, kind=ClockKind.resolution, state=ClockState.running,
                         calendar_id=cal.id, target_seconds=24 * 3600, started_at=started,
                         segment_started_at=started, elapsed_before=0.0, next_threshold=50,
                         is_cancelled=False)
        reschedule(clock, wcal)
        session.add(clock)
        if i % 2000 == 1999:
            session.flush()
    session.commit()
    print(f"  {clocks} running clocks made in {time.perf_counter() - t0:.1f} s")
    session.expire_all()
    cal = session.get(Calendar, cal.id)
    t0 = time.perf_counter()
    update_calendar(session, cal, actor=session.get(User, manager.id), name="Office",
                    timezone="Europe/Berlin", now=NOW,
                    weekly={d: ["08:00-12:00", "13:00-19:00"]
                            for d in ("mon", "tue", "wed", "thu", "fri")})
    session.commit()
    took = time.perf_counter() - t0
    print(f"  calendar edit refolding {clocks} running clocks: {took:.2f} s "
          f"({clocks / took:,.0f} clocks/s)")


def bench_budgets(session, months: int, engagements: int) -> None:
    from servicedesk.accounts.models import Role, User, Vendor
    from servicedesk.escalation.budgets import overview
    from servicedesk.escalation.models import Budget, EngagementState, VendorEngagement
    from servicedesk.tickets.models import Ticket

    vendor = Vendor(name="Acme", cost_model="fixed", rate=Decimal("100"),
                    ola_response_minutes=60, ola_fix_minutes=480, is_active=True)
    session.add(vendor)
    first = NOW.date().replace(day=1)
    for m in range(months):
        start = (first - timedelta(days=31 * m)).replace(day=1)
        end = (start + timedelta(days=32)).replace(day=1) - timedelta(days=1)
        session.add(Budget(period_start=start, period_end=end, amount=Decimal("50000")))
    session.flush()
    ticket_id = session.query(Ticket.id).first()[0]
    user_id = session.query(User.id).filter(User.role == Role.manager).first()[0]
    states = list(EngagementState)
    session.execute(VendorEngagement.__table__.insert(), [
        {"ticket_id": ticket_id, "vendor_id": vendor.id, "requested_by_id": user_id,
         "reason": "r", "estimated_cost": Decimal("100"), "actual_cost": Decimal("90"),
         "state": states[i % len(states)].name, "created_at": NOW,
         "decided_at": NOW - timedelta(days=i % (31 * months)), "send_backs": 0}
        for i in range(engagements)])
    session.commit()
    times = []
    for _ in range(20):
        t0 = time.perf_counter()
        rows = overview(session)
        times.append(time.perf_counter() - t0)
        session.expire_all()
    print(f"  budget list, {len(rows)} months over {engagements} engagements: {ms(times)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--db-url", help="database URL (default: a temporary SQLite file)")
    parser.add_argument("--clocks", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=2_000)
    parser.add_argument("--months", type=int, default=24)
    parser.add_argument("--engagements", type=int, default=20_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = args.db_url or f"sqlite:///{folder}/bench.db"
        app = build_app(url)
        from servicedesk.extensions import db

        with app.app_context():
            db.create_all()
            try:
                print(f"== {db.engine.dialect.name} ==")
                bench_banner(db.session, app, args.runs)
                bench_calendar_edit(db.session, args.clocks)
                bench_budgets(db.session, args.months, args.engagements)
            finally:
                db.session.remove()
                if args.db_url:
                    db.drop_all()
                db.engine.dispose()


if __name__ == "__main__":
    main()
