"""Daily rollups behind the dashboard's compliance figures, kept exact by database triggers.

``report_counts`` holds, per UTC day of the decision instant, the number of judged and of
breached ticket clocks (see ``queries.DEFINITIONS['compliance']``), in total and per value of
each breakdown dimension (the ticket's *current* priority, group, service, category, tier,
channel). Its invariant: every row equals the sum, over the ticket clocks decided as the row
says, of 1 -- the old full scans of ``reference.py`` are the oracle, and
``tests/reports/test_rollups.py`` holds the two equal under random operations.

Triggers, not ORM events, maintain it, so every write path counts: the ORM, the sweep's Core
executemany UPDATEs, Core INSERT...RETURNING intake, manual SQL. Each trigger moves a row's
contribution: subtract what the old row contributed, add what the new one does, in one grouped
statement (``_net``), so what did not change cancels out and is not written.

* ``sla_clocks`` INSERT/UPDATE/DELETE: the clock's contribution under the ticket's dimensions.
* ``tickets`` UPDATE of a dimension: every clock of the ticket moves from the old to the new
  dimension values.

Clocks past due that no sweep has recorded yet depend on "now", so they are never rolled up:
``queries`` adds them from the raw rows (a range on ``ix_sla_clocks_state_due``).
The same statement text serves SQLite and PostgreSQL; only the day of an instant differs.
"""
from __future__ import annotations

import re
from datetime import date
from typing import Sequence

import sqlalchemy as sa
from sqlalchemy.orm import Session

from servicedesk.reports.models import report_count_deltas, report_counts, report_durations
from servicedesk.reports.sql import interpolate, ranks_needed, seconds_sql

#: (dimension, tickets column) in the order of queries.DIMENSIONS.
DIM_COLUMNS = (("priority", "priority"), ("group", "group_id"), ("service", "service_id"),
               ("category", "category_id"), ("tier", "tier"), ("channel", "channel"))
METRICS = ("response.judged", "response.breached", "resolution.judged", "resolution.breached")



#: How a trigger adds to the rollup. SQLite serialises writers, so it adds in place. On
#: PostgreSQL an in-place add would make every writer of the day wait on the same rollup row
#: until commit (intake, the sweep's batches); there triggers append to report_count_deltas
#: (no unique key, no row lock), readers sum both, and ``compact`` folds the deltas in.
_ADD = "INSERT INTO report_counts (metric, dim, day, key, n) "
_ADD_TAIL = " ON CONFLICT (metric, dim, day, key) DO UPDATE SET n = report_counts.n + excluded.n"
_DELTA = "INSERT INTO report_count_deltas (metric, dim, day, key, n) "


def _for_dialect(statement: str, dialect: str) -> str:
    if dialect == "sqlite":
        return statement
    return statement.replace(_ADD, _DELTA).replace(_ADD_TAIL, "")


class _Net(str):
    """A ``_net`` statement's SQL, remembering its parts (for PostgreSQL's statement-level
    form, ``_statement_trigger``)."""

    parts: tuple[str, ...] = ()


def _net(*parts: str) -> _Net:
    """One INSERT ... ON CONFLICT adding, per rollup row, the sum of what the ``parts`` give
    (SELECTs of metric, dim, day, dkey, n). A trigger that moves a row's contribution takes
    out the old one and adds the new one in one statement: what did not change cancels out
    and is not written (fewer statements, and no +1/-1 pairs appended as deltas). Grouped, so
    one statement never touches a rollup row twice (PostgreSQL refuses that)."""
    sql = _Net(_ADD + "SELECT metric, dim, day, dkey, sum(n) FROM (" + " UNION ALL ".join(parts)
               + ") z GROUP BY metric, dim, day, dkey HAVING sum(n) <> 0" + _ADD_TAIL)
    sql.parts = parts
    return sql


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


def _decided(c: str) -> str:
    """A ticket clock whose outcome is recorded (breached, or met: stopped, not cancelled)."""
    return (f"{c}.engagement_id IS NULL AND {c}.kind IN ('response', 'resolution') AND "
            f"({c}.breached_at IS NOT NULL OR ({c}.state = 'stopped' AND "
            f"{c}.stopped_at IS NOT NULL AND NOT {c}.is_cancelled))")


def _bump(clock: str, sign: int, dialect: str, **kw) -> str:
    """INSERT ... ON CONFLICT adding ``sign`` per judged (and breached) clock (``_bump_rows``)."""
    return _net(_bump_rows(clock, sign, dialect, **kw))


