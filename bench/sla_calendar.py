"""Micro-benchmark of the business-time arithmetic (servicedesk/sla/calendar.py).

Run: ``python bench/sla_calendar.py [--n 20000]``. Prints the mean time per call of
add_business_time for a 5-business-day target, business_seconds_between over 30 days and over
one year, and add_business_time for one business year, on a Berlin calendar with two intervals
a day and German (Berlin) public holidays, from start instants spread over 2026-2027 with
arbitrary seconds. Timings are warm (time-zone transitions are cached per zone and year after
the first call), which is the steady state of an SLA sweep.
"""
from __future__ import annotations

import argparse
import random
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from servicedesk.sla.calendar import (  # noqa: E402
    WorkingCalendar, add_business_time, business_seconds_between, holidays_for,
)

BUSINESS_DAY = 8 * 3600


def berlin_calendar() -> WorkingCalendar:
    weekdays = {day: ["09:00-12:00", "13:00-18:00"] for day in ("mon", "tue", "wed", "thu",
                                                                  "fri")}
    return WorkingCalendar.from_spec("Europe/Berlin", weekdays,
                                     holidays_for("DE", range(2026, 2030), subdiv="BE"))


def mean_us(fn, args: list) -> float:
    started = time.perf_counter()
    for a in args:
        fn(*a)
    return (time.perf_counter() - started) / len(args) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20000, help="calls per measurement")
    parser.add_argument("--seed", type=int, default=1)
    options = parser.parse_args()
    n = options.n
    rng = random.Random(options.seed)
    cal = berlin_calendar()
    origin = datetime(2026, 1, 1, tzinfo=timezone.utc)
    starts = [origin + timedelta(seconds=rng.randrange(2 * 365 * 86400)) for _ in range(n)]
    # warm the per-(zone, year) transition cache, as a long-running sweeper would be
    business_seconds_between(cal, origin, origin + timedelta(days=5 * 366))

    rows = [
        ("add_business_time, 5 business days (40 h)", add_business_time,
         [(cal, s, 5 * BUSINESS_DAY) for s in starts]),
        ("business_seconds_between, 30 days", business_seconds_between,
         [(cal, s, s + timedelta(days=30)) for s in starts]),
        ("business_seconds_between, 365 days", business_seconds_between,
         [(cal, s, s + timedelta(days=365)) for s in starts]),
        ("add_business_time, 250 business days", add_business_time,
         [(cal, s, 250 * BUSINESS_DAY) for s in starts]),
    ]
    print(f"Europe/Berlin, mon-fri 09:00-12:00 + 13:00-18:00, {len(cal.holidays)} holidays; "
          f"{n} calls each, Python {sys.version.split()[0]}")
    for label, fn, args in rows:
        print(f"  {label:<44} {mean_us(fn, args):8.1f} us/call")


if __name__ == "__main__":
    main()
