"""Calendar, holiday, SLA policy and escalation rule administration (managers and admins).

Service functions in the house style: session, actor and ``now`` passed in; they validate,
mutate and flush, never commit; errors name the field (``weekly.mon``, ``timezone``,
``warning_thresholds``...).

What an edit does to clocks that are already running (the admin pages say the same):

- Calendar hours, time zone or holidays: the change counts from the moment it is saved.
  Running clocks on that calendar keep the business time already counted (measured with the
  old calendar) and their due times are recomputed with the new one; paused and stopped
  clocks are untouched until they run again.
- Policies: running clocks keep the policy they started under. Targets and calendar are
  stored on each clock; when a change touches what running clocks read from their policy
  (warning thresholds, pausing statuses, escalation rules), the policy as it was is first
  copied to an inactive, read-only earlier version (``superseded_by_id``) and the clocks that
  may still run (running, paused, or of a resolved ticket that can be reopened) move to it.
  New tickets get the edited policy; a ticket's priority change re-targets its clocks to the
  current policy that matches, keeping elapsed time.
"""
from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, Iterator
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session

from servicedesk.accounts import permissions
from servicedesk.accounts.admin import time_zones
from servicedesk.accounts.models import User, Vendor
from servicedesk.catalog.models import Category, Service
from servicedesk.db import update_rows
from servicedesk.errors import Conflict, PermissionDenied, ValidationError
from servicedesk.sla import services as sla
from servicedesk.sla.calendar import (
    DAY_NAMES, WorkingCalendar, business_seconds_between, named_holidays_for,
)
from servicedesk.sla.defaults import BUSINESS_DAY_MINUTES
from servicedesk.sla.models import (
    Calendar, ClockKind, ClockState, EscalationAction, EscalationRule, Holiday, SLAClock,
    SLAPolicy,
)
from servicedesk.tickets.models import Status, Ticket

NAME_MAX = 120
#: Statuses a policy may pause its resolution clock in.
PAUSABLE_STATUSES = (Status.pending_customer.value, Status.pending_vendor.value)
DEFAULT_PAUSE_STATUSES = (Status.pending_customer.value,)
DEFAULT_THRESHOLDS = (50, 75)
MAX_THRESHOLDS = 5
#: Longest target accepted: one year of minutes.
MAX_TARGET_MINUTES = 366 * 24 * 60
#: Years one holiday import may span, and the years accepted at all.
MAX_IMPORT_YEARS = 10
IMPORT_YEARS = (1950, 2100)
RULE_KINDS = (ClockKind.response, ClockKind.resolution)


def require_sla_admin(actor: User) -> None:
    if not permissions.can_manage_sla(actor):
        raise PermissionDenied("Only managers and admins change calendars, SLA policies "
                               "and budgets.")


def _name(value: Any) -> str:
    name = value.strip() if isinstance(value, str) else ""
    if not name:
        raise ValidationError("Name is required.", field="name")
    if len(name) > NAME_MAX:
        raise ValidationError(f"Name is too long ({NAME_MAX} characters at most).",
                              field="name")
    return name


def _unique_name(session: Session, model, name: str, current_id: int | None) -> None:
    clash = session.scalar(sa.select(model.id).where(sa.func.lower(model.name) == name.lower(),
                                                     model.id != (current_id or 0)))
    if clash is not None:
        raise ValidationError(f"The name {name!r} is already used.", field="name")


# --- calendars -----------------------------------------------------------------------------

def _timezone(value: Any) -> str:
    name = value.strip() if isinstance(value, str) else ""
    if name not in time_zones():
        raise ValidationError(f"Unknown time zone {name!r}; use an IANA name such as "
                              "Europe/Berlin or Asia/Shanghai.", field="timezone")
    return name


