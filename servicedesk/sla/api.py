"""/api/v1/sla/... (calendars, holidays, policies, escalation rules, scheduler status) and
/api/v1/budgets. Staff read; managers and admins write (the same services as the admin pages,
so the same rules and messages)."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal

import pydantic
from flask import current_app

from servicedesk.accounts import permissions
from servicedesk.clock import utcnow
from servicedesk.db import transaction
from servicedesk.errors import NotFound
from servicedesk.escalation import budgets
from servicedesk.extensions import db
from servicedesk.sla import admin, heartbeat
from servicedesk.sla.calendar import DAY_NAMES
from servicedesk.sla.models import Calendar, ClockKind, EscalationAction, SLAPolicy
from servicedesk.web.api import (
    ID, ApiModel, Id, OutModel, api_blueprint, api_user, documented, parse_body, text,
)

bp = api_blueprint("sla_api", __name__)

STAFF = "staff (agents, experts, managers, admins)"
MANAGERS = "managers and admins"
Day = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
Pausable = Literal["pending_customer", "pending_vendor"]
Interval = Annotated[str, pydantic.Field(strict=True, max_length=40)]


def _staff() -> None:
    permissions.ensure(permissions.can_see_internal(api_user()),
                       "Only staff can read SLA configuration.")


def _manager() -> None:
    permissions.ensure(permissions.can_manage_sla(api_user()),
                       "Only managers and admins change calendars, policies and budgets.")


def _load(model, object_id: int):
    obj = db.session.get(model, object_id)
    if obj is None:
        raise NotFound(f"{model.__name__} {object_id} not found.")
    return obj


# --- calendars and holidays ----------------------------------------------------------------

class HolidayOut(OutModel):
    day: date
    name: str


class HolidayList(OutModel):
    """A calendar's holidays by date."""

    items: list[HolidayOut]


class CalendarOut(OutModel):
    """A business calendar: weekly local working hours in a time zone, minus holidays."""

    id: int
    name: str
    timezone: str
    weekly: dict[Day, list[str]]
    """Local working intervals per weekday, e.g. {"mon": ["09:00-12:00", "13:00-18:00"]};
    missing days are closed; "24:00" ends a day."""
    is_builtin: bool
    """The built-in 24x7 calendar: cannot be changed or deleted."""
    holidays: list[HolidayOut]


class CalendarList(OutModel):
    """Calendars, the built-in one first, then by name."""

    items: list[CalendarOut]


class CalendarIn(ApiModel):
    """Create or replace a calendar. Changes count from now: running clocks keep the business
    time already counted and get due times recomputed with the new hours."""

    name: text(120)
    timezone: text(64)
    """IANA zone name, e.g. Europe/Berlin."""
    weekly: dict[Day, list[Interval] | Interval | None]
    """Per weekday a list of "HH:MM-HH:MM" or one comma-separated string; empty = closed."""


class HolidayIn(ApiModel):
    day: date
    name: text(120, min_length=0) = ""


class HolidayImportIn(ApiModel):
    """Import a country's public holidays (``holidays`` package); existing dates are kept."""

    country: text(3, min_length=2)
    """ISO 3166 country code, e.g. DE."""
    year_from: Annotated[int, pydantic.Field(strict=True)]
    year_to: Annotated[int, pydantic.Field(strict=True)]


class HolidayImportOut(OutModel):
    """What the import found: ``added`` new dates, ``skipped`` already in the calendar."""

    country: str
    found: int
    added: list[HolidayOut]
    skipped: int


def _calendar_out(cal: Calendar) -> dict:
    return CalendarOut(
        id=cal.id, name=cal.name, timezone=cal.timezone, is_builtin=cal.is_builtin,
        weekly={d: list(cal.weekly.get(d) or []) for d in DAY_NAMES if cal.weekly.get(d)},
        holidays=[HolidayOut(day=h.day, name=h.name or "") for h in cal.holidays],
    ).model_dump(mode="json")


@bp.get("/sla/calendars")
@documented("Calendars", response=CalendarList, roles=STAFF, tag="sla", errors=(403,))
def list_calendars():
    _staff()
    return {"items": [_calendar_out(c) for c in admin.list_calendars(db.session)]}


@bp.post("/sla/calendars")
@documented("Create a calendar", body=CalendarIn, response=CalendarOut, status=201,
            roles=MANAGERS, tag="sla", errors=(403,))
