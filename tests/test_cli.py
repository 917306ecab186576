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
