"""Scratch PostgreSQL databases for tests (and benches) that need real commits across connections.

The rollback-per-test ``db`` fixture cannot show what two connections do to each other, so
these tests create their own database on the server the suite uses (``PG_TEST_URL`` or
``TEST_DATABASE_URL`` when it is PostgreSQL, else postgres@127.0.0.1:5432) and drop it after.
"""
from __future__ import annotations

import os
import secrets
from contextlib import contextmanager
from typing import Any, Iterator

import sqlalchemy as sa
from flask import Flask
from sqlalchemy.engine import URL, make_url
from sqlalchemy.pool import NullPool

DEFAULT_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def server_url() -> URL:
    """The PostgreSQL server the suite runs against (its database part is replaced)."""
    for name in ("PG_TEST_URL", "TEST_DATABASE_URL"):
        value = os.environ.get(name, "")
        if value.startswith(("postgresql", "postgres:")):
            return make_url(value).set(drivername="postgresql+psycopg")
    return make_url(DEFAULT_SERVER)


def _admin_engine() -> sa.Engine:
    return sa.create_engine(server_url().set(database="postgres"), isolation_level="AUTOCOMMIT",
                            poolclass=NullPool, connect_args={"connect_timeout": 5})


def unreachable_reason() -> str | None:
    """Why PostgreSQL cannot be used, or None when it can."""
    engine = _admin_engine()
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except sa.exc.OperationalError as exc:
        url = server_url()
        first_line = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        return f"PostgreSQL unreachable at {url.host}:{url.port or 5432}: {first_line}"
    finally:
        engine.dispose()
    return None


@contextmanager
def scratch_database(prefix: str = "sd_scratch", template: str | None = None) -> Iterator[str]:
    """Create an empty database (or a copy of the database ``template``, which must have no
    other connection), yield its SQLAlchemy URL, drop it (even if connections linger)."""
    name = f"{prefix}_{os.getpid()}_{secrets.token_hex(3)}"
    engine = _admin_engine()
    try:
        with engine.connect() as conn:
            copy = f' TEMPLATE "{template}"' if template else ""
            conn.execute(sa.text(f'CREATE DATABASE "{name}"{copy}'))
        try:
            yield server_url().set(database=name).render_as_string(hide_password=False)
        finally:
            with engine.connect() as conn:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        engine.dispose()


def make_app(database_url: str, **overrides: Any) -> Flask:
    """An app of its own on ``database_url``: testing settings (no secret file, no CSRF).

    The URL is applied as an override, after any instance ``settings.py``, so a developer's
    local settings can never point these tests at another database.
    """
    from servicedesk import create_app

    saved = os.environ.get("SERVICEDESK_ENV")
    os.environ["SERVICEDESK_ENV"] = "testing"  # TestingConfig as the base: no secret file
    try:
        return create_app({"SQLALCHEMY_DATABASE_URI": database_url, **overrides})
    finally:
        if saved is None:
            del os.environ["SERVICEDESK_ENV"]
        else:
            os.environ["SERVICEDESK_ENV"] = saved
