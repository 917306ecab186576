"""Concurrent publishers in separate processes, one indexer: every update indexed, no crash.

Each publisher is a process with its own app on a shared database (a temp SQLite file, or a
scratch PostgreSQL database under the ``postgres`` marker). Publishers create, publish and
edit articles as fast as they can, committing each change (outbox row included); one indexer
process drains the outbox in a loop meanwhile. At the end the index must hold every article
with its *last* title, the outbox must be empty, and every process must exit cleanly.
"""
from __future__ import annotations

import multiprocessing
import os
import time
from datetime import datetime, timezone

import pytest
import sqlalchemy as sa

import kb

PUBLISHERS = 3
ARTICLES_EACH = 5
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)


def marker(n: int, i: int) -> str:
    """A word found in exactly one article's final title."""
    return f"zq{chr(97 + n)}{chr(97 + i)}x"


def _app(url: str, index_dir: str):
    from tests.postgres.scratch import make_app

    return make_app(url, KB_INDEX_DIR=index_dir)


def _seed(url: str, index_dir: str) -> tuple[list[int], int]:
    """Schema, one author per publisher and a reviewer; returns (author ids, reviewer id)."""
    from servicedesk.accounts import services as accounts
    from servicedesk.accounts.models import Role
    from servicedesk.db import transaction
    from servicedesk.extensions import db

    app = _app(url, index_dir)
    with app.app_context():
        db.create_all()
        with transaction(db.session):
            authors = [accounts.create_user(db.session, email=f"author{i}@example.com",
                                            name=f"Author {i}", role=Role.agent, now=NOW)
                       for i in range(PUBLISHERS)]
            reviewer = accounts.create_user(db.session, email="reviewer@example.com",
                                            name="Reviewer", role=Role.expert, now=NOW)
            ids = [a.id for a in authors], reviewer.id
        db.engine.dispose()
    return ids


def publisher(url: str, index_dir: str, n: int, author_id: int, reviewer_id: int) -> None:
    """Create, publish and retitle ARTICLES_EACH articles, one commit per change."""
    from servicedesk.accounts.models import User
    from servicedesk.db import transaction
    from servicedesk.extensions import db
    from servicedesk.knowledge import services

    app = _app(url, index_dir)
    with app.app_context():
        author, reviewer = db.session.get(User, author_id), db.session.get(User, reviewer_id)
        for i in range(ARTICLES_EACH):
            with transaction(db.session):
                article = services.create_article(
                    db.session, actor=author, now=NOW, title=f"draft p{n} a{i}",
                    symptoms="Gate printer jams", resolution=f"Fix number {n} {i}")
            with transaction(db.session):
                services.publish(db.session, article, actor=reviewer, now=NOW)
            with transaction(db.session):
                services.update_article(db.session, article, actor=reviewer, now=NOW,
                                        title=f"final p{n} a{i} {marker(n, i)}")
        db.engine.dispose()


def indexer(url: str, index_dir: str, stop_file: str) -> None:
    """Drain until told to stop and the outbox is empty."""
    from servicedesk.extensions import db
    from servicedesk.knowledge import indexing

    app = _app(url, index_dir)
    with app.app_context():
        while True:
            stopping = os.path.exists(stop_file)
            indexing.drain(db.session, now=NOW, index_dir=index_dir, commit=db.session.commit)
            db.session.commit()
            if stopping and indexing.pending_count(db.session) == 0:
                break
            db.session.commit()
            time.sleep(0.05)
        db.engine.dispose()


def run_scenario(url: str, tmp_path) -> None:
    index_dir, stop_file = str(tmp_path / "kb"), str(tmp_path / "stop")
    authors, reviewer = _seed(url, index_dir)
    ctx = multiprocessing.get_context("fork")  # children build their own apps
    idx = ctx.Process(target=indexer, args=(url, index_dir, stop_file))
    pubs = [ctx.Process(target=publisher, args=(url, index_dir, n, authors[n], reviewer))
            for n in range(PUBLISHERS)]
    idx.start()
    for p in pubs:
        p.start()
    for p in pubs:
        p.join(240)
    open(stop_file, "w").close()
    idx.join(240)
    assert [p.exitcode for p in pubs] == [0] * PUBLISHERS
    assert idx.exitcode == 0

    engine = sa.create_engine(url)
    with engine.connect() as conn:
        titles = dict(conn.execute(sa.text("SELECT id, title FROM articles")).all())
        pending = conn.execute(sa.text("SELECT count(*) FROM index_outbox")).scalar()
    engine.dispose()
    assert len(titles) == PUBLISHERS * ARTICLES_EACH and pending == 0
    index = kb.open_index(index_dir)
    assert index.ids() == set(titles)
    for article_id, title in titles.items():
        marker = title.split()[-1]
        hits = index.search(marker, now=NOW, statuses={"published"}).hits
        assert [h.id for h in hits] == [article_id], title
        assert hits[0].title == title
    index.close()


def test_concurrent_publishers_sqlite(tmp_path):
    run_scenario(f"sqlite:///{tmp_path / 'desk.db'}", tmp_path)


@pytest.mark.postgres
def test_concurrent_publishers_postgresql(tmp_path):
    from tests.postgres.scratch import scratch_database, unreachable_reason

    reason = unreachable_reason()
    if reason:
        pytest.skip(reason)
    with scratch_database("sd_kbconc") as url:
        run_scenario(url, tmp_path)
