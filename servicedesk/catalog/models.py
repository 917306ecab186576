"""Service, Category and the PriorityRule rows that make up the priority matrix."""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from servicedesk.extensions import db


class Service(db.Model):
    """Something a fault can affect, e.g. "Terminal 2 catering system"."""

    __tablename__ = "services"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(120), unique=True)
    description: Mapped[str] = mapped_column(sa.Text, default="")
    #: 1 critical, 2 high, 3 normal: how much the business depends on it.
    criticality: Mapped[int] = mapped_column(sa.Integer, default=3)
    #: The tier-2 group that takes functional escalations for this service.
    expert_group_id: Mapped[int | None] = mapped_column(sa.ForeignKey("groups.id"))
    is_active: Mapped[bool] = mapped_column(sa.Boolean, default=True)

    expert_group = relationship("Group")

    __table_args__ = (sa.CheckConstraint("criticality BETWEEN 1 AND 3", name="criticality_range"),)

    def __repr__(self) -> str:
        return f"<Service {self.id} {self.name}>"


class Category(db.Model):
    __tablename__ = "categories"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(120), unique=True)
    is_active: Mapped[bool] = mapped_column(sa.Boolean, default=True)

    def __repr__(self) -> str:
        return f"<Category {self.id} {self.name}>"


class PriorityRule(db.Model):
    """One cell of the impact x urgency matrix: (impact, urgency) -> priority 1..4."""

    __tablename__ = "priority_rules"

    impact: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    urgency: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    priority: Mapped[int] = mapped_column(sa.Integer)

    __table_args__ = (
        sa.CheckConstraint("impact BETWEEN 1 AND 3", name="impact_range"),
        sa.CheckConstraint("urgency BETWEEN 1 AND 3", name="urgency_range"),
        sa.CheckConstraint("priority BETWEEN 1 AND 4", name="priority_range"),
    )

    def __repr__(self) -> str:
        return f"<PriorityRule I{self.impact} U{self.urgency} -> P{self.priority}>"
