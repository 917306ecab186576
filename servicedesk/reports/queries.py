"""Managers' figures, computed in SQL (aggregates over indexed ranges, never tickets loaded
into Python). Read-only: nothing here writes.

Every figure is defined once in ``DEFINITIONS``; the dashboard footnotes, the API and
docs/ARCHITECTURE.md quote that text, so what the page says is what the code does.
Periods are half-open UTC ranges ``[start, end)``; "now" is passed in, never read.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Session

from servicedesk.accounts.models import STAFF_ROLES, Group, User, Vendor
from servicedesk.catalog.models import Category, Service
from servicedesk.errors import ValidationError
from servicedesk.escalation.models import Budget, EngagementState, VendorEngagement
from servicedesk.escalation.services import spent_in
from servicedesk.feedback.models import Survey, UnmetCategory, UnmetRequest
from servicedesk.knowledge.models import (
    Article, ArticleStatus, ArticleUse, MustReadAck, PortalSearch,
)
from servicedesk.knowledge.services import must_read_targets_clause
from servicedesk.reports import rollups
from servicedesk.reports.sql import bucket_start, percentiles, seconds_between
from servicedesk.sla.calendar import add_business_time
from servicedesk.sla.models import Calendar, ClockKind, ClockState, SLAClock
from servicedesk.sla.services import CalendarCache, elapsed_seconds
from servicedesk.tickets.models import OPEN_STATUSES, Channel, EventKind, Ticket, TicketEvent

UTC = timezone.utc
TARGET_PERCENT = 85.0
MAX_PERIOD_DAYS = 731
AT_RISK_SECONDS = 3600

DEFINITIONS: dict[str, tuple[str, str]] = {
    "compliance": (
        "SLA compliance %",
        "Met clocks / judged clocks x 100. A ticket clock is judged in the period its outcome "
        "was decided: breached at the instant it passed its target (also when no sweep has "
        "recorded it yet), met when it stopped within target. Cancelled and still-running "
        "in-time clocks are not judged. Vendor OLA clocks are counted separately."),
    "dimension": (
        "Breakdown",
        "Priority, group, service, category, tier and channel are the ticket's current values."),
    "trend": (
        "Trend",
        "Compliance per UTC day, ISO week (from Monday) or month of the decision instant; the "
        "dashed line is the target (85 %)."),
    "previous": (
        "Previous period",
        "The period of the same length ending where this one starts; delta = this - previous."),
    "breaches": (
        "Breaches",
        "Ticket clocks that passed their target in the period. Late by = business time counted "
        "beyond the target (until stopped, or until now if still open). Tier = the ticket's "
        "current tier. Escalated in time = an escalation was recorded on the ticket at or "
        "before the breach instant."),
    "at_risk": (
        "At risk now",
        "Running ticket clocks not yet breached that will breach within the next hour of "
        "business time in their own calendar."),
    "backlog": (
        "Backlog by age",
        "Tickets open now (new, assigned, in progress, pending) by wall-clock age since logged."),
    "created": ("Created", "Tickets logged in the bucket."),
    "resolved": ("Resolved", "Tickets whose (latest) resolution falls in the bucket."),
    "mtta": (
        "MTTA",
        "Time to first response, over tickets whose response clock stopped in the period "
        "(first staff response, or resolution if that came first). Business = the clock's "
        "business time (calendar hours, pauses excluded); wall = clock start to stop. "
        "Median and 90th percentile, interpolated (percentile_cont)."),
    "mttr": (
        "MTTR",
        "Time to resolve, over tickets whose resolution clock stopped (not cancelled) in the "
        "period. Business = the clock's business time (pending statuses excluded, time before "
        "a reopen included); wall = logged to final resolution. Median and 90th percentile."),
    "reopen_rate": (
        "Reopen rate",
        "Of tickets resolved in the period (and not reopened since), the share that had been "
        "reopened (resolved -> in progress) at least once."),
    "escalation_rate": (
        "Escalation rate per tier",
        "Of tickets logged in the period that were at tier N at some point, the share moved "
        "from tier N to a higher tier."),
    "fcr": (
        "First-contact resolution",
        "Of tickets resolved in the period, the share resolved by the desk at tier 1 without "
        "any hand-off. KB-assisted = FCR tickets with a knowledge article linked."),
    "vendors": (
        "Vendors",
        "Engagements requested in the period by state; approval turnaround = request to "
        "decision (wall time) for decisions in the period; OLA compliance as SLA compliance "
        "over vendor clocks; spend = committed cost (actual, else estimate) of engagements "
        "approved in the period, against budgets overlapping it."),
    "people": (
        "People",
        "Per assignee, over tickets resolved in the period: handled, FCR %, MTTR (mean "
        "business hours), resolution SLA met %, CSAT mean. Team = the same over all of them. "
        "Ranked by SLA met %, then handled. Managers only."),
    "csat": (
        "Customer satisfaction",
        "Survey answers (1-5) given in the period: mean, count per score; response rate = "
        "answered / sent for surveys sent in the period. Low = 2 or less."),
    "knowledge": (
        "Knowledge",
        "Resolutions with an article = tickets resolved with a linked article in the period "
        "(by when the article was used), top articles by that count; portal deflections = "
        "requester searches in the period that an article answered / all portal searches; "
        "gaps = portal searches in the period that found nothing, most frequent first (same "
        "text ignoring case); must-read = targeted staff who acknowledged the current "
        "revision of each published must-read article."),
    "unmet": (
        "Unmet requests",
        "What callers asked for that the service does not offer, recorded by agents in the "
        "period, by category and trend."),
}

DIMENSIONS = ("priority", "group", "service", "category", "tier", "channel")
_DIM_COLUMNS = {"priority": Ticket.priority, "group": Ticket.group_id,
                "service": Ticket.service_id, "category": Ticket.category_id,
                "tier": Ticket.tier, "channel": Ticket.channel}
TICKET_KINDS = (ClockKind.response, ClockKind.resolution)
OLA_KINDS = (ClockKind.ola_response, ClockKind.ola_fix)
AGE_BUCKETS = (("< 1 day", 0, 1), ("1-3 days", 1, 3), ("3-7 days", 3, 7),
               ("7-30 days", 7, 30), ("> 30 days", 30, None))


# --- periods -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Period:
    """A half-open UTC range [start, end)."""

    start: datetime
    end: datetime

    @classmethod
    def from_dates(cls, first: date, last: date) -> Period:
        """Whole UTC days ``first`` .. ``last`` inclusive."""
        if last < first:
            raise ValidationError("The period ends before it starts.", field="to")
        if (last - first).days + 1 > MAX_PERIOD_DAYS:
            raise ValidationError(f"A period is at most {MAX_PERIOD_DAYS} days.", field="from")
        start = datetime.combine(first, datetime.min.time(), UTC)
        return cls(start, datetime.combine(last + timedelta(days=1), datetime.min.time(), UTC))

    @classmethod
    def last_days(cls, now: datetime, days: int) -> Period:
        """The ``days`` whole UTC days ending with today (today included)."""
        today = now.astimezone(UTC).date()
        return cls.from_dates(today - timedelta(days=days - 1), today)

    @property
    def previous(self) -> Period:
        return Period(self.start - (self.end - self.start), self.start)

    @property
    def first_day(self) -> date:
        return self.start.date()

    @property
    def last_day(self) -> date:
        return (self.end - timedelta(days=1)).date()

    def contains(self, col) -> sa.ColumnElement[bool]:
        return sa.and_(col >= self.start, col < self.end)

    def buckets(self, unit: str) -> list[str]:
        """Every bucket start (as 'YYYY-MM-DD') the period touches, in order."""
        out, day = [], self.first_day
        while day <= self.last_day:
            key = _bucket_of(day, unit)
            if not out or out[-1] != key:
                out.append(key)
            day += timedelta(days=1)
        return out


def _as_date(value) -> date:
    """A DATE column's value (SQLite may hand back the text)."""
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def _bucket_of(day: date, unit: str) -> str:
    if unit == "week":
        day = day - timedelta(days=day.weekday())
    elif unit == "month":
        day = day.replace(day=1)
    return day.isoformat()


