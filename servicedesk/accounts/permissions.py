"""Pure permission predicates and the query filter that enforces them on lists.

A requester sees only their own tickets; a vendor user only tickets engaged to its vendor;
staff see everything. Internal events never reach requesters or vendors.
"""
from __future__ import annotations

import sqlalchemy as sa

from servicedesk.accounts.models import Role, User
from servicedesk.errors import NotFound, PermissionDenied
from servicedesk.escalation.models import VENDOR_VISIBLE_STATES, VendorEngagement
from servicedesk.tickets.models import Ticket, TicketEvent


def visible_tickets_clause(user: User) -> sa.ColumnElement[bool]:
    """A WHERE clause restricting ``tickets`` to what ``user`` may see."""
    if user.is_staff:
        return sa.true()
    if user.role is Role.requester:
        return Ticket.requester_id == user.id
    if user.role is Role.vendor and user.vendor_id is not None:
        engaged = sa.select(VendorEngagement.ticket_id).where(
            VendorEngagement.vendor_id == user.vendor_id,
            VendorEngagement.state.in_(VENDOR_VISIBLE_STATES),
        )
        return Ticket.id.in_(engaged)
    return sa.false()


def can_view_ticket(session, user: User, ticket: Ticket) -> bool:
    if user.is_staff:
        return True
    if user.role is Role.requester:
        return ticket.requester_id == user.id
    if user.role is Role.vendor:
        return session.scalar(
            sa.select(sa.func.count()).select_from(Ticket)
            .where(Ticket.id == ticket.id, visible_tickets_clause(user))
        ) > 0
    return False


def can_edit_ticket(user: User) -> bool:
    """Edit fields, assign, link, transition freely: staff only."""
    return user.is_staff


def can_see_internal(user: User) -> bool:
    return user.is_staff


def can_comment_internally(user: User) -> bool:
    return user.is_staff


def can_create_for_others(user: User) -> bool:
    """Log a ticket on behalf of a caller (the agent intake form)."""
    return user.is_staff


def can_manage_users(user: User) -> bool:
    return user.role is Role.admin


def can_edit_matrix(user: User) -> bool:
    return user.role in (Role.admin, Role.manager)


def can_manage_sla(user: User) -> bool:
    """Calendars, SLA policies, escalation rules and vendor budgets: managers and admins."""
    return user.role in (Role.admin, Role.manager)


def can_view_reports(user: User) -> bool:
    """Dashboards, per-person figures and exports: managers only (people data is confidential)."""
    return user.role is Role.manager


def visible_events(user: User, events: list[TicketEvent]) -> list[TicketEvent]:
    if can_see_internal(user):
        return list(events)
    return [e for e in events if e.is_public]


def load_visible_ticket(session, user: User, ticket_id: int) -> Ticket:
    """The ticket if ``user`` may see it; NotFound otherwise (no existence leak)."""
    ticket = session.get(Ticket, ticket_id)
    if ticket is None or not can_view_ticket(session, user, ticket):
        raise NotFound(f"Ticket {ticket_id} not found.")
    return ticket


def ensure(condition: bool, message: str = "You are not allowed to do that.") -> None:
    if not condition:
        raise PermissionDenied(message)


# --- knowledge base ----------------------------------------------------------------------
# Articles are passed duck-typed (status, audience, author_id as in knowledge/models.py) so
# this module does not import the knowledge package.

#: Roles that review, publish and retire articles and manage problems.
KNOWLEDGE_EDITORS = frozenset({Role.expert, Role.manager, Role.admin})


def can_write_articles(user: User) -> bool:
    """Draft articles (any staff member; agents edit only their own drafts)."""
    return user.is_staff


def can_review_articles(user: User) -> bool:
    """Edit any article, publish, retire; record problems and known errors."""
    return user.role in KNOWLEDGE_EDITORS


def can_view_article(user: User, article) -> bool:
    """Requesters and vendors: public published articles. Agents: published ones and their
    own. Experts, managers, admins: everything."""
    status = getattr(article.status, "value", article.status)
    audience = getattr(article.audience, "value", article.audience)
    if can_review_articles(user):
        return True
    if user.is_staff:
        return status == "published" or article.author_id == user.id
    return status == "published" and audience == "public"


def can_edit_article(user: User, article) -> bool:
    """Editors change any article that is not retired; agents their own drafts."""
    status = getattr(article.status, "value", article.status)
    if status == "retired":
        return False
    if can_review_articles(user):
        return True
    return user.is_staff and article.author_id == user.id and status == "draft"


def can_manage_must_read(user: User) -> bool:
    """See who has not acknowledged a must-read article."""
    return user.role in (Role.manager, Role.admin)
