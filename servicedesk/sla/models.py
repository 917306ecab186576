"""Business calendars, SLA policies and the per-ticket clocks they drive.

A clock stores what is due (``due_at``) and when the sweep must next look at it
(``next_check_at``), so finding late clocks is one indexed query. See sla/services.py for how
these are kept true through pauses, resumes and priority changes.
"""
from __future__ import annotations

import enum
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from servicedesk.db import UTCDateTime, enum_column
from servicedesk.extensions import db


class Calendar(db.Model):
    """Working hours per weekday in a time zone, plus holidays (see sla/calendar.py)."""

    __tablename__ = "calendars"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(120), unique=True)
    timezone: Mapped[str] = mapped_column(sa.String(64))
    #: {"mon": ["09:00-12:00", "13:00-18:00"], ...} as accepted by WorkingCalendar.from_spec.
    weekly: Mapped[dict] = mapped_column(sa.JSON)
    #: Built-in 24x7 calendar; cannot be edited or deleted.
    is_builtin: Mapped[bool] = mapped_column(sa.Boolean, default=False)

    holidays: Mapped[list[Holiday]] = relationship(back_populates="calendar",
                                                   cascade="all, delete-orphan",
                                                   order_by="Holiday.day")

    def __repr__(self) -> str:
        return f"<Calendar {self.id} {self.name} {self.timezone}>"


class Holiday(db.Model):
    __tablename__ = "calendar_holidays"

    calendar_id: Mapped[int] = mapped_column(sa.ForeignKey("calendars.id", ondelete="CASCADE"),
                                             primary_key=True)
    day: Mapped[date] = mapped_column(sa.Date, primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(120), default="")

    calendar: Mapped[Calendar] = relationship(back_populates="holidays")

    def __repr__(self) -> str:
        return f"<Holiday {self.calendar_id} {self.day}>"


class ClockKind(str, enum.Enum):
    response = "response"
    resolution = "resolution"
    #: A vendor's own targets under its contract, per engagement.
    ola_response = "ola_response"
    ola_fix = "ola_fix"

    @property
    def label(self) -> str:
        return _CLOCK_LABELS[self]  # read per crossing by the sweep: a plain dict lookup


_CLOCK_LABELS = {ClockKind.response: "Response", ClockKind.resolution: "Resolution",
                 ClockKind.ola_response: "Vendor response", ClockKind.ola_fix: "Vendor fix"}


class ClockState(str, enum.Enum):
    running = "running"
    paused = "paused"
    stopped = "stopped"


class SLAPolicy(db.Model):
    """Targets for the tickets it matches; the most specific active match wins.

    Specificity: a service match counts 4, a category match 2, a priority match 1; ``None``
    in a criterion means "any". Ties go to the lowest id.
    """

    __tablename__ = "sla_policies"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(120), unique=True)
    priority: Mapped[int | None] = mapped_column(sa.Integer)
    service_id: Mapped[int | None] = mapped_column(sa.ForeignKey("services.id"))
    category_id: Mapped[int | None] = mapped_column(sa.ForeignKey("categories.id"))
    #: Targets in minutes of business time in ``calendar``.
    response_minutes: Mapped[int] = mapped_column(sa.Integer)
    resolution_minutes: Mapped[int] = mapped_column(sa.Integer)
    calendar_id: Mapped[int] = mapped_column(sa.ForeignKey("calendars.id"))
    #: Statuses that pause the resolution clock, e.g. ["pending_customer"].
    pause_statuses: Mapped[list] = mapped_column(sa.JSON)
    #: Percentages of the target at which warnings fire, ascending, e.g. [50, 75].
    warning_thresholds: Mapped[list] = mapped_column(sa.JSON)
    is_active: Mapped[bool] = mapped_column(sa.Boolean, default=True)
    #: Set on an earlier version, kept (inactive, read-only) for the clocks that started under
    #: it when the current policy's thresholds, pausing statuses or rules changed
    #: (sla/admin.py); points at the current policy.
    superseded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("sla_policies.id"))
    superseded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    calendar: Mapped[Calendar] = relationship()
    service = relationship("Service")
    category = relationship("Category")
    rules: Mapped[list[EscalationRule]] = relationship(
        back_populates="policy", cascade="all, delete-orphan",
        order_by="(EscalationRule.threshold, EscalationRule.id)")

    __table_args__ = (
        sa.CheckConstraint("priority IS NULL OR priority BETWEEN 1 AND 4", name="priority_range"),
        sa.CheckConstraint("response_minutes > 0 AND resolution_minutes > 0",
                           name="targets_positive"),
    )

    def __repr__(self) -> str:
        return f"<SLAPolicy {self.id} {self.name}>"

    @property
    def thresholds(self) -> list[int]:
        """Warning thresholds plus the breach at 100, ascending, no duplicates."""
        return sorted({int(t) for t in self.warning_thresholds if 0 < int(t) < 100} | {100})


class EscalationAction(str, enum.Enum):
    #: Notify the assignee and the group's dispatcher.
    notify = "notify"
    #: Functional escalation: reassign to the service's tier-2 expert group.
    reassign_expert = "reassign_expert"
    #: Hierarchical escalation: notify the group's manager.
    notify_manager = "notify_manager"
    #: Propose paid vendor help to the group's manager and dispatcher.
    propose_vendor = "propose_vendor"

    @property
    def label(self) -> str:
        return {"notify": "Notify assignee and dispatcher",
                "reassign_expert": "Reassign to expert group (tier 2)",
                "notify_manager": "Notify the group's manager",
                "propose_vendor": "Propose a vendor engagement"}[self.value]


