"""Flask-WTF forms for accounts: login, profile and tokens, user/group/vendor administration."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField, DecimalField, EmailField, IntegerField, PasswordField, SelectField,
    SelectMultipleField, StringField, TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional, Regexp

from servicedesk.accounts.models import Role
from servicedesk.accounts.services import EMAIL_RE


try:  # WTForms >= 3.3 wants SelectChoice objects; older versions take tuples
    from wtforms.fields.choices import SelectChoice
except ImportError:  # pragma: no cover
    SelectChoice = None


def choice(value, label, render_kw: dict | None = None):
    """One option of a select or radio field, for any WTForms 3.x."""
    if SelectChoice is None:
        return (value, label, render_kw) if render_kw else (value, label)
    return SelectChoice(value, label, render_kw or {})


def as_choices(pairs) -> list:
    """``[(value, label[, render_kw]), ...]`` -> options for a select or radio field."""
    return [choice(*p) for p in pairs]


def optional_int(value):
    """Coerce a select's value: "" (no choice) -> None, digits -> int, else ValueError."""
    if value is None or value == "" or value == "None":
        return None
    if isinstance(value, int):
        return value
    return int(value)


VALID_EMAIL = Regexp(EMAIL_RE, message="Enter a valid e-mail address.")
ROLE_CHOICES = as_choices((r.value, r.value) for r in Role)
TIER_CHOICES = as_choices([(1, "1 · Service desk"), (2, "2 · Experts"), (3, "3 · Vendor")])


class LoginForm(FlaskForm):
    email = EmailField("E-mail", validators=[DataRequired(), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=200)])
    remember = BooleanField("Keep me signed in")


class TokenForm(FlaskForm):
    name = StringField("Token name", validators=[DataRequired("Give the token a name."),
                                                 Length(max=80)])


class ProfileForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired("Name is required."), Length(max=120)])
    timezone = SelectField("Time zone", validate_choice=False,
                           validators=[DataRequired(), Length(max=64)])


class ActionForm(FlaskForm):
    """A button that only needs the CSRF token (revoke, deactivate, reactivate)."""


class UserForm(FlaskForm):
    """Create (email, password required) or edit (email fixed, password optional) a user."""

    email = EmailField("E-mail", validators=[Optional(), Length(max=254)])
    name = StringField("Name", validators=[DataRequired("Name is required."), Length(max=120)])
    role = SelectField("Role", choices=ROLE_CHOICES, default=Role.agent.value)
    phone = StringField("Phone", validators=[Optional(), Length(max=40)])
    vendor_id = SelectField("Vendor (vendor users only)", coerce=optional_int)
    groups = SelectMultipleField("Groups", coerce=int)
    password = PasswordField("Password", validators=[Optional(), Length(
        min=8, max=200, message="Passwords need at least 8 characters (200 at most).")])


class GroupMembersForm(FlaskForm):
    """What can change on an existing group."""

    description = TextAreaField("Description", validators=[Optional(), Length(max=2000)])
    dispatcher_id = SelectField("Dispatcher", coerce=optional_int)
    manager_id = SelectField("Manager", coerce=optional_int)
    members = SelectMultipleField("Members", coerce=int)


class GroupForm(GroupMembersForm):
    """A new group: its name and tier are fixed once created."""

    name = StringField("Name", validators=[DataRequired("Name is required."), Length(max=120)])
    tier = SelectField("Tier", coerce=int, choices=TIER_CHOICES, default=1)


class VendorForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired("Name is required."), Length(max=120)])
    contact_email = EmailField("Contact e-mail", validators=[
        Optional(), VALID_EMAIL, Length(max=254)])
    cost_model = SelectField("Cost model", choices=as_choices([
        ("fixed", "Fixed price per engagement"), ("hourly", "Hourly rate")]))
    rate = DecimalField("Rate", places=2, default=0,
                        validators=[Optional(), NumberRange(min=0, max=10_000_000)])
    ola_response_minutes = IntegerField("OLA response (minutes)", default=60,
                                        validators=[Optional(), NumberRange(min=1, max=100_000)])
    ola_fix_minutes = IntegerField("OLA fix (minutes)", default=480,
                                   validators=[Optional(), NumberRange(min=1, max=1_000_000)])
