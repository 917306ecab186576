"""Forms for the survey answer and the stand-alone unmet-request log."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import RadioField, SelectField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from servicedesk.accounts.forms import as_choices
from servicedesk.feedback.models import UnmetCategory
from servicedesk.feedback.services import COMMENT_MAX, UNMET_MAX

SCORE_CHOICES = as_choices([(5, "5 · Very satisfied"), (4, "4 · Satisfied"), (3, "3 · Neutral"),
                            (2, "2 · Dissatisfied"), (1, "1 · Very dissatisfied")])
#: (value, label) pairs, also listed by the intake form's unmet-request partial.
UNMET_CHOICES = [(c.value, c.label) for c in UnmetCategory]


class SurveyForm(FlaskForm):
    score = RadioField("How satisfied are you with how we handled your request?",
                       choices=SCORE_CHOICES, coerce=int,
                       validators=[InputRequired("Choose a score from 1 to 5.")])
    comment = TextAreaField("Anything you want to tell us? (optional)",
                            validators=[Optional(), Length(max=COMMENT_MAX)])


class UnmetForm(FlaskForm):
    unmet_category = SelectField("Kind of request", choices=as_choices(UNMET_CHOICES),
                                 validators=[DataRequired()])
    unmet_description = TextAreaField("What did the caller ask for?",
                                      validators=[DataRequired("Say what the caller asked for."),
                                                  Length(max=UNMET_MAX)])
