"""Column types, mixins and the transaction boundary shared by every domain."""
from __future__ import annotations

import functools
import operator
import os
import threading
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Iterator, Sequence

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, make_transient_to_detached
from sqlalchemy.orm.attributes import instance_dict
from sqlalchemy.orm.interfaces import MANYTOONE
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


def insert_now(session: Session, *objects: object) -> None:
    """INSERT new ORM objects of one class with a single Core ``INSERT ... RETURNING <pk>`` and
    attach them to ``session`` as persistent, unmodified rows, without the unit of work.

    For hot write paths (ticket intake): a flush's per-object bookkeeping costs several times
    the INSERT itself. Like a flush, it keeps the values given, fills unset columns with their
    scalar defaults (else NULL), takes foreign keys from many-to-one relationships set on the
    objects and reads back generated keys. Collections on the other side are not touched (set
    them with ``set_committed_value`` if needed). Mapper events (``before_insert``...) do not
    fire: not for models that rely on them (e.g. tables watched by the reference cache).
    After a rollback the objects stay in the session as expired rows that no longer exist
    (flushed objects would be expunged): callers roll back whole requests, as usual.
    """
    if not objects:
        return
    plan = _insert_plan(type(objects[0]))
    rows = [plan.row(instance_dict(obj)) for obj in objects]
    many = len(rows) > 1
    result = session.connection().execute(plan.statement(many), rows if many else rows[0])
    for obj, row, generated in zip(objects, rows, result):
        state = instance_dict(obj)
        for col, attr in plan.columns:
            state[attr] = row[col]
        for col, attr, value in zip(plan.generated, plan.generated_attrs, generated):
            state[attr] = value
        make_transient_to_detached(obj)
        session.add(obj)


class _InsertPlan:
    """What ``insert_now`` needs to know about one mapped class, worked out once."""

    def __init__(self, mapper) -> None:
        self.table = table = mapper.local_table
        attrs = {prop.columns[0].key: prop.key for prop in mapper.column_attrs
                 if prop.columns[0].table is table}
        generated = [c for c in table.c if (c.primary_key and c.autoincrement in (True, "auto"))
                     or c.server_default is not None
                     or (c.default is not None and not c.default.is_scalar)]
        self.generated = tuple(c.key for c in generated)
        self.generated_attrs = tuple(attrs[key] for key in self.generated)
        self.columns = tuple((key, attr) for key, attr in attrs.items()
                             if key not in self.generated)
        self.defaults = {c.key: c.default.arg for c in table.c
                         if c.default is not None and c.default.is_scalar}
        self.foreign = tuple((rel.key, tuple((local.key, remote.key)
                                             for local, remote in rel.local_remote_pairs))
                             for rel in mapper.relationships if rel.direction is MANYTOONE)
        self._statements = {many: table.insert().returning(*generated,
                                                           sort_by_parameter_order=many)
                            for many in (False, True)}

    def statement(self, many: bool) -> sa.Insert:
        return self._statements[many]

    def row(self, state: dict) -> dict:
        row = {col: state[attr] if attr in state else self.defaults.get(col)
               for col, attr in self.columns}
        for rel, pairs in self.foreign:
            if rel in state:
                target = state[rel]
                for local, remote in pairs:
                    row[local] = None if target is None else getattr(target, remote)
        return row


@functools.cache
def _insert_plan(cls: type) -> _InsertPlan:
    return _InsertPlan(sa.inspect(cls))


# --- bulk INSERT and UPDATE of many rows in few statements (the SLA sweep's writes) ----------
#
# SQLite runs in-process, so one ``executemany`` is already cheap there. On PostgreSQL each row
# of an ``executemany`` is a statement of its own on the server (bind, execute, a protocol
# round), and multi-row ``VALUES`` make a query text so long that psycopg re-parses it for every
# page. There rows go in binary: ``COPY ... FROM STDIN (FORMAT BINARY)`` for an INSERT (the
# server's cheapest insert path; triggers and foreign keys act as for an INSERT) and, for an
# UPDATE, each column as one binary array parameter of ``UPDATE ... FROM unnest(...)``. Text
# arrays cost the most: psycopg quotes every element with regular expressions in Python and
# the server parses them back.


