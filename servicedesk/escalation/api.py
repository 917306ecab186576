"""/api/v1: a ticket's SLA/OLA clocks, manual escalation and the vendor engagement workflow.

Who sees what: staff see every clock and engagement; a vendor user only the engagements of
its vendor (approved or later) and their OLA clocks; a requester only the resolution clock
of their own ticket (the promise made to them) and no escalation at all. Only staff escalate
and verify, only managers decide, only the engaged vendor's users accept and report fixes.
"""
from __future__ import annotations

from flask import url_for

from servicedesk.accounts import permissions
from servicedesk.accounts.models import Role
from servicedesk.clock import utcnow
from servicedesk.db import transaction
from servicedesk.errors import PermissionDenied
from servicedesk.escalation import queries, services
from servicedesk.escalation.schemas import (
    ClockList, DecisionIn, EngagementListQuery, EngagementOut, EngagementPage,
    EngagementRequestIn, EscalationIn, EscalationOut, FixIn, SendBackIn, clock_out,
    engagement_out, escalation_out,
)
from servicedesk.extensions import db
from servicedesk.sla import queries as sla_queries
from servicedesk.sla.models import ClockKind
from servicedesk.tickets.queries import Page
from servicedesk.web.api import (
    ID, api_blueprint, api_user, documented, page_envelope, parse_body, parse_query,
)

bp = api_blueprint("escalation_api", __name__)

STAFF = "staff (agent, expert, manager, admin)"
MANAGERS = "managers and admins"
VENDOR = "users of the engaged vendor"
ENGAGEMENT = f"/engagements/<{ID}:engagement_id>"


def _json(model) -> dict:
    return model.model_dump(mode="json")


def _require_staff() -> None:
    permissions.ensure(api_user().is_staff, "Only service-desk staff can do that.")


# --- clocks and escalation -------------------------------------------------------------------

@bp.get(f"/tickets/<{ID}:ticket_id>/clocks")
@documented(
    "A ticket's SLA and OLA clocks",
    description="Remaining (or late) business time, due time, state, colour and threshold "
                "firings of each clock. Vendors get the OLA clocks of their engagement; "
                "requesters the resolution clock of their own ticket.",
    response=ClockList, tag="escalation")
def ticket_clocks(ticket_id: int):
    user, now = api_user(), utcnow()
    ticket = permissions.load_visible_ticket(db.session, user, ticket_id)
    only = None
    if user.role is Role.vendor:
        only = {e.id for e in queries.ticket_engagements(db.session, user, ticket.id)}
    statuses = sla_queries.ticket_clocks(db.session, ticket, now, engagement_ids=only)
    if user.role is Role.requester:
        statuses = [s for s in statuses
                    if s.clock.kind is ClockKind.resolution and s.clock.engagement_id is None]
    firings = ({} if user.role is Role.requester else
               sla_queries.firings_by_clock(db.session, [s.clock.id for s in statuses]))
    return _json(ClockList(items=[clock_out(s, firings.get(s.clock.id, []))
                                  for s in statuses]))


@bp.post(f"/tickets/<{ID}:ticket_id>/escalations")
@documented(
    "Escalate a ticket by hand",
    description="target group: functional escalation to an expert group (the tier follows "
                "the group); manager: notify the group's manager; vendor: request paid vendor "
                "work (a manager approves it against the budget). A reason is always needed.",
    body=EscalationIn, response=EscalationOut, status=201, errors=(403, 409), roles=STAFF,
    tag="escalation")
def escalate_ticket(ticket_id: int):
    body = parse_body(EscalationIn)
    user, now = api_user(), utcnow()
    ticket = permissions.load_visible_ticket(db.session, user, ticket_id)
    _require_staff()
    engagement = None
    with transaction(db.session):
        if body.target == "vendor":
            engagement = services.request_engagement(
                db.session, ticket, actor=user, now=now, vendor_id=body.vendor_id,
                reason=body.reason, estimated_cost=body.estimated_cost)
        else:
            services.escalate_manually(db.session, ticket, actor=user, now=now,
                                       target=body.target, reason=body.reason,
                                       group_id=body.group_id)
        out = _json(escalation_out(ticket, body.target, engagement))
    return out, 201


# --- engagements -----------------------------------------------------------------------------

def _load(engagement_id: int):
    user = api_user()
    if not (user.is_staff or user.role is Role.vendor):
        raise PermissionDenied("Vendor engagements are internal to the service desk.")
    return queries.load_visible_engagement(db.session, user, engagement_id)


@bp.get("/engagements")
@documented(
    "List vendor engagements",
    description="Newest first. Staff see all; vendor users only their vendor's engagements "
                "from approval on.",
    query=EngagementListQuery, response=EngagementPage, errors=(403,),
    roles="staff and vendor users", tag="escalation")
