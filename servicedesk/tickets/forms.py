"""Flask-WTF forms for the agent pages and the requester portal.

Forms only parse and check shape (required, length, one of the choices); the rules (priority
override needs a reason, assignee must be a group member, allowed transitions) live in the
services, whose ValidationErrors are put back on the form fields by ``apply_domain_error``.
"""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    EmailField, HiddenField, IntegerField, RadioField, SelectField, SelectMultipleField,
    StringField, TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional
from wtforms.widgets import HiddenInput

from servicedesk.accounts.forms import as_choices, choice, optional_int
from servicedesk.errors import DomainError
from servicedesk.sla.queries import SLA_FILTERS
from servicedesk.tickets.models import Channel, ResolutionCode, Status
from servicedesk.tickets.queries import MAX_PER_PAGE, SORTS, VIEWS

TITLE_MAX = 200
TEXT_MAX = 20_000

#: What impact and urgency mean, for staff (the matrix rows and columns).
IMPACT_CHOICES = as_choices([
    (1, "1 · Widespread — many users, a terminal or a whole service"),
    (2, "2 · Significant — a team, a gate or one site"),
    (3, "3 · Minor — one person or one device"),
])
URGENCY_CHOICES = as_choices([
    (1, "1 · Work stopped — nothing can proceed"),
    (2, "2 · Work impaired — a workaround exists, not for long"),
    (3, "3 · Can wait — inconvenient, planned work is fine"),
])
#: The same scale phrased for people who are not in IT (the portal).
LAY_IMPACT_CHOICES = as_choices([
    (3, "Just me"),
    (2, "My team or several colleagues"),
    (1, "Many people, a whole terminal or a public service"),
])
LAY_URGENCY_CHOICES = as_choices([
    (3, "It can wait a few days"),
    (2, "I can still work, but it is hard"),
    (1, "I cannot work at all"),
])
PRIORITY_WORDS = {1: "critical", 2: "high", 3: "moderate", 4: "low"}
VIEW_LABELS = {"mine": "Mine", "group": "My groups", "unassigned": "Unassigned",
               "open": "All open", "all": "All"}
SORT_LABELS = {"priority": "Priority", "newest": "Newest", "oldest": "Oldest",
               "updated": "Recently updated", "due": "Due soonest"}


def _none_choice(label: str = "—") -> list:
    return [choice("", label)]


class VersionedForm(FlaskForm):
    """A form acting on a ticket as the user saw it (optimistic locking)."""

    version = IntegerField(widget=HiddenInput(), validators=[InputRequired()])


# --- staff -------------------------------------------------------------------------------

class QueueFilterForm(FlaskForm):
    """Query-string filters of the queue (GET, so no CSRF token)."""

    class Meta:
        csrf = False

    view = SelectField("View", choices=as_choices((v, VIEW_LABELS[v]) for v in VIEWS),
                       default="open")
    status = SelectMultipleField("Status", choices=as_choices((s.value, s.label) for s in Status))
    priority = SelectMultipleField("Priority", coerce=int,
                                   choices=as_choices((p, f"P{p}") for p in (1, 2, 3, 4)))
    group = IntegerField("Group", validators=[Optional(), NumberRange(min=1)])
    service = IntegerField("Service", validators=[Optional(), NumberRange(min=1)])
    q = StringField("Search", validators=[Optional(), Length(max=200)])
    sort = SelectField("Sort", choices=as_choices((s, SORT_LABELS[s]) for s in SORTS),
                       default="priority")
    sla = SelectField("SLA", default="", choices=as_choices(
        [("", "Any")] + list(SLA_FILTERS.items())))
    page = IntegerField("Page", validators=[Optional(), NumberRange(min=1, max=1_000_000)])
    per_page = IntegerField("Per page", validators=[Optional(),
                                                    NumberRange(min=1, max=MAX_PER_PAGE)])


class IntakeForm(FlaskForm):
    """The agent's phone-call form: caller, classification, priority, problem, assignment."""

    caller_email = EmailField("Caller e-mail", validators=[Optional(), Length(max=254)])
    caller_name = StringField("Caller name", validators=[Optional(), Length(max=120)])
    caller_phone = StringField("Caller phone", validators=[Optional(), Length(max=40)])
    channel = SelectField("Channel",
                          choices=as_choices((c.value, c.value.title()) for c in Channel),
                          default=Channel.phone.value)
    service_id = SelectField("Affected service", coerce=optional_int)
    category_id = SelectField("Category", coerce=optional_int)
    impact = SelectField("Impact", coerce=int, choices=IMPACT_CHOICES, default=3)
    urgency = SelectField("Urgency", coerce=int, choices=URGENCY_CHOICES, default=3)
    priority = SelectField("Priority override", coerce=optional_int)
    priority_reason = StringField("Override reason", validators=[Optional(), Length(max=500)])
    title = StringField("Title", validators=[DataRequired("Title is required."),
                                             Length(max=TITLE_MAX)])
    description = TextAreaField("Description", validators=[
        DataRequired("Description is required."), Length(max=TEXT_MAX)])
    group_id = SelectField("Assignment group", coerce=optional_int)
    assignee_id = SelectField("Assignee", coerce=optional_int)