def _bump_rows(clock: str, sign: int, dialect: str, *, clocks_of: str | None = None,
               ticket: str | None = None) -> str:
    """The rollup rows (metric, dim, day, dkey, n) adding ``sign`` per judged (and breached)
    clock.

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
    decided = _decided(c)
    day = _day(f"COALESCE({c}.breached_at, {c}.stopped_at)", dialect)
    return (f"SELECT CAST({c}.kind AS VARCHAR(12)) || o.suffix AS metric, d.dim AS dim, "
            f"{day} AS day, d.dkey AS dkey, {sign} AS n "
            f"FROM {source}(SELECT '.judged' AS suffix, 0 AS breach UNION ALL "
            f"SELECT '.breached', 1) o, {dims} d "
            f"WHERE {where_ticket}{decided} "
            f"AND (o.breach = 0 OR {c}.breached_at IS NOT NULL)")


# --- durations (MTTA, MTTR): exact percentiles from a histogram and one bucket -------------

#: Upper bounds (seconds, exclusive) of the histogram buckets: 0-60 s, then 15 % steps up to
#: about three years; bucket i holds BOUNDS[i-1] <= v < BOUNDS[i], the last one the rest.
BOUNDS = tuple(sorted({round(60 * 1.15 ** i) for i in range(100)}))
MEASURES = ("business", "wall")


def bucket_sql(value: str) -> str:
    whens = " ".join(f"WHEN {value} < {b} THEN {i}" for i, b in enumerate(BOUNDS))
    return f"CASE {whens} ELSE {len(BOUNDS)} END"


def _measured(c: str) -> str:
    """The clock counts towards MTTA/MTTR (queries._stopped_clocks, without the period)."""
    return (f"{c}.engagement_id IS NULL AND {c}.kind IN ('response', 'resolution') "
            f"AND {c}.state = 'stopped' AND {c}.stopped_at IS NOT NULL AND NOT {c}.is_cancelled")


def _durations_select(c: str, dialect: str, source: str = "") -> str:
    """SELECT the report_durations rows (id, measure, kind, day, v) of clock(s) ``c``."""
    created = f"(SELECT t.created_at FROM tickets t WHERE t.id = {c}.ticket_id)"
    wall = (f"CASE WHEN {c}.kind = 'resolution' "
            f"THEN {seconds_sql(f'{c}.stopped_at', created, dialect)} "
            f"ELSE {seconds_sql(f'{c}.stopped_at', f'{c}.started_at', dialect)} END")
    return (
        f"SELECT {c}.id AS id, m.measure AS measure, CAST({c}.kind AS VARCHAR(12)) AS kind, "
        f"{_day(f'{c}.stopped_at', dialect)} AS day, "
        f"CASE m.measure WHEN 'business' THEN {c}.elapsed_before ELSE {wall} END AS v "
        f"FROM {source}(SELECT 'business' AS measure UNION ALL SELECT 'wall') m "
        f"WHERE {_measured(c)}")


def _hist(sign: int, clock_ids: str) -> str:
    return (_ADD +
            f"SELECT d.kind || '.' || d.measure, 'hist', d.day, CAST(d.bucket AS VARCHAR(40)), "
            f"{sign} FROM report_durations d WHERE d.clock_id = {clock_ids} "
            + _ADD_TAIL)


def _durations_remove(c: str) -> list[str]:
    return [_hist(-1, f"{c}.id"), f"DELETE FROM report_durations WHERE clock_id = {c}.id"]


def _durations_add(c: str, dialect: str) -> list[str]:
    insert = ("INSERT INTO report_durations (clock_id, measure, kind, day, bucket, value) "
              f"SELECT x.id, x.measure, x.kind, x.day, {bucket_sql('x.v')}, x.v FROM "
              f"({_durations_select(c, dialect)}) x WHERE true")
    return [insert, _hist(1, f"{c}.id")]


# --- ticket flow: created, resolved, reopen, FCR, escalation per tier -----------------------

TICKET_METRICS = ("ticket.created", "ticket.resolved", "ticket.reopened", "ticket.fcr",
                  "ticket.fcr_kb", "tier1.at", "tier1.up", "tier2.at", "tier2.up")
_REOPEN = "e.kind = 'status_changed' AND e.old_value = 'resolved' AND e.new_value = 'in_progress'"


def _flags(t: str, *, not_event: str | None = None, not_use: str | None = None,
           use_before: str | None = None) -> dict[str, str]:
    """The ticket's facts that live in other tables (queries._reopened, _kb_assisted,
    _was_at_tier, _tier_move), optionally as they were before event/use ``not_*``."""
    ev = f" AND e.id <> {not_event}" if not_event else ""

    def event(cond: str) -> str:
        return (f"EXISTS (SELECT 1 FROM ticket_events e WHERE e.ticket_id = {t}.id "
                f"AND {cond}{ev})")

    kb = (f"EXISTS (SELECT 1 FROM article_uses u WHERE u.ticket_id = {t}.id AND u.is_resolution"
          + (f" AND u.id <> {not_use}" if not_use else "") + ")")
    if use_before:
        kb = f"({kb} OR ({use_before}))"
    return {
        "reopened": event(_REOPEN), "kb": kb,
        "at1": f"({t}.tier = 1 OR {event(_tier_touch('1'))})",
        "up1": event("e.field = 'tier' AND e.old_value = '1' AND e.new_value IN ('2', '3')"),
        "at2": f"({t}.tier = 2 OR {event(_tier_touch('2'))})",
        "up2": event("e.field = 'tier' AND e.old_value = '2' AND e.new_value IN ('3')"),
    }


def _tier_touch(tier: str) -> str:
    return f"(e.field = 'tier' AND (e.old_value = '{tier}' OR e.new_value = '{tier}'))"


def _ticket_bump(t: str, sign: int, dialect: str, **kw) -> str:
    """INSERT ... ON CONFLICT adding ``sign`` for what ticket row ``t`` contributes."""
    return _net(_ticket_rows(t, sign, dialect, **kw))


def _ticket_rows(t: str, sign: int, dialect: str, *, source: str = "", new_row: bool = False,
                 only: tuple[str, ...] | None = None, **flag_kw) -> str:
    """The rollup rows adding ``sign`` for what ticket row ``t`` contributes (``source``:
    a FROM clause when ``t`` is a table alias). ``new_row``: a ticket being inserted, which no
    event or article use can reference yet (foreign keys), so its history flags are false."""
    f = _flags(t, **flag_kw)
    if new_row:
        f = {**{k: "1 = 0" for k in f}, "at1": f"{t}.tier = 1", "at2": f"{t}.tier = 2"}
    resolved = f"{t}.resolved_at IS NOT NULL"
    fcr = f"{resolved} AND {t}.is_first_contact_resolution"
    created, res_day = _day(f"{t}.created_at", dialect), _day(f"{t}.resolved_at", dialect)
    parts = [("ticket.created", created, "1 = 1"), ("ticket.resolved", res_day, resolved),
             ("ticket.reopened", res_day, f"{resolved} AND {f['reopened']}"),
             ("ticket.fcr", res_day, fcr), ("ticket.fcr_kb", res_day, f"{fcr} AND {f['kb']}"),
             ("tier1.at", created, f["at1"]), ("tier1.up", created, f["up1"]),
             ("tier2.at", created, f["at2"]), ("tier2.up", created, f["up2"])]
    if only is not None:
        parts = [part for part in parts if part[0] in only]
    rows = " UNION ALL ".join(
        f"SELECT '{metric}' AS metric, {day} AS day, CASE WHEN {cond} THEN {sign} ELSE 0 END "
        f"AS n{source}" for metric, day, cond in parts)
    return f"SELECT metric, 'total' AS dim, day, '' AS dkey, n FROM ({rows}) x WHERE n <> 0"


_TICKET_FLOW_FIELDS = ("created_at", "resolved_at", "is_first_contact_resolution")
#: The ticket metrics a history event can change: a tier change the tier ones, a reopening
#: the reopen count (the others do not read events), so an event's trigger computes only those.
_TIER_METRICS = ("tier1.at", "tier1.up", "tier2.at", "tier2.up")
_AT_TIER = ("tier1.at", "tier2.at")


def _ticket_triggers(dialect: str) -> dict:
    of_event = " FROM tickets t WHERE t.id = NEW.ticket_id"
    of_old_use = " FROM tickets t WHERE t.id = OLD.ticket_id"
    return {
        "trg_report_ticket_ins": ("tickets", "INSERT", None,
                                  [_ticket_bump("NEW", 1, dialect, new_row=True)]),
        "trg_report_ticket_upd": ("tickets", "UPDATE",
                                  _changed_sql(_TICKET_FLOW_FIELDS, dialect),
                                  [_net(_ticket_rows("OLD", -1, dialect),
                                        _ticket_rows("NEW", 1, dialect))]),
        # Only the tier changed (an escalation): of the ticket's own columns only the two
        # "was at tier" metrics read it (the others read dates, flags, events, uses).
        "trg_report_ticket_tier": ("tickets", "UPDATE",
                                   f"OLD.tier {_distinct(dialect)} NEW.tier AND NOT ("
                                   f"{_changed_sql(_TICKET_FLOW_FIELDS, dialect)})",
                                   [_net(_ticket_rows("OLD", -1, dialect, only=_AT_TIER),
                                         _ticket_rows("NEW", 1, dialect, only=_AT_TIER))]),
        "trg_report_event_ins": ("ticket_events", "INSERT", "NEW.field = 'tier'", [_net(
            _ticket_rows("t", -1, dialect, source=of_event, not_event="NEW.id",
                         only=_TIER_METRICS),
            _ticket_rows("t", 1, dialect, source=of_event, only=_TIER_METRICS))]),
        "trg_report_event_reopen": ("ticket_events", "INSERT", _REOPEN.replace("e.", "NEW."), [
            _net(_ticket_rows("t", -1, dialect, source=of_event, not_event="NEW.id",
                              only=("ticket.reopened",)),
                 _ticket_rows("t", 1, dialect, source=of_event, only=("ticket.reopened",)))]),
        "trg_report_use_ins": ("article_uses", "INSERT", "NEW.is_resolution", [_net(
            _ticket_rows("t", -1, dialect, source=of_event, not_use="NEW.id"),
            _ticket_rows("t", 1, dialect, source=of_event))]),
        # A use never moves to another ticket; is_resolution may turn on.
        "trg_report_use_upd": ("article_uses", "UPDATE",
                               _changed_sql(("is_resolution",), dialect), [_net(
            _ticket_rows("t", -1, dialect, source=of_event, not_use="NEW.id",
                         use_before="OLD.is_resolution"),
            _ticket_rows("t", 1, dialect, source=of_event))]),
        "trg_report_use_del": ("article_uses", "DELETE", "OLD.is_resolution", [_net(
            _ticket_rows("t", -1, dialect, source=of_old_use, use_before="OLD.is_resolution"),
            _ticket_rows("t", 1, dialect, source=of_old_use))]),
    }


# --- people: per assignee over tickets resolved on the day ----------------------------------

PEOPLE_METRICS = ("people.handled", "people.fcr", "people.clocks", "people.met",
                  "people.elapsed_us")


def _resolution_clocks(tid: str, *, without: str | None = None, plus: str | None = None) -> str:
    """The ticket's resolution clocks (cid, el, br) as queries.people outer-joins them; with
    ``without``/``plus`` as they were before a clock trigger's change."""
    sql = (f"SELECT c.id AS cid, c.elapsed_before AS el, c.breached_at AS br FROM sla_clocks c "
           f"WHERE c.ticket_id = {tid} AND c.kind = 'resolution' AND c.engagement_id IS NULL")
    if without:
        sql += f" AND c.id <> {without}"
    if plus:
        sql += (f" UNION ALL SELECT {plus}.id, {plus}.elapsed_before, {plus}.breached_at "
                f"WHERE {plus}.ticket_id = {tid} AND {plus}.kind = 'resolution' "
                f"AND {plus}.engagement_id IS NULL")
    return sql


