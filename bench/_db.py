"""What the benches share: a fresh, empty database of either kind for one run.

    from _db import database          # bench/ is on sys.path when a bench runs as a script

    with database("sqlite", "sweep") as url: ...
"""
from __future__ import annotations

import os
import shutil
import sqlite3
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator


@contextmanager
def database(kind: str, name: str, keep: str | None = None) -> Iterator[str]:
    """The SQLAlchemy URL of a fresh, empty database of ``kind``, removed afterwards: a
    temporary SQLite file ``<name>.db``, or a scratch PostgreSQL database ``sd_<name>bench_...``
    on the server the tests use (``tests.postgres.scratch``). ``keep``: an existing database
    URL to use instead and leave in place (built once, timed many times)."""
    if keep:
        yield keep
    elif kind == "sqlite":
        with tempfile.TemporaryDirectory(prefix=f"sd_{name}_") as folder:
            yield f"sqlite:///{Path(folder) / f'{name}.db'}"
    elif kind == "postgresql":
        from tests.postgres.scratch import scratch_database, unreachable_reason

        reason = unreachable_reason()
        if reason:
            raise SystemExit(f"cannot run the PostgreSQL part: {reason}")
        with scratch_database(f"sd_{name}bench") as url:
            yield url
    else:
        raise SystemExit(f"unknown database {kind!r}: use sqlite or postgresql")


def is_empty(url: str, table: str) -> bool:
    """Whether ``url``'s database lacks ``table`` or has no row in it (not yet built)."""
    import sqlalchemy as sa
    from sqlalchemy.pool import NullPool

    engine = sa.create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            if not sa.inspect(conn).has_table(table):
                return True
            return conn.scalar(sa.text(f"SELECT 1 FROM {table} LIMIT 1")) is None
    finally:
        engine.dispose()


@contextmanager
def clone(url: str, name: str) -> Iterator[str]:
    """A throw-away copy of the built database at ``url``, for a run that writes to it: a
    copied SQLite file (checkpointed first), or ``CREATE DATABASE ... TEMPLATE`` on PostgreSQL
    (the template must have no other connection). Dropped afterwards."""
    import sqlalchemy as sa

    if url.startswith("sqlite"):
        source = sa.engine.make_url(url).database
        with sqlite3.connect(source) as conn:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        with tempfile.TemporaryDirectory(prefix=f"sd_{name}_") as folder:
            target = Path(folder) / Path(source).name
            shutil.copyfile(source, target)
            _flush(target)  # else the first checkpoint's fsync writes the whole copy out
            yield f"sqlite:///{target}"
        return
    from tests.postgres.scratch import scratch_database

    with scratch_database(f"sd_{name}clone", template=sa.engine.make_url(url).database) as copy:
        engine = sa.create_engine(copy, isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as conn:  # the copy's pages written out before timing
                conn.exec_driver_sql("CHECKPOINT")
        finally:
            engine.dispose()
        yield copy


def _flush(path: Path) -> None:
    """fsync a file."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
