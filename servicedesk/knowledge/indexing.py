"""Keeping the search index (``kb/``) in step with the database, and reading it.

Writes go through the outbox: every article change adds an ``IndexOutbox`` row in its own
transaction (``enqueue``). One indexer applies them (``drain``): the scheduler job
``kb_index`` every few seconds, ``flask sd kb-rebuild``, or, with ``KB_SYNC_INDEX`` (demo and
development), the request that made the change, after its commit. Web workers otherwise only
read.

``drain`` is idempotent and loses nothing:

1. read a batch of due rows in id order;
2. load the *current* state of their articles (after reading the rows, so it is at least as
   new as they are) and write it to the index: published/draft/in-review articles are upserted,
   retired or deleted ones removed. Several rows for one article collapse into one write;
3. delete exactly the rows read and commit.

A crash between 2 and 3 leaves the rows; the next drain writes the same state again. A failed
write (index busy, unreadable, a document kb refuses) keeps the rows with ``attempts``,
``last_error`` and a backoff ``retry_at``; rows written meanwhile by publishers have higher
ids and are not touched. An unreadable index makes the indexer rebuild it from the database.

Readers: one ``kb.KnowledgeIndex`` per process (``get_index``), whose searcher kb refreshes
when the index changes. If the index is missing or corrupt, searches answer "rebuilding"
(``SearchOutcome.rebuilding``) and a rebuild request is queued for the indexer.
"""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from flask import Flask, current_app
from sqlalchemy.orm import Session, selectinload

import kb
from kb.search import RECENT_USE_WINDOW_DAYS
from servicedesk.knowledge.models import (
    Article, ArticleStatus, ArticleUse, IndexOutbox, OutboxOp,
)

log = logging.getLogger(__name__)

#: Rows applied per drain batch (one index commit each).
BATCH_SIZE = 200
#: Longest wait before a failed row is retried.
MAX_BACKOFF = timedelta(minutes=5)
#: Uses counted for ranking: the last this-many days (kb's half-life fades older ones).
RECENT_USE_WINDOW = timedelta(days=RECENT_USE_WINDOW_DAYS)
#: Statuses kept in the index (retired articles are removed).
INDEXED_STATUSES = frozenset({ArticleStatus.draft, ArticleStatus.in_review,
                              ArticleStatus.published})
SESSION_FLAG = "kb_outbox_dirty"


# --- the outbox ---------------------------------------------------------------------------

def enqueue(session: Session, article_id: int | None, op: OutboxOp, now: datetime) -> None:
    """Add an outbox row in the caller's transaction (the indexer applies it later)."""
    session.add(IndexOutbox(article_id=article_id, op=op, created_at=now, attempts=0))
    session.info[SESSION_FLAG] = True


def request_rebuild(session: Session, now: datetime) -> bool:
    """Queue one full rebuild unless one is already waiting; True if queued."""
    waiting = session.scalar(sa.select(sa.func.count()).select_from(IndexOutbox)
                             .where(IndexOutbox.op == OutboxOp.rebuild))
    if waiting:
        return False
    enqueue(session, None, OutboxOp.rebuild, now)
    return True


def pending_count(session: Session) -> int:
    return session.scalar(sa.select(sa.func.count()).select_from(IndexOutbox))


# --- article -> document ------------------------------------------------------------------

def recent_uses(session: Session, article_ids: list[int], now: datetime) -> dict[int, int]:
    """Uses that resolved a ticket in the recent window, per article (one grouped query)."""
    if not article_ids:
        return {}
    rows = session.execute(
        sa.select(ArticleUse.article_id, sa.func.count())
        .where(ArticleUse.article_id.in_(article_ids), ArticleUse.is_resolution.is_(True),
               ArticleUse.created_at >= now - RECENT_USE_WINDOW)
        .group_by(ArticleUse.article_id))
    return dict(rows.all())


def article_doc(article: Article, *, uses: int) -> kb.ArticleDoc:
    """What the index stores of ``article``; ``uses`` = recent resolutions with it."""
    return kb.ArticleDoc(
        id=article.id,
        title=article.title,
        symptoms=article.symptoms or "",
        cause=article.cause or "",
        resolution=article.resolution or "",
        body=article.body or "",
        tags=tuple(article.tags or ()),
        services=tuple(s.name for s in article.services),
        language=article.language,
        status=article.status.value,
        audience=article.audience.value,
        is_known_error=bool(article.is_known_error),
        uses=uses,
        helpful=article.helpful_count or 0,
        unhelpful=article.unhelpful_count or 0,
        last_used_at=article.last_used_at,
        updated_at=article.updated_at,
    )


def _load_articles(session: Session, ids: list[int]) -> dict[int, Article]:
    rows = session.scalars(sa.select(Article).where(Article.id.in_(ids))
                           .options(selectinload(Article.services))
                           .execution_options(populate_existing=True))
    return {a.id: a for a in rows}


