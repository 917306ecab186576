"""Survey (one CSAT question per resolved ticket) and UnmetRequest (what a caller wanted that
the service does not offer)."""
from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from servicedesk.db import UTCDateTime, enum_column
from servicedesk.extensions import db


class Survey(db.Model):
    """The satisfaction question sent when a ticket is first resolved: one per ticket."""

    __tablename__ = "surveys"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(sa.ForeignKey("tickets.id", ondelete="CASCADE"),
                                           unique=True)
    requester_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    #: hex SHA-256 of the e-mailed link's secret; the secret itself is never stored.
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: After this instant the link (and the portal form) no longer accept an answer.
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: 1 (very unhappy) .. 5 (very happy); None until answered.
    score: Mapped[int | None] = mapped_column(sa.Integer)
    comment: Mapped[str | None] = mapped_column(sa.Text)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    ticket = relationship("Ticket")
    requester = relationship("User")

    __table_args__ = (
        sa.CheckConstraint("score IS NULL OR score BETWEEN 1 AND 5", name="score_range"),
        sa.Index("ix_surveys_answered_at", "answered_at"),
        sa.Index("ix_surveys_requester_answered", "requester_id", "answered_at"),
    )

    def __repr__(self) -> str:
        return f"<Survey {self.id} ticket={self.ticket_id} score={self.score}>"

    @property
    def is_answered(self) -> bool:
        return self.answered_at is not None


class UnmetCategory(str, enum.Enum):
    #: The service (or that part of it) is not in our catalogue.
    not_offered = "not_offered"
    #: Information we do not give (e.g. weather at a bank hotline).
    information = "information"
    #: Offered, but not at that time or in that channel.
    hours_or_channel = "hours_or_channel"
    #: Belongs to another provider or department.
    other_provider = "other_provider"
    other = "other"

    @property
    def label(self) -> str:
        return {"not_offered": "Service not offered", "information": "Information we do not give",
                "hours_or_channel": "Not at that time / in that channel",
                "other_provider": "Another provider's job", "other": "Other"}[self.value]


class UnmetRequest(db.Model):
    """Logged by an agent during a contact, with or without a ticket, before any judgement."""

    __tablename__ = "unmet_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    category: Mapped[UnmetCategory] = mapped_column(enum_column(UnmetCategory))
    description: Mapped[str] = mapped_column(sa.Text)
    #: The ticket logged in the same contact, if any.
    ticket_id: Mapped[int | None] = mapped_column(sa.ForeignKey("tickets.id",
                                                                ondelete="SET NULL"))
    recorded_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    ticket = relationship("Ticket")
    recorded_by = relationship("User")

    __table_args__ = (
        sa.Index("ix_unmet_requests_created_at", "created_at"),
        sa.Index("ix_unmet_requests_ticket_id", "ticket_id"),
    )

    def __repr__(self) -> str:
        return f"<UnmetRequest {self.id} {self.category.value}>"
