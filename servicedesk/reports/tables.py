"""Every report table as (columns, rows): the same rows feed the JSON API, the CSV export and
the dashboard's tables. Large tables (tickets, breaches, unmet) are generators over a
streamed result (``yield_per``: a server-side cursor on PostgreSQL), so memory stays flat."""
from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session, aliased

from servicedesk.accounts.models import Role, User
from servicedesk.feedback.models import Survey, UnmetRequest
from servicedesk.reports import queries as q
from servicedesk.sla.models import ClockKind, ClockState, SLAClock
from servicedesk.sla.services import CalendarCache, elapsed_seconds
from servicedesk.tickets.models import Ticket, format_number

STREAM_BATCH = 2000


@dataclass(frozen=True)
class Request:
    session: Session
    period: q.Period
    now: datetime
    unit: str


@dataclass(frozen=True)
class Table:
    name: str
    title: str
    columns: tuple[str, ...]
    rows: Callable[[Request], Iterator[tuple]]
    #: True when the table can be as long as the ticket history (JSON pages it).
    is_large: bool = False


def _compliance(r: Request) -> Iterator[tuple]:
    table = q.compliance_table(r.session, r.period, r.now)
    labels = q.dimension_labels(r.session)
    for kind, dims in table.items():
        c = dims["total"]
        yield kind, "total", "", "All", c.judged, c.met, c.breached, c.percent
        for dim in q.DIMENSIONS:
            for key, c in sorted(dims[dim].items(), key=lambda kv: str(kv[0])):
                label = "None" if key is None else labels[dim].get(key, str(key))
                yield kind, dim, "" if key is None else key, label, c.judged, c.met, \
                    c.breached, c.percent


def _trend(r: Request) -> Iterator[tuple]:
    for kind, buckets in q.compliance_trend(r.session, r.period, r.now, r.unit).items():
        for bucket, c in buckets:
            yield kind, bucket, c.judged, c.met, c.breached, c.percent


def _breaches(r: Request) -> Iterator[tuple]:
    j = q.judged_clocks(r.period, r.now)
    stmt = (sa.select(Ticket.id, Ticket.title, Ticket.priority, q._tier_at(j.c.decided_at),
                      Ticket.group_id, SLAClock, j.c.decided_at,
                      q._escalated_by(j.c.decided_at))
            .join(SLAClock, SLAClock.id == j.c.clock_id).join(Ticket, Ticket.id == j.c.ticket_id)
            .where(j.c.is_breach == 1).order_by(j.c.decided_at.desc(), j.c.clock_id.desc()))
    cache = CalendarCache(r.session)
    groups = q.dimension_labels(r.session)["group"]
    for tid, title, prio, tier, gid, clock, at, esc in _stream(r.session, stmt):
        late = max(0.0, elapsed_seconds(clock, cache.get(clock.calendar_id), r.now)
                   - clock.target_seconds)
        yield format_number(tid), title, clock.kind.value, at, round(late), f"P{prio}", int(tier), \
            groups.get(gid, ""), bool(esc)


def _at_risk(r: Request) -> Iterator[tuple]:
    for ticket, clock in q.at_risk(r.session, r.now, limit=10_000):
        yield ticket.number, ticket.title, clock.kind.value, clock.due_at, f"P{ticket.priority}"


def _backlog(r: Request) -> Iterator[tuple]:
    yield from q.backlog(r.session, r.now)


def _flow(r: Request) -> Iterator[tuple]:
    yield from q.created_vs_resolved(r.session, r.period, r.unit)


def _people(r: Request) -> Iterator[tuple]:
    p = q.people(r.session, r.period, q.csat_by_assignee(r.session, r.period))
    for rank, row in enumerate(p["rows"], 1):
        yield rank, row["name"], row["role"], row["handled"], row["fcr_rate"], \
            _hours(row["mttr_business"]), row["sla_met"], row["csat"]
    t = p["team"]
    yield "", "Team", "", t["handled"], t["fcr_rate"], _hours(t["mttr_business"]), \
        t["sla_met"], t["csat"]


def _vendors(r: Request) -> Iterator[tuple]:
    for row in q.vendor_figures(r.session, r.period, r.now)["spend"]:
        yield row["vendor"], row["engagements"], row["spent"]


def _csat(r: Request) -> Iterator[tuple]:
    c = q.csat(r.session, r.period)
    for score, count in c["by_score"].items():
        yield score, count


def _knowledge_gaps(r: Request) -> Iterator[tuple]:
    for row in q.knowledge(r.session, r.period, top=0, gaps=1000)["gaps"]:
        yield row["query"], row["searches"]


