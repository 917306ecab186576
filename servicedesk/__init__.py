"""The service desk Flask application."""
from __future__ import annotations

from typing import Any, Mapping

from flask import Flask

from servicedesk.clock import Clock, SystemClock
from servicedesk.config import PROJECT_ROOT

PROJECT_MIGRATIONS = PROJECT_ROOT / "migrations"


def create_app(config: type | Mapping[str, Any] | None = None, *,
               clock: Clock | None = None) -> Flask:
    """Build the app: config -> extensions -> blueprints -> CLI -> error handlers. Nothing else.

    ``config`` is a config class or a mapping of overrides on top of the environment's class.
    """
    from servicedesk import config as config_module

    base = config_module.config_from_env()
    if isinstance(config, type):
        base, overrides = config, {}
    else:
        overrides = dict(config or {})
    settings = base()
    app = Flask(__name__, template_folder=overrides.get("TEMPLATE_DIR", settings.TEMPLATE_DIR),
                static_folder=overrides.get("STATIC_DIR", settings.STATIC_DIR),
                instance_path=str(settings.INSTANCE_PATH))
    app.config.from_object(settings)
    app.config.from_pyfile("settings.py", silent=True)  # local overrides, never committed
    app.config.update(overrides)
    app.extensions["clock"] = clock or SystemClock()

    _init_extensions(app)
    _register_blueprints(app)
    _register_cli(app)
    from servicedesk.errors import register_error_handlers

    register_error_handlers(app)
    from servicedesk.web import templating

    templating.init_app(app)
    return app


def _init_extensions(app: Flask) -> None:
    from servicedesk.extensions import csrf, db, login_manager, migrate
    from servicedesk import models  # noqa: F401  (registers every model on the metadata)
    from servicedesk.sla import receivers  # noqa: F401  (SLA clocks follow ticket signals)
    from servicedesk.feedback import receivers as _feedback  # noqa: F401  (survey on resolve)
    from servicedesk.tickets import search  # the search table/index: DDL for create_all

    db.init_app(app)
    migrate.init_app(app, db, directory=str(app.config.get(
        "MIGRATIONS_DIR", str(PROJECT_MIGRATIONS))),
        include_name=search.alembic_include_name)
    login_manager.init_app(app)
    csrf.init_app(app)
    from servicedesk.web import auth

    auth.init_app(app)


def _register_blueprints(app: Flask) -> None:
    from servicedesk.accounts import api as accounts_api, views as accounts_views
    from servicedesk.catalog import api as catalog_api, views as catalog_views
    from servicedesk.sla import api as sla_api, views as sla_views
    from servicedesk.escalation import views as escalation_views
    from servicedesk.feedback import views as feedback_views
    from servicedesk.reports import api as reports_api, views as reports_views
    from servicedesk.notifications import views as notifications_views
    from servicedesk.tickets import api as tickets_api, portal, views as tickets_views
    from servicedesk.web import health, openapi

    for module in (health, accounts_views, catalog_views, tickets_views, portal, sla_views,
                   escalation_views, notifications_views, feedback_views, reports_views,
                   reports_api,
                   accounts_api, catalog_api, tickets_api, sla_api, openapi):
        app.register_blueprint(module.bp)
    from servicedesk.knowledge import api as knowledge_api

    app.register_blueprint(knowledge_api.bp)
    from servicedesk.knowledge import views as knowledge_views

    app.register_blueprint(knowledge_views.bp)
    from servicedesk.escalation import api as escalation_api
    from servicedesk.notifications import api as notifications_api

    for module in (escalation_api, notifications_api):
        app.register_blueprint(module.bp)


def _register_cli(app: Flask) -> None:
    from servicedesk.cli import sd

    app.cli.add_command(sd)