def canonical_weekly(timezone: str, weekly: Any) -> dict[str, list[str]]:
    """Validate weekly hours and return them in canonical form (``{"mon": ["09:00-17:00"]}``).

    Each day is a list of "HH:MM-HH:MM" strings or one comma-separated string; "24:00" ends a
    day. Errors name the day (``weekly.mon``): bad times, end before start, overlaps.
    """
    if not isinstance(weekly, dict):
        raise ValidationError("Weekly hours must map days (mon .. sun) to intervals.",
                              field="weekly")
    unknown = [k for k in weekly if k not in DAY_NAMES]
    if unknown:
        raise ValidationError(f"Unknown day {unknown[0]!r}; use mon, tue, wed, thu, fri, "
                              "sat, sun.", field="weekly")
    for day in DAY_NAMES:  # one day at a time, so the error names the day
        value = weekly.get(day)
        if value is None or (isinstance(value, (str, list)) and not value):
            continue
        try:
            WorkingCalendar.from_spec(timezone, {day: value})
        except ValueError as exc:
            message = str(exc)
            if "no working time" in message:
                continue  # a closed day on its own; the whole week is checked below
            raise ValidationError(_sentence(message), field=f"weekly.{day}") from None
        except TypeError:
            raise ValidationError(f"{day}: give intervals like '09:00-12:00, 13:00-18:00'.",
                                  field=f"weekly.{day}") from None
    try:
        cal = WorkingCalendar.from_spec(timezone, {d: weekly.get(d) for d in DAY_NAMES})
    except ValueError as exc:
        raise ValidationError(_sentence(str(exc)), field="weekly") from None
    spec = cal.to_spec()["weekly_spec"]
    return {day: spec[day] for day in DAY_NAMES if spec[day]}


def _sentence(message: str) -> str:
    return message[:1].upper() + message[1:] + ("" if message.endswith(".") else ".")


def create_calendar(session: Session, *, actor: User, name: Any, timezone: Any,
                    weekly: Any) -> Calendar:
    require_sla_admin(actor)
    name = _name(name)
    _unique_name(session, Calendar, name, None)
    tz = _timezone(timezone)
    calendar = Calendar(name=name, timezone=tz, weekly=canonical_weekly(tz, weekly),
                        is_builtin=False)
    session.add(calendar)
    session.flush()
    return calendar


def require_editable(calendar: Calendar) -> None:
    if calendar.is_builtin:
        raise Conflict("The built-in 24x7 calendar cannot be changed or deleted.",
                       fields={"calendar": "built-in"})


def update_calendar(session: Session, calendar: Calendar, *, actor: User, name: Any,
                    timezone: Any, weekly: Any, now: datetime) -> Calendar:
    """Rename, move to another zone or change the hours; counts from ``now`` on."""
    require_sla_admin(actor)
    require_editable(calendar)
    name = _name(name)
    _unique_name(session, Calendar, name, calendar.id)
    tz = _timezone(timezone)
    canonical = canonical_weekly(tz, weekly)
    with _refolding(session, calendar, now):
        calendar.name = name
        calendar.timezone = tz
        calendar.weekly = canonical
    return calendar


def calendar_users(session: Session, calendar: Calendar) -> dict[str, list[str]]:
    """What refers to ``calendar``: policy names, vendor names, and clock count."""
    policies = list(session.scalars(sa.select(SLAPolicy.name)
                                    .where(SLAPolicy.calendar_id == calendar.id)
                                    .order_by(SLAPolicy.name)))
    vendors = list(session.scalars(sa.select(Vendor.name).where(Vendor.calendar_id == calendar.id)
                                   .order_by(Vendor.name)))
    clocks = session.scalar(sa.select(sa.func.count(SLAClock.id))
                            .where(SLAClock.calendar_id == calendar.id))
    return {"policies": policies, "vendors": vendors, "clocks": clocks or 0}


