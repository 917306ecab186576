"""The index directory: generations, the atomic CURRENT pointer, the write lock, bulk rebuild.

Layout of an index directory::

    <path>/CURRENT        "gen-000007 1.1": the live generation and its format version
    <path>/gen-000007/    a complete Whoosh index (the live one)
    <path>/gen-000006/    the previous generation, kept so readers still on it can finish
    <path>/write.lock     flock()ed by whoever writes (upsert, delete, rebuild)

Readers open the generation named by CURRENT and switch when it changes. A rebuild writes a
whole new generation next to the live one and then replaces CURRENT atomically
(``os.replace``), so a reader sees either the old complete index or the new complete index,
never a half-built one.

Writers: one at a time. Every write takes ``write.lock`` (an ``flock`` on a fresh file
descriptor, so it excludes other processes *and* other threads), retrying with jittered
exponential backoff up to a timeout, after which ``IndexBusy`` is raised and nothing was written.
The rebuild holds the lock for its whole run, so incremental updates that arrive meanwhile wait
(or time out and stay in the caller's outbox) and are applied to the new generation afterwards
instead of being lost with the old one. Web workers must not write: the application funnels
writes through one outbox consumer; the lock only makes an accidental second writer safe.
"""

from __future__ import annotations

import errno
import fcntl
import gc
import os
import pickle
import random
import re
import shutil
import struct
import threading
import time
import warnings
import zlib
from collections.abc import Callable, Iterable, Mapping
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from whoosh import index as whoosh_index
from whoosh.filedb.filestore import FileStorage
from whoosh.query import Term
from whoosh.writing import LockError

from kb.analyzers import jieba_tokenizer
from kb.errors import IndexBusy, IndexUnavailable
from kb.schema import FORMAT_VERSION, SCHEMA, ArticleDoc, coerce_document, document_fields
from kb.search import Filters, SearchResults, run_search, run_suggest

POINTER_NAME = "CURRENT"
LOCK_NAME = "write.lock"
_GEN_RE = re.compile(r"^gen-(\d{6,})$")

#: Default seconds a writer waits for the lock before giving up with IndexBusy.
WRITE_TIMEOUT = 30.0
#: Rebuild tuning for a small (2-core) machine: one sub-process per core, each with this
#: much RAM for its posting pool, and no final merge of their segments (multisegment). Below
#: it the pool never spills to temporary runs (spilling cost a third of a rebuild's CPU) and
#: every segment gets its postings sidecar; 100,000 articles over 2 workers stay below it
#: (about 1.1 GB RSS per worker).
REBUILD_LIMITMB = 1536
#: Below this many documents a rebuild stays in-process (forking costs more than it saves).
REBUILD_PARALLEL_MIN_DOCS = 2000

#: Errors that mean "the files on disk are not a readable index" (while serving queries).
READ_ERRORS = (
    OSError,
    EOFError,
    struct.error,
    zlib.error,
    pickle.UnpicklingError,
    whoosh_index.IndexError,
)
#: Opening an index validates it; garbage files can fail in any of these ways there.
STORAGE_ERRORS = READ_ERRORS + (
    AssertionError,
    KeyError,
    ValueError,
    TypeError,
    IndexError,
    AttributeError,
    ImportError,
)


#: Attempts at opening an index whose files vanish underneath (see ``_guarded``).
OPEN_ATTEMPTS = 5


def _guarded(operation: Callable[[], Any], message: str, errors=STORAGE_ERRORS) -> Any:
    """Run ``operation``; turn storage errors into IndexUnavailable.

    A file that vanishes while the index is being opened (FileNotFoundError) is retried a few
    times: a writer in another process has just committed, and Whoosh's commit deletes the
    previous table of contents and the segments it no longer uses, so a reader that listed
    the directory a moment earlier finds its files gone. Opening again reads the new ones.

    Whoosh leaves files open when it fails half-way through opening an index; they are closed
    when the failed call's frames are freed, here, with their ResourceWarning silenced (this
    only runs when opening an index or switching generations, so the process-wide warning
    filter is touched rarely).
    """
    detail = None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        for attempt in range(OPEN_ATTEMPTS):
            try:
                return operation()
            except FileNotFoundError as exc:
                detail = f"{type(exc).__name__}: {exc}"
                gc.collect()
                time.sleep(0.005 * (attempt + 1))
            except errors as exc:
                detail = f"{type(exc).__name__}: {exc}"
                break
        gc.collect()
    raise IndexUnavailable(f"{message}: {detail}")


