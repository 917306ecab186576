"""PostgreSQL-only tests: each module gets a scratch database of its own.

Unlike the rollback-per-test ``db`` fixture, these tests commit for real from several
connections at once (numbering under concurrency, row locks, optimistic locking), so they need
a database nobody else writes to. It is created per module and dropped after; the tests are
skipped with the reason when the server cannot be reached.
"""
from __future__ import annotations

from datetime import datetime, timezone
from types import SimpleNamespace

import pytest

from servicedesk.accounts import services as accounts
from servicedesk.accounts.models import Role
from servicedesk.db import transaction
from servicedesk.extensions import db
from tests.postgres.scratch import make_app, scratch_database, unreachable_reason

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def pg_url():
    reason = unreachable_reason()
    if reason:
        pytest.skip(reason)
    with scratch_database("sd_pgtest") as url:
        yield url


@pytest.fixture(scope="module")
def pg_app(pg_url):
    """An app on the module's scratch database, schema created, pool big enough for threads."""
    app = make_app(pg_url, SQLALCHEMY_ENGINE_OPTIONS={"pool_size": 12, "max_overflow": 4,
                                                      "pool_pre_ping": True})
    with app.app_context():
        db.create_all()
    try:
        yield app
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture(scope="module")
def people(pg_app):
    """An agent and a requester, committed (ids only: sessions belong to each test's threads)."""
    with pg_app.app_context(), transaction(db.session):
        agent = accounts.create_user(db.session, email="pg.agent@example.com", name="PG Agent",
                                     role=Role.agent, now=T0)
        requester = accounts.create_user(db.session, email="pg.caller@example.com",
                                         name="PG Caller", role=Role.requester, now=T0)
        ids = SimpleNamespace(agent=agent.id, requester=requester.id)
    with pg_app.app_context():
        db.session.remove()
    return ids
