"""What one sweep batch reads, as plain objects loaded with a few Core queries.

The sweep acts on hundreds of clocks at a time; building an ORM object (with its identity-map
and attribute-history bookkeeping) for every clock, ticket and person cost more than the
actions themselves. These views carry just the attributes the threshold arithmetic
(``sla.services.advance_threshold``) and the escalation actions (``escalation.services``) read
of an ``SLAClock``, ``Ticket``, ``Group``, ``User``..., under the same names, so those
functions run unchanged on either. The sweep writes what changed back with bulk statements.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from types import SimpleNamespace

import sqlalchemy as sa
from sqlalchemy.orm import Session

from servicedesk.accounts.models import Group, Role, User, Vendor
from servicedesk.catalog.models import Service
from servicedesk.escalation.models import VendorEngagement
from servicedesk.sla.models import (
    ClockKind, ClockState, EscalationAction, EscalationRule, SLAClock, SLAPolicy,
)
from servicedesk.tickets.models import Status, Ticket, format_number


@dataclass(frozen=True, slots=True)
class Person:
    id: int
    name: str
    email: str | None
    is_active: bool


@dataclass(frozen=True, slots=True)
class GroupView:
    id: int
    name: str
    tier: int
    dispatcher: Person | None
    manager: Person | None


@dataclass(frozen=True, slots=True)
class ServiceView:
    expert_group: GroupView | None


@dataclass(frozen=True, slots=True)
class RuleView:
    clock_kind: ClockKind
    threshold: int
    action: EscalationAction


@dataclass(frozen=True, slots=True)
class PolicyView:
    id: int
    thresholds: list[int]
    rules: list[RuleView]


@dataclass(frozen=True, slots=True)
class VendorView:
    name: str


@dataclass(frozen=True, slots=True)
class EngagementView:
    vendor: VendorView
    requested_by: Person | None


@dataclass(slots=True)
class TicketView:
    """The ticket columns actions read; escalation changes group, assignee, tier, status."""
    id: int
    title: str
    priority: int
    status: Status
    tier: int
    version: int
    group: GroupView | None
    assignee: Person | None
    service: ServiceView | None
    updated_at: datetime | None = None
    #: (group id, assignee id, tier, status) as loaded: ``changes`` compares against it.
    loaded: tuple = field(default=(), repr=False)

    @property
    def number(self) -> str:
        return format_number(self.id)

    @property
    def is_open(self) -> bool:
        return self.status.is_open

    def state(self) -> tuple:
        return (self.group.id if self.group else None,
                self.assignee.id if self.assignee else None, self.tier, self.status)

    def changes(self) -> dict | None:
        """The changed ticket columns (None when the actions left the ticket alone)."""
        if self.state() == self.loaded:
            return None
        group_id, assignee_id, tier, status = self.state()
        return {"group_id": group_id, "assignee_id": assignee_id, "tier": tier,
                "status": status, "updated_at": self.updated_at}


@dataclass(slots=True)
class ClockView:
    """A due clock: the columns the threshold arithmetic reads, and what firing changes."""
    id: int
    kind: ClockKind
    state: ClockState
    target_seconds: int
    segment_started_at: datetime | None
    elapsed_before: float
    due_at: datetime | None
    next_check_at: datetime | None
    next_threshold: int | None
    breached_at: datetime | None
    calendar_id: int
    engagement_id: int | None
    ticket: TicketView
    policy: PolicyView | None
    engagement: EngagementView | None


_CLOCK = (SLAClock.id, SLAClock.kind, SLAClock.state, SLAClock.target_seconds,
          SLAClock.segment_started_at, SLAClock.elapsed_before, SLAClock.due_at,
          SLAClock.next_check_at, SLAClock.next_threshold, SLAClock.breached_at,
          SLAClock.calendar_id, SLAClock.engagement_id, SLAClock.policy_id)
_TICKET = (Ticket.id, Ticket.title, Ticket.priority, Ticket.status, Ticket.tier,
           Ticket.version, Ticket.group_id, Ticket.assignee_id, Ticket.service_id)


class BatchReader:
    """Loads a batch's clocks with everything their actions read: one query for the clocks
    and their tickets, then one per referenced table (services, groups, people, policies and
    rules, engagements), whatever the number of clocks. Fallbacks the actions may need (every
    active manager, the first tier-2 group) are read at most once per reader."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._people: dict[int, Person] = {}
        self._all_managers: list[Person] | None = None
        self._first_expert_group: tuple[GroupView | None] | None = None

    # --- what actions ask for when the ticket itself does not say --------------------------

    def all_managers(self) -> list[Person]:
        if self._all_managers is None:
            self._all_managers = [self._person(row) for row in self.session.execute(
                sa.select(*_PERSON).where(User.role == Role.manager, User.is_active_account)
                .order_by(User.id))]
        return self._all_managers

    def first_expert_group(self) -> GroupView | None:
        if self._first_expert_group is None:
            gid = self.session.scalar(sa.select(Group.id).where(Group.tier == 2)
                                      .order_by(Group.name).limit(1))
            self._first_expert_group = (None if gid is None else self._groups({gid})[gid],)
        return self._first_expert_group[0]

    # --- the batch ---------------------------------------------------------------------------

    def clocks(self, ids: list[int]) -> list[ClockView]:
        """The clocks ``ids`` in due order, with their tickets and what actions read."""
        rows = self.session.execute(
            sa.select(*_CLOCK, *_TICKET).join_from(SLAClock, Ticket,
                                                   SLAClock.ticket_id == Ticket.id)
            .where(SLAClock.id.in_(ids)).order_by(SLAClock.next_check_at, SLAClock.id)).all()
        n = len(_CLOCK)
        services = self._services({r[n + 8] for r in rows} - {None})
        groups = self._groups({r[n + 6] for r in rows} - {None},
                              also_people={r[n + 7] for r in rows} - {None})
        policies = self._policies({r[12] for r in rows} - {None})
        engagements = self._engagements({r[11] for r in rows} - {None})
        tickets: dict[int, TicketView] = {}
        out = []
        for r in rows:
            tid = r[n]
            ticket = tickets.get(tid)
            if ticket is None:
                ticket = tickets[tid] = TicketView(
                    id=tid, title=r[n + 1], priority=r[n + 2], status=r[n + 3], tier=r[n + 4],
                    version=r[n + 5], group=groups.get(r[n + 6]),
                    assignee=self._people.get(r[n + 7]), service=services.get(r[n + 8]))
                ticket.loaded = ticket.state()
            out.append(ClockView(
                id=r[0], kind=r[1], state=r[2], target_seconds=r[3], segment_started_at=r[4],
                elapsed_before=r[5], due_at=r[6], next_check_at=r[7], next_threshold=r[8],
                breached_at=r[9], calendar_id=r[10], engagement_id=r[11], ticket=ticket,
                policy=policies.get(r[12]), engagement=engagements.get(r[11])))
        return out

    def _services(self, ids: set[int]) -> dict[int, ServiceView]:
        if not ids:
            return {}
        rows = self.session.execute(sa.select(Service.id, Service.expert_group_id)
                                    .where(Service.id.in_(ids))).all()
        groups = self._groups({gid for _, gid in rows} - {None})
        return {sid: ServiceView(groups.get(gid)) for sid, gid in rows}

    def _groups(self, ids: set[int], *, also_people: set[int] = frozenset()
                ) -> dict[int, GroupView]:
        rows = self.session.execute(
            sa.select(Group.id, Group.name, Group.tier, Group.dispatcher_id, Group.manager_id)
            .where(Group.id.in_(ids))).all() if ids else []
        self._load_people({p for r in rows for p in r[3:]} | set(also_people))
        return {r[0]: GroupView(r[0], r[1], r[2], self._people.get(r[3]), self._people.get(r[4]))
                for r in rows}

    def _load_people(self, ids: set[int]) -> None:
        ids = {i for i in ids if i is not None and i not in self._people}
        if ids:
            for row in self.session.execute(sa.select(*_PERSON).where(User.id.in_(ids))):
                self._person(row)

    def _person(self, row) -> Person:
        person = self._people.get(row[0])
        if person is None:
            person = self._people[row[0]] = Person(*row)
        return person

    def _policies(self, ids: set[int]) -> dict[int, PolicyView]:
        if not ids:
            return {}
        rules: dict[int, list[RuleView]] = {i: [] for i in ids}
        for pid, kind, threshold, action in self.session.execute(
                sa.select(EscalationRule.policy_id, EscalationRule.clock_kind,
                          EscalationRule.threshold, EscalationRule.action)
                .where(EscalationRule.policy_id.in_(ids))
                .order_by(EscalationRule.threshold, EscalationRule.id)):
            rules[pid].append(RuleView(kind, threshold, action))
        thresholds = SLAPolicy.thresholds.fget  # the model's rule, on a plain row
        return {pid: PolicyView(pid, thresholds(SimpleNamespace(warning_thresholds=warn)),
                                rules[pid])
                for pid, warn in self.session.execute(
                    sa.select(SLAPolicy.id, SLAPolicy.warning_thresholds)
                    .where(SLAPolicy.id.in_(ids)))}

    def _engagements(self, ids: set[int]) -> dict[int, EngagementView]:
        if not ids:
            return {}
        rows = self.session.execute(
            sa.select(VendorEngagement.id, Vendor.name, VendorEngagement.requested_by_id)
            .join(Vendor, Vendor.id == VendorEngagement.vendor_id)
            .where(VendorEngagement.id.in_(ids))).all()
        self._load_people({r[2] for r in rows})
        return {eid: EngagementView(VendorView(name), self._people.get(by))
                for eid, name, by in rows}


_PERSON = (User.id, User.name, User.email, User.is_active_account)