def delete_calendar(session: Session, calendar: Calendar, *, actor: User) -> None:
    require_sla_admin(actor)
    require_editable(calendar)
    users = calendar_users(session, calendar)
    if users["policies"] or users["vendors"]:
        used = [f"policy {n}" for n in users["policies"]] + \
               [f"vendor {n}" for n in users["vendors"]]
        raise Conflict(f"{calendar.name} is in use by {', '.join(used)}; move them to another "
                       "calendar first.", fields={"calendar": "in use"})
    if users["clocks"]:
        raise Conflict(f"{calendar.name} is kept because {users['clocks']} ticket clock(s) "
                       "counted in it (their history needs it).",
                       fields={"calendar": "in use"})
    session.delete(calendar)
    session.flush()


@contextmanager
def _refolding(session: Session, calendar: Calendar, now: datetime) -> Iterator[None]:
    """Around a change to ``calendar``: running clocks on it keep the business time counted
    with the calendar as it was, and get due times recomputed with the calendar as it is."""
    old = sla.working_calendar(calendar)
    yield
    session.flush()
    session.expire(calendar, ["holidays"])
    _refold_running_clocks(session, calendar.id, old, sla.working_calendar(calendar), now)


#: Running clocks read and rewritten per statement pair when a calendar changes.
REFOLD_BATCH = 2000


@dataclass(slots=True)
class _RunningClock:
    """The columns of a running clock the business-time arithmetic reads and sets."""
    id: int
    segment_started_at: datetime
    elapsed_before: float
    target_seconds: int
    next_threshold: int | None
    state: ClockState = ClockState.running
    due_at: datetime | None = None
    next_check_at: datetime | None = None


def _refold_running_clocks(session: Session, calendar_id: int, old, new, now: datetime) -> int:
    """Running clocks on the calendar keep the business time counted so far with the ``old``
    hours and get due and next-check times from the ``new`` ones: read as plain rows and
    written back by one bulk UPDATE per batch (ORM objects cost ~5x more per clock)."""
    c = SLAClock.__table__.c
    query = (sa.select(c.id, c.segment_started_at, c.elapsed_before, c.target_seconds,
                       c.next_threshold)
             .where(c.calendar_id == calendar_id, c.state == ClockState.running,
                    c.id > sa.bindparam("after"))
             .order_by(c.id).limit(REFOLD_BATCH))
    after = refolded = 0
    while rows := session.execute(query, {"after": after}).all():
        changes = []
        for row in rows:
            clock = _RunningClock(*row)
            clock.elapsed_before = sla.elapsed_seconds(clock, old, now)
            clock.segment_started_at = now
            sla.reschedule(clock, new)
            changes.append({"id": clock.id, "elapsed_before": clock.elapsed_before,
                            "segment_started_at": now, "due_at": clock.due_at,
                            "next_check_at": clock.next_check_at})
        update_rows(session, SLAClock.__table__, changes, set_={
            name: name for name in ("elapsed_before", "segment_started_at", "due_at",
                                    "next_check_at")})
        after, refolded = rows[-1].id, refolded + len(rows)
    for obj in list(session.identity_map.values()):  # clocks loaded before may be stale now
        if isinstance(obj, SLAClock):
            session.expire(obj)  # (reading obj.calendar_id first could load each one)
    return refolded


# --- holidays ------------------------------------------------------------------------------

def _day(value: Any, field: str = "day") -> date:
    if isinstance(value, datetime):
        value = value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(value.strip()) if isinstance(value, str) else _bad_day(field)
    except ValueError:
        return _bad_day(field)


def _bad_day(field: str):
    raise ValidationError("Give a date as YYYY-MM-DD.", field=field)


def _holiday_name(value: Any) -> str:
    name = value.strip() if isinstance(value, str) else ""
    if len(name) > NAME_MAX:
        raise ValidationError(f"Name is too long ({NAME_MAX} characters at most).",
                              field="name")
    return name


def add_holiday(session: Session, calendar: Calendar, *, actor: User, day: Any, name: Any,
                now: datetime) -> Holiday:
    require_sla_admin(actor)
    require_editable(calendar)
    day, name = _day(day), _holiday_name(name)
    if any(h.day == day for h in calendar.holidays):
        raise ValidationError(f"{day.isoformat()} is already a holiday in {calendar.name}.",
                              field="day")
    with _refolding(session, calendar, now):
        holiday = Holiday(calendar_id=calendar.id, day=day, name=name)
        session.add(holiday)
    return holiday