def default_bucket(period: Period) -> str:
    days = (period.end - period.start).days
    return "day" if days <= 45 else "week" if days <= 200 else "month"


def _rate(part: int | float, whole: int | float) -> float | None:
    """A percentage with one decimal, None when there is nothing to divide by."""
    return round(100.0 * part / whole, 1) if whole else None


# --- judged clocks: the one definition of met and breached ---------------------------------

JUDGED_PARTS = ("breached", "met", "unswept")


def judged_clocks(period: Period, now: datetime, kinds=TICKET_KINDS,
                  parts=JUDGED_PARTS) -> sa.Subquery:
    """Clocks of ``kinds`` decided in ``period``: (clock_id, ticket_id, kind, is_breach,
    decided_at). Three index range scans glued with UNION ALL (see DEFINITIONS['compliance']);
    ``parts`` keeps some of them (the rollup holds "breached" and "met", never "unswept",
    which depends on now)."""
    C = SLAClock
    ticket_only = C.engagement_id.is_(None) if set(kinds) <= set(TICKET_KINDS) else \
        C.engagement_id.is_not(None)
    cols = (C.id.label("clock_id"), C.ticket_id.label("ticket_id"), C.kind.label("kind"))
    breached = sa.select(*cols, sa.literal(1).label("is_breach"),
                         C.breached_at.label("decided_at")).where(
        C.kind.in_(kinds), ticket_only, period.contains(C.breached_at))
    met = sa.select(*cols, sa.literal(0).label("is_breach"),
                    C.stopped_at.label("decided_at")).where(
        C.kind.in_(kinds), ticket_only, period.contains(C.stopped_at),
        C.state == ClockState.stopped, C.breached_at.is_(None), C.is_cancelled.is_(False))
    # Past due but not yet swept: breached at its due time all the same.
    # The state as a literal, so both databases may use the partial ix_sla_clocks_unswept_due.
    unswept = sa.select(*cols, sa.literal(1).label("is_breach"),
                        C.due_at.label("decided_at")).where(
        sa.literal_column("sla_clocks.state") == sa.literal_column("'running'"),
        C.due_at >= period.start,
        C.due_at < min(period.end, now + timedelta(microseconds=1)),
        C.kind.in_(kinds), ticket_only, C.breached_at.is_(None))
    chosen = [q for name, q in zip(JUDGED_PARTS, (breached, met, unswept)) if name in parts]
    return (sa.union_all(*chosen) if len(chosen) > 1 else chosen[0]).subquery("judged")


