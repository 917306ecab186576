"""Dialect-neutral SQL building blocks for report aggregates (SQLite and PostgreSQL give the
same answers): seconds between two instants, bucket starts, exact percentiles."""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.expression import FunctionElement

BUCKETS = ("day", "week", "month")


class seconds_between(FunctionElement):
    """``later - earlier`` in seconds (float, millisecond precision on SQLite)."""

    type = sa.Float()
    name = "seconds_between"
    inherit_cache = True


def seconds_sql(later: str, earlier: str, dialect: str) -> str:
    """The SQL text of ``later - earlier`` in seconds (also used by the rollup triggers, so a
    rolled-up duration is bit-for-bit the one the raw query computes)."""
    if dialect == "sqlite":
        # Stored as 'YYYY-MM-DD HH:MM:SS.ffffff' UTC; julianday keeps milliseconds exactly enough.
        return f"ROUND((julianday({later}) - julianday({earlier})) * 86400.0, 3)"
    return f"CAST(EXTRACT(EPOCH FROM ({later} - {earlier})) AS DOUBLE PRECISION)"


@compiles(seconds_between)
def _seconds_default(element, compiler, **kw):
    later, earlier = (compiler.process(c, **kw) for c in element.clauses)
    return seconds_sql(later, earlier, "postgresql")


@compiles(seconds_between, "sqlite")
def _seconds_sqlite(element, compiler, **kw):
    later, earlier = (compiler.process(c, **kw) for c in element.clauses)
    return seconds_sql(later, earlier, "sqlite")


class bucket_start(FunctionElement):
    """The UTC day, ISO week (Monday) or month an instant falls in, as text 'YYYY-MM-DD'."""

    type = sa.String()
    name = "bucket_start"
    inherit_cache = False  # the unit is compiled into the SQL text, not part of a cache key

    def __init__(self, column, unit: str) -> None:
        if unit not in BUCKETS:
            raise ValueError(unit)
        self.unit = unit
        super().__init__(column)


@compiles(bucket_start)
def _bucket_default(element, compiler, **kw):
    col = compiler.process(list(element.clauses)[0], **kw)
    return f"to_char(date_trunc('{element.unit}', {col} AT TIME ZONE 'UTC'), 'YYYY-MM-DD')"


@compiles(bucket_start, "sqlite")
def _bucket_sqlite(element, compiler, **kw):
    col = compiler.process(list(element.clauses)[0], **kw)
    if element.unit == "day":
        return f"date({col})"
    if element.unit == "week":  # next-or-same Sunday, back six days: that week's Monday
        return f"date({col}, 'weekday 0', '-6 days')"
    return f"strftime('%Y-%m-01', {col})"


def percentiles(session: Session, values: sa.Select, ps: Sequence[float] = (0.5, 0.9)
                ) -> tuple[int, dict[float, float | None]]:
    """Exact continuous percentiles (linear interpolation, as PostgreSQL's percentile_cont)
    of the single column selected by ``values``; returns (count, {p: value}).

    PostgreSQL computes them with percentile_cont; SQLite numbers the sorted values with a
    window function and returns only the rows at the needed offsets.
    """
    sub = values.subquery()
    col = list(sub.c)[0]
    if session.get_bind().dialect.name == "postgresql":
        row = session.execute(sa.select(sa.func.count(col), *[
            sa.func.percentile_cont(p).within_group(col.asc()) for p in ps])).one()
        return row[0], {p: (None if v is None else float(v)) for p, v in zip(ps, row[1:])}
    ranked = sa.select(col.label("v"),
                       (sa.func.row_number().over(order_by=col) - 1).label("i"),
                       sa.func.count().over().label("n")).subquery()
    wanted = []
    for p in ps:
        k = sa.cast((ranked.c.n - 1) * p, sa.Integer)
        wanted += [ranked.c.i == k, ranked.c.i == k + 1]
    rows = session.execute(sa.select(ranked.c.i, ranked.c.n, ranked.c.v)
                           .where(sa.or_(*wanted))).all()
    if not rows:
        return 0, {p: None for p in ps}
    n = rows[0].n
    return n, interpolate(n, {r.i: float(r.v) for r in rows}, ps)


def ranks_needed(n: int, ps: Sequence[float]) -> set[int]:
    """The 0-based ranks whose values ``interpolate`` needs."""
    out = set()
    for p in ps:
        lo = int((n - 1) * p)
        out |= {lo, lo + 1} if lo + 1 < n else {lo}
    return out


def interpolate(n: int, at: dict[int, float], ps: Sequence[float]) -> dict[float, float | None]:
    """percentile_cont from the values at the needed ranks (``at``: rank -> value)."""
    out = {}
    for p in ps:
        k = (n - 1) * p
        lo = int(k)  # truncation, as CAST(... AS INTEGER) did in SQL on the same double
        frac = k - lo
        out[p] = at[lo] if frac == 0 or lo + 1 not in at else at[lo] + frac * (at[lo + 1] - at[lo])
    return out
