"""SLA administration pages under /admin/sla: calendars and holidays, policies and their
escalation rules, vendor budgets, scheduler status. Managers and admins only.

Also the staff banner that warns when the SLA sweep's heartbeat is stale (a context processor,
computed at most once per request and only when a template is rendered).
"""
from __future__ import annotations

from flask import (
    Blueprint, current_app, flash, g, has_request_context, redirect, render_template, request,
    url_for,
)
from flask_login import current_user
from sqlalchemy.exc import SQLAlchemyError

from servicedesk.accounts.admin import time_zones
from servicedesk.accounts.forms import as_choices
from servicedesk.accounts.models import Role
from servicedesk.catalog.services import active_categories, active_services
from servicedesk.clock import utcnow
from servicedesk.db import transaction
from servicedesk.errors import DomainError, NotFound
from servicedesk.escalation import budgets
from servicedesk.extensions import db
from servicedesk.sla import admin, heartbeat
from servicedesk.sla.calendar import DAY_NAMES
from servicedesk.sla.forms import (
    BudgetForm, CalendarForm, HolidayForm, HolidayImportForm, PolicyForm, RuleForm, day_field,
    split_minutes,
)
from servicedesk.sla.models import Calendar, SLAPolicy
from servicedesk.tickets.forms import apply_domain_error
from servicedesk.web.auth import role_required

bp = Blueprint("sla_admin", __name__, url_prefix="/admin/sla")

sla_admin_required = role_required(Role.manager, Role.admin)

#: Service error fields -> form field names where they differ.
FIELD_MAP = {**{f"weekly.{d}": day_field(d) for d in DAY_NAMES}, "weekly": day_field("mon"),
             "response_minutes": "response_value", "resolution_minutes": "resolution_value"}


def _place_error(form, exc: DomainError) -> None:
    exc.fields = {FIELD_MAP.get(k, k): v for k, v in exc.fields.items()}
    apply_domain_error(form, exc)


def _load(model, object_id: int):
    obj = db.session.get(model, object_id)
    if obj is None:
        raise NotFound(f"{model.__name__} {object_id} not found.")
    return obj


# --- heartbeat banner ------------------------------------------------------------------------

@bp.app_context_processor
def _heartbeat_banner() -> dict:
    """``sla_outage`` for the banner: staff only, one lookup per request (cached on ``g``)."""
    if not has_request_context() or not (current_user.is_authenticated
                                         and current_user.is_staff):
        return {}  # e-mails rendered by jobs, anonymous pages, requesters, vendors
    if "sla_outage" not in g:
        try:
            g.sla_outage = heartbeat.sweep_outage(db.session, now=utcnow(),
                                                  config=current_app.config)
        except SQLAlchemyError:  # the database is down: the error page must still render
            current_app.logger.exception("heartbeat lookup failed")
            g.sla_outage = None
    return {"sla_outage": g.sla_outage}


@bp.route("/scheduler")
@sla_admin_required
def scheduler():
    jobs = heartbeat.all_jobs(db.session, now=utcnow(), config=current_app.config)
    return render_template("sla/scheduler.html", jobs=jobs, factor=heartbeat.STALE_FACTOR)


# --- calendars -------------------------------------------------------------------------------

def _calendar_form(formdata=None, calendar: Calendar | None = None) -> CalendarForm:
    data = None
    if calendar is not None:
        data = {"name": calendar.name, "timezone": calendar.timezone,
                **{day_field(d): ", ".join(calendar.weekly.get(d) or []) for d in DAY_NAMES}}
    form = CalendarForm(formdata=formdata, data=data)
    form.timezone.choices = list(time_zones())
    return form


@bp.route("/calendars", methods=["GET", "POST"])
@sla_admin_required
def calendars():
    posted = request.method == "POST"
    form = _calendar_form(request.form if posted else None)
    if not posted:
        form.timezone.data = "UTC"
    if posted and form.validate_on_submit():
        try:
            with transaction(db.session):
                cal = admin.create_calendar(db.session, actor=current_user, name=form.name.data,
                                            timezone=form.timezone.data, weekly=form.weekly())
        except DomainError as exc:
            _place_error(form, exc)
        else:
            flash(f"Calendar {cal.name} created.", "success")
            return redirect(url_for("sla_admin.calendar", calendar_id=cal.id))
    return render_template("sla/calendars.html", form=form, days=DAY_NAMES,
                           calendars=admin.list_calendars(db.session)), 422 if posted else 200


def _render_calendar(cal: Calendar, *, form=None, holiday_form=None, import_form=None,
                     preview=None, status: int = 200):
    return render_template(
        "sla/calendar.html", calendar=cal, days=DAY_NAMES,
        form=form or _calendar_form(calendar=cal),
        holiday_form=holiday_form or HolidayForm(formdata=None),
        import_form=import_form or HolidayImportForm(formdata=None, data={
            "year_from": utcnow().year, "year_to": utcnow().year}),
        preview=preview, users=admin.calendar_users(db.session, cal),
        week=admin.week_preview(cal, utcnow())), status


