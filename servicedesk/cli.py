"""``flask sd ...`` commands (also ``servicedesk ...`` via the console script)."""
from __future__ import annotations

import click
from flask import current_app
from flask.cli import FlaskGroup, with_appcontext

from servicedesk.clock import utcnow
from servicedesk.db import transaction
from servicedesk.extensions import db


@click.group("sd", help="Service desk administration.")
def sd() -> None:
    pass


@sd.command("init-db")
@with_appcontext
def init_db() -> None:
    """Create or upgrade the schema (Alembic), then seed the priority matrix and the default
    calendars and SLA policies where none exist yet."""
    from flask_migrate import upgrade

    from servicedesk.catalog.services import load_matrix, set_matrix
    from servicedesk.sla.defaults import seed_defaults

    upgrade(directory=current_app.extensions["migrate"].directory)
    with transaction(db.session):
        set_matrix(db.session, load_matrix(db.session))
        made = seed_defaults(db.session, timezone=current_app.config["DISPLAY_TIMEZONE"])
    click.echo("Database is up to date." + (f" {len(made)} default SLA policies created."
                                            if made else ""))


@sd.command("create-admin")
@click.option("--email", prompt=True)
@click.option("--name", prompt=True, default="Administrator")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@with_appcontext
def create_admin(email: str, name: str, password: str) -> None:
    """Create an administrator account."""
    from servicedesk.accounts.models import Role
    from servicedesk.accounts.services import create_user
    from servicedesk.errors import DomainError

    try:
        with transaction(db.session):
            user = create_user(db.session, email=email, name=name, role=Role.admin,
                               password=password, now=utcnow())
    except DomainError as exc:
        raise click.ClickException(exc.message)
    click.echo(f"Admin {user.email} created.")


@sd.command("seed-demo")
@click.option("--tickets", default=300, show_default=True, help="How many tickets to generate.")
@click.option("--seed", default=2026, show_default=True, help="Random seed (same seed, same data).")
@with_appcontext
def seed_demo(tickets: int, seed: int) -> None:
    """Fill an empty database with the airport-drill demo desk."""
    from servicedesk import demo

    with transaction(db.session):
        summary = demo.seed(db.session, now=utcnow(), tickets=tickets, seed=seed)
    click.echo(summary)
    from servicedesk.knowledge.indexing import index_path, rebuild

    with transaction(db.session):  # the demo's articles are searchable at once
        count = rebuild(db.session, index_dir=index_path(), now=utcnow(), procs=1,
                        commit=db.session.commit)
    click.echo(f"Knowledge index built: {count} articles in {index_path()}.")


@sd.command("scheduler")
@click.option("--once", is_flag=True, help="Run every job once and exit (cron-style).")
@with_appcontext
def scheduler(once: bool) -> None:
    """Run the SLA sweep and the e-mail sender in this process (one per deployment is enough;
    more are safe)."""
    from servicedesk.scheduler import JOB_DEFINITIONS, build_scheduler

    app = current_app._get_current_object()
    if once:
        for job in JOB_DEFINITIONS:
            click.echo(f"{job.id}: {job.func(app)}")
        return
    click.echo("Scheduler running; Ctrl+C to stop.")
    try:
        build_scheduler(app).start()
    except (KeyboardInterrupt, SystemExit):
        pass


@sd.command("seed-sla")
@with_appcontext
def seed_sla() -> None:
    """Create the 24x7 and business-hours calendars and default P1-P4 policies if missing."""
    from servicedesk.sla.defaults import seed_defaults

    with transaction(db.session):
        made = seed_defaults(db.session, timezone=current_app.config["DISPLAY_TIMEZONE"])
    click.echo(f"{len(made)} default SLA policies created.")


@sd.command("kb-rebuild")
@click.option("--procs", type=int, default=None,
              help="Indexing processes (default: one per core, at most 4).")
@with_appcontext
def kb_rebuild(procs: int | None) -> None:
    """Rebuild the knowledge-base search index from the database (into a new generation,
    swapped in when complete: searches keep working meanwhile)."""
    import sqlalchemy as sa

    from servicedesk.knowledge.indexing import INDEXED_STATUSES, index_path, rebuild
    from servicedesk.knowledge.models import Article

    total = db.session.scalar(sa.select(sa.func.count()).select_from(Article)
                              .where(Article.status.in_(INDEXED_STATUSES)))
    with transaction(db.session), click.progressbar(length=total, label="Indexing articles",
                                                    show_pos=True) as bar:
        done = [0]

        def progress(count: int) -> None:
            bar.update(count - done[0])
            done[0] = count

        count = rebuild(db.session, index_dir=index_path(), now=utcnow(), progress=progress,
                        procs=procs, commit=db.session.commit)
    click.echo(f"Indexed {count} articles into {index_path()}.")


@sd.command("kb-sync")
@with_appcontext
def kb_sync() -> None:
    """Apply the pending knowledge-index changes once (what the scheduler's kb_index job does)."""
    from servicedesk.knowledge.indexing import drain, index_path

    result = drain(db.session, now=utcnow(), index_dir=index_path(), commit=db.session.commit)
    click.echo(str(result))


@sd.command("reports-rebuild")
@with_appcontext
def reports_rebuild() -> None:
    """Recompute the managers' report rollups from the tickets and clocks (after a restore or
    a bulk import that bypassed the triggers); one transaction, so readers never see half."""
    from servicedesk.db import transaction
    from servicedesk.reports.rollups import rebuild

    with transaction(db.session):
        rows = rebuild(db.session.connection())
    click.echo(f"Report rollups rebuilt: {rows} day totals.")


def main() -> None:
    """Console script: the Flask CLI bound to this app."""
    from servicedesk import create_app

    cli = FlaskGroup(create_app=lambda: create_app())
    cli.main()
