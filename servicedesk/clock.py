"""The one source of "now": SystemClock in production, FrozenClock in tests.

Views, jobs and CLI commands read ``now`` once and pass it down as a value; services never
call ``datetime.now`` themselves.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    """Wall-clock time as an aware UTC datetime."""

    def now(self) -> datetime:
        return datetime.now(timezone.utc)


class FrozenClock:
    """A settable clock for tests: time only moves when told to."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
        if self._now.tzinfo is None:
            raise ValueError("FrozenClock needs an aware datetime")

    def now(self) -> datetime:
        return self._now

    def set(self, when: datetime) -> None:
        if when.tzinfo is None:
            raise ValueError("FrozenClock needs an aware datetime")
        self._now = when

    def advance(self, **delta: float) -> datetime:
        self._now += timedelta(**delta)
        return self._now


def get_clock() -> Clock:
    """The clock of the current Flask app (``app.extensions['clock']``)."""
    from flask import current_app

    return current_app.extensions["clock"]


def utcnow() -> datetime:
    return get_clock().now()