def create_calendar():
    _manager()
    body = parse_body(CalendarIn)
    with transaction(db.session):
        cal = admin.create_calendar(db.session, actor=api_user(), name=body.name,
                                    timezone=body.timezone, weekly=dict(body.weekly))
        out = _calendar_out(cal)
    return out, 201


@bp.get(f"/sla/calendars/<{ID}:calendar_id>")
@documented("A calendar", response=CalendarOut, roles=STAFF, tag="sla", errors=(403,))
def get_calendar(calendar_id: int):
    _staff()
    return _calendar_out(_load(Calendar, calendar_id))


@bp.put(f"/sla/calendars/<{ID}:calendar_id>")
@documented("Replace a calendar's name, zone and hours", body=CalendarIn, response=CalendarOut,
            roles=MANAGERS, tag="sla", errors=(403, 409))
def put_calendar(calendar_id: int):
    _manager()
    cal = _load(Calendar, calendar_id)
    body = parse_body(CalendarIn)
    with transaction(db.session):
        admin.update_calendar(db.session, cal, actor=api_user(), name=body.name,
                              timezone=body.timezone, weekly=dict(body.weekly), now=utcnow())
        out = _calendar_out(cal)
    return out


@bp.delete(f"/sla/calendars/<{ID}:calendar_id>")
@documented("Delete an unused calendar",
            description="Refused (409) for the built-in calendar and for calendars used by a "
                        "policy, a vendor or any ticket clock.",
            response_description="Deleted", status=204, roles=MANAGERS, tag="sla",
            errors=(403, 409))
def delete_calendar(calendar_id: int):
    _manager()
    cal = _load(Calendar, calendar_id)
    with transaction(db.session):
        admin.delete_calendar(db.session, cal, actor=api_user())
    return "", 204


@bp.get(f"/sla/calendars/<{ID}:calendar_id>/holidays")
@documented("A calendar's holidays", response=HolidayList, roles=STAFF, tag="sla",
            errors=(403,))
def list_holidays(calendar_id: int):
    _staff()
    cal = _load(Calendar, calendar_id)
    return HolidayList(items=[HolidayOut(day=h.day, name=h.name or "")
                              for h in cal.holidays]).model_dump(mode="json")


@bp.post(f"/sla/calendars/<{ID}:calendar_id>/holidays")
@documented("Add a holiday", body=HolidayIn, response=HolidayOut, status=201, roles=MANAGERS,
            tag="sla", errors=(403, 409))
def add_holiday(calendar_id: int):
    _manager()
    cal = _load(Calendar, calendar_id)
    body = parse_body(HolidayIn)
    with transaction(db.session):
        holiday = admin.add_holiday(db.session, cal, actor=api_user(), day=body.day,
                                    name=body.name, now=utcnow())
        out = HolidayOut(day=holiday.day, name=holiday.name).model_dump(mode="json")
    return out, 201


@bp.delete(f"/sla/calendars/<{ID}:calendar_id>/holidays/<day>")
@documented("Remove a holiday", description="``day`` is YYYY-MM-DD.",
            response_description="Removed", status=204, roles=MANAGERS, tag="sla",
            errors=(403, 409, 422))
def remove_holiday(calendar_id: int, day: str):
    _manager()
    cal = _load(Calendar, calendar_id)
    with transaction(db.session):
        admin.remove_holiday(db.session, cal, actor=api_user(), day=day, now=utcnow())
    return "", 204


@bp.post(f"/sla/calendars/<{ID}:calendar_id>/holidays/import")
@documented("Import a country's public holidays", body=HolidayImportIn,
            response=HolidayImportOut, roles=MANAGERS, tag="sla", errors=(403, 409))
def import_holidays(calendar_id: int):
    _manager()
    cal = _load(Calendar, calendar_id)
    body = parse_body(HolidayImportIn)
    with transaction(db.session):
        result = admin.import_holidays(db.session, cal, actor=api_user(), country=body.country,
                                       year_from=body.year_from, year_to=body.year_to,
                                       now=utcnow())
    return HolidayImportOut(
        country=result.country, found=len(result.days), skipped=len(result.existing),
        added=[HolidayOut(day=d, name=n or "") for d, n in result.new_days.items()],
    ).model_dump(mode="json")


# --- policies and rules --------------------------------------------------------------------

class RuleIn(ApiModel):
    """At ``threshold`` % of the ``clock_kind`` target, do ``action`` (once per clock)."""

    clock_kind: Literal["response", "resolution"]
    threshold: Annotated[int, pydantic.Field(strict=True)]
    """One of the policy's warning thresholds, or 100 (the breach)."""
    action: EscalationAction


