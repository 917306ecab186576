"""SQLite writers queue on servicedesk.db.WriterLock (threads and processes), and every way a
transaction ends releases it."""
from __future__ import annotations

import subprocess
import sys
import threading
import time

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from servicedesk.db import WriterLock


@pytest.fixture
def engine(tmp_path):
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'lock.db'}")
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE t (x INTEGER)")
    yield engine
    engine.dispose()


def begin_in_thread(engine, done: threading.Event, log: list) -> threading.Thread:
    def run():
        with engine.begin() as conn:
            log.append("second began")
            conn.exec_driver_sql("INSERT INTO t VALUES (2)")
        done.set()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def writer_lock(tmp_path) -> WriterLock:
    (lock,) = [lock for path, lock in WriterLock._by_file.items()
               if path.endswith("lock.db") and str(tmp_path.name) in path]
    return lock


def test_a_second_writer_waits_for_the_first_and_starts_when_it_commits(engine, tmp_path):
    log, done = [], threading.Event()
    with engine.begin() as conn:
        conn.exec_driver_sql("INSERT INTO t VALUES (1)")
        lock = writer_lock(tmp_path)
        assert lock._thread_lock.locked()
        thread = begin_in_thread(engine, done, log)
        time.sleep(0.3)
        assert log == []  # blocked before BEGIN, not failing with "database is locked"
        log.append("first commits")
    assert done.wait(5)
    thread.join()
    assert log == ["first commits", "second began"]
    assert not lock._thread_lock.locked()
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM t").scalar() == 2


@pytest.mark.parametrize("end", ["rollback", "close", "session_close"])
def test_every_way_a_transaction_ends_releases_the_lock(engine, end):
    if end == "session_close":
        session = Session(engine)
        session.execute(sa.text("SELECT 1"))  # begins
        session.close()
    else:
        conn = engine.connect()
        conn.begin()
        conn.exec_driver_sql("INSERT INTO t VALUES (1)")
        if end == "rollback":
            conn.rollback()
        conn.close()
    done = threading.Event()
    thread = begin_in_thread(engine, done, [])
    assert done.wait(5), "the lock was not released"
    thread.join()


CHILD = """
import sys, time
import sqlalchemy as sa
import servicedesk.db
engine = sa.create_engine(sys.argv[1])
with engine.begin() as conn:
    conn.exec_driver_sql("INSERT INTO t VALUES (9)")
    print("holding", flush=True)
    time.sleep(1.0)
"""


def test_writers_in_other_processes_queue_too(engine, tmp_path):
    url = str(engine.url)
    with subprocess.Popen([sys.executable, "-c", CHILD, url], stdout=subprocess.PIPE,
                          text=True) as child:
        assert child.stdout.readline().strip() == "holding"
        t0 = time.monotonic()
        with engine.begin() as conn:
            waited = time.monotonic() - t0
            assert conn.exec_driver_sql("SELECT count(*) FROM t WHERE x = 9").scalar() == 1
        assert waited > 0.5  # began only after the child committed
        assert child.wait(10) == 0
    assert (tmp_path / "lock.db-writer.lock").exists()


def test_connections_get_wal_a_large_page_cache_and_mmap(engine):
    from servicedesk.db import SQLITE_CACHE_KIB, SQLITE_MMAP_BYTES

    with engine.connect() as conn:
        pragma = lambda name: conn.exec_driver_sql(f"PRAGMA {name}").scalar()  # noqa: E731
        assert pragma("journal_mode") == "wal"
        assert pragma("synchronous") == 1  # NORMAL
        assert pragma("foreign_keys") == 1
        assert pragma("cache_size") == -SQLITE_CACHE_KIB  # KiB, not SQLite's 2 MiB default
        assert pragma("mmap_size") == SQLITE_MMAP_BYTES