@dataclass
class Compliance:
    judged: int = 0
    breached: int = 0

    @property
    def met(self) -> int:
        return self.judged - self.breached

    @property
    def percent(self) -> float | None:
        return _rate(self.met, self.judged)

    def __add__(self, other: Compliance) -> Compliance:
        return Compliance(self.judged + other.judged, self.breached + other.breached)


def _from_rollup(period: Period, rollup: bool) -> bool:
    """Whether the daily rollup can answer (whole UTC days, and the caller wants it)."""
    return rollup and rollups.aligned(period.start, period.end)


def _rolled(session: Session, period: Period, dims, *, by_day: bool = False):
    """{(kind, dim, key[, day]): Compliance} from report_counts (key '' -> None)."""
    out: dict[tuple, Compliance] = defaultdict(Compliance)
    for metric, dim, key, *rest in rollups.counts(session, rollups.METRICS, dims,
                                                  period.first_day, period.end.date(),
                                                  by_day=by_day):
        kind, what = metric.split(".")
        n = int(rest[-1] or 0)
        k = (kind, dim, None if key == "" else key, *rest[:-1])
        out[k] += Compliance(0, n) if what == "breached" else Compliance(n, 0)
    return out


def compliance_table(session: Session, period: Period, now: datetime, *, rollup: bool = True
                     ) -> dict[str, dict[str, dict]]:
    """{kind: {"total": Compliance, dim: {value: Compliance}}} for response and resolution.

    Whole-day periods: the daily rollup plus the unswept clocks from the raw rows. Otherwise
    (or ``rollup=False``, the tests' oracle) the judged clocks joined to their tickets are
    computed once (a CTE, materialised because it is read seven times) and grouped per
    dimension (one UNION ALL), so the result has one row per dimension value."""
    fast = _from_rollup(period, rollup)
    j = judged_clocks(period, now, parts=("unswept",) if fast else JUDGED_PARTS)
    base = (sa.select(j.c.kind, j.c.is_breach, *[_DIM_COLUMNS[d].label(d) for d in DIMENSIONS])
            .join(Ticket, Ticket.id == j.c.ticket_id).cte("judged_tickets"))
    parts = [sa.select(sa.literal("total").label("dim"), base.c.kind,
                       sa.cast(sa.null(), sa.String).label("key"), sa.func.count(),
                       sa.func.sum(base.c.is_breach)).group_by(base.c.kind)]
    for dim in DIMENSIONS:
        col = base.c[dim]
        parts.append(sa.select(sa.literal(dim), base.c.kind, sa.cast(col, sa.String),
                               sa.func.count(), sa.func.sum(base.c.is_breach))
                     .group_by(base.c.kind, col))
    out: dict[str, dict] = {k.value: {"total": Compliance(), **{d: defaultdict(Compliance)
                                                              for d in DIMENSIONS}}
                            for k in TICKET_KINDS}
    for dim, kind, key, judged, breached in session.execute(sa.union_all(*parts)).all():
        c = Compliance(judged, int(breached or 0))
        table = out[ClockKind(kind).value]
        if dim == "total":
            table["total"] = c
        else:
            table[dim][_dim_key(dim, key)] = c
    if fast:
        for (kind, dim, key), c in _rolled(session, period, ("total", *DIMENSIONS)).items():
            table = out[kind]
            if dim == "total":
                table["total"] = table["total"] + c
            else:
                table[dim][_dim_key(dim, key)] += c
    return out


def _dim_key(dim: str, key: str | None):
    """Back from the text the UNION carried to the dimension's own key type."""
    if key is None or dim == "channel":
        return key
    return int(key)


def _key(value):
    return value.value if isinstance(value, Channel) else value


def compliance_totals(session: Session, period: Period, now: datetime, kinds=TICKET_KINDS,
                      *, rollup: bool = True) -> dict[str, Compliance]:
    """{kind: Compliance} without breakdown (period-over-period, OLA)."""
    fast = kinds == TICKET_KINDS and _from_rollup(period, rollup)
    j = judged_clocks(period, now, kinds, parts=("unswept",) if fast else JUDGED_PARTS)
    rows = session.execute(sa.select(j.c.kind, sa.func.count(), sa.func.sum(j.c.is_breach))
                           .group_by(j.c.kind)).all()
    out = {k.value: Compliance() for k in kinds}
    for kind, judged, breached in rows:
        out[ClockKind(kind).value] = Compliance(judged, int(breached or 0))
    if fast:
        for (kind, _dim, _key), c in _rolled(session, period, ("total",)).items():
            out[kind] = out[kind] + c
    return out