def _people_bump(t: str, sign: int, dialect: str, **kw) -> str:
    return _net(_people_rows(t, sign, dialect, **kw))


def _people_rows(t: str, sign: int, dialect: str, *, tid: str, source: str | None = None,
                 **clock_kw) -> str:
    """The rollup rows of what ticket ``t`` contributes to the people figures: one row per resolution clock
    (or one without a clock), under its assignee on its resolution day."""
    clocks = _resolution_clocks(tid, **clock_kw)
    base = f"FROM {source or '(SELECT 1 AS one) o'} LEFT JOIN ({clocks}) x ON 1 = 1 "
    where = (f"WHERE {t}.resolved_at IS NOT NULL AND {t}.assignee_id IS NOT NULL"
             + (f" AND {t}.id = {tid}" if source else ""))
    day = _day(f"{t}.resolved_at", dialect)
    values = [("people.handled", f"{sign}"),
              ("people.fcr", f"CASE WHEN {t}.is_first_contact_resolution THEN {sign} ELSE 0 END"),
              ("people.clocks", f"CASE WHEN x.cid IS NOT NULL THEN {sign} ELSE 0 END"),
              ("people.met", f"CASE WHEN x.cid IS NOT NULL AND x.br IS NULL THEN {sign} "
                             "ELSE 0 END"),
              ("people.elapsed_us", f"CASE WHEN x.cid IS NOT NULL THEN {sign} * "
                                    "CAST(ROUND(x.el * 1000000) AS BIGINT) ELSE 0 END")]
    rows = " UNION ALL ".join(
        f"SELECT '{metric}' AS metric, {day} AS day, "
        f"CAST({t}.assignee_id AS VARCHAR(40)) AS dkey, {value} AS n {base}{where}"
        for metric, value in values)
    return f"SELECT metric, 'assignee' AS dim, day, dkey, n FROM ({rows}) y WHERE n <> 0"


