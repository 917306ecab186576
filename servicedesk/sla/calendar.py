"""Pure business-time arithmetic: working calendars, adding and measuring business time.

No Flask, no database, no ``datetime.now``: every function takes the instants it needs.

Definition (everything else follows from it)
--------------------------------------------
An instant is **business time** when its *local wall-clock reading* in the calendar's time zone
falls on a local date that is not a holiday and at a time of day inside one of that weekday's
working intervals ``[start, end)``. Business time between two instants is the *real* elapsed time
(measured on UTC instants, microsecond exact) of the business instants in ``[start, end)``.

Consequences across daylight-saving changes, stated because managers will ask:

- Spring forward (e.g. Europe/Berlin 2026-03-29, 02:00 -> 03:00): the skipped wall times never
  occur, so they contain no business time. An interval whose local start lies in the gap
  effectively starts at the first valid instant (03:00 CEST); an interval lying wholly inside
  the gap is empty. A 24x7 Berlin calendar has a 23-hour day.
- Fall back (e.g. Europe/Berlin 2026-10-25, 03:00 -> 02:00): the repeated wall times occur
  twice, and each occurrence that is working time counts, so the repeated hour counts twice
  (real elapsed seconds). A 24x7 Berlin calendar has a 25-hour day; an interval 00:00-02:30
  that day is 00:00-02:30 CEST plus 02:00-02:30 CET = 3 hours.

Conventions
-----------
- Inputs are aware datetimes (naive -> ``ValueError``); outputs are aware UTC datetimes.
- Durations are seconds (int or float; microsecond resolution). Measurements return an ``int``
  when the result is a whole number of seconds, else a ``float``.
- Interval ends in :class:`WorkingCalendar.weekly` use ``time(0, 0)`` to mean the end of the day
  (24:00): an end can never equal a start of the same day, so this is unambiguous. Intervals do
  not cross midnight: write 22:00-06:00 as 22:00-24:00 on one day and 00:00-06:00 on the next.
- ``add_business_time`` with 0 seconds returns ``start`` unchanged (as UTC), even outside
  business time: nothing has to elapse. For positive seconds it returns the smallest instant at
  which that much business time has elapsed, so the result is inside a working interval or
  exactly at an interval's end (never at the next interval's start).

Efficiency: the arithmetic walks *pieces* of constant UTC offset (split at DST transitions and
at UTC year boundaries, a few per year); inside a piece it works on the naive local time line in
integer microseconds, skipping whole weeks with the weekly total and subtracting holidays found
by bisection, so a measurement costs O(log holidays + holidays in the span + pieces).
Time-zone transitions are found once per (zone, year) by sampling the offset daily and bisecting
to the second, and cached; the assumption is that no zone has two offset changes less than a day
apart that cancel out (none has, in tzdata's modern history).
"""
from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache
from types import MappingProxyType
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = [
    "WorkingCalendar", "add_business_time", "business_seconds_between",
    "business_seconds_excluding", "is_business_time", "next_business_instant", "holidays_for",
]

UTC = timezone.utc
#: Microseconds per second and per day: all internal arithmetic is on integer microseconds.
US = 1_000_000
DAY = 86_400 * US
_ONE_US = timedelta(microseconds=1)
#: Origin of the internal time lines (UTC and naive local): microseconds since 0001-01-01 00:00,
#: so ``value // DAY`` is ``date.toordinal() - 1`` and ``(value // DAY) % 7`` is the weekday.
_EPOCH = datetime(1, 1, 1)
#: Supported years (keeps every local/UTC conversion clear of datetime's limits).
MIN_YEAR, MAX_YEAR = 2, 9998

