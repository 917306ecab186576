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
from servicedesk.db import insert_rows

MAX_ATTEMPTS = 8
BASE_BACKOFF = timedelta(minutes=1)


def notify(session: Session, users: Iterable[User | None], *, kind: str, title: str,
           body: str, now: datetime, ticket=None, email: bool = True) -> list[Notification]:
    """One in-app notice per distinct active user, plus an e-mail in the outbox. Flushes."""
    made: list[Notification] = []
    for user in recipients(users):
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


def recipients(users: Iterable[User | None]) -> list[User]:
    """Who a notice goes to: each active user once, in the order given (None skipped)."""
    seen: set[int] = set()
    out: list[User] = []
    for user in users:
        if user is not None and user.id not in seen and user.is_active:
            seen.add(user.id)
            out.append(user)
    return out


class NoticeBatch:
    """Notices collected during a batch job (the SLA sweep) and written by ``write`` with one
    INSERT for the notices and one for their e-mails: the same rows ``notify`` makes, without
    an ORM object and a flush per notice."""

    def __init__(self) -> None:
        #: (notice columns, e-mail address or None, e-mail subject)
        self._rows: list[tuple[dict, str | None, str]] = []

    def add(self, users: Iterable[User | None], *, kind: str, title: str, body: str,
            now: datetime, ticket=None, email: bool = True) -> int:
        """Queue one notice per recipient (see ``notify``); returns how many."""
        made = recipients(users)
        for user in made:
            self._rows.append(({"user_id": user.id, "kind": kind, "title": title[:200],
                                "ticket_id": ticket.id if ticket is not None else None,
                                "body": body, "created_at": now},
                               user.email if email else None, title[:250]))
        return len(made)

    def write(self, session: Session) -> int:
        """Insert the queued notices and their e-mails in the session's transaction; returns
        how many notices."""
        if not self._rows:
            return 0
        table = Notification.__table__
        ids = _new_ids(session, table, len(self._rows))
        insert_rows(session, table, [{"id": notice_id, **row}
                                     for notice_id, (row, _, _) in zip(ids, self._rows)])
        mails = [{"to_address": address, "subject": subject, "body_text": row["body"],
                  "notification_id": notice_id, "created_at": row["created_at"], "attempts": 0,
                  "next_attempt_at": row["created_at"]}
                 for (row, address, subject), notice_id in zip(self._rows, ids, strict=True)
                 if address]
        insert_rows(session, OutboundEmail.__table__, mails)
        count, self._rows = len(self._rows), []
        return count


def _new_ids(session: Session, table: sa.Table, count: int) -> list[int]:
    """Ids for ``count`` new rows, taken before a bulk INSERT so that it needs no RETURNING
    (SQLite cannot return a multi-row INSERT's ids in order, so SQLAlchemy would insert row by
    row): from the id sequence on PostgreSQL; above the current maximum on SQLite, where the
    transaction holds the write lock from its start (``BEGIN IMMEDIATE``), so nobody else can
    take them before it commits."""
    if session.get_bind().dialect.name == "postgresql":
        sequence = sa.func.pg_get_serial_sequence(table.name, "id")
        return list(session.scalars(sa.select(sa.func.nextval(sequence))
                                    .select_from(sa.func.generate_series(1, count))))
    start = session.scalar(sa.select(sa.func.coalesce(sa.func.max(table.c.id), 0)))
    return list(range(start + 1, start + 1 + count))


def unread_count(session: Session, user: User) -> int:
    return session.scalar(sa.select(sa.func.count(Notification.id)).where(
        Notification.user_id == user.id, Notification.read_at.is_(None))) or 0


def recent(session: Session, user: User, limit: int = 20, *,
           unread_only: bool = False) -> list[Notification]:
    """The user's newest notices first (only unread ones if asked)."""
    stmt = sa.select(Notification).where(Notification.user_id == user.id)
    if unread_only:
        stmt = stmt.where(Notification.read_at.is_(None))
    return list(session.scalars(stmt.order_by(Notification.id.desc()).limit(limit)))


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
