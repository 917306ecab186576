"""/api/v1/tickets: the JSON side of tickets.

Every view: parse -> load (404 if the caller may not see it) -> permission -> service inside
one ``transaction`` -> serialize. Rules live in the services and in accounts/permissions.py.
"""
from __future__ import annotations

from flask import url_for

from servicedesk.accounts import permissions
from servicedesk.accounts.models import Role, User
from servicedesk.accounts.services import find_or_create_requester, get_active_user
from servicedesk.clock import utcnow
from servicedesk.db import transaction
from servicedesk.errors import ValidationError
from servicedesk.extensions import db
from servicedesk.tickets import queries, services
from servicedesk.tickets.models import Channel, Ticket
from servicedesk.tickets.schemas import (
    AssignIn, CommentIn, EventList, EventOut, LinksIn, TicketCreate, TicketDetail,
    TicketListQuery, TicketOut, TicketPage, TicketUpdate, TransitionIn, event_out,
    ticket_detail, ticket_out, visible_event_list,
)
from servicedesk.web.api import (
    ID, api_blueprint, api_user, authenticated_by_token, documented, page_envelope,
    parse_body, parse_query,
)

bp = api_blueprint("tickets_api", __name__)

STAFF = "staff (agent, expert, manager, admin)"
TICKET = f"/tickets/<{ID}:ticket_id>"


def _load(ticket_id: int) -> Ticket:
    return permissions.load_visible_ticket(db.session, api_user(), ticket_id)


def _json(model) -> dict:
    return model.model_dump(mode="json")


@bp.post("/tickets")
@documented(
    "Log a ticket",
    description="Requesters log tickets for themselves. Staff may log for an existing user "
                "(requester_id) or for a caller found or created by e-mail/phone (caller). "
                "Priority comes from the impact x urgency matrix unless staff override it "
                "with a reason. Monitoring tools use this with a token (channel 'monitoring').",
    body=TicketCreate, response=TicketDetail, status=201, errors=(403,),
    roles="requesters (for themselves) and staff; not vendors", tag="tickets")
def create_ticket():
    body = parse_body(TicketCreate)
    user, now = api_user(), utcnow()
    permissions.ensure(user.role is not Role.vendor,
                       "Vendor users work on engaged tickets; they do not log tickets.")
    channel = body.channel or (Channel.api if authenticated_by_token() else Channel.web)
    with transaction(db.session):
        requester = _requester_for(body, user, now)
        ticket = services.create_ticket(
            db.session, actor=user, requester=requester, title=body.title,
            description=body.description, channel=channel, impact=body.impact,
            urgency=body.urgency, now=now, service_id=body.service_id,
            category_id=body.category_id, priority=body.priority,
            priority_reason=body.priority_reason, group_id=body.group_id,
            assignee_id=body.assignee_id, parent_id=body.parent_id)
        out = _json(ticket_detail(ticket, user))
    # From the serialized id: after the commit the ticket is expired and would be reloaded.
    return out, 201, {"Location": url_for("tickets_api.get_ticket", ticket_id=out["id"])}


def _requester_for(body: TicketCreate, user: User, now) -> User:
    """Who the ticket is for: the caller, an existing user, or the actor."""
    if body.caller is not None:
        permissions.ensure(permissions.can_create_for_others(user),
                           "Only staff log tickets for callers.")
        try:
            return find_or_create_requester(db.session, email=body.caller.email,
                                            name=body.caller.name, phone=body.caller.phone,
                                            now=now)
        except ValidationError as exc:
            # The service names form fields (caller_email, name); the API names JSON paths.
            raise ValidationError(exc.message, fields={
                "caller." + name.removeprefix("caller_"): message
                for name, message in exc.fields.items()}) from None
    if body.requester_id is not None and body.requester_id != user.id:
        permissions.ensure(permissions.can_create_for_others(user),
                           "You can only log tickets for yourself.")
        requester = get_active_user(db.session, body.requester_id)
        if requester is None:
            raise ValidationError(f"No active user with id {body.requester_id}.",
                                  field="requester_id")
        return requester
    return user


@bp.get("/tickets")
@documented(
    "List tickets",
    description="One page of the tickets the caller may see (requesters: their own; vendors: "
                "tickets engaged to their vendor), filtered and sorted. status and priority "
                "may repeat.",
    query=TicketListQuery, response=TicketPage, tag="tickets")
def list_tickets():
    args = parse_query(TicketListQuery)
    user = api_user()
    view = args.view or ("open" if user.is_staff else "all")
    page = queries.queue(db.session, user, queries.QueueFilter(
        view=view, statuses=list(args.status), priorities=list(args.priority),
        group_id=args.group_id, service_id=args.service_id, q=args.q, sort=args.sort,
        page=args.page, per_page=args.per_page, sla=args.sla or "",
        now=utcnow() if args.sla or args.sort == "due" else None))
    return page_envelope([_json(ticket_out(t, user)) for t in page.items], page)


