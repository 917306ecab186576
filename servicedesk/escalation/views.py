"""Escalation pages: manual escalation and the vendor engagement flow on the ticket page, the
managers' approval queue with the period's budget, and the vendor's work buttons.

The ticket-page forms post here and, on a domain error, the ticket page is rendered again
with the form and its errors (``tickets.views._act``), like every other ticket form.
"""
from __future__ import annotations

from datetime import datetime

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from servicedesk.accounts.models import Group, Role, User, Vendor
from servicedesk.clock import utcnow
from servicedesk.db import transaction
from servicedesk.errors import Conflict, InvalidTransition, NotFound, ValidationError
from servicedesk.escalation import budgets, queries, services
from servicedesk.escalation.forms import (
    ActionForm, DecisionForm, EscalateForm, FixForm, SendBackForm,
)
from servicedesk.escalation.models import EngagementState, VendorEngagement
from servicedesk.extensions import db
from servicedesk.sla import queries as sla_queries
from servicedesk.tickets.forms import apply_domain_error, set_choices
from servicedesk.tickets.models import Ticket
from servicedesk.web.auth import role_required, staff_required

bp = Blueprint("escalation", __name__)

E = EngagementState
ENGAGEMENT = "/engagements/<int(min=1, max=2147483647):engagement_id>"
manager_required = role_required(Role.manager, Role.admin)


# --- what the ticket page shows (called by tickets.views._render_ticket) --------------------

def ticket_panels(ticket: Ticket, user: User, *, now: datetime, posted: dict) -> dict:
    """Context of the ticket page's clock, engagement and escalation partials.

    Staff see every clock and engagement; a vendor user only its own engagements and their
    OLA clocks. ``posted`` holds a form that failed, to show again with its errors.
    """
    engagements = queries.ticket_engagements(db.session, user, ticket.id)
    only = None if user.is_staff else {e.id for e in engagements}
    clocks = sla_queries.ticket_clocks(db.session, ticket, now, engagement_ids=only)
    open_one = next((e for e in engagements if e.state in queries.OPEN_STATES), None)
    forms = {
        "escalate": posted.get("escalate") or (escalate_form() if user.is_staff
                                               else None),
        "action": posted.get("action") or ActionForm(formdata=None),
        "fix": posted.get("fix") or FixForm(formdata=None),
        "send_back": posted.get("send_back") or SendBackForm(formdata=None),
    }
    return dict(clocks=clocks, engagements=engagements, open_engagement=open_one,
                clock_firings=sla_queries.firings_by_clock(db.session,
                                                           [s.clock.id for s in clocks]),
                escalation_forms=forms, now=now)


def escalate_form(formdata=None) -> EscalateForm:
    """The escalation form with expert groups (tier 2 and up) and active vendors to choose."""
    form = EscalateForm(formdata=formdata)
    groups = db.session.scalars(db.select(Group).where(Group.tier >= 2)
                                .order_by(Group.tier, Group.name)).all()
    set_choices(form.group_id, groups, lambda g: f"{g.name} (tier {g.tier})",
                blank="— choose a group —")
    vendors = db.session.scalars(db.select(Vendor).where(Vendor.is_active)
                                 .order_by(Vendor.name)).all()
    set_choices(form.vendor_id, vendors, blank="— choose a vendor —")
    return form


# --- manual escalation and the staff side of an engagement ----------------------------------

def _ticket_action(ticket_id: int, name: str, form, action, success: str):
    from servicedesk.tickets.views import _act, _staff_ticket

    ticket = _staff_ticket(ticket_id)
    return _act(ticket, name, form, lambda now: action(ticket, now), success)


@bp.post("/tickets/<int(max=2147483647):ticket_id>/escalate")
@staff_required
def escalate(ticket_id: int):
    form = escalate_form(formdata=request.form)

    def action(ticket: Ticket, now: datetime):
        if form.target.data == "vendor":
            services.request_engagement(db.session, ticket, actor=current_user, now=now,
                                        vendor_id=form.vendor_id.data, reason=form.reason.data,
                                        estimated_cost=_cost(form.estimated_cost))
        else:
            services.escalate_manually(db.session, ticket, actor=current_user, now=now,
                                       target=form.target.data, reason=form.reason.data,
                                       group_id=form.group_id.data)

    success = {"group": "Escalated to the expert group.",
               "manager": "The manager was notified.",
               "vendor": "Vendor request sent to the managers for approval."}
    return _ticket_action(ticket_id, "escalate", form, action,
                          success.get(form.target.data, "Escalated."))


def _cost(field) -> str:
    """The typed amount, or a clear error naming the field when it is missing."""
    value = (field.data or "").strip()
    if not value:
        raise ValidationError("Give the estimated cost.", field=field.name)
    return value


def _staff_engagement(engagement_id: int) -> VendorEngagement:
    try:
        return queries.load_visible_engagement(db.session, current_user, engagement_id)
    except NotFound as exc:
        abort(404, exc.message)