def remove_holiday(session: Session, calendar: Calendar, *, actor: User, day: Any,
                   now: datetime) -> None:
    require_sla_admin(actor)
    require_editable(calendar)
    day = _day(day)
    holiday = session.get(Holiday, (calendar.id, day))
    if holiday is None:
        raise ValidationError(f"{day.isoformat()} is not a holiday in {calendar.name}.",
                              field="day")
    with _refolding(session, calendar, now):
        session.delete(holiday)


def _import_years(year_from: Any, year_to: Any) -> list[int]:
    lo, hi = IMPORT_YEARS
    years = []
    for field, value in (("year_from", year_from), ("year_to", year_to)):
        if isinstance(value, str) and value.strip().isdigit():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
            raise ValidationError(f"Give a year between {lo} and {hi}.", field=field)
        years.append(value)
    if years[1] < years[0]:
        raise ValidationError("The last year comes before the first.", field="year_to")
    if years[1] - years[0] + 1 > MAX_IMPORT_YEARS:
        raise ValidationError(f"Import at most {MAX_IMPORT_YEARS} years at a time.",
                              field="year_to")
    return list(range(years[0], years[1] + 1))


def country_holidays(country: Any, year_from: Any, year_to: Any) -> dict[date, str]:
    """Public holidays of an ISO 3166 country for the years, from the ``holidays`` package."""
    years = _import_years(year_from, year_to)
    code = country.strip().upper() if isinstance(country, str) else ""
    if not (2 <= len(code) <= 3 and code.isalpha()):
        raise ValidationError("Give an ISO 3166 country code such as DE, FR or CN.",
                              field="country")
    try:
        return named_holidays_for(code, years)
    except ValueError:
        raise ValidationError(f"No holiday data for country {code!r}.",
                              field="country") from None


@dataclass(frozen=True)
class ImportPreview:
    country: str
    years: tuple[int, int]
    days: dict[date, str]
    #: Dates of ``days`` the calendar already has (ignored by the import).
    existing: frozenset[date]

    @property
    def new_days(self) -> dict[date, str]:
        return {d: n for d, n in self.days.items() if d not in self.existing}


def preview_import(calendar: Calendar, *, country: Any, year_from: Any,
                   year_to: Any) -> ImportPreview:
    days = country_holidays(country, year_from, year_to)
    have = {h.day for h in calendar.holidays}
    return ImportPreview(country=country.strip().upper(), years=(int(year_from), int(year_to)),
                         days=days, existing=frozenset(d for d in days if d in have))


def import_holidays(session: Session, calendar: Calendar, *, actor: User, country: Any,
                    year_from: Any, year_to: Any, now: datetime) -> ImportPreview:
    """Add a country's holidays for the years; dates already present are left as they are."""
    require_sla_admin(actor)
    require_editable(calendar)
    preview = preview_import(calendar, country=country, year_from=year_from, year_to=year_to)
    with _refolding(session, calendar, now):
        for day, name in preview.new_days.items():
            session.add(Holiday(calendar_id=calendar.id, day=day, name=(name or "")[:NAME_MAX]))
    return preview


# --- what a calendar looks like ------------------------------------------------------------

@dataclass(frozen=True)
class DayPreview:
    day: date
    intervals: list[str]
    holiday: str | None
    seconds: int | float

    @property
    def hours(self) -> str:
        return format_seconds(self.seconds) if self.seconds else "—"


def week_preview(calendar: Calendar, now: datetime, days: int = 7) -> list[DayPreview]:
    """Working time on each of the next ``days`` local dates (from today in the calendar's
    zone), measured with the real arithmetic, so DST days and holidays show as they count."""
    cal = sla.working_calendar(calendar)
    zone = ZoneInfo(calendar.timezone)
    today = now.astimezone(zone).date()
    names = {h.day: h.name or "Holiday" for h in calendar.holidays}
    spec = cal.to_spec()["weekly_spec"]
    out = []
    for i in range(days):
        day = today + timedelta(days=i)
        start = datetime.combine(day, time(0), zone)
        end = datetime.combine(day + timedelta(days=1), time(0), zone)
        out.append(DayPreview(day=day, intervals=spec[DAY_NAMES[day.weekday()]],
                              holiday=names.get(day),
                              seconds=business_seconds_between(cal, start, end)))
    return out


