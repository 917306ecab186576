"""Full-text search over tickets' title and description, and number lookups.

SQLite: an FTS5 external-content table ``tickets_fts`` (rowid = ticket id) kept in step with
``tickets`` by three triggers. PostgreSQL: a stored generated column ``tickets.search_vector``
= ``to_tsvector('simple', title || ' ' || description)`` with a GIN index ``ix_tickets_search``
(stored, so rows the index hands over are checked without re-parsing their text). Both are created by the migration
``a1b2c3d4e504`` and, for ``create_all`` (tests, benches), by the DDL listeners below; they live
outside the ORM metadata, so ``is_search_object`` keeps them out of Alembic's autogenerate.

A query's words (runs of letters and digits) must all occur, the last one as a word prefix,
as typed ("belt 7" finds "Belt 7 stopped" and "belt 75"; "radar" finds "radars"; a prefix on
every word would cost twice as much when a word is common). The simple tokenizers fold case
but neither stem nor strip accents, so both databases find the same tickets. A ticket number
matches exactly (``123``, ``INC-000123``) and, written zero-padded or with its prefix, as the
start of a number (``INC-0001`` finds INC-000100..INC-000199).
"""
from __future__ import annotations

import re

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import ColumnElement

from servicedesk.tickets.models import NUMBER_PREFIX, Ticket, parse_number

#: Width of the zero-padded number (``format_number``).
NUMBER_DIGITS = 6
#: At most this many words of a query are searched (the rest are ignored).
MAX_WORDS = 16

SQLITE_FTS_TABLE = "tickets_fts"
PG_SEARCH_INDEX = "ix_tickets_search"
PG_SEARCH_COLUMN = "search_vector"
#: The indexed document on PostgreSQL.
PG_DOCUMENT = "to_tsvector('simple'::regconfig, title || ' ' || description)"

SQLITE_CREATE = (
    f"CREATE VIRTUAL TABLE {SQLITE_FTS_TABLE} USING fts5(title, description, "
    "content='tickets', content_rowid='id', tokenize='unicode61 remove_diacritics 0', "
    "prefix='2 3')",
    f"CREATE TRIGGER {SQLITE_FTS_TABLE}_ai AFTER INSERT ON tickets BEGIN "
    f"INSERT INTO {SQLITE_FTS_TABLE}(rowid, title, description) "
    "VALUES (new.id, new.title, new.description); END",
    f"CREATE TRIGGER {SQLITE_FTS_TABLE}_ad AFTER DELETE ON tickets BEGIN "
    f"INSERT INTO {SQLITE_FTS_TABLE}({SQLITE_FTS_TABLE}, rowid, title, description) "
    "VALUES ('delete', old.id, old.title, old.description); END",
    f"CREATE TRIGGER {SQLITE_FTS_TABLE}_au AFTER UPDATE OF title, description ON tickets BEGIN "
    f"INSERT INTO {SQLITE_FTS_TABLE}({SQLITE_FTS_TABLE}, rowid, title, description) "
    "VALUES ('delete', old.id, old.title, old.description); "
    f"INSERT INTO {SQLITE_FTS_TABLE}(rowid, title, description) "
    "VALUES (new.id, new.title, new.description); END",
    # Index the rows already there (the migration on a database with tickets).
    f"INSERT INTO {SQLITE_FTS_TABLE}({SQLITE_FTS_TABLE}) VALUES ('rebuild')",
)
SQLITE_DROP = tuple(f"DROP {kind} IF EXISTS {SQLITE_FTS_TABLE}{suffix}" for kind, suffix in (
    ("TRIGGER", "_ai"), ("TRIGGER", "_ad"), ("TRIGGER", "_au"), ("TABLE", "")))
PG_CREATE = (
    f"ALTER TABLE tickets ADD COLUMN {PG_SEARCH_COLUMN} tsvector "
    f"GENERATED ALWAYS AS ({PG_DOCUMENT}) STORED",
    f"CREATE INDEX {PG_SEARCH_INDEX} ON tickets USING gin ({PG_SEARCH_COLUMN})",
)
PG_DROP = (f"DROP INDEX IF EXISTS {PG_SEARCH_INDEX}",
           f"ALTER TABLE tickets DROP COLUMN IF EXISTS {PG_SEARCH_COLUMN}")


def create_statements(dialect: str) -> tuple[str, ...]:
    return {"sqlite": SQLITE_CREATE, "postgresql": PG_CREATE}.get(dialect, ())


def drop_statements(dialect: str) -> tuple[str, ...]:
    return {"sqlite": SQLITE_DROP, "postgresql": PG_DROP}.get(dialect, ())


