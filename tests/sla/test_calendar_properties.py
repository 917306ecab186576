"""Property-based tests of the business-time arithmetic, including a brute-force reference.

Calendars are random: zones with ordinary, half-hour (Lord Howe), midnight (Havana, Santiago)
or no DST changes and odd offsets (Kathmandu +05:45); several intervals a day on the
quarter-hour grid; random holidays. The reference walks 15-minute slots and asks zoneinfo for
each slot's wall-clock reading, which is exact because every interval boundary, offset and
transition in these zones is on the quarter-hour grid.
"""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from hypothesis import assume, given, settings, strategies as st

from servicedesk.sla.calendar import (
    WorkingCalendar, add_business_time, business_seconds_between, business_seconds_excluding,
    is_business_time, next_business_instant,
)

UTC = timezone.utc
US = timedelta(microseconds=1)
QUARTER = timedelta(minutes=15)
ZONES = ["UTC", "Europe/Berlin", "America/New_York", "Asia/Shanghai", "Australia/Lord_Howe",
         "Asia/Kathmandu", "America/Havana", "America/Santiago"]
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
ORIGIN = datetime(2026, 1, 1, tzinfo=UTC)
GRID_SLOTS = 2 * 366 * 96          # quarter hours in 2026-2027

props = settings(max_examples=200, deadline=None, database=None)


def micro(seconds: int | float) -> int:
    """Seconds as integer microseconds, so sums are compared exactly."""
    return round(seconds * 10**6)


def _clock(quarter: int) -> str:
    return f"{quarter // 4:02d}:{quarter % 4 * 15:02d}"


@st.composite
def calendars(draw) -> WorkingCalendar:
    weekly = {}
    for day in DAYS:
        points = sorted(draw(st.sets(st.integers(0, 96), max_size=6)))
        weekly[day] = [f"{_clock(a)}-{_clock(b)}" for a, b in zip(points[::2], points[1::2])]
    assume(any(weekly.values()))
    holidays = draw(st.frozensets(st.dates(date(2025, 12, 25), date(2028, 1, 10)), max_size=25))
    return WorkingCalendar.from_spec(draw(st.sampled_from(ZONES)), weekly, holidays)


instants = st.datetimes(datetime(2026, 1, 1), datetime(2027, 12, 31),
                        timezones=st.sampled_from([UTC] + [ZoneInfo(z) for z in ZONES]))
grid_instants = st.integers(0, GRID_SLOTS).map(lambda k: ORIGIN + k * QUARTER)
durations = st.integers(0, 30 * 86400 * 10**6).map(lambda us: us / 10**6)   # up to 30 days


def ref_is_business(cal: WorkingCalendar, instant: datetime) -> bool:
    local = instant.astimezone(ZoneInfo(cal.timezone))
    if local.date() in cal.holidays:
        return False
    clock = local.time().replace(fold=0)
    return any(start <= clock and (end == time(0) or clock < end)
               for start, end in cal.weekly[local.weekday()])


def ref_between(cal: WorkingCalendar, start: datetime, end: datetime) -> int:
    total, slot = 0, start
    while slot < end:
        total += 900 if ref_is_business(cal, slot) else 0
        slot += QUARTER
    return total


@props
@given(calendars(), instants, durations)
def test_adding_then_measuring_round_trips(cal, start, seconds):
    result = add_business_time(cal, start, seconds)
    assert result.tzinfo is UTC
    assert business_seconds_between(cal, start, result) == seconds
    if seconds == 0:
        # compared in UTC: Python's == across zones is always False for times in a DST gap/fold
        assert result == start.astimezone(UTC)
    else:
        # the earliest such instant, inside a working interval or exactly at its end
        assert is_business_time(cal, result - US)
        assert business_seconds_between(cal, start, result - US) < seconds


@props
@given(calendars(), instants, durations, durations)
def test_add_is_monotonic_in_seconds(cal, start, a, b):
    a, b = sorted((a, b))
    assert add_business_time(cal, start, a) <= add_business_time(cal, start, b)


