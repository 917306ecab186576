"""Read side of escalation: the engagements each user may see, by ticket or state.

Budget figures (set, spent, committed, remaining) live in escalation/budgets.py."""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session, joinedload

from servicedesk.accounts.models import Role, User
from servicedesk.errors import NotFound
from servicedesk.escalation.models import (
    VENDOR_VISIBLE_STATES, EngagementState, VendorEngagement,
)

E = EngagementState
#: Engagements still in progress (at most one per ticket, see request_engagement).
OPEN_STATES = (E.requested, E.approved, E.engaged, E.fixed)


def visible_engagements_clause(user: User) -> sa.ColumnElement[bool]:
    """Staff see every engagement; a vendor user only its vendor's approved-or-later ones;
    nobody else any (escalation is internal to the desk)."""
    if user.is_staff:
        return sa.true()
    if user.role is Role.vendor and user.vendor_id is not None:
        return sa.and_(VendorEngagement.vendor_id == user.vendor_id,
                       VendorEngagement.state.in_(VENDOR_VISIBLE_STATES))
    return sa.false()


def _with_refs(stmt):
    return stmt.options(joinedload(VendorEngagement.ticket), joinedload(VendorEngagement.vendor),
                        joinedload(VendorEngagement.requested_by),
                        joinedload(VendorEngagement.decided_by))


def engagements(session: Session, user: User, *, states: list[EngagementState] | None = None,
                ticket_id: int | None = None, limit: int = 100, offset: int = 0,
                oldest_first: bool = False) -> tuple[list[VendorEngagement], int]:
    """The engagements ``user`` may see, newest first (or oldest: a queue to work through),
    and how many there are in all."""
    clauses = [visible_engagements_clause(user)]
    if states:
        clauses.append(VendorEngagement.state.in_(states))
    if ticket_id is not None:
        clauses.append(VendorEngagement.ticket_id == ticket_id)
    total = session.scalar(sa.select(sa.func.count(VendorEngagement.id)).where(*clauses)) or 0
    order = (VendorEngagement.created_at, VendorEngagement.id)
    stmt = _with_refs(sa.select(VendorEngagement).where(*clauses)
                      .order_by(*(order if oldest_first else (o.desc() for o in order)))
                      .limit(limit).offset(offset))
    return list(session.scalars(stmt).unique()), total


def ticket_engagements(session: Session, user: User, ticket_id: int) -> list[VendorEngagement]:
    """A ticket's engagements ``user`` may see, oldest first (the ticket page's list)."""
    stmt = _with_refs(sa.select(VendorEngagement).where(
        VendorEngagement.ticket_id == ticket_id, visible_engagements_clause(user))
        .order_by(VendorEngagement.id))
    return list(session.scalars(stmt).unique())


def latest_engagements(session: Session, user: User,
                       ticket_ids: list[int]) -> dict[int, VendorEngagement]:
    """The newest engagement ``user`` may see on each of ``ticket_ids`` (one query)."""
    if not ticket_ids:
        return {}
    found: dict[int, VendorEngagement] = {}
    for engagement in session.scalars(sa.select(VendorEngagement).where(
            VendorEngagement.ticket_id.in_(ticket_ids), visible_engagements_clause(user))
            .order_by(VendorEngagement.id)):
        found[engagement.ticket_id] = engagement  # later ids overwrite earlier ones
    return found


def load_visible_engagement(session: Session, user: User,
                            engagement_id: int) -> VendorEngagement:
    """The engagement if ``user`` may see it; NotFound otherwise (no existence leak)."""
    engagement = session.scalar(sa.select(VendorEngagement).where(
        VendorEngagement.id == engagement_id, visible_engagements_clause(user)))
    if engagement is None:
        raise NotFound(f"Engagement {engagement_id} not found.")
    return engagement