class TicketEditForm(VersionedForm):
    title = StringField("Title", validators=[DataRequired("Title is required."),
                                             Length(max=TITLE_MAX)])
    description = TextAreaField("Description", validators=[
        DataRequired("Description is required."), Length(max=TEXT_MAX)])
    service_id = SelectField("Affected service", coerce=optional_int)
    category_id = SelectField("Category", coerce=optional_int)
    impact = SelectField("Impact", coerce=int, choices=IMPACT_CHOICES)
    urgency = SelectField("Urgency", coerce=int, choices=URGENCY_CHOICES)
    priority = SelectField("Priority override", coerce=optional_int)
    priority_reason = StringField("Override reason", validators=[Optional(), Length(max=500)])


class AssignForm(VersionedForm):
    group_id = SelectField("Group", coerce=optional_int)
    assignee_id = SelectField("Assignee", coerce=optional_int)


class StatusForm(VersionedForm):
    status = SelectField("New status", validators=[InputRequired()])
    resolution_code = SelectField("Resolution code", default="", choices=_none_choice()
                                  + as_choices((c.value, c.label) for c in ResolutionCode))
    resolution_notes = TextAreaField("Resolution notes", validators=[Optional(),
                                                                     Length(max=TEXT_MAX)])
    comment = TextAreaField("Comment", validators=[Optional(), Length(max=TEXT_MAX)])


class CommentForm(FlaskForm):
    body = TextAreaField("Comment", validators=[DataRequired("Write something first."),
                                                Length(max=TEXT_MAX)])
    visibility = RadioField("Visibility", default="internal", choices=as_choices([
        ("internal", "Internal note (staff only)"),
        ("public", "Public reply (requester sees it)")]))


class PublicCommentForm(FlaskForm):
    """Vendors and requesters: every comment they write is public."""

    body = TextAreaField("Reply", validators=[DataRequired("Write something first."),
                                              Length(max=TEXT_MAX)])


class LinkForm(VersionedForm):
    parent_number = StringField("Parent (major incident)", validators=[Optional(),
                                                                        Length(max=20)])
    duplicate_of_number = StringField("Duplicate of", validators=[Optional(), Length(max=20)])


# --- requester portal ----------------------------------------------------------------------

class PortalTicketForm(FlaskForm):
    title = StringField("What is wrong, in a few words?", validators=[
        DataRequired("Tell us what is wrong."), Length(max=TITLE_MAX)])
    description = TextAreaField("Describe the problem", validators=[
        DataRequired("Please describe the problem."), Length(max=TEXT_MAX)])
    service_id = SelectField("Which service is affected? (optional)", coerce=optional_int)
    impact = RadioField("Who is affected?", coerce=int, choices=LAY_IMPACT_CHOICES, default=3)
    urgency = RadioField("How much does it stop your work?", coerce=int,
                         choices=LAY_URGENCY_CHOICES, default=3)


class PortalStatusForm(VersionedForm):
    status = HiddenField(validators=[InputRequired()])
    comment = TextAreaField("Anything to add? (optional)", validators=[
        Optional(), Length(max=TEXT_MAX)])


# --- helpers -------------------------------------------------------------------------------

#: Service field names -> form field names where they differ.
FIELD_ALIASES = {
    "email": "caller_email", "name": "caller_name", "phone": "caller_phone",
    "parent_id": "parent_number", "duplicate_of_id": "duplicate_of_number",
    "body": "body",
}


def apply_domain_error(form: FlaskForm, exc: DomainError) -> None:
    """Put a service error on the fields it names, or on the form as a whole."""
    placed = False
    for name, message in exc.fields.items():
        field = getattr(form, FIELD_ALIASES.get(name, name), None)
        if field is None or not hasattr(field, "errors") or _is_hidden(field):
            continue
        # ValidationError(field=...) stores its message; other errors store a terse token.
        text = message if message == exc.message or len(exc.fields) > 1 else exc.message
        if isinstance(field.errors, tuple):
            field.errors = list(field.errors)
        field.errors.append(text)
        placed = True
    if not placed:
        form.form_errors.append(exc.message)


def _is_hidden(field) -> bool:
    return isinstance(field.widget, HiddenInput) or field.type == "HiddenField"


def set_choices(field, rows, label=lambda r: r.name, *, blank: str | None = "—") -> None:
    """Fill a select from model rows (value = id), with an optional empty first choice."""
    field.choices = (_none_choice(blank) if blank is not None else []) + as_choices(
        (r.id, label(r)) for r in rows)


def priority_choices(blank: str = "Use the matrix") -> list:
    return _none_choice(blank) + as_choices((p, f"P{p} · {PRIORITY_WORDS[p]}")
                                            for p in (1, 2, 3, 4))
