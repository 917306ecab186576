"""Is the scheduler alive? Read its heartbeat rows (written by ``scheduler.beat``).

A job is stale when its last beat is older than ``STALE_FACTOR`` times its configured interval,
or it never beat at all. The SLA sweep's staleness drives the staff banner
(templates/sla/_heartbeat_banner.html), computed once per rendered request by one primary-key
lookup.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Mapping

from sqlalchemy.orm import Session

from servicedesk.scheduler import JOB_DEFINITIONS
from servicedesk.sla.models import SchedulerHeartbeat

STALE_FACTOR = 3
SWEEP_JOB = "sla_sweep"


@dataclass(frozen=True)
class JobStatus:
    job: str
    interval_seconds: int
    beat_at: datetime | None
    host: str
    detail: str
    is_stale: bool


def _interval(config: Mapping, job: str) -> int:
    definition = next(d for d in JOB_DEFINITIONS if d.id == job)
    return int(config.get(definition.interval_config, 30))


def job_status(session: Session, job: str, *, now: datetime, config: Mapping) -> JobStatus:
    interval = _interval(config, job)
    row = session.get(SchedulerHeartbeat, job)
    beat_at = row.beat_at if row is not None else None
    stale = beat_at is None or now - beat_at > timedelta(seconds=STALE_FACTOR * interval)
    return JobStatus(job=job, interval_seconds=interval, beat_at=beat_at,
                     host=row.host if row is not None else "",
                     detail=row.detail if row is not None else "", is_stale=stale)


def all_jobs(session: Session, *, now: datetime, config: Mapping) -> list[JobStatus]:
    """Every job in the scheduler's table, in table order, beaten or not."""
    return [job_status(session, d.id, now=now, config=config) for d in JOB_DEFINITIONS]


def sweep_outage(session: Session, *, now: datetime, config: Mapping) -> JobStatus | None:
    """The SLA sweep's status when it is stale, else None."""
    status = job_status(session, SWEEP_JOB, now=now, config=config)
    return status if status.is_stale else None
