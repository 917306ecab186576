"""Catalog administration pages: the impact x urgency matrix, services, categories.

Managers and admins only; each page lists what exists and creates one more.
"""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for

from servicedesk.accounts.forms import as_choices
from servicedesk.accounts.models import Group, Role
from servicedesk.catalog import services as catalog
from servicedesk.catalog.forms import CategoryForm, MatrixForm, ServiceForm, cell_name
from servicedesk.db import transaction
from servicedesk.errors import Conflict, ValidationError
from servicedesk.extensions import db
from servicedesk.tickets.forms import apply_domain_error
from servicedesk.tickets.priority import LEVELS
from servicedesk.tickets.queries import assignable_groups
from servicedesk.web.auth import role_required

bp = Blueprint("catalog", __name__, url_prefix="/admin")

catalog_admin = role_required(Role.manager, Role.admin)


@bp.route("/matrix", methods=["GET", "POST"])
@catalog_admin
def matrix():
    if request.method == "POST":
        form = MatrixForm()
        if form.validate_on_submit():
            try:
                with transaction(db.session):
                    catalog.set_matrix(db.session, form.cells())
            except ValidationError as exc:
                apply_domain_error(form, exc)
            else:
                flash("Priority matrix saved. New tickets and re-classified ones use it.",
                      "success")
                return redirect(url_for("catalog.matrix"))
        status = 422
    else:
        current = catalog.load_matrix(db.session)
        form = MatrixForm(formdata=None, data={cell_name(i, u): current[(i, u)]
                                               for i in LEVELS for u in LEVELS})
        status = 200
    return render_template("catalog/matrix.html", form=form, levels=LEVELS,
                           cell_name=cell_name), status


def _service_form(formdata=None) -> ServiceForm:
    form = ServiceForm(formdata=formdata)
    form.expert_group_id.choices = as_choices([("", "—")] + [
        (g.id, f"{g.name} (tier {g.tier})") for g in assignable_groups(db.session)])
    return form


@bp.route("/services", methods=["GET", "POST"])
@catalog_admin
def services():
    form = _service_form(request.form if request.method == "POST" else None)
    if request.method == "POST" and form.validate_on_submit():
        group_id = form.expert_group_id.data
        try:
            with transaction(db.session):
                service = catalog.create_service(
                    db.session, name=form.name.data,
                    description=(form.description.data or "").strip(),
                    criticality=form.criticality.data,
                    expert_group=db.session.get(Group, group_id) if group_id else None)
        except (ValidationError, Conflict) as exc:
            apply_domain_error(form, exc)
        else:
            flash(f"Service {service.name} created.", "success")
            return redirect(url_for("catalog.services"))
    status = 422 if request.method == "POST" else 200
    return render_template("catalog/services.html", form=form,
                           services=catalog.active_services(db.session)), status


@bp.route("/categories", methods=["GET", "POST"])
@catalog_admin
def categories():
    form = CategoryForm(formdata=request.form if request.method == "POST" else None)
    if request.method == "POST" and form.validate_on_submit():
        try:
            with transaction(db.session):
                category = catalog.create_category(db.session, name=form.name.data)
        except (ValidationError, Conflict) as exc:
            apply_domain_error(form, exc)
        else:
            flash(f"Category {category.name} created.", "success")
            return redirect(url_for("catalog.categories"))
    status = 422 if request.method == "POST" else 200
    return render_template("catalog/categories.html", form=form,
                           categories=catalog.active_categories(db.session)), status
