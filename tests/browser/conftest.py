"""A live server and a real browser (Debian's chromium driven by Playwright).

The browser tests use their own app on a temporary SQLite file with CSRF on, served by a real
werkzeug server thread, not the rollback ``db`` fixture: the browser makes its own requests on
its own connections. Later issues add tests here and reuse these fixtures.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from werkzeug.serving import WSGIRequestHandler, make_server

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
PASSWORD = "browser test password"


@dataclass
class LiveServer:
    url: str
    app: object
    #: email of each seeded user by role name ("agent", "requester", ...).
    logins: dict[str, str] = field(default_factory=dict)
    password: str = PASSWORD


def _require_chromium() -> None:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: install Debian's chromium (.ci/setup does) "
                    "to run the browser tests")


class _KeepResponse:
    """WSGI middleware remembering the response iterable in the environ, so the handler below
    can close it when the browser drops the connection mid-response."""

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        response = self.app(environ, start_response)
        environ["tests.response"] = response
        return response


class _ClosingRequestHandler(WSGIRequestHandler):
    """werkzeug's dev server leaves the response unclosed when the client goes away while it is
    written (a static file then leaks its handle: a ResourceWarning, an error under our
    filterwarnings). Close it, as a production server does."""

    def connection_dropped(self, error, environ=None):
        response = (environ or {}).get("tests.response")
        if response is not None and hasattr(response, "close"):
            response.close()
        super().connection_dropped(error, environ)


@pytest.fixture(scope="session")
def live_server(tmp_path_factory):
    _require_chromium()
    from servicedesk import create_app
    from servicedesk.accounts.models import Role
    from servicedesk.accounts.services import create_group, create_user
    from servicedesk.catalog.services import create_category, create_service, set_matrix
    from servicedesk.clock import utcnow
    from servicedesk.config import TestingConfig
    from servicedesk.extensions import db

    folder = tmp_path_factory.mktemp("browser")

    class BrowserConfig(TestingConfig):
        TESTING = False
        WTF_CSRF_ENABLED = True
        SERVER_NAME = None  # served on 127.0.0.1:<port>, not "localhost"
        SQLALCHEMY_DATABASE_URI = f"sqlite:///{folder / 't.db'}"
        SECRET_KEY = "browser-test-secret"

    app = create_app(BrowserConfig)
    logins = {}
    with app.app_context():
        db.create_all()
        now = utcnow()
        set_matrix(db.session, {})
        desk = create_group(db.session, name="Service Desk T1", tier=1)
        for role in (Role.agent, Role.requester):
            email = f"{role.value}@browser.test"
            user = create_user(db.session, email=email, name=f"Browser {role.value.title()}",
                               role=role, password=PASSWORD, now=now)
            if role is Role.agent:
                desk.members.append(user)
            logins[role.value] = email
        create_service(db.session, name="T2 baggage handling", criticality=1)
        create_category(db.session, name="Hardware")
        db.session.commit()
        db.session.remove()

    server = make_server("127.0.0.1", 0, _KeepResponse(app), threaded=True,
                         request_handler=_ClosingRequestHandler)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield LiveServer(url=f"http://127.0.0.1:{server.server_port}", app=app, logins=logins)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
        with app.app_context():
            db.engine.dispose()


@pytest.fixture(scope="session")
def browser():
    _require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


class ConsoleWatch:
    """Console errors, uncaught page exceptions and failed sub-resources seen during a test.

    Chromium also logs "Failed to load resource" when a *page* answers 4xx, and some pages do
    on purpose (a form with errors is 422, a stale edit 409); tests assert on those pages'
    content, so only that message for a page's own URL is not counted.
    """

    def __init__(self) -> None:
        self.errors: list[str] = []
        self.documents: set[str] = set()

    def on_response(self, response) -> None:
        if response.request.resource_type == "document":
            self.documents.add(response.url)
        elif response.status >= 400:
            self.errors.append(f"{response.status} for {response.url}")

    def on_console(self, msg) -> None:
        if msg.type != "error":
            return
        if msg.text.startswith("Failed to load resource") and \
                msg.location.get("url") in self.documents:
            return
        self.errors.append(f"console: {msg.text} ({msg.location.get('url')})")


@pytest.fixture
def page(browser, live_server):
    """A fresh browser context and page; the test fails if the page logged any error."""
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1400,
                                                                     "height": 900})
    page = context.new_page()
    watch = ConsoleWatch()
    page.on("response", watch.on_response)
    page.on("console", watch.on_console)
    page.on("pageerror", lambda exc: watch.errors.append(f"pageerror: {exc}"))
    errors = watch.errors
    page.set_default_timeout(10_000)
    try:
        yield page
    finally:
        context.close()
    assert not errors, f"the browser reported errors: {errors}"


@pytest.fixture
def login(live_server):
    """``login(page, role)`` signs in through the real login form."""

    def _login(page, role: str = "agent"):
        page.goto("/login")
        page.fill("#email", live_server.logins[role])
        page.fill("#password", live_server.password)
        with page.expect_navigation():
            page.keyboard.press("Enter")
        assert "/login" not in page.url, f"login as {role} failed"
        return page

    return _login
