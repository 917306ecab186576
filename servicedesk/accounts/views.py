"""Login, logout and the profile page (API tokens)."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user, logout_user

from servicedesk.accounts.forms import LoginForm
from servicedesk.accounts.models import Role
from servicedesk.accounts.services import authenticate
from servicedesk.extensions import db

bp = Blueprint("accounts", __name__)


def home_for(user) -> str:
    """Where each role lands after login."""
    if user.role is Role.requester:
        return url_for("portal.index")
    return url_for("tickets.queue")


def _safe_next(target: str | None) -> str | None:
    if not target:
        return None
    parts = urlsplit(target)
    return target if not parts.scheme and not parts.netloc and target.startswith("/") else None


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
