import pytest

from servicedesk.accounts.models import Role
from servicedesk.tickets.models import Status
from servicedesk.tickets.workflow import TRANSITIONS, allowed_transitions, can_transition

S = Status


def test_every_status_has_a_transition_entry():
    assert set(TRANSITIONS) == set(Status)


def test_terminal_states_have_no_way_out():
    for role in Role:
        assert allowed_transitions(S.closed, role) == frozenset()
        assert allowed_transitions(S.cancelled, role) == frozenset()


@pytest.mark.parametrize("role", [Role.agent, Role.expert, Role.manager, Role.admin])
def test_staff_follow_the_full_lifecycle(role):
    path = [S.new, S.assigned, S.in_progress, S.pending_customer, S.in_progress, S.resolved,
            S.in_progress, S.resolved, S.closed]
    for current, target in zip(path, path[1:]):
        assert can_transition(current, target, role), (current, target)


@pytest.mark.parametrize("current,target", [
    (S.new, S.closed), (S.resolved, S.new), (S.pending_vendor, S.cancelled),
    (S.closed, S.in_progress), (S.cancelled, S.new), (S.new, S.pending_vendor),
])
def test_impossible_moves_are_refused_for_everyone(current, target):
    assert not any(can_transition(current, target, role) for role in Role)


def test_requester_may_only_withdraw_confirm_or_reopen():
    allowed = {(c, t) for c in Status for t in Status if can_transition(c, t, Role.requester)}
    assert allowed == {(S.new, S.cancelled), (S.resolved, S.closed), (S.resolved, S.in_progress)}


def test_vendor_users_never_move_ticket_status():
    assert not any(can_transition(c, t, Role.vendor) for c in Status for t in Status)