class IndexDirectory:
    """The on-disk layout above: pointer, generations and lock. Holds no open files."""

    def __init__(self, path: str | os.PathLike[str]):
        self.path = Path(path)

    # -- pointer -----------------------------------------------------------------------------

    def read_pointer(self) -> str:
        """Return the live generation's directory name; IndexUnavailable if there is none."""
        try:
            raw = (self.path / POINTER_NAME).read_text("ascii")
        except FileNotFoundError:
            raise IndexUnavailable(f"no index at {self.path} (missing {POINTER_NAME})") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise IndexUnavailable(f"cannot read {self.path / POINTER_NAME}: {exc}") from exc
        parts = raw.split()
        if len(parts) != 2 or not _GEN_RE.match(parts[0]):
            raise IndexUnavailable(f"corrupt {POINTER_NAME} file in {self.path}")
        if parts[1] != FORMAT_VERSION:
            raise IndexUnavailable(
                f"index format {parts[1]} at {self.path} is not the current {FORMAT_VERSION}; "
                "rebuild it"
            )
        return parts[0]

    def _write_pointer(self, generation: str) -> None:
        tmp = self.path / f".{POINTER_NAME}.{os.getpid()}.tmp"
        with open(tmp, "w", encoding="ascii") as fh:
            fh.write(f"{generation} {FORMAT_VERSION}\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.path / POINTER_NAME)
        dir_fd = os.open(self.path, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)

    def generations(self) -> list[str]:
        """Names of the generation directories present, oldest first."""
        try:
            names = [p.name for p in self.path.iterdir() if _GEN_RE.match(p.name)]
        except FileNotFoundError:
            return []
        return sorted(names, key=lambda n: int(_GEN_RE.match(n).group(1)))

    def _next_generation(self) -> str:
        numbers = [int(_GEN_RE.match(n).group(1)) for n in self.generations()]
        return f"gen-{max(numbers, default=0) + 1:06d}"

    def is_blank(self) -> bool:
        """True if the directory is missing or holds nothing but our lock file."""
        try:
            return all(p.name == LOCK_NAME for p in self.path.iterdir())
        except FileNotFoundError:
            return True

    # -- lock --------------------------------------------------------------------------------

    @contextmanager
    def write_lock(self, timeout: float = WRITE_TIMEOUT):
        """Hold the directory's exclusive write lock; IndexBusy after ``timeout`` seconds."""
        self.path.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            deadline = time.monotonic() + max(timeout, 0.0)
            delay = 0.002
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except OSError as exc:
                    if exc.errno not in (errno.EAGAIN, errno.EACCES):
                        raise
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise IndexBusy(f"index at {self.path} is locked by another writer")
                time.sleep(min(remaining, delay * random.uniform(0.5, 1.0)))
                delay = min(delay * 2, 0.2)
            yield
        finally:
            os.close(fd)  # also releases the lock

    # -- generations -------------------------------------------------------------------------

    def open_generation(self, generation: str):
        """Open one generation as a Whoosh index; IndexUnavailable if it is not readable."""
        gen_path = self.path / generation
        if not gen_path.is_dir():
            raise IndexUnavailable(f"index generation {gen_path} is missing")
        return _guarded(
            lambda: FileStorage(str(gen_path)).open_index(schema=SCHEMA),
            f"index generation {gen_path} is unreadable",
            STORAGE_ERRORS + (whoosh_index.EmptyIndexError,),
        )

    def create_if_blank(self) -> None:
        """Create an empty first generation if the directory is blank (safe against races)."""
        if not self.is_blank():
            return
        with self.write_lock():
            if not self.is_blank():
                return
            generation = self._next_generation()
            gen_path = self.path / generation
            gen_path.mkdir(parents=True)
            FileStorage(str(gen_path)).create_index(SCHEMA)
            self._write_pointer(generation)

    def build_generation(
        self,
        docs: Iterable[ArticleDoc | Mapping[str, Any]],
        progress: Callable[[int], None] | None,
        *,
        procs: int | None,
        limitmb: int,
        batch: int = 500,
        lock_timeout: float,
    ) -> int:
        """Index ``docs`` into a new generation and make it live; return the document count.

        Holds the write lock throughout. On any error the new generation is removed and the
        live one is untouched.
        """
        jieba_tokenizer()  # load the dictionary once, before any fork, so workers inherit it
        with self.write_lock(lock_timeout):
            generation = self._next_generation()
            gen_path = self.path / generation
            gen_path.mkdir(parents=True)
            try:
                count = _fill_generation(
                    gen_path, docs, progress, procs=procs, limitmb=limitmb, batch=batch
                )
                self._write_pointer(generation)
            except BaseException:
                shutil.rmtree(gen_path, ignore_errors=True)
                raise
            self._remove_old_generations(keep=generation)
        return count

    def _remove_old_generations(self, keep: str) -> None:
        # Keep the generation just replaced for readers still on it; drop anything older.
        names = self.generations()
        if keep not in names:
            return
        stale = names[: max(names.index(keep) - 1, 0)]
        for name in stale:
            shutil.rmtree(self.path / name, ignore_errors=True)


def _fill_generation(gen_path, docs, progress, *, procs, limitmb, batch) -> int:
    """Write all ``docs`` into a fresh index at ``gen_path`` with a bulk writer."""
    ix = FileStorage(str(gen_path)).create_index(SCHEMA)
    procs = max(1, procs if procs is not None else min(os.cpu_count() or 1, 4))
    iterator = iter(docs)
    # Look ahead: small rebuilds (tests, demos) do not fork worker processes.
    head = []
    for doc in iterator:
        head.append(doc)
        if len(head) >= REBUILD_PARALLEL_MIN_DOCS:
            break
    if len(head) < REBUILD_PARALLEL_MIN_DOCS:
        procs = 1
    if procs > 1:
        writer = ix.writer(procs=procs, limitmb=limitmb, multisegment=True, batchsize=batch)
    else:
        writer = ix.writer(limitmb=limitmb)
    count = 0
    seen: set[int] = set()
    try:
        for doc in _chain(head, iterator):
            doc = coerce_document(doc)
            fields = document_fields(doc)
            if doc.id in seen:
                writer.cancel()
                raise ValueError(f"duplicate article id {doc.id} in rebuild input")
            seen.add(doc.id)
            writer.add_document(**fields)
            count += 1
            if progress is not None and count % batch == 0:
                progress(count)
        writer.commit()
    except BaseException:
        if not writer.is_closed:
            writer.cancel()
        raise
    if progress is not None and count % batch:
        progress(count)
    return count


def _chain(head, rest):
    yield from head
    yield from rest


def write_documents(
    directory: IndexDirectory,
    *,
    upserts: list[dict[str, Any]] = (),
    delete_ids: list[int] = (),
    timeout: float = WRITE_TIMEOUT,
) -> int:
    """Apply updates and deletions to the live generation in one commit; return deletions."""
    deleted = 0
    with directory.write_lock(timeout):
        ix = directory.open_generation(directory.read_pointer())
        try:
            # Our lock already excludes other writers; Whoosh's own lock is uncontended.
            writer = ix.writer()
        except LockError as exc:  # pragma: no cover - only if someone bypasses write.lock
            raise IndexBusy(str(exc)) from exc
        try:
            for fields in upserts:
                writer.update_document(**fields)
            for doc_id in delete_ids:
                deleted += writer.delete_by_term("id", str(doc_id))
            writer.commit()
        except BaseException:
            if not writer.is_closed:
                writer.cancel()
            raise
    return deleted


class SearcherHolder:
    """One Whoosh searcher per index object, refreshed when the index changes.

    Whoosh searchers are not safe to share between threads, so every use goes through
    ``use()``, which holds a lock: threads of one worker take turns (a query costs a few ms).
    ``Searcher.refresh()`` of whoosh-reloaded 2.7.5 crashes when reusing segment readers, so a
    changed index gets a new reader instead.
    """

    def __init__(self, directory: IndexDirectory):
        self._directory = directory
        self._lock = threading.RLock()
        self._generation: str | None = None
        self._ix = None
        self._searcher = None
        self._toc_generation = None

    @contextmanager
    def use(self):
        """Yield an up-to-date searcher, holding this holder's lock while in use."""
        with self._lock:
            searcher = self._current()
            try:
                yield searcher
            except READ_ERRORS as exc:
                self._drop()
                raise IndexUnavailable(f"index at {self._directory.path} failed: {exc}") from exc

    def _current(self):
        generation = self._directory.read_pointer()
        if generation != self._generation or self._searcher is None:
            self._drop()
            ix = self._directory.open_generation(generation)
            searcher, toc = _guarded(
                lambda: (ix.searcher(), ix.latest_generation()),
                f"index at {self._directory.path} is unreadable",
            )
            self._ix, self._searcher = ix, searcher
            self._generation, self._toc_generation = generation, toc
            return searcher
        try:
            toc = self._ix.latest_generation()
        except READ_ERRORS as exc:
            self._drop()
            raise IndexUnavailable(f"index at {self._directory.path} is unreadable: {exc}")
        if toc != self._toc_generation:
            try:
                fresh = _guarded(self._ix.searcher, f"index at {self._directory.path} is unreadable")
            except IndexUnavailable:
                self._drop()
                raise
            self._searcher.close()
            self._searcher, self._toc_generation = fresh, toc
        return self._searcher

    def _drop(self) -> None:
        if self._searcher is not None:
            try:
                self._searcher.close()
            except STORAGE_ERRORS:
                pass
        self._ix = self._searcher = self._generation = self._toc_generation = None

    def close(self) -> None:
        with self._lock:
            self._drop()


class KnowledgeIndex:
    """The article index: search and suggest for everyone, writes for the one indexer.

    Create with ``kb.open_index(path)``. One object per process is enough: it keeps one
    searcher, refreshed when the index changes, and serialises threads around it.
    """

    def __init__(self, directory: IndexDirectory):
        self._directory = directory
        self._holder = SearcherHolder(directory)

    @property
    def path(self) -> Path:
        return self._directory.path

    def __repr__(self) -> str:
        return f"<KnowledgeIndex {str(self.path)!r}>"

    def __enter__(self) -> KnowledgeIndex:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Release the searcher and its open files."""
        self._holder.close()

    # -- reading -------------------------------------------------------------------------

    def doc_count(self) -> int:
        """Number of articles in the index."""
        with self._holder.use() as searcher:
            return searcher.doc_count()

    def ids(self) -> set[int]:
        """Ids of every article in the index (to reconcile the index with the database)."""
        with self._holder.use() as searcher:
            reader = searcher.reader()
            if not reader.doc_count():
                return set()
            column = reader.column_reader("id")
            return {int(column[docnum]) for docnum in reader.all_doc_ids()}

    def check(self) -> int:
        """Read a little of every index file; IndexUnavailable if any of it is unreadable.

        Returns the document count. ``open_index`` calls this so that a damaged index fails
        at start-up rather than in the middle of a request.
        """

        def probe(searcher):
            count = searcher.doc_count()
            if count:
                reader = searcher.reader()
                for docnum in reader.all_doc_ids():
                    searcher.stored_fields(docnum)
                    reader.column_reader("uses")[docnum]
                    break
                for fieldname in ("title", "status"):
                    for _ in reader.lexicon(fieldname):
                        break
                searcher.search(Term("status", "published"), limit=1)
            return count

        with self._holder.use() as searcher:
            try:
                return _guarded(lambda: probe(searcher), f"index at {self.path} is unreadable")
            except IndexUnavailable:
                self._holder.close()
                raise

    def search(
        self,
        query: str,
        *,
        now: datetime,
        audience: Iterable[str] | None = None,
        statuses: Iterable[str] | None = None,
        services: Iterable[str] | None = None,
        languages: Iterable[str] | None = None,
        known_errors_only: bool = False,
        limit: int = 10,
        page: int = 1,
    ) -> SearchResults:
        """Ranked, highlighted articles for a user query (see ``kb.search``).

        Filters: ``None`` means any value, an empty collection means nothing matches. Bad
        query text never raises; IndexUnavailable if the index cannot be read.
        """
        filters = Filters.build(
            audience=audience,
            statuses=statuses,
            services=services,
            languages=languages,
            known_errors_only=known_errors_only,
        )
        with self._holder.use() as searcher:
            return run_search(searcher, query, now=now, filters=filters, limit=limit, page=page)

    def suggest(
        self,
        text: str,
        *,
        now: datetime,
        limit: int = 5,
        audience: Iterable[str] | None = None,
        statuses: Iterable[str] | None = None,
        services: Iterable[str] | None = None,
        languages: Iterable[str] | None = None,
        known_errors_only: bool = False,
        prefer_services: Iterable[str] = (),
        exclude_ids: Iterable[int] = (),
    ) -> SearchResults:
        """Articles for the free text of a ticket being typed (title + description).

        Typo tolerant; ``prefer_services`` ranks the ticket's services' articles higher
        without excluding others; ``exclude_ids`` drops articles already linked.
        """
        filters = Filters.build(
            audience=audience,
            statuses=statuses,
            services=services,
            languages=languages,
            known_errors_only=known_errors_only,
            exclude_ids=exclude_ids,
        )
        with self._holder.use() as searcher:
            return run_suggest(
                searcher,
                text,
                now=now,
                filters=filters,
                limit=limit,
                prefer_services=prefer_services,
            )

    # -- writing (one indexer process only) ----------------------------------------------

    def upsert(
        self, docs: Iterable[ArticleDoc | Mapping[str, Any]], *, timeout: float = WRITE_TIMEOUT
    ) -> int:
        """Add or replace articles (by id) in one commit; return how many were written.

        All documents are validated first (InvalidDocument names the field), so a bad one
        writes nothing. Idempotent. IndexBusy if the lock is not free within ``timeout``.
        """
        fields = [document_fields(coerce_document(doc)) for doc in docs]
        if fields:
            write_documents(self._directory, upserts=fields, timeout=timeout)
        return len(fields)

    def delete(self, ids: Iterable[int], *, timeout: float = WRITE_TIMEOUT) -> int:
        """Remove articles by id (unknown ids are ignored); return how many were removed."""
        ids = [int(i) for i in ids]
        if not ids:
            return 0
        return write_documents(self._directory, delete_ids=ids, timeout=timeout)

    def rebuild(
        self,
        docs: Iterable[ArticleDoc | Mapping[str, Any]],
        progress: Callable[[int], None] | None = None,
        *,
        procs: int | None = None,
        limitmb: int = REBUILD_LIMITMB,
        lock_timeout: float = 600.0,
    ) -> int:
        """Replace the whole index with ``docs``; return the number indexed.

        Builds a new generation with one bulk writer (``procs`` worker processes, default one
        per core up to 4, each with ``limitmb`` MB; small inputs stay in-process), then swaps it
        in atomically: searches keep using the old index until the new one is complete.
        ``progress(n)`` is called every 500 documents and at the end. Forks when ``procs`` > 1:
        run it from a CLI command or job process, not from a threaded web worker.
        """
        count = self._directory.build_generation(
            docs, progress, procs=procs, limitmb=limitmb, lock_timeout=lock_timeout
        )
        return count