class RuleOut(OutModel):
    id: int
    clock_kind: ClockKind
    threshold: int
    action: EscalationAction


class RuleList(OutModel):
    """A policy's escalation rules by threshold."""

    items: list[RuleOut]


class PolicyIn(ApiModel):
    """Create or replace a policy. Running clocks keep the policy they started under: a change
    of thresholds, pausing statuses or rules first keeps the old terms as an earlier version
    for them (409 when the target is such a version)."""

    name: text(120)
    priority: Annotated[int | None, pydantic.Field(strict=True)] = None
    """1 .. 4, or null for any priority."""
    service_id: Id | None = None
    category_id: Id | None = None
    response_minutes: Annotated[int, pydantic.Field(strict=True)]
    """Business minutes in the calendar; positive."""
    resolution_minutes: Annotated[int, pydantic.Field(strict=True)]
    calendar_id: Id
    pause_statuses: list[Pausable] = ["pending_customer"]
    warning_thresholds: Annotated[list[Annotated[int, pydantic.Field(strict=True)]],
                                  pydantic.Field(max_length=admin.MAX_THRESHOLDS)] = [50, 75]
    """Percentages above 0 and below 100; the breach at 100 is implied."""
    is_active: bool = True


class PolicyOut(OutModel):
    """An SLA policy; the most specific active match wins (service 4, category 2, priority
    1; ties to the lowest id)."""

    id: int
    name: str
    applies_to: str
    """In words, e.g. "P1 · service Radar"."""
    priority: int | None
    service_id: int | None
    category_id: int | None
    response_minutes: int
    resolution_minutes: int
    response_target: str
    """In words, e.g. "15 min", "1 business day"."""
    resolution_target: str
    calendar_id: int
    pause_statuses: list[str]
    warning_thresholds: list[int]
    is_active: bool
    rules: list[RuleOut]
    superseded_by_id: int | None
    """Set on an earlier version kept (read-only) for the clocks that started under it: the
    current policy's id."""
    superseded_at: datetime | None


class PolicyList(OutModel):
    """Current policies (active first, by priority and name), then earlier versions kept for
    running clocks (newest first)."""

    items: list[PolicyOut]


def _rule_out(rule) -> RuleOut:
    return RuleOut(id=rule.id, clock_kind=rule.clock_kind, threshold=rule.threshold,
                   action=rule.action)


def _policy_out(p: SLAPolicy) -> dict:
    return PolicyOut(
        id=p.id, name=p.name, applies_to=admin.policy_scope(p), priority=p.priority,
        service_id=p.service_id, category_id=p.category_id,
        response_minutes=p.response_minutes, resolution_minutes=p.resolution_minutes,
        response_target=admin.format_target(p.response_minutes, p.calendar),
        resolution_target=admin.format_target(p.resolution_minutes, p.calendar),
        calendar_id=p.calendar_id, pause_statuses=list(p.pause_statuses),
        warning_thresholds=list(p.warning_thresholds), is_active=p.is_active,
        rules=[_rule_out(r) for r in p.rules], superseded_by_id=p.superseded_by_id,
        superseded_at=p.superseded_at).model_dump(mode="json")


def _fields(body: PolicyIn) -> admin.PolicyFields:
    return admin.PolicyFields(**body.model_dump())


@bp.get("/sla/policies")
@documented("SLA policies", response=PolicyList, roles=STAFF, tag="sla", errors=(403,))
def list_policies():
    _staff()
    policies = admin.list_policies(db.session) + admin.list_policies(db.session, versions=True)
    return {"items": [_policy_out(p) for p in policies]}


@bp.post("/sla/policies")
@documented("Create an SLA policy", body=PolicyIn, response=PolicyOut, status=201,
            roles=MANAGERS, tag="sla", errors=(403, 409))
def create_policy():
    _manager()
    body = parse_body(PolicyIn)
    with transaction(db.session):
        policy = admin.save_policy(db.session, None, _fields(body), actor=api_user(),
                                   now=utcnow())
        out = _policy_out(policy)
    return out, 201


@bp.get(f"/sla/policies/<{ID}:policy_id>")
@documented("An SLA policy", response=PolicyOut, roles=STAFF, tag="sla", errors=(403,))
def get_policy(policy_id: int):
    _staff()
    return _policy_out(_load(SLAPolicy, policy_id))


@bp.put(f"/sla/policies/<{ID}:policy_id>")
@documented("Replace an SLA policy", body=PolicyIn, response=PolicyOut, roles=MANAGERS,
            tag="sla", errors=(403, 409))
