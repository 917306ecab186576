"""A per-process cache of values built from small, rarely changed reference tables.

Ticket intake reads the same few rows on every request: the priority matrix, the SLA policies
and the working calendars. ``reference_cache.get(session, key, load)`` returns ``load(session)``
from a previous call while nothing could have changed it, so a busy intake does not query and
rebuild them each time. Values must be plain data (never ORM objects: sessions do not share
them) and must not be mutated by callers.

When a value is not used (``load`` runs and nothing is stored):
- the caller's transaction has written a watched table (flushed, not yet committed or rolled
  back): it sees rows other transactions do not, so it neither reads nor fills the cache;
- the session holds unflushed new, changed or deleted watched objects (``load``'s query
  autoflushes them, as before).

Invalidation: any write to a watched table (ORM flush or ORM bulk statement) clears the cache
of that database at once and again when the writing transaction ends, commit or rollback, so
this process never serves a value older than its own last change. Other processes (another
gunicorn worker, the scheduler, the CLI) change these tables rarely; their changes reach this
process when the entry's ``ttl`` runs out (``DEFAULT_TTL`` seconds).
"""
from __future__ import annotations

import threading
import time
import weakref
from typing import Callable, Hashable, TypeVar

from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import ORMExecuteState, Session, scoped_session

T = TypeVar("T")
#: Set on a connection's ``info`` while its transaction has written a watched table.
_WROTE = "refcache_wrote"
DEFAULT_TTL = 5.0


class ReferenceCache:
    """Values keyed by database (engine) and ``key``; see the module docstring for the rules."""

    def __init__(self, ttl: float = DEFAULT_TTL) -> None:
        self.ttl = ttl
        self._watched: tuple[type, ...] = ()
        self._tables: frozenset[str] = frozenset()
        self._lock = threading.Lock()
        #: engine -> (generation, {key: (stored at, value)})
        self._stores: weakref.WeakKeyDictionary[Engine, tuple[int, dict]] = \
            weakref.WeakKeyDictionary()

    # -- reading ------------------------------------------------------------------------------

    def get(self, session: Session, key: Hashable, load: Callable[[Session], T]) -> T:
        """``load(session)``, or the value a previous call stored while still valid."""
        if isinstance(session, scoped_session):
            session = session()
        bind = session.get_bind()
        engine = getattr(bind, "engine", bind)  # a session bound to a connection (tests)
        if not self._usable(session):
            return load(session)
        with self._lock:
            generation, entries = self._stores.get(engine, (0, {}))
            hit = entries.get(key)
        if hit is not None and time.monotonic() - hit[0] < self.ttl:
            return hit[1]
        value = load(session)
        if self._usable(session):  # load's autoflush may have written a watched table
            with self._lock:
                current, entries = self._stores.setdefault(engine, (generation, {}))
                if current == generation:  # nobody changed the tables while we loaded
                    entries[key] = (time.monotonic(), value)
        return value

    def _usable(self, session: Session) -> bool:
        if session.in_transaction() and session.connection().info.get(_WROTE):
            return False
        return not any(isinstance(obj, self._watched)
                       for group in (session.new, session.dirty, session.deleted)
                       for obj in group)

    # -- invalidation -------------------------------------------------------------------------

    def clear(self, engine: Engine | None = None) -> None:
        """Drop every value (of one database, or of all)."""
        with self._lock:
            engines = [engine] if engine is not None else list(self._stores)
            for eng in engines:
                generation, _ = self._stores.get(eng, (0, {}))
                self._stores[eng] = (generation + 1, {})

    def watch(self, *models: type) -> None:
        """Clear the cache whenever one of ``models``' tables is written (idempotent)."""
        models = tuple(m for m in models if m not in self._watched)
        self._watched += models
        self._tables |= {m.__table__.name for m in models}
        for model in models:
            for name in ("after_insert", "after_update", "after_delete"):
                event.listen(model, name, self._on_row_written)

    def _wrote(self, connection: Connection) -> None:
        connection.info[_WROTE] = True
        self.clear(connection.engine)

    def _on_row_written(self, mapper, connection: Connection, target) -> None:
        self._wrote(connection)

    def on_orm_execute(self, state: ORMExecuteState) -> None:
        """ORM bulk INSERT/UPDATE/DELETE statements bypass the flush events."""
        if not (state.is_insert or state.is_update or state.is_delete):
            return
        table = getattr(state.statement, "table", None)
        if table is not None and getattr(table, "name", None) in self._tables:
            self._wrote(state.session.connection())

    def on_transaction_end(self, connection: Connection) -> None:
        if connection.info.pop(_WROTE, False):
            self.clear(connection.engine)


reference_cache = ReferenceCache()


@event.listens_for(Session, "do_orm_execute")
def _orm_execute(state: ORMExecuteState) -> None:
    reference_cache.on_orm_execute(state)


@event.listens_for(Engine, "commit")
def _committed(connection: Connection) -> None:
    reference_cache.on_transaction_end(connection)


@event.listens_for(Engine, "rollback")
def _rolled_back(connection: Connection) -> None:
    reference_cache.on_transaction_end(connection)

