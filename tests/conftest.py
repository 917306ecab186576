"""Fixtures: one app and schema per session, each test inside a transaction rolled back.

The database is SQLite in memory unless TEST_DATABASE_URL points elsewhere (CI also runs the
suite on PostgreSQL that way). Tests never keep an application context pushed, so every test
request gets a fresh one, as in production; ``db`` is usable without one.
"""
from __future__ import annotations

import smtplib
from datetime import datetime, timezone

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import scoped_session, sessionmaker

from servicedesk import create_app
from servicedesk.clock import FrozenClock
from servicedesk.config import TestingConfig
from servicedesk.extensions import db as _db
from tests import factories

START = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)  # a Monday, 09:00 UTC


@pytest.fixture(scope="session")
def app():
    app = create_app(TestingConfig, clock=FrozenClock(START))
    with app.app_context():
        if _db.engine.dialect.name == "postgresql":
            _db.drop_all()
        _db.create_all()
    yield app
    with app.app_context():
        _db.session.remove()
        if _db.engine.dialect.name == "postgresql":
            _db.drop_all()
        _db.engine.dispose()


class _RequestScopedSession(scoped_session):
    """Ends each request the way production does (uncommitted work rolled back), but keeps
    the session, so objects a test made stay usable."""

    def remove(self) -> None:
        if self.registry.has():
            self.registry().rollback()


class _Client(FlaskClient):
    def open(self, *args, **kwargs):
        _db.session.commit()  # the test's own setup is "earlier, committed" work (a savepoint)
        return super().open(*args, **kwargs)


@pytest.fixture
def db(app):
    """A session inside an outer transaction rolled back after the test."""
    with app.app_context():
        engine = _db.engine
    connection = engine.connect()
    outer = connection.begin()
    original = _db.session
    _db.session = _RequestScopedSession(
        sessionmaker(bind=connection, join_transaction_mode="create_savepoint"))
    try:
        yield _db.session
    finally:
        _db.session.registry().close()
        _db.session = original
        outer.rollback()
        connection.close()


@pytest.fixture
def clock(app) -> FrozenClock:
    clock = app.extensions["clock"]
    clock.set(START)
    return clock


@pytest.fixture
def client(app, db, clock):
    app.test_client_class = _Client
    return app.test_client()


@pytest.fixture
def login_as(client):
    """``login_as(user)`` makes the client's session belong to ``user``."""

    def _login(user):
        with client.session_transaction() as sess:
            sess["_user_id"] = str(user.id)
            sess["_fresh"] = True
        return client

    return _login


@pytest.fixture
def make(db, clock):
    """Factories bound to this test's session and clock: ``make.user(role=...)`` etc."""
    return factories.Factories(db, clock)


@pytest.fixture(autouse=True)
def _no_smtp(monkeypatch, request):
    """Fail any SMTP connection a test did not ask for (tests marked ``smtp`` may connect)."""
    if request.node.get_closest_marker("smtp"):
        return

    def refuse(*args, **kwargs):
        raise AssertionError("unexpected SMTP connection in a test")

    monkeypatch.setattr(smtplib.SMTP, "connect", refuse)