def put_policy(policy_id: int):
    _manager()
    policy = _load(SLAPolicy, policy_id)
    body = parse_body(PolicyIn)
    with transaction(db.session):
        admin.save_policy(db.session, policy, _fields(body), actor=api_user(), now=utcnow())
        out = _policy_out(policy)
    return out


@bp.get(f"/sla/policies/<{ID}:policy_id>/rules")
@documented("A policy's escalation rules", response=RuleList, roles=STAFF, tag="sla",
            errors=(403,))
def list_rules(policy_id: int):
    _staff()
    policy = _load(SLAPolicy, policy_id)
    return RuleList(items=[_rule_out(r) for r in policy.rules]).model_dump(mode="json")


@bp.post(f"/sla/policies/<{ID}:policy_id>/rules")
@documented("Add an escalation rule", body=RuleIn, response=RuleOut, status=201,
            roles=MANAGERS, tag="sla", errors=(403, 409))
def add_rule(policy_id: int):
    _manager()
    policy = _load(SLAPolicy, policy_id)
    body = parse_body(RuleIn)
    with transaction(db.session):
        rule = admin.add_rule(db.session, policy, actor=api_user(), clock_kind=body.clock_kind,
                              threshold=body.threshold, action=body.action, now=utcnow())
        out = _rule_out(rule).model_dump(mode="json")
    return out, 201


@bp.delete(f"/sla/policies/<{ID}:policy_id>/rules/<{ID}:rule_id>")
@documented("Remove an escalation rule", response_description="Removed", status=204,
            roles=MANAGERS, tag="sla", errors=(403, 422))
def remove_rule(policy_id: int, rule_id: int):
    _manager()
    policy = _load(SLAPolicy, policy_id)
    with transaction(db.session):
        admin.remove_rule(db.session, policy, rule_id, actor=api_user(), now=utcnow())
    return "", 204


# --- scheduler -----------------------------------------------------------------------------

class JobOut(OutModel):
    job: str
    interval_seconds: int
    beat_at: datetime | None
    host: str
    detail: str
    is_stale: bool
    """No beat within 3 x the interval (or never)."""


class JobList(OutModel):
    """Each scheduler job's last heartbeat."""

    items: list[JobOut]


@bp.get("/sla/scheduler")
@documented("Scheduler status", response=JobList, roles=STAFF, tag="sla", errors=(403,))
def scheduler_status():
    _staff()
    jobs = heartbeat.all_jobs(db.session, now=utcnow(), config=current_app.config)
    return JobList(items=[JobOut(**vars(j)) for j in jobs]).model_dump(mode="json")


# --- budgets -------------------------------------------------------------------------------

class BudgetIn(ApiModel):
    amount: Annotated[Decimal, pydantic.Field(ge=0, le=10_000_000, decimal_places=2)]
    """The month's vendor budget (currency of the contracts)."""


class BudgetOut(OutModel):
    """One month's vendor budget and how much of it is used."""

    month: str
    """YYYY-MM."""
    period_start: date
    period_end: date
    amount: Decimal
    spent: Decimal
    """Fixed engagements approved in the month, at actual cost."""
    committed: Decimal
    """Approved engagements not fixed yet, at their estimate."""
    remaining: Decimal


class BudgetList(OutModel):
    """Budgets, newest month first."""

    items: list[BudgetOut]


def _budget_out(u: budgets.BudgetUsage) -> dict:
    return BudgetOut(month=u.month, period_start=u.budget.period_start,
                     period_end=u.budget.period_end, amount=u.budget.amount, spent=u.spent,
                     committed=u.committed, remaining=u.remaining).model_dump(mode="json")


@bp.get("/budgets")
@documented("Vendor budgets", response=BudgetList, roles=MANAGERS, tag="sla", errors=(403,))
def list_budgets():
    _manager()
    return {"items": [_budget_out(u) for u in budgets.overview(db.session)]}


@bp.put("/budgets/<month>")
@documented("Set a month's vendor budget", description="``month`` is YYYY-MM.",
            body=BudgetIn, response=BudgetOut, roles=MANAGERS, tag="sla",
            errors=(403, 409, 422))
def put_budget(month: str):
    _manager()
    body = parse_body(BudgetIn)
    with transaction(db.session):
        budget = budgets.set_month_budget(db.session, actor=api_user(), month=month,
                                          amount=body.amount)
        out = _budget_out(budgets.usage(db.session, budget))
    return out
