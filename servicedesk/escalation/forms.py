"""Forms of the escalation pages: manual escalation, the manager's decision, the vendor's work.

Forms check shape only; the rules (a reason is required, costs are amounts within range, the
budget must cover an approval) live in escalation/services.py, whose errors are put back on
these fields by ``tickets.forms.apply_domain_error``.
"""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional

from servicedesk.accounts.forms import as_choices, optional_int

REASON_MAX = 5000
COST_MAX_CHARS = 20

#: Manual escalation targets, as offered on the ticket page.
TARGETS = {"group": "Expert group (functional)", "manager": "Manager (hierarchical)",
           "vendor": "Paid vendor (needs a manager's approval)"}


class EscalateForm(FlaskForm):
    target = RadioField("Escalate to", default="group",
                        choices=as_choices(TARGETS.items()),
                        validators=[InputRequired("Choose where to escalate.")])
    group_id = SelectField("Expert group", coerce=optional_int)
    vendor_id = SelectField("Vendor", coerce=optional_int)
    estimated_cost = StringField("Estimated cost", validators=[Optional(),
                                                               Length(max=COST_MAX_CHARS)])
    reason = TextAreaField("Reason", validators=[InputRequired("Give a reason."),
                                                 Length(max=REASON_MAX)])


class ActionForm(FlaskForm):
    """A button that only needs the CSRF token (acknowledge, verify)."""


class DecisionForm(FlaskForm):
    """A manager approves (note optional) or rejects (note required) a vendor request."""

    note = TextAreaField("Note", validators=[Optional(), Length(max=REASON_MAX)])


class FixForm(FlaskForm):
    notes = TextAreaField("What was done", validators=[InputRequired("Describe the fix."),
                                                       Length(max=REASON_MAX)])
    actual_cost = StringField("Actual cost", validators=[InputRequired("Give the actual cost."),
                                                         Length(max=COST_MAX_CHARS)])


class SendBackForm(FlaskForm):
    reason = TextAreaField("Why it is not fixed", validators=[
        InputRequired("Give a reason."), Length(max=REASON_MAX)])
