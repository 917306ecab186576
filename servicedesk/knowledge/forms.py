"""Flask-WTF forms of the knowledge pages (shape only; the rules live in the services)."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField, HiddenField, IntegerField, SelectField, SelectMultipleField, StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional
from wtforms.widgets import HiddenInput

from servicedesk.accounts.forms import as_choices
from servicedesk.knowledge import services
from servicedesk.knowledge.models import Audience

LANGUAGES = {"en": "English", "zh": "中文 (Chinese)"}
AUDIENCE_CHOICES = as_choices([
    (Audience.internal.value, "Internal — service-desk staff only"),
    (Audience.public.value, "Public — requesters can find it in the portal"),
])
STATUS_LABELS = {"published": "Published", "in_review": "In review", "draft": "Draft",
                 "retired": "Retired"}
#: Workflow buttons: action -> (label, button class).
WORKFLOW_ACTIONS = {
    "submit": ("Submit for review", "btn-outline-primary"),
    "send_back": ("Send back to the author", "btn-outline-secondary"),
    "publish": ("Publish", "btn-success"),
    "retire": ("Retire", "btn-outline-danger"),
}


class SearchForm(FlaskForm):
    """Query-string filters of the search page (GET, no CSRF token)."""

    class Meta:
        csrf = False

    q = StringField("Search", validators=[Optional(), Length(max=services.QUERY_MAX)])
    service = SelectMultipleField("Service", choices=[], validate_choice=False)
    language = SelectField("Language", choices=as_choices(
        [("", "Any language"), *LANGUAGES.items()]), default="")
    known = BooleanField("Known errors only")
    status = SelectMultipleField("Status", choices=as_choices(STATUS_LABELS.items()))
    page = IntegerField("Page", validators=[Optional(), NumberRange(min=1, max=100)])


class ArticleForm(FlaskForm):
    title = StringField("Title", validators=[DataRequired("Title is required."),
                                             Length(max=services.TITLE_MAX)])
    symptoms = TextAreaField("Symptoms", validators=[Length(max=services.TEXT_MAX)],
                             description="What the caller sees or says, in their words.")
    cause = TextAreaField("Cause", validators=[Length(max=services.TEXT_MAX)])
    resolution = TextAreaField("Resolution / workaround", validators=[
        Length(max=services.TEXT_MAX)],
        description="The steps the desk follows. Shown inline in suggestions.")
    body = TextAreaField("More detail", validators=[Length(max=services.TEXT_MAX)])
    tags = StringField("Tags", validators=[Length(max=800)],
                       description="Comma-separated, e.g. printer, gate, jam")
    language = SelectField("Language", choices=as_choices(LANGUAGES.items()), default="en")
    audience = SelectField("Audience", choices=AUDIENCE_CHOICES,
                           default=Audience.internal.value)
    service_ids = SelectMultipleField("Related services", coerce=int, choices=[])
    is_known_error = BooleanField("Known error (a workaround for a known root cause)")
    is_must_read = BooleanField("Must read: push to the desk until acknowledged")
    must_read_group_ids = SelectMultipleField("Must-read groups (none: every agent, expert "
                                              "and manager)", coerce=int, choices=[])
    note = StringField("Edit note", validators=[Length(max=services.NOTE_MAX)],
                       description="Why you changed it (kept in the history).")
    version = IntegerField(widget=HiddenInput(), validators=[Optional()])

    def service_data(self) -> dict:
        """The fields as the article services take them."""
        return dict(title=self.title.data, symptoms=self.symptoms.data, cause=self.cause.data,
                    resolution=self.resolution.data, body=self.body.data,
                    tags=self.tags.data or "", language=self.language.data,
                    audience=self.audience.data, service_ids=list(self.service_ids.data or []),
                    is_known_error=bool(self.is_known_error.data),
                    is_must_read=bool(self.is_must_read.data),
                    must_read_group_ids=list(self.must_read_group_ids.data or []))


class VersionedActionForm(FlaskForm):
    """A button acting on the article as the user saw it."""

    version = IntegerField(widget=HiddenInput(), validators=[InputRequired()])


class WorkflowForm(VersionedActionForm):
    action = HiddenField(validators=[InputRequired()])


class VoteForm(FlaskForm):
    helpful = SelectField(choices=as_choices([("yes", "Helpful"), ("no", "Not helpful")]),
                          validators=[InputRequired()])


class ActionForm(FlaskForm):
    """A bare POST button (CSRF only)."""


class TicketArticleForm(FlaskForm):
    """Link an article to a ticket, or resolve the ticket with it."""

    article_id = IntegerField(validators=[InputRequired(), NumberRange(min=1)])
    version = IntegerField(validators=[Optional()])


class DeflectionForm(FlaskForm):
    """Portal: "this solved it" for an article found with ``q``."""

    article_id = IntegerField(validators=[InputRequired(), NumberRange(min=1)])
    q = StringField(validators=[DataRequired("What did you search for?"),
                                Length(max=services.QUERY_MAX)])
