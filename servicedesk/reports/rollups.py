"""Daily rollups behind the dashboard's compliance figures, kept exact by database triggers.

``report_counts`` holds, per UTC day of the decision instant, the number of judged and of
breached ticket clocks (see ``queries.DEFINITIONS['compliance']``), in total and per value of
each breakdown dimension (the ticket's *current* priority, group, service, category, tier,
channel). Its invariant: every row equals the sum, over the ticket clocks decided as the row
says, of 1 -- the old full scans of ``reference.py`` are the oracle, and
``tests/reports/test_rollups.py`` holds the two equal under random operations.

Triggers, not ORM events, maintain it, so every write path counts: the ORM, the sweep's Core
executemany UPDATEs, Core INSERT...RETURNING intake, manual SQL. Each trigger moves a row's
contribution: subtract what the old row contributed, add what the new one does.

* ``sla_clocks`` INSERT/UPDATE/DELETE: the clock's contribution under the ticket's dimensions.
* ``tickets`` UPDATE of a dimension: every clock of the ticket moves from the old to the new
  dimension values.

Clocks past due that no sweep has recorded yet depend on "now", so they are never rolled up:
``queries`` adds them from the raw rows (a range on ``ix_sla_clocks_state_due``).
The same statement text serves SQLite and PostgreSQL; only the day of an instant differs.
"""
from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import Session

from servicedesk.reports.models import report_counts

#: (dimension, tickets column) in the order of queries.DIMENSIONS.
DIM_COLUMNS = (("priority", "priority"), ("group", "group_id"), ("service", "service_id"),
               ("category", "category_id"), ("tier", "tier"), ("channel", "channel"))
METRICS = ("response.judged", "response.breached", "resolution.judged", "resolution.breached")



def _day(expr: str, dialect: str) -> str:
    if dialect == "sqlite":
        return f"date({expr})"  # stored as 'YYYY-MM-DD HH:MM:SS[.ffffff]' UTC
    return f"CAST(({expr} AT TIME ZONE 'UTC') AS DATE)"


def _dims(ticket: str) -> str:
    """The (dim, key) rows one clock counts under: the total and one per dimension."""
    parts = ["SELECT 'total' AS dim, '' AS dkey"]
    parts += [f"SELECT '{dim}', COALESCE(CAST({ticket}.{col} AS VARCHAR(40)), '')"
              for dim, col in DIM_COLUMNS]
    return " UNION ALL ".join(parts)


def _bump(clock: str, sign: int, dialect: str, *, clocks_of: str | None = None,
          ticket: str | None = None) -> str:
    """INSERT ... ON CONFLICT adding ``sign`` per judged (and breached) clock.

    ``clock`` is the row alias (NEW, OLD, or ``c`` over ``sla_clocks`` of ticket ``clocks_of``);
    the dimensions come from the row ``ticket`` (NEW/OLD of tickets) or, when None, from the
    clock's ticket as it is now."""
    c = clock
    if ticket is None:  # the clock's ticket as it is now
        parts = ["SELECT 'total' AS dim, '' AS dkey"]
        parts += [f"SELECT '{dim}', COALESCE(CAST(t.{col} AS VARCHAR(40)), '') "
                  f"FROM tickets t WHERE t.id = {c}.ticket_id" for dim, col in DIM_COLUMNS]
        dims = "(" + " UNION ALL ".join(parts) + ")"
    else:
        dims = f"({_dims(ticket)})"
    source = f"sla_clocks {c}, " if clocks_of else ""
    where_ticket = f"{c}.ticket_id = {clocks_of} AND " if clocks_of else ""
    decided = (f"({c}.breached_at IS NOT NULL OR ({c}.state = 'stopped' AND "
               f"{c}.stopped_at IS NOT NULL AND NOT {c}.is_cancelled))")
    day = _day(f"COALESCE({c}.breached_at, {c}.stopped_at)", dialect)
    # Grouped, so one statement never touches a rollup row twice (PostgreSQL refuses that).
    return (
        "INSERT INTO report_counts (metric, dim, day, key, n) "
        "SELECT metric, dim, day, dkey, sum(n) FROM ("
        f"SELECT CAST({c}.kind AS VARCHAR(12)) || o.suffix AS metric, d.dim AS dim, "
        f"{day} AS day, d.dkey AS dkey, {sign} AS n "
        f"FROM {source}(SELECT '.judged' AS suffix, 0 AS breach UNION ALL "
        f"SELECT '.breached', 1) o, {dims} d "
        f"WHERE {where_ticket}{c}.engagement_id IS NULL "
        f"AND {c}.kind IN ('response', 'resolution') AND {decided} "
        f"AND (o.breach = 0 OR {c}.breached_at IS NOT NULL)) x GROUP BY metric, dim, day, dkey "
        "ON CONFLICT (metric, dim, day, key) DO UPDATE SET n = report_counts.n + excluded.n")


_CLOCK_FIELDS = ("kind", "state", "stopped_at", "breached_at", "is_cancelled",
                 "engagement_id", "ticket_id")
_TICKET_FIELDS = tuple(col for _, col in DIM_COLUMNS)


