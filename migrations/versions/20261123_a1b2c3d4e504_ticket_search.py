"""tickets: full-text search (SQLite FTS5 table + triggers; PostgreSQL stored tsvector
column + GIN index); the assignee/group queue indexes carry the priority sort keys

Revision ID: a1b2c3d4e504
Revises: a1b2c3d4e503
Create Date: 2026-11-23 15:30:00.000000

The statements live in servicedesk/tickets/search.py (also run by create_all); they are
copied here so that later changes to that module do not rewrite history.
"""
from alembic import op


# revision identifiers, used by Alembic.
revision = 'a1b2c3d4e504'
down_revision = 'a1b2c3d4e503'
branch_labels = None
depends_on = None

FTS = "tickets_fts"

SQLITE_UPGRADE = (
    f"CREATE VIRTUAL TABLE {FTS} USING fts5(title, description, content='tickets', "
    "content_rowid='id', tokenize='unicode61 remove_diacritics 0', prefix='2 3')",
    f"CREATE TRIGGER {FTS}_ai AFTER INSERT ON tickets BEGIN "
    f"INSERT INTO {FTS}(rowid, title, description) "
    "VALUES (new.id, new.title, new.description); END",
    f"CREATE TRIGGER {FTS}_ad AFTER DELETE ON tickets BEGIN "
    f"INSERT INTO {FTS}({FTS}, rowid, title, description) "
    "VALUES ('delete', old.id, old.title, old.description); END",
    f"CREATE TRIGGER {FTS}_au AFTER UPDATE OF title, description ON tickets BEGIN "
    f"INSERT INTO {FTS}({FTS}, rowid, title, description) "
    "VALUES ('delete', old.id, old.title, old.description); "
    f"INSERT INTO {FTS}(rowid, title, description) "
    "VALUES (new.id, new.title, new.description); END",
    f"INSERT INTO {FTS}({FTS}) VALUES ('rebuild')",
)
SQLITE_DOWNGRADE = (
    f"DROP TRIGGER IF EXISTS {FTS}_ai",
    f"DROP TRIGGER IF EXISTS {FTS}_ad",
    f"DROP TRIGGER IF EXISTS {FTS}_au",
    f"DROP TABLE IF EXISTS {FTS}",
)
PG_UPGRADE = (
    "ALTER TABLE tickets ADD COLUMN search_vector tsvector GENERATED ALWAYS AS "
    "(to_tsvector('simple'::regconfig, title || ' ' || description)) STORED",
    "CREATE INDEX ix_tickets_search ON tickets USING gin (search_vector)",
)
PG_DOWNGRADE = ("DROP INDEX IF EXISTS ix_tickets_search",
                "ALTER TABLE tickets DROP COLUMN IF EXISTS search_vector")


def _run(statements):
    for statement in statements.get(op.get_bind().dialect.name, ()):
        op.execute(statement)


#: (old index, new index, columns of the new one)
QUEUE_INDEXES = (
    ("ix_tickets_assignee_status", "ix_tickets_assignee_status_priority",
     ["assignee_id", "status", "priority", "created_at"]),
    ("ix_tickets_group_status", "ix_tickets_group_status_priority",
     ["group_id", "status", "priority", "created_at"]),
)


def upgrade():
    _run({"sqlite": SQLITE_UPGRADE, "postgresql": PG_UPGRADE})
    for old, new, columns in QUEUE_INDEXES:
        op.create_index(new, "tickets", columns, unique=False)
        op.drop_index(old, table_name="tickets")


def downgrade():
    for old, new, columns in QUEUE_INDEXES:
        op.create_index(old, "tickets", columns[:2], unique=False)
        op.drop_index(new, table_name="tickets")
    _run({"sqlite": SQLITE_DOWNGRADE, "postgresql": PG_DOWNGRADE})
