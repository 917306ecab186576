"""The migrations are the schema: one head, and ``upgrade`` on an empty database gives exactly
the models' schema (an empty autogenerate diff) on SQLite and on PostgreSQL."""
import logging

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask_migrate import downgrade, upgrade

from servicedesk import PROJECT_MIGRATIONS
from servicedesk.extensions import db
from servicedesk.tickets.search import alembic_include_name, is_search_object
from tests.postgres.scratch import make_app, scratch_database, unreachable_reason



@pytest.fixture(autouse=True)
def _keep_logging():
    """migrations/env.py runs logging.config.fileConfig, which disables every existing logger
    and replaces the root handlers; put logging back so later tests still see their logs."""
    root = logging.getLogger()
    saved_root = (root.level, list(root.handlers))
    saved = {name: (lg.disabled, lg.level, list(lg.handlers), lg.propagate)
             for name, lg in logging.Logger.manager.loggerDict.items()
             if isinstance(lg, logging.Logger)}
    yield
    root.setLevel(saved_root[0])
    root.handlers[:] = saved_root[1]
    for name, lg in logging.Logger.manager.loggerDict.items():
        if not isinstance(lg, logging.Logger):
            continue
        if name in saved:
            lg.disabled, level, handlers, lg.propagate = saved[name]
            lg.setLevel(level)
            lg.handlers[:] = handlers
        else:
            lg.disabled = False


def schema_diff(app) -> list:
    """What autogenerate would write to go from the database to the models (empty = same)."""
    with app.app_context(), db.engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"compare_type": True, "render_as_batch": True,
                        "include_name": alembic_include_name})
        return compare_metadata(context, db.metadata)


def tables(app) -> set[str]:
    """The database's tables, without the search table (not in the ORM metadata)."""
    with app.app_context():
        names = set(sa.inspect(db.engine).get_table_names()) - {"alembic_version"}
    return {name for name in names if not is_search_object(name, "table")}


def dispose(app) -> None:
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def test_single_head():
    config = Config(str(PROJECT_MIGRATIONS / "alembic.ini"))
    config.set_main_option("script_location", str(PROJECT_MIGRATIONS))
    heads = ScriptDirectory.from_config(config).get_heads()
    assert len(heads) == 1, f"several Alembic heads, merge them: {heads}"


def test_upgrade_on_empty_sqlite_matches_models_and_downgrades_cleanly(tmp_path):
    app = make_app(f"sqlite:///{tmp_path / 'migrations.db'}")
    try:
        with app.app_context():
            upgrade()
        assert tables(app) == set(db.metadata.tables)
        assert schema_diff(app) == []
        with app.app_context():
            downgrade(revision="base")
        assert tables(app) == set()
        with app.app_context():
            upgrade()
        assert schema_diff(app) == []
    finally:
        dispose(app)


@pytest.mark.postgres
def test_upgrade_on_empty_postgresql_matches_models():
    reason = unreachable_reason()
    if reason:
        pytest.skip(reason)
    with scratch_database("sd_migtest") as url:
        app = make_app(url)
        try:
            with app.app_context():
                upgrade()
            assert tables(app) == set(db.metadata.tables)
            assert schema_diff(app) == []
            with app.app_context():
                downgrade(revision="base")
            assert tables(app) == set()
        finally:
            dispose(app)