def compliance_trend(session: Session, period: Period, now: datetime, unit: str, *,
                     rollup: bool = True) -> dict[str, list[tuple[str, Compliance]]]:
    """{kind: [(bucket, Compliance), ...]} for every bucket of the period (empty ones too)."""
    fast = _from_rollup(period, rollup)
    j = judged_clocks(period, now, parts=("unswept",) if fast else JUDGED_PARTS)
    bucket = bucket_start(j.c.decided_at, unit)
    rows = session.execute(sa.select(j.c.kind, bucket, sa.func.count(),
                                     sa.func.sum(j.c.is_breach)).group_by(j.c.kind, bucket)).all()
    found = defaultdict(Compliance)
    for k, b, n, br in rows:
        found[(ClockKind(k).value, b)] += Compliance(n, int(br or 0))
    if fast:
        for (kind, _dim, _key, day), c in _rolled(session, period, ("total",),
                                                  by_day=True).items():
            found[(kind, _bucket_of(_as_date(day), unit))] += c
    return {k.value: [(b, found.get((k.value, b), Compliance())) for b in period.buckets(unit)]
            for k in TICKET_KINDS}


# --- breaches and risk -----------------------------------------------------------------------

@dataclass(frozen=True)
class Breach:
    ticket: Ticket
    kind: str
    breached_at: datetime
    late_seconds: float
    escalated_in_time: bool
    #: The ticket's support tier when the clock breached (its history, not its tier now).
    tier: int


def _escalated_by(decided_at) -> sa.ColumnElement[bool]:
    return sa.exists().where(TicketEvent.ticket_id == Ticket.id,
                             TicketEvent.kind == EventKind.escalated,
                             TicketEvent.created_at <= decided_at)


def _tier_at(instant) -> sa.ColumnElement:
    """The ticket's tier at ``instant``: the last tier change up to then, else the tier the
    first later change started from, else the tier it has now (it never changed)."""
    E = TicketEvent
    tier_change = sa.and_(E.ticket_id == Ticket.id, E.kind == EventKind.field_changed,
                          E.field == "tier")
    before = (sa.select(E.new_value).where(tier_change, E.created_at <= instant)
              .order_by(E.created_at.desc(), E.id.desc()).limit(1).scalar_subquery())
    after = (sa.select(E.old_value).where(tier_change, E.created_at > instant)
             .order_by(E.created_at, E.id).limit(1).scalar_subquery())
    return sa.func.coalesce(before, after, sa.cast(Ticket.tier, sa.String))


def breach_count(session: Session, period: Period, now: datetime) -> int:
    return sum(c.breached for c in compliance_totals(session, period, now).values())


def _latest_breaches(period: Period, now: datetime, n: int) -> sa.Subquery:
    """The ``n`` latest breaches of each kind and source (recorded, or past due unswept):
    four index range scans read backwards and cut at ``n``, so a page costs the same for a
    year as for a day. Their union holds the overall ``n`` latest."""
    parts = []
    for kind in TICKET_KINDS:
        for part in ("breached", "unswept"):
            j = judged_clocks(period, now, (kind,), parts=(part,))
            top = sa.select(j).order_by(j.c.decided_at.desc(), j.c.clock_id.desc()).limit(n)
            parts.append(sa.select(top.subquery()))
    return sa.union_all(*parts).subquery("latest_breaches")


def breaches(session: Session, period: Period, now: datetime, *, limit: int = 50,
             offset: int = 0, total: int | None = None) -> tuple[int, list[Breach]]:
    """(total, one page of breaches, latest first) with business lateness per clock."""
    if total is None:
        total = breach_count(session, period, now)
    j = _latest_breaches(period, now, limit + offset)
    where = j.c.is_breach == 1
    rows = session.execute(
        sa.select(Ticket, SLAClock, j.c.decided_at, _escalated_by(j.c.decided_at),
                  _tier_at(j.c.decided_at))
        .join(SLAClock, SLAClock.id == j.c.clock_id).join(Ticket, Ticket.id == j.c.ticket_id)
        .where(where).order_by(j.c.decided_at.desc(), j.c.clock_id.desc())
        .limit(limit).offset(offset)).all()
    cache = CalendarCache(session)
    out = [Breach(ticket=t, kind=c.kind.value, breached_at=at, escalated_in_time=bool(esc),
                  late_seconds=max(0.0, elapsed_seconds(c, cache.get(c.calendar_id), now)
                                   - c.target_seconds), tier=int(tier))
           for t, c, at, esc, tier in rows]
    return total, out


def at_risk_clause(session: Session, now: datetime) -> sa.ColumnElement[bool]:
    """Running ticket clocks, not breached, due within one business hour of their calendar."""
    C = SLAClock
    # Every calendar (a handful), not the distinct calendars of running clocks (a full scan).
    calendar_ids = session.scalars(sa.select(Calendar.id)).all()
    cache = CalendarCache(session)
    horizons = [sa.and_(C.calendar_id == cid,
                        C.due_at <= add_business_time(cache.get(cid), now, AT_RISK_SECONDS))
                for cid in calendar_ids]
    return sa.and_(C.state == ClockState.running, C.engagement_id.is_(None),
                   C.kind.in_(TICKET_KINDS), C.breached_at.is_(None), C.due_at > now,
                   sa.or_(*horizons) if horizons else sa.false())