def insert_rows(session: Session, table: sa.Table, rows: Sequence[dict]) -> None:
    """INSERT ``rows`` (dicts with the same keys), as an INSERT of the table would: columns
    left out get their scalar Python default (else the server's default, else NULL), values
    are converted by their column types. One executemany on SQLite, one binary ``COPY`` on
    PostgreSQL."""
    if not rows:
        return
    dialect = session.get_bind().dialect
    if dialect.name not in _BULK_DIALECTS:
        session.execute(table.insert(), rows)
        return
    names = tuple(rows[0])
    plan = _bulk_plan(table, names, dialect)
    values, conversions, extra = _row_getter(names), plan.conversions, plan.defaults

    def converted():
        for row in rows:
            out = values(row)
            for i, convert in conversions:
                out[i] = convert(out[i])
            yield out + extra

    if dialect.name == "sqlite":  # sqlite3's executemany, without SQLAlchemy's per-row work
        session.connection().exec_driver_sql(plan.insert_sql, list(map(tuple, converted())))
        return
    connection = session.connection().connection.driver_connection
    try:
        with connection.cursor() as cursor, cursor.copy(plan.copy_sql) as copy:
            copy.set_types(plan.copy_types)
            for row in converted():
                copy.write_row(row)
    except dialect.loaded_dbapi.Error as error:  # as SQLAlchemy raises it for a statement
        raise sa.exc.DBAPIError.instance(plan.copy_sql, None, error,
                                         dialect.loaded_dbapi.Error, dialect=dialect) from error


def update_rows(session: Session, table: sa.Table, rows: Sequence[dict], *,
                match: Sequence[str] = ("id",), set_: dict[str, str]) -> int:
    """UPDATE one row per dict: the rows whose columns ``match`` equal the dict's values of
    those names get ``column = dict[key]`` for each ``column: key`` of ``set_``. Returns the
    number of rows updated (the caller compares it with ``len(rows)`` where it must)."""
    if not rows:
        return 0
    dialect = session.get_bind().dialect
    if dialect.name not in _BULK_DIALECTS:
        stmt = table.update().where(*[table.c[name] == sa.bindparam(f"m_{name}")
                                      for name in match]).values(
            {column: sa.bindparam(f"s_{key}") for column, key in set_.items()})
        params = [{**{f"m_{name}": row[name] for name in match},
                   **{f"s_{key}": row[key] for key in set_.values()}} for row in rows]
        return session.execute(stmt, params).rowcount
    # (key in the rows, column it is compared with or written to): SET first, then WHERE
    pairs = [*((key, column) for column, key in set_.items()), *((n, n) for n in match)]
    plan = _bulk_plan(table, tuple(column for _, column in pairs), dialect)
    preparer, q = dialect.identifier_preparer, dialect.identifier_preparer.quote
    name = preparer.format_table(table)
    if dialect.name == "sqlite":  # one executemany of a one-row UPDATE
        sql = (f"UPDATE {name} SET " + ", ".join(f"{q(column)} = ?" for column in set_)
               + " WHERE " + " AND ".join(f"{q(column)} = ?" for column in match))
        values, conversions = _row_getter(tuple(key for key, _ in pairs)), plan.conversions
        params = []
        for row in rows:
            out = values(row)
            for i, convert in conversions:
                out[i] = convert(out[i])
            params.append(tuple(out))
        return session.connection().exec_driver_sql(sql, params).rowcount
    keys = [f"k{i}" for i in range(len(pairs))]
    sql = (f"UPDATE {name} SET "
           + ", ".join(f"{q(column)} = v.{k}" for k, column in zip(keys, set_))
           + " FROM unnest(" + ", ".join(f"%b::{t}[]" for t in plan.sql_types)
           + f") AS v({', '.join(keys)}) WHERE "
           + " AND ".join(f"{name}.{q(column)} = v.{k}"
                          for k, column in zip(keys[len(set_):], match)))
    params = tuple([row[key] for row in rows] if convert is None
                   else [convert(row[key]) for row in rows]
                   for convert, (key, _) in zip(plan.convert, pairs))
    return session.connection().exec_driver_sql(sql, params).rowcount


