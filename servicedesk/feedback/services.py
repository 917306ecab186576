"""CSAT surveys (sent on first resolution, answered once, by token or in the portal) and
unmet requests (recorded by agents). Functions flush, never commit."""
from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask import url_for
from sqlalchemy.orm import Session

from servicedesk.accounts import permissions
from servicedesk.accounts.models import Role, User
from servicedesk.errors import DomainError, PermissionDenied, ValidationError
from servicedesk.feedback.models import Survey, UnmetCategory, UnmetRequest
from servicedesk.notifications.services import notify
from servicedesk.tickets.models import EventKind, Ticket
from servicedesk.tickets.services import record_event

#: How long a survey link stays open.
SURVEY_VALID = timedelta(days=14)
#: Scores at or below this create a service-recovery task for the group's manager.
LOW_SCORE = 2
COMMENT_MAX = 2000
UNMET_MAX = 1000


class SurveyClosed(DomainError):
    """The survey expired or was answered already (410: the link is spent)."""

    status = 410
    code = "gone"


def token_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _survey_url(secret: str) -> str:
    try:
        return url_for("feedback.survey", token=secret, _external=True)
    except RuntimeError:  # no request and no SERVER_NAME (CLI, demo seed): a relative link
        return f"/surveys/{secret}"


def send_survey(session: Session, ticket: Ticket, now: datetime) -> Survey | None:
    """Create the ticket's survey and queue the e-mail/notice to the requester; a ticket
    already surveyed (first resolution) gets none. Flushes."""
    if session.scalar(sa.select(Survey.id).where(Survey.ticket_id == ticket.id)) is not None:
        return None
    secret = secrets.token_urlsafe(32)
    survey = Survey(ticket=ticket, requester=ticket.requester, token_hash=token_hash(secret),
                    created_at=now, expires_at=now + SURVEY_VALID)
    session.add(survey)
    session.flush()
    notify(session, [ticket.requester], kind="survey", ticket=ticket, now=now,
           title=f"{ticket.number} is resolved: how did we do?",
           body=f"Your request {ticket.number} \"{ticket.title}\" was resolved. One question, "
                f"one click: how satisfied are you (1-5)? {_survey_url(secret)}\n"
                f"The link works until {survey.expires_at:%Y-%m-%d %H:%M} UTC.")
    return survey


def survey_for_token(session: Session, secret: str) -> Survey | None:
    if not secret or len(secret) > 100:
        return None
    return session.scalar(sa.select(Survey).where(Survey.token_hash == token_hash(secret)))


def survey_for_ticket(session: Session, user: User, ticket_id: int) -> Survey | None:
    """The survey of a ticket the requester ``user`` owns (None for anyone else's)."""
    return session.scalar(sa.select(Survey).where(Survey.ticket_id == ticket_id,
                                                  Survey.requester_id == user.id))


def open_surveys(session: Session, user: User, now: datetime) -> list[Survey]:
    """The requester's unanswered, unexpired surveys, newest first (the portal list)."""
    return list(session.scalars(sa.select(Survey).where(
        Survey.requester_id == user.id, Survey.answered_at.is_(None), Survey.expires_at > now)
        .order_by(Survey.created_at.desc(), Survey.id.desc())))


def check_open(survey: Survey, now: datetime) -> None:
    if survey.answered_at is not None:
        raise SurveyClosed("This survey was answered already; thank you.")
    if now >= survey.expires_at:
        raise SurveyClosed("This survey link has expired.")


def answer_survey(session: Session, survey: Survey, *, score: Any, comment: Any,
                  now: datetime) -> Survey:
    """Record the one answer; a low score notifies the ticket group's manager. Flushes."""
    check_open(survey, now)
    if isinstance(score, bool) or not isinstance(score, int) or not 1 <= score <= 5:
        raise ValidationError("Choose a score from 1 to 5.", field="score")
    if comment is not None and not isinstance(comment, str):
        raise ValidationError("Comment must be text.", field="comment")
    comment = (comment or "").strip() or None
    if comment and len(comment) > COMMENT_MAX:
        raise ValidationError(f"Comment is too long ({COMMENT_MAX} characters at most).",
                              field="comment")
    survey.score, survey.comment, survey.answered_at = score, comment, now
    ticket = survey.ticket
    record_event(session, ticket, EventKind.comment, actor=None, now=now, is_public=False,
                 body=f"Satisfaction {score}/5" + (f": {comment}" if comment else ""))
    if score <= LOW_SCORE:
        notify(session, _recovery_owners(session, ticket), kind="csat_low", ticket=ticket,
               now=now, title=f"Service recovery: {ticket.number} rated {score}/5",
               body=f"The requester rated {ticket.number} \"{ticket.title}\" {score}/5."
                    + (f" Comment: {comment}" if comment else "")
                    + " Please contact them and follow up.")
    session.flush()
    return survey


def _recovery_owners(session: Session, ticket: Ticket) -> list[User]:
    """The ticket group's manager, else every active manager."""
    if ticket.group is not None and ticket.group.manager is not None:
        return [ticket.group.manager]
    return list(session.scalars(sa.select(User).where(User.role == Role.manager,
                                                      User.is_active_account)))


# --- unmet requests ------------------------------------------------------------------------

def record_unmet(session: Session, *, actor: User, category: Any, description: Any,
                 now: datetime, ticket: Ticket | None = None) -> UnmetRequest:
    """Log what a caller asked for that the service does not offer (staff only). Flushes."""
    if not permissions.can_create_for_others(actor):
        raise PermissionDenied("Only service-desk staff record unmet requests.")
    try:
        category = UnmetCategory(category)
    except ValueError:
        raise ValidationError("Choose what kind of request it was.",
                              field="unmet_category") from None
    if not isinstance(description, str) or not description.strip():
        raise ValidationError("Say what the caller asked for.", field="unmet_description")
    description = description.strip()
    if len(description) > UNMET_MAX:
        raise ValidationError(f"Unmet request is too long ({UNMET_MAX} characters at most).",
                              field="unmet_description")
    row = UnmetRequest(category=category, description=description, ticket=ticket,
                       recorded_by_id=actor.id, created_at=now)
    session.add(row)
    session.flush()
    return row


def record_from_intake(session: Session, form: Any, *, actor: User, ticket: Ticket,
                       now: datetime) -> UnmetRequest | None:
    """The intake form's optional unmet-request section: nothing when left empty."""
    category = (form.get("unmet_category") or "").strip()
    description = (form.get("unmet_description") or "").strip()
    if not category and not description:
        return None
    return record_unmet(session, actor=actor, category=category, description=description,
                        now=now, ticket=ticket)


def unmet_page(session: Session, *, start: datetime, end: datetime, category=None,
               limit: int = 50, offset: int = 0) -> tuple[int, list[UnmetRequest]]:
    """(total, one page) of unmet requests recorded in [start, end), newest first."""
    where = [UnmetRequest.created_at >= start, UnmetRequest.created_at < end]
    if category is not None:
        where.append(UnmetRequest.category == category)
    total = session.scalar(sa.select(sa.func.count(UnmetRequest.id)).where(*where)) or 0
    rows = session.scalars(sa.select(UnmetRequest).where(*where)
                           .order_by(UnmetRequest.created_at.desc(), UnmetRequest.id.desc())
                           .limit(limit).offset(offset)).all()
    return total, list(rows)
