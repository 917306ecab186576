"""The per-process reference cache (servicedesk/refcache.py): when it serves, when it reloads.

These tests use a database file of their own with real commits and rollbacks (the rollback-per-
test ``db`` fixture never really commits), and the process-wide cache instance the app uses.
"""
from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from servicedesk.catalog.models import PriorityRule
from servicedesk.extensions import db as _db
from servicedesk.refcache import reference_cache


@pytest.fixture
def engine(tmp_path, app):  # noqa: ARG001  (app: every model is imported and watched)
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'refcache.db'}")
    _db.metadata.create_all(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def cache(monkeypatch):
    monkeypatch.setattr(reference_cache, "ttl", 3600.0)
    return reference_cache


class Loader:
    """Loads the stored (1, 1) cell of the matrix and counts its calls."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, session: Session) -> int | None:
        self.calls += 1
        return session.scalar(sa.select(PriorityRule.priority).where(
            PriorityRule.impact == 1, PriorityRule.urgency == 1))


def store_rule(engine, priority: int) -> None:
    with Session(engine) as session, session.begin():
        rule = session.get(PriorityRule, (1, 1))
        if rule is None:
            session.add(PriorityRule(impact=1, urgency=1, priority=priority))
        else:
            rule.priority = priority


def test_loads_once_while_nothing_changes(engine, cache):
    store_rule(engine, 1)
    load = Loader()
    for _ in range(3):
        with Session(engine) as session, session.begin():
            assert cache.get(session, "cell", load) == 1
    assert load.calls == 1


def test_a_commit_in_this_process_is_seen_by_the_next_read(engine, cache):
    store_rule(engine, 1)
    load = Loader()
    with Session(engine) as session:
        assert cache.get(session, "cell", load) == 1
    store_rule(engine, 2)
    with Session(engine) as session:
        assert cache.get(session, "cell", load) == 2
    assert load.calls == 2


def test_the_writing_transaction_sees_its_change_and_others_never_see_it_cached(engine, cache):
    store_rule(engine, 1)
    load = Loader()
    with Session(engine) as writer, Session(engine) as reader:
        writer.get(PriorityRule, (1, 1)).priority = 3
        writer.flush()
        assert cache.get(writer, "cell", load) == 3  # its own uncommitted change
        assert cache.get(writer, "cell", load) == 3
        assert load.calls == 2  # ... never from (nor into) the cache
        writer.rollback()
        assert cache.get(reader, "cell", load) == 1
        assert cache.get(writer, "cell", load) == 1
    assert load.calls == 3


def test_unflushed_changes_are_flushed_by_the_load_not_hidden_by_the_cache(engine, cache):
    store_rule(engine, 1)
    load = Loader()
    with Session(engine) as session:
        assert cache.get(session, "cell", load) == 1
        session.get(PriorityRule, (1, 1)).priority = 4  # pending, not flushed
        assert cache.get(session, "cell", load) == 4
        session.rollback()
    with Session(engine) as session:
        assert cache.get(session, "cell", load) == 1
    assert load.calls == 3


def test_orm_bulk_statements_invalidate_too(engine, cache):
    store_rule(engine, 1)
    load = Loader()
    with Session(engine) as session:
        assert cache.get(session, "cell", load) == 1
        session.execute(sa.update(PriorityRule).values(priority=2))
        assert cache.get(session, "cell", load) == 2
        session.commit()
    with Session(engine) as session:
        assert cache.get(session, "cell", load) == 2
        assert cache.get(session, "cell", load) == 2
    assert load.calls == 3


def test_entries_expire_after_the_ttl(engine, cache, monkeypatch):
    """Another process's commit is seen once the entry is older than the ttl."""
    store_rule(engine, 1)
    load = Loader()
    with Session(engine) as session:
        assert cache.get(session, "cell", load) == 1
    with engine.begin() as conn:  # like another process: Core, no ORM events
        conn.execute(sa.text("UPDATE priority_rules SET priority = 2"))
    with Session(engine) as session:
        assert cache.get(session, "cell", load) == 1  # within the ttl: the cached value
    monkeypatch.setattr(reference_cache, "ttl", 0.0)
    with Session(engine) as session:
        assert cache.get(session, "cell", load) == 2
    assert load.calls == 2


def test_a_value_loaded_while_someone_wrote_is_not_stored(engine, cache):
    store_rule(engine, 1)
    calls = []

    def racing_load(session):
        calls.append(1)
        cache.clear()  # a write committed while this load ran
        return "stale"

    with Session(engine) as session:
        assert cache.get(session, "race", racing_load) == "stale"
        assert cache.get(session, "race", racing_load) == "stale"
    assert len(calls) == 2


def test_databases_do_not_share_values(engine, cache, tmp_path):
    other = sa.create_engine(f"sqlite:///{tmp_path / 'other.db'}")
    _db.metadata.create_all(other)
    try:
        store_rule(engine, 1)
        store_rule(other, 2)
        with Session(engine) as a, Session(other) as b:
            assert cache.get(a, "cell", Loader()) == 1
            assert cache.get(b, "cell", Loader()) == 2
    finally:
        other.dispose()