def _changed_sql(fields, dialect: str) -> str:
    op = "IS NOT" if dialect == "sqlite" else "IS DISTINCT FROM"
    return " OR ".join(f"OLD.{f} {op} NEW.{f}" for f in fields)


def _bodies(dialect: str) -> dict[str, tuple[str, str, str | None, list[str]]]:
    """{trigger name: (table, event, WHEN condition, statements)}."""
    return {
        "trg_report_clock_ins": ("sla_clocks", "INSERT", None,
                                 [_bump("NEW", 1, dialect)]),
        "trg_report_clock_upd": ("sla_clocks", "UPDATE", _changed_sql(_CLOCK_FIELDS, dialect),
                                 [_bump("OLD", -1, dialect), _bump("NEW", 1, dialect)]),
        "trg_report_clock_del": ("sla_clocks", "DELETE", None,
                                 [_bump("OLD", -1, dialect)]),
        "trg_report_ticket_dims": (
            "tickets", "UPDATE", _changed_sql(_TICKET_FIELDS, dialect),
            [_bump("c", -1, dialect, clocks_of="NEW.id", ticket="OLD"),
             _bump("c", 1, dialect, clocks_of="NEW.id", ticket="NEW")]),
    }


def create_statements(dialect: str) -> list[str]:
    """DDL creating the triggers (the table is created by metadata or the migration)."""
    out = []
    for name, (table, event, when, statements) in _bodies(dialect).items():
        if dialect == "sqlite":
            cond = f" WHEN {when}" if when else ""
            body = "; ".join(statements)
            out.append(f"CREATE TRIGGER {name} AFTER {event} ON {table} FOR EACH ROW{cond} "
                       f"BEGIN {body}; END")
        else:
            body = "; ".join(statements)
            ret = "OLD" if event == "DELETE" else "NEW"
            out.append(f"CREATE OR REPLACE FUNCTION {name}() RETURNS trigger AS $$ "
                       f"BEGIN {body}; RETURN {ret}; END $$ LANGUAGE plpgsql")
            cond = f" WHEN ({when})" if when else ""
            out.append(f"CREATE TRIGGER {name} AFTER {event} ON {table} FOR EACH ROW{cond} "
                       f"EXECUTE FUNCTION {name}()")
    return out


def drop_statements(dialect: str) -> list[str]:
    out = []
    for name, (table, *_rest) in _bodies(dialect).items():
        out.append(f"DROP TRIGGER IF EXISTS {name}" +
                   ("" if dialect == "sqlite" else f" ON {table}"))
        if dialect != "sqlite":
            out.append(f"DROP FUNCTION IF EXISTS {name}()")
    return out


def create_triggers(connection) -> None:
    for statement in create_statements(connection.dialect.name):
        connection.exec_driver_sql(statement)


def rebuild(connection) -> int:
    """Recompute ``report_counts`` from the raw rows (migration backfill, ``flask sd
    reports-rebuild``, after a bulk load that bypassed nothing but needs a fresh start).
    Returns the number of rows written."""
    dialect = connection.dialect.name
    connection.execute(report_counts.delete())
    day = _day("COALESCE(c.breached_at, c.stopped_at)", dialect)
    dims = " UNION ALL ".join(f"SELECT '{dim}' AS dim" for dim in ("total", *dict(DIM_COLUMNS)))
    key = "CASE d.dim " + " ".join(
        f"WHEN '{dim}' THEN COALESCE(CAST(t.{col} AS VARCHAR(40)), '')"
        for dim, col in DIM_COLUMNS) + " ELSE '' END"
    result = connection.exec_driver_sql(
        "INSERT INTO report_counts (metric, dim, day, key, n) "
        "SELECT metric, dim, day, dkey, count(*) FROM ("
        f"SELECT CAST(c.kind AS VARCHAR(12)) || o.suffix AS metric, d.dim AS dim, {day} AS day, "
        f"{key} AS dkey FROM sla_clocks c JOIN tickets t ON t.id = c.ticket_id "
        "CROSS JOIN (SELECT '.judged' AS suffix, 0 AS breach UNION ALL SELECT '.breached', 1) o "
        f"CROSS JOIN ({dims}) d "
        "WHERE c.engagement_id IS NULL AND c.kind IN ('response', 'resolution') "
        "AND (c.breached_at IS NOT NULL OR (c.state = 'stopped' AND c.stopped_at IS NOT NULL "
        "AND NOT c.is_cancelled)) AND (o.breach = 0 OR c.breached_at IS NOT NULL)"
        ") x GROUP BY metric, dim, day, dkey")
    return result.rowcount


def aligned(start, end) -> bool:
    """The rollup answers only for whole UTC days."""
    return all(x.hour == x.minute == x.second == x.microsecond == 0 for x in (start, end))


def counts(session: Session, metrics, dims, first: date, end: date, *, by_day: bool = False
           ) -> list[tuple]:
    """Summed rows [(metric, dim, key[, day], n)] for days ``first`` <= day < ``end``."""
    r = report_counts.c
    cols = [r.metric, r.dim, r.key] + ([r.day] if by_day else [])
    return session.execute(
        sa.select(*cols, sa.func.sum(r.n)).where(
            r.metric.in_(list(metrics)), r.dim.in_(list(dims)), r.day >= first, r.day < end)
        .group_by(*cols)).all()
