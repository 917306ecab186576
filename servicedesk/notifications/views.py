"""The bell (unread count in the navbar) and the /notifications page: list, open, mark read."""
from __future__ import annotations

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from servicedesk.accounts.models import Role
from servicedesk.clock import utcnow
from servicedesk.db import transaction
from servicedesk.extensions import db
from servicedesk.notifications import services
from servicedesk.notifications.models import Notification

bp = Blueprint("notifications", __name__)
PAGE_SIZE = 50


@bp.app_context_processor
def _bell():
    """``unread_notifications()`` for the navbar: one indexed count, only when a page asks."""

    def unread_notifications() -> int:
        if not current_user.is_authenticated:
            return 0
        if "unread_notifications" not in g:
            g.unread_notifications = services.unread_count(db.session, current_user)
        return g.unread_notifications

    return {"unread_notifications": unread_notifications}


def ticket_url(notice: Notification) -> str | None:
    """Where a notice about a ticket leads this user (the portal for requesters)."""
    if notice.ticket_id is None:
        return None
    endpoint = "portal.show" if current_user.role is Role.requester else "tickets.show"
    return url_for(endpoint, ticket_id=notice.ticket_id)


@bp.get("/notifications")
@login_required
def index():
    unread_only = request.args.get("unread") == "1"
    notices = services.recent(db.session, current_user, limit=PAGE_SIZE,
                              unread_only=unread_only)
    return render_template("notifications/index.html", notices=notices,
                           unread_only=unread_only, ticket_url=ticket_url,
                           unread=services.unread_count(db.session, current_user))


@bp.post("/notifications/<int(min=1, max=2147483647):notification_id>/read")
@login_required
def read(notification_id: int):
    """Mark one notice read; with ``open=1`` go on to its ticket."""
    notice = db.session.get(Notification, notification_id)
    if notice is None or notice.user_id != current_user.id:
        abort(404, "No such notification.")
    with transaction(db.session):
        services.mark_read(db.session, current_user, now=utcnow(),
                           notification_ids=[notification_id])
    target = ticket_url(notice) if request.form.get("open") == "1" else None
    return redirect(target or url_for("notifications.index"))


@bp.post("/notifications/read-all")
@login_required
def read_all():
    with transaction(db.session):
        count = services.mark_read(db.session, current_user, now=utcnow())
    flash(f"{count} notification{'' if count == 1 else 's'} marked read.", "success")
    return redirect(url_for("notifications.index"))