class EscalationRule(db.Model):
    """What to do when a clock of ``clock_kind`` crosses ``threshold`` % of its target."""

    __tablename__ = "escalation_rules"

    id: Mapped[int] = mapped_column(primary_key=True)
    policy_id: Mapped[int] = mapped_column(sa.ForeignKey("sla_policies.id", ondelete="CASCADE"),
                                           index=True)
    clock_kind: Mapped[ClockKind] = mapped_column(enum_column(ClockKind))
    threshold: Mapped[int] = mapped_column(sa.Integer)
    action: Mapped[EscalationAction] = mapped_column(enum_column(EscalationAction))

    policy: Mapped[SLAPolicy] = relationship(back_populates="rules")

    __table_args__ = (
        sa.CheckConstraint("threshold BETWEEN 1 AND 100", name="threshold_range"),
        sa.UniqueConstraint("policy_id", "clock_kind", "threshold", "action",
                            name="uq_escalation_rules_policy_kind_threshold_action"),
    )

    def __repr__(self) -> str:
        return f"<EscalationRule {self.id} {self.clock_kind.value}@{self.threshold}% " \
               f"{self.action.value}>"


class SLAClock(db.Model):
    """One running target on one ticket (or one vendor engagement).

    Elapsed business time = ``elapsed_before`` + business time from ``segment_started_at`` to
    now while running. ``due_at`` and ``next_check_at`` are derived from those and stored.
    """

    __tablename__ = "sla_clocks"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(sa.ForeignKey("tickets.id", ondelete="CASCADE"))
    engagement_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("vendor_engagements.id", ondelete="CASCADE"))
    policy_id: Mapped[int | None] = mapped_column(sa.ForeignKey("sla_policies.id"))
    calendar_id: Mapped[int] = mapped_column(sa.ForeignKey("calendars.id"))
    kind: Mapped[ClockKind] = mapped_column(enum_column(ClockKind))
    state: Mapped[ClockState] = mapped_column(enum_column(ClockState))
    #: Target in seconds of business time.
    target_seconds: Mapped[int] = mapped_column(sa.Integer)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: Start of the current running stretch (None while paused or stopped).
    segment_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: Business seconds counted before the current stretch (or in total once stopped).
    elapsed_before: Mapped[float] = mapped_column(sa.Float, default=0.0)
    #: When the target is reached if it keeps running (None while paused or stopped).
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: When the next threshold (warning or breach) is crossed; the sweep's index key.
    next_check_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: Percentage of the next threshold to fire (None when all have fired).
    next_threshold: Mapped[int | None] = mapped_column(sa.Integer)
    stopped_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: The instant the target was actually exceeded (not when a sweep noticed it).
    breached_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: Stopped without judging it (ticket cancelled): neither met nor breached.
    is_cancelled: Mapped[bool] = mapped_column(sa.Boolean, default=False)

    ticket = relationship("Ticket", back_populates="clocks")
    policy: Mapped[SLAPolicy | None] = relationship()
    calendar: Mapped[Calendar] = relationship()
    engagement = relationship("VendorEngagement")
    pauses: Mapped[list[ClockPause]] = relationship(back_populates="clock",
                                                    cascade="all, delete-orphan",
                                                    order_by="ClockPause.id")

    __table_args__ = (
        sa.Index("ix_sla_clocks_next_check_at", "next_check_at",
                 postgresql_where=sa.text("next_check_at IS NOT NULL"),
                 sqlite_where=sa.text("next_check_at IS NOT NULL")),
        sa.Index("ix_sla_clocks_ticket_kind", "ticket_id", "kind"),
        sa.Index("ix_sla_clocks_state_due", "state", "due_at"),
        sa.CheckConstraint("target_seconds > 0", name="target_positive"),
    )

    def __repr__(self) -> str:
        return f"<SLAClock {self.id} ticket={self.ticket_id} {self.kind.value} " \
               f"{self.state.value}>"

    @property
    def is_met(self) -> bool:
        return self.state is ClockState.stopped and self.breached_at is None \
            and not self.is_cancelled


class ClockPause(db.Model):
    """One paused stretch of a clock, for the ticket page and reports."""

    __tablename__ = "sla_clock_pauses"

    id: Mapped[int] = mapped_column(primary_key=True)
    clock_id: Mapped[int] = mapped_column(sa.ForeignKey("sla_clocks.id", ondelete="CASCADE"),
                                          index=True)
    paused_at: Mapped[datetime] = mapped_column(UTCDateTime)
    resumed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reason: Mapped[str] = mapped_column(sa.String(40))

    clock: Mapped[SLAClock] = relationship(back_populates="pauses")


class ClockFiring(db.Model):
    """A threshold crossing handled by the sweep; the unique key makes it exactly-once."""

    __tablename__ = "sla_clock_firings"

    id: Mapped[int] = mapped_column(primary_key=True)
    clock_id: Mapped[int] = mapped_column(sa.ForeignKey("sla_clocks.id", ondelete="CASCADE"))
    threshold: Mapped[int] = mapped_column(sa.Integer)
    #: When the threshold was crossed (business time), not when it was processed.
    crossed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    processed_at: Mapped[datetime] = mapped_column(UTCDateTime)

    clock: Mapped[SLAClock] = relationship()

    __table_args__ = (
        sa.UniqueConstraint("clock_id", "threshold", name="uq_sla_clock_firings_clock_threshold"),
    )


class SchedulerHeartbeat(db.Model):
    """One row per scheduler job: the UI warns when ``beat_at`` is stale."""

    __tablename__ = "scheduler_heartbeats"

    job: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    beat_at: Mapped[datetime] = mapped_column(UTCDateTime)
    host: Mapped[str] = mapped_column(sa.String(255), default="")
    #: Outcome of the last run: how many clocks/actions it handled, or the error.
    detail: Mapped[str] = mapped_column(sa.Text, default="")
