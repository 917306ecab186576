"""Smoke test in a real browser: an agent logs a phone call from the keyboard and finds the
ticket in the queue; no page logs a console error."""
from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.browser


def test_agent_logs_a_ticket_from_the_keyboard_and_sees_it_in_the_queue(page, login):
    expect = pytest.importorskip("playwright.sync_api").expect
    login(page, "agent")
    expect(page).to_have_url(re.compile(r"/queue$"))

    page.keyboard.press("n")  # the global shortcut, nothing focused
    expect(page).to_have_url(re.compile(r"/tickets/new$"))
    expect(page.locator("#caller_email")).to_be_focused()  # the call starts with the caller

    page.keyboard.type("ola.berg@airport.test")
    page.keyboard.press("Tab")
    page.keyboard.type("Ola Berg")
    page.keyboard.press("Tab")
    page.keyboard.type("+47 555 0199")
    page.select_option("#service_id", label="T2 baggage handling")
    page.fill("#title", "Baggage belt 3 stopped in terminal 2")
    page.fill("#description", "Belt 3 stopped at 08:40.\nBags are piling up at check-in.")

    live = page.locator("[data-priority-live]")
    expect(live).to_have_text("P4 · low")  # impact 3 x urgency 3
    page.select_option("#impact", "1")
    expect(live).to_have_text("P3 · moderate")
    page.select_option("#urgency", "1")
    expect(live).to_have_text("P1 · critical")

    page.focus("#title")
    page.keyboard.press("Enter")  # Enter logs the ticket
    expect(page).to_have_url(re.compile(r"/tickets/\d+$"))
    number = page.locator(".ticket-header .ticket-number").inner_text()
    assert re.fullmatch(r"INC-\d{6}", number)
    expect(page.locator(".alert-success")).to_contain_text(f"{number} logged for Ola Berg at P1")

    page.click("nav >> text=Queue")
    row = page.locator("table.queue-table tbody tr", has_text=number)
    expect(row).to_contain_text("Baggage belt 3 stopped in terminal 2")
    expect(row).to_contain_text("P1")
    expect(row).to_contain_text("Ola Berg")


def test_shortcuts_override_and_inline_errors(page, login):
    expect = pytest.importorskip("playwright.sync_api").expect
    login(page, "agent")
    page.keyboard.press("/")
    expect(page.locator("#queue-search")).to_be_focused()
    page.keyboard.type("belt")
    page.keyboard.press("Alt+N")  # works even while typing
    expect(page).to_have_url(re.compile(r"/tickets/new$"))

    # An override that differs from the matrix asks for a reason, live and on the server.
    page.select_option("#priority", "1")
    expect(page.locator("[data-priority-live]")).to_have_text("P1 · critical")
    expect(page.locator("[data-priority-source]")).to_contain_text("overridden")
    page.fill("#caller_email", "someone@airport.test")
    page.fill("#caller_name", "Someone")
    page.fill("#description", "No title on purpose")
    page.focus("#description")
    page.keyboard.press("Control+Enter")
    expect(page.locator("#title")).to_have_class(re.compile(r"\bis-invalid\b"))
    expect(page.locator("#title-error")).to_have_text("Title is required.")
    expect(page.locator("#description")).to_have_value("No title on purpose")

    page.fill("#title", "VIP laptop")
    page.focus("#title")
    page.keyboard.press("Enter")
    expect(page.locator("#priority_reason-error")).to_contain_text("needs a reason")


def test_caller_lookup_fills_an_existing_caller(page, login, live_server):
    expect = pytest.importorskip("playwright.sync_api").expect
    login(page, "agent")
    page.goto("/tickets/new")
    page.keyboard.type("requester@brow")
    match = page.locator("#caller-matches button").first
    expect(match).to_contain_text("Browser Requester")
    page.keyboard.press("ArrowDown")
    expect(match).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#caller_name")).to_have_value("Browser Requester")
    expect(page.locator("#channel")).to_be_focused()


def test_requester_portal_logs_a_ticket(page, login):
    expect = pytest.importorskip("playwright.sync_api").expect
    login(page, "requester")
    expect(page).to_have_url(re.compile(r"/portal/$"))
    page.click("text=Report a problem >> nth=0")
    page.fill("#title", "Kiosk at door 4 is blank")
    page.fill("#description", "The check-in kiosk shows a blank screen.")
    page.check("text=I cannot work at all")
    page.click("button:has-text('Send to the service desk')")
    expect(page.locator(".alert-success")).to_contain_text("is logged")
    page.click("text=My tickets")
    expect(page.locator("table")).to_contain_text("Kiosk at door 4 is blank")


def test_the_console_watch_catches_script_errors_and_missing_files(browser, live_server):
    """The guard every browser test relies on can fail: a thrown error and a 404 script."""
    from tests.browser.conftest import ConsoleWatch

    context = browser.new_context(base_url=live_server.url)
    try:
        page = context.new_page()
        watch = ConsoleWatch()
        page.on("response", watch.on_response)
        page.on("console", watch.on_console)
        page.on("pageerror", lambda exc: watch.errors.append(f"pageerror: {exc}"))
        page.goto("/login")
        assert watch.errors == []
        with page.expect_event("pageerror"):
            page.evaluate("""() => {
                const s = document.createElement("script");
                s.textContent = "throw new Error('boom')";
                document.body.appendChild(s);
            }""")
        with page.expect_response(lambda r: r.url.endswith("/static/js/missing.js")):
            page.evaluate("""() => {
                const s = document.createElement("script");
                s.src = "/static/js/missing.js";
                document.body.appendChild(s);
            }""")
        joined = " | ".join(watch.errors)
        assert "404 for" in joined and "missing.js" in joined and "pageerror: " in joined
    finally:
        context.close()
