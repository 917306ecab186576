"""The outbox keeps the index in step: drain, failures and crashes, rebuild, damaged index."""
from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

import kb
from servicedesk.knowledge import indexing, services
from servicedesk.knowledge.models import Article, IndexOutbox, OutboxOp
from servicedesk.scheduler import run_kb_index
from servicedesk.sla.models import SchedulerHeartbeat


def rows(db):
    return list(db.scalars(sa.select(IndexOutbox).order_by(IndexOutbox.id)))


def ids(path, query, **filters):
    index = kb.open_index(path)
    try:
        return [h.id for h in index.search(query, now=indexing_now(), **filters).hits]
    finally:
        index.close()


def indexing_now():
    from tests.conftest import START
    return START


def corpus(make):
    """A few published articles (English and Chinese) plus a draft."""
    return [
        make.article(publish=True, title="VPN disconnects every hour",
                     symptoms="The VPN client drops the tunnel after sixty minutes.",
                     resolution="Renew the token.", tags=["vpn"]),
        make.article(publish=True, title="打印机卡纸", symptoms="登机牌打印机经常卡纸。",
                     resolution="打开纸盒，取出卡住的纸。", language="zh"),
        make.article(publish=True, title="Baggage belt stops", audience="public",
                     symptoms="Belt 4 stops when a bag tag is unreadable.",
                     resolution="Restart the scanner."),
        make.article(title="Draft about radar display flicker", resolution="Swap the cable."),
    ]


def test_drain_applies_and_coalesces_in_one_pass(db, make, drain, kb_dir):
    articles = corpus(make)
    assert len(rows(db)) == 7  # 4 creations + 3 publications
    result = drain()
    assert (result.applied, result.upserted, result.failed) == (7, 4, 0)
    assert rows(db) == []
    assert ids(kb_dir, "vpn") == [articles[0].id]
    assert ids(kb_dir, "卡纸") == [articles[1].id]
    assert ids(kb_dir, "radar", statuses={"draft"}) == [articles[3].id]
    assert drain().applied == 0  # nothing left: idempotent


def test_retired_articles_leave_the_index(db, make, clock, drain, kb_dir):
    article = make.article(publish=True, title="Fuel pump gauge reads zero")
    drain()
    services.retire(db, article, actor=make.manager(), now=clock.now())
    result = drain()
    assert result.deleted == 1
    assert ids(kb_dir, "fuel pump") == []


def test_failed_write_keeps_rows_and_the_next_drain_catches_up(db, make, clock, drain, kb_dir,
                                                                monkeypatch):
    article = make.article(publish=True, title="Cargo scale drifts")
    real_upsert = kb.KnowledgeIndex.upsert

    def broken(self, docs, **kw):
        raise OSError("disk full")

    monkeypatch.setattr(kb.KnowledgeIndex, "upsert", broken)
    result = drain()
    assert result.failed == 2 and "disk full" in result.errors[0]
    kept = rows(db)
    assert [(r.article_id, r.attempts) for r in kept] == [(article.id, 1), (article.id, 1)]
    assert all("disk full" in r.last_error for r in kept)
    assert all(r.retry_at == clock.now() + timedelta(seconds=2) for r in kept)

    monkeypatch.setattr(kb.KnowledgeIndex, "upsert", real_upsert)
    assert drain().applied == 0  # backing off: not yet due
    clock.advance(seconds=2)
    assert drain().applied == 2
    assert rows(db) == [] and ids(kb_dir, "cargo scale") == [article.id]


def test_crash_after_the_index_write_loses_nothing(db, make, clock, drain, kb_dir):
    """The process dies after writing the index but before committing the deletions."""
    article = make.article(publish=True, title="Docking guidance shows wrong stand")
    crashed = db.begin_nested()
    drain()
    crashed.rollback()  # the database never saw the deletions
    assert len(rows(db)) == 2
    services.update_article(db, article, actor=make.expert(), now=clock.now(),
                            title="Docking guidance shows the wrong stand number")
    drain()
    assert rows(db) == []
    assert ids(kb_dir, "stand number") == [article.id]
    assert kb.open_index(kb_dir).doc_count() == 1