#: Where the bulk writers talk to the driver themselves (elsewhere: SQLAlchemy statements).
_BULK_DIALECTS = ("sqlite", "postgresql")


class _BulkPlan:
    """How ``insert_rows``/``update_rows`` send some columns of a table to the driver."""

    def __init__(self, table: sa.Table, names: tuple[str, ...], dialect) -> None:
        columns = [table.c[name] for name in names]
        #: Columns left out that have a scalar Python default: sent with it, as an INSERT
        #: statement would (other defaults are the server's).
        defaulted = [c for c in table.c if c.key not in names and c.default is not None
                     and c.default.is_scalar]
        self.sql_types = [_sql_type(c).compile(dialect=dialect) for c in columns]
        #: Each column's conversion of a Python value for the driver (enum to name, aware
        #: datetime to UTC...), None where there is none.
        self.convert = [_converter(_sql_type(c), dialect) for c in columns]
        self.conversions = [(i, f) for i, f in enumerate(self.convert) if f is not None]
        self.defaults = []
        for c in defaulted:
            convert = _converter(_sql_type(c), dialect)
            self.defaults.append(convert(c.default.arg) if convert else c.default.arg)
        preparer = dialect.identifier_preparer
        names_sql = ", ".join(preparer.quote(c.name) for c in [*columns, *defaulted])
        self.insert_sql = (f"INSERT INTO {preparer.format_table(table)} ({names_sql}) VALUES ("
                           + ", ".join("?" * (len(columns) + len(defaulted))) + ")")
        self.copy_sql = (f"COPY {preparer.format_table(table)} ({names_sql}) "
                         "FROM STDIN (FORMAT BINARY)")
        self.copy_types = [_copy_type(_sql_type(c).compile(dialect=dialect))
                           for c in [*columns, *defaulted]]


@functools.lru_cache(maxsize=256)
def _bulk_plan(table: sa.Table, names: tuple[str, ...], dialect) -> _BulkPlan:
    return _BulkPlan(table, names, dialect)


def _converter(type_, dialect):
    """The column type's conversion of a Python value for the driver (None: none), as
    SQLAlchemy binds it; UTCDateTime on SQLite in one step, to the same text."""
    if isinstance(type_, UTCDateTime) and dialect.name == "sqlite":
        return _sqlite_utc_text
    return type_._cached_bind_processor(dialect)


def _sqlite_utc_text(value: datetime | None) -> str | None:
    """What UTCDateTime then SQLite's DATETIME make of ``value``: 'YYYY-MM-DD HH:MM:SS.ffffff'
    in UTC (naive datetimes refused)."""
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError(f"naive datetime {value!r} given to a UTC column")
    return value.astimezone(timezone.utc).replace(tzinfo=None).isoformat(" ", "microseconds")


def _row_getter(names: tuple[str, ...]):
    """row -> [row[name] for name in names], at C speed."""
    get = operator.itemgetter(*names)
    if len(names) == 1:
        return lambda row: [get(row)]
    return lambda row: list(get(row))


#: SQL type names psycopg does not know by that name.
_COPY_TYPE_ALIASES = {"float": "float8", "double precision": "float8", "real": "float4"}


def _copy_type(sql_type: str) -> str:
    """The psycopg type name for a compiled column type ("VARCHAR(200)" -> "varchar")."""
    name = sql_type.split("(", 1)[0].strip().lower()
    return _COPY_TYPE_ALIASES.get(name, name)


def _sql_type(column: sa.Column):
    """The column's type; a foreign key declared without one takes its target's."""
    if isinstance(column.type, sa.types.NullType) and column.foreign_keys:
        return next(iter(column.foreign_keys)).column.type
    return column.type

BUSY_TIMEOUT_SECONDS = 15
#: SQLite's page cache per connection (KiB; its default is 2 MiB, which a desk's indexes
#: outgrow long before 100,000 tickets) and the part of the file read through mmap.
SQLITE_CACHE_KIB = 64 * 1024
SQLITE_MMAP_BYTES = 1 << 30


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
    cursor.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
    cursor.execute(f"PRAGMA mmap_size={SQLITE_MMAP_BYTES}")
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