_RESOLUTION_CLOCK = "NEW.kind = 'resolution' AND NEW.engagement_id IS NULL"
_ASSIGNED_RESOLVED = "(NEW.resolved_at IS NOT NULL AND NEW.assignee_id IS NOT NULL)"
_PEOPLE_TICKET_FIELDS = ("assignee_id", "resolved_at", "is_first_contact_resolution")
_PEOPLE_CLOCK_FIELDS = ("kind", "elapsed_before", "breached_at", "engagement_id", "ticket_id")


def _people_triggers(dialect: str) -> dict:
    ticket_of_new, ticket_of_old = "tickets t", "tickets t"
    return {
        "trg_report_people_ticket_ins": ("tickets", "INSERT",
                                         "NEW.resolved_at IS NOT NULL AND "
                                         "NEW.assignee_id IS NOT NULL",
                                         [_people_bump("NEW", 1, dialect, tid="NEW.id")]),
        # Only a ticket resolved with an assignee (before or after) counts for anyone.
        "trg_report_people_ticket_upd": (
            "tickets", "UPDATE", f"({_changed_sql(_PEOPLE_TICKET_FIELDS, dialect)}) AND ("
            f"{_ASSIGNED_RESOLVED.replace('NEW.', 'OLD.')} OR {_ASSIGNED_RESOLVED})",
            [_net(_people_rows("OLD", -1, dialect, tid="NEW.id"),
                  _people_rows("NEW", 1, dialect, tid="NEW.id"))]),
        "trg_report_people_clock_ins": ("sla_clocks", "INSERT", _RESOLUTION_CLOCK, [_net(
            _people_rows("t", -1, dialect, tid="NEW.ticket_id", source=ticket_of_new,
                         without="NEW.id"),
            _people_rows("t", 1, dialect, tid="NEW.ticket_id", source=ticket_of_new))]),
        # A clock never moves to another ticket.
        "trg_report_people_clock_upd": (
            "sla_clocks", "UPDATE",
            f"({_changed_sql(_PEOPLE_CLOCK_FIELDS, dialect)}) AND (("
            f"{_RESOLUTION_CLOCK.replace('NEW.', 'OLD.')}) OR ({_RESOLUTION_CLOCK}))", [_net(
                _people_rows("t", -1, dialect, tid="NEW.ticket_id", source=ticket_of_new,
                             without="NEW.id", plus="OLD"),
                _people_rows("t", 1, dialect, tid="NEW.ticket_id", source=ticket_of_new))]),
        "trg_report_people_clock_del": ("sla_clocks", "DELETE",
                                        _RESOLUTION_CLOCK.replace("NEW.", "OLD."), [_net(
            _people_rows("t", -1, dialect, tid="OLD.ticket_id", source=ticket_of_old,
                         plus="OLD"),
            _people_rows("t", 1, dialect, tid="OLD.ticket_id", source=ticket_of_old))]),
    }


