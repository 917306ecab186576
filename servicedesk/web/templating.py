"""Jinja filters and globals: times in the viewer's zone, badges, labels."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import Flask, current_app, g
from flask_login import current_user

from servicedesk.sla.queries import STATE_COLOURS as SLA_STATE_COLOURS
from servicedesk.tickets.priority import priority_label

PRIORITY_CLASSES = {1: "danger", 2: "warning", 3: "info", 4: "secondary"}
STATUS_CLASSES = {
    "new": "primary", "assigned": "info", "in_progress": "warning",
    "pending_customer": "secondary", "pending_vendor": "secondary", "resolved": "success",
    "closed": "dark", "cancelled": "light",
}


def viewer_zone() -> ZoneInfo:
    """The signed-in user's zone (else DISPLAY_TIMEZONE), looked up once per request."""
    zone = g.get("viewer_zone")
    if zone is None:
        name = getattr(current_user, "timezone", None) or current_app.config["DISPLAY_TIMEZONE"]
        try:
            zone = ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            zone = ZoneInfo("UTC")
        g.viewer_zone = zone
    return zone


def format_dt(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """An aware UTC instant shown in the viewer's time zone, with the zone's abbreviation."""
    if value is None:
        return "—"
    local = value.astimezone(viewer_zone())
    return f"{local.strftime(fmt)} {local.tzname()}"


def format_duration(seconds: float | None) -> str:
    """A length of (business) time in hours and minutes: "3 h 05 min", "45 min", "< 1 min"."""
    if seconds is None:
        return "—"
    minutes = int(abs(seconds)) // 60
    if minutes < 1:
        return "< 1 min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min"


def init_app(app: Flask) -> None:
    app.jinja_env.filters["dt"] = format_dt
    app.jinja_env.filters["duration"] = format_duration
    app.jinja_env.filters["plabel"] = priority_label
    app.jinja_env.globals.update(PRIORITY_CLASSES=PRIORITY_CLASSES,
                                 STATUS_CLASSES=STATUS_CLASSES, SLA_CLASSES=SLA_STATE_COLOURS)