def _unmet(r: Request) -> Iterator[tuple]:
    U = UnmetRequest
    stmt = (sa.select(U.id, U.created_at, U.category, U.description, U.ticket_id, User.name)
            .join(User, User.id == U.recorded_by_id).where(r.period.contains(U.created_at))
            .order_by(U.created_at, U.id))
    for uid, at, cat, text, tid, who in _stream(r.session, stmt):
        yield uid, at, cat.value, text, format_number(tid) if tid else "", who


def _tickets(r: Request) -> Iterator[tuple]:
    """One row per ticket logged in the period, with its clocks' outcome and business time."""
    resp, res = aliased(SLAClock), aliased(SLAClock)

    def clock_join(alias, kind):
        return sa.and_(alias.ticket_id == Ticket.id, alias.kind == kind,
                       alias.engagement_id.is_(None))
    stmt = (sa.select(Ticket.id, Ticket.created_at, Ticket.resolved_at, Ticket.status,
                      Ticket.priority, Ticket.channel, Ticket.tier, Ticket.group_id,
                      Ticket.service_id, Ticket.category_id, Ticket.assignee_id,
                      Ticket.is_first_contact_resolution,
                      resp.state, resp.breached_at, resp.is_cancelled, resp.elapsed_before,
                      res.state, res.breached_at, res.is_cancelled, res.elapsed_before,
                      Survey.score)
            .outerjoin(resp, clock_join(resp, ClockKind.response))
            .outerjoin(res, clock_join(res, ClockKind.resolution))
            .outerjoin(Survey, Survey.ticket_id == Ticket.id)
            .where(r.period.contains(Ticket.created_at)).order_by(Ticket.id))
    labels = q.dimension_labels(r.session)
    people = dict(r.session.execute(sa.select(User.id, User.name).where(
        User.role != Role.requester)).all())
    for row in _stream(r.session, stmt):
        (tid, created, resolved, status, prio, channel, tier, gid, sid, cid, aid, fcr,
         s1, b1, c1, e1, s2, b2, c2, e2, score) = row
        yield (format_number(tid), created, resolved, status.value, f"P{prio}", channel.value,
               tier, labels["group"].get(gid, ""), labels["service"].get(sid, ""),
               labels["category"].get(cid, ""), people.get(aid, ""), fcr,
               _outcome(s1, b1, c1), _business(s1, e1), _outcome(s2, b2, c2), _business(s2, e2),
               score)


def _outcome(state, breached_at, cancelled) -> str:
    if state is None:
        return ""
    if cancelled:
        return "cancelled"
    if breached_at is not None:
        return "breached"
    return "met" if state is ClockState.stopped else state.value


def _business(state, elapsed) -> float | str:
    """Business seconds of a stopped clock (running ones are still counting: blank)."""
    return round(elapsed) if state is ClockState.stopped else ""


def _hours(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds / 3600, 2)


def _stream(session: Session, stmt) -> Iterator[sa.Row]:
    """Rows in batches from a server-side cursor, never the whole result in memory."""
    result = session.execute(stmt.execution_options(yield_per=STREAM_BATCH))
    try:
        yield from result
    finally:
        result.close()


TABLES: dict[str, Table] = {t.name: t for t in (
    Table("compliance", "SLA compliance by dimension",
          ("kind", "dimension", "key", "label", "judged", "met", "breached", "percent"),
          _compliance),
    Table("trend", "SLA compliance trend",
          ("kind", "bucket", "judged", "met", "breached", "percent"), _trend),
    Table("breaches", "Breaches",
          ("ticket", "title", "kind", "breached_at", "late_business_seconds", "priority",
           "tier", "group", "escalated_in_time"), _breaches, is_large=True),
    Table("at_risk", "At risk now", ("ticket", "title", "kind", "due_at", "priority"),
          _at_risk),
    Table("backlog", "Backlog by age", ("age", "open"), _backlog),
    Table("flow", "Created vs resolved", ("bucket", "created", "resolved"), _flow),
    Table("people", "People", ("rank", "name", "role", "handled", "fcr_percent",
                               "mttr_business_hours", "sla_met_percent", "csat"), _people),
    Table("vendors", "Vendor spend", ("vendor", "engagements", "spent"), _vendors),
    Table("csat", "Satisfaction answers by score", ("score", "answers"), _csat),
    Table("knowledge_gaps", "Portal searches that found nothing", ("query", "searches"),
          _knowledge_gaps),
    Table("unmet", "Unmet requests", ("id", "recorded_at", "category", "description", "ticket",
                                      "recorded_by"), _unmet, is_large=True),
    Table("tickets", "Tickets logged in the period",
          ("ticket", "created_at", "resolved_at", "status", "priority", "channel", "tier",
           "group", "service", "category", "assignee", "first_contact_resolution",
           "response_sla", "response_business_seconds", "resolution_sla",
           "resolution_business_seconds", "csat"), _tickets, is_large=True),
)}