_CLOCK_FIELDS = ("kind", "state", "stopped_at", "breached_at", "is_cancelled",
                 "engagement_id", "ticket_id")
_TICKET_FIELDS = tuple(col for _, col in DIM_COLUMNS)
_DURATION_FIELDS = ("kind", "state", "stopped_at", "started_at", "elapsed_before",
                    "is_cancelled", "engagement_id", "ticket_id")


def _distinct(dialect: str) -> str:
    return "IS NOT" if dialect == "sqlite" else "IS DISTINCT FROM"


def _changed_sql(fields, dialect: str) -> str:
    return " OR ".join(f"OLD.{f} {_distinct(dialect)} NEW.{f}" for f in fields)


def _bodies(dialect: str) -> dict[str, tuple[str, str, str | None, list[str]]]:
    """{trigger name: (table, event, WHEN condition, statements)}."""
    return {
        **_ticket_triggers(dialect),
        **_people_triggers(dialect),
        # Inserted clocks are almost always running: nothing to count, so no work.
        "trg_report_clock_ins": ("sla_clocks", "INSERT", _decided("NEW"),
                                 [_bump("NEW", 1, dialect)]),
        "trg_report_clock_upd": ("sla_clocks", "UPDATE",
                                 f"({_changed_sql(_CLOCK_FIELDS, dialect)}) AND "
                                 f"({_decided('OLD')} OR {_decided('NEW')})",
                                 [_net(_bump_rows("OLD", -1, dialect),
                                       _bump_rows("NEW", 1, dialect))]),
        "trg_report_clock_del": ("sla_clocks", "DELETE", _decided("OLD"),
                                 [_bump("OLD", -1, dialect)]),
        "trg_report_dur_ins": ("sla_clocks", "INSERT", _measured("NEW"),
                               _durations_add("NEW", dialect)),
        "trg_report_dur_upd": ("sla_clocks", "UPDATE",
                               f"({_changed_sql(_DURATION_FIELDS, dialect)}) AND "
                               f"({_measured('OLD')} OR {_measured('NEW')})",
                               _durations_remove("OLD") + _durations_add("NEW", dialect)),
        "trg_report_dur_del": ("sla_clocks", "DELETE", _measured("OLD"),
                               _durations_remove("OLD")),
        "trg_report_ticket_dims": (
            "tickets", "UPDATE", _changed_sql(_TICKET_FIELDS, dialect),
            [_net(_bump_rows("c", -1, dialect, clocks_of="NEW.id", ticket="OLD"),
                  _bump_rows("c", 1, dialect, clocks_of="NEW.id", ticket="NEW"))]),
    }


