"""Staff pages: the queue, the phone-call intake form and the ticket page (plus the vendor's
read-mostly view of the tickets engaged to its vendor).

Each view parses a form, loads the ticket, checks permission, calls one service inside
``transaction(db.session)`` and redirects; a service error is put back on the form and the
page is rendered again with everything the user typed (422, or 409 for a stale version).
"""
from __future__ import annotations

from flask import (
    Blueprint, abort, current_app, flash, jsonify, redirect, render_template, request, url_for,
)
from flask_login import current_user, login_required
from werkzeug.datastructures import MultiDict

from servicedesk.accounts import permissions
from servicedesk.accounts.forms import as_choices
from servicedesk.accounts.models import Role
from servicedesk.accounts.services import find_or_create_requester
from servicedesk.catalog.services import active_categories, active_services, load_matrix
from servicedesk.clock import utcnow
from servicedesk.db import transaction
from servicedesk.errors import Conflict, InvalidTransition, NotFound, ValidationError
from servicedesk.escalation.queries import latest_engagements
from servicedesk.escalation.views import ticket_panels
from servicedesk.extensions import db
from servicedesk.feedback import services as unmet
from servicedesk.knowledge import views as knowledge_views
from servicedesk.tickets import queries, services, workflow
from servicedesk.tickets.forms import (
    PRIORITY_WORDS, VIEW_LABELS, AssignForm, CommentForm, IntakeForm, LinkForm,
    PublicCommentForm, QueueFilterForm, StatusForm, TicketEditForm, apply_domain_error,
    priority_choices, set_choices,
)
from servicedesk.tickets.models import Status, Ticket, parse_number
from servicedesk.tickets.priority import LEVELS
from servicedesk.web.auth import role_required, staff_required

bp = Blueprint("tickets", __name__)

#: Lifecycle order, for showing transitions in a stable, meaningful order.
STATUS_ORDER = list(Status)


# --- queue -------------------------------------------------------------------------------

@bp.get("/queue")
@staff_required
def queue():
    # Empty values ("Any" in a select) mean "no filter", not a bad value.
    form = QueueFilterForm(formdata=MultiDict(
        [(k, v) for k, v in request.args.items(multi=True) if v.strip()]))
    groups, services_ = queries.filter_choices(db.session)
    context = dict(form=form, groups=groups, services=services_, view_labels=VIEW_LABELS,
                   now=utcnow(), page=None, page_url=_page_url)
    if not form.validate():
        return render_template("tickets/queue.html", **context), 422
    f = queries.QueueFilter(
        view=form.view.data, statuses=[Status(s) for s in form.status.data],
        priorities=list(form.priority.data), group_id=form.group.data,
        service_id=form.service.data, q=(form.q.data or "").strip(), sort=form.sort.data,
        page=form.page.data or 1,
        per_page=form.per_page.data or current_app.config["PAGE_SIZE"],
        sla=form.sla.data or "", now=context["now"])
    try:
        context["page"] = queries.queue(db.session, current_user, f)
    except ValidationError as exc:
        apply_domain_error(form, exc)
        return render_template("tickets/queue.html", **context), 422
    return render_template("tickets/queue.html", **context)


def _page_url(**changes) -> str:
    """This queue URL with some arguments replaced (``None`` drops one); filters are kept."""
    args = request.args.to_dict(flat=False)
    for key, value in changes.items():
        if value is None:
            args.pop(key, None)
        else:
            args[key] = [str(value)]
    return url_for("tickets.queue", **args)


@bp.get("/vendor/tickets")
@role_required(Role.vendor)
def vendor_tickets():
    """A vendor user's list: the tickets engaged to their vendor (the visibility rule)."""
    page_no = request.args.get("page", "1")
    if not page_no.isdigit() or int(page_no) < 1:
        abort(400, "page must be a positive whole number.")
    page = queries.queue(db.session, current_user, queries.QueueFilter(
        view="all", sort="updated", page=int(page_no),
        per_page=current_app.config["PAGE_SIZE"]))
    work = latest_engagements(db.session, current_user, [t.id for t in page.items])
    return render_template("tickets/vendor_list.html", page=page, now=utcnow(), work=work)


