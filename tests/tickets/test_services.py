import pytest
import sqlalchemy as sa

from servicedesk.accounts.models import Role
from servicedesk.errors import (
    Conflict, InvalidTransition, PermissionDenied, ValidationError,
)
from servicedesk.tickets import services
from servicedesk.tickets.models import EventKind, Status, Ticket, TicketEvent


def test_create_ticket_derives_priority_and_logs_creation(db, make, clock):
    agent, caller = make.agent(), make.requester()
    ticket = make.ticket(actor=agent, requester=caller, impact=1, urgency=1)
    assert ticket.priority == 1 and ticket.priority_override_reason is None
    assert ticket.status is Status.new and ticket.tier == 1
    assert ticket.number == f"INC-{ticket.id:06d}"
    assert ticket.created_at == clock.now() and ticket.created_by is agent
    [created] = ticket.events
    assert created.kind is EventKind.created and created.actor is agent and created.is_public


def test_override_needs_a_reason_and_is_audited(db, make):
    with pytest.raises(ValidationError) as err:
        make.ticket(impact=3, urgency=3, priority=1)
    assert set(err.value.fields) == {"priority_reason"}
    ticket = make.ticket(impact=3, urgency=3, priority=1, priority_reason="CEO's laptop")
    assert ticket.priority == 1 and ticket.priority_override_reason == "CEO's laptop"
    audit = [e for e in ticket.events if e.field == "priority"]
    assert [(e.old_value, e.new_value, e.body) for e in audit] == [("P4", "P1", "CEO's laptop")]


@pytest.mark.parametrize("field,kwargs", [
    ("title", {"title": "  "}),
    ("title", {"title": "x" * 201}),
    ("description", {"description": ""}),
    ("impact", {"impact": 4}),
    ("urgency", {"urgency": "2"}),
    ("channel", {"channel": "fax"}),
    ("service_id", {"service_id": 999999}),
    ("priority", {"priority": 7, "priority_reason": "because"}),
])
def test_create_rejects_bad_input_naming_the_field(db, make, field, kwargs):
    before = db.scalar(sa.select(sa.func.count(Ticket.id)))
    with pytest.raises(ValidationError) as err:
        make.ticket(**kwargs)
    assert field in err.value.fields
    assert db.scalar(sa.select(sa.func.count(Ticket.id))) == before


def test_requester_cannot_log_for_someone_else(db, make):
    caller, other = make.requester(), make.requester()
    with pytest.raises(PermissionDenied):
        make.ticket(actor=caller, requester=other)
    assert make.ticket(actor=caller, requester=caller).requester is caller


def test_requester_cannot_set_priority_or_assignment(db, make):
    caller = make.requester()
    with pytest.raises(PermissionDenied):
        make.ticket(actor=caller, requester=caller, priority=1, priority_reason="urgent!")


def test_assign_moves_new_to_assigned_and_sets_tier(db, make, clock):
    expert = make.expert()
    group = make.group(tier=2, members=[expert])
    ticket = make.ticket()
    agent = make.agent()
    services.assign(db, ticket, actor=agent, now=clock.now(), group_id=group.id,
                    assignee_id=expert.id)
    assert ticket.status is Status.assigned and ticket.tier == 2
    fields = [(e.field, e.new_value) for e in ticket.events if e.kind is not EventKind.created]
    assert ("group", group.name) in fields and ("assignee", expert.name) in fields
    assert ("tier", "2") in fields and ("status", "assigned") in fields
    services.assign(db, ticket, actor=agent, now=clock.now(), group_id=group.id,
                    assignee_id=None)
    assert ticket.status is Status.new and ticket.assignee is None


def test_assignee_must_belong_to_group_and_be_staff(db, make, clock):
    group = make.group(tier=2)
    outsider, caller = make.expert(), make.requester()
    ticket = make.ticket()
    for person in (outsider, caller):
        with pytest.raises(ValidationError) as err:
            services.assign(db, ticket, actor=make.agent(), now=clock.now(), group_id=group.id,
                            assignee_id=person.id)
        assert "assignee_id" in err.value.fields


def test_resolve_requires_code_and_notes_then_reopen_and_close(db, make, clock):
    agent = make.agent()
    ticket = make.ticket(actor=agent)
    with pytest.raises(ValidationError) as err:
        services.change_status(db, ticket, "resolved", actor=agent, now=clock.now())
    assert "resolution_code" in err.value.fields
    with pytest.raises(ValidationError) as err:
        services.change_status(db, ticket, "resolved", actor=agent, now=clock.now(),
                               resolution_code="fixed", resolution_notes=" ")
    assert "resolution_notes" in err.value.fields
    assert ticket.status is Status.new  # nothing changed by the failed attempts
    clock.advance(minutes=5)
    services.change_status(db, ticket, "resolved", actor=agent, now=clock.now(),
                           resolution_code="fixed", resolution_notes="Cleared the jam.")
    assert ticket.status is Status.resolved and ticket.resolved_at == clock.now()
    assert ticket.is_first_contact_resolution  # the desk solved it without a hand-off
    services.change_status(db, ticket, "in_progress", actor=ticket.requester, now=clock.now())
    assert ticket.status is Status.in_progress and ticket.resolved_at is None
    assert not ticket.is_first_contact_resolution
    services.change_status(db, ticket, "resolved", actor=agent, now=clock.now(),
                           resolution_code="workaround", resolution_notes="Spare printer.")
    services.change_status(db, ticket, "closed", actor=ticket.requester, now=clock.now())
    assert ticket.status is Status.closed and ticket.closed_at == clock.now()
    with pytest.raises(InvalidTransition):
        services.change_status(db, ticket, "in_progress", actor=agent, now=clock.now())


