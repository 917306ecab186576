"""Flask-WTF forms for calendar, holiday, policy, rule and budget admin.

Fields are parsed here; the rules (valid zone, intervals, thresholds...) live in sla/admin.py
and escalation/budgets.py so the API and the pages give the same messages.
"""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField, DecimalField, IntegerField, SelectField, SelectMultipleField, StringField,
)
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from servicedesk.accounts.forms import as_choices, optional_int
from servicedesk.sla.admin import PAUSABLE_STATUSES
from servicedesk.sla.calendar import DAY_NAMES
from servicedesk.sla.defaults import BUSINESS_DAY_MINUTES
from servicedesk.sla.models import ClockKind, EscalationAction

DAY_LABELS = dict(zip(DAY_NAMES, ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday",
                                  "Saturday", "Sunday")))
#: Units of a target: minutes per unit.
UNITS = {"min": 1, "h": 60, "bd": BUSINESS_DAY_MINUTES}
UNIT_CHOICES = as_choices([("min", "minutes"), ("h", "hours"),
                           ("bd", f"business days ({BUSINESS_DAY_MINUTES // 60} h)")])


def day_field(day: str) -> str:
    return f"weekly_{day}"


class CalendarForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired("Name is required."), Length(max=120)])
    timezone = SelectField("Time zone", validate_choice=False)

    def weekly(self) -> dict[str, str]:
        return {day: (self[day_field(day)].data or "").strip() for day in DAY_NAMES}


for _day in DAY_NAMES:
    setattr(CalendarForm, day_field(_day),
            StringField(DAY_LABELS[_day], validators=[Optional(), Length(max=200)]))


class HolidayForm(FlaskForm):
    day = StringField("Date", validators=[DataRequired("Give a date.")])
    name = StringField("Name", validators=[Optional(), Length(max=120)])


class HolidayImportForm(FlaskForm):
    country = StringField("Country code", validators=[DataRequired("Give a country code."),
                                                      Length(max=3)])
    year_from = IntegerField("From year", validators=[InputRequired("Give a year.")])
    year_to = IntegerField("To year", validators=[InputRequired("Give a year.")])


def split_minutes(minutes: int) -> tuple[int, str]:
    """The largest unit that expresses ``minutes`` exactly (for pre-filling the form)."""
    for unit in ("bd", "h"):
        if minutes % UNITS[unit] == 0:
            return minutes // UNITS[unit], unit
    return minutes, "min"


class PolicyForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired("Name is required."), Length(max=120)])
    priority = SelectField("Priority", coerce=optional_int, choices=as_choices(
        [("", "any priority")] + [(p, f"P{p}") for p in (1, 2, 3, 4)]))
    service_id = SelectField("Service", coerce=optional_int)
    category_id = SelectField("Category", coerce=optional_int)
    response_value = IntegerField("Response target", validators=[InputRequired("Required.")])
    response_unit = SelectField("Unit", choices=UNIT_CHOICES, default="min")
    resolution_value = IntegerField("Resolution target",
                                    validators=[InputRequired("Required.")])
    resolution_unit = SelectField("Unit", choices=UNIT_CHOICES, default="h")
    calendar_id = SelectField("Calendar", coerce=optional_int)
    pause_statuses = SelectMultipleField("Statuses that pause the resolution clock",
                                         choices=as_choices((s, s.replace("_", " "))
                                                            for s in PAUSABLE_STATUSES))
    warning_thresholds = StringField("Warning thresholds (%)",
                                     validators=[Optional(), Length(max=40)])
    is_active = BooleanField("Active")

    def minutes(self, which: str) -> int | None:
        value = self[f"{which}_value"].data
        return None if value is None else value * UNITS.get(self[f"{which}_unit"].data, 1)

    def thresholds(self) -> list | str:
        """"50, 75" -> [50, 75]; anything unparsable is passed on for the service to refuse."""
        parts = [p.strip() for p in (self.warning_thresholds.data or "").split(",") if p.strip()]
        return [int(p) if p.lstrip("-").isdigit() else p for p in parts]


class RuleForm(FlaskForm):
    clock_kind = SelectField("Clock", choices=as_choices(
        (k.value, k.label) for k in (ClockKind.response, ClockKind.resolution)))
    threshold = SelectField("At", coerce=int, validate_choice=False)
    action = SelectField("Action", choices=as_choices((a.value, a.label)
                                                      for a in EscalationAction))


class BudgetForm(FlaskForm):
    month = StringField("Month", validators=[DataRequired("Give a month (YYYY-MM).")])
    amount = DecimalField("Amount", places=2, validators=[InputRequired("Give an amount.")])
