"""Queue notices and e-mails in the caller's transaction; send the outbox separately.

``notify`` only writes rows, so a failing mail server can never block or undo the change that
caused the notice. ``send_pending`` delivers due e-mails, records failures and retries them
with exponential backoff; it never raises for an SMTP problem.
"""
from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Iterable

import sqlalchemy as sa
from sqlalchemy.orm import Session

from servicedesk.accounts.models import User
from servicedesk.notifications.models import Notification, OutboundEmail

MAX_ATTEMPTS = 8
BASE_BACKOFF = timedelta(minutes=1)


def notify(session: Session, users: Iterable[User | None], *, kind: str, title: str,
           body: str, now: datetime, ticket=None, email: bool = True) -> list[Notification]:
    """One in-app notice per distinct active user, plus an e-mail in the outbox. Flushes."""
    seen: set[int] = set()
    made: list[Notification] = []
    for user in users:
        if user is None or user.id in seen or not user.is_active:
            continue
        seen.add(user.id)
        notice = Notification(user=user, ticket=ticket, kind=kind, title=title[:200], body=body,
                              created_at=now)
        session.add(notice)
        made.append(notice)
        if email and user.email:
            session.add(OutboundEmail(to_address=user.email, subject=title[:250],
                                      body_text=body, notification=notice, created_at=now,
                                      attempts=0, next_attempt_at=now))
    session.flush()
    return made


def unread_count(session: Session, user: User) -> int:
    return session.scalar(sa.select(sa.func.count(Notification.id)).where(
        Notification.user_id == user.id, Notification.read_at.is_(None))) or 0


def recent(session: Session, user: User, limit: int = 20) -> list[Notification]:
    return list(session.scalars(sa.select(Notification).where(Notification.user_id == user.id)
                                .order_by(Notification.id.desc()).limit(limit)))


def mark_read(session: Session, user: User, *, now: datetime,
              notification_ids: Iterable[int] | None = None) -> int:
    """Mark the user's notices read (all of them when ``notification_ids`` is None)."""
    stmt = sa.update(Notification).where(Notification.user_id == user.id,
                                         Notification.read_at.is_(None))
    if notification_ids is not None:
        stmt = stmt.where(Notification.id.in_(list(notification_ids)))
    result = session.execute(stmt.values(read_at=now).execution_options(
        synchronize_session=False))
    return result.rowcount or 0


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    use_tls: bool = False
    username: str | None = None
    password: str | None = None
    sender: str = "servicedesk@localhost"
    timeout: float = 10.0

    @classmethod
    def from_config(cls, config) -> SmtpSettings:
        return cls(host=config["SMTP_HOST"], port=int(config["SMTP_PORT"]),
                   use_tls=bool(config["SMTP_USE_TLS"]), username=config.get("SMTP_USERNAME"),
                   password=config.get("SMTP_PASSWORD"), sender=config["MAIL_FROM"])


def _message(mail: OutboundEmail, sender: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = mail.to_address
    msg["Subject"] = mail.subject
    msg.set_content(mail.body_text)
    if mail.body_html:
        msg.add_alternative(mail.body_html, subtype="html")
    return msg


def _connect(settings: SmtpSettings) -> smtplib.SMTP:
    smtp = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
    if settings.use_tls:
        smtp.starttls(context=ssl.create_default_context())
    if settings.username:
        smtp.login(settings.username, settings.password or "")
    return smtp


def send_pending(session: Session, settings: SmtpSettings, *, now: datetime,
                 limit: int = 100) -> tuple[int, int]:
    """Send due e-mails over one SMTP connection; returns (sent, failed). Flushes."""
    due = list(session.scalars(
        sa.select(OutboundEmail).where(OutboundEmail.next_attempt_at <= now)
        .order_by(OutboundEmail.next_attempt_at, OutboundEmail.id).limit(limit)))
    if not due:
        return 0, 0
    sent = failed = 0
    try:
        smtp = _connect(settings)
    except (OSError, smtplib.SMTPException) as exc:
        for mail in due:
            _failed(mail, exc, now)
        session.flush()
        return 0, len(due)
    try:
        for mail in due:
            try:
                smtp.send_message(_message(mail, settings.sender))
            except (OSError, smtplib.SMTPException) as exc:
                _failed(mail, exc, now)
                failed += 1
            else:
                mail.attempts += 1
                mail.sent_at = now
                mail.next_attempt_at = None
                mail.last_error = None
                sent += 1
    finally:
        try:
            smtp.quit()
        except (OSError, smtplib.SMTPException):
            pass
    session.flush()
    return sent, failed


def _failed(mail: OutboundEmail, exc: Exception, now: datetime) -> None:
    mail.attempts += 1
    mail.last_error = f"{type(exc).__name__}: {exc}"[:2000]
    if mail.attempts >= MAX_ATTEMPTS:
        mail.next_attempt_at = None  # given up; kept with its error for the admin to see
    else:
        mail.next_attempt_at = now + BASE_BACKOFF * (2 ** (mail.attempts - 1))
