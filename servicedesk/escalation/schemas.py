"""API shapes of escalation: SLA/OLA clocks of a ticket, manual escalation, vendor engagements."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal

import pydantic

from servicedesk.errors import ValidationError
from servicedesk.escalation.models import EngagementState, VendorEngagement
from servicedesk.sla.models import ClockFiring, ClockKind
from servicedesk.sla.services import ClockStatus
from servicedesk.tickets.schemas import QueryId
from servicedesk.web.api import (
    ApiModel, GroupRef, Id, OutModel, PageNumber, UserRef, group_ref, text, user_ref,
)

REASON_MAX = 5000
#: An amount of money: a JSON number or a decimal string ("800.00"); 0 .. 10,000,000.
Money = Annotated[Decimal, pydantic.Field(ge=0, le=10_000_000, max_digits=10,
                                          decimal_places=2)]


# --- clocks --------------------------------------------------------------------------------

class FiringOut(OutModel):
    threshold: int
    """Percent of the target (100 = breach)."""
    crossed_at: datetime
    """When the threshold was crossed (business time), not when the sweep noticed."""


class ClockOut(OutModel):
    """One SLA clock (response, resolution) or vendor OLA clock (ola_response, ola_fix)."""

    id: int
    kind: ClockKind
    label: str
    state: Literal["running", "paused", "met", "breached", "cancelled"]
    colour: Literal["success", "warning", "danger", "secondary"]
    """green within, amber past the first warning threshold, red breached, grey paused."""
    target_seconds: int
    """The target in business seconds of the clock's calendar."""
    elapsed_seconds: float
    remaining_seconds: float
    """Business seconds left; negative: how late."""
    percent: float
    started_at: datetime
    due_at: datetime | None
    """When the target is reached if the clock keeps running (null while paused/stopped)."""
    stopped_at: datetime | None
    breached_at: datetime | None
    engagement_id: int | None
    """The vendor engagement of an OLA clock."""
    firings: list[FiringOut]


class ClockList(OutModel):
    items: list[ClockOut]


def clock_out(status: ClockStatus, firings: list[ClockFiring]) -> ClockOut:
    c = status.clock
    return ClockOut(id=c.id, kind=c.kind, label=status.label, state=status.state,
                    colour=status.colour, target_seconds=status.target_seconds,
                    elapsed_seconds=round(status.elapsed_seconds, 3),
                    remaining_seconds=round(status.remaining_seconds, 3),
                    percent=status.percent, started_at=c.started_at, due_at=c.due_at,
                    stopped_at=c.stopped_at, breached_at=c.breached_at,
                    engagement_id=c.engagement_id,
                    firings=[FiringOut(threshold=f.threshold, crossed_at=f.crossed_at)
                             for f in firings])


# --- escalation ----------------------------------------------------------------------------

class EscalationIn(ApiModel):
    """Escalate a ticket by hand: to an expert group, to a manager, or ask for a vendor."""

    target: Literal["group", "manager", "vendor"]
    reason: text(REASON_MAX)  # type: ignore[valid-type]
    group_id: Id | None = None
    """Required with target group."""
    vendor_id: Id | None = None
    """Required with target vendor."""
    estimated_cost: Money | None = None
    """Required with target vendor."""

    def check_fields(self) -> None:
        needs = {"group": ("group_id",), "vendor": ("vendor_id", "estimated_cost"),
                 "manager": ()}[self.target]
        for name in needs:
            if getattr(self, name) is None:
                raise ValidationError(f"{name} is required to escalate to a {self.target}.",
                                      field=name)
        extra = {"group_id", "vendor_id", "estimated_cost"} - set(needs)
        for name in sorted(extra & self.model_fields_set):
            raise ValidationError(f"{name} does not apply to target {self.target}.",
                                  field=name)


class VendorRef(OutModel):
    id: int
    name: str


class TicketBrief(OutModel):
    id: int
    number: str
    title: str


class EngagementOut(OutModel):
    """Paid vendor work on one ticket, from request to verified fix."""

    id: int
    ticket: TicketBrief
    vendor: VendorRef
    state: EngagementState
    reason: str
    estimated_cost: Decimal
    actual_cost: Decimal | None
    requested_by: UserRef
    created_at: datetime
    decided_by: UserRef | None
    decided_at: datetime | None
    decision_note: str | None
    acknowledged_at: datetime | None
    fixed_at: datetime | None
    fix_notes: str | None
    verified_at: datetime | None
    send_backs: int
    """Times staff sent the fix back to the vendor."""


class EscalationOut(OutModel):
    """Where the ticket stands after a manual escalation."""

    ticket_id: int
    target: Literal["group", "manager", "vendor"]
    group: GroupRef | None
    tier: int
    engagement: EngagementOut | None
    """The vendor request made (target vendor)."""


class EngagementPage(OutModel):
    items: list[EngagementOut]
    page: int
    per_page: int
    total: int
    pages: int


class EngagementListQuery(ApiModel):
    """Filters of GET /engagements; ``state`` may repeat."""

    state: list[EngagementState] = []
    ticket_id: QueryId | None = None
    page: PageNumber = 1
    per_page: Annotated[int, pydantic.Field(ge=1, le=100)] = 25


class EngagementRequestIn(ApiModel):
    ticket_id: Id
    vendor_id: Id
    reason: text(REASON_MAX)  # type: ignore[valid-type]
    estimated_cost: Money


class DecisionIn(ApiModel):
    note: text(REASON_MAX) | None = None  # type: ignore[valid-type]
    """Optional when approving, required when rejecting."""


class FixIn(ApiModel):
    notes: text(REASON_MAX)  # type: ignore[valid-type]
    actual_cost: Money


class SendBackIn(ApiModel):
    reason: text(REASON_MAX)  # type: ignore[valid-type]


def engagement_out(e: VendorEngagement) -> EngagementOut:
    return EngagementOut(
        id=e.id, ticket=TicketBrief(id=e.ticket.id, number=e.ticket.number,
                                    title=e.ticket.title),
        vendor=VendorRef(id=e.vendor.id, name=e.vendor.name), state=e.state, reason=e.reason,
        estimated_cost=e.estimated_cost, actual_cost=e.actual_cost,
        requested_by=user_ref(e.requested_by), created_at=e.created_at,
        decided_by=user_ref(e.decided_by), decided_at=e.decided_at,
        decision_note=e.decision_note, acknowledged_at=e.acknowledged_at, fixed_at=e.fixed_at,
        fix_notes=e.fix_notes, verified_at=e.verified_at, send_backs=e.send_backs)


def escalation_out(ticket, target: str, engagement: VendorEngagement | None) -> EscalationOut:
    return EscalationOut(ticket_id=ticket.id, target=target, group=group_ref(ticket.group),
                         tier=ticket.tier,
                         engagement=engagement_out(engagement) if engagement else None)