def _resolved_ticket(row: str) -> str:
    return (f"EXISTS (SELECT 1 FROM tickets g WHERE g.id = {row}.ticket_id "
            "AND g.resolved_at IS NOT NULL AND g.assignee_id IS NOT NULL)")


#: Conditions with a subquery, checked before a trigger's body: a clock of a ticket that is not
#: resolved with an assignee changes no people figure (the sweep's breaches, mostly).
_GUARDS = {"trg_report_people_clock_ins": _resolved_ticket("NEW"),
           "trg_report_people_clock_upd": _resolved_ticket("NEW"),
           "trg_report_people_clock_del": _resolved_ticket("OLD")}


def create_statements(dialect: str) -> list[str]:
    """DDL creating the triggers (the table is created by metadata or the migration)."""
    out = []
    for name, (table, event, when, statements) in _bodies(dialect).items():
        guard = _GUARDS.get(name)
        if dialect == "sqlite":
            when = f"({when}) AND {guard}" if guard and when else guard or when
            cond = f" WHEN {when}" if when else ""
            body = "; ".join(statements)
            out.append(f"CREATE TRIGGER {name} AFTER {event} ON {table} FOR EACH ROW{cond} "
                       f"BEGIN {body}; END")
        elif all(isinstance(x, _Net) for x in statements):
            out.extend(_statement_trigger(name, table, event, when, guard, statements))
        else:
            body = "; ".join(_for_dialect(x, dialect) for x in statements)
            if guard:  # PostgreSQL's WHEN takes no subquery
                body = f"IF {guard} THEN {body}; END IF"
            ret = "OLD" if event == "DELETE" else "NEW"
            out.append(f"CREATE OR REPLACE FUNCTION {name}() RETURNS trigger AS $$ "
                       f"BEGIN {body}; RETURN {ret}; END $$ LANGUAGE plpgsql")
            cond = f" WHEN ({when})" if when else ""
            out.append(f"CREATE TRIGGER {name} AFTER {event} ON {table} FOR EACH ROW{cond} "
                       f"EXECUTE FUNCTION {name}()")
    return out


#: Statement-level triggers: the transition tables an event has, and the rows they pair.
_TRANSITIONS = {
    "INSERT": ("NEW TABLE AS new_rows", "new_rows nw"),
    "DELETE": ("OLD TABLE AS old_rows", "old_rows od"),
    "UPDATE": ("OLD TABLE AS old_rows NEW TABLE AS new_rows",
               "new_rows nw JOIN old_rows od ON od.id = nw.id"),
}


_ROW_ALIAS = re.compile(r"\b(NEW|OLD)\.")


def _per_row(sql: str) -> str:
    """A row trigger's SQL over the transition tables' rows (aliases nw and od)."""
    return _ROW_ALIAS.sub(lambda m: "nw." if m.group(1) == "NEW" else "od.", sql)


def _statement_trigger(name: str, table: str, event: str, when: str | None,
                       guard: str | None, statements: list[_Net]) -> list[str]:
    """PostgreSQL: a trigger made of ``_net`` statements, run once per statement over its
    transition tables instead of once per row: each statement's parts are evaluated for every
    changed row (LATERAL) that passes the row trigger's WHEN and guard, and summed into one
    grouped INSERT. The rows appended to report_count_deltas sum to what the row triggers
    appended (AFTER ROW triggers run at the statement's end too, so every part reads the same
    tables), with one statement per batch instead of one per row (the sweep's batches of
    500 clocks, its escalated tickets, their history events)."""
    references, rows = _TRANSITIONS[event]
    conditions = " AND ".join(f"({c})" for c in (when, guard) if c)
    where = f" WHERE {_per_row(conditions)}" if conditions else ""
    body = "; ".join(
        _DELTA + "SELECT z.metric, z.dim, z.day, z.dkey, sum(z.n) FROM " + rows
        + " CROSS JOIN LATERAL (" + " UNION ALL ".join(_per_row(p) for p in st.parts) + ") z"
        + where + " GROUP BY z.metric, z.dim, z.day, z.dkey HAVING sum(z.n) <> 0"
        for st in statements)
    return [f"CREATE OR REPLACE FUNCTION {name}() RETURNS trigger AS $$ "
            f"BEGIN {body}; RETURN NULL; END $$ LANGUAGE plpgsql",
            f"CREATE TRIGGER {name} AFTER {event} ON {table} REFERENCING {references} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION {name}()"]


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


def recreate_triggers(connection) -> None:
    """Drop the triggers and create them as this module defines them now (migrations that
    change their definitions)."""
    for statement in drop_statements(connection.dialect.name):
        connection.exec_driver_sql(statement)
    create_triggers(connection)