def test_rows_written_during_a_drain_survive_it(db, make, clock, drain, kb_dir, monkeypatch):
    article = make.article(publish=True, title="Catering truck lift stuck")
    real_load = indexing._load_articles

    def publisher_meanwhile(session, ids):
        loaded = real_load(session, ids)
        # another worker edits the article after the drain read its state
        session.add(IndexOutbox(article_id=article.id, op=OutboxOp.upsert,
                                created_at=clock.now(), attempts=0))
        session.execute(sa.update(Article).where(Article.id == article.id)
                        .values(title="Catering truck lift stuck halfway")
                        .execution_options(synchronize_session=False))
        return loaded

    monkeypatch.setattr(indexing, "_load_articles", publisher_meanwhile)
    drain(max_batches=1)
    monkeypatch.setattr(indexing, "_load_articles", real_load)
    assert [r.article_id for r in rows(db)] == [article.id]
    assert ids(kb_dir, "halfway") == []
    drain()
    assert ids(kb_dir, "halfway") == [article.id]


def test_one_invalid_article_does_not_block_the_others(db, make, drain, kb_dir):
    good = make.article(publish=True, title="Tower radio hiss")
    bad = make.article(publish=True, title="Runway lights flicker")
    db.execute(sa.update(Article).where(Article.id == bad.id).values(language="en,zh"))
    result = drain()
    assert result.failed == 1 and "language" in result.errors[0]
    assert {r.article_id for r in rows(db)} == {bad.id}
    assert ids(kb_dir, "tower radio") == [good.id]


def test_rebuild_equals_incremental(db, make, clock, drain, kb_dir, tmp_path):
    articles = corpus(make)
    services.vote(db, articles[0], actor=make.agent(), helpful=True, now=clock.now())
    services.retire(db, articles[2], actor=make.manager(), now=clock.now())
    drain()
    rebuilt = tmp_path / "rebuilt"
    assert indexing.rebuild(db, index_dir=rebuilt, now=clock.now()) == 3
    for query in ("vpn", "卡纸", "belt", "radar", "token OR 纸"):
        for statuses in ({"published"}, None):
            a = kb.open_index(kb_dir).search(query, now=clock.now(), statuses=statuses)
            b = kb.open_index(rebuilt).search(query, now=clock.now(), statuses=statuses)
            assert [(h.id, round(h.score, 6)) for h in a.hits] == \
                [(h.id, round(h.score, 6)) for h in b.hits], query
    assert kb.open_index(kb_dir).ids() == kb.open_index(rebuilt).ids()


def test_rebuild_clears_the_rows_it_covers_and_nothing_else(db, make, clock, kb_dir):
    article = make.article(publish=True)
    progress = []
    count = indexing.rebuild(db, index_dir=kb_dir, now=clock.now(), progress=progress.append)
    assert count == 1 and progress == [1] and rows(db) == []
    db.expire_all()
    assert db.scalars(sa.select(Article.title)).all() == [article.title]  # still in the DB


@pytest.mark.parametrize("damage", ["pointer", "segments"])
def test_damaged_index_says_rebuilding_then_recovers(app, db, make, clock, drain, kb_dir, damage):
    article = make.article(publish=True, title="Boarding gate reader rejects passes")
    drain()
    agent = make.agent()
    with app.app_context():
        assert [h.id for h in services.search(db, agent, "gate reader", now=clock.now()).hits] \
            == [article.id]
        if damage == "pointer":
            (kb_dir / "CURRENT").write_bytes(b"\x00garbage")
        else:  # damaged while no process had it open (files rewritten under an mmap crash)
            indexing.forget_index(app)
            generation = (kb_dir / "CURRENT").read_text().split()[0]
            for path in (kb_dir / generation).iterdir():
                path.write_bytes(b"x")
        outcome = services.search(db, agent, "gate reader", now=clock.now())
        assert outcome.rebuilding and outcome.hits == []
        assert [r.op for r in rows(db)] == [OutboxOp.rebuild]
        services.search(db, agent, "gate reader", now=clock.now())
        assert len(rows(db)) == 1  # one rebuild request, however many searches fail
        result = drain()
        assert result.rebuilt == 1 and rows(db) == []
        outcome = services.search(db, agent, "gate reader", now=clock.now())
        assert not outcome.rebuilding and [h.id for h in outcome.hits] == [article.id]


