"""Ticket and its append-only TicketEvent history."""
from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from servicedesk.db import UTCDateTime, enum_column
from servicedesk.extensions import db

NUMBER_PREFIX = "INC-"


class Status(str, enum.Enum):
    new = "new"
    assigned = "assigned"
    in_progress = "in_progress"
    pending_customer = "pending_customer"
    pending_vendor = "pending_vendor"
    resolved = "resolved"
    closed = "closed"
    cancelled = "cancelled"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ")

    @property
    def is_open(self) -> bool:
        return self in OPEN_STATUSES


OPEN_STATUSES = frozenset({Status.new, Status.assigned, Status.in_progress,
                           Status.pending_customer, Status.pending_vendor})


class Channel(str, enum.Enum):
    phone = "phone"
    email = "email"
    web = "web"
    api = "api"
    monitoring = "monitoring"


class ResolutionCode(str, enum.Enum):
    fixed = "fixed"
    workaround = "workaround"
    known_error = "known_error"
    user_guidance = "user_guidance"
    duplicate = "duplicate"
    not_reproducible = "not_reproducible"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ")


class EventKind(str, enum.Enum):
    created = "created"
    field_changed = "field_changed"
    status_changed = "status_changed"
    assigned = "assigned"
    comment = "comment"
    linked = "linked"
    escalated = "escalated"
    sla = "sla"
    vendor = "vendor"
    knowledge = "knowledge"


class Ticket(db.Model):
    __tablename__ = "tickets"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(sa.String(200))
    description: Mapped[str] = mapped_column(sa.Text)
    requester_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    created_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    channel: Mapped[Channel] = mapped_column(enum_column(Channel))
    service_id: Mapped[int | None] = mapped_column(sa.ForeignKey("services.id"))
    category_id: Mapped[int | None] = mapped_column(sa.ForeignKey("categories.id"))
    #: 1 (widespread) .. 3 (one person); urgency 1 (now) .. 3 (can wait).
    impact: Mapped[int] = mapped_column(sa.Integer)
    urgency: Mapped[int] = mapped_column(sa.Integer)
    #: 1 (P1, most urgent) .. 4; from the matrix unless overridden.
    priority: Mapped[int] = mapped_column(sa.Integer)
    #: Why the matrix priority was overridden (None when it was not).
    priority_override_reason: Mapped[str | None] = mapped_column(sa.Text)
    status: Mapped[Status] = mapped_column(enum_column(Status), default=Status.new)
    group_id: Mapped[int | None] = mapped_column(sa.ForeignKey("groups.id"))
    assignee_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    #: 1 service desk, 2 experts, 3 vendor.
    tier: Mapped[int] = mapped_column(sa.Integer, default=1)
    #: The major incident this ticket is a child of.
    parent_id: Mapped[int | None] = mapped_column(sa.ForeignKey("tickets.id"), index=True)
    duplicate_of_id: Mapped[int | None] = mapped_column(sa.ForeignKey("tickets.id"))
    resolution_code: Mapped[ResolutionCode | None] = mapped_column(enum_column(ResolutionCode))
    resolution_notes: Mapped[str | None] = mapped_column(sa.Text)
    #: Resolved during the first contact by the desk, without hand-off.
    is_first_contact_resolution: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: First response by staff (public comment or acknowledged assignment).
    responded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: Optimistic lock: bumped by every flush that changes the row.
    version: Mapped[int] = mapped_column(sa.Integer, default=1)

    requester = relationship("User", foreign_keys=[requester_id])
    created_by = relationship("User", foreign_keys=[created_by_id])
    assignee = relationship("User", foreign_keys=[assignee_id])
    group = relationship("Group")
    service = relationship("Service")
    category = relationship("Category")
    parent: Mapped[Ticket | None] = relationship(remote_side=[id], foreign_keys=[parent_id])
    duplicate_of: Mapped[Ticket | None] = relationship(remote_side=[id],
                                                       foreign_keys=[duplicate_of_id])
    events: Mapped[list[TicketEvent]] = relationship(back_populates="ticket",
                                                     order_by="TicketEvent.id")
    clocks = relationship("SLAClock", back_populates="ticket", order_by="SLAClock.id")

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        sa.CheckConstraint("impact BETWEEN 1 AND 3", name="impact_range"),
        sa.CheckConstraint("urgency BETWEEN 1 AND 3", name="urgency_range"),
        sa.CheckConstraint("priority BETWEEN 1 AND 4", name="priority_range"),
        sa.CheckConstraint("tier IN (1, 2, 3)", name="tier_range"),
        # Queue pages: open tickets by status/priority/age, per assignee, group and requester.
        sa.Index("ix_tickets_status_priority_created", "status", "priority", "created_at"),
        # "mine" and "group" pages: the sort keys in the index, so a page is found without
        # reading every matching ticket's row.
        sa.Index("ix_tickets_assignee_status_priority", "assignee_id", "status", "priority",
                 "created_at"),
        sa.Index("ix_tickets_group_status_priority", "group_id", "status", "priority",
                 "created_at"),
        sa.Index("ix_tickets_requester_created", "requester_id", "created_at"),
        sa.Index("ix_tickets_service_status", "service_id", "status"),
        sa.Index("ix_tickets_priority_created", "priority", "created_at"),
        sa.Index("ix_tickets_created_at", "created_at"),
    )

    def __repr__(self) -> str:
        return f"<Ticket {self.number} {self.status.value} P{self.priority}>"

    @property
    def number(self) -> str:
        """Human number, e.g. INC-000123: the primary key, so unique under concurrency."""
        return format_number(self.id)

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


def format_number(ticket_id: int | None) -> str:
    return f"{NUMBER_PREFIX}{ticket_id:06d}" if ticket_id is not None else f"{NUMBER_PREFIX}new"


def parse_number(text: str) -> int | None:
    """``INC-000123``, ``inc-123`` or ``123`` -> 123; None if it is not a ticket number."""
    text = text.strip().upper()
    if text.startswith(NUMBER_PREFIX):
        text = text[len(NUMBER_PREFIX):]
    return int(text) if text.isdigit() and len(text) <= 12 else None


class TicketEvent(db.Model):
    """Append-only history: one row per change, comment, escalation or SLA event."""

    __tablename__ = "ticket_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(sa.ForeignKey("tickets.id", ondelete="CASCADE"))
    #: None for events made by the system (SLA sweep, integrations without a user).
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    kind: Mapped[EventKind] = mapped_column(enum_column(EventKind))
    field: Mapped[str | None] = mapped_column(sa.String(40))
    old_value: Mapped[str | None] = mapped_column(sa.Text)
    new_value: Mapped[str | None] = mapped_column(sa.Text)
    body: Mapped[str | None] = mapped_column(sa.Text)
    #: Shown to requesters and vendors; internal notes and most field changes are not.
    is_public: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    ticket: Mapped[Ticket] = relationship(back_populates="events")
    actor = relationship("User")

    __table_args__ = (sa.Index("ix_ticket_events_ticket_id", "ticket_id", "id"),)

    def __repr__(self) -> str:
        return f"<TicketEvent {self.id} ticket={self.ticket_id} {self.kind.value} {self.field}>"