def rebuild(connection) -> int:
    """Recompute ``report_counts`` from the raw rows (migration backfill, ``flask sd
    reports-rebuild``, after a bulk load that bypassed nothing but needs a fresh start).
    Returns the number of rows written."""
    dialect = connection.dialect.name
    connection.execute(report_count_deltas.delete())
    connection.execute(report_counts.delete())
    day = _day("COALESCE(c.breached_at, c.stopped_at)", dialect)
    dims = " UNION ALL ".join(f"SELECT '{dim}' AS dim" for dim in ("total", *dict(DIM_COLUMNS)))
    key = "CASE d.dim " + " ".join(
        f"WHEN '{dim}' THEN COALESCE(CAST(t.{col} AS VARCHAR(40)), '')"
        for dim, col in DIM_COLUMNS) + " ELSE '' END"
    written = connection.exec_driver_sql(
        "INSERT INTO report_counts (metric, dim, day, key, n) "
        "SELECT metric, dim, day, dkey, count(*) FROM ("
        f"SELECT CAST(c.kind AS VARCHAR(12)) || o.suffix AS metric, d.dim AS dim, {day} AS day, "
        f"{key} AS dkey FROM sla_clocks c JOIN tickets t ON t.id = c.ticket_id "
        "CROSS JOIN (SELECT '.judged' AS suffix, 0 AS breach UNION ALL SELECT '.breached', 1) o "
        f"CROSS JOIN ({dims}) d "
        "WHERE c.engagement_id IS NULL AND c.kind IN ('response', 'resolution') "
        "AND (c.breached_at IS NOT NULL OR (c.state = 'stopped' AND c.stopped_at IS NOT NULL "
        "AND NOT c.is_cancelled)) AND (o.breach = 0 OR c.breached_at IS NOT NULL)"
        ") x GROUP BY metric, dim, day, dkey").rowcount
    written += connection.exec_driver_sql(
        _ticket_bump("t", 1, dialect, source=" FROM tickets t")).rowcount
    written += connection.exec_driver_sql(
        "INSERT INTO report_counts (metric, dim, day, key, n) "
        "SELECT metric, 'assignee', day, dkey, sum(n) FROM (" + " UNION ALL ".join(
            f"SELECT '{metric}' AS metric, {_day('t.resolved_at', dialect)} AS day, "
            f"CAST(t.assignee_id AS VARCHAR(40)) AS dkey, {value} AS n FROM tickets t "
            "LEFT JOIN sla_clocks x ON x.ticket_id = t.id AND x.kind = 'resolution' "
            "AND x.engagement_id IS NULL "
            "WHERE t.resolved_at IS NOT NULL AND t.assignee_id IS NOT NULL"
            for metric, value in (
                ("people.handled", "1"),
                ("people.fcr", "CASE WHEN t.is_first_contact_resolution THEN 1 ELSE 0 END"),
                ("people.clocks", "CASE WHEN x.id IS NOT NULL THEN 1 ELSE 0 END"),
                ("people.met", "CASE WHEN x.id IS NOT NULL AND x.breached_at IS NULL THEN 1 "
                               "ELSE 0 END"),
                ("people.elapsed_us", "CASE WHEN x.id IS NOT NULL THEN "
                                      "CAST(ROUND(x.elapsed_before * 1000000) AS BIGINT) "
                                      "ELSE 0 END")))
        + ") y WHERE n <> 0 GROUP BY metric, day, dkey").rowcount
    connection.execute(report_durations.delete())
    written += connection.exec_driver_sql(
        "INSERT INTO report_durations (clock_id, measure, kind, day, bucket, value) "
        f"SELECT x.id, x.measure, x.kind, x.day, {bucket_sql('x.v')}, x.v FROM "
        f"({_durations_select('c', dialect, source='sla_clocks c, ')}) x WHERE true").rowcount
    written += connection.exec_driver_sql(
        "INSERT INTO report_counts (metric, dim, day, key, n) "
        "SELECT kind || '.' || measure, 'hist', day, CAST(bucket AS VARCHAR(40)), count(*) "
        "FROM report_durations GROUP BY kind, measure, day, bucket").rowcount
    return written


def aligned(start, end) -> bool:
    """The rollup answers only for whole UTC days."""
    return all(x.hour == x.minute == x.second == x.microsecond == 0 for x in (start, end))


def counts(session: Session, metrics, dims, first: date, end: date, *, by_day: bool = False
           ) -> list[tuple]:
    """Summed rows [(metric, dim, key[, day], n)] for days ``first`` <= day < ``end``."""
    r, cond = _with_deltas(session, lambda t: sa.and_(
        t.c.metric.in_(list(metrics)), t.c.dim.in_(list(dims)), t.c.day >= first, t.c.day < end))
    cols = [r.metric, r.dim, r.key] + ([r.day] if by_day else [])
    return session.execute(sa.select(*cols, sa.func.sum(r.n)).where(cond)
                           .group_by(*cols)).all()