# --- intake ------------------------------------------------------------------------------

@bp.route("/tickets/new", methods=["GET", "POST"])
@staff_required
def new():
    form = IntakeForm()
    _fill_classification(form)
    _fill_assignment(form)
    if form.validate_on_submit():
        now = utcnow()
        try:
            with transaction(db.session):
                requester = find_or_create_requester(
                    db.session, email=_clean(form.caller_email.data),
                    name=_clean(form.caller_name.data), phone=_clean(form.caller_phone.data),
                    now=now)
                ticket = services.create_ticket(
                    db.session, actor=current_user, requester=requester,
                    title=form.title.data, description=form.description.data,
                    channel=form.channel.data, impact=form.impact.data,
                    urgency=form.urgency.data, service_id=form.service_id.data,
                    category_id=form.category_id.data, priority=form.priority.data,
                    priority_reason=_clean(form.priority_reason.data),
                    group_id=form.group_id.data, assignee_id=form.assignee_id.data, now=now)
                unmet.record_from_intake(db.session, request.form, actor=current_user,
                                         ticket=ticket, now=now)
                used = knowledge_views.apply_intake_articles(
                    db.session, ticket, request.form, actor=current_user, now=now)
        except (ValidationError, Conflict) as exc:
            apply_domain_error(form, exc)
        else:
            flash(f"{ticket.number} logged for {requester.name} at P{ticket.priority}"
                  + knowledge_views.resolved_note(ticket, used), "success")
            return redirect(url_for("tickets.show", ticket_id=ticket.id))
    status = 422 if request.method == "POST" else 200
    return render_template("tickets/new.html", form=form, matrix=_matrix_data()), status


@bp.get("/tickets/callers")
@staff_required
def callers():
    """Existing callers matching ``q`` (e-mail, name or phone), for the intake form."""
    q = request.args.get("q", "")
    if len(q) > 100:
        return jsonify({"error": {"code": "validation_error", "message": "q is too long.",
                                  "fields": {"q": "100 characters at most"}}}), 422
    users = queries.find_callers(db.session, q)
    return jsonify({"items": [{"email": u.email, "name": u.name, "phone": u.phone or "",
                               "role": u.role.value} for u in users]})


def _clean(value: str | None) -> str | None:
    value = (value or "").strip()
    return value or None


def _matrix_data() -> dict:
    """The configured matrix as {"cells": {"impact-urgency": priority}, "words": {...}}, embedded
    in the page (``|tojson``) for the live priority shown while the agent classifies."""
    matrix = load_matrix(db.session)
    return {"cells": {f"{i}-{u}": matrix[(i, u)] for i in LEVELS for u in LEVELS},
            "words": {str(p): word for p, word in PRIORITY_WORDS.items()}}


def _fill_classification(form) -> None:
    set_choices(form.service_id, active_services(db.session), blank="— not known —")
    set_choices(form.category_id, active_categories(db.session), blank="— none —")
    form.priority.choices = priority_choices()


def _fill_assignment(form) -> None:
    groups = queries.assignable_groups(db.session)
    set_choices(form.group_id, groups, lambda g: f"{g.name} (tier {g.tier})",
                blank="— none —")
    form.assignee_id.choices = as_choices([("", "— nobody —")] + [
        (u.id, f"{u.name} ({u.role.value})",
         {"data-groups": " ".join(str(g.id) for g in u.groups)})
        for u in queries.staff_users(db.session)])


# --- ticket page -------------------------------------------------------------------------

