"""Ticket API shapes: request models (validated strictly) and response models + serializers.

Request models forbid unknown fields and take JSON types as they are: ``"2"`` is not an impact.
Response models are what the API returns and what the OpenAPI document describes; every
ticket response is built through them, so the document cannot drift from the JSON.
"""
from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import pydantic

from servicedesk.accounts import permissions
from servicedesk.accounts.models import User
from servicedesk.errors import ValidationError
from servicedesk.tickets import workflow
from servicedesk.tickets.models import (
    Channel, EventKind, ResolutionCode, Status, Ticket, TicketEvent, format_number,
)
from servicedesk.sla.queries import SLA_FILTERS
from servicedesk.tickets.queries import SORTS, VIEWS
from servicedesk.tickets.services import TEXT_MAX, TITLE_MAX
from servicedesk.web.api import (
    MAX_ID, ApiModel, GroupRef, Id, OutModel, PageNumber, UserRef, Version, group_ref, text,
    user_ref,
)

#: Impact and urgency: 1 (widespread / work stopped) .. 3 (one person / can wait).
Level = Annotated[int, pydantic.Field(strict=True, ge=1, le=3)]
#: Priority 1 (P1, most urgent) .. 4.
Prio = Annotated[int, pydantic.Field(strict=True, ge=1, le=4)]
Title = text(TITLE_MAX)
Text = text(TEXT_MAX)
Reason = text(500)
#: An id in a query string (a string there, so not strict).
QueryId = Annotated[int, pydantic.Field(ge=1, le=MAX_ID)]


# --- requests --------------------------------------------------------------------------------

class CallerIn(ApiModel):
    """The person on the phone: found by e-mail (or phone), created as a requester if new."""

    email: text(254) | None = None
    name: text(120) | None = None
    phone: text(40) | None = None


class TicketCreate(ApiModel):
    """Log a ticket. Staff may log it for someone else (``requester_id`` or ``caller``)."""

    title: Title
    description: Text
    impact: Level
    urgency: Level
    channel: Channel | None = None
    """Defaults to "api" for token clients and "web" for browser sessions."""
    service_id: Id | None = None
    category_id: Id | None = None
    priority: Prio | None = None
    """Override of the matrix priority (staff only); needs ``priority_reason``."""
    priority_reason: Reason | None = None
    requester_id: Id | None = None
    """Staff only: an existing user the ticket is for."""
    caller: CallerIn | None = None
    """Staff only: find-or-create the requester from the caller's details."""
    group_id: Id | None = None
    assignee_id: Id | None = None
    parent_id: Id | None = None
    """The major incident this ticket belongs to (staff only)."""

    def check_fields(self) -> None:
        if self.requester_id is not None and self.caller is not None:
            raise ValidationError("Give requester_id or caller, not both.", field="caller")


class TicketUpdate(ApiModel):
    """Change descriptive fields. Omitted fields stay; ``null`` clears service or category."""

    version: Version
    """The version the client read; a stale one gets 409 and changes nothing."""
    title: Title = None
    description: Text = None
    service_id: Id | None = None
    category_id: Id | None = None
    impact: Level = None
    urgency: Level = None
    priority: Prio = None
    """Override the matrix priority; needs ``priority_reason`` unless it equals the matrix."""
    priority_reason: Reason | None = None

    def check_fields(self) -> None:
        given = self.model_fields_set - {"version"}
        if not given:
            raise ValidationError("Give at least one field to change.", field="body")
        if "priority_reason" in given and "priority" not in given:
            raise ValidationError("A priority reason goes with a priority override.",
                                  field="priority_reason")

    def changes(self) -> dict:
        """The fields the client sent (``null`` included), without ``version``."""
        return {name: getattr(self, name) for name in self.model_fields_set - {"version"}}


class TransitionIn(ApiModel):
    """Move the ticket to another status (see ``allowed_transitions`` on the ticket)."""

    status: Status
    version: Version | None = None
    resolution_code: ResolutionCode | None = None
    """Required when resolving."""
    resolution_notes: Text | None = None
    comment: Text | None = None


