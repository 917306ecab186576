"""The scheduler process: a table of jobs, each a thin wrapper around a domain function.

Started only by ``flask sd scheduler`` (its own process, an APScheduler BlockingScheduler),
never by create_app, so N web workers never run N schedulers. Timers are rows with stored due
times; the SLA sweep is one job that finds them. Each job run: app context -> now from the
app's clock -> domain function -> commit per batch -> heartbeat row.
"""
from __future__ import annotations

import logging
import socket
from dataclasses import dataclass
from datetime import datetime
from typing import Callable

from flask import Flask
from sqlalchemy.orm import Session

from servicedesk.clock import SystemClock, get_clock
from servicedesk.db import transaction
from servicedesk.extensions import db
from servicedesk.sla.models import SchedulerHeartbeat

log = logging.getLogger(__name__)


def beat(session: Session, job: str, now: datetime, detail: str) -> None:
    """Upsert the job's heartbeat row."""
    row = session.get(SchedulerHeartbeat, job)
    if row is None:
        row = SchedulerHeartbeat(job=job, beat_at=now, host=socket.gethostname(), detail=detail)
        session.add(row)
    row.beat_at = now
    row.host = socket.gethostname()
    row.detail = detail[:1000]


def run_sla_sweep(app: Flask) -> str:
    """Sweep all due SLA clocks, committing after each batch; returns a summary."""
    from servicedesk.sla.sweep import sweep

    with app.app_context():
        session = db.session
        now = get_clock().now()
        try:
            result = sweep(session, now, commit=session.commit)
            detail = f"{result.clocks} clocks, {result.firings} crossings, {result.actions} actions"
        except Exception as exc:  # keep the scheduler alive; the next run retries
            session.rollback()
            log.exception("SLA sweep failed")
            detail = f"error: {type(exc).__name__}: {exc}"
        with transaction(session):
            beat(session, "sla_sweep", now, detail)
        return detail


def run_send_email(app: Flask) -> str:
    """Deliver due e-mails from the outbox (failures are recorded and retried later)."""
    from servicedesk.notifications.services import SmtpSettings, send_pending

    with app.app_context():
        session = db.session
        now = get_clock().now()
        with transaction(session):
            sent, failed = send_pending(session, SmtpSettings.from_config(app.config), now=now)
            detail = f"{sent} sent, {failed} failed"
            beat(session, "send_email", now, detail)
        return detail


def run_kb_index(app: Flask) -> str:
    """Apply the knowledge-index outbox (the one index writer; rebuilds an unreadable index)."""
    from servicedesk.knowledge.indexing import drain, index_path

    with app.app_context():
        session = db.session
        now = get_clock().now()
        try:
            detail = str(drain(session, now=now, index_dir=index_path(app),
                               commit=session.commit))
        except Exception as exc:  # keep the scheduler alive; the rows stay for the next run
            session.rollback()
            log.exception("knowledge index drain failed")
            detail = f"error: {type(exc).__name__}: {exc}"
        with transaction(session):
            beat(session, "kb_index", now, detail)
        return detail


def run_weekly_report(app: Flask) -> str:
    """E-mail last week's report to the managers, once per week (a no-op until next Monday)."""
    from servicedesk.reports.weekly import send_weekly_report

    with app.app_context():
        session = db.session
        now = get_clock().now()
        with transaction(session):
            sent = send_weekly_report(session, now)
            detail = "already sent or no managers" if sent is None else \
                f"week of {sent[0]} sent to {sent[1]} manager(s)"
            beat(session, "weekly_report", now, detail)
        return detail


def run_report_rollups(app: Flask) -> str:
    """Fold the report rollup deltas PostgreSQL's triggers append into the day totals, so
    what the dashboard sums stays a few minutes of deltas (a no-op on SQLite)."""
    from servicedesk.reports.rollups import compact

    with app.app_context():
        session = db.session
        now = get_clock().now()
        with transaction(session):
            detail = f"{compact(session.connection())} day totals updated"
            beat(session, "report_rollups", now, detail)
        return detail


@dataclass(frozen=True)
class JobDefinition:
    id: str
    func: Callable[[Flask], str]
    interval_config: str


JOB_DEFINITIONS = (
    JobDefinition("sla_sweep", run_sla_sweep, "SCHEDULER_INTERVAL_SECONDS"),
    JobDefinition("send_email", run_send_email, "EMAIL_INTERVAL_SECONDS"),
    JobDefinition("kb_index", run_kb_index, "KB_INDEX_INTERVAL_SECONDS"),
    JobDefinition("weekly_report", run_weekly_report, "WEEKLY_REPORT_INTERVAL_SECONDS"),
    JobDefinition("report_rollups", run_report_rollups, "REPORT_ROLLUPS_INTERVAL_SECONDS"),
)


def build_scheduler(app: Flask, scheduler_cls=None):
    """An APScheduler with one interval job per definition (stable ids, one instance each)."""
    from apscheduler.schedulers.blocking import BlockingScheduler

    scheduler = (scheduler_cls or BlockingScheduler)(timezone="UTC")
    for job in JOB_DEFINITIONS:
        scheduler.add_job(job.func, "interval", args=[app], id=job.id, replace_existing=True,
                          seconds=int(app.config.get(job.interval_config, 30)),
                          max_instances=1, coalesce=True,
                          # first run at start-up: catch up whatever fell due while down
                          next_run_time=SystemClock().now())
    return scheduler
