"""/api/v1/notifications: the caller's in-app notices (the bell) and marking them read."""
from __future__ import annotations

from datetime import datetime
from typing import Annotated

import pydantic

from servicedesk.clock import utcnow
from servicedesk.db import transaction
from servicedesk.extensions import db
from servicedesk.notifications import services
from servicedesk.notifications.models import Notification
from servicedesk.web.api import (
    ApiModel, Id, OutModel, api_blueprint, api_user, documented, parse_body, parse_query,
)

bp = api_blueprint("notifications_api", __name__)


class NotificationOut(OutModel):
    id: int
    kind: str
    """What happened: sla_warning, sla_breach, escalated, escalated_manager, vendor_request,
    vendor_approved, vendor_rejected, vendor_fixed, vendor_sent_back, ola_warning, ..."""
    title: str
    body: str
    ticket_id: int | None
    created_at: datetime
    read_at: datetime | None


class NotificationList(OutModel):
    items: list[NotificationOut]
    """Newest first."""
    unread: int
    """How many of the caller's notices are unread (the bell's number)."""


class NotificationQuery(ApiModel):
    unread_only: bool = False
    limit: Annotated[int, pydantic.Field(ge=1, le=200)] = 50


class MarkReadIn(ApiModel):
    ids: Annotated[list[Id], pydantic.Field(min_length=1, max_length=500)] | None = None
    """Notices to mark read; omit to mark all of the caller's notices read."""


class MarkReadOut(OutModel):
    marked: int
    """Notices that were unread and are now read."""
    unread: int


def _out(n: Notification) -> NotificationOut:
    return NotificationOut(id=n.id, kind=n.kind, title=n.title, body=n.body or "",
                           ticket_id=n.ticket_id, created_at=n.created_at, read_at=n.read_at)


@bp.get("/notifications")
@documented("My notifications", description="The caller's own notices, newest first, with "
            "the unread count.", query=NotificationQuery, response=NotificationList,
            tag="notifications")
def list_notifications():
    args = parse_query(NotificationQuery)
    user = api_user()
    notices = services.recent(db.session, user, limit=args.limit, unread_only=args.unread_only)
    return NotificationList(items=[_out(n) for n in notices],
                            unread=services.unread_count(db.session, user)
                            ).model_dump(mode="json")


@bp.post("/notifications/read")
@documented("Mark notifications read",
            description="The given ids (only the caller's own count), or all when ids is "
                        "omitted. Already-read notices are left as they were.",
            body=MarkReadIn, response=MarkReadOut, tag="notifications")
def mark_read():
    body = parse_body(MarkReadIn)
    user = api_user()
    with transaction(db.session):
        marked = services.mark_read(db.session, user, now=utcnow(), notification_ids=body.ids)
    return MarkReadOut(marked=marked, unread=services.unread_count(db.session, user)
                       ).model_dump(mode="json")