def format_seconds(seconds: int | float) -> str:
    minutes = int(round(seconds / 60))
    hours, rest = divmod(minutes, 60)
    if not hours:
        return f"{rest} min"
    return f"{hours} h" + (f" {rest} min" if rest else "")


def format_target(minutes: int, calendar: Calendar | None) -> str:
    """A target in words: "15 min", "4 h", "1 business day" (8 h) on a business calendar."""
    round_clock = calendar is None or calendar.is_builtin
    if not round_clock and minutes >= BUSINESS_DAY_MINUTES \
            and minutes % BUSINESS_DAY_MINUTES == 0:
        n = minutes // BUSINESS_DAY_MINUTES
        return f"{n} business day{'s' if n != 1 else ''}"
    return format_seconds(minutes * 60)


# --- policies ------------------------------------------------------------------------------

def _optional_ref(session: Session, model, value: Any, field: str, label: str):
    if value in (None, ""):
        return None
    obj = session.get(model, value) if isinstance(value, int) and not isinstance(value, bool) \
        else None
    if obj is None or not getattr(obj, "is_active", True):
        raise ValidationError(f"Choose an existing {label}.", field=field)
    return obj


def _priority(value: Any) -> int | None:
    if value in (None, ""):
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 4:
        raise ValidationError("Priority must be 1 .. 4 (P1 .. P4) or any.", field="priority")
    return value


def _minutes(value: Any, field: str) -> int:
    label = "Response" if field.startswith("response") else "Resolution"
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(f"{label} target must be a whole number of minutes.", field=field)
    if value <= 0:
        raise ValidationError(f"{label} target must be positive.", field=field)
    if value > MAX_TARGET_MINUTES:
        raise ValidationError(f"{label} target is longer than a year.", field=field)
    return value


def _pause_statuses(value: Any) -> list[str]:
    if value is None:
        return list(DEFAULT_PAUSE_STATUSES)
    if not isinstance(value, (list, tuple)) or any(v not in PAUSABLE_STATUSES for v in value):
        raise ValidationError(f"Pausing statuses must be among {', '.join(PAUSABLE_STATUSES)}.",
                              field="pause_statuses")
    return [s for s in PAUSABLE_STATUSES if s in value]


def _thresholds(value: Any) -> list[int]:
    if value is None:
        return list(DEFAULT_THRESHOLDS)
    if not isinstance(value, (list, tuple)) or len(value) > MAX_THRESHOLDS:
        raise ValidationError(f"Give up to {MAX_THRESHOLDS} warning thresholds.",
                              field="warning_thresholds")
    for t in value:
        if isinstance(t, bool) or not isinstance(t, int) or not 0 < t < 100:
            raise ValidationError("Warning thresholds are percentages above 0 and below 100 "
                                  "(the breach at 100 % is always there).",
                                  field="warning_thresholds")
    if len(set(value)) != len(value):
        raise ValidationError("Warning thresholds must differ.", field="warning_thresholds")
    return sorted(value)


@dataclass
class PolicyFields:
    """Everything a policy form or API body sets (validated by :func:`save_policy`)."""

    name: Any
    priority: Any
    service_id: Any
    category_id: Any
    response_minutes: Any
    resolution_minutes: Any
    calendar_id: Any
    pause_statuses: Any = None
    warning_thresholds: Any = None
    is_active: Any = True