@bp.post(ENGAGEMENT + "/verify")
@staff_required
def verify(engagement_id: int):
    engagement = _staff_engagement(engagement_id)
    return _ticket_action(
        engagement.ticket_id, "action", ActionForm(),
        lambda ticket, now: services.verify_fix(db.session, engagement, actor=current_user,
                                                now=now),
        f"{engagement.vendor.name}'s fix verified; the ticket is back with the experts.")


@bp.post(ENGAGEMENT + "/send-back")
@staff_required
def send_back(engagement_id: int):
    engagement = _staff_engagement(engagement_id)
    form = SendBackForm()
    return _ticket_action(
        engagement.ticket_id, "send_back", form,
        lambda ticket, now: services.send_back(db.session, engagement, actor=current_user,
                                               now=now, reason=form.reason.data),
        f"Sent back to {engagement.vendor.name}.")


# --- the vendor's side ------------------------------------------------------------------------

def _vendor_action(engagement_id: int, name: str, form, action, success: str):
    from servicedesk.tickets.views import _act, _load_for_page

    try:
        engagement = queries.load_visible_engagement(db.session, current_user, engagement_id)
    except NotFound as exc:
        abort(404, exc.message)
    ticket = _load_for_page(engagement.ticket_id)
    return _act(ticket, name, form, lambda now: action(engagement, now), success)


@bp.post(ENGAGEMENT + "/acknowledge")
@role_required(Role.vendor)
def acknowledge(engagement_id: int):
    return _vendor_action(
        engagement_id, "action", ActionForm(),
        lambda engagement, now: services.acknowledge_engagement(
            db.session, engagement, actor=current_user, now=now),
        "Accepted: the service desk sees you are on it.")


@bp.post(ENGAGEMENT + "/fix")
@role_required(Role.vendor)
def fix(engagement_id: int):
    form = FixForm()
    return _vendor_action(
        engagement_id, "fix", form,
        lambda engagement, now: services.mark_fixed(
            db.session, engagement, actor=current_user, now=now, notes=form.notes.data,
            actual_cost=(form.actual_cost.data or "").strip()),
        "Reported fixed; the expert will verify it.")


# --- managers: the approval queue --------------------------------------------------------------

@bp.get("/engagements/approvals")
@manager_required
def approvals():
    return _render_approvals()


def _render_approvals(*, failed: tuple[int, DecisionForm] | None = None, http_status: int = 200):
    now = utcnow()
    pending, _ = queries.engagements(db.session, current_user, states=[E.requested],
                                     limit=200, oldest_first=True)
    forms = {e.id: _decision_form(e.id, formdata=None) for e in pending}
    if failed is not None and failed[0] in forms:
        forms[failed[0]] = failed[1]
    elif failed is not None:  # decided meanwhile: no form left to show the error on
        for message in failed[1].form_errors:
            flash(message, "danger")
    recent, _ = queries.engagements(db.session, current_user,
                                    states=[E.approved, E.engaged, E.fixed, E.verified,
                                            E.rejected], limit=20)
    return render_template("escalation/approvals.html", pending=pending, forms=forms,
                           recent=recent, budget=_budget_usage(now), now=now), http_status


def _budget_usage(now: datetime) -> budgets.BudgetUsage | None:
    budget = services.budget_for(db.session, now.date())
    return None if budget is None else budgets.usage(db.session, budget)


def _decision_form(engagement_id: int, **kwargs) -> DecisionForm:
    """One form per request on the page: the prefix keeps their field ids apart."""
    return DecisionForm(prefix=f"e{engagement_id}", **kwargs)


def _decide(engagement_id: int, decide, success: str):
    form = _decision_form(engagement_id)
    engagement = _staff_engagement(engagement_id)
    if form.validate_on_submit():
        try:
            with transaction(db.session):
                decide(engagement, form.note.data, utcnow())
        except (ValidationError, Conflict, InvalidTransition) as exc:
            apply_domain_error(form, exc)
            status = exc.status
        else:
            flash(success.format(ticket=engagement.ticket.number,
                                 vendor=engagement.vendor.name), "success")
            return redirect(url_for("escalation.approvals"))
    else:
        status = 422
    return _render_approvals(failed=(engagement_id, form), http_status=status)


@bp.post(ENGAGEMENT + "/approve")
@manager_required
def approve(engagement_id: int):
    return _decide(engagement_id, lambda e, note, now: services.approve_engagement(
        db.session, e, actor=current_user, now=now, note=note),
        "Approved: {vendor} now works {ticket}.")


@bp.post(ENGAGEMENT + "/reject")
@manager_required
def reject(engagement_id: int):
    return _decide(engagement_id, lambda e, note, now: services.reject_engagement(
        db.session, e, actor=current_user, now=now, note=note),
        "Rejected the request for {vendor} on {ticket}.")

