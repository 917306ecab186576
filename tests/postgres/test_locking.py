"""Optimistic locking on PostgreSQL: two writers holding the same version, exactly one wins.

What the loser gets depends on when it read the row: a writer that loaded the ticket *after*
the winner committed fails the service's version check (``Conflict``); a writer that loaded it
*before* passes that check with its stale copy and is stopped by the row's version column in
the UPDATE (SQLAlchemy's ``StaleDataError``), also when it was blocked on the winner's row lock.
Both reach people as HTTP 409 with nothing saved.
"""
from __future__ import annotations

import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa
from flask import request
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from servicedesk.accounts.models import User
from servicedesk.db import transaction
from servicedesk.errors import Conflict
from servicedesk.extensions import db
from servicedesk.tickets.models import Ticket, TicketEvent
from servicedesk.tickets.services import create_ticket, update_ticket
from tests.postgres.conftest import T0
from tests.postgres.scratch import make_app

pytestmark = pytest.mark.postgres


@pytest.fixture
def engine(pg_app):
    with pg_app.app_context():
        return db.engine


@pytest.fixture
def ticket_id(pg_app, people):
    with pg_app.app_context(), transaction(db.session):
        agent = db.session.get(User, people.agent)
        ticket = create_ticket(db.session, actor=agent, requester=agent, title="Belt 4 stopped",
                               description="Motor fault E17.", channel="phone", impact=2,
                               urgency=2, now=T0)
        ident = ticket.id
    with pg_app.app_context():
        db.session.remove()
    return ident


def rename(session: Session, ticket: Ticket, actor_id: int, title: str, version: int) -> None:
    with transaction(session):
        update_ticket(session, ticket, actor=session.get(User, actor_id), title=title,
                      expected_version=version, now=T0 + timedelta(minutes=5))


def stored(engine, ticket_id: int) -> tuple[str, int, list[str]]:
    with Session(engine) as session:
        ticket = session.get(Ticket, ticket_id)
        changes = session.scalars(sa.select(TicketEvent.new_value).where(
            TicketEvent.ticket_id == ticket_id, TicketEvent.field == "title")).all()
        return ticket.title, ticket.version, list(changes)


def test_loser_that_read_before_the_winner_committed_gets_stale_data(engine, ticket_id, people):
    with Session(engine) as a, Session(engine) as b:
        mine, theirs = a.get(Ticket, ticket_id), b.get(Ticket, ticket_id)
        version = mine.version
        assert theirs.version == version
        rename(a, mine, people.agent, "Belt 4 stopped: motor replaced", version)
        with pytest.raises(StaleDataError):
            rename(b, theirs, people.agent, "Belt 4 stopped: reset only", version)
    assert stored(engine, ticket_id) == ("Belt 4 stopped: motor replaced", version + 1,
                                         ["Belt 4 stopped: motor replaced"])


def test_loser_that_read_after_the_winner_committed_gets_conflict(engine, ticket_id, people):
    with Session(engine) as a:
        mine = a.get(Ticket, ticket_id)
        version = mine.version
        rename(a, mine, people.agent, "Belt 4 stopped: motor replaced", version)
    with Session(engine) as b:
        with pytest.raises(Conflict) as err:
            rename(b, b.get(Ticket, ticket_id), people.agent, "reset only", version)
        assert "version" in err.value.fields
    assert stored(engine, ticket_id)[0] == "Belt 4 stopped: motor replaced"


def test_concurrent_writers_blocked_on_the_row_lock_exactly_one_commits(engine, ticket_id,
                                                                         people):
    """B's UPDATE waits for A's row lock; when A commits, B's version no longer matches."""
    outcome: list[BaseException | None] = []
    with Session(engine) as a, Session(engine) as b:
        mine, theirs = a.get(Ticket, ticket_id), b.get(Ticket, ticket_id)
        version = mine.version
        b_pid = b.connection().exec_driver_sql("SELECT pg_backend_pid()").scalar()
        update_ticket(a, mine, actor=a.get(User, people.agent), title="A: motor replaced",
                      expected_version=version, now=T0 + timedelta(minutes=5))  # flushed: locked

        def writer_b() -> None:
            try:
                rename(b, theirs, people.agent, "B: reset only", version)
                outcome.append(None)
            except BaseException as exc:
                outcome.append(exc)

        thread = threading.Thread(target=writer_b)
        thread.start()
        # Wait (by polling the server, not the clock) until B is blocked on A's row lock.
        with engine.connect() as watcher:
            for _ in range(100_000):
                waiting = watcher.exec_driver_sql(
                    "SELECT wait_event_type FROM pg_stat_activity WHERE pid = %(pid)s",
                    {"pid": b_pid}).scalar()
                watcher.rollback()
                if waiting == "Lock" or not thread.is_alive():
                    break
        assert waiting == "Lock", "B should be blocked on A's row lock"
        a.commit()
        thread.join(timeout=30)
    assert len(outcome) == 1 and isinstance(outcome[0], StaleDataError)
    assert stored(engine, ticket_id) == ("A: motor replaced", version + 1, ["A: motor replaced"])


@pytest.fixture(scope="module")
def race_app(pg_url):
    """The real error handlers on a route that loses a race against another connection."""
    app = make_app(pg_url)

    def race(ticket_id: int, actor_id: int):
        ticket = db.session.get(Ticket, ticket_id)
        version = ticket.version
        with Session(db.engine) as other:  # someone else saves first
            rename(other, other.get(Ticket, ticket_id), actor_id, "Winner's title", version)
        with transaction(db.session):
            update_ticket(db.session, ticket, actor=db.session.get(User, actor_id),
                          title="Loser's title", expected_version=version,
                          now=T0 + timedelta(minutes=9))
        return {"saved": True} if request.path.startswith("/api/") else "saved"

    app.add_url_rule("/api/v1/_race/<int:ticket_id>/<int:actor_id>", "race_api", race,
                     methods=["POST"])
    app.add_url_rule("/_race/<int:ticket_id>/<int:actor_id>", "race_html", race)
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.mark.parametrize("path,status", [("/api/v1/_race", 409), ("/_race", 409)])
def test_a_stale_write_in_a_request_is_a_409_and_saves_nothing(race_app, engine, ticket_id,
                                                               people, path, status):
    client = race_app.test_client()
    url = f"{path}/{ticket_id}/{people.agent}"
    response = client.post(url) if path.startswith("/api/") else client.get(url)
    assert response.status_code == status
    if path.startswith("/api/"):
        assert response.get_json()["error"]["code"] == "conflict"
    else:
        assert b"reload it and try again" in response.data
    assert stored(engine, ticket_id)[:2] == ("Winner's title", 2)
