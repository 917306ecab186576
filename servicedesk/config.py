"""Configuration classes; the only module that reads environment variables."""
from __future__ import annotations

import os
import secrets
import tempfile
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


def instance_path() -> Path:
    """Where the SQLite file, the Whoosh index and the generated secret key live."""
    return Path(_env("SERVICEDESK_INSTANCE", str(PROJECT_ROOT / "instance"))).resolve()


def _secret_key(folder: Path) -> str:
    """SECRET_KEY from the environment, else one generated once into the instance folder."""
    from_env = _env("SECRET_KEY")
    if from_env:
        return from_env
    folder.mkdir(parents=True, exist_ok=True)
    key_file = folder / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_hex(32))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


def _database_url(folder: Path) -> str:
    url = _env("DATABASE_URL", f"sqlite:///{folder / 'servicedesk.db'}")
    # Heroku-style URLs and plain postgresql:// both mean psycopg 3 here.
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def _pre_ping(url: str) -> bool:
    """Test each pooled connection before use: one more round trip per request, which finds
    connections a database server restart broke. SQLite has no server to lose, so never there;
    DATABASE_POOL_PRE_PING=0 turns it off for PostgreSQL too (after a restart, each worker's
    first request then fails once and SQLAlchemy drops the pool)."""
    return not url.startswith("sqlite") and _env("DATABASE_POOL_PRE_PING", "1") == "1"


class Config:
    """Production-safe defaults; every value can be overridden from the environment."""

    INSTANCE_PATH = instance_path()
    TEMPLATE_DIR = str(PROJECT_ROOT / "templates")
    STATIC_DIR = str(PROJECT_ROOT / "static")
    SQLALCHEMY_DATABASE_URI = _database_url(INSTANCE_PATH)
    SQLALCHEMY_ENGINE_OPTIONS: dict = {"pool_pre_ping": _pre_ping(SQLALCHEMY_DATABASE_URI)}
    KB_INDEX_DIR = _env("KB_INDEX_DIR", str(INSTANCE_PATH / "kb_index"))
    #: Apply index changes in the request that made them (single-process demo/dev only);
    #: otherwise the scheduler's kb_index job is the one index writer.
    KB_SYNC_INDEX = _env("KB_SYNC_INDEX", "0") == "1"
    KB_INDEX_INTERVAL_SECONDS = int(_env("KB_INDEX_INTERVAL_SECONDS", "5"))
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = _env("SESSION_COOKIE_SECURE", "0") == "1"
    REMEMBER_COOKIE_HTTPONLY = True
    WTF_CSRF_TIME_LIMIT = None  # an agent's form may stay open through a long call
    MAX_CONTENT_LENGTH = 2 * 1024 * 1024
    PAGE_SIZE = 25
    #: Longest accepted ticket title / description / comment, in characters.
    TITLE_MAX = 200
    TEXT_MAX = 20_000
    SMTP_HOST = _env("SMTP_HOST", "localhost")
    SMTP_PORT = int(_env("SMTP_PORT", "25"))
    SMTP_USE_TLS = _env("SMTP_USE_TLS", "0") == "1"
    SMTP_USERNAME = _env("SMTP_USERNAME")
    SMTP_PASSWORD = _env("SMTP_PASSWORD")
    MAIL_FROM = _env("MAIL_FROM", "servicedesk@localhost")
    SCHEDULER_INTERVAL_SECONDS = int(_env("SCHEDULER_INTERVAL_SECONDS", "30"))
    EMAIL_INTERVAL_SECONDS = int(_env("EMAIL_INTERVAL_SECONDS", "30"))
    #: How often the scheduler checks whether last week's report is due (sent once a week).
    WEEKLY_REPORT_INTERVAL_SECONDS = int(_env("WEEKLY_REPORT_INTERVAL_SECONDS", "3600"))
    REPORT_ROLLUPS_INTERVAL_SECONDS = int(_env("REPORT_ROLLUPS_INTERVAL_SECONDS", "300"))
    #: The UI warns when the scheduler's heartbeat is older than this.
    SCHEDULER_STALE_SECONDS = int(_env("SCHEDULER_STALE_SECONDS", "180"))
    DISPLAY_TIMEZONE = _env("DISPLAY_TIMEZONE", "UTC")

    def __init__(self) -> None:
        self.SECRET_KEY = _secret_key(self.INSTANCE_PATH)


class DevelopmentConfig(Config):
    DEBUG = True
    KB_SYNC_INDEX = _env("KB_SYNC_INDEX", "1") == "1"  # the dev server is one process


class TestingConfig(Config):
    """In-memory-free, fast settings for pytest; the database URL comes from the test env."""

    TESTING = True
    SECRET_KEY = "test-secret-key"
    SQLALCHEMY_DATABASE_URI = _env("TEST_DATABASE_URL", "sqlite://")
    WTF_CSRF_ENABLED = False
    SERVER_NAME = "localhost"
    #: Never the real instance's index; knowledge tests point at their own tmp_path.
    KB_INDEX_DIR = str(Path(tempfile.gettempdir()) / f"servicedesk-test-kb-{os.getpid()}")

    def __init__(self) -> None:  # no secret file in tests
        pass


class ProductionConfig(Config):
    pass


CONFIGS = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}


def config_from_env() -> type[Config]:
    return CONFIGS.get(_env("SERVICEDESK_ENV", "production"), ProductionConfig)