def at_risk(session: Session, now: datetime, limit: int = 50) -> list[tuple[Ticket, SLAClock]]:
    """Clocks about to breach, soonest first."""
    return list(session.execute(
        sa.select(Ticket, SLAClock).join(SLAClock, SLAClock.ticket_id == Ticket.id)
        .where(at_risk_clause(session, now)).order_by(SLAClock.due_at, SLAClock.id)
        .limit(limit)).tuples())


def at_risk_count(session: Session, now: datetime) -> int:
    return session.scalar(sa.select(sa.func.count(SLAClock.id))
                          .where(at_risk_clause(session, now))) or 0


# --- flow ----------------------------------------------------------------------------------

def age_bucket_clause(label: str, now: datetime) -> sa.ColumnElement[bool]:
    for name, low, high in AGE_BUCKETS:
        if name == label:
            clause = Ticket.created_at <= now - timedelta(days=low)
            if high is not None:
                clause = sa.and_(clause, Ticket.created_at > now - timedelta(days=high))
            return clause
    raise ValidationError(f"Unknown age bucket {label!r}.", field="age")


def backlog(session: Session, now: datetime) -> list[tuple[str, int]]:
    """Open tickets now, by age bucket (youngest first)."""
    case = sa.case(*[(age_bucket_clause(name, now), name) for name, _, _ in AGE_BUCKETS])
    rows = dict(session.execute(sa.select(case, sa.func.count()).where(
        Ticket.status.in_(OPEN_STATUSES)).group_by(case)).all())
    return [(name, rows.get(name, 0)) for name, _, _ in AGE_BUCKETS]


def _ticket_counts(session: Session, period: Period, metrics, *, by_day: bool = False
                   ) -> dict:
    """{metric: n} (or {(metric, day): n}) from the rollup's ticket-flow rows."""
    rows = rollups.counts(session, metrics, ("total",), period.first_day, period.end.date(),
                          by_day=by_day)
    out: dict = defaultdict(int)
    for metric, _dim, _key, *rest in rows:
        out[(metric, _as_date(rest[0])) if by_day else metric] += int(rest[-1] or 0)
    return out


def created_vs_resolved(session: Session, period: Period, unit: str, *, rollup: bool = True
                        ) -> list[tuple[str, int, int]]:
    """[(bucket, created, resolved)] for every bucket of the period."""
    if _from_rollup(period, rollup):
        found: dict = defaultdict(int)
        for (metric, day), n in _ticket_counts(session, period, ("ticket.created",
                                                                 "ticket.resolved"),
                                               by_day=True).items():
            found[(metric, _bucket_of(day, unit))] += n
        return [(b, found[("ticket.created", b)], found[("ticket.resolved", b)])
                for b in period.buckets(unit)]
    def counts(col):
        b = bucket_start(col, unit)
        return dict(session.execute(sa.select(b, sa.func.count()).where(period.contains(col))
                                    .group_by(b)).all())
    created, resolved = counts(Ticket.created_at), counts(Ticket.resolved_at)
    return [(b, created.get(b, 0), resolved.get(b, 0)) for b in period.buckets(unit)]


def _stopped_clocks(period: Period, kind: ClockKind) -> list[sa.ColumnElement[bool]]:
    C = SLAClock
    return [C.kind == kind, C.engagement_id.is_(None), C.state == ClockState.stopped,
            C.is_cancelled.is_(False), period.contains(C.stopped_at)]


@dataclass(frozen=True)
class Durations:
    """Seconds; None when nothing was measured."""

    count: int
    business_median: float | None
    business_p90: float | None
    wall_median: float | None
    wall_p90: float | None


def durations(session: Session, period: Period, kind: ClockKind, *, rollup: bool = True
              ) -> Durations:
    """MTTA (kind=response) or MTTR (kind=resolution): see DEFINITIONS. Whole-day periods
    read the duration histogram (exact, reports/rollups.py); others the raw clocks."""
    if _from_rollup(period, rollup):
        found = rollups.percentiles(session, kind.value, ("business", "wall"),
                                    period.first_day, period.end.date())
        (n, business), (_, wall) = found["business"], found["wall"]
        return Durations(n, business[0.5], business[0.9], wall[0.5], wall[0.9])
    C = SLAClock
    where = _stopped_clocks(period, kind)
    n, business = percentiles(session, sa.select(C.elapsed_before).where(*where))
    if kind is ClockKind.resolution:
        wall_value = seconds_between(C.stopped_at, Ticket.created_at)
        wall_q = sa.select(wall_value).join(Ticket, Ticket.id == C.ticket_id).where(*where)
    else:
        wall_q = sa.select(seconds_between(C.stopped_at, C.started_at)).where(*where)
    _, wall = percentiles(session, wall_q)
    return Durations(n, business[0.5], business[0.9], wall[0.5], wall[0.9])