def iter_docs(session: Session, now: datetime, chunk: int = 1000, *,
              own_transactions: bool = False) -> Iterator[kb.ArticleDoc]:
    """Every indexable article as a document, in id order, ``chunk`` articles at a time.

    Each chunk is read by a short-lived private session and materialised before it is
    yielded, so the caller's objects are untouched and memory stays flat over 100,000
    articles. ``own_transactions``: each chunk reads in a transaction of its own on the
    engine, so no transaction stays open while the index is built (SQLite writers are never
    blocked by a long rebuild); otherwise chunks read inside the caller's transaction, each in
    a savepoint (closing it never ends the caller's transaction).
    """
    bind = session.get_bind() if own_transactions else session.connection()
    last = 0
    while True:
        with Session(bind=bind, join_transaction_mode="create_savepoint") as private:
            ids = list(private.scalars(sa.select(Article.id).where(
                Article.id > last, Article.status.in_(INDEXED_STATUSES))
                .order_by(Article.id).limit(chunk)))
            if not ids:
                return
            articles = _load_articles(private, ids)
            uses = recent_uses(private, ids, now)
            docs = [article_doc(articles[i], uses=uses.get(i, 0)) for i in ids]
        yield from docs
        last = ids[-1]


# --- the index of this process ------------------------------------------------------------

_open_lock = threading.Lock()


def index_path(app: Flask | None = None) -> Path:
    return Path((app or current_app).config["KB_INDEX_DIR"])


def get_index(app: Flask | None = None) -> kb.KnowledgeIndex:
    """This process's index (opened once, creating an empty one if the directory is blank).

    Raises kb.IndexUnavailable if the directory holds something unreadable; the next call
    tries again (after a rebuild it succeeds).
    """
    app = app or current_app._get_current_object()
    index = app.extensions.get("kb_index")
    if index is None:
        with _open_lock:
            index = app.extensions.get("kb_index")
            if index is None:
                index = kb.open_index(index_path(app))
                app.extensions["kb_index"] = index
    return index


def forget_index(app: Flask | None = None) -> None:
    """Close and drop this process's index object (after it turned out unreadable)."""
    app = app or current_app._get_current_object()
    index = app.extensions.pop("kb_index", None)
    if index is not None:
        index.close()


# --- the indexer ----------------------------------------------------------------------------

@dataclass
class DrainResult:
    """What one ``drain`` did."""

    applied: int = 0
    upserted: int = 0
    deleted: int = 0
    failed: int = 0
    rebuilt: int | None = None
    errors: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        text = f"{self.applied} applied ({self.upserted} upserted, {self.deleted} removed)"
        if self.rebuilt is not None:
            text += f", rebuilt {self.rebuilt} articles"
        if self.failed:
            text += f", {self.failed} failed: {self.errors[-1]}"
        return text


def _backoff(attempts: int) -> timedelta:
    return min(timedelta(seconds=2 ** min(attempts, 16)), MAX_BACKOFF)


def _claim(session: Session, now: datetime, limit: int) -> list[IndexOutbox]:
    query = (sa.select(IndexOutbox)
             .where(sa.or_(IndexOutbox.retry_at.is_(None), IndexOutbox.retry_at <= now))
             .order_by(IndexOutbox.id).limit(limit))
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)  # a second indexer takes other rows
    return list(session.scalars(query))


def _fail(rows: list[IndexOutbox], error: str, now: datetime) -> None:
    for row in rows:
        row.attempts += 1
        row.last_error = error[:2000]
        row.retry_at = now + _backoff(row.attempts)


def _apply(session: Session, index: kb.KnowledgeIndex, rows: list[IndexOutbox],
           now: datetime, result: DrainResult) -> None:
    """Write the current state of the rows' articles; on failure mark the rows failed."""
    ids = sorted({r.article_id for r in rows if r.article_id is not None})
    articles = _load_articles(session, ids)
    uses = recent_uses(session, ids, now)
    docs, gone = {}, []
    for article_id in ids:
        article = articles.get(article_id)
        if article is None or article.status not in INDEXED_STATUSES:
            gone.append(article_id)
        else:
            docs[article_id] = article_doc(article, uses=uses.get(article_id, 0))
    try:
        index.upsert(list(docs.values()))
    except kb.InvalidDocument:
        # One bad article must not block the others: write them one by one.
        bad = _upsert_each(index, docs)
        for article_id, error in bad.items():
            _fail([r for r in rows if r.article_id == article_id], error, now)
            result.failed += 1
            result.errors.append(error)
        rows = [r for r in rows if r.article_id not in bad]
        docs = {k: v for k, v in docs.items() if k not in bad}
    index.delete(gone)
    result.upserted += len(docs)
    result.deleted += len(gone)
    result.applied += len(rows)
    for row in rows:
        session.delete(row)


def _upsert_each(index: kb.KnowledgeIndex, docs: dict[int, kb.ArticleDoc]) -> dict[int, str]:
    bad = {}
    for article_id, doc in docs.items():
        try:
            index.upsert([doc])
        except kb.InvalidDocument as exc:
            bad[article_id] = f"article {article_id}: invalid {exc.field}: {exc.message}"
    return bad


