"""Pure rules: which status transitions exist and who may make them. The only place they live."""
from __future__ import annotations

from servicedesk.accounts.models import Role
from servicedesk.tickets.models import Status

S = Status

#: Every allowed move of the lifecycle (staff may make all of them).
TRANSITIONS: dict[Status, frozenset[Status]] = {
    S.new: frozenset({S.assigned, S.in_progress, S.pending_customer, S.resolved, S.cancelled}),
    S.assigned: frozenset({S.in_progress, S.pending_customer, S.pending_vendor, S.resolved,
                           S.cancelled}),
    S.in_progress: frozenset({S.assigned, S.pending_customer, S.pending_vendor, S.resolved,
                              S.cancelled}),
    S.pending_customer: frozenset({S.in_progress, S.resolved, S.cancelled}),
    S.pending_vendor: frozenset({S.in_progress, S.resolved}),
    S.resolved: frozenset({S.in_progress, S.closed}),  # in_progress = reopen
    S.closed: frozenset(),
    S.cancelled: frozenset(),
}

#: What a requester may do on their own ticket: withdraw it, confirm or reject a resolution.
REQUESTER_TRANSITIONS: dict[Status, frozenset[Status]] = {
    S.new: frozenset({S.cancelled}),
    S.resolved: frozenset({S.in_progress, S.closed}),
}

PENDING_STATUSES = frozenset({S.pending_customer, S.pending_vendor})


def allowed_transitions(current: Status, role: Role) -> frozenset[Status]:
    """Statuses reachable from ``current`` by someone with ``role``."""
    if role.is_staff:
        return TRANSITIONS[current]
    if role is Role.requester:
        return REQUESTER_TRANSITIONS.get(current, frozenset())
    return frozenset()  # vendors work through their engagement, not the ticket status


def can_transition(current: Status, target: Status, role: Role) -> bool:
    return target in allowed_transitions(current, role)


def is_reopen(current: Status, target: Status) -> bool:
    return current is S.resolved and target is S.in_progress