def _with_deltas(session: Session, where):
    """(columns, condition) of report_counts plus, on PostgreSQL, the deltas not folded in yet (SQLite
    has none: reading the table alone lets it group straight off the primary key)."""
    if session.get_bind().dialect.name == "sqlite":
        return report_counts.c, where(report_counts)
    both = sa.union_all(*(sa.select(t.c.metric, t.c.dim, t.c.day, t.c.key, t.c.n).where(where(t))
                          for t in (report_counts, report_count_deltas))).subquery("counts")
    return both.c, sa.true()


def compact(connection) -> int:
    """Fold report_count_deltas into report_counts (PostgreSQL; a no-op on SQLite). Safe with
    writers running: it deletes only the deltas its snapshot sees and adds exactly those."""
    if connection.dialect.name == "sqlite":
        return 0
    return connection.exec_driver_sql(
        "WITH moved AS (DELETE FROM report_count_deltas RETURNING metric, dim, day, key, n) "
        + _ADD + "SELECT metric, dim, day, key, sum(n) FROM moved GROUP BY metric, dim, day, key"
        + _ADD_TAIL).rowcount


def percentiles(session: Session, kind: str, measures: Sequence[str], first: date, end: date,
                ps=(0.5, 0.9)) -> dict[str, tuple[int, dict[float, float | None]]]:
    """Exact percentile_cont of each duration ``measure`` (business, wall) of clock ``kind``
    over days ``first`` <= day < ``end``, in two statements whatever the period: the daily
    histograms say which bucket holds each needed rank, then one UNION of indexed slices
    (ix_report_durations_rank: kind, measure, bucket, value, day) reads exactly the values at
    those ranks. Returns {measure: (count, {p: value})}."""
    r, cond = _with_deltas(session, lambda t: sa.and_(
        t.c.metric.in_([f"{kind}.{m}" for m in measures]), t.c.dim == "hist",
        t.c.day >= first, t.c.day < end))
    hists: dict[str, list[tuple[int, int]]] = {m: [] for m in measures}
    for metric, bucket, count in session.execute(
            sa.select(r.metric, r.key, sa.func.sum(r.n)).where(cond).group_by(r.metric, r.key)):
        if count:
            hists[metric.split(".", 1)[1]].append((int(bucket), int(count)))
    slices, totals = [], {}
    for measure, hist in hists.items():
        hist.sort()
        totals[measure] = n = sum(count for _, count in hist)
        if n:
            slices += [(measure, *part) for part in _rank_slices(hist, ranks_needed(n, ps))]
    at = _values_at(session, kind, slices, first, end)
    return {measure: (totals[measure], interpolate(totals[measure], at[measure], ps))
            if totals[measure] else (0, {p: None for p in ps}) for measure in measures}


def _rank_slices(hist: list[tuple[int, int]], ranks: set[int]):
    """(bucket, rank of the bucket's first value, offset in the bucket, how many) for each
    run of consecutive wanted 0-based ``ranks`` inside one bucket of a sorted histogram
    [(bucket, count)] (p50 needs ranks k and k+1: one slice of two, not two queries)."""
    before = 0
    for bucket, count in hist:
        inside = sorted(rank - before for rank in ranks if before <= rank < before + count)
        while inside:
            run = [inside.pop(0)]
            while inside and inside[0] == run[-1] + 1:
                run.append(inside.pop(0))
            yield bucket, before, run[0], len(run)
        before += count


def _values_at(session: Session, kind: str, slices, first: date, end: date
               ) -> dict[str, dict[int, float]]:
    """{measure: {rank: value}} for every (measure, bucket, before, offset, limit) slice, read
    in one statement: a UNION ALL of indexed ORDER BY value LIMIT/OFFSET slices."""
    at: dict[str, dict[int, float]] = {measure: {} for measure, *_ in slices}
    if not slices:
        return at
    d = report_durations.c
    subs = [sa.select(d.value).where(d.kind == kind, d.measure == measure, d.bucket == bucket,
                                     d.day >= first, d.day < end)
            .order_by(d.value).limit(limit).offset(offset).subquery(f"s{i}")
            for i, (measure, bucket, _before, offset, limit) in enumerate(slices)]
    parts = [sa.select(sa.literal(i).label("part"), sub.c.value) for i, sub in enumerate(subs)]
    by_part: dict[int, list[float]] = {}
    for part, value in session.execute(sa.union_all(*parts) if len(parts) > 1 else parts[0]):
        by_part.setdefault(part, []).append(value)
    for i, (measure, _bucket, before, offset, _limit) in enumerate(slices):
        for j, value in enumerate(sorted(by_part.get(i, []))):
            at[measure][before + offset + j] = value
    return at
