"""Read side of tickets: queues with filters, sorting, search and pagination."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import Generic, Sequence, TypeVar

import sqlalchemy as sa
from sqlalchemy.orm import Session, joinedload
from sqlalchemy.sql.elements import True_

from servicedesk.accounts.models import Group, User
from servicedesk.accounts.permissions import visible_tickets_clause
from servicedesk.catalog.models import Service
from servicedesk.errors import ValidationError
from servicedesk.refcache import reference_cache
from servicedesk.sla.queries import (
    SLA_FILTERS, ResolutionClock, due_order, join_states, resolution_clock_join, sla_state,
)
from servicedesk.tickets.models import OPEN_STATUSES, Status, Ticket
from servicedesk.tickets.search import search_clause

T = TypeVar("T")

VIEWS = ("mine", "group", "unassigned", "open", "all")
#: Views limited to open tickets (see ``_view_clause``).
OPEN_VIEWS = frozenset({"mine", "group", "unassigned", "open"})
SORTS = {
    "priority": (Ticket.priority.asc(), Ticket.created_at.asc(), Ticket.id.asc()),
    "newest": (Ticket.created_at.desc(), Ticket.id.desc()),
    "oldest": (Ticket.created_at.asc(), Ticket.id.asc()),
    "updated": (Ticket.updated_at.desc(), Ticket.id.desc()),
    #: Running resolution clocks by due time, then the rest (needs ``QueueFilter.now``).
    "due": due_order(),
}
MAX_PER_PAGE = 100


@dataclass
class QueueFilter:
    view: str = "open"
    statuses: list[Status] = field(default_factory=list)
    priorities: list[int] = field(default_factory=list)
    group_id: int | None = None
    service_id: int | None = None
    q: str = ""
    sort: str = "priority"
    page: int = 1
    per_page: int = 25
    #: "at_risk" or "breached" (the resolution clock, see sla/queries.py); "" for any.
    sla: str = ""
    #: The instant SLA states are judged at; without it the page carries no SLA cells and
    #: neither the "due" sort nor the SLA filters can be used.
    now: datetime | None = None

    def validate(self) -> QueueFilter:
        if self.view not in VIEWS:
            raise ValidationError(f"Unknown view {self.view!r}.", field="view")
        if self.sort not in SORTS:
            raise ValidationError(f"Unknown sort {self.sort!r}; use one of "
                                  f"{', '.join(SORTS)}.", field="sort")
        if self.page < 1:
            raise ValidationError("Page starts at 1.", field="page")
        if not 1 <= self.per_page <= MAX_PER_PAGE:
            raise ValidationError(f"per_page is 1..{MAX_PER_PAGE}.", field="per_page")
        if any(p not in (1, 2, 3, 4) for p in self.priorities):
            raise ValidationError("Priority is 1..4.", field="priority")
        if len(self.q) > 200:
            raise ValidationError("Search text is too long (200 characters at most).", field="q")
        if self.sla and self.sla not in SLA_FILTERS:
            raise ValidationError(f"Unknown SLA filter {self.sla!r}; use one of "
                                  f"{', '.join(SLA_FILTERS)}.", field="sla")
        if (self.sla or self.sort == "due") and self.now is None:
            raise ValueError("QueueFilter.now is needed for SLA filters and the due sort")
        return self


@dataclass(frozen=True)
class SlaCell:
    """A ticket's resolution clock in the queue: due time and one-word state."""

    due_at: datetime | None
    state: str | None


@dataclass
class Page(Generic[T]):
    items: Sequence[T]
    total: int
    page: int
    per_page: int
    #: Ticket id -> its resolution clock, when the query was asked to judge SLAs.
    sla: dict[int, SlaCell] = field(default_factory=dict)

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def has_prev(self) -> bool:
        return self.page > 1


