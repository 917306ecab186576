"""Notification (in-app) and OutboundEmail (the SMTP outbox)."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from servicedesk.db import UTCDateTime
from servicedesk.extensions import db


class Notification(db.Model):
    """One notice for one user; unread until ``read_at`` is set."""

    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    ticket_id: Mapped[int | None] = mapped_column(sa.ForeignKey("tickets.id",
                                                                ondelete="CASCADE"))
    #: Machine kind, e.g. "sla_warning", "sla_breach", "escalated", "vendor_request".
    kind: Mapped[str] = mapped_column(sa.String(40))
    title: Mapped[str] = mapped_column(sa.String(200))
    body: Mapped[str] = mapped_column(sa.Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user = relationship("User")
    ticket = relationship("Ticket")

    __table_args__ = (sa.Index("ix_notifications_user_read", "user_id", "read_at", "id"),)

    def __repr__(self) -> str:
        return f"<Notification {self.id} user={self.user_id} {self.kind}>"


class OutboundEmail(db.Model):
    """An e-mail waiting to be sent, sent, or failing with retries (never lost)."""

    __tablename__ = "outbound_emails"

    id: Mapped[int] = mapped_column(primary_key=True)
    to_address: Mapped[str] = mapped_column(sa.String(254))
    subject: Mapped[str] = mapped_column(sa.String(250))
    body_text: Mapped[str] = mapped_column(sa.Text)
    body_html: Mapped[str | None] = mapped_column(sa.Text)
    notification_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("notifications.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(sa.Integer, default=0)
    #: When the sender may try next (None once sent or given up).
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(sa.Text)

    notification = relationship("Notification")

    __table_args__ = (
        sa.Index("ix_outbound_emails_next_attempt_at", "next_attempt_at",
                 postgresql_where=sa.text("next_attempt_at IS NOT NULL"),
                 sqlite_where=sa.text("next_attempt_at IS NOT NULL")),
    )

    def __repr__(self) -> str:
        return f"<OutboundEmail {self.id} to={self.to_address} attempts={self.attempts}>"
