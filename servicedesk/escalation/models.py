"""VendorEngagement: paid work by an external vendor on one ticket.

The foundation only needs who is engaged on what (it decides what a vendor user may see);
the approval workflow, costs against a budget and OLA clocks build on this table.
"""
from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from servicedesk.db import UTCDateTime, enum_column
from servicedesk.extensions import db


class EngagementState(str, enum.Enum):
    requested = "requested"
    approved = "approved"
    rejected = "rejected"
    engaged = "engaged"
    fixed = "fixed"
    verified = "verified"


#: States in which the vendor's users can see and work the ticket.
VENDOR_VISIBLE_STATES = frozenset({EngagementState.approved, EngagementState.engaged,
                                   EngagementState.fixed, EngagementState.verified})


class VendorEngagement(db.Model):
    __tablename__ = "vendor_engagements"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(sa.ForeignKey("tickets.id", ondelete="CASCADE"))
    vendor_id: Mapped[int] = mapped_column(sa.ForeignKey("vendors.id"))
    requested_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    reason: Mapped[str] = mapped_column(sa.Text)
    estimated_cost: Mapped[Decimal] = mapped_column(sa.Numeric(12, 2))
    state: Mapped[EngagementState] = mapped_column(enum_column(EngagementState),
                                                   default=EngagementState.requested)
    decided_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    ticket = relationship("Ticket")
    vendor = relationship("Vendor")

    __table_args__ = (
        sa.Index("ix_vendor_engagements_vendor_state", "vendor_id", "state", "ticket_id"),
        sa.Index("ix_vendor_engagements_ticket", "ticket_id"),
        sa.CheckConstraint("estimated_cost >= 0", name="estimated_cost_positive"),
    )

    def __repr__(self) -> str:
        return f"<VendorEngagement {self.id} ticket={self.ticket_id} {self.state.value}>"