def test_drain_rebuilds_an_unreadable_index_by_itself(db, make, drain, kb_dir):
    make.article(publish=True)
    kb_dir.mkdir()
    (kb_dir / "CURRENT").write_text("gen-000042 0.0\n")
    result = drain()
    assert result.rebuilt == 1 and rows(db) == []
    assert kb.open_index(kb_dir).doc_count() == 1


def test_search_hits_are_rechecked_against_the_database(app, db, make, clock, drain):
    article = make.article(publish=True, title="Fuel truck radio silent")
    drain()
    services.retire(db, article, actor=make.manager(), now=clock.now())  # not drained yet
    with app.app_context():
        outcome = services.search(db, make.agent(), "fuel truck", now=clock.now())
        assert outcome.results.total == 1 and outcome.hits == []


def test_role_filters_in_search(app, db, make, clock, drain):
    articles = corpus(make)
    drain()
    with app.app_context():
        def found(user, query, **kw):
            return [h.id for h in services.search(db, user, query, now=clock.now(), **kw).hits]

        requester, agent, expert = make.requester(), make.agent(), make.expert()
        assert found(requester, "belt") == [articles[2].id]
        assert found(requester, "vpn") == []
        assert found(agent, "vpn") == [articles[0].id]
        assert found(agent, "radar", statuses=["draft"]) == []  # agents: published only
        assert found(expert, "radar", statuses=["draft"]) == [articles[3].id]
        hit = services.search(db, agent, "vpn", now=clock.now()).hits[0]
        assert "<mark>" in hit.title_html


def test_scheduler_job_drains_and_beats(app, db, make, kb_dir):
    make.article(publish=True, title="Fire alarm panel beeps")
    db.commit()
    detail = run_kb_index(app)
    assert detail.startswith("2 applied")
    assert rows(db) == []
    assert db.get(SchedulerHeartbeat, "kb_index").detail == detail
    assert [h for h in kb.open_index(kb_dir).search("alarm", now=indexing_now()).hits]


def test_cli_rebuild_prints_progress(app, db, make, kb_dir):
    make.article(publish=True)
    make.article(publish=True, title="Second article")
    db.commit()
    result = app.test_cli_runner().invoke(args=["sd", "kb-rebuild"])
    assert result.exit_code == 0, result.output
    assert "Indexed 2 articles" in result.output
    assert kb.open_index(kb_dir).doc_count() == 2
    result = app.test_cli_runner().invoke(args=["sd", "kb-sync"])
    assert result.exit_code == 0 and "0 applied" in result.output


def test_a_rebuild_does_not_lock_sqlite_writers_out(tmp_path):
    """The indexer's rebuild keeps no transaction open while the index is built: another
    process can write to the SQLite file meanwhile (every transaction here takes the write
    lock, so a rebuild inside one would block the whole desk for its duration)."""
    import sqlite3

    from servicedesk.accounts import services as accounts
    from servicedesk.accounts.models import Role
    from servicedesk.db import transaction
    from servicedesk.extensions import db as ext_db
    from tests.conftest import START
    from tests.postgres.scratch import make_app

    path = tmp_path / "desk.db"
    app = make_app(f"sqlite:///{path}", KB_INDEX_DIR=str(tmp_path / "kb"))
    with app.app_context():
        ext_db.create_all()
        with transaction(ext_db.session):
            author = accounts.create_user(ext_db.session, email="a@example.com", name="A",
                                          role=Role.agent, now=START)
            for i in range(3):
                services.create_article(ext_db.session, actor=author, now=START,
                                        title=f"Article {i}", resolution="Fix")
        writes = []

        def other_writer(count):
            other = sqlite3.connect(path, timeout=0.2, isolation_level=None)
            try:
                other.execute("BEGIN IMMEDIATE")
                other.execute("UPDATE articles SET view_count = view_count + 1")
                other.execute("COMMIT")
                writes.append(count)
            finally:
                other.close()

        count = indexing.rebuild(ext_db.session, index_dir=tmp_path / "kb", now=START,
                                 progress=other_writer, commit=ext_db.session.commit)
        assert count == 3 and writes == [3]
        assert indexing.pending_count(ext_db.session) == 0
        ext_db.session.remove()
        ext_db.engine.dispose()