@props
@given(calendars(), instants, instants, instants)
def test_elapsed_is_monotonic_additive_and_bounded(cal, a, b, c):
    a, b, c = sorted((a, b, c))
    ab, bc, ac = (micro(business_seconds_between(cal, x, y))
                  for x, y in ((a, b), (b, c), (a, c)))
    assert ab + bc == ac
    assert 0 <= ab <= ac <= (c - a) // US
    assert business_seconds_between(cal, c, a) == 0


@props
@given(calendars(), instants, st.integers(0, 800).map(lambda d: timedelta(days=d)))
def test_long_spans_equal_the_sum_of_their_days(cal, start, span):
    # the whole-week fast path and holiday subtraction against a day-by-day walk; days are
    # stepped on the UTC line (wall-clock "+ 1 day" in a zone would jump around DST gaps)
    start = start.astimezone(UTC)
    end = start + span
    days = [start + timedelta(days=i) for i in range(span.days)] + [end]
    assert micro(business_seconds_between(cal, start, end)) == sum(
        micro(business_seconds_between(cal, x, y)) for x, y in zip(days, days[1:]))


@props
@given(calendars(), instants, st.integers(0, 2 * 365 * 86400))
def test_long_additions_round_trip(cal, start, seconds):
    result = add_business_time(cal, start, seconds)
    assert business_seconds_between(cal, start, result) == seconds


pauses_strategy = st.lists(st.tuples(instants, st.one_of(st.none(), instants)), max_size=5)


@props
@given(calendars(), instants, instants, pauses_strategy, st.tuples(instants, instants))
def test_pausing_never_increases_elapsed_nor_makes_it_negative(cal, a, b, pauses, extra):
    start, end = sorted((a, b))
    pauses = [(p, r if r is None else max(p, r)) for p, r in pauses]
    elapsed = business_seconds_between(cal, start, end)
    excluded = business_seconds_excluding(cal, start, end, pauses)
    more = business_seconds_excluding(cal, start, end, pauses + [tuple(sorted(extra))])
    assert 0 <= more <= excluded <= elapsed
    assert business_seconds_excluding(cal, start, end, []) == elapsed
    assert business_seconds_excluding(cal, start, end, [(start, None)]) == 0
    # a pause counts what is business time inside it, clipped to the range, once
    if len(pauses) == 1 and pauses[0][1] is not None:
        p, r = pauses[0]
        inside = business_seconds_between(cal, max(p, start), min(r, end))
        assert micro(excluded) == micro(elapsed) - micro(inside)


@props
@given(calendars(), grid_instants, st.integers(0, 4 * 96))
def test_matches_brute_force_reference(cal, start, quarters):
    end = start + quarters * QUARTER
    assert business_seconds_between(cal, start, end) == ref_between(cal, start, end)
    assert is_business_time(cal, start) == ref_is_business(cal, start)
    assert is_business_time(cal, end) == ref_is_business(cal, end)


@props
@given(calendars(), grid_instants, st.integers(0, 3 * 96))
def test_add_on_grid_matches_reference(cal, start, quarters):
    result = add_business_time(cal, start, quarters * 900)
    assert (result - start) % QUARTER == timedelta(0)
    assert ref_between(cal, start, result) == quarters * 900
    if quarters:
        assert ref_is_business(cal, result - QUARTER)


@props
@given(calendars(), instants)
def test_next_business_instant_is_the_first_business_instant(cal, instant):
    found = next_business_instant(cal, instant)
    assert found >= instant
    assert is_business_time(cal, found)
    assert business_seconds_between(cal, instant, found) == 0
    assert (found == instant.astimezone(UTC)) == is_business_time(cal, instant)
    # adding any positive time lands after it
    assert add_business_time(cal, instant, 1e-6) == found + US


@props
@given(calendars())
def test_spec_round_trips(cal):
    again = WorkingCalendar.from_spec(**cal.to_spec())
    assert again == cal and hash(again) == hash(cal)