def _view_clause(user: User, view: str) -> sa.ColumnElement[bool]:
    open_ = Ticket.status.in_(OPEN_STATUSES)
    if view == "mine":
        return sa.and_(open_, Ticket.assignee_id == user.id)
    if view == "group":
        group_ids = [g.id for g in user.groups]
        return sa.and_(open_, Ticket.group_id.in_(group_ids))
    if view == "unassigned":
        return sa.and_(open_, Ticket.assignee_id.is_(None))
    if view == "open":
        return open_
    return sa.true()


def ticket_filter_clauses(user: User, f: QueueFilter) -> list[sa.ColumnElement[bool]]:
    """The WHERE clauses of a queue; always-true ones are left out (SQLite counts a whole
    table much faster without a WHERE)."""
    clauses = [c for c in (visible_tickets_clause(user), _view_clause(user, f.view))
               if not isinstance(c, True_)]
    if f.statuses:
        clauses.append(Ticket.status.in_(f.statuses))
    if f.priorities:
        clauses.append(Ticket.priority.in_(f.priorities))
    if f.group_id is not None:
        clauses.append(Ticket.group_id == f.group_id)
    if f.service_id is not None:
        clauses.append(Ticket.service_id == f.service_id)
    search = search_clause(f.q)
    if search is not None:
        clauses.append(search)
    return clauses


def queue(session: Session, user: User, f: QueueFilter) -> Page[Ticket]:
    """One page of the tickets ``user`` may see, filtered and sorted; total counted in SQL.

    The page is found as ids first (sorting only the filtered tickets' index entries), then
    those few tickets are loaded with their people, group and service: joining every matching
    ticket before the sort and LIMIT cost most of the time on big open views. The "due" sort
    and the SLA filters outer-join each ticket's resolution clock (through
    ix_sla_clocks_ticket_kind) in the id query itself. With ``f.now`` the page also gets the
    SLA cells of the tickets shown, read by id in one more small query, so the default
    priority page pays nothing per matching row for its due column. With a text search on
    SQLite the total comes with the page (``count(*) OVER ()``), so the search runs once.
    """
    f.validate()
    clauses = ticket_filter_clauses(user, f)
    count = sa.select(sa.func.count()).select_from(Ticket)
    ids = sa.select(Ticket.id)
    join = resolution_clock_join(*join_states(f.view in OPEN_VIEWS, f.sla))
    if f.sla:
        clauses.append(sla_state(f.now) == f.sla)
        count = count.outerjoin(ResolutionClock, join)
    if f.sla or f.sort == "due":
        ids = ids.outerjoin(ResolutionClock, join)
    if clauses:
        count, ids = count.where(*clauses), ids.where(*clauses)
    ids = ids.order_by(*SORTS[f.sort]).limit(f.per_page).offset((f.page - 1) * f.per_page)
    if f.q.strip() and session.get_bind().dialect.name == "sqlite":
        # SQLite: the FTS5 lookup is the expensive part; run it once, the total counted with
        # the page. (PostgreSQL counts through the GIN index and finds the page by walking the
        # sort index; a window count there makes the planner scan that whole index.)
        rows = session.execute(ids.add_columns(sa.func.count().over())).all()
        page_ids = [row[0] for row in rows]
        total = rows[0][1] if rows else session.scalar(count) or 0
    else:
        total = session.scalar(count) or 0
        page_ids = list(session.scalars(ids))
    items = _tickets_by_id(session, page_ids)
    cells = sla_cells(session, page_ids, f.now) if f.now is not None else {}
    return Page(items=items, total=total, page=f.page, per_page=f.per_page, sla=cells)


def _tickets_by_id(session: Session, ids: list[int]) -> list[Ticket]:
    """Tickets with the rows a list shows (requester, assignee, group, service), in ``ids``
    order."""
    if not ids:
        return []
    rows = session.scalars(sa.select(Ticket).where(Ticket.id.in_(ids))
                           .options(joinedload(Ticket.requester), joinedload(Ticket.assignee),
                                    joinedload(Ticket.group), joinedload(Ticket.service)))
    by_id = {t.id: t for t in rows.unique()}
    return [by_id[i] for i in ids]


