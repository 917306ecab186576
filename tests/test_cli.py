"""The administration commands, on a throw-away SQLite file (they commit)."""
import pytest
import sqlalchemy as sa

from servicedesk import create_app
from servicedesk.accounts.models import Role, User
from servicedesk.config import TestingConfig as _Testing
from servicedesk.extensions import db
from servicedesk.sla.models import Calendar, SLAPolicy


@pytest.fixture
def file_app(tmp_path):
    config = type("FileConfig", (_Testing,),
                  {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'cli.db'}"})
    app = create_app(config)
    yield app
    with app.app_context():
        db.engine.dispose()


def test_init_db_migrates_and_seeds_defaults_idempotently(file_app):
    runner = file_app.test_cli_runner()
    first = runner.invoke(args=["sd", "init-db"])
    assert first.exit_code == 0, (first.output, first.exception)
    assert "4 default SLA policies created" in first.output
    second = runner.invoke(args=["sd", "init-db"])
    assert second.exit_code == 0 and "created" not in second.output
    with file_app.app_context():
        names = db.session.scalars(sa.select(SLAPolicy.name).order_by(SLAPolicy.priority)).all()
        assert names == ["P1 critical", "P2 high", "P3 moderate", "P4 low"]
        assert db.session.scalar(sa.select(sa.func.count(Calendar.id)).where(
            Calendar.is_builtin)) == 1


def test_create_admin_hashes_the_password_and_refuses_duplicates(file_app):
    runner = file_app.test_cli_runner()
    runner.invoke(args=["sd", "init-db"])
    args = ["sd", "create-admin", "--email", "Boss@Example.com", "--name", "Boss",
            "--password", "long enough pw"]
    ok = runner.invoke(args=args)
    assert ok.exit_code == 0, ok.output
    with file_app.app_context():
        admin = db.session.scalar(sa.select(User))
        assert admin.email == "boss@example.com" and admin.role is Role.admin
        assert admin.password_hash.startswith("scrypt:")
    again = runner.invoke(args=args)
    assert again.exit_code != 0 and "already exists" in again.output
    short = runner.invoke(args=["sd", "create-admin", "--email", "x@example.com", "--name", "X",
                                "--password", "short"])
    assert short.exit_code != 0 and "at least 8" in short.output


def test_reports_rebuild_restores_the_rollups_from_the_tickets(file_app):
    from servicedesk.accounts import services as accounts
    from servicedesk.clock import utcnow
    from servicedesk.reports.models import report_counts
    from servicedesk.tickets import services as tickets

    runner = file_app.test_cli_runner()
    runner.invoke(args=["sd", "init-db"])
    with file_app.app_context():
        now = utcnow()
        agent = accounts.create_user(db.session, email="a@example.com", name="A",
                                     role=Role.agent, now=now)
        caller = accounts.create_user(db.session, email="c@example.com", name="C",
                                      role=Role.requester, now=now)
        for n in range(3):
            tickets.create_ticket(db.session, actor=agent, requester=caller, title=f"T{n}",
                                  description="d", channel="phone", impact=2, urgency=2,
                                  now=now)
        db.session.commit()
        kept = db.session.execute(sa.select(report_counts).order_by(
            report_counts.c.metric, report_counts.c.dim, report_counts.c.key)).all()
        assert ("ticket.created", "total", now.date(), "", 3) in [tuple(r) for r in kept]
        db.session.execute(report_counts.delete())  # e.g. a restore without the rollups
        db.session.commit()
    result = runner.invoke(args=["sd", "reports-rebuild"])
    assert result.exit_code == 0, (result.output, result.exception)
    assert "Report rollups rebuilt:" in result.output
    with file_app.app_context():
        rebuilt = db.session.execute(sa.select(report_counts).order_by(
            report_counts.c.metric, report_counts.c.dim, report_counts.c.key)).all()
        assert rebuilt == kept
