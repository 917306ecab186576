"""Login, logout, the profile page (name, time zone, API tokens) and the admin pages for
users, groups and vendors."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import (
    Blueprint, abort, flash, redirect, render_template, request, url_for,
)
from flask_login import current_user, login_required, login_user, logout_user

from servicedesk.accounts import admin as admin_services
from servicedesk.accounts.forms import (
    ActionForm, GroupForm, GroupMembersForm, LoginForm, ProfileForm, TokenForm, UserForm,
    VendorForm, as_choices,
)
from servicedesk.accounts.models import ApiToken, Group, Role, User, Vendor
from servicedesk.accounts.services import authenticate, create_group, issue_token, revoke_token
from servicedesk.clock import utcnow
from servicedesk.db import transaction
from servicedesk.errors import Conflict, NotFound, ValidationError
from servicedesk.extensions import db
from servicedesk.tickets.forms import apply_domain_error
from servicedesk.web.auth import role_required

bp = Blueprint("accounts", __name__)

admin_required = role_required(Role.admin)


def home_for(user) -> str:
    """Where each role lands after login."""
    if user.role is Role.requester:
        return url_for("portal.index")
    if user.role is Role.vendor:
        return url_for("tickets.vendor_tickets")
    return url_for("tickets.queue")


def _safe_next(target: str | None) -> str | None:
    if not target:
        return None
    parts = urlsplit(target)
    return target if not parts.scheme and not parts.netloc and target.startswith("/") \
        and not target.startswith("//") else None


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(home_for(current_user))
    form = LoginForm()
    if form.validate_on_submit():
        user = authenticate(db.session, form.email.data, form.password.data)
        if user is None:
            form.password.errors.append("Wrong e-mail or password.")
        else:
            login_user(user, remember=form.remember.data)
            return redirect(_safe_next(request.args.get("next")) or home_for(user))
    status = 401 if request.method == "POST" else 200
    return render_template("accounts/login.html", form=form), status


@bp.post("/logout")
@login_required
def logout():
    logout_user()
    flash("You are signed out.", "info")
    return redirect(url_for("accounts.login"))


@bp.get("/")
@login_required
def index():
    return redirect(home_for(current_user))


# --- profile and API tokens ------------------------------------------------------------------

def _render_profile(*, status: int = 200, profile: ProfileForm | None = None,
                    token_form: TokenForm | None = None, secret: str | None = None,
                    new_token: ApiToken | None = None):
    if profile is None:
        profile = ProfileForm(formdata=None, data={"name": current_user.name,
                                                   "timezone": current_user.timezone})
    profile.timezone.choices = list(admin_services.time_zones())
    tokens = admin_services.user_tokens(db.session, current_user)
    return render_template("accounts/profile.html", form=profile,
                           token_form=token_form or TokenForm(formdata=None),
                           action_form=ActionForm(formdata=None), tokens=tokens,
                           secret=secret, new_token=new_token), status


@bp.route("/profile", methods=["GET", "POST"])
@login_required
def profile():
    if request.method == "GET":
        return _render_profile()
    form = ProfileForm()
    form.timezone.choices = list(admin_services.time_zones())
    if form.validate_on_submit():
        try:
            with transaction(db.session):
                admin_services.update_profile(db.session, current_user, name=form.name.data,
                                              timezone=form.timezone.data)
        except ValidationError as exc:
            apply_domain_error(form, exc)
        else:
            flash("Profile saved.", "success")
            return redirect(url_for("accounts.profile"))
    return _render_profile(status=422, profile=form)


@bp.post("/profile/tokens")
@login_required
def create_token():
    form = TokenForm()
    if form.validate_on_submit():
        try:
            with transaction(db.session):
                token, secret = issue_token(db.session, current_user, name=form.name.data,
                                            now=utcnow())
        except ValidationError as exc:
            apply_domain_error(form, exc)
        else:
            # Rendered, not flashed: the session cookie is signed, not encrypted, and the
            # secret must never be stored anywhere but in front of its owner, once.
            return _render_profile(secret=secret, new_token=token)
    return _render_profile(status=422, token_form=form)


@bp.post("/profile/tokens/<int(max=2147483647):token_id>/revoke")
@login_required
def revoke(token_id: int):
    form = ActionForm()
    if not form.validate_on_submit():
        abort(400, "The form expired; reload the page and try again.")
    try:
        with transaction(db.session):
            token = revoke_token(db.session, current_user, token_id, now=utcnow())
    except NotFound as exc:
        abort(404, exc.message)
    flash(f"Token {token.name} ({token.prefix}…) is revoked.", "success")
    return redirect(url_for("accounts.profile"))


# --- admin: users ----------------------------------------------------------------------------

def _user_form(formdata=None, user: User | None = None) -> UserForm:
    data = {}
    if user is not None:
        data = dict(email=user.email, name=user.name, role=user.role.value, phone=user.phone,
                    vendor_id=user.vendor_id, groups=[g.id for g in user.groups])
    form = UserForm(formdata=formdata, data=data)
    form.vendor_id.choices = as_choices([("", "—")] + [
        (v.id, v.name) for v in admin_services.list_vendors(db.session)])
    form.groups.choices = as_choices((g.id, f"{g.name} (tier {g.tier})")
                                     for g in admin_services.list_groups(db.session))
    return form


def _vendor(vendor_id: int | None) -> Vendor | None:
    return db.session.get(Vendor, vendor_id) if vendor_id is not None else None


@bp.route("/admin/users", methods=["GET", "POST"])
@admin_required
def admin_users():
    form = _user_form(formdata=request.form if request.method == "POST" else None)
    if request.method == "POST" and form.validate_on_submit():
        try:
            with transaction(db.session):
                user = admin_services.create_account(
                    db.session, actor=current_user, email=form.email.data or "",
                    name=form.name.data, role=Role(form.role.data), now=utcnow(),
                    password=form.password.data or None, phone=form.phone.data,
                    vendor=_vendor(form.vendor_id.data),
                    groups=admin_services.groups_by_ids(db.session, form.groups.data))
        except (ValidationError, Conflict) as exc:
            apply_domain_error(form, exc)
        else:
            flash(f"User {user.email} created.", "success")
            return redirect(url_for("accounts.admin_users"))
    status = 422 if request.method == "POST" else 200
    return render_template("accounts/users.html", form=form,
                           users=admin_services.list_users(db.session),
                           action_form=ActionForm(formdata=None)), status


def _load_user(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        abort(404, f"User {user_id} not found.")
    return user


@bp.route("/admin/users/<int(max=2147483647):user_id>", methods=["GET", "POST"])
@admin_required
def admin_user(user_id: int):
    user = _load_user(user_id)
    form = _user_form(formdata=request.form if request.method == "POST" else None, user=user)
    if request.method == "POST" and form.validate_on_submit():
        try:
            with transaction(db.session):
                admin_services.update_user(
                    db.session, user, actor=current_user, name=form.name.data,
                    role=Role(form.role.data), phone=form.phone.data,
                    vendor=_vendor(form.vendor_id.data),
                    groups=admin_services.groups_by_ids(db.session, form.groups.data),
                    password=form.password.data or None)
        except ValidationError as exc:
            apply_domain_error(form, exc)
        else:
            flash(f"{user.name} saved.", "success")
            return redirect(url_for("accounts.admin_users"))
    status = 422 if request.method == "POST" else 200
    return render_template("accounts/user_edit.html", form=form, user=user), status


@bp.post("/admin/users/<int(max=2147483647):user_id>/active")
@admin_required
def admin_user_active(user_id: int):
    user = _load_user(user_id)
    form = ActionForm()
    if not form.validate_on_submit():
        abort(400, "The form expired; reload the page and try again.")
    active = request.form.get("active") == "1"
    try:
        with transaction(db.session):
            admin_services.set_active(db.session, user, actor=current_user, active=active)
    except ValidationError as exc:
        flash(exc.message, "danger")
        return render_template("accounts/users.html", form=_user_form(),
                               users=admin_services.list_users(db.session),
                               action_form=form), 422
    flash(f"{user.name} is {'reactivated' if active else 'deactivated'}.", "success")
    return redirect(url_for("accounts.admin_users"))


# --- admin: groups -----------------------------------------------------------------------

def _group_form(formdata=None, group: Group | None = None) -> GroupMembersForm:
    if group is None:
        form = GroupForm(formdata=formdata)
    else:
        form = GroupMembersForm(formdata=formdata, data=dict(
            description=group.description, dispatcher_id=group.dispatcher_id,
            manager_id=group.manager_id, members=[u.id for u in group.members]))
    users = [u for u in admin_services.list_users(db.session)
             if u.is_active_account and u.role is not Role.requester]
    form.dispatcher_id.choices = as_choices([("", "—")] + [
        (u.id, u.name) for u in users if u.is_staff])
    form.manager_id.choices = as_choices([("", "—")] + [
        (u.id, u.name) for u in users if u.role in (Role.manager, Role.admin)])
    form.members.choices = as_choices((u.id, f"{u.name} ({u.role.value})") for u in users)
    return form


def _user_or_none(user_id: int | None) -> User | None:
    return db.session.get(User, user_id) if user_id is not None else None


@bp.route("/admin/groups", methods=["GET", "POST"])
@admin_required
def admin_groups():
    form = _group_form(formdata=request.form if request.method == "POST" else None)
    if request.method == "POST" and form.validate_on_submit():
        try:
            with transaction(db.session):
                group = create_group(
                    db.session, name=form.name.data, tier=form.tier.data,
                    description=(form.description.data or "").strip(),
                    dispatcher=_user_or_none(form.dispatcher_id.data),
                    manager=_user_or_none(form.manager_id.data))
                admin_services.update_group(
                    db.session, group, actor=current_user,
                    members=admin_services.users_by_ids(db.session, form.members.data,
                                                        "members"),
                    dispatcher=group.dispatcher, manager=group.manager)
        except (ValidationError, Conflict) as exc:
            apply_domain_error(form, exc)
        else:
            flash(f"Group {group.name} created.", "success")
            return redirect(url_for("accounts.admin_groups"))
    status = 422 if request.method == "POST" else 200
    return render_template("accounts/groups.html", form=form,
                           groups=admin_services.list_groups(db.session)), status


@bp.route("/admin/groups/<int(max=2147483647):group_id>", methods=["GET", "POST"])
@admin_required
def admin_group(group_id: int):
    group = db.session.get(Group, group_id)
    if group is None:
        abort(404, f"Group {group_id} not found.")
    form = _group_form(formdata=request.form if request.method == "POST" else None,
                       group=group)
    if request.method == "POST" and form.validate_on_submit():
        try:
            with transaction(db.session):
                admin_services.update_group(
                    db.session, group, actor=current_user,
                    members=admin_services.users_by_ids(db.session, form.members.data,
                                                        "members"),
                    dispatcher=_user_or_none(form.dispatcher_id.data),
                    manager=_user_or_none(form.manager_id.data),
                    description=form.description.data or "")
        except ValidationError as exc:
            apply_domain_error(form, exc)
        else:
            flash(f"Group {group.name} saved.", "success")
            return redirect(url_for("accounts.admin_groups"))
    status = 422 if request.method == "POST" else 200
    return render_template("accounts/group_edit.html", form=form, group=group), status


# --- admin: vendors ----------------------------------------------------------------------

@bp.route("/admin/vendors", methods=["GET", "POST"])
@admin_required
def admin_vendors():
    form = VendorForm(formdata=request.form if request.method == "POST" else None)
    if request.method == "POST" and form.validate_on_submit():
        try:
            with transaction(db.session):
                vendor = admin_services.add_vendor(
                    db.session, actor=current_user, name=form.name.data,
                    contact_email=form.contact_email.data or None,
                    cost_model=form.cost_model.data, rate=form.rate.data or 0,
                    ola_response_minutes=form.ola_response_minutes.data or 60,
                    ola_fix_minutes=form.ola_fix_minutes.data or 480)
        except (ValidationError, Conflict) as exc:
            apply_domain_error(form, exc)
        else:
            flash(f"Vendor {vendor.name} created.", "success")
            return redirect(url_for("accounts.admin_vendors"))
    status = 422 if request.method == "POST" else 200
    return render_template("accounts/vendors.html", form=form,
                           vendors=admin_services.list_vendors(db.session)), status
