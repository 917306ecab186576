"""Login wiring and the role decorators every view uses."""
from __future__ import annotations

from functools import wraps
from typing import Callable

from flask import Flask, abort
from flask_login import current_user, login_required

from servicedesk.accounts.models import STAFF_ROLES, Role, User
from servicedesk.extensions import db, login_manager


def init_app(app: Flask) -> None:
    @login_manager.user_loader
    def _load_user(user_id: str) -> User | None:
        user = db.session.get(User, int(user_id)) if user_id.isdigit() else None
        return user if user is not None and user.is_active else None


def role_required(*roles: Role) -> Callable:
    """Logged in and holding one of ``roles``; 403 otherwise (401/redirect if anonymous)."""
    allowed = frozenset(roles)

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        @login_required
        def wrapper(*args, **kwargs):
            if current_user.role not in allowed:
                abort(403)
            return view(*args, **kwargs)

        return wrapper

    return decorator


#: Agents, experts, managers and admins: the people who work tickets.
staff_required = role_required(*STAFF_ROLES)
