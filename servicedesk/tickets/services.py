"""Ticket operations. Each writes TicketEvents, flushes, and never commits.

Every function takes the session, the acting user and ``now`` explicitly, so views, the API,
jobs and tests call them alike. Callers that show a form pass ``expected_version``: a stale
version raises Conflict (HTTP 409) before anything changes.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from servicedesk import events
from servicedesk.accounts import permissions
from servicedesk.accounts.models import Group, Role, User
from servicedesk.catalog.models import Category, PriorityRule, Service
from servicedesk.catalog.services import load_matrix
from servicedesk.db import insert_now
from servicedesk.errors import Conflict, InvalidTransition, PermissionDenied, ValidationError
from servicedesk.refcache import reference_cache
from servicedesk.tickets import workflow
from servicedesk.tickets.models import (
    Channel, EventKind, ResolutionCode, Status, Ticket, TicketEvent,
)
from servicedesk.tickets.priority import PRIORITIES, priority_for, priority_label

TITLE_MAX = 200
TEXT_MAX = 20_000

reference_cache.watch(PriorityRule)


# --- small helpers -------------------------------------------------------------------------

def record_event(session: Session, ticket: Ticket, kind: EventKind, *, actor: User | None,
                 now: datetime, field: str | None = None, old: Any = None, new: Any = None,
                 body: str | None = None, is_public: bool = False) -> TicketEvent:
    """Append one history row to ``ticket`` (the only way history is written)."""
    event = TicketEvent(ticket=ticket, actor=actor,
                        **_event_columns(kind, now, field, old, new, body, is_public))
    session.add(event)
    return event


def event_row(ticket: Ticket, kind: EventKind, *, actor: User | None, now: datetime,
              field: str | None = None, old: Any = None, new: Any = None,
              body: str | None = None, is_public: bool = False) -> dict[str, Any]:
    """The row ``record_event`` would add, as column values for a bulk INSERT (the SLA sweep
    writes a batch's history in one statement); ``ticket`` must already have its id."""
    return {"ticket_id": ticket.id, "actor_id": actor.id if actor is not None else None,
            **_event_columns(kind, now, field, old, new, body, is_public)}


def _event_columns(kind, now, field, old, new, body, is_public) -> dict[str, Any]:
    return {"kind": kind, "created_at": now, "field": field,
            "old_value": None if old is None else str(old),
            "new_value": None if new is None else str(new), "body": body,
            "is_public": is_public}


def check_version(ticket: Ticket, expected_version: int | None) -> None:
    """Refuse to act on a ticket someone else changed since the caller read it."""
    if expected_version is not None and expected_version != ticket.version:
        raise Conflict(
            f"{ticket.number} was changed by someone else since you opened it "
            f"(your version {expected_version}, now {ticket.version}). "
            "Reload it to see their change; nothing was saved.",
            fields={"version": f"stale: current version is {ticket.version}"},
        )


def _text(value: Any, field: str, *, required: bool = True, max_len: int = TEXT_MAX) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise ValidationError(f"{field.replace('_', ' ').capitalize()} is required.",
                                  field=field)
        return None
    if not isinstance(value, str):
        raise ValidationError(f"{field} must be text.", field=field)
    value = value.strip()
    if len(value) > max_len:
        raise ValidationError(f"{field.replace('_', ' ').capitalize()} is too long "
                              f"({len(value)} characters, {max_len} at most).", field=field)
    return value


def _level(value: Any, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value not in (1, 2, 3):
        raise ValidationError(f"{field.capitalize()} must be 1, 2 or 3.", field=field)
    return value


def _load(session: Session, model, ident: Any, field: str):
    """Row by id, or None for None; an unknown id is a validation error naming the field."""
    if ident is None:
        return None
    if isinstance(ident, bool) or not isinstance(ident, int):
        raise ValidationError(f"{field} must be an id.", field=field)
    row = session.get(model, ident)
    if row is None:
        raise ValidationError(f"No {field.removesuffix('_id')} with id {ident}.", field=field)
    return row


def _name(obj) -> str | None:
    return None if obj is None else getattr(obj, "name", None) or getattr(obj, "number", None)


def _touch(ticket: Ticket, now: datetime) -> None:
    ticket.updated_at = now


def _require_staff(actor: User) -> None:
    if not permissions.can_edit_ticket(actor):
        raise PermissionDenied("Only service-desk staff can change this ticket.")


def _mark_responded(session: Session, ticket: Ticket, actor: User, now: datetime) -> None:
    """First staff response: stops the response clock (see docs/ARCHITECTURE.md)."""
    if ticket.responded_at is None and actor.is_staff:
        ticket.responded_at = now
        events.first_response.send(ticket, session=session, actor=actor, now=now)


def current_matrix(session: Session) -> dict[tuple[int, int], int]:
    """The priority matrix through the reference cache (read-only: see refcache.py)."""
    return reference_cache.get(session, "priority_matrix", load_matrix)


def _resolve_priority(session: Session, impact: int, urgency: int, override: Any,
                      reason: Any) -> tuple[int, str | None]:
    computed = priority_for(impact, urgency, current_matrix(session))
    if override is None or override == computed:
        return computed, None
    if isinstance(override, bool) or not isinstance(override, int) or override not in PRIORITIES:
        raise ValidationError("Priority must be 1, 2, 3 or 4.", field="priority")
    reason = _text(reason, "priority_reason", required=False, max_len=500)
    if not reason:
        raise ValidationError("Overriding the matrix priority needs a reason.",
                              field="priority_reason")
    return override, reason


# --- operations ----------------------------------------------------------------------------

def create_ticket(session: Session, *, actor: User, requester: User, title: Any,
                  description: Any, channel: Channel | str, impact: Any, urgency: Any,
                  now: datetime, service_id: int | None = None, category_id: int | None = None,
                  priority: int | None = None, priority_reason: str | None = None,
                  group_id: int | None = None, assignee_id: int | None = None,
                  parent_id: int | None = None) -> Ticket:
    """Log a ticket with its priority from the matrix (or an override with a reason)."""
    if requester.id != actor.id and not permissions.can_create_for_others(actor):
        raise PermissionDenied("You can only log tickets for yourself.")
    if not actor.is_staff and any(x is not None for x in (priority, group_id, assignee_id,
                                                          parent_id)):
        raise PermissionDenied("Only staff set priority, assignment or links.")
    try:
        channel = Channel(channel)
    except ValueError:
        raise ValidationError(f"Unknown channel {channel!r}; use one of "
                              f"{', '.join(c.value for c in Channel)}.", field="channel")
    title = _text(title, "title", max_len=TITLE_MAX)
    description = _text(description, "description")
    impact, urgency = _level(impact, "impact"), _level(urgency, "urgency")
    prio, reason = _resolve_priority(session, impact, urgency, priority, priority_reason)
    service = _load(session, Service, service_id, "service_id")
    category = _load(session, Category, category_id, "category_id")
    group = _load(session, Group, group_id, "group_id")
    assignee = _load(session, User, assignee_id, "assignee_id")
    parent = _load(session, Ticket, parent_id, "parent_id")
    _check_assignee(group, assignee)

    ticket = Ticket(title=title, description=description, requester=requester,
                    created_by=actor, channel=channel, service=service, category=category,
                    impact=impact, urgency=urgency, priority=prio,
                    priority_override_reason=reason,
                    status=Status.assigned if assignee is not None else Status.new,
                    group=group, assignee=assignee, tier=group.tier if group else 1,
                    parent=parent, is_first_contact_resolution=False, created_at=now,
                    updated_at=now, version=1)
    # Intake is the hot write path: rows go in by INSERT ... RETURNING, not the unit of work.
    insert_now(session, ticket)
    history = [_new_event(ticket, EventKind.created, actor=actor, now=now,
                          body=f"Logged via {channel.value} at {priority_label(prio)}",
                          is_public=True)]
    if reason:
        history.append(_new_event(ticket, EventKind.field_changed, actor=actor, now=now,
                                  field="priority", old=priority_label(priority_for(
                                      impact, urgency, current_matrix(session))),
                                  new=priority_label(prio), body=reason))
    insert_now(session, *history)
    set_committed_value(ticket, "events", history)
    # Receivers add their rows (SLA clocks) for the ticket, which now has its id.
    events.ticket_created.send(ticket, session=session, actor=actor, now=now)
    session.flush()  # whatever receivers added through the session
    return ticket


def _new_event(ticket: Ticket, kind: EventKind, *, actor: User | None, now: datetime,
               **columns: Any) -> TicketEvent:
    """A history row for ``insert_now`` (``record_event`` without the session)."""
    event = TicketEvent(ticket_id=ticket.id, actor_id=actor.id if actor is not None else None,
                        **_event_columns(kind, now, columns.get("field"), columns.get("old"),
                                         columns.get("new"), columns.get("body"),
                                         columns.get("is_public", False)))
    set_committed_value(event, "ticket", ticket)
    set_committed_value(event, "actor", actor)
    return event


def _check_assignee(group: Group | None, assignee: User | None) -> None:
    if assignee is None:
        return
    if not assignee.is_staff:
        raise ValidationError(f"{assignee.name} is not staff and cannot be assigned.",
                              field="assignee_id")
    if group is not None and assignee not in group.members:
        raise ValidationError(f"{assignee.name} is not a member of {group.name}.",
                              field="assignee_id")


EDITABLE_FIELDS = {"title", "description", "service_id", "category_id", "impact", "urgency",
                   "priority", "priority_reason"}


def update_ticket(session: Session, ticket: Ticket, *, actor: User, now: datetime,
                  expected_version: int | None = None, **changes: Any) -> Ticket:
    """Change descriptive fields; impact/urgency re-derive priority unless overridden."""
    _require_staff(actor)
    check_version(ticket, expected_version)
    unknown = set(changes) - EDITABLE_FIELDS
    if unknown:
        raise ValidationError(f"Unknown field(s): {', '.join(sorted(unknown))}.",
                              fields={f: "unknown field" for f in unknown})
    if "title" in changes:
        _set(session, ticket, "title", _text(changes["title"], "title", max_len=TITLE_MAX),
             actor, now)
    if "description" in changes:
        _set(session, ticket, "description", _text(changes["description"], "description"),
             actor, now)
    if "service_id" in changes:
        service = _load(session, Service, changes["service_id"], "service_id")
        _set(session, ticket, "service", service, actor, now, shown=_name)
    if "category_id" in changes:
        category = _load(session, Category, changes["category_id"], "category_id")
        _set(session, ticket, "category", category, actor, now, shown=_name)
    if {"impact", "urgency", "priority"} & set(changes):
        _reprioritise(session, ticket, actor=actor, now=now,
                      impact=_level(changes.get("impact", ticket.impact), "impact"),
                      urgency=_level(changes.get("urgency", ticket.urgency), "urgency"),
                      override=changes.get("priority"),
                      reason=changes.get("priority_reason"))
    _touch(ticket, now)
    session.flush()
    return ticket


def _set(session, ticket, attr, value, actor, now, *, shown=lambda v: v, public=False) -> bool:
    old = getattr(ticket, attr)
    if old == value:
        return False
    setattr(ticket, attr, value)
    record_event(session, ticket, EventKind.field_changed, actor=actor, now=now, field=attr,
                 old=shown(old), new=shown(value), is_public=public)
    return True


def _reprioritise(session, ticket, *, actor, now, impact, urgency, override, reason) -> None:
    _set(session, ticket, "impact", impact, actor, now)
    _set(session, ticket, "urgency", urgency, actor, now)
    if override is None and ticket.priority_override_reason and reason is None:
        override = ticket.priority  # keep a standing override unless a new one is given
        reason = ticket.priority_override_reason
    prio, new_reason = _resolve_priority(session, impact, urgency, override, reason)
    old = ticket.priority
    ticket.priority_override_reason = new_reason
    if prio != old:
        ticket.priority = prio
        record_event(session, ticket, EventKind.field_changed, actor=actor, now=now,
                     field="priority", old=priority_label(old), new=priority_label(prio),
                     body=new_reason)
        events.priority_changed.send(ticket, session=session, actor=actor, now=now, old=old,
                                     new=prio)


def assign(session: Session, ticket: Ticket, *, actor: User, now: datetime,
           group_id: int | None = None, assignee_id: int | None = None,
           expected_version: int | None = None) -> Ticket:
    """Set the assignment group and person; the tier follows the group.

    Assigning a person moves a new ticket to ``assigned``; removing the person moves an
    ``assigned`` ticket back to ``new``.
    """
    _require_staff(actor)
    check_version(ticket, expected_version)
    if not ticket.is_open:
        raise InvalidTransition(f"{ticket.number} is {ticket.status.label}; reopen it first.")
    group = _load(session, Group, group_id, "group_id")
    assignee = _load(session, User, assignee_id, "assignee_id")
    _check_assignee(group, assignee)
    changed = _set(session, ticket, "group", group, actor, now, shown=_name)
    changed |= _set(session, ticket, "assignee", assignee, actor, now, shown=_name)
    if group is not None and ticket.tier != group.tier:
        _set(session, ticket, "tier", group.tier, actor, now)
    if assignee is not None and ticket.status is Status.new:
        _move(session, ticket, Status.assigned, actor, now)
    elif assignee is None and ticket.status is Status.assigned:
        _move(session, ticket, Status.new, actor, now)
    if changed:
        _touch(ticket, now)
    session.flush()
    return ticket


def change_status(session: Session, ticket: Ticket, target: Status | str, *, actor: User,
                  now: datetime, expected_version: int | None = None,
                  resolution_code: str | None = None, resolution_notes: str | None = None,
                  comment: str | None = None) -> Ticket:
    """Move the ticket through the lifecycle (rules in tickets/workflow.py)."""
    try:
        target = Status(target)
    except ValueError:
        raise ValidationError(f"Unknown status {target!r}.", field="status")
    check_version(ticket, expected_version)
    current = ticket.status
    if not workflow.can_transition(current, target, actor.role):
        if target in workflow.TRANSITIONS[current]:
            raise PermissionDenied(f"You cannot move a ticket from {current.label} to "
                                   f"{target.label}.")
        raise InvalidTransition(f"A ticket cannot go from {current.label} to {target.label}.",
                                fields={"status": f"not allowed from {current.value}"})
    if target is Status.assigned and ticket.assignee is None:
        raise ValidationError("Assign someone before marking the ticket assigned.",
                              field="assignee_id")
    if target is Status.resolved:
        _resolve_fields(ticket, resolution_code, resolution_notes)
    comment = _text(comment, "comment", required=False)
    _move(session, ticket, target, actor, now, body=comment)
    if target is Status.resolved:
        ticket.resolved_at = now
        ticket.is_first_contact_resolution = _is_first_contact(ticket, actor)
        record_event(session, ticket, EventKind.field_changed, actor=actor, now=now,
                     field="resolution", new=ticket.resolution_code.label,
                     body=ticket.resolution_notes, is_public=True)
    elif workflow.is_reopen(current, target):
        ticket.resolved_at = None
        ticket.resolution_code = None
        ticket.is_first_contact_resolution = False
    elif target is Status.closed:
        ticket.closed_at = now
    if target is Status.in_progress and actor.id == ticket.assignee_id:
        _mark_responded(session, ticket, actor, now)  # the assignee acknowledged it
    _touch(ticket, now)
    session.flush()
    return ticket


def _resolve_fields(ticket: Ticket, code: Any, notes: Any) -> None:
    try:
        ticket.resolution_code = ResolutionCode(code)
    except ValueError:
        raise ValidationError("Choose a resolution code.", field="resolution_code")
    ticket.resolution_notes = _text(notes, "resolution_notes")


def _is_first_contact(ticket: Ticket, actor: User) -> bool:
    """Resolved by the desk (tier 1) with no hand-off to another group or tier."""
    return actor.role is Role.agent and ticket.tier == 1 and not any(
        e.kind is EventKind.field_changed and e.field in ("group", "tier")
        for e in ticket.events)


def _move(session, ticket, target: Status, actor, now, *, body: str | None = None) -> None:
    old = ticket.status
    ticket.status = target
    record_event(session, ticket, EventKind.status_changed, actor=actor, now=now,
                 field="status", old=old.value, new=target.value, body=body, is_public=True)
    events.status_changed.send(ticket, session=session, actor=actor, now=now, old=old,
                               new=target)


def add_comment(session: Session, ticket: Ticket, *, actor: User, body: Any, now: datetime,
                is_public: bool = True) -> TicketEvent:
    """A public reply or an internal note; a requester's reply resumes a ticket waiting on them."""
    body = _text(body, "body")
    if not is_public and not permissions.can_comment_internally(actor):
        raise PermissionDenied("Only staff can write internal notes.")
    if ticket.status in (Status.closed, Status.cancelled):
        raise InvalidTransition(f"{ticket.number} is {ticket.status.label}; "
                                "comments are closed.")
    event = record_event(session, ticket, EventKind.comment, actor=actor, now=now, body=body,
                         is_public=is_public)
    if is_public:
        _mark_responded(session, ticket, actor, now)
    if actor.id == ticket.requester_id and ticket.status is Status.pending_customer:
        _move(session, ticket, Status.in_progress, actor, now,
              body="Resumed: the requester replied.")
    _touch(ticket, now)
    session.flush()
    return event


def link(session: Session, ticket: Ticket, *, actor: User, now: datetime,
         parent_id: Any = ..., duplicate_of_id: Any = ...,
         expected_version: int | None = None) -> Ticket:
    """Attach to a major incident (parent) and/or mark as duplicate; ``None`` removes a link."""
    _require_staff(actor)
    check_version(ticket, expected_version)
    if parent_id is not ...:
        parent = _load(session, Ticket, parent_id, "parent_id")
        _check_not_self_or_cycle(ticket, parent, "parent_id")
        if _set(session, ticket, "parent", parent, actor, now, shown=_name):
            _log_link(session, parent, ticket, actor, now, "child")
    if duplicate_of_id is not ...:
        original = _load(session, Ticket, duplicate_of_id, "duplicate_of_id")
        if original is not None and original.id == ticket.id:
            raise ValidationError("A ticket cannot duplicate itself.", field="duplicate_of_id")
        if _set(session, ticket, "duplicate_of", original, actor, now, shown=_name):
            _log_link(session, original, ticket, actor, now, "duplicate")
    _touch(ticket, now)
    session.flush()
    return ticket


def _check_not_self_or_cycle(ticket: Ticket, parent: Ticket | None, field: str) -> None:
    node = parent
    while node is not None:
        if node.id == ticket.id:
            raise ValidationError("That link would make a ticket its own parent.", field=field)
        node = node.parent


def _log_link(session, other: Ticket | None, ticket: Ticket, actor, now, role: str) -> None:
    if other is not None:
        record_event(session, other, EventKind.linked, actor=actor, now=now, field=role,
                     new=ticket.number)
