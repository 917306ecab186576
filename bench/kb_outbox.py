"""Knowledge base, database side: publishing through the outbox, draining it, rebuilding.

For each database (a temporary SQLite file; a scratch PostgreSQL database with --db postgresql
or both) it measures:

1. publish: ``--publish`` articles created and published through the services, one commit per
   change (what a web request does: article row, version, outbox row). Reports commits/s.
2. drain: the indexer applying those outbox rows to an index holding ``--articles`` articles
   (rows/s, and the time until the outbox is empty).
3. rebuild: ``indexing.rebuild`` of all articles from the database into a new generation
   (articles/s; the index is swapped in when complete).

Figures move a lot with machine load; state the load (uptime) with them.

    python bench/kb_outbox.py                          # SQLite, 20,000 articles
    python bench/kb_outbox.py --db both --articles 100000 --procs 2
"""
from __future__ import annotations

import argparse
import contextlib
import os
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
WORDS = ("printer jams gate boarding pass kiosk frozen baggage belt stops radar display "
         "flickers fuel order missing wifi login page badge rejected door tower radio hiss "
         "docking guidance stand cargo scale weight catering count").split()
CHINESE = ("打印机 卡纸 登机牌 行李 传送带 无线网络 登录 门禁 航油 订单 雷达 显示").split()


def _text(i: int, n: int) -> str:
    words = [WORDS[(i * 7 + k * 13) % len(WORDS)] for k in range(n)]
    if i % 4 == 0:
        words += [CHINESE[(i + k) % len(CHINESE)] for k in range(3)]
    return " ".join(words)


def _bulk_articles(app, count: int, author_id: int) -> None:
    """Insert ``count`` published articles with plain INSERTs (the fast way to a big corpus)."""
    from servicedesk.extensions import db
    from servicedesk.knowledge.models import Article

    with app.app_context():
        for start in range(0, count, 5000):
            rows = [dict(title=f"{_text(i, 5)} #{i}", symptoms=_text(i + 1, 25), cause="",
                         resolution=_text(i + 2, 30), body=_text(i + 3, 60), tags=["bench"],
                         language="zh" if i % 4 == 0 else "en", audience="internal",
                         status="published", author_id=author_id, is_must_read=False,
                         is_known_error=False, revision=1, published_revision=1,
                         view_count=0, use_count=i % 7, helpful_count=i % 5,
                         unhelpful_count=i % 3, created_at=NOW, updated_at=NOW, version=1)
                    for i in range(start, min(count, start + 5000))]
            db.session.execute(sa.insert(Article), rows)
            db.session.commit()


def run(url: str, args, label: str) -> None:
    from servicedesk import create_app
    from servicedesk.accounts import services as accounts
    from servicedesk.accounts.models import Role
    from servicedesk.db import transaction
    from servicedesk.extensions import db
    from servicedesk.knowledge import indexing, services

    with tempfile.TemporaryDirectory() as tmp:
        os.environ["SERVICEDESK_ENV"] = "testing"
        app = create_app({"SQLALCHEMY_DATABASE_URI": url, "KB_INDEX_DIR": f"{tmp}/kb"})
        with app.app_context():
            db.create_all()
            with transaction(db.session):
                author = accounts.create_user(db.session, email="a@x.test", name="Author",
                                              role=Role.agent, now=NOW)
                reviewer = accounts.create_user(db.session, email="r@x.test", name="Reviewer",
                                                role=Role.expert, now=NOW)
            author_id, reviewer_id = author.id, reviewer.id
        t = time.perf_counter()
        _bulk_articles(app, args.articles, author_id)
        print(f"[{label}] inserted {args.articles} articles in {time.perf_counter() - t:.1f} s")

        with app.app_context():
            t = time.perf_counter()
            count = indexing.rebuild(db.session, index_dir=f"{tmp}/kb", now=NOW,
                                     procs=args.procs)
            db.session.commit()
            took = time.perf_counter() - t
            print(f"[{label}] rebuild from the database: {count} articles in {took:.1f} s "
                  f"({count / took:.0f} articles/s, procs={args.procs})")

            from servicedesk.accounts.models import User
            author, reviewer = db.session.get(User, author_id), db.session.get(User, reviewer_id)
            t = time.perf_counter()
            for i in range(args.publish):
                with transaction(db.session):
                    article = services.create_article(
                        db.session, actor=author, now=NOW, title=f"new {_text(i, 4)}",
                        symptoms=_text(i, 20), resolution=_text(i + 5, 20))
                with transaction(db.session):
                    services.publish(db.session, article, actor=reviewer, now=NOW)
            took = time.perf_counter() - t
            print(f"[{label}] publish path: {2 * args.publish} commits in {took:.1f} s "
                  f"({2 * args.publish / took:.0f} commits/s, "
                  f"{1000 * took / (2 * args.publish):.1f} ms each)")

            pending = indexing.pending_count(db.session)
            t = time.perf_counter()
            result = indexing.drain(db.session, now=NOW, index_dir=f"{tmp}/kb",
                                    commit=db.session.commit)
            took = time.perf_counter() - t
            print(f"[{label}] drain: {pending} outbox rows ({result.upserted} articles) into "
                  f"an index of {count} in {took:.2f} s ({pending / took:.0f} rows/s)")
            db.session.remove()
            db.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="sqlite")
    parser.add_argument("--articles", type=int, default=20_000)
    parser.add_argument("--publish", type=int, default=200)
    parser.add_argument("--procs", type=int, default=2)
    args = parser.parse_args()
    print(f"load average: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    if args.db in ("sqlite", "both"):
        with tempfile.TemporaryDirectory() as tmp:
            run(f"sqlite:///{tmp}/bench.db", args, "sqlite")
    if args.db in ("postgresql", "both"):
        from tests.postgres.scratch import scratch_database, unreachable_reason

        reason = unreachable_reason()
        if reason:
            print(f"[postgresql] skipped: {reason}")
            return
        with contextlib.ExitStack() as stack:
            url = stack.enter_context(scratch_database("sd_kbbench"))
            run(url, args, "postgresql")


if __name__ == "__main__":
    main()