_LAST_US = (datetime(MAX_YEAR + 1, 1, 1) - _EPOCH) // _ONE_US

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DAY_KEYS = {name: i for i, name in enumerate(DAY_NAMES)}
_DAY_KEYS.update({name: i for i, name in enumerate(
    ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"))})


# --- conversions ----------------------------------------------------------------------------

def _to_us(value: datetime, name: str = "instant") -> int:
    """An aware datetime as microseconds since _EPOCH on the UTC time line."""
    if not isinstance(value, datetime):
        raise TypeError(f"{name} must be a datetime, not {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be an aware datetime (got naive {value.isoformat()})")
    try:
        naive = value.astimezone(UTC).replace(tzinfo=None)
    except OverflowError:
        naive = datetime.min
    if not MIN_YEAR <= naive.year <= MAX_YEAR:
        raise ValueError(f"{name} {value.isoformat()} is outside the supported years "
                         f"{MIN_YEAR}..{MAX_YEAR}")
    return (naive - _EPOCH) // _ONE_US


def _from_us(value: int) -> datetime:
    return (_EPOCH + timedelta(microseconds=value)).replace(tzinfo=UTC)


def _amount_us(seconds: float | int | timedelta) -> int:
    """A non-negative duration in seconds (or a timedelta) as integer microseconds."""
    if isinstance(seconds, timedelta):
        amount = seconds // _ONE_US
    elif isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
        raise TypeError(f"seconds must be a number, not {type(seconds).__name__}")
    elif isinstance(seconds, int):
        amount = seconds * US
    else:
        if not math.isfinite(seconds):
            raise ValueError(f"seconds must be finite (got {seconds})")
        amount = round(seconds * US)
    if amount < 0:
        raise ValueError(f"seconds must not be negative (got {seconds})")
    return amount


def _seconds(us: int) -> int | float:
    whole, rest = divmod(us, US)
    return whole if rest == 0 else us / US


def _time_us(value: time) -> int:
    return ((value.hour * 60 + value.minute) * 60 + value.second) * US + value.microsecond


def _format_time(us: int) -> str:
    if us == DAY:
        return "24:00"
    seconds, micro = divmod(us, US)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    text = f"{hours:02d}:{minutes:02d}"
    if secs or micro:
        text += f":{secs:02d}"
    if micro:
        text += f".{micro:06d}"
    return text


def _zone(name: str) -> ZoneInfo:
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"timezone must be an IANA name such as 'Europe/Berlin' (got {name!r})")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
        raise ValueError(f"unknown timezone {name!r} (expected an IANA name such as "
                         f"'Europe/Berlin')") from exc


# --- time-zone pieces -----------------------------------------------------------------------

@lru_cache(maxsize=4096)
def _year_info(tz: ZoneInfo, year: int) -> tuple[int, tuple[int, ...], tuple[int, ...]]:
    """For the UTC year: (end of year, transition instants, offsets), all in microseconds.

    ``offsets[0]`` is the UTC offset at the start of the year, ``offsets[i + 1]`` the offset
    from ``transitions[i]`` on.
    """
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise ValueError(f"business time arithmetic reached year {year}, outside the supported "
                         f"years {MIN_YEAR}..{MAX_YEAR}")
    start, end = datetime(year, 1, 1), datetime(year + 1, 1, 1)

    def offset(naive_utc: datetime) -> int:
        return tz.fromutc(naive_utc.replace(tzinfo=tz)).utcoffset() // _ONE_US

    transitions: list[int] = []
    offsets = [offset(start)]
    step = timedelta(days=1)
    at = start
    while at < end:
        nxt = min(at + step, end)
        after = offset(nxt)
        if after != offsets[-1]:
            # Bisect to the second (tzdata transitions are whole seconds): lo keeps the old
            # offset, hi has the new one.
            lo, hi = 0, int((nxt - at).total_seconds())
            while hi - lo > 1:
                mid = (lo + hi) // 2
                if offset(at + timedelta(seconds=mid)) == offsets[-1]:
                    lo = mid
                else:
                    hi = mid
            instant = at + timedelta(seconds=hi)
            if instant < end:   # a change exactly at the year end belongs to the next year
                transitions.append((instant - _EPOCH) // _ONE_US)
                offsets.append(after)
        at = nxt
    return (end - _EPOCH) // _ONE_US, tuple(transitions), tuple(offsets)


def _piece(tz: ZoneInfo, u: int) -> tuple[int, int]:
    """(UTC offset in force at u, end of the constant-offset piece containing u), in us."""
    year = (_EPOCH + timedelta(microseconds=u)).year
    end, transitions, offsets = _year_info(tz, year)
    i = bisect_right(transitions, u)
    return offsets[i], (transitions[i] if i < len(transitions) else end)


# --- the calendar ---------------------------------------------------------------------------

Intervals = tuple[tuple[time, time], ...]


@dataclass(frozen=True)
class WorkingCalendar:
    """Weekly working hours in an IANA time zone, minus holiday dates (see the module doc).

    ``weekly`` maps weekday (0 = Monday .. 6 = Sunday) to sorted, non-overlapping local
    intervals ``[start, end)``; an end of ``time(0, 0)`` means 24:00. Missing days are closed.
    ``holidays`` are local dates without working time. Construction validates everything and
    raises ``ValueError`` (unknown zone, bad or overlapping intervals, no weekly working time).
    """

    timezone: str
    weekly: Mapping[int, Intervals]
    holidays: frozenset[date] = frozenset()

    def __post_init__(self) -> None:
        tz = _zone(self.timezone)
        if not isinstance(self.weekly, Mapping):
            raise ValueError("weekly must map weekday numbers 0 (Monday) .. 6 (Sunday) to "
                             "intervals")
        for key in self.weekly:
            if isinstance(key, bool) or not isinstance(key, int) or not 0 <= key <= 6:
                raise ValueError(f"weekly: weekday key {key!r} must be 0 (Monday) .. 6 (Sunday)")
        weekly: dict[int, Intervals] = {}
        days: list[tuple[tuple[int, int], ...]] = []
        for wd in range(7):
            raw = self.weekly.get(wd) or ()
            intervals: list[tuple[time, time]] = []
            spans: list[tuple[int, int]] = []
            for interval in raw:
                start, end = _check_interval(DAY_NAMES[wd], interval)
                s = _time_us(start)
                e = DAY if end == time(0) else _time_us(end)
                label = f"{_format_time(s)}-{_format_time(e)}"
                if e <= s:
                    raise ValueError(f"{DAY_NAMES[wd]}: interval {label} ends before it starts "
                                     "(intervals cannot cross midnight: split them at 24:00)")
                if spans:
                    ps, pe = spans[-1]
                    previous = f"{_format_time(ps)}-{_format_time(pe)}"
                    if s < ps:
                        raise ValueError(f"{DAY_NAMES[wd]}: intervals must be sorted "
                                         f"({label} comes after {previous})")
                    if s < pe:
                        raise ValueError(f"{DAY_NAMES[wd]}: intervals {previous} and {label} "
                                         "overlap")
                intervals.append((start, end))
                spans.append((s, e))
            weekly[wd] = tuple(intervals)
            days.append(tuple(spans))
        holidays = frozenset(self.holidays)
        for day in holidays:
            if isinstance(day, datetime) or not isinstance(day, date):
                raise ValueError(f"holidays must be dates, not {day!r}")
        totals = tuple(sum(e - s for s, e in spans) for spans in days)
        if sum(totals) == 0:
            raise ValueError("the calendar has no working time in the week: give at least one "
                             "weekday a working interval")
        cumulative = [0]
        for i in range(14):
            cumulative.append(cumulative[-1] + totals[i % 7])
        hol = tuple(sorted(day.toordinal() - 1 for day in holidays))
        set_ = object.__setattr__
        set_(self, "weekly", MappingProxyType(weekly))
        set_(self, "holidays", holidays)
        set_(self, "_tz", tz)
        set_(self, "_days", tuple(days))
        set_(self, "_totals", totals)
        set_(self, "_week", sum(totals))
        set_(self, "_cumulative", tuple(cumulative))
        set_(self, "_hol", hol)
        set_(self, "_holset", frozenset(hol))

    def __hash__(self) -> int:
        return hash((self.timezone, tuple(self.weekly.items()), self.holidays))

    # -- construction from and to JSON-friendly specs --

    @classmethod
    def always(cls) -> WorkingCalendar:
        """The built-in 24x7 calendar: UTC, every day 00:00-24:00, no holidays."""
        return cls("UTC", {wd: ((time(0), time(0)),) for wd in range(7)})

    @classmethod
    def from_spec(cls, timezone: str, weekly_spec: Mapping, holidays: Iterable = ()
                  ) -> WorkingCalendar:
        """Build and validate a calendar from JSON-friendly data.

        ``weekly_spec`` maps day names ("mon".."sun" or full names, any case; or 0..6) to a list
        of "HH:MM-HH:MM" strings (seconds allowed, "24:00" or "00:00" as an end mean midnight),
        or (start, end) pairs of ``time``; a day may also be one comma-separated string, and a
        missing, empty or null day is closed. Intervals may come in any order. ``holidays`` are
        dates or ISO "YYYY-MM-DD" strings. Errors are ``ValueError`` naming the day and interval.
        """
        if not isinstance(weekly_spec, Mapping):
            raise ValueError("weekly hours must be a mapping of day names to intervals, "
                             "e.g. {\"mon\": [\"09:00-17:00\"]}")
        weekly: dict[int, Intervals] = {}
        for key, value in weekly_spec.items():
            wd = _weekday_key(key)
            if wd in weekly:
                raise ValueError(f"{DAY_NAMES[wd]}: given twice")
            weekly[wd] = tuple(sorted(_parse_day(DAY_NAMES[wd], value),
                                      key=lambda iv: _time_us(iv[0])))
        return cls(timezone, weekly, frozenset(_parse_holiday(h) for h in holidays))

    def to_spec(self) -> dict:
        """JSON-friendly form; ``WorkingCalendar.from_spec(**cal.to_spec()) == cal``."""
        return {
            "timezone": self.timezone,
            "weekly_spec": {DAY_NAMES[wd]: [f"{_format_time(s)}-{_format_time(e)}"
                                            for s, e in self._days[wd]] for wd in range(7)},
            "holidays": [day.isoformat() for day in sorted(self.holidays)],
        }

    @property
    def weekly_seconds(self) -> int | float:
        """Working seconds in a week without holidays (ignoring DST changes)."""
        return _seconds(self._week)

    # -- arithmetic on the naive local time line (integer microseconds) --

    def _work_in_day(self, d: int, lo: int, hi: int) -> int:
        if d in self._holset:
            return 0
        total = 0
        for s, e in self._days[d % 7]:
            a = s if s > lo else lo
            b = e if e < hi else hi
            if b > a:
                total += b - a
        return total

    def _full_days(self, d0: int, d1: int) -> int:
        """Working microseconds in the whole local days d0 .. d1 - 1."""
        n = d1 - d0
        if n <= 0:
            return 0
        weeks, rest = divmod(n, 7)
        w = d0 % 7
        total = weeks * self._week + self._cumulative[w + rest] - self._cumulative[w]
        if self._hol:
            for h in self._hol[bisect_left(self._hol, d0):bisect_left(self._hol, d1)]:
                total -= self._totals[h % 7]
        return total

    def _measure(self, n0: int, n1: int) -> int:
        if n1 <= n0:
            return 0
        d0, t0 = divmod(n0, DAY)
        d1, t1 = divmod(n1, DAY)
        if d0 == d1:
            return self._work_in_day(d0, t0, t1)
        return (self._work_in_day(d0, t0, DAY) + self._full_days(d0 + 1, d1)
                + self._work_in_day(d1, 0, t1))

    def _advance(self, n0: int, amount: int) -> int:
        """Smallest n with _measure(n0, n) >= amount > 0 (n is inside or ends an interval)."""
        d, t = divmod(n0, DAY)
        while True:
            if d not in self._holset:
                for s, e in self._days[d % 7]:
                    lo = s if s > t else t
                    if e > lo:
                        if amount <= e - lo:
                            return d * DAY + lo + amount
                        amount -= e - lo
            d, t = d + 1, 0
            if amount > self._week:
                # Skip whole weeks; holidays make the measure smaller than k weeks, so at least
                # one microsecond is always left for the day walk.
                k = (amount - 1) // self._week
                amount -= self._full_days(d, d + 7 * k)
                d += 7 * k

    def _next_start(self, n0: int, limit: int) -> int | None:
        """Smallest working n in [n0, limit) on the naive local line, or None."""
        d, t = divmod(n0, DAY)
        while d * DAY < limit:
            if d not in self._holset:
                for s, e in self._days[d % 7]:
                    if e > t:
                        n = d * DAY + (s if s > t else t)
                        return n if n < limit else None
            d, t = d + 1, 0
        return None

    # -- arithmetic on the UTC time line, piece by piece --

    def _between(self, u0: int, u1: int) -> int:
        total, u = 0, u0
        while u < u1:
            offset, end = _piece(self._tz, u)
            hi = end if end < u1 else u1
            total += self._measure(u + offset, hi + offset)
            u = hi
        return total

    def _add(self, u: int, amount: int) -> int:
        while True:
            offset, end = _piece(self._tz, u)
            available = self._measure(u + offset, end + offset)
            if amount <= available:
                return self._advance(u + offset, amount) - offset
            amount -= available
            u = end

    def _is_business(self, u: int) -> bool:
        offset, _ = _piece(self._tz, u)
        d, t = divmod(u + offset, DAY)
        return d not in self._holset and any(s <= t < e for s, e in self._days[d % 7])

    def _next_business(self, u: int) -> int:
        while True:
            offset, end = _piece(self._tz, u)
            n = self._next_start(u + offset, end + offset)
            if n is not None:
                return n - offset
            u = end


def _check_interval(day: str, interval) -> tuple[time, time]:
    try:
        start, end = interval
    except (TypeError, ValueError):
        raise ValueError(f"{day}: each interval must be a (start, end) pair, not {interval!r}")
    for value in (start, end):
        if not isinstance(value, time):
            raise ValueError(f"{day}: interval bounds must be datetime.time, not {value!r}")
        if value.tzinfo is not None:
            raise ValueError(f"{day}: interval bounds are local times and must not carry a "
                             "tzinfo (the calendar's timezone applies)")
    return start, end


def _weekday_key(key) -> int:
    if isinstance(key, int) and not isinstance(key, bool) and 0 <= key <= 6:
        return key
    if isinstance(key, str) and key.strip().lower() in _DAY_KEYS:
        return _DAY_KEYS[key.strip().lower()]
    raise ValueError(f"unknown weekday {key!r} (expected mon, tue, wed, thu, fri, sat, sun)")


def _parse_clock(day: str, label: str, text: str, *, is_end: bool) -> time:
    parts = text.strip().split(":")
    error = ValueError(f"{day}: interval {label!r}: {text.strip()!r} is not a time of day "
                       "(HH:MM or HH:MM:SS, 00:00-24:00)")
    if len(parts) not in (2, 3) or not all(p.isdigit() for p in parts[:2]):
        raise error
    hours, minutes = int(parts[0]), int(parts[1])
    seconds, micro = 0, 0
    if len(parts) == 3:
        whole, _, fraction = parts[2].partition(".")
        if not whole.isdigit() or len(whole) != 2 or (fraction and not (
                fraction.isdigit() and len(fraction) <= 6)):
            raise error
        seconds, micro = int(whole), int(fraction.ljust(6, "0")) if fraction else 0
    if len(parts[1]) != 2 or minutes > 59 or seconds > 59:
        raise error
    if hours == 24 and minutes == seconds == micro == 0:
        if not is_end:
            raise ValueError(f"{day}: interval {label!r}: 24:00 can only end an interval")
        return time(0)
    if hours > 23:
        raise error
    return time(hours, minutes, seconds, micro)


def _parse_interval(day: str, item) -> tuple[time, time]:
    if isinstance(item, str):
        start, sep, end = item.partition("-")
        if not sep:
            raise ValueError(f"{day}: interval {item!r} must look like '09:00-17:00'")
        return (_parse_clock(day, item, start, is_end=False),
                _parse_clock(day, item, end, is_end=True))
    if isinstance(item, (list, tuple)) and len(item) == 2:
        label = f"{item[0]}-{item[1]}"
        bounds = [_parse_clock(day, label, b, is_end=i == 1) if isinstance(b, str) else b
                  for i, b in enumerate(item)]
        return _check_interval(day, bounds)
    raise ValueError(f"{day}: interval {item!r} must look like '09:00-17:00'")


def _parse_day(day: str, value) -> list[tuple[time, time]]:
    if value is None:
        return []
    if isinstance(value, str):
        value = [part for part in value.split(",") if part.strip()]
    if not isinstance(value, (list, tuple)):
        raise ValueError(f"{day}: expected a list of intervals like ['09:00-17:00'], "
                         f"not {value!r}")
    return [_parse_interval(day, item) for item in value]


def _parse_holiday(value) -> date:
    if isinstance(value, datetime):
        raise ValueError(f"holiday {value!r} must be a date, not a datetime")
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise ValueError(f"holiday {value!r} is not a date (YYYY-MM-DD)")


# --- public functions -----------------------------------------------------------------------

def add_business_time(cal: WorkingCalendar, start: datetime,
                      seconds: float | int | timedelta) -> datetime:
    """The aware UTC instant when ``seconds`` of business time have elapsed after ``start``.

    0 seconds returns ``start`` (as UTC) unchanged. For positive seconds the result is the
    earliest such instant: inside a working interval or exactly at its end, never at the next
    interval's start. Negative or non-finite seconds, or a result after the supported years,
    raise ``ValueError``.
    """
    u = _to_us(start, "start")
    amount = _amount_us(seconds)
    if amount == 0:
        return start.astimezone(UTC)
    if u + amount > _LAST_US:   # business time never runs faster than real time
        raise ValueError(f"adding {seconds} s of business time to {start.isoformat()} goes "
                         f"beyond the supported years {MIN_YEAR}..{MAX_YEAR}")
    return _from_us(cal._add(u, amount))


def business_seconds_between(cal: WorkingCalendar, start: datetime,
                             end: datetime) -> int | float:
    """Business seconds in ``[start, end)``; 0 if ``end <= start``."""
    return _seconds(cal._between(_to_us(start, "start"), _to_us(end, "end")))


def business_seconds_excluding(cal: WorkingCalendar, start: datetime, end: datetime,
                               pauses: Iterable[tuple[datetime, datetime | None]]
                               ) -> int | float:
    """Business seconds in ``[start, end)`` outside every pause.

    Pauses are ``(paused_at, resumed_at)`` pairs; ``resumed_at`` None means still paused (until
    ``end``). Pauses may overlap each other, non-working time and the edges of the range; the
    paused business time is counted once. The result is never negative and never exceeds
    :func:`business_seconds_between`.
    """
    u0, u1 = _to_us(start, "start"), _to_us(end, "end")
    spans: list[tuple[int, int]] = []
    for pause in pauses:
        try:
            paused_at, resumed_at = pause
        except (TypeError, ValueError):
            raise ValueError(f"a pause must be a (paused_at, resumed_at) pair, not {pause!r}")
        a = _to_us(paused_at, "paused_at")
        if resumed_at is None:
            b = max(a, u1)
        else:
            b = _to_us(resumed_at, "resumed_at")
            if b < a:
                raise ValueError(f"pause resumes ({resumed_at.isoformat()}) before it starts "
                                 f"({paused_at.isoformat()})")
        a, b = max(a, u0), min(b, u1)
        if b > a:
            spans.append((a, b))
    if u1 <= u0:
        return 0
    spans.sort()
    paused, cursor = 0, u0
    for a, b in spans:   # merged: count each paused instant once
        a = max(a, cursor)
        if b > a:
            paused += cal._between(a, b)
            cursor = b
    return _seconds(cal._between(u0, u1) - paused)


def is_business_time(cal: WorkingCalendar, instant: datetime) -> bool:
    """Whether ``instant`` is business time (interval starts included, ends excluded)."""
    return cal._is_business(_to_us(instant))


def next_business_instant(cal: WorkingCalendar, instant: datetime) -> datetime:
    """The earliest business instant at or after ``instant`` (itself, if in business time)."""
    return _from_us(cal._next_business(_to_us(instant)))


def holidays_for(country_code: str, years: Iterable[int],
                 subdiv: str | None = None) -> frozenset[date]:
    """Public holidays of a country (ISO 3166 code, optional subdivision) from ``holidays``.

    Unknown country or subdivision -> ``ValueError``. Includes observed and substitute days off
    as the package reports them (e.g. China's "day off (substituted)"); it does not add the
    weekend days some countries work in exchange.
    """
    return frozenset(named_holidays_for(country_code, years, subdiv))


def named_holidays_for(country_code: str, years: Iterable[int],
                       subdiv: str | None = None) -> dict[date, str]:
    """Like :func:`holidays_for`, with each day's name (``{date: name}``, sorted by date)."""
    import holidays as holidays_package   # heavy import (~0.1 s); only needed here

    if not isinstance(country_code, str) or not country_code.strip():
        raise ValueError(f"country code must be an ISO 3166 code such as 'DE' "
                         f"(got {country_code!r})")
    wanted = []
    for year in years:
        if isinstance(year, bool) or not isinstance(year, int):
            raise ValueError(f"years must be integers, not {year!r}")
        wanted.append(year)
    if not wanted:
        return {}
    code = country_code.strip().upper()
    try:
        table = holidays_package.country_holidays(code, subdiv=subdiv, years=sorted(set(wanted)))
    except NotImplementedError as exc:
        where = f"country {code!r}" + (f" subdivision {subdiv!r}" if subdiv else "")
        raise ValueError(f"no holiday data for {where}") from exc
    years_set = set(wanted)
    return {day: table.get(day) for day in sorted(table.keys()) if day.year in years_set}