@bp.get(TICKET)
@documented(
    "Get a ticket with its history",
    description="Requesters and vendors see public history only; a ticket they may not see "
                "is 404, exactly like one that does not exist.",
    response=TicketDetail, tag="tickets")
def get_ticket(ticket_id: int):
    ticket = _load(ticket_id)
    return _json(ticket_detail(ticket, api_user()))


@bp.get(TICKET + "/events")
@documented("A ticket's history", description="Oldest first; public events only for "
            "requesters and vendors.", response=EventList, tag="tickets")
def list_events(ticket_id: int):
    ticket = _load(ticket_id)
    return _json(EventList(items=visible_event_list(ticket, api_user())))


@bp.patch(TICKET)
@documented(
    "Change a ticket's fields",
    description="Send the version you read; if someone changed the ticket since, the answer "
                "is 409 and nothing is saved. Impact/urgency re-derive the priority unless "
                "it is overridden.",
    body=TicketUpdate, response=TicketOut, errors=(403, 409), roles=STAFF, tag="tickets")
def update_ticket(ticket_id: int):
    body = parse_body(TicketUpdate)
    ticket = _load(ticket_id)
    user, now = api_user(), utcnow()
    with transaction(db.session):
        services.update_ticket(db.session, ticket, actor=user, now=now,
                               expected_version=body.version, **body.changes())
        out = _json(ticket_out(ticket, user))
    return out


@bp.post(TICKET + "/transition")
@documented(
    "Move a ticket to another status",
    description="Allowed moves depend on the status and the caller's role (see "
                "allowed_transitions). Resolving needs resolution_code and resolution_notes. "
                "Requesters may cancel a new ticket, and confirm (close) or reopen "
                "(in_progress) a resolved one.",
    body=TransitionIn, response=TicketOut, errors=(403, 409),
    roles="staff; requesters for the moves above", tag="tickets")
def transition_ticket(ticket_id: int):
    body = parse_body(TransitionIn)
    ticket = _load(ticket_id)
    user, now = api_user(), utcnow()
    with transaction(db.session):
        services.change_status(db.session, ticket, body.status, actor=user, now=now,
                               expected_version=body.version,
                               resolution_code=body.resolution_code,
                               resolution_notes=body.resolution_notes, comment=body.comment)
        out = _json(ticket_out(ticket, user))
    return out


@bp.post(TICKET + "/comments")
@documented(
    "Comment on a ticket",
    description="Public replies reach the requester; internal notes (is_public false) are "
                "staff only. A requester's reply resumes a ticket pending on them.",
    body=CommentIn, response=EventOut, status=201, errors=(403, 409),
    roles="anyone who can see the ticket; internal notes: staff", tag="tickets")
def comment_ticket(ticket_id: int):
    body = parse_body(CommentIn)
    ticket = _load(ticket_id)
    user, now = api_user(), utcnow()
    with transaction(db.session):
        event = services.add_comment(db.session, ticket, actor=user, body=body.body, now=now,
                                     is_public=body.is_public)
        out = _json(event_out(event))
    return out, 201


@bp.post(TICKET + "/assign")
@documented(
    "Assign a ticket to a group and/or person",
    description="Omitted fields stay as they are, except that the current assignee is "
                "unassigned when a new group is given that they do not belong to; null "
                "clears. The tier follows the group.",
    body=AssignIn, response=TicketOut, errors=(403, 409), roles=STAFF, tag="tickets")
def assign_ticket(ticket_id: int):
    body = parse_body(AssignIn)
    ticket = _load(ticket_id)
    user, now = api_user(), utcnow()
    given = body.model_fields_set
    group_id = body.group_id if "group_id" in given else ticket.group_id
    if "assignee_id" in given:
        assignee_id = body.assignee_id
    elif group_id != ticket.group_id and ticket.assignee is not None and \
            not any(g.id == group_id for g in ticket.assignee.groups):
        assignee_id = None
    else:
        assignee_id = ticket.assignee_id
    with transaction(db.session):
        services.assign(db.session, ticket, actor=user, now=now, group_id=group_id,
                        assignee_id=assignee_id, expected_version=body.version)
        out = _json(ticket_out(ticket, user))
    return out


@bp.post(TICKET + "/links")
@documented(
    "Link a ticket to a major incident or an original",
    description="parent_id: the major incident this ticket belongs to; duplicate_of_id: the "
                "ticket it duplicates. Omitted: unchanged; null: unlinked.",
    body=LinksIn, response=TicketOut, errors=(403, 409), roles=STAFF, tag="tickets")
def link_ticket(ticket_id: int):
    body = parse_body(LinksIn)
    ticket = _load(ticket_id)
    user, now = api_user(), utcnow()
    given = body.model_fields_set
    with transaction(db.session):
        services.link(db.session, ticket, actor=user, now=now,
                      parent_id=body.parent_id if "parent_id" in given else ...,
                      duplicate_of_id=body.duplicate_of_id if "duplicate_of_id" in given
                      else ...,
                      expected_version=body.version)
        out = _json(ticket_out(ticket, user))
    return out