def _load_for_page(ticket_id: int) -> Ticket:
    """Staff see any ticket, vendors only engaged ones (404 otherwise); requesters use the
    portal and never see this page (403)."""
    if current_user.role is Role.requester:
        abort(403)
    try:
        return permissions.load_visible_ticket(db.session, current_user, ticket_id)
    except NotFound as exc:
        abort(404, exc.message)  # a plain 404 page, for POSTs too (no redirect to a POST URL)


@bp.get("/tickets/<int(max=2147483647):ticket_id>")
@login_required
def show(ticket_id: int):
    ticket = _load_for_page(ticket_id)
    return _render_ticket(ticket)


def _render_ticket(ticket: Ticket, *, http_status: int = 200, **posted):
    """The ticket page; ``posted`` replaces the blank form that failed, keeping its input."""
    events = permissions.visible_events(current_user, ticket.events)
    panels = ticket_panels(ticket, current_user, now=utcnow(), posted=posted)
    if not current_user.is_staff:
        form = posted.get("comment") or PublicCommentForm(formdata=None)
        return render_template("tickets/vendor_ticket.html", ticket=ticket, events=events,
                               comment_form=form, **panels), http_status
    forms = {
        "edit": posted.get("edit") or _edit_form(ticket),
        "assign": posted.get("assign") or _assign_form(ticket),
        "status": posted.get("status") or _status_form(ticket),
        "comment": posted.get("comment") or CommentForm(formdata=None),
        "link": posted.get("link") or _link_form(ticket),
    }
    return render_template(
        "tickets/ticket.html", ticket=ticket, events=events, forms=forms,
        open_form=next(iter(posted), None),
        children=queries.children_of(db.session, ticket),
        duplicates=queries.duplicates_of(db.session, ticket), matrix=_matrix_data(),
        **panels), http_status


def _edit_form(ticket: Ticket, formdata=None) -> TicketEditForm:
    form = TicketEditForm(formdata=formdata, data=dict(
        title=ticket.title, description=ticket.description, service_id=ticket.service_id,
        category_id=ticket.category_id, impact=ticket.impact, urgency=ticket.urgency,
        priority=ticket.priority if ticket.priority_override_reason else None,
        priority_reason=ticket.priority_override_reason or "", version=ticket.version))
    _fill_classification(form)
    return form


def _assign_form(ticket: Ticket, formdata=None) -> AssignForm:
    form = AssignForm(formdata=formdata, data=dict(
        group_id=ticket.group_id, assignee_id=ticket.assignee_id, version=ticket.version))
    _fill_assignment(form)
    return form


def _status_form(ticket: Ticket, formdata=None) -> StatusForm:
    form = StatusForm(formdata=formdata, data=dict(version=ticket.version))
    allowed = workflow.allowed_transitions(ticket.status, current_user.role)
    form.status.choices = as_choices((s.value, s.label) for s in STATUS_ORDER if s in allowed)
    return form


def _link_form(ticket: Ticket, formdata=None) -> LinkForm:
    return LinkForm(formdata=formdata, data=dict(
        parent_number=ticket.parent.number if ticket.parent else "",
        duplicate_of_number=ticket.duplicate_of.number if ticket.duplicate_of else "",
        version=ticket.version))


def _act(ticket: Ticket, name: str, form, action, success: str):
    """Validate ``form``, run ``action(now)`` in one transaction, redirect or re-render."""
    if form.validate_on_submit():
        try:
            with transaction(db.session):
                action(utcnow())
        except Conflict as exc:
            apply_domain_error(form, exc)
            form.form_errors.append("Your input is kept below: check the current ticket and "
                                    "its history, then submit again to apply it.")
            if hasattr(form, "version"):  # a deliberate resubmit now applies the input
                form.version.data = ticket.version
                form.version.raw_data = [str(ticket.version)]
            return _render_ticket(ticket, http_status=409, **{name: form})
        except InvalidTransition as exc:
            apply_domain_error(form, exc)
            return _render_ticket(ticket, http_status=409, **{name: form})
        except ValidationError as exc:
            apply_domain_error(form, exc)
        else:
            flash(success, "success")
            return redirect(url_for("tickets.show", ticket_id=ticket.id))
    return _render_ticket(ticket, http_status=422, **{name: form})