def drain(session: Session, *, now: datetime, index_dir: str | Path,
          index: kb.KnowledgeIndex | None = None, batch_size: int = BATCH_SIZE,
          max_batches: int | None = None, commit: Callable[[], None] | None = None,
          rebuild_procs: int | None = None) -> DrainResult:
    """Apply due outbox rows to the index in id order, ``batch_size`` per index commit.

    ``commit`` is called after each batch (the scheduler passes ``session.commit``; tests may
    pass nothing and commit themselves). Never raises for index trouble: failures are kept
    on the rows and reported in the result. A rebuild row, or an unreadable index, rebuilds
    the whole index from the database first.
    """
    rebuild_commit, commit = commit, commit or session.flush
    result = DrainResult()
    batches = 0
    while max_batches is None or batches < max_batches:
        rows = _claim(session, now, batch_size)
        if not rows:
            break
        batches += 1
        if any(r.op is OutboxOp.rebuild for r in rows):
            result.rebuilt = rebuild(session, index_dir=index_dir, now=now,
                                     procs=rebuild_procs, commit=rebuild_commit)
            index = None  # reopen after the swap
            continue
        try:
            index = index or kb.open_index(index_dir)
            _apply(session, index, rows, now, result)
        except kb.IndexUnavailable as exc:
            log.warning("knowledge index unreadable (%s): rebuilding from the database", exc)
            result.rebuilt = rebuild(session, index_dir=index_dir, now=now,
                                     procs=rebuild_procs, commit=rebuild_commit)
            index = None
            continue
        except (kb.KBError, OSError) as exc:
            _fail(rows, f"{type(exc).__name__}: {exc}", now)
            result.failed += len(rows)
            result.errors.append(f"{type(exc).__name__}: {exc}")
            commit()
            break  # the index is busy or failing: try again on the next run
        commit()
        if len(rows) < batch_size:
            break
    return result


def rebuild(session: Session, *, index_dir: str | Path, now: datetime,
            progress: Callable[[int], None] | None = None, procs: int | None = None,
            commit: Callable[[], None] | None = None) -> int:
    """Build a complete new index from the database and swap it in; searches keep using the
    old one meanwhile. Deletes the outbox rows that existed when it started (their changes are
    in the new index); rows added later are applied by the next drain. Returns the count.

    With ``commit`` (the indexer job, the CLI) the outbox ids are read and committed first
    and the articles are read in short transactions of their own, so no transaction is open
    while the index is built; the deletions are committed at the end.
    """
    covered = list(session.scalars(sa.select(IndexOutbox.id)))
    if commit is not None:
        commit()
    docs = iter_docs(session, now, own_transactions=commit is not None)
    count = kb.rebuild_index(index_dir, docs, progress, procs=procs).doc_count()
    for start in range(0, len(covered), 500):
        session.execute(sa.delete(IndexOutbox).where(
            IndexOutbox.id.in_(covered[start:start + 500])))
    session.flush()
    if commit is not None:
        commit()
    return count


# --- reading --------------------------------------------------------------------------------

@dataclass(frozen=True)
class SearchOutcome:
    """A page of search results, or ``rebuilding`` when the index cannot be read now."""

    results: kb.SearchResults | None
    articles: dict[int, Article]
    rebuilding: bool = False

    @property
    def hits(self) -> list[kb.Hit]:
        """Hits whose article still exists and is visible (the index may lag slightly)."""
        if self.results is None:
            return []
        return [h for h in self.results.hits if h.id in self.articles]


def query_index(session: Session, run: Callable[[kb.KnowledgeIndex], kb.SearchResults], *,
                now: datetime, visible: Callable[[Article], bool]) -> SearchOutcome:
    """Run a search against this process's index and keep the hits ``visible`` in the
    database. An unreadable index gives a "rebuilding" outcome and queues a rebuild (the
    caller commits)."""
    try:
        results = run(get_index())
    except kb.IndexUnavailable as exc:
        log.warning("knowledge index unavailable: %s", exc)
        forget_index()
        request_rebuild(session, now)
        return SearchOutcome(results=None, articles={}, rebuilding=True)
    ids = [h.id for h in results.hits]
    articles = {a.id: a for a in session.scalars(sa.select(Article).where(Article.id.in_(ids)))
                if visible(a)} if ids else {}
    return SearchOutcome(results=results, articles=articles)


def sync_after_request(app: Flask) -> None:
    """With ``KB_SYNC_INDEX`` (single-process demo/dev): after a request that queued index
    changes, drain the outbox at once in a fresh transaction. Off in production, where the
    scheduler's ``kb_index`` job is the one writer."""
    from servicedesk.clock import utcnow
    from servicedesk.extensions import db

    session = db.session
    if not app.config.get("KB_SYNC_INDEX") or not session.info.pop(SESSION_FLAG, False):
        return
    try:
        drain(session, now=utcnow(), index_dir=index_path(app), commit=session.commit,
              rebuild_procs=1)
    except Exception:  # the scheduler's job will catch up; never fail the user's request
        session.rollback()
        log.exception("synchronous knowledge index drain failed")