@bp.route("/calendars/<int:calendar_id>", methods=["GET", "POST"])
@sla_admin_required
def calendar(calendar_id: int):
    cal = _load(Calendar, calendar_id)
    if request.method == "GET":
        return _render_calendar(cal)
    admin.require_editable(cal)  # no form on the built-in calendar's page: flash instead
    form = _calendar_form(request.form)
    if form.validate_on_submit():
        try:
            with transaction(db.session):
                admin.update_calendar(db.session, cal, actor=current_user, name=form.name.data,
                                      timezone=form.timezone.data, weekly=form.weekly(),
                                      now=utcnow())
        except DomainError as exc:
            _place_error(form, exc)
        else:
            flash(f"Calendar {cal.name} saved; running clocks count with it from now on.",
                  "success")
            return redirect(url_for("sla_admin.calendar", calendar_id=cal.id))
    return _render_calendar(_load(Calendar, calendar_id), form=form, status=422)


@bp.post("/calendars/<int:calendar_id>/delete")
@sla_admin_required
def delete_calendar(calendar_id: int):
    cal = _load(Calendar, calendar_id)
    name = cal.name
    with transaction(db.session):
        admin.delete_calendar(db.session, cal, actor=current_user)
    flash(f"Calendar {name} deleted.", "success")
    return redirect(url_for("sla_admin.calendars"))


@bp.post("/calendars/<int:calendar_id>/holidays")
@sla_admin_required
def add_holiday(calendar_id: int):
    cal = _load(Calendar, calendar_id)
    form = HolidayForm()
    if form.validate_on_submit():
        try:
            with transaction(db.session):
                admin.add_holiday(db.session, cal, actor=current_user, day=form.day.data,
                                  name=form.name.data, now=utcnow())
        except DomainError as exc:
            _place_error(form, exc)
        else:
            flash(f"Holiday {form.day.data} added.", "success")
            return redirect(url_for("sla_admin.calendar", calendar_id=cal.id) + "#holidays")
    return _render_calendar(_load(Calendar, calendar_id), holiday_form=form, status=422)


@bp.post("/calendars/<int:calendar_id>/holidays/<day>/delete")
@sla_admin_required
def remove_holiday(calendar_id: int, day: str):
    cal = _load(Calendar, calendar_id)
    with transaction(db.session):
        admin.remove_holiday(db.session, cal, actor=current_user, day=day, now=utcnow())
    flash(f"Holiday {day} removed.", "success")
    return redirect(url_for("sla_admin.calendar", calendar_id=cal.id) + "#holidays")


@bp.route("/calendars/<int:calendar_id>/holidays/import", methods=["GET", "POST"])
@sla_admin_required
def import_holidays(calendar_id: int):
    """GET with the form's fields previews (how many days, which are new); POST imports."""
    cal = _load(Calendar, calendar_id)
    posted = request.method == "POST"
    form = HolidayImportForm(formdata=request.form if posted else request.args,
                             meta={} if posted else {"csrf": False})  # a GET preview: no token
    if form.validate():
        try:
            if posted:
                with transaction(db.session):
                    result = admin.import_holidays(
                        db.session, cal, actor=current_user, country=form.country.data,
                        year_from=form.year_from.data, year_to=form.year_to.data, now=utcnow())
                flash(f"Imported {len(result.new_days)} holidays of {result.country} "
                      f"({len(result.existing)} already there).", "success")
                return redirect(url_for("sla_admin.calendar", calendar_id=cal.id) + "#holidays")
            preview = admin.preview_import(cal, country=form.country.data,
                                           year_from=form.year_from.data,
                                           year_to=form.year_to.data)
            return _render_calendar(cal, import_form=form, preview=preview)
        except DomainError as exc:
            _place_error(form, exc)
    return _render_calendar(_load(Calendar, calendar_id), import_form=form, status=422)


# --- policies ----------------------------------------------------------------------------------

def _policy_form(formdata=None, policy: SLAPolicy | None = None) -> PolicyForm:
    data = {"pause_statuses": list(admin.DEFAULT_PAUSE_STATUSES), "is_active": True,
            "warning_thresholds": ", ".join(map(str, admin.DEFAULT_THRESHOLDS))}
    if policy is not None:
        rv, ru = split_minutes(policy.response_minutes)
        sv, su = split_minutes(policy.resolution_minutes)
        data = {"name": policy.name, "priority": policy.priority,
                "service_id": policy.service_id, "category_id": policy.category_id,
                "response_value": rv, "response_unit": ru, "resolution_value": sv,
                "resolution_unit": su, "calendar_id": policy.calendar_id,
                "pause_statuses": list(policy.pause_statuses), "is_active": policy.is_active,
                "warning_thresholds": ", ".join(map(str, policy.warning_thresholds))}
    form = PolicyForm(formdata=formdata, data=data)
    form.service_id.choices = as_choices([("", "any service")] + [
        (s.id, s.name) for s in active_services(db.session)])
    form.category_id.choices = as_choices([("", "any category")] + [
        (c.id, c.name) for c in active_categories(db.session)])
    form.calendar_id.choices = as_choices((c.id, c.name) for c in admin.list_calendars(db.session))
    return form