def save_policy(session: Session, policy: SLAPolicy | None, fields: PolicyFields, *,
                actor: User, now: datetime) -> SLAPolicy:
    """Create (``policy`` None) or update a policy; see the module doc for running clocks."""
    require_sla_admin(actor)
    if policy is not None:
        require_current(policy)
    name = _name(fields.name)
    _unique_name(session, SLAPolicy, name, policy.id if policy else None)
    priority = _priority(fields.priority)
    service = _optional_ref(session, Service, fields.service_id, "service_id", "service")
    category = _optional_ref(session, Category, fields.category_id, "category_id", "category")
    response = _minutes(fields.response_minutes, "response_minutes")
    resolution = _minutes(fields.resolution_minutes, "resolution_minutes")
    calendar = session.get(Calendar, fields.calendar_id) \
        if isinstance(fields.calendar_id, int) else None
    if calendar is None:
        raise ValidationError("Choose a calendar.", field="calendar_id")
    pauses = _pause_statuses(fields.pause_statuses)
    thresholds = _thresholds(fields.warning_thresholds)
    if not isinstance(fields.is_active, bool):
        raise ValidationError("Active must be true or false.", field="is_active")
    if policy is not None:
        orphans = sorted({r.threshold for r in policy.rules
                          if r.threshold < 100 and r.threshold not in thresholds})
        if orphans:
            raise ValidationError(f"Escalation rules use {', '.join(map(str, orphans))} %; "
                                  "remove those rules before dropping the threshold.",
                                  field="warning_thresholds")
    if fields.is_active:
        twin = session.scalar(sa.select(SLAPolicy.name).where(
            SLAPolicy.is_active, SLAPolicy.id != (policy.id if policy else 0),
            _same(SLAPolicy.priority, priority),
            _same(SLAPolicy.service_id, service and service.id),
            _same(SLAPolicy.category_id, category and category.id)))
        if twin is not None:
            raise Conflict(f"The active policy {twin} already applies to exactly these tickets; "
                           "change its criteria or deactivate one of them.",
                           fields={"priority": "same criteria"})
    if policy is None:
        policy = SLAPolicy(rules=[])
        session.add(policy)
    elif policy.pause_statuses != pauses or policy.warning_thresholds != thresholds:
        keep_version_for_running_clocks(session, policy, now)
    policy.name, policy.priority = name, priority
    policy.service, policy.category = service, category
    policy.response_minutes, policy.resolution_minutes = response, resolution
    policy.calendar = calendar
    policy.pause_statuses, policy.warning_thresholds = pauses, thresholds
    policy.is_active = fields.is_active
    session.flush()
    return policy


def _same(column, value):
    return column.is_(None) if value is None else column == value


def require_current(policy: SLAPolicy) -> None:
    if policy.superseded_by_id is not None:
        raise Conflict(f"{policy.name} is an earlier version kept for the clocks that started "
                       "under it; edit the current policy instead.",
                       fields={"policy": "earlier version"})


def _clocks_under(policy: SLAPolicy) -> sa.ColumnElement[bool]:
    """Ticket clocks of ``policy`` that may still count: not stopped, or stopped on a resolved
    ticket (reopening resumes them)."""
    resolved = sa.select(Ticket.id).where(Ticket.status == Status.resolved)
    return sa.and_(SLAClock.policy_id == policy.id, SLAClock.engagement_id.is_(None),
                   sa.or_(SLAClock.state != ClockState.stopped, SLAClock.ticket_id.in_(resolved)))