class CommentIn(ApiModel):
    body: Text
    is_public: Annotated[bool, pydantic.Field(strict=True)] = True
    """False for an internal note (staff only; never shown to requesters or vendors)."""


class AssignIn(ApiModel):
    """Set the group and/or person. Omitted: unchanged, except that a person who is not in a
    newly given group is unassigned. ``null`` clears."""

    group_id: Id | None = None
    assignee_id: Id | None = None
    version: Version | None = None

    def check_fields(self) -> None:
        if not {"group_id", "assignee_id"} & self.model_fields_set:
            raise ValidationError("Give group_id and/or assignee_id.", field="body")


class LinksIn(ApiModel):
    """Link to a major incident (parent) or an original (duplicate of); ``null`` unlinks."""

    parent_id: Id | None = None
    duplicate_of_id: Id | None = None
    version: Version | None = None

    def check_fields(self) -> None:
        if not {"parent_id", "duplicate_of_id"} & self.model_fields_set:
            raise ValidationError("Give parent_id and/or duplicate_of_id.", field="body")


class TicketListQuery(ApiModel):
    """Filters of GET /tickets; ``status`` and ``priority`` may repeat."""

    view: Literal[VIEWS] | None = None  # type: ignore[valid-type]
    """mine, group, unassigned, open, all; defaults to open for staff and all for others."""
    status: list[Status] = []
    priority: list[Annotated[int, pydantic.Field(ge=1, le=4)]] = []
    group_id: QueryId | None = None
    service_id: QueryId | None = None
    q: Annotated[str, pydantic.Field(max_length=200)] = ""
    """Ticket number or words of the title/description."""
    sort: Literal[tuple(SORTS)] = "priority"  # type: ignore[valid-type]
    """priority (P1 first, then oldest), newest, oldest, updated (latest change first) or
    due (running resolution SLA clocks by due time first; paused and stopped ones last)."""
    sla: Literal[tuple(SLA_FILTERS)] | None = None  # type: ignore[valid-type]
    """at_risk (running, past a warning threshold or due within the hour) or breached: the
    resolution SLA clock, judged now."""
    page: PageNumber = 1
    per_page: Annotated[int, pydantic.Field(ge=1, le=100)] = 25


# --- responses -------------------------------------------------------------------------------

class ServiceRef(OutModel):
    id: int
    name: str


class CategoryRef(OutModel):
    id: int
    name: str


class TicketRef(OutModel):
    id: int
    number: str


class Resolution(OutModel):
    """How the ticket was resolved."""

    code: ResolutionCode
    notes: str | None
    resolved_at: datetime | None


class TicketFlags(OutModel):
    first_contact_resolution: bool
    """Resolved by the desk at first contact, without hand-off."""
    priority_overridden: bool
    """Priority set by hand instead of the matrix (the reason is in ``priority_reason``)."""
    open: bool
    """Still being worked (not resolved, closed or cancelled)."""


class TicketOut(OutModel):
    """A ticket as the caller may see it."""

    id: int
    number: str
    title: str
    description: str
    status: Status
    priority: int
    """1 (P1) .. 4."""
    priority_reason: str | None
    """Why the priority differs from the matrix; null when it does not (or for non-staff)."""
    impact: int
    urgency: int
    channel: Channel
    requester: UserRef
    group: GroupRef | None
    assignee: UserRef | None
    service: ServiceRef | None
    category: CategoryRef | None
    tier: int
    """1 service desk, 2 experts, 3 vendor."""
    parent: TicketRef | None
    duplicate_of: TicketRef | None
    resolution: Resolution | None
    flags: TicketFlags
    created_at: datetime
    updated_at: datetime
    responded_at: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None
    version: int
    """Send it back with changes; a stale version gets 409."""
    allowed_transitions: list[Status]
    """Statuses the caller may move this ticket to now."""