def _policy_fields(form: PolicyForm) -> admin.PolicyFields:
    return admin.PolicyFields(
        name=form.name.data, priority=form.priority.data, service_id=form.service_id.data,
        category_id=form.category_id.data, response_minutes=form.minutes("response"),
        resolution_minutes=form.minutes("resolution"), calendar_id=form.calendar_id.data,
        pause_statuses=form.pause_statuses.data, warning_thresholds=form.thresholds(),
        is_active=bool(form.is_active.data))


@bp.route("/policies")
@sla_admin_required
def policies():
    return render_template("sla/policies.html", policies=admin.list_policies(db.session),
                           versions=admin.list_policies(db.session, versions=True),
                           scope=admin.policy_scope, target=admin.format_target)


@bp.route("/policies/new", methods=["GET", "POST"])
@sla_admin_required
def new_policy():
    posted = request.method == "POST"
    form = _policy_form(request.form if posted else None)
    if posted and form.validate_on_submit():
        try:
            with transaction(db.session):
                policy = admin.save_policy(db.session, None, _policy_fields(form),
                                           actor=current_user, now=utcnow())
        except DomainError as exc:
            _place_error(form, exc)
        else:
            flash(f"Policy {policy.name} created; it applies to tickets logged from now on.",
                  "success")
            return redirect(url_for("sla_admin.policy", policy_id=policy.id))
    return render_template("sla/policy.html", form=form, policy=None), 422 if posted else 200


def _render_policy(policy: SLAPolicy, *, form=None, rule_form=None, status: int = 200):
    rule_form = rule_form or RuleForm(formdata=None)
    rule_form.threshold.choices = as_choices((t, f"{t} %" if t < 100 else "100 % (breach)")
                                             for t in policy.thresholds)
    return render_template("sla/policy.html", policy=policy,
                           form=form or _policy_form(policy=policy), rule_form=rule_form,
                           target=admin.format_target), status


@bp.route("/policies/<int:policy_id>", methods=["GET", "POST"])
@sla_admin_required
def policy(policy_id: int):
    policy = _load(SLAPolicy, policy_id)
    if request.method == "GET":
        return _render_policy(policy)
    form = _policy_form(request.form)
    if form.validate_on_submit():
        try:
            with transaction(db.session):
                admin.save_policy(db.session, policy, _policy_fields(form), actor=current_user,
                                  now=utcnow())
        except DomainError as exc:
            _place_error(form, exc)
        else:
            flash(f"Policy {policy.name} saved.", "success")
            return redirect(url_for("sla_admin.policy", policy_id=policy.id))
    return _render_policy(_load(SLAPolicy, policy_id), form=form, status=422)


@bp.post("/policies/<int:policy_id>/rules")
@sla_admin_required
def add_rule(policy_id: int):
    policy = _load(SLAPolicy, policy_id)
    form = RuleForm()
    form.threshold.choices = as_choices((t, str(t)) for t in policy.thresholds)
    if form.validate_on_submit():
        try:
            with transaction(db.session):
                admin.add_rule(db.session, policy, actor=current_user,
                               clock_kind=form.clock_kind.data, threshold=form.threshold.data,
                               action=form.action.data, now=utcnow())
        except DomainError as exc:
            _place_error(form, exc)
        else:
            flash("Escalation rule added.", "success")
            return redirect(url_for("sla_admin.policy", policy_id=policy.id) + "#rules")
    return _render_policy(_load(SLAPolicy, policy_id), rule_form=form, status=422)


@bp.post("/policies/<int:policy_id>/rules/<int:rule_id>/delete")
@sla_admin_required
def remove_rule(policy_id: int, rule_id: int):
    policy = _load(SLAPolicy, policy_id)
    with transaction(db.session):
        admin.remove_rule(db.session, policy, rule_id, actor=current_user, now=utcnow())
    flash("Escalation rule removed.", "success")
    return redirect(url_for("sla_admin.policy", policy_id=policy.id) + "#rules")


# --- budgets -----------------------------------------------------------------------------------

@bp.route("/budgets", methods=["GET", "POST"])
@sla_admin_required
def budget_list():
    posted = request.method == "POST"
    form = BudgetForm(formdata=request.form if posted else None)
    if not posted:
        form.month.data = f"{utcnow():%Y-%m}"
    if posted and form.validate_on_submit():
        try:
            with transaction(db.session):
                budget = budgets.set_month_budget(db.session, actor=current_user,
                                                  month=form.month.data,
                                                  amount=form.amount.data)
        except DomainError as exc:
            _place_error(form, exc)
        else:
            flash(f"Budget for {budget.period_start:%Y-%m} set to {budget.amount}.", "success")
            return redirect(url_for("sla_admin.budget_list"))
    return render_template("sla/budgets.html", form=form, rows=budgets.overview(db.session),
                           this_month=f"{utcnow():%Y-%m}"), 422 if posted else 200