def list_engagements():
    args = parse_query(EngagementListQuery)
    user = api_user()
    if not (user.is_staff or user.role is Role.vendor):
        raise PermissionDenied("Vendor engagements are internal to the service desk.")
    items, total = queries.engagements(db.session, user, states=list(args.state),
                                       ticket_id=args.ticket_id, limit=args.per_page,
                                       offset=(args.page - 1) * args.per_page)
    page = Page(items=items, total=total, page=args.page, per_page=args.per_page)
    return page_envelope([_json(engagement_out(e)) for e in items], page)


@bp.get(ENGAGEMENT)
@documented("Get a vendor engagement", response=EngagementOut, errors=(403,),
            roles="staff and the engaged vendor's users", tag="escalation")
def get_engagement(engagement_id: int):
    return _json(engagement_out(_load(engagement_id)))


@bp.post("/engagements")
@documented(
    "Request a vendor",
    description="Ask for paid vendor work on an open ticket; managers are notified. One open "
                "engagement per ticket (409 otherwise).",
    body=EngagementRequestIn, response=EngagementOut, status=201, errors=(403, 409),
    roles=STAFF, tag="escalation")
def request_engagement():
    body = parse_body(EngagementRequestIn)
    user, now = api_user(), utcnow()
    _require_staff()
    ticket = permissions.load_visible_ticket(db.session, user, body.ticket_id)
    with transaction(db.session):
        engagement = services.request_engagement(
            db.session, ticket, actor=user, now=now, vendor_id=body.vendor_id,
            reason=body.reason, estimated_cost=body.estimated_cost)
        out = _json(engagement_out(engagement))
    return out, 201, {"Location": url_for("escalation_api.get_engagement",
                                          engagement_id=out["id"])}


def _act(engagement_id: int, action) -> dict:
    """Load what the caller may see, run ``action(engagement, now)`` in one transaction."""
    engagement = _load(engagement_id)
    with transaction(db.session):
        action(engagement, utcnow())
        return _json(engagement_out(engagement))


@bp.post(ENGAGEMENT + "/approve")
@documented(
    "Approve a vendor request",
    description="Refused with 409 when there is no budget for the period or the estimate "
                "would overdraw it. On approval the ticket goes to tier 3 and pending_vendor "
                "and the vendor's OLA clocks start.",
    body=DecisionIn, response=EngagementOut, errors=(403, 409), roles=MANAGERS,
    tag="escalation")
def approve(engagement_id: int):
    body = parse_body(DecisionIn)
    return _act(engagement_id, lambda e, now: services.approve_engagement(
        db.session, e, actor=api_user(), now=now, note=body.note))


@bp.post(ENGAGEMENT + "/reject")
@documented("Reject a vendor request", description="The note (why) is required.",
            body=DecisionIn, response=EngagementOut, errors=(403, 409), roles=MANAGERS,
            tag="escalation")
def reject(engagement_id: int):
    body = parse_body(DecisionIn)
    return _act(engagement_id, lambda e, now: services.reject_engagement(
        db.session, e, actor=api_user(), now=now, note=body.note))


@bp.post(ENGAGEMENT + "/acknowledge")
@documented("Accept the work (vendor)", description="Stops the vendor's OLA response clock.",
            response=EngagementOut, errors=(403, 409), roles=VENDOR, tag="escalation")
def acknowledge(engagement_id: int):
    return _act(engagement_id, lambda e, now: services.acknowledge_engagement(
        db.session, e, actor=api_user(), now=now))


@bp.post(ENGAGEMENT + "/fix")
@documented("Report the fix (vendor)",
            description="With notes and the actual cost; stops the OLA fix clock.",
            body=FixIn, response=EngagementOut, errors=(403, 409), roles=VENDOR,
            tag="escalation")
def fix(engagement_id: int):
    body = parse_body(FixIn)
    return _act(engagement_id, lambda e, now: services.mark_fixed(
        db.session, e, actor=api_user(), now=now, notes=body.notes,
        actual_cost=body.actual_cost))


@bp.post(ENGAGEMENT + "/verify")
@documented("Verify the vendor's fix",
            description="The ticket returns to tier 2 and in progress.",
            response=EngagementOut, errors=(403, 409), roles=STAFF, tag="escalation")
def verify(engagement_id: int):
    return _act(engagement_id, lambda e, now: services.verify_fix(
        db.session, e, actor=api_user(), now=now))


@bp.post(ENGAGEMENT + "/send-back")
@documented("Send the fix back to the vendor",
            description="With the reason; the vendor's OLA fix clock resumes.",
            body=SendBackIn, response=EngagementOut, errors=(403, 409), roles=STAFF,
            tag="escalation")
def send_back(engagement_id: int):
    body = parse_body(SendBackIn)
    return _act(engagement_id, lambda e, now: services.send_back(
        db.session, e, actor=api_user(), now=now, reason=body.reason))
