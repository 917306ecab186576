"""Notices and e-mail, delivered to a real SMTP server (aiosmtpd) started by the test."""
import socket
from datetime import timedelta

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller

from servicedesk.notifications import services as notes
from servicedesk.notifications.models import OutboundEmail


class Inbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.rcpt_tos, envelope.content.decode()))
        return "250 OK"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp_server():
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller, inbox
    controller.stop()


def settings(port):
    return notes.SmtpSettings(host="127.0.0.1", port=port, sender="desk@example.com",
                              timeout=5)


def test_notify_writes_one_notice_per_user_and_an_outbox_mail(db, make, clock):
    a, b = make.agent(), make.agent()
    made = notes.notify(db, [a, b, a, None], kind="sla_warning", title="INC-1 at 50%",
                        body="half way", now=clock.now())
    assert [n.user for n in made] == [a, b]
    assert notes.unread_count(db, a) == 1
    mails = db.scalars(sa.select(OutboundEmail.to_address).order_by(OutboundEmail.id)).all()
    assert mails == [a.email, b.email]
    assert notes.mark_read(db, a, now=clock.now()) == 1 and notes.unread_count(db, a) == 0


@pytest.mark.smtp
def test_pending_mail_is_delivered_over_smtp(db, make, clock, smtp_server):
    controller, inbox = smtp_server
    agent = make.agent()
    notes.notify(db, [agent], kind="sla_breach", title="INC-000042: Resolution SLA breached",
                 body="Radar display frozen", now=clock.now())
    assert notes.send_pending(db, settings(controller.port), now=clock.now()) == (1, 0)
    [(rcpt, content)] = inbox.messages
    assert rcpt == [agent.email]
    assert "Subject: INC-000042: Resolution SLA breached" in content
    assert "Radar display frozen" in content
    assert notes.send_pending(db, settings(controller.port), now=clock.now()) == (0, 0)


@pytest.mark.smtp
def test_failed_mail_is_kept_and_retried_with_backoff(db, make, clock, smtp_server):
    controller, inbox = smtp_server
    agent = make.agent()
    notes.notify(db, [agent], kind="sla_breach", title="t", body="b", now=clock.now())
    dead_port = free_port()  # nothing listens there
    assert notes.send_pending(db, settings(dead_port), now=clock.now()) == (0, 1)
    mail = db.scalar(sa.select(OutboundEmail))
    assert mail.attempts == 1 and mail.sent_at is None and "Error" in mail.last_error
    assert mail.next_attempt_at == clock.now() + timedelta(minutes=1)
    # not due yet: nothing is tried
    assert notes.send_pending(db, settings(controller.port), now=clock.now()) == (0, 0)
    clock.advance(minutes=1)
    assert notes.send_pending(db, settings(controller.port), now=clock.now()) == (1, 0)
    assert mail.sent_at == clock.now() and len(inbox.messages) == 1