class EventOut(OutModel):
    """One entry of a ticket's history (a change, comment, escalation or SLA event)."""

    id: int
    kind: EventKind
    field: str | None
    old_value: str | None
    new_value: str | None
    body: str | None
    is_public: bool
    """False for internal notes and changes (staff only)."""
    actor: UserRef | None
    created_at: datetime


class TicketDetail(TicketOut):
    """A ticket with the history the caller may see."""

    events: list[EventOut]
    """History the caller may see (public events only for requesters and vendors)."""


class TicketPage(OutModel):
    """One page of tickets."""

    items: list[TicketOut]
    page: int
    per_page: int
    total: int
    pages: int


class EventList(OutModel):
    """A ticket's history the caller may see, oldest first."""

    items: list[EventOut]


# --- serializers -----------------------------------------------------------------------------

def _ticket_ref(ticket_id: int | None) -> TicketRef | None:
    return None if ticket_id is None else TicketRef(id=ticket_id, number=format_number(ticket_id))


def transitions_for(ticket: Ticket, viewer: User) -> list[Status]:
    """What ``viewer`` may move ``ticket`` to, in lifecycle order (assigned needs a person)."""
    allowed = workflow.allowed_transitions(ticket.status, viewer.role)
    return [s for s in Status if s in allowed
            and not (s is Status.assigned and ticket.assignee_id is None)]


def _ticket_fields(ticket: Ticket, viewer: User) -> dict:
    staff = permissions.can_see_internal(viewer)
    resolution = None
    if ticket.resolution_code is not None:
        resolution = Resolution(code=ticket.resolution_code, notes=ticket.resolution_notes,
                                resolved_at=ticket.resolved_at)
    return dict(
        id=ticket.id, number=ticket.number, title=ticket.title, description=ticket.description,
        status=ticket.status, priority=ticket.priority,
        priority_reason=ticket.priority_override_reason if staff else None,
        impact=ticket.impact, urgency=ticket.urgency, channel=ticket.channel,
        requester=user_ref(ticket.requester), group=group_ref(ticket.group),
        assignee=user_ref(ticket.assignee),
        service=None if ticket.service is None else ServiceRef(id=ticket.service.id,
                                                               name=ticket.service.name),
        category=None if ticket.category is None else CategoryRef(id=ticket.category.id,
                                                                  name=ticket.category.name),
        tier=ticket.tier, parent=_ticket_ref(ticket.parent_id),
        duplicate_of=_ticket_ref(ticket.duplicate_of_id), resolution=resolution,
        flags=TicketFlags(first_contact_resolution=ticket.is_first_contact_resolution,
                          priority_overridden=ticket.priority_override_reason is not None,
                          open=ticket.is_open),
        created_at=ticket.created_at, updated_at=ticket.updated_at,
        responded_at=ticket.responded_at, resolved_at=ticket.resolved_at,
        closed_at=ticket.closed_at, version=ticket.version,
        allowed_transitions=transitions_for(ticket, viewer),
    )


def ticket_out(ticket: Ticket, viewer: User) -> TicketOut:
    """The ticket as ``viewer`` may see it (no override reason for requesters or vendors)."""
    return TicketOut(**_ticket_fields(ticket, viewer))


def event_out(event: TicketEvent) -> EventOut:
    return EventOut(id=event.id, kind=event.kind, field=event.field, old_value=event.old_value,
                    new_value=event.new_value, body=event.body, is_public=event.is_public,
                    actor=user_ref(event.actor), created_at=event.created_at)


def visible_event_list(ticket: Ticket, viewer: User) -> list[EventOut]:
    """The history ``viewer`` may see: internal events only for staff."""
    return [event_out(e) for e in permissions.visible_events(viewer, ticket.events)]


def ticket_detail(ticket: Ticket, viewer: User) -> TicketDetail:
    return TicketDetail(**_ticket_fields(ticket, viewer),
                        events=visible_event_list(ticket, viewer))