def keep_version_for_running_clocks(session: Session, policy: SLAPolicy,
                                    now: datetime) -> SLAPolicy | None:
    """Before changing thresholds, pausing statuses or rules: copy ``policy`` as it is to an
    earlier version and move the clocks that may still count to it (one UPDATE), so they
    finish under the terms they started with. None when no clock needs it."""
    if session.scalar(sa.select(SLAClock.id).where(_clocks_under(policy)).limit(1)) is None:
        return None
    number = 1 + (session.scalar(sa.select(sa.func.count(SLAPolicy.id))
                                 .where(SLAPolicy.superseded_by_id == policy.id)) or 0)
    suffix = f" · v{number} until {now:%Y-%m-%d %H:%M} UTC"
    version = SLAPolicy(
        name=policy.name[:NAME_MAX - len(suffix)] + suffix, priority=policy.priority,
        service_id=policy.service_id, category_id=policy.category_id,
        response_minutes=policy.response_minutes, resolution_minutes=policy.resolution_minutes,
        calendar_id=policy.calendar_id, pause_statuses=list(policy.pause_statuses),
        warning_thresholds=list(policy.warning_thresholds), is_active=False,
        superseded_by_id=policy.id, superseded_at=now,
        rules=[EscalationRule(clock_kind=r.clock_kind, threshold=r.threshold, action=r.action)
               for r in policy.rules])
    session.add(version)
    session.flush()
    session.execute(sa.update(SLAClock).where(_clocks_under(policy))
                    .values(policy_id=version.id)
                    .execution_options(synchronize_session="fetch"))
    return version


def policy_scope(policy: SLAPolicy) -> str:
    """What a policy applies to, in words: "P1 · service Radar · any category"."""
    parts = [f"P{policy.priority}" if policy.priority else "any priority"]
    if policy.service is not None:
        parts.append(f"service {policy.service.name}")
    if policy.category is not None:
        parts.append(f"category {policy.category.name}")
    return " · ".join(parts)


def list_policies(session: Session, *, versions: bool = False) -> list[SLAPolicy]:
    """Current policies (active first, by priority and name), or with ``versions`` the
    earlier versions kept for running clocks, newest first."""
    P = SLAPolicy
    if versions:
        return list(session.scalars(sa.select(P).where(P.superseded_by_id.is_not(None))
                                    .order_by(P.superseded_at.desc(), P.id.desc())))
    return list(session.scalars(sa.select(P).where(P.superseded_by_id.is_(None)).order_by(
        P.is_active.desc(), sa.func.coalesce(P.priority, 9), P.name)))


def list_calendars(session: Session) -> list[Calendar]:
    return list(session.scalars(sa.select(Calendar).order_by(Calendar.is_builtin.desc(),
                                                             Calendar.name)))


# --- escalation rules ----------------------------------------------------------------------

def add_rule(session: Session, policy: SLAPolicy, *, actor: User, clock_kind: Any,
             threshold: Any, action: Any, now: datetime) -> EscalationRule:
    """One more action at one threshold of one clock kind (response or resolution)."""
    require_sla_admin(actor)
    require_current(policy)
    try:
        kind = ClockKind(clock_kind)
        if kind not in RULE_KINDS:
            raise ValueError
    except ValueError:
        raise ValidationError("Clock must be response or resolution.",
                              field="clock_kind") from None
    if isinstance(threshold, bool) or not isinstance(threshold, int) \
            or threshold not in policy.thresholds:
        raise ValidationError(f"Threshold must be one of the policy's thresholds "
                              f"({', '.join(map(str, policy.thresholds))} %).",
                              field="threshold")
    try:
        act = EscalationAction(action)
    except ValueError:
        raise ValidationError("Action must be one of "
                              f"{', '.join(a.value for a in EscalationAction)}.",
                              field="action") from None
    if any(r.clock_kind is kind and r.threshold == threshold and r.action is act
           for r in policy.rules):
        raise Conflict(f"{policy.name} already does that at {threshold} % of the "
                       f"{kind.value} clock.", fields={"action": "duplicate"})
    keep_version_for_running_clocks(session, policy, now)
    rule = EscalationRule(clock_kind=kind, threshold=threshold, action=act)
    policy.rules.append(rule)
    session.flush()
    return rule


def remove_rule(session: Session, policy: SLAPolicy, rule_id: int, *, actor: User,
                now: datetime) -> None:
    require_sla_admin(actor)
    require_current(policy)
    rule = next((r for r in policy.rules if r.id == rule_id), None)
    if rule is None:
        raise ValidationError("No such rule on this policy.", field="rule_id")
    keep_version_for_running_clocks(session, policy, now)
    policy.rules.remove(rule)
    session.flush()
