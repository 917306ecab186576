"""Hand-checked business-time cases: each row shows its arithmetic in the comment.

Offsets used below: Europe/Berlin CET = UTC+1 until 2026-03-29 01:00Z, then CEST = UTC+2
until 2026-10-25 01:00Z. America/New_York EST = UTC-5 until 2026-03-08 07:00Z, EDT = UTC-4
until 2026-11-01 06:00Z. Asia/Shanghai is UTC+8 all year.
"""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from servicedesk.sla.calendar import (
    WorkingCalendar, add_business_time, business_seconds_between, business_seconds_excluding,
    holidays_for, is_business_time, next_business_instant,
)

UTC = timezone.utc
BER = ZoneInfo("Europe/Berlin")
NYC = ZoneInfo("America/New_York")
SHA = ZoneInfo("Asia/Shanghai")
H = 3600
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri")
EVERY_DAY = WEEKDAYS + ("sat", "sun")


def Z(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def ber(*args, fold=0) -> datetime:
    return datetime(*args, tzinfo=BER, fold=fold)


def nyc(*args) -> datetime:
    return datetime(*args, tzinfo=NYC)


def sha(*args) -> datetime:
    return datetime(*args, tzinfo=SHA)


def hours(tz: str, intervals, days=WEEKDAYS, holidays=()) -> WorkingCalendar:
    return WorkingCalendar.from_spec(tz, {d: list(intervals) for d in days}, holidays)


# Good Friday, Easter Monday and Christmas 2026 (Dec 26 is a Saturday anyway).
BERLIN_OFFICE = hours("Europe/Berlin", ["09:00-17:00"],
                      holidays=["2026-04-03", "2026-04-06", "2026-12-25", "2026-12-26"])
BERLIN_LUNCH = hours("Europe/Berlin", ["09:00-12:00", "13:00-18:00"])
BERLIN_24X7 = hours("Europe/Berlin", ["00:00-24:00"], EVERY_DAY)
BERLIN_NIGHT = hours("Europe/Berlin", ["01:00-04:00"], EVERY_DAY)
BERLIN_GAP_START = hours("Europe/Berlin", ["02:30-05:00"], EVERY_DAY)
BERLIN_HOUR_2 = hours("Europe/Berlin", ["02:00-03:00"], EVERY_DAY)
BERLIN_IN_GAP = hours("Europe/Berlin", ["02:15-02:45", "09:00-10:00"], EVERY_DAY)
NY_OFFICE = hours("America/New_York", ["08:00-18:00"])
NY_24X7 = hours("America/New_York", ["00:00-24:00"], EVERY_DAY)
SHANGHAI = hours("Asia/Shanghai", ["09:00-18:00"], holidays=holidays_for("CN", [2026]))
ALWAYS = WorkingCalendar.always()


ADD_CASES = [
    # overnight: Mon 16:00-17:00 = 1h, Tue 09:00 + 1h = Tue 10:00 CET = 09:00Z
    ("overnight", BERLIN_OFFICE, ber(2026, 3, 2, 16), 2 * H, Z(2026, 3, 3, 9)),
    # weekend: Fri 15:00-17:00 = 2h, Sat/Sun closed, Mon 09:00 + 2h = 11:00 CET = 10:00Z
    ("weekend", BERLIN_OFFICE, ber(2026, 3, 6, 15), 4 * H, Z(2026, 3, 9, 10)),
    # holiday: Thu 16-17 = 1h; Good Friday, Sat, Sun, Easter Monday closed;
    # Tue 7 Apr 09:00 + 2h = 11:00 CEST = 09:00Z
    ("holiday", BERLIN_OFFICE, ber(2026, 4, 2, 16), 3 * H, Z(2026, 4, 7, 9)),
    # before opening: Mon 07:30 -> counting starts 09:00, + 1h = 10:00 CET = 09:00Z
    ("before opening", BERLIN_OFFICE, ber(2026, 3, 2, 7, 30), H, Z(2026, 3, 2, 9)),
    # inside: Mon 10:15 + 3h30 = 13:45 CET = 12:45Z
    ("inside", BERLIN_OFFICE, ber(2026, 3, 2, 10, 15), 3.5 * H, Z(2026, 3, 2, 12, 45)),
    # after closing: Mon 18:00 -> Tue 09:00 + 1h = 10:00 CET = 09:00Z
    ("after closing", BERLIN_OFFICE, ber(2026, 3, 2, 18), H, Z(2026, 3, 3, 9)),
    # on a holiday: Fri 25 Dec, Sat 26 Dec, Sun closed; Mon 28 Dec 09:00 + 8h = 17:00 CET,
    # exactly the interval end, so 16:00Z (not Tue 09:00)
    ("on holiday, ends at close", BERLIN_OFFICE, ber(2026, 12, 25, 10), 8 * H,
     Z(2026, 12, 28, 16)),
    # ends exactly at an interval end: Mon 09:00 + 8h = Mon 17:00 CET = 16:00Z
    ("ends at interval end", BERLIN_OFFICE, ber(2026, 3, 2, 9), 8 * H, Z(2026, 3, 2, 16)),
    # 1.5 s from 16:59:59: 1 s on Mon, 0.5 s on Tue from 09:00 -> 09:00:00.5 CET
    ("sub-second", BERLIN_OFFICE, ber(2026, 3, 2, 16, 59, 59), 1.5,
     Z(2026, 3, 3, 8, 0, 0, 500000)),
    # lunch break: 11-12 = 1h, lunch, 13:00 + 1h = 14:00 CET = 13:00Z
    ("across lunch", BERLIN_LUNCH, ber(2026, 3, 2, 11), 2 * H, Z(2026, 3, 2, 13)),
    # start during lunch: counting starts 13:00, + 30 min = 13:30 CET = 12:30Z
    ("start in lunch", BERLIN_LUNCH, ber(2026, 3, 2, 12, 30), 1800, Z(2026, 3, 2, 12, 30)),
    # ends at the morning interval end: 10:00 + 2h = 12:00 CET = 11:00Z (not 13:00)
    ("ends at lunch", BERLIN_LUNCH, ber(2026, 3, 2, 10), 2 * H, Z(2026, 3, 2, 11)),
    # full week of the lunch calendar: 5 days x 8h = 40h from Mon 09:00 -> Fri 18:00 CET
    ("one business week", BERLIN_LUNCH, ber(2026, 3, 2, 9), 40 * H, Z(2026, 3, 6, 17)),
    # Berlin 24x7 over spring forward: 24 real hours from Sat 11:00Z -> Sun 11:00Z
    # (= 13:00 CEST on the wall: the 23-hour Sunday)
    ("24x7 spring forward", BERLIN_24X7, ber(2026, 3, 28, 12), 24 * H, Z(2026, 3, 29, 11)),
    # interval starting in the gap: 02:30 does not exist on 29 Mar, the interval starts at the
    # first valid instant 03:00 CEST = 01:00Z; + 1h = 02:00Z (04:00 CEST)
    ("interval starts in gap", BERLIN_GAP_START, ber(2026, 3, 29, 0), H, Z(2026, 3, 29, 2)),
    # office hours the Monday after spring forward: Fri 16-17 CET = 1h; Mon 30 Mar 09:00 CEST
    # + 1h = 10:00 CEST = 08:00Z
    ("office after spring forward", BERLIN_OFFICE, ber(2026, 3, 27, 16), 2 * H,
     Z(2026, 3, 30, 8)),
    # fall back, 02:00-03:00 daily: wall 02:00-03:00 CEST (00:00Z-01:00Z) then again
    # 02:00-03:00 CET (01:00Z-02:00Z); 90 min from 00:00 CEST -> 01:30Z (02:30 CET, 2nd time)
    ("repeated hour counts twice", BERLIN_HOUR_2, ber(2026, 10, 25, 0), 1.5 * H,
     Z(2026, 10, 25, 1, 30)),
    # New York across spring forward: Fri 17-18 EST = 1h; Mon 9 Mar 08:00 EDT = 12:00Z + 1h
    ("NY spring forward", NY_OFFICE, nyc(2026, 3, 6, 17), 2 * H, Z(2026, 3, 9, 13)),
    # New York across fall back: Fri 30 Oct 16-18 EDT = 2h; Mon 2 Nov 08:00 EST = 13:00Z + 2h
    ("NY fall back", NY_OFFICE, nyc(2026, 10, 30, 16), 4 * H, Z(2026, 11, 2, 15)),
    # Shanghai, Mid-Autumn Festival Fri 25 Sep 2026 (from holidays_for("CN")): Thu 17-18 = 1h;
    # Fri holiday, weekend; Mon 28 Sep 09:00 + 1h = 10:00 CST = 02:00Z
    ("Shanghai Mid-Autumn", SHANGHAI, sha(2026, 9, 24, 17), 2 * H, Z(2026, 9, 28, 2)),
    # 24x7 UTC: 3 days later to the second
    ("24x7", ALWAYS, Z(2026, 3, 6, 15), 3 * 24 * H, Z(2026, 3, 9, 15)),
    # zero seconds outside business time: start unchanged (Sat 10:00 CET = 09:00Z)
    ("zero outside hours", BERLIN_OFFICE, ber(2026, 3, 7, 10), 0, Z(2026, 3, 7, 9)),
]


@pytest.mark.parametrize("cal,start,seconds,expected",
                         [case[1:] for case in ADD_CASES], ids=[case[0] for case in ADD_CASES])
def test_add_business_time(cal, start, seconds, expected):
    result = add_business_time(cal, start, seconds)
    assert result == expected
    assert result.tzinfo is UTC
    assert business_seconds_between(cal, start, result) == seconds


BETWEEN_CASES = [
    # across a weekend: Fri 13-17 = 4h, Mon 09-11 = 2h -> 6h
    ("weekend", BERLIN_OFFICE, ber(2026, 3, 6, 13), ber(2026, 3, 9, 11), 6 * H),
    # over Easter: Thu 2 Apr 16-17 = 1h; Fri, Sat, Sun, Mon closed; Tue 09-10 = 1h -> 2h
    ("Easter", BERLIN_OFFICE, ber(2026, 4, 2, 16), ber(2026, 4, 7, 10), 2 * H),
    # Berlin 24x7 on spring-forward Sunday: 00:00 CET (23:00Z Sat) .. 00:00 CEST (22:00Z) = 23h
    ("24x7 spring day", BERLIN_24X7, ber(2026, 3, 29), ber(2026, 3, 30), 23 * H),
    # night shift 01:00-04:00 on that Sunday: 01-02 CET and 03-04 CEST exist, 02-03 skipped
    ("night shift spring", BERLIN_NIGHT, ber(2026, 3, 29), ber(2026, 3, 30), 2 * H),
    # 02:15-02:45 lies wholly in the gap (empty) + 09:00-10:00 -> 1h that Sunday
    ("interval inside gap", BERLIN_IN_GAP, ber(2026, 3, 29), ber(2026, 3, 30), H),
    # Berlin 24x7 on fall-back Sunday: 00:00 CEST (22:00Z Sat) .. 00:00 CET (23:00Z) = 25h
    ("24x7 fall day", BERLIN_24X7, ber(2026, 10, 25), ber(2026, 10, 26), 25 * H),
    # night shift on fall-back Sunday: 01:00 CEST (23:00Z Sat) .. 04:00 CET (03:00Z) = 4h
    ("night shift fall", BERLIN_NIGHT, ber(2026, 10, 25), ber(2026, 10, 26), 4 * H),
    # New York across its spring weekend: Fri 12-18 EST = 6h, Mon 08-12 EDT = 4h -> 10h
    # (UTC difference is 71h; wall-clock subtraction would say 72h)
    ("NY spring weekend", NY_OFFICE, nyc(2026, 3, 6, 12), nyc(2026, 3, 9, 12), 10 * H),
    # New York 24x7 on fall-back Sunday 1 Nov: 04:00Z .. 05:00Z next day = 25h
    ("NY 24x7 fall day", NY_24X7, nyc(2026, 11, 1), nyc(2026, 11, 2), 25 * H),
    # Shanghai Labour Day: Thu 30 Apr 9h; Fri 1 May, Mon 4 May (observed), Tue 5 May
    # (substitute) off; Wed 6 May 9h; Thu 7 May before 09:00 nothing -> 18h
    ("Shanghai Labour Day", SHANGHAI, sha(2026, 4, 30, 9), sha(2026, 5, 7, 9), 18 * H),
    # 24x7 with a start given in another zone: 09:00Z .. 12:00Z = 3h
    ("24x7 mixed zones", ALWAYS, datetime(2026, 3, 2, 10, tzinfo=BER), Z(2026, 3, 2, 12),
     3 * H),
    # end before start
    ("end before start", BERLIN_OFFICE, ber(2026, 3, 3, 10), ber(2026, 3, 2, 10), 0),
    # a whole year of Berlin office hours: 2026 has 261 weekdays, 3 of our holidays fall on
    # weekdays (Good Friday, Easter Monday, Christmas) -> 258 x 8h
    ("year", BERLIN_OFFICE, ber(2026, 1, 1), ber(2027, 1, 1), 258 * 8 * H),
]


@pytest.mark.parametrize("cal,start,end,expected",
                         [case[1:] for case in BETWEEN_CASES],
                         ids=[case[0] for case in BETWEEN_CASES])
def test_business_seconds_between(cal, start, end, expected):
    assert business_seconds_between(cal, start, end) == expected


EXCLUDING_CASES = [
    # Fri 6 Mar 09:00 .. Tue 10 Mar 12:00 = 8 + 8 + 3 = 19h; the pause Fri 15:00 .. Mon 10:00
    # spans the weekend but holds only Fri 15-17 + Mon 09-10 = 3h of business time -> 16h
    ("pause over weekend", BERLIN_OFFICE, ber(2026, 3, 6, 9), ber(2026, 3, 10, 12),
     [(ber(2026, 3, 6, 15), ber(2026, 3, 9, 10))], 16 * H),
    # Mon 2 Mar 09:00 .. Wed 4 Mar 12:00 = 8 + 8 + 3 = 19h; open-ended pause from Tue 16:00
    # holds Tue 16-17 + Wed 09-12 = 4h -> 15h
    ("open-ended pause", BERLIN_OFFICE, ber(2026, 3, 2, 9), ber(2026, 3, 4, 12),
     [(ber(2026, 3, 3, 16), None)], 15 * H),
    # Fri 09:00 .. Mon 17:00 = 16h; a weekend-only pause holds nothing; two overlapping pauses
    # on Mon 10-12 and 11-13 cover 10-13 once = 3h -> 13h
    ("overlapping pauses", BERLIN_OFFICE, ber(2026, 3, 6, 9), ber(2026, 3, 9, 17),
     [(ber(2026, 3, 7, 10), ber(2026, 3, 8, 10)), (ber(2026, 3, 9, 10), ber(2026, 3, 9, 12)),
      (ber(2026, 3, 9, 11), ber(2026, 3, 9, 13))], 13 * H),
    # pauses sticking out of the range are clipped: Mon 09-17 = 8h; pause Sun .. Mon 10:00
    # holds 1h; pause Mon 16:00 .. Tue holds 1h -> 6h
    ("pauses clipped", BERLIN_OFFICE, ber(2026, 3, 2, 9), ber(2026, 3, 2, 17),
     [(ber(2026, 3, 1, 12), ber(2026, 3, 2, 10)), (ber(2026, 3, 2, 16), ber(2026, 3, 3, 12))],
     6 * H),
    # open-ended pause starting after the end holds nothing: 8h
    ("pause after end", BERLIN_OFFICE, ber(2026, 3, 2, 9), ber(2026, 3, 2, 17),
     [(ber(2026, 3, 3, 9), None)], 8 * H),
]


@pytest.mark.parametrize("cal,start,end,pauses,expected",
                         [case[1:] for case in EXCLUDING_CASES],
                         ids=[case[0] for case in EXCLUDING_CASES])
def test_business_seconds_excluding(cal, start, end, pauses, expected):
    assert business_seconds_excluding(cal, start, end, pauses) == expected


@pytest.mark.parametrize("cal,instant,expected", [
    (BERLIN_OFFICE, ber(2026, 3, 2, 9), True),             # interval start is included
    (BERLIN_OFFICE, ber(2026, 3, 2, 16, 59, 59), True),
    (BERLIN_OFFICE, ber(2026, 3, 2, 17), False),           # interval end is excluded
    (BERLIN_OFFICE, ber(2026, 12, 25, 10), False),         # holiday
    (BERLIN_OFFICE, ber(2026, 3, 7, 10), False),           # Saturday
    (BERLIN_LUNCH, ber(2026, 3, 2, 12, 30), False),        # lunch
    (BERLIN_HOUR_2, Z(2026, 10, 25, 0, 30), True),         # 02:30 CEST, first time
    (BERLIN_HOUR_2, Z(2026, 10, 25, 1, 30), True),         # 02:30 CET, second time
    (BERLIN_HOUR_2, Z(2026, 10, 25, 2, 30), False),        # 03:30 CET
    (SHANGHAI, sha(2026, 10, 1, 10), False),               # National Day
    (SHANGHAI, sha(2026, 10, 8, 10), True),
    (ALWAYS, Z(2026, 2, 28, 23, 59, 59), True),
])
def test_is_business_time(cal, instant, expected):
    assert is_business_time(cal, instant) is expected


@pytest.mark.parametrize("cal,instant,expected", [
    (BERLIN_OFFICE, ber(2026, 3, 7, 10), Z(2026, 3, 9, 8)),       # Sat -> Mon 09:00 CET
    (BERLIN_OFFICE, ber(2026, 3, 2, 11), Z(2026, 3, 2, 10)),      # inside -> itself
    (BERLIN_OFFICE, ber(2026, 3, 2, 17), Z(2026, 3, 3, 8)),       # at close -> Tue 09:00
    (BERLIN_OFFICE, ber(2026, 4, 2, 17), Z(2026, 4, 7, 7)),       # Easter -> Tue 09:00 CEST
    (BERLIN_LUNCH, ber(2026, 3, 2, 12), Z(2026, 3, 2, 12)),       # lunch -> 13:00 CET
    (BERLIN_GAP_START, ber(2026, 3, 29, 0), Z(2026, 3, 29, 1)),   # gap start -> 03:00 CEST
    (SHANGHAI, sha(2026, 9, 30, 18), Z(2026, 10, 8, 1)),          # Golden Week -> 8 Oct 09:00
])
def test_next_business_instant(cal, instant, expected):
    assert next_business_instant(cal, instant) == expected


def test_zero_seconds_returns_start_even_inside_business_time():
    start = ber(2026, 3, 2, 10, 0, 0, 123)
    assert add_business_time(BERLIN_OFFICE, start, 0) == start
    assert add_business_time(BERLIN_OFFICE, start, timedelta(0)) == start


def test_add_accepts_timedelta():
    assert add_business_time(BERLIN_OFFICE, ber(2026, 3, 2, 16), timedelta(hours=2)) == \
        Z(2026, 3, 3, 9)


def test_measurements_are_int_when_whole_and_float_otherwise():
    whole = business_seconds_between(ALWAYS, Z(2026, 1, 1), Z(2026, 1, 1, 0, 0, 2))
    part = business_seconds_between(ALWAYS, Z(2026, 1, 1), Z(2026, 1, 1, 0, 0, 2, 500000))
    assert (whole, type(whole)) == (2, int)
    assert (part, type(part)) == (2.5, float)


@pytest.mark.parametrize("call", [
    lambda: add_business_time(ALWAYS, datetime(2026, 3, 2, 9), 60),
    lambda: business_seconds_between(ALWAYS, datetime(2026, 3, 2), Z(2026, 3, 3)),
    lambda: business_seconds_between(ALWAYS, Z(2026, 3, 2), datetime(2026, 3, 3)),
    lambda: business_seconds_excluding(ALWAYS, Z(2026, 3, 2), Z(2026, 3, 3),
                                       [(datetime(2026, 3, 2, 12), None)]),
    lambda: is_business_time(ALWAYS, datetime(2026, 3, 2)),
    lambda: next_business_instant(ALWAYS, datetime(2026, 3, 2)),
])
def test_naive_datetimes_are_rejected(call):
    with pytest.raises(ValueError, match="aware"):
        call()


@pytest.mark.parametrize("seconds", [-1, -0.5, float("nan"), float("inf")])
def test_negative_or_non_finite_seconds_are_rejected(seconds):
    with pytest.raises(ValueError, match="seconds"):
        add_business_time(ALWAYS, Z(2026, 3, 2), seconds)


def test_pause_that_resumes_before_it_starts_is_rejected():
    with pytest.raises(ValueError, match="before it starts"):
        business_seconds_excluding(ALWAYS, Z(2026, 3, 2), Z(2026, 3, 3),
                                   [(Z(2026, 3, 2, 12), Z(2026, 3, 2, 11))])


def test_instants_beyond_supported_years_are_rejected():
    with pytest.raises(ValueError, match="supported years"):
        business_seconds_between(ALWAYS, Z(2026, 1, 1), datetime(9999, 12, 31, tzinfo=UTC))
    with pytest.raises(ValueError, match="year 9999"):
        add_business_time(BERLIN_OFFICE, Z(9998, 12, 20), 10 * 86400)
    with pytest.raises(ValueError, match="beyond the supported years"):
        add_business_time(ALWAYS, Z(2026, 1, 1), 1e15)


# --- calendars: construction, validation, specs ------------------------------------------

def test_always_is_24x7_utc_without_holidays():
    cal = WorkingCalendar.always()
    assert cal.timezone == "UTC"
    assert cal.holidays == frozenset()
    assert cal.weekly_seconds == 7 * 24 * H
    assert cal == WorkingCalendar.from_spec("UTC", {d: ["00:00-24:00"] for d in EVERY_DAY})


def test_spec_round_trips():
    cal = WorkingCalendar.from_spec(
        "Europe/Berlin",
        {"Monday": ["13:00-18:00", "09:00-12:00"], "tue": "08:00-12:00, 12:30-16:45:30",
         "sat": [], "sun": None, 4: [("07:00", "19:00")], "wed": ["22:00-00:00"]},
        holidays=[date(2026, 12, 25), "2026-12-24"])
    spec = cal.to_spec()
    assert spec == {
        "timezone": "Europe/Berlin",
        "weekly_spec": {"mon": ["09:00-12:00", "13:00-18:00"],
                        "tue": ["08:00-12:00", "12:30-16:45:30"],
                        "wed": ["22:00-24:00"], "thu": [], "fri": ["07:00-19:00"],
                        "sat": [], "sun": []},
        "holidays": ["2026-12-24", "2026-12-25"],
    }
    assert WorkingCalendar.from_spec(**spec) == cal
    assert hash(WorkingCalendar.from_spec(**spec)) == hash(cal)
    assert cal.weekly[2] == ((time(22), time(0)),)   # time(0, 0) as an end means 24:00


def test_constructor_normalises_weekly_and_holidays():
    cal = WorkingCalendar("Asia/Shanghai", {0: [(time(9), time(18))]}, [date(2026, 10, 1)])
    assert dict(cal.weekly) == {0: ((time(9), time(18)),), 1: (), 2: (), 3: (), 4: (),
                                5: (), 6: ()}
    assert cal.holidays == frozenset({date(2026, 10, 1)})
    with pytest.raises(TypeError):
        cal.weekly[1] = ()


@pytest.mark.parametrize("timezone,weekly,holidays,message", [
    ("Mars/Olympus", {"mon": ["09:00-17:00"]}, (), "unknown timezone 'Mars/Olympus'"),
    ("", {"mon": ["09:00-17:00"]}, (), "timezone must be an IANA name"),
    ("UTC", {"mon": ["09:00-12:00", "11:00-13:00"]}, (),
     "mon: intervals 09:00-12:00 and 11:00-13:00 overlap"),
    ("UTC", {"tue": ["17:00-09:00"]}, (), "tue: interval 17:00-09:00 ends before it starts"),
    ("UTC", {"wed": ["09:00-09:00"]}, (), "wed: interval 09:00-09:00 ends before it starts"),
    ("UTC", {"funday": ["09:00-17:00"]}, (), "unknown weekday 'funday'"),
    ("UTC", {"mon": ["9-17"]}, (), "mon: interval '9-17': '9' is not a time of day"),
    ("UTC", {"mon": ["09:00-25:00"]}, (), "'25:00' is not a time of day"),
    ("UTC", {"mon": ["09:60-17:00"]}, (), "'09:60' is not a time of day"),
    ("UTC", {"mon": ["24:00-24:00"]}, (), "24:00 can only end an interval"),
    ("UTC", {"mon": ["09:00"]}, (), "mon: interval '09:00' must look like '09:00-17:00'"),
    ("UTC", {"mon": [42]}, (), "mon: interval 42 must look like"),
    ("UTC", {"mon": ["09:00-17:00"], "monday": ["10:00-11:00"]}, (), "mon: given twice"),
    ("UTC", {"sat": []}, (), "no working time in the week"),
    ("UTC", {}, (), "no working time in the week"),
    ("UTC", ["09:00-17:00"], (), "weekly hours must be a mapping"),
    ("UTC", {"mon": "09:00-17:00"}, ["2026-02-30"], "holiday '2026-02-30' is not a date"),
    ("UTC", {"mon": "09:00-17:00"}, [datetime(2026, 1, 1)], "must be a date, not a datetime"),
])
def test_from_spec_validation_messages(timezone, weekly, holidays, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        WorkingCalendar.from_spec(timezone, weekly, holidays)


@pytest.mark.parametrize("weekly,message", [
    ({7: ((time(9), time(17)),)}, "weekday key 7"),
    ({0: ((time(13), time(17)), (time(9), time(12)))}, "must be sorted"),
    ({0: ((time(9, tzinfo=UTC), time(17)),)}, "must not carry a tzinfo"),
    ({0: (("09:00", "17:00"),)}, "must be datetime.time"),
    ({0: ((time(9),),)}, "must be a (start, end) pair"),
])
def test_constructor_validation_messages(weekly, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        WorkingCalendar("UTC", weekly)


def test_holidays_for_china_and_a_german_state():
    cn = holidays_for("cn", [2026])
    assert {date(2026, 10, 1), date(2026, 2, 17), date(2026, 9, 25)} <= cn
    assert all(day.year == 2026 for day in cn)
    bavaria = holidays_for("DE", [2026, 2027], subdiv="BY")
    assert date(2026, 1, 6) in bavaria and date(2027, 1, 6) in bavaria   # Epiphany
    assert date(2026, 1, 6) not in holidays_for("DE", [2026], subdiv="BE")
    assert holidays_for("DE", []) == frozenset()


@pytest.mark.parametrize("country,subdiv,message", [
    ("XX", None, "no holiday data for country 'XX'"),
    ("DE", "ZZ", "no holiday data for country 'DE' subdivision 'ZZ'"),
    ("", None, "country code must be"),
])
def test_holidays_for_unknown_country_or_subdivision(country, subdiv, message):
    with pytest.raises(ValueError, match=message):
        holidays_for(country, [2026], subdiv=subdiv)
