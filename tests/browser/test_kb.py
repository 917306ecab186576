"""In a real browser: an agent types a caller's problem on the intake form, a knowledge
article is suggested while typing (workaround inline), and "Resolved with this article" logs
the ticket resolved at first contact with it (KB-assisted FCR). Then a requester's portal
search is deflected by a public article ("This solved it", no ticket)."""
from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.browser

#: The first suggestion loads jieba's dictionary in the server: generous on a loaded machine.
SUGGEST_TIMEOUT_MS = 30_000


@pytest.fixture(scope="module")
def kb_articles(live_server, tmp_path_factory):
    """Two published articles (one public) indexed into a temporary index the live app
    uses for this test; returns {"internal": id, "public": id}."""
    from servicedesk.accounts.models import Role
    from servicedesk.accounts.services import create_user
    from servicedesk.clock import utcnow
    from servicedesk.extensions import db
    from servicedesk.knowledge import indexing, services

    app = live_server.app
    saved = app.config["KB_INDEX_DIR"]
    app.config["KB_INDEX_DIR"] = str(tmp_path_factory.mktemp("kb") / "kb-index")
    with app.app_context():
        indexing.forget_index(app)
        now = utcnow()
        author, reviewer = (
            create_user(db.session, email=f"d2_{name}@browser.test", name=f"D2 {name}",
                        role=Role.expert, now=now) for name in ("author", "reviewer"))
        internal = services.create_article(
            db.session, actor=author, now=now, title="Boarding pass printer jams at the gate",
            symptoms="The gate printer jams on every second boarding pass.",
            resolution="Open the front tray, remove the stuck card and reseat the paper roll.")
        public = services.create_article(
            db.session, actor=author, now=now, audience="public",
            title="Wi-Fi in the lounge asks for a password again",
            symptoms="The lounge Wi-Fi logs you out and asks for the password.",
            resolution="Forget the network on your device, then join AirportGuest again.")
        for article in (internal, public):
            services.publish(db.session, article, actor=reviewer, now=now)
        ids = {"internal": internal.id, "public": public.id}
        indexing.drain(db.session, now=now, index_dir=app.config["KB_INDEX_DIR"])
        db.session.commit()
        db.session.remove()
    try:
        yield ids
    finally:
        with app.app_context():
            indexing.forget_index(app)
        app.config["KB_INDEX_DIR"] = saved


def test_agent_resolves_at_first_contact_with_a_suggested_article(page, login, live_server,
                                                                  kb_articles):
    expect = pytest.importorskip("playwright.sync_api").expect
    login(page, "agent")
    page.goto("/tickets/new")
    page.fill("#caller_email", "lena.holm@airport.test")
    page.fill("#caller_name", "Lena Holm")
    page.fill("#title", "Gate B12")
    page.click("#description")
    page.keyboard.type("The boarding pass printer jams on every pass")  # suggestions follow

    article_id = kb_articles["internal"]
    suggestion = page.locator(f"[data-kb-article='{article_id}']")
    expect(suggestion).to_be_visible(timeout=SUGGEST_TIMEOUT_MS)
    expect(suggestion.locator(".kb-suggestion-title mark")).not_to_have_count(0)
    expect(suggestion.locator(".kb-workaround")).to_contain_text("reseat the paper roll")

    # Keyboard only: Alt+K jumps to the first suggestion ("Link"), Tab to "Resolved with ...".
    page.keyboard.press("Alt+K")
    expect(suggestion.locator("[data-kb-link]")).to_be_focused()
    page.keyboard.press("Tab")
    expect(suggestion.locator("[data-kb-resolve]")).to_be_focused()
    with page.expect_navigation():
        page.keyboard.press("Enter")

    expect(page).to_have_url(re.compile(r"/tickets/\d+$"))
    number = f"KB-{article_id:06d}"
    expect(page.locator(".alert-success")).to_contain_text(
        f"resolved at first contact with {number}")
    expect(page.locator("#knowledge")).to_contain_text("resolved with it")
    ticket_id = int(page.url.rsplit("/", 1)[1])

    from servicedesk.extensions import db
    from servicedesk.knowledge.services import is_kb_assisted_fcr
    from servicedesk.tickets.models import Status, Ticket

    with live_server.app.app_context():
        ticket = db.session.get(Ticket, ticket_id)
        assert ticket.status is Status.resolved
        assert ticket.is_first_contact_resolution
        assert is_kb_assisted_fcr(db.session, ticket)
        db.session.remove()


def test_requester_finds_the_answer_and_logs_no_ticket(page, login, live_server, kb_articles):
    expect = pytest.importorskip("playwright.sync_api").expect
    from servicedesk.extensions import db
    from servicedesk.knowledge.models import PortalSearch
    from servicedesk.tickets.models import Ticket

    with live_server.app.app_context():
        tickets_before = db.session.query(Ticket).count()
        db.session.remove()
    login(page, "requester")
    page.goto("/portal/new")
    page.click("#title")
    page.keyboard.type("Lounge wifi keeps asking for the password")
    suggestion = page.locator(f"[data-kb-article='{kb_articles['public']}']")
    expect(suggestion).to_be_visible(timeout=SUGGEST_TIMEOUT_MS)
    expect(page.locator(f"[data-kb-article='{kb_articles['internal']}']")).to_have_count(0)
    with page.expect_navigation():
        suggestion.locator("[data-kb-solved]").click()
    expect(page.locator(".alert-success")).to_contain_text("No ticket was needed")

    with live_server.app.app_context():
        search = db.session.query(PortalSearch).order_by(PortalSearch.id.desc()).first()
        assert search.is_deflected and search.article_id == kb_articles["public"]
        assert "password" in search.query
        assert db.session.query(Ticket).count() == tickets_before
        db.session.remove()
