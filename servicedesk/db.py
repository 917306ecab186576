"""Column types, mixins and the transaction boundary shared by every domain."""
from __future__ import annotations

import os
import threading
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Iterator

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session
from sqlalchemy.pool import Pool

try:
    import fcntl
except ImportError:  # not POSIX: the per-process lock only
    fcntl = None


class UTCDateTime(sa.types.TypeDecorator):
    """Aware UTC datetimes in, aware UTC datetimes out, on SQLite and PostgreSQL alike.

    Naive datetimes are refused on write: every instant in the system is aware UTC.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r} given to a UTC column")
        value = value.astimezone(timezone.utc)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


def enum_column(enum_cls) -> sa.Enum:
    """Python enums stored by name as VARCHAR (no native PG enum: adding a value needs no DDL)."""
    return sa.Enum(enum_cls, native_enum=False, length=32, validate_strings=True)


@contextmanager
def transaction(session: Session) -> Iterator[Session]:
    """Commit once at the boundary of a request or job; roll back on any exception."""
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise


BUSY_TIMEOUT_SECONDS = 15


@event.listens_for(Engine, "connect")
def _sqlite_connect(dbapi_connection, connection_record):
    """SQLite: foreign keys on, WAL, a busy timeout, and transactions we begin ourselves."""
    module = type(dbapi_connection).__module__
    if not module.startswith("sqlite3"):
        return
    dbapi_connection.isolation_level = None  # let the "begin" hook below emit BEGIN
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_SECONDS * 1000}")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    files = [row[2] for row in cursor.execute("PRAGMA database_list") if row[1] == "main"]
    cursor.close()
    if files and files[0]:  # a database file (not :memory:): writers queue on its lock
        connection_record.info["sqlite_writer_lock"] = WriterLock.for_file(files[0])


@event.listens_for(Engine, "begin")
def _sqlite_begin(conn):
    # BEGIN IMMEDIATE takes the write lock up front, so two workers never deadlock upgrading a
    # read transaction to a write one (SQLITE_BUSY); savepoints then work as SQLAlchemy expects.
    if conn.dialect.name == "sqlite":
        lock = conn.connection._connection_record.info.get("sqlite_writer_lock")
        if lock is not None:
            lock.acquire(conn.connection._connection_record)
        conn.exec_driver_sql("BEGIN IMMEDIATE")


@event.listens_for(Engine, "commit")
@event.listens_for(Engine, "rollback")
def _sqlite_end(conn):
    if conn.dialect.name == "sqlite":
        WriterLock.release_held_by(conn.connection._connection_record)


# A transaction can also end without the events above (the pool's reset on return, a closed
# or invalidated connection): the lock never outlives it.
@event.listens_for(Pool, "reset")
def _sqlite_reset(dbapi_connection, connection_record, reset_state):
    _release(connection_record)


@event.listens_for(Pool, "checkin")
@event.listens_for(Pool, "close")
def _sqlite_checkin(dbapi_connection, connection_record):
    _release(connection_record)


@event.listens_for(Pool, "invalidate")
def _sqlite_invalidate(dbapi_connection, connection_record, exception):
    _release(connection_record)


def _release(connection_record) -> None:
    if connection_record is not None:
        WriterLock.release_held_by(connection_record)


class WriterLock:
    """Queue SQLite writers of one database file, in and across processes, before BEGIN.

    SQLite lets one writer in at a time; the others wait in its busy handler, which polls with
    sleeps of up to 100 ms, so under load the database sits idle while waiters sleep and
    latency piles up. Here the waiters block instead (a thread lock within the process, then
    an ``flock`` on ``<database>-writer.lock`` between processes) and the next one starts the
    moment the previous transaction ends. A thread that already holds it for another
    connection gives up after the busy timeout and falls back to SQLite's own waiting.
    """

    _by_file: dict[str, WriterLock] = {}
    _registry_lock = threading.Lock()

    def __init__(self, path: str) -> None:
        self.path = path + "-writer.lock"
        self._thread_lock = threading.Lock()
        self._fd: int | None = None
        self._pid = 0

    @classmethod
    def for_file(cls, path: str) -> WriterLock:
        with cls._registry_lock:
            lock = cls._by_file.get(path)
            if lock is None:
                lock = cls._by_file[path] = cls(path)
            return lock

    def _file(self) -> int | None:
        if self._pid != os.getpid():  # never share the open file with a forked parent
            self._fd, self._pid = None, os.getpid()
            try:
                self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            except OSError:
                self._fd = None  # read-only folder: the thread lock alone still helps
        return self._fd

    def acquire(self, record) -> None:
        if not self._thread_lock.acquire(timeout=BUSY_TIMEOUT_SECONDS):
            return
        fd = self._file()
        if fd is not None and fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_EX)
        record.info["sqlite_writer_lock_held"] = self

    @staticmethod
    def release_held_by(record) -> None:
        lock = record.info.pop("sqlite_writer_lock_held", None)
        if lock is None:
            return
        if lock._fd is not None and fcntl is not None:
            fcntl.flock(lock._fd, fcntl.LOCK_UN)
        lock._thread_lock.release()


def utc(dt: datetime) -> datetime:
    """Normalise an aware datetime to UTC; refuse naive ones."""
    if dt.tzinfo is None:
        raise ValueError("naive datetime")
    return dt.astimezone(timezone.utc)