def _reopened() -> sa.ColumnElement[bool]:
    return sa.exists().where(TicketEvent.ticket_id == Ticket.id,
                             TicketEvent.kind == EventKind.status_changed,
                             TicketEvent.old_value == "resolved",
                             TicketEvent.new_value == "in_progress")


def _kb_assisted() -> sa.ColumnElement[bool]:
    """The ticket was resolved with a knowledge article (knowledge.models.ArticleUse)."""
    return sa.exists().where(ArticleUse.ticket_id == Ticket.id,
                             ArticleUse.is_resolution.is_(True))


@dataclass(frozen=True)
class Resolution:
    resolved: int
    reopened: int
    fcr: int
    fcr_kb: int

    @property
    def reopen_rate(self) -> float | None:
        return _rate(self.reopened, self.resolved)

    @property
    def fcr_rate(self) -> float | None:
        return _rate(self.fcr, self.resolved)

    @property
    def fcr_kb_rate(self) -> float | None:
        """Share of FCR that was knowledge-assisted."""
        return _rate(self.fcr_kb, self.fcr)


def resolution_figures(session: Session, period: Period, *, rollup: bool = True
                       ) -> Resolution:
    """Reopen and first-contact-resolution counts over tickets resolved in the period."""
    if _from_rollup(period, rollup):
        names = ("ticket.resolved", "ticket.reopened", "ticket.fcr", "ticket.fcr_kb")
        found = _ticket_counts(session, period, names)
        return Resolution(*(found[m] for m in names))
    fcr = Ticket.is_first_contact_resolution.is_(True)
    row = session.execute(sa.select(
        sa.func.count(),
        sa.func.count().filter(_reopened()),
        sa.func.count().filter(fcr),
        sa.func.count().filter(sa.and_(fcr, _kb_assisted())),
    ).where(period.contains(Ticket.resolved_at))).one()
    return Resolution(*row)


def _tier_move(old: int, higher: bool):
    new_values = [str(t) for t in (1, 2, 3) if (t > old if higher else True)]
    return sa.exists().where(TicketEvent.ticket_id == Ticket.id,
                             TicketEvent.field == "tier", TicketEvent.old_value == str(old),
                             TicketEvent.new_value.in_(new_values))


def _was_at_tier(tier: int) -> sa.ColumnElement[bool]:
    touched = sa.exists().where(TicketEvent.ticket_id == Ticket.id, TicketEvent.field == "tier",
                                sa.or_(TicketEvent.old_value == str(tier),
                                       TicketEvent.new_value == str(tier)))
    return sa.or_(Ticket.tier == tier, touched)


def escalation_rates(session: Session, period: Period, *, rollup: bool = True) -> list[dict]:
    """[{tier, at_tier, escalated, rate}] for tiers 1 and 2 (tickets logged in the period)."""
    if _from_rollup(period, rollup):
        found = _ticket_counts(session, period, ("tier1.at", "tier1.up", "tier2.at",
                                                 "tier2.up"))
        return [{"tier": t, "at_tier": found[f"tier{t}.at"], "escalated": found[f"tier{t}.up"],
                 "rate": _rate(found[f"tier{t}.up"], found[f"tier{t}.at"])} for t in (1, 2)]
    cols = []
    for tier in (1, 2):
        cols += [sa.func.count().filter(_was_at_tier(tier)),
                 sa.func.count().filter(_tier_move(tier, higher=True))]
    row = session.execute(sa.select(*cols).where(period.contains(Ticket.created_at))).one()
    return [{"tier": tier, "at_tier": row[2 * i], "escalated": row[2 * i + 1],
             "rate": _rate(row[2 * i + 1], row[2 * i])} for i, tier in enumerate((1, 2))]


def created_count(session: Session, period: Period, *, rollup: bool = True) -> int:
    if _from_rollup(period, rollup):
        return _ticket_counts(session, period, ("ticket.created",))["ticket.created"]
    return session.scalar(sa.select(sa.func.count(Ticket.id))
                          .where(period.contains(Ticket.created_at))) or 0


# --- vendors -------------------------------------------------------------------------------

def vendor_figures(session: Session, period: Period, now: datetime) -> dict:
    """Engagements by state, approval turnaround, OLA compliance, spend vs budgets."""
    V = VendorEngagement
    by_state = dict(session.execute(sa.select(V.state, sa.func.count())
                                    .where(period.contains(V.created_at))
                                    .group_by(V.state)).all())
    decided = [V.decided_at.is_not(None), period.contains(V.decided_at)]
    n, turnaround = percentiles(session, sa.select(seconds_between(V.decided_at, V.created_at))
                                .where(*decided))
    approved = [V.state.not_in([EngagementState.requested, EngagementState.rejected]),
                period.contains(V.decided_at)]
    cost = sa.func.coalesce(V.actual_cost, V.estimated_cost)
    per_vendor = session.execute(
        sa.select(Vendor.id, Vendor.name, sa.func.count(V.id),
                  sa.func.coalesce(sa.func.sum(cost), 0))
        .join(V, V.vendor_id == Vendor.id).where(*approved)
        .group_by(Vendor.id, Vendor.name).order_by(Vendor.name)).all()
    budgets = session.scalars(sa.select(Budget).where(
        Budget.period_start <= period.last_day, Budget.period_end >= period.first_day)
        .order_by(Budget.period_start)).all()
    return {
        "by_state": {s.value: by_state.get(s, 0) for s in EngagementState},
        "requested": sum(by_state.values()),
        "decisions": n,
        "turnaround_median": turnaround[0.5],
        "turnaround_p90": turnaround[0.9],
        "ola": compliance_totals(session, period, now, OLA_KINDS),
        "spend": [{"vendor_id": vid, "vendor": name, "engagements": count,
                   "spent": Decimal(total).quantize(Decimal("0.01"))}
                  for vid, name, count, total in per_vendor],
        "spent": sum((Decimal(t) for *_, t in per_vendor), Decimal("0")).quantize(Decimal("0.01")),
        "budgets": [{"start": b.period_start, "end": b.period_end, "amount": b.amount,
                     "spent": spent_in(session, b)} for b in budgets],
    }


