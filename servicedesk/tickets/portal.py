"""Requester portal: report a problem, follow one's own tickets, reply, confirm or reopen.

Only requesters use it: staff opening a portal page are sent to the staff equivalent, vendor
users get 403. Requesters see their own tickets only (404 for any other) and public history.
"""
from __future__ import annotations

from functools import wraps

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from servicedesk.accounts import permissions
from servicedesk.accounts.models import Role
from servicedesk.catalog.services import active_services
from servicedesk.clock import utcnow
from servicedesk.db import transaction
from servicedesk.errors import (
    Conflict, InvalidTransition, NotFound, PermissionDenied, ValidationError,
)
from servicedesk.extensions import db
from servicedesk.knowledge import views as knowledge_views
from servicedesk.tickets import queries, services, workflow
from servicedesk.tickets.forms import (
    PortalStatusForm, PortalTicketForm, PublicCommentForm, apply_domain_error, set_choices,
)
from servicedesk.tickets.models import Channel, Status, Ticket

bp = Blueprint("portal", __name__, url_prefix="/portal")

#: How each move a requester may make is offered to them.
ACTIONS = {
    Status.closed: ("Yes, it is fixed — close it", "btn-success"),
    Status.in_progress: ("It is still broken — reopen", "btn-outline-danger"),
    Status.cancelled: ("Withdraw my request", "btn-outline-secondary"),
}


def requester_page(staff_endpoint: str | None = None):
    """Requesters only. Staff GETs go to ``staff_endpoint`` (same URL arguments); staff POSTs
    and vendor users get 403."""

    def decorator(view):
        @wraps(view)
        @login_required
        def wrapper(*args, **kwargs):
            if current_user.is_staff and request.method == "GET" and staff_endpoint:
                return redirect(url_for(staff_endpoint, **kwargs))
            if current_user.role is not Role.requester:
                abort(403)
            return view(*args, **kwargs)

        return wrapper

    return decorator


def _own_ticket(ticket_id: int) -> Ticket:
    try:
        return permissions.load_visible_ticket(db.session, current_user, ticket_id)
    except NotFound as exc:
        abort(404, exc.message)


@bp.get("/")
@requester_page("tickets.queue")
def index():
    page_no = request.args.get("page", "1")
    if not page_no.isdigit() or int(page_no) < 1:
        abort(400, "page must be a positive whole number.")
    page = queries.requester_tickets(db.session, current_user, page=int(page_no))
    return render_template("portal/index.html", page=page)


@bp.route("/new", methods=["GET", "POST"])
@requester_page("tickets.new")
def new():
    form = PortalTicketForm()
    set_choices(form.service_id, active_services(db.session), blank="I don't know")
    if form.validate_on_submit():
        try:
            with transaction(db.session):
                ticket = services.create_ticket(
                    db.session, actor=current_user, requester=current_user,
                    title=form.title.data, description=form.description.data,
                    channel=Channel.web, impact=form.impact.data, urgency=form.urgency.data,
                    service_id=form.service_id.data, now=utcnow())
                knowledge_views.record_portal_search(db.session, request.form,
                                                     requester=current_user, now=utcnow())
        except ValidationError as exc:
            apply_domain_error(form, exc)
        else:
            flash(f"Thank you. Your request {ticket.number} is logged; we will keep you "
                  "posted here.", "success")
            return redirect(url_for("portal.show", ticket_id=ticket.id))
    status = 422 if request.method == "POST" else 200
    return render_template("portal/new.html", form=form), status


def _render(ticket: Ticket, *, status: int = 200, reply: PublicCommentForm | None = None,
            action: PortalStatusForm | None = None):
    actions = [(s, *ACTIONS[s]) for s in ACTIONS
               if s in workflow.allowed_transitions(ticket.status, Role.requester)]
    return render_template(
        "portal/ticket.html", ticket=ticket,
        events=permissions.visible_events(current_user, ticket.events),
        reply_form=reply or PublicCommentForm(formdata=None),
        action_form=action or PortalStatusForm(formdata=None, data={"version": ticket.version}),
        actions=actions), status


@bp.get("/tickets/<int(max=2147483647):ticket_id>")
@requester_page("tickets.show")
def show(ticket_id: int):
    return _render(_own_ticket(ticket_id))


@bp.post("/tickets/<int(max=2147483647):ticket_id>/reply")
@requester_page()
def reply(ticket_id: int):
    ticket = _own_ticket(ticket_id)
    form = PublicCommentForm()
    if form.validate_on_submit():
        try:
            with transaction(db.session):
                services.add_comment(db.session, ticket, actor=current_user,
                                     body=form.body.data, now=utcnow(), is_public=True)
        except InvalidTransition as exc:
            apply_domain_error(form, exc)
            return _render(ticket, status=409, reply=form)
        except ValidationError as exc:
            apply_domain_error(form, exc)
        else:
            flash("Your reply was sent to the service desk.", "success")
            return redirect(url_for("portal.show", ticket_id=ticket.id))
    return _render(ticket, status=422, reply=form)


@bp.post("/tickets/<int(max=2147483647):ticket_id>/status")
@requester_page()
def transition(ticket_id: int):
    ticket = _own_ticket(ticket_id)
    form = PortalStatusForm()
    if form.validate_on_submit():
        try:
            with transaction(db.session):
                services.change_status(db.session, ticket, form.status.data,
                                       actor=current_user, now=utcnow(),
                                       expected_version=form.version.data,
                                       comment=(form.comment.data or "").strip() or None)
        except (Conflict, InvalidTransition) as exc:
            apply_domain_error(form, exc)
            return _render(ticket, status=409, action=form)
        except PermissionDenied as exc:
            apply_domain_error(form, exc)
            return _render(ticket, status=403, action=form)
        except ValidationError as exc:
            apply_domain_error(form, exc)
        else:
            flash(_done_message(ticket), "success")
            return redirect(url_for("portal.show", ticket_id=ticket.id))
    return _render(ticket, status=422, action=form)


def _done_message(ticket: Ticket) -> str:
    if ticket.status is Status.closed:
        return f"Thank you for confirming: {ticket.number} is closed."
    if ticket.status is Status.cancelled:
        return f"{ticket.number} is withdrawn."
    return f"{ticket.number} is reopened; the service desk will pick it up again."
