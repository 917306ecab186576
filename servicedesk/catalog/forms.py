"""Flask-WTF forms for the catalog admin pages: the priority matrix, services, categories."""
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from servicedesk.accounts.forms import as_choices, optional_int
from servicedesk.tickets.priority import LEVELS, PRIORITIES

PRIORITY_CHOICES = as_choices((p, f"P{p}") for p in PRIORITIES)
CRITICALITY_CHOICES = as_choices([(1, "1 · Critical"), (2, "2 · High"), (3, "3 · Normal")])


def cell_name(impact: int, urgency: int) -> str:
    return f"cell_{impact}_{urgency}"


class MatrixForm(FlaskForm):
    """Nine selects, ``cell_<impact>_<urgency>``, each P1..P4."""

    def cells(self) -> dict[tuple[int, int], int]:
        return {(i, u): self[cell_name(i, u)].data for i in LEVELS for u in LEVELS}


for _i in LEVELS:
    for _u in LEVELS:
        setattr(MatrixForm, cell_name(_i, _u),
                SelectField(f"Impact {_i} × urgency {_u}", coerce=int, choices=PRIORITY_CHOICES))


class ServiceForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired("Name is required."), Length(max=120)])
    description = TextAreaField("Description", validators=[Optional(), Length(max=2000)])
    criticality = SelectField("Criticality", coerce=int, choices=CRITICALITY_CHOICES, default=3)
    expert_group_id = SelectField("Expert group (tier 2)", coerce=optional_int)


class CategoryForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired("Name is required."), Length(max=120)])
