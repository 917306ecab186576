"""The weekly report: last week's key figures and charts e-mailed to every active manager,
exactly once per week (a WeeklyReport row with a unique week start is written in the same
transaction as the e-mails, so a second scheduler or a re-run sends nothing)."""
from __future__ import annotations

from datetime import date, datetime, timedelta

import sqlalchemy as sa
from flask import render_template, url_for
from sqlalchemy.orm import Session

from servicedesk.accounts.models import Role, User
from servicedesk.notifications.models import OutboundEmail
from servicedesk.reports import charts
from servicedesk.reports.dashboard import dashboard
from servicedesk.reports.models import WeeklyReport
from servicedesk.reports.queries import Period


def last_week(now: datetime) -> Period:
    """Monday..Sunday (UTC) of the week before the one ``now`` falls in."""
    monday = now.date() - timedelta(days=now.weekday())
    return Period.from_dates(monday - timedelta(days=7), monday - timedelta(days=1))


def _dashboard_url(period: Period) -> str:
    args = {"from": period.first_day.isoformat(), "to": period.last_day.isoformat()}
    try:
        return url_for("reports.dashboard", _external=True, **args)
    except RuntimeError:  # scheduler process without SERVER_NAME: a relative link
        return f"/reports?from={args['from']}&to={args['to']}"


def send_weekly_report(session: Session, now: datetime) -> tuple[date, int] | None:
    """Queue last week's report to every active manager; None if it was sent already or
    there is nobody to send it to. Flushes; the caller commits."""
    period = last_week(now)
    if session.scalar(sa.select(WeeklyReport.id)
                      .where(WeeklyReport.period_start == period.first_day)) is not None:
        return None
    managers = list(session.scalars(sa.select(User).where(
        User.role == Role.manager, User.is_active_account).order_by(User.id)))
    if not managers:
        return None
    d = dashboard(session, period, now, "day", people=False)
    context = dict(d=d, link=_dashboard_url(period),
                   trend_chart=charts.compliance_chart(d["trend"], d["target"]),
                   flow_chart=charts.flow_chart(d["flow"]))
    subject = (f"Service desk weekly report {period.first_day} – {period.last_day}: "
               f"resolution SLA {_pct(d['headline']['resolution_compliance'])}")
    text = render_template("emails/weekly_report.txt", **context)
    html = render_template("emails/weekly_report.html", **context)
    for manager in managers:
        session.add(OutboundEmail(to_address=manager.email, subject=subject[:250],
                                  body_text=text, body_html=html, created_at=now, attempts=0,
                                  next_attempt_at=now))
    session.add(WeeklyReport(period_start=period.first_day, sent_at=now,
                             recipients=len(managers)))
    session.flush()
    return period.first_day, len(managers)


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f} %"
