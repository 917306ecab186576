"""VendorEngagement (paid work by an external vendor on one ticket) and the Budget it is
charged against. Escalation rules themselves live with SLA policies (sla/models.py)."""
from __future__ import annotations

import enum
from datetime import date, datetime
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
    #: The manager's reason for approving or rejecting.
    decision_note: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: The vendor accepted the work (stops its OLA response clock).
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    fixed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    fix_notes: Mapped[str | None] = mapped_column(sa.Text)
    actual_cost: Mapped[Decimal | None] = mapped_column(sa.Numeric(12, 2))
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: Times the expert sent the fix back to the vendor.
    send_backs: Mapped[int] = mapped_column(sa.Integer, default=0)

    ticket = relationship("Ticket")
    vendor = relationship("Vendor")
    requested_by = relationship("User", foreign_keys=[requested_by_id])
    decided_by = relationship("User", foreign_keys=[decided_by_id])

    @property
    def committed_cost(self) -> Decimal:
        """What this engagement charges the budget: actual once known, else the estimate."""
        if self.state in (EngagementState.requested, EngagementState.rejected):
            return Decimal("0")
        return self.actual_cost if self.actual_cost is not None else self.estimated_cost

    __table_args__ = (
        sa.Index("ix_vendor_engagements_vendor_state", "vendor_id", "state", "ticket_id"),
        sa.Index("ix_vendor_engagements_ticket", "ticket_id"),
        sa.CheckConstraint("estimated_cost >= 0", name="estimated_cost_positive"),
        sa.CheckConstraint("actual_cost IS NULL OR actual_cost >= 0",
                           name="actual_cost_positive"),
    )

    def __repr__(self) -> str:
        return f"<VendorEngagement {self.id} ticket={self.ticket_id} {self.state.value}>"


class Budget(db.Model):
    """Money for paid vendor work in one period (inclusive dates); managers set it."""

    __tablename__ = "budgets"

    id: Mapped[int] = mapped_column(primary_key=True)
    period_start: Mapped[date] = mapped_column(sa.Date)
    period_end: Mapped[date] = mapped_column(sa.Date)
    amount: Mapped[Decimal] = mapped_column(sa.Numeric(12, 2))
    #: Serialises approvals against this budget (optimistic lock).
    version: Mapped[int] = mapped_column(sa.Integer, default=1)

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        sa.CheckConstraint("period_end >= period_start", name="period_order"),
        sa.CheckConstraint("amount >= 0", name="amount_positive"),
        sa.UniqueConstraint("period_start", name="uq_budgets_period_start"),
    )

    def __repr__(self) -> str:
        return f"<Budget {self.period_start}..{self.period_end} {self.amount}>"
