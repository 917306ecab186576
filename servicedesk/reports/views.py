"""Managers' report pages: the dashboard, the tickets behind a figure, breaches, unmet requests.
Managers only (403 for everyone else); the figures come from reports.queries."""
from __future__ import annotations

from flask import Blueprint, render_template, request, url_for

from servicedesk.accounts.models import Role
from servicedesk.clock import utcnow
from servicedesk.extensions import db
from servicedesk.feedback.services import unmet_page
from servicedesk.reports import charts, drill
from servicedesk.reports import queries as q
from servicedesk.reports import dashboard as dash
from servicedesk.reports.params import DrillQuery, PagedQuery, ReportQuery
from servicedesk.reports.tables import TABLES
from servicedesk.tickets.queries import Page
from servicedesk.web.api import parse_query
from servicedesk.web.auth import role_required

bp = Blueprint("reports", __name__, url_prefix="/reports")
manager_required = role_required(Role.manager)
PER_PAGE = 50


@bp.app_template_filter("span")
def format_span(seconds: float | None) -> str:
    """Durations on report pages: minutes under an hour, hours under two days, else days."""
    if seconds is None:
        return "—"
    if abs(seconds) < 3600:
        return f"{seconds / 60:.0f} min"
    if abs(seconds) < 172800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"


@bp.app_template_filter("pct")
def format_pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f} %"


def _period_args(args: ReportQuery, period) -> dict:
    """The query args that reproduce the current period on another report URL."""
    return {"from": period.first_day.isoformat(), "to": period.last_day.isoformat(),
            **({"unit": args.unit} if args.unit else {})}


@bp.get("")
@manager_required
def dashboard():
    args = parse_query(ReportQuery)
    now = utcnow()
    period = args.period(now)
    data = dash.dashboard(db.session, period, now, args.trend_unit(period))
    keep = _period_args(args, period)
    return render_template(
        "reports/dashboard.html", d=data, keep=keep, tables=TABLES,
        breakdown=dash.breakdown(data), DEFS=data["definitions"],
        trend_chart=charts.compliance_chart(data["trend"], data["target"]),
        flow_chart=charts.flow_chart(data["flow"]),
        drill_url=lambda figure, **kw: url_for("reports.tickets", figure=figure, **keep,
                                               **{k: v for k, v in kw.items() if v is not None}))


@bp.get("/tickets")
@manager_required
def tickets():
    args = parse_query(DrillQuery)
    now = utcnow()
    period = args.period(now)
    d = drill.Drill(figure=args.figure, kind=args.kind, dim=args.dim, value=args.value,
                    bucket=args.bucket, unit=args.unit or "day", age=args.age, tier=args.tier,
                    user_id=args.user)
    page = drill.tickets(db.session, d, period, now, page=args.page, per_page=PER_PAGE)
    return render_template("reports/tickets.html", page=page, period=period, drill=d,
                           title=drill.FIGURES[d.figure], now=now,
                           page_url=lambda n: url_for("reports.tickets",
                                                      **{**request.args.to_dict(), "page": n}))


@bp.get("/breaches")
@manager_required
def breaches():
    args = parse_query(PagedQuery)
    now = utcnow()
    period = args.period(now)
    total, rows = q.breaches(db.session, period, now, limit=PER_PAGE,
                             offset=(args.page - 1) * PER_PAGE)
    keep = _period_args(args, period)
    return render_template("reports/breaches.html", period=period, keep=keep,
                           page=Page(items=rows, total=total, page=args.page, per_page=PER_PAGE),
                           definition=q.DEFINITIONS["breaches"],
                           page_url=lambda n: url_for("reports.breaches", **keep, page=n))


@bp.get("/unmet")
@manager_required
def unmet():
    args = parse_query(PagedQuery)
    now = utcnow()
    period = args.period(now)
    total, rows = unmet_page(db.session, start=period.start, end=period.end, limit=PER_PAGE,
                             offset=(args.page - 1) * PER_PAGE)
    keep = _period_args(args, period)
    return render_template("reports/unmet.html", period=period, keep=keep,
                           page=Page(items=rows, total=total, page=args.page, per_page=PER_PAGE),
                           definition=q.DEFINITIONS["unmet"],
                           page_url=lambda n: url_for("reports.unmet", **keep, page=n))