def sla_cells(session: Session, ticket_ids: list[int], now: datetime) -> dict[int, SlaCell]:
    """The resolution clock's due time and state for each of ``ticket_ids`` (one query)."""
    if not ticket_ids:
        return {}
    rows = session.execute(
        sa.select(Ticket.id, ResolutionClock.c.due_at, sla_state(now))
        .outerjoin(ResolutionClock, resolution_clock_join()).where(Ticket.id.in_(ticket_ids)))
    return {ticket_id: SlaCell(due_at=due_at, state=state) for ticket_id, due_at, state in rows}


def requester_tickets(session: Session, user: User, *, page: int = 1,
                      per_page: int = 25) -> Page[Ticket]:
    """A requester's own tickets, newest first (the portal list)."""
    return queue(session, user, QueueFilter(view="all", sort="newest", page=page,
                                            per_page=per_page))


# --- read helpers for the web UI (intake form, ticket page) --------------------------------

def find_callers(session: Session, text: str, *, limit: int = 10) -> list[User]:
    """Active users whose e-mail, name or phone contains ``text`` (the intake caller lookup)."""
    text = (text or "").strip()
    if len(text) < 2:
        return []
    pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    stmt = (sa.select(User)
            .where(User.is_active_account,
                   sa.or_(User.email.ilike(pattern, escape="\\"),
                          User.name.ilike(pattern, escape="\\"),
                          User.phone.ilike(pattern, escape="\\")))
            .order_by(User.name, User.id).limit(limit))
    return list(session.scalars(stmt))


def children_of(session: Session, ticket: Ticket) -> list[Ticket]:
    """Tickets linked to ``ticket`` as their parent (major incident), oldest first."""
    return list(session.scalars(sa.select(Ticket).where(Ticket.parent_id == ticket.id)
                                .order_by(Ticket.id)))


def duplicates_of(session: Session, ticket: Ticket) -> list[Ticket]:
    """Tickets marked as duplicates of ``ticket``, oldest first."""
    return list(session.scalars(sa.select(Ticket).where(Ticket.duplicate_of_id == ticket.id)
                                .order_by(Ticket.id)))


#: The queue's filter lists, built once: (id, name) rows, no ORM objects (the busiest page).
_GROUP_CHOICES = sa.select(Group.id, Group.name).order_by(Group.tier, Group.name)
_SERVICE_CHOICES = (sa.select(Service.id, Service.name).where(Service.is_active)
                    .order_by(Service.name))
reference_cache.watch(Group, Service)


def filter_choices(session: Session) -> tuple[list[tuple[int, str]], list[tuple[int, str]]]:
    """The queue's filter lists, (id, name): groups by tier then name, active services by name.
    Through the reference cache (cleared by any write to groups or services): two round trips
    fewer on every queue page."""
    return reference_cache.get(session, "queue_filter_choices", _load_filter_choices)


def _load_filter_choices(session: Session):
    return ([tuple(row) for row in session.execute(_GROUP_CHOICES)],
            [tuple(row) for row in session.execute(_SERVICE_CHOICES)])


def assignable_groups(session: Session) -> list:
    """Every assignment group, by tier then name, members loaded."""
    from sqlalchemy.orm import selectinload

    return list(session.scalars(sa.select(Group).options(selectinload(Group.members))
                                .order_by(Group.tier, Group.name)))


def staff_users(session: Session) -> list[User]:
    """Active staff who can be assigned tickets, by name."""
    from sqlalchemy.orm import selectinload

    from servicedesk.accounts.models import STAFF_ROLES

    return list(session.scalars(sa.select(User).where(User.is_active_account,
                                                      User.role.in_(STAFF_ROLES))
                                .options(selectinload(User.groups)).order_by(User.name)))