# --- people --------------------------------------------------------------------------------

def _people_rows(session: Session, period: Period, rollup: bool) -> dict[int, tuple]:
    """{assignee: (handled, fcr, mean business seconds, resolution clocks, met)}.

    From the rollup the mean is the exact sum of microseconds / clocks (the raw AVG sums
    doubles, so the two may differ in the last bits of a fraction of a second)."""
    if _from_rollup(period, rollup):
        found: dict = defaultdict(lambda: defaultdict(int))
        for metric, _dim, key, n in rollups.counts(session, rollups.PEOPLE_METRICS,
                                                   ("assignee",), period.first_day,
                                                   period.end.date()):
            found[int(key)][metric] += int(n or 0)
        return {uid: (f["people.handled"], f["people.fcr"],
                      f["people.elapsed_us"] / 1e6 / f["people.clocks"]
                      if f["people.clocks"] else None,
                      f["people.clocks"], f["people.met"])
                for uid, f in found.items() if f["people.handled"]}
    C = SLAClock
    clock_on = sa.and_(C.ticket_id == Ticket.id, C.kind == ClockKind.resolution,
                       C.engagement_id.is_(None))
    met = sa.and_(C.id.is_not(None), C.breached_at.is_(None))
    cols = (sa.func.count(Ticket.id),
            sa.func.count().filter(Ticket.is_first_contact_resolution.is_(True)),
            sa.func.avg(C.elapsed_before), sa.func.count(C.id), sa.func.count().filter(met))
    where = [period.contains(Ticket.resolved_at), Ticket.assignee_id.is_not(None)]
    return dict((row[0], tuple(row[1:])) for row in session.execute(
        sa.select(Ticket.assignee_id, *cols).outerjoin(C, clock_on).where(*where)
        .group_by(Ticket.assignee_id)).all())


def people(session: Session, period: Period, csat_by_user: dict[int, tuple[int, float]]
           | None = None, *, rollup: bool = True) -> dict:
    """Per-assignee figures over tickets resolved in the period, ranked, plus the team row."""
    per_user = _people_rows(session, period, rollup)
    users = session.execute(sa.select(User.id, User.name, User.role).where(
        User.id.in_(list(per_user)), User.role.in_(STAFF_ROLES))).all() if per_user else []
    csat_by_user = csat_by_user or {}
    rows = []
    for uid, name, role in users:
        handled, fcr, mttr, clocks, met_n = per_user[uid]
        answers, mean = csat_by_user.get(uid, (0, None))
        rows.append({"user_id": uid, "name": name, "role": role.value, "handled": handled,
                     "fcr_rate": _rate(fcr, handled),
                     "mttr_business": None if mttr is None else float(mttr),
                     "sla_met": _rate(met_n, clocks), "csat": mean, "csat_answers": answers})
    rows.sort(key=lambda r: (-(r["sla_met"] if r["sla_met"] is not None else -1),
                             -r["handled"], r["name"]))
    team = [sum(v[i] for v in per_user.values()) for i in (0, 1, 3, 4)]
    mttr_sum = sum((v[2] or 0) * v[3] for v in per_user.values() if v[2] is not None)
    answers = sum(a for a, _ in csat_by_user.values())
    team_csat = round(sum(a * m for a, m in csat_by_user.values() if m is not None) / answers, 2) \
        if answers else None
    return {"rows": rows, "team": {
        "handled": team[0], "handled_per_person": round(team[0] / len(rows), 1) if rows else None,
        "fcr_rate": _rate(team[1], team[0]),
        "mttr_business": mttr_sum / team[2] if team[2] else None,
        "sla_met": _rate(team[3], team[2]), "csat": team_csat}}


# --- names for breakdown keys ----------------------------------------------------------------

def dimension_labels(session: Session) -> dict[str, dict]:
    """{dimension: {key: label}} for showing breakdown rows."""
    def names(model):
        return dict(session.execute(sa.select(model.id, model.name)).all())
    return {"priority": {p: f"P{p}" for p in (1, 2, 3, 4)},
            "group": names(Group), "service": names(Service), "category": names(Category),
            "tier": {1: "Tier 1 (desk)", 2: "Tier 2 (experts)", 3: "Tier 3 (vendor)"},
            "channel": {c.value: c.value for c in Channel}}