def test_escalated_ticket_is_not_first_contact(db, make, clock):
    agent = make.agent()
    ticket = make.ticket(actor=agent)
    services.assign(db, ticket, actor=agent, now=clock.now(), group_id=make.group(tier=2).id)
    services.change_status(db, ticket, "resolved", actor=agent, now=clock.now(),
                           resolution_code="fixed", resolution_notes="Done.")
    assert not ticket.is_first_contact_resolution


def test_requester_cannot_make_staff_transitions(db, make, clock):
    ticket = make.ticket()
    with pytest.raises(PermissionDenied):
        services.change_status(db, ticket, "in_progress", actor=ticket.requester,
                               now=clock.now())


def test_stale_version_is_a_conflict_and_changes_nothing(db, make, clock):
    agent = make.agent()
    ticket = make.ticket(actor=agent)
    seen = ticket.version
    services.update_ticket(db, ticket, actor=agent, now=clock.now(), expected_version=seen,
                           title="Printer jams at gate B12 and B14")
    assert ticket.version == seen + 1
    with pytest.raises(Conflict) as err:
        services.update_ticket(db, ticket, actor=agent, now=clock.now(), expected_version=seen,
                               title="Lost update")
    assert "version" in err.value.fields
    assert ticket.title == "Printer jams at gate B12 and B14"


def test_impact_change_reprioritises_and_records_old_and_new(db, make, clock):
    agent = make.agent()
    ticket = make.ticket(actor=agent, impact=3, urgency=3)
    services.update_ticket(db, ticket, actor=agent, now=clock.now(), impact=1, urgency=1)
    assert ticket.priority == 1
    change = [e for e in ticket.events if e.field == "priority"][-1]
    assert (change.old_value, change.new_value) == ("P4", "P1")


def test_update_refuses_unknown_fields(db, make, clock):
    agent = make.agent()
    ticket = make.ticket(actor=agent)
    with pytest.raises(ValidationError) as err:
        services.update_ticket(db, ticket, actor=agent, now=clock.now(), status="closed")
    assert "status" in err.value.fields


def test_internal_notes_are_staff_only_and_public_reply_marks_response(db, make, clock):
    agent = make.agent()
    ticket = make.ticket(actor=agent)
    with pytest.raises(PermissionDenied):
        services.add_comment(db, ticket, actor=ticket.requester, body="psst", now=clock.now(),
                             is_public=False)
    services.add_comment(db, ticket, actor=agent, body="Internal: check spool", now=clock.now(),
                         is_public=False)
    assert ticket.responded_at is None  # an internal note is not a response to the caller
    clock.advance(minutes=3)
    services.add_comment(db, ticket, actor=agent, body="We are on it.", now=clock.now())
    assert ticket.responded_at == clock.now()


def test_requester_reply_resumes_ticket_waiting_on_them(db, make, clock):
    agent = make.agent()
    ticket = make.ticket(actor=agent)
    services.change_status(db, ticket, "pending_customer", actor=agent, now=clock.now())
    services.add_comment(db, ticket, actor=ticket.requester, body="Here is the photo",
                         now=clock.now())
    assert ticket.status is Status.in_progress


def test_links_refuse_self_and_cycles(db, make, clock):
    agent = make.agent()
    major, child, grandchild = make.ticket(), make.ticket(), make.ticket()
    services.link(db, child, actor=agent, now=clock.now(), parent_id=major.id)
    services.link(db, grandchild, actor=agent, now=clock.now(), parent_id=child.id)
    with pytest.raises(ValidationError):
        services.link(db, major, actor=agent, now=clock.now(), parent_id=grandchild.id)
    with pytest.raises(ValidationError):
        services.link(db, major, actor=agent, now=clock.now(), duplicate_of_id=major.id)
    assert child.parent is major
    assert any(e.kind is EventKind.linked and e.new_value == child.number for e in major.events)


@pytest.mark.parametrize("role", [Role.requester, Role.vendor])
def test_non_staff_cannot_edit_assign_or_link(db, make, clock, role):
    ticket = make.ticket()
    outsider = make.user(role)
    for call in (lambda: services.update_ticket(db, ticket, actor=outsider, now=clock.now(),
                                                title="x"),
                 lambda: services.assign(db, ticket, actor=outsider, now=clock.now()),
                 lambda: services.link(db, ticket, actor=outsider, now=clock.now(),
                                       parent_id=None)):
        with pytest.raises(PermissionDenied):
            call()


def test_every_change_is_in_history(db, make, clock):
    agent = make.agent()
    ticket = make.ticket(actor=agent)
    services.update_ticket(db, ticket, actor=agent, now=clock.now(), title="New title")
    services.add_comment(db, ticket, actor=agent, body="note", now=clock.now(), is_public=False)
    kinds = db.scalars(sa.select(TicketEvent.kind).where(TicketEvent.ticket_id == ticket.id)
                       .order_by(TicketEvent.id)).all()
    assert kinds == [EventKind.created, EventKind.field_changed, EventKind.comment]
