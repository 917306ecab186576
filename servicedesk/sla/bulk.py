"""Bulk INSERT and UPDATE of many rows in few statements (the SLA sweep's writes).

SQLite runs in-process, so one ``executemany`` is already cheap there. On PostgreSQL each row
of an ``executemany`` is a statement of its own on the server (bind, execute, a protocol
round), and multi-row ``VALUES`` make a query text so long that psycopg re-parses it for every
page (most of the client's time): there each column goes as one array parameter instead,
``INSERT ... SELECT * FROM unnest(...)`` and ``UPDATE ... FROM unnest(...)``, one short
statement per table and batch.

Generic (nothing SLA-specific); it lives here because the sweep is its only user so far.
"""
from __future__ import annotations

from typing import Sequence

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session


def _postgresql(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def insert_rows(session: Session, table: sa.Table, rows: Sequence[dict]) -> None:
    """INSERT ``rows`` (dicts with the same keys): one executemany on SQLite, one
    ``INSERT ... SELECT * FROM unnest(arrays)`` on PostgreSQL."""
    if not rows:
        return
    if not _postgresql(session):
        session.execute(table.insert(), rows)
        return
    names = list(rows[0])
    v = _unnest(table, {name: name for name in names}, rows)
    session.execute(table.insert().from_select(names, sa.select(*[v.c[n] for n in names])))


def update_rows(session: Session, table: sa.Table, rows: Sequence[dict], *,
                match: Sequence[str] = ("id",), set_: dict[str, str]) -> int:
    """UPDATE one row per dict: the rows whose columns ``match`` equal the dict's values of
    those names get ``column = dict[key]`` for each ``column: key`` of ``set_``. Returns the
    number of rows updated (the caller compares it with ``len(rows)`` where it must)."""
    if not rows:
        return 0
    if not _postgresql(session):
        stmt = table.update().where(*[table.c[name] == sa.bindparam(f"m_{name}")
                                      for name in match]).values(
            {column: sa.bindparam(f"s_{key}") for column, key in set_.items()})
        params = [{**{f"m_{name}": row[name] for name in match},
                   **{f"s_{key}": row[key] for key in set_.values()}} for row in rows]
        return session.execute(stmt, params).rowcount
    v = _unnest(table, {**{name: name for name in match},
                        **{key: column for column, key in set_.items()}}, rows)
    stmt = (table.update()
            .where(*[table.c[name] == v.c[name] for name in match])
            .values({column: v.c[key] for column, key in set_.items()}))
    return session.execute(stmt).rowcount


def _unnest(table: sa.Table, columns: dict[str, str], rows: Sequence[dict]):
    """``unnest(CAST(:a AS type[]), ...) AS v(key, ...)``: each ``key: column`` of
    ``columns`` one array parameter of the column's type (so that the keys compare with the
    indexed columns, and values are converted as the column converts them). The query text
    stays short and the same whatever the number of rows, so the driver parses it once."""
    arrays = []
    for key, column in columns.items():
        type_ = ARRAY(_sql_type(table.c[column]))
        arrays.append(sa.cast(sa.bindparam(f"a_{key}", [row[key] for row in rows],
                                           type_=type_), type_))
    return sa.func.unnest(*arrays).table_valued(*columns).render_derived(name="v")


def _sql_type(column: sa.Column):
    """The column's type; a foreign key declared without one takes its target's."""
    if isinstance(column.type, sa.types.NullType) and column.foreign_keys:
        return next(iter(column.foreign_keys)).column.type
    return column.type