def _staff_ticket(ticket_id: int) -> Ticket:
    ticket = _load_for_page(ticket_id)
    permissions.ensure(permissions.can_edit_ticket(current_user),
                       "Only service-desk staff can change this ticket.")
    return ticket


@bp.post("/tickets/<int(max=2147483647):ticket_id>/edit")
@staff_required
def edit(ticket_id: int):
    ticket = _staff_ticket(ticket_id)
    form = _edit_form(ticket, formdata=request.form)

    def action(now):
        services.update_ticket(
            db.session, ticket, actor=current_user, now=now, expected_version=form.version.data,
            title=form.title.data, description=form.description.data,
            service_id=form.service_id.data, category_id=form.category_id.data,
            impact=form.impact.data, urgency=form.urgency.data, priority=form.priority.data,
            priority_reason=_clean(form.priority_reason.data))

    return _act(ticket, "edit", form, action, f"{ticket.number} saved.")


@bp.post("/tickets/<int(max=2147483647):ticket_id>/assign")
@staff_required
def assign(ticket_id: int):
    ticket = _staff_ticket(ticket_id)
    form = _assign_form(ticket, formdata=request.form)

    def action(now):
        services.assign(db.session, ticket, actor=current_user, now=now,
                        group_id=form.group_id.data, assignee_id=form.assignee_id.data,
                        expected_version=form.version.data)

    return _act(ticket, "assign", form, action, f"{ticket.number} assignment saved.")


@bp.post("/tickets/<int(max=2147483647):ticket_id>/status")
@staff_required
def transition(ticket_id: int):
    ticket = _staff_ticket(ticket_id)
    form = _status_form(ticket, formdata=request.form)

    def action(now):
        services.change_status(
            db.session, ticket, form.status.data, actor=current_user, now=now,
            expected_version=form.version.data,
            resolution_code=form.resolution_code.data or None,
            resolution_notes=_clean(form.resolution_notes.data),
            comment=_clean(form.comment.data))

    return _act(ticket, "status", form, action,
                f"{ticket.number} is now {Status(form.status.data).label}."
                if form.status.data in {s.value for s in Status} else "")


@bp.post("/tickets/<int(max=2147483647):ticket_id>/comment")
@login_required
def comment(ticket_id: int):
    ticket = _load_for_page(ticket_id)
    staff = current_user.is_staff
    form = CommentForm() if staff else PublicCommentForm()

    def action(now):
        services.add_comment(db.session, ticket, actor=current_user, body=form.body.data,
                             now=now, is_public=not staff or form.visibility.data == "public")

    note = "Internal note" if staff and form.visibility.data == "internal" else "Reply"
    return _act(ticket, "comment", form, action, f"{note} added to {ticket.number}.")


@bp.post("/tickets/<int(max=2147483647):ticket_id>/link")
@staff_required
def link(ticket_id: int):
    ticket = _staff_ticket(ticket_id)
    form = _link_form(ticket, formdata=request.form)

    def action(now):
        services.link(db.session, ticket, actor=current_user, now=now,
                      parent_id=_ticket_id(form.parent_number),
                      duplicate_of_id=_ticket_id(form.duplicate_of_number),
                      expected_version=form.version.data)

    return _act(ticket, "link", form, action, f"{ticket.number} links saved.")


def _ticket_id(field) -> int | None:
    """``INC-000012`` (or ``12``) in a link field -> 12; empty -> None (removes the link)."""
    text = (field.data or "").strip()
    if not text:
        return None
    number = parse_number(text)
    if number is None:
        raise ValidationError(f"{text!r} is not a ticket number like INC-000012.",
                              field=field.name)
    return number

