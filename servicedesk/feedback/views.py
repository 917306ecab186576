"""Survey pages (by e-mailed token without login, or in the portal for the logged-in
requester) and the agents' stand-alone unmet-request form."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_login import current_user

from servicedesk.accounts.models import Role
from servicedesk.clock import utcnow
from servicedesk.db import transaction
from servicedesk.errors import ValidationError
from servicedesk.extensions import db
from servicedesk.feedback import services
from servicedesk.feedback.forms import UNMET_CHOICES, SurveyForm, UnmetForm
from servicedesk.feedback.models import Survey
from servicedesk.tickets.forms import apply_domain_error
from servicedesk.web.auth import role_required, staff_required

bp = Blueprint("feedback", __name__)


@bp.record_once
def _globals(state) -> None:
    # the intake form's optional unmet-request partial lists the categories
    state.app.jinja_env.globals["UNMET_CHOICES"] = UNMET_CHOICES
    # the portal's ticket page asks for the survey answer where one is open
    state.app.jinja_env.globals["open_survey_for"] = open_survey_for


def open_survey_for(ticket_id: int) -> Survey | None:
    """The logged-in requester's unanswered, unexpired survey of this ticket, else None."""
    if not current_user.is_authenticated or current_user.role is not Role.requester:
        return None
    found = services.survey_for_ticket(db.session, current_user, ticket_id)
    if found is None or found.answered_at is not None or found.expires_at <= utcnow():
        return None
    return found


def _answer(survey: Survey, done_url: str):
    """Show or take the one answer; expired/answered surveys say so (410)."""
    now = utcnow()
    form = SurveyForm()
    try:
        services.check_open(survey, now)
    except services.SurveyClosed as exc:
        return render_template("feedback/survey.html", survey=survey, form=None,
                               closed=exc.message), 410
    if form.validate_on_submit():
        try:
            with transaction(db.session):
                services.answer_survey(db.session, survey, score=form.score.data,
                                       comment=form.comment.data, now=now)
        except ValidationError as exc:
            apply_domain_error(form, exc)
        else:
            flash("Thank you: your answer was recorded.", "success")
            return redirect(done_url)
    status = 422 if form.is_submitted() else 200
    return render_template("feedback/survey.html", survey=survey, form=form, closed=None), status


@bp.route("/surveys/<token>", methods=["GET", "POST"])
def survey(token: str):
    found = services.survey_for_token(db.session, token)
    if found is None:
        abort(404)
    return _answer(found, url_for("feedback.survey", token=token))


@bp.get("/portal/surveys")
@role_required(Role.requester)
def portal_surveys():
    return render_template("feedback/surveys.html",
                           surveys=services.open_surveys(db.session, current_user, utcnow()))


@bp.route("/portal/surveys/<int:ticket_id>", methods=["GET", "POST"])
@role_required(Role.requester)
def portal_survey(ticket_id: int):
    found = services.survey_for_ticket(db.session, current_user, ticket_id)
    if found is None:
        abort(404)
    return _answer(found, url_for("feedback.portal_surveys"))


@bp.route("/unmet/new", methods=["GET", "POST"])
@staff_required
def unmet_new():
    form = UnmetForm()
    if form.validate_on_submit():
        try:
            with transaction(db.session):
                services.record_unmet(db.session, actor=current_user,
                                      category=form.unmet_category.data,
                                      description=form.unmet_description.data, now=utcnow())
        except ValidationError as exc:
            apply_domain_error(form, exc)
        else:
            flash("Unmet request recorded. Thank you: this is how the service learns.",
                  "success")
            return redirect(url_for("feedback.unmet_new"))
    status = 422 if form.is_submitted() else 200
    return render_template("feedback/unmet_new.html", form=form), status