def is_search_object(name: str | None, type_: str, table: str | None = None) -> bool:
    """True for the search table (and FTS5's shadow tables), column and index, which are not in
    the ORM metadata: Alembic's ``include_name`` hook and the migration test leave them out."""
    if not name:
        return False
    if type_ == "table":
        return name == SQLITE_FTS_TABLE or name.startswith(SQLITE_FTS_TABLE + "_")
    if type_ == "column":
        return name == PG_SEARCH_COLUMN and table == "tickets"
    return type_ == "index" and name == PG_SEARCH_INDEX


def alembic_include_name(name, type_, parent_names) -> bool:
    return not is_search_object(name, type_, (parent_names or {}).get("table_name"))


def _create(target, connection, **kw) -> None:
    for statement in create_statements(connection.dialect.name):
        connection.exec_driver_sql(statement)


def _drop(target, connection, **kw) -> None:
    for statement in drop_statements(connection.dialect.name):
        connection.exec_driver_sql(statement)


sa.event.listen(Ticket.__table__, "after_create", _create)
sa.event.listen(Ticket.__table__, "before_drop", _drop)


# --- the query side -----------------------------------------------------------------------

def words(text: str) -> list[str]:
    """The searchable words of ``text`` (runs of letters and digits), lower-cased, at most
    ``MAX_WORDS``."""
    return [w.lower() for w in re.findall(r"[^\W_]+", text)][:MAX_WORDS]


class TextMatch(ColumnElement[bool]):
    """``tickets`` rows whose title or description contain every word (the last as a prefix)."""

    inherit_cache = False
    type = sa.Boolean()
    #: A predicate, not a boolean column: no "= 1" after it on SQLite (which would hide the
    #: IN list from the planner).
    _is_implicitly_boolean = True

    def __init__(self, terms: list[str]) -> None:
        self.terms = terms


@compiles(TextMatch, "sqlite")
def _match_sqlite(element: TextMatch, compiler, **kw) -> str:
    query = " ".join(f'"{t}"' for t in element.terms[:-1]) + f' "{element.terms[-1]}"*'
    param = compiler.process(sa.bindparam("fts_query", query, unique=True), **kw)
    return (f"tickets.id IN (SELECT rowid FROM {SQLITE_FTS_TABLE} "
            f"WHERE {SQLITE_FTS_TABLE} MATCH {param})")


@compiles(TextMatch, "postgresql")
def _match_postgresql(element: TextMatch, compiler, **kw) -> str:
    query = " & ".join([f"'{t}'" for t in element.terms[:-1]] + [f"'{element.terms[-1]}':*"])
    param = compiler.process(sa.bindparam("fts_query", query, unique=True), **kw)
    return f"tickets.{PG_SEARCH_COLUMN} @@ to_tsquery('simple'::regconfig, {param})"


@compiles(TextMatch)
def _match_other(element: TextMatch, compiler, **kw) -> str:
    """Any other database: every word as a substring of title or description (a sketch for
    dialects we do not run on; SQLite and PostgreSQL have their own above)."""
    clauses = []
    for term in element.terms:
        pattern = f"%{term}%"
        clauses.append(sa.or_(Ticket.title.ilike(pattern), Ticket.description.ilike(pattern)))
    return compiler.process(sa.and_(*clauses), **kw)


def number_clause(text: str) -> sa.ColumnElement[bool] | None:
    """The ticket numbers ``text`` names: exactly, and as a prefix when written zero-padded
    or with ``INC-`` (None if it is not a number)."""
    number = parse_number(text)
    if number is None:
        return None
    digits = text.strip().upper().removeprefix(NUMBER_PREFIX)
    clause = Ticket.id == number
    padded = text.strip().upper().startswith(NUMBER_PREFIX) or digits.startswith("0")
    if padded and len(digits) < NUMBER_DIGITS:
        scale = 10 ** (NUMBER_DIGITS - len(digits))
        clause = sa.or_(clause, Ticket.id.between(number * scale, (number + 1) * scale - 1))
    return clause


def search_clause(text: str) -> sa.ColumnElement[bool] | None:
    """Tickets matching the queue's search box: number, or every word in title/description."""
    text = text.strip()
    if not text:
        return None
    terms = words(text)
    clauses = [c for c in (number_clause(text), TextMatch(terms) if terms else None)
               if c is not None]
    if not clauses:
        return sa.false()  # only punctuation: nothing to find
    return clauses[0] if len(clauses) == 1 else sa.or_(*clauses)