# --- satisfaction and expectations -----------------------------------------------------------

def csat(session: Session, period: Period) -> dict:
    """Answers in the period: count, mean, per score, low; response rate of surveys sent."""
    answered = [Survey.answered_at.is_not(None), period.contains(Survey.answered_at)]
    by_score = dict(session.execute(sa.select(Survey.score, sa.func.count()).where(*answered)
                                    .group_by(Survey.score)).all())
    sent, responded = session.execute(sa.select(
        sa.func.count(), sa.func.count(Survey.answered_at))
        .where(period.contains(Survey.created_at))).one()
    n = sum(by_score.values())
    mean = round(sum(s * c for s, c in by_score.items()) / n, 2) if n else None
    return {"answers": n, "mean": mean, "by_score": {s: by_score.get(s, 0) for s in range(1, 6)},
            "low": by_score.get(1, 0) + by_score.get(2, 0), "sent": sent,
            "response_rate": _rate(responded, sent)}


def csat_by_assignee(session: Session, period: Period) -> dict[int, tuple[int, float]]:
    """{assignee id: (answers, mean score)} for answers given in the period."""
    rows = session.execute(
        sa.select(Ticket.assignee_id, sa.func.count(), sa.func.avg(Survey.score))
        .join(Ticket, Ticket.id == Survey.ticket_id)
        .where(Survey.answered_at.is_not(None), period.contains(Survey.answered_at),
               Ticket.assignee_id.is_not(None))
        .group_by(Ticket.assignee_id)).all()
    return {uid: (n, round(float(mean), 2)) for uid, n, mean in rows}


def unmet_count(session: Session, period: Period) -> int:
    return session.scalar(sa.select(sa.func.count(UnmetRequest.id))
                          .where(period.contains(UnmetRequest.created_at))) or 0


def unmet(session: Session, period: Period, unit: str) -> dict:
    """Unmet requests in the period: total, per category (most first), per bucket."""
    U = UnmetRequest
    in_period = period.contains(U.created_at)
    by_cat = dict(session.execute(sa.select(U.category, sa.func.count()).where(in_period)
                                  .group_by(U.category)).all())
    b = bucket_start(U.created_at, unit)
    trend = dict(session.execute(sa.select(b, sa.func.count()).where(in_period)
                                 .group_by(b)).all())
    return {"total": sum(by_cat.values()),
            "by_category": sorted(((c.value, c.label, by_cat.get(c, 0)) for c in UnmetCategory),
                                  key=lambda r: (-r[2], r[0])),
            "trend": [(k, trend.get(k, 0)) for k in period.buckets(unit)]}


# --- knowledge -------------------------------------------------------------------------------

def knowledge(session: Session, period: Period, *, top: int = 5, gaps: int = 10) -> dict:
    """Articles used to resolve, portal deflections, search gaps, must-read acknowledgement."""
    U, P = ArticleUse, PortalSearch
    used = [U.is_resolution.is_(True), period.contains(U.created_at)]
    resolutions, articles = session.execute(sa.select(
        sa.func.count(U.id), sa.func.count(sa.distinct(U.article_id))).where(*used)).one()
    top_rows = session.execute(
        sa.select(Article.id, Article.title, sa.func.count(U.id).label("n"))
        .join(U, U.article_id == Article.id).where(*used)
        .group_by(Article.id, Article.title).order_by(sa.desc("n"), Article.id)
        .limit(top)).all()
    searches, deflected = session.execute(sa.select(
        sa.func.count(P.id), sa.func.count().filter(P.is_deflected.is_(True)))
        .where(period.contains(P.created_at))).one()
    text = sa.func.lower(P.query)
    gap_rows = session.execute(
        sa.select(text.label("q"), sa.func.count().label("n"))
        .where(period.contains(P.created_at), P.results_count == 0)
        .group_by(text).order_by(sa.desc("n"), text).limit(gaps)).all()
    must_read = []
    for article in session.scalars(sa.select(Article).where(
            Article.is_must_read.is_(True), Article.status == ArticleStatus.published)
            .order_by(Article.published_at.desc(), Article.id.desc())):
        targets = sa.select(User.id).where(must_read_targets_clause(article))
        total = session.scalar(sa.select(sa.func.count()).select_from(targets.subquery()))
        acked = session.scalar(sa.select(sa.func.count(sa.distinct(MustReadAck.user_id))).where(
            MustReadAck.article_id == article.id,
            MustReadAck.revision == article.published_revision,
            MustReadAck.user_id.in_(targets)))
        must_read.append({"article_id": article.id, "title": article.title, "targets": total,
                          "acknowledged": acked, "percent": _rate(acked, total)})
    return {"resolutions": resolutions, "articles": articles,
            "top": [{"article_id": i, "title": t, "resolutions": n} for i, t, n in top_rows],
            "searches": searches, "deflected": deflected,
            "deflection_rate": _rate(deflected, searches),
            "gaps": [{"query": q_, "searches": n} for q_, n in gap_rows],
            "must_read": must_read}
