"""Ticket numbers under parallel creators on PostgreSQL: unique, increasing, gap-tolerant."""
from __future__ import annotations

import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa

from servicedesk.accounts.models import User
from servicedesk.db import transaction
from servicedesk.extensions import db
from servicedesk.tickets.models import EventKind, Ticket, TicketEvent, format_number
from servicedesk.tickets.services import create_ticket
from tests.postgres.conftest import T0

pytestmark = pytest.mark.postgres

CREATORS = 8
PER_CREATOR = 25
#: Every creator abandons each ROLLBACK_EVERY-th transaction after its number was drawn.
ROLLBACK_EVERY = 6


class Abandon(Exception):
    """Raised inside a creation transaction to roll it back after the insert."""


def test_parallel_creators_get_unique_increasing_gap_tolerant_numbers(pg_app, people):
    barrier = threading.Barrier(CREATORS)
    committed: dict[int, list[int]] = {}
    abandoned: dict[int, list[int]] = {}
    errors: list[BaseException] = []

    def creator(n: int) -> None:
        mine, dropped = [], []
        try:
            with pg_app.app_context():
                session = db.session  # one session per thread: each thread has its own context
                agent = session.get(User, people.agent)
                requester = session.get(User, people.requester)
                session.commit()
                barrier.wait(timeout=30)
                for i in range(PER_CREATOR):
                    ticket_id = None
                    try:
                        with transaction(session):
                            ticket = create_ticket(
                                session, actor=agent, requester=requester,
                                title=f"creator {n} ticket {i}",
                                description="Parallel intake on PostgreSQL.",
                                channel="monitoring", impact=2, urgency=2,
                                now=T0 + timedelta(seconds=i))
                            ticket_id = ticket.id
                            if i % ROLLBACK_EVERY == ROLLBACK_EVERY - 1:
                                raise Abandon
                    except Abandon:
                        dropped.append(ticket_id)
                    else:
                        mine.append(ticket_id)
                db.session.remove()
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)
        committed[n], abandoned[n] = mine, dropped

    threads = [threading.Thread(target=creator, args=(n,)) for n in range(CREATORS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    assert not any(thread.is_alive() for thread in threads)

    expected_per_creator = PER_CREATOR - PER_CREATOR // ROLLBACK_EVERY
    with pg_app.app_context():
        rows = db.session.execute(sa.select(Ticket.id, Ticket.title).where(
            Ticket.title.like("creator %"))).all()
        events = db.session.execute(sa.select(TicketEvent.ticket_id, TicketEvent.kind)).all()
        db.session.remove()

    # Every committed ticket is there exactly once, with a unique number; nothing else is.
    ids = [row.id for row in rows]
    numbers = [format_number(i) for i in ids]
    assert len(rows) == CREATORS * expected_per_creator
    assert len(set(numbers)) == len(numbers)
    assert sorted(ids) == sorted(i for mine in committed.values() for i in mine)
    # Per creator, numbers strictly increase in the order the creator made them.
    for n in range(CREATORS):
        assert len(committed[n]) == expected_per_creator
        assert committed[n] == sorted(committed[n]) and len(set(committed[n])) == len(committed[n])
        own = sorted((int(title.rsplit(" ", 1)[1]), i) for i, title in rows
                     if title.startswith(f"creator {n} "))
        assert [i for _, i in own] == committed[n]
    # Rolled-back creations left gaps in the numbering and nothing else: no row, no event.
    dropped = {i for ids_ in abandoned.values() for i in ids_}
    assert len(dropped) == CREATORS * (PER_CREATOR // ROLLBACK_EVERY)
    assert not dropped & set(ids)
    assert dropped & set(range(min(ids), max(ids)))  # real gaps inside the used range
    assert {t for t, _ in events} == set(ids)
    assert sum(1 for _, kind in events if kind is EventKind.created) == len(ids)
    # The creators really ran at the same time: their number ranges interleave.
    spans = sorted((min(c), max(c)) for c in committed.values())
    assert any(later[0] < earlier[1] for earlier, later in zip(spans, spans[1:]))
