"""HTTP tests of the knowledge pages: search and article per role, votes, must-read, history,
editor and workflow, the intake form's suggestions and KB-assisted FCR, the ticket panel and
the portal's self-service deflection. Highlights and user text are escaped."""
from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from servicedesk.accounts.models import Role
from servicedesk.knowledge import queries, services
from servicedesk.knowledge.models import (
    Article, ArticleStatus, ArticleUse, Audience, MustReadAck, PortalSearch,
)
from servicedesk.tickets.models import Status, Ticket

ROLES = ["requester", "vendor", "agent", "expert", "manager", "admin"]
STAFF = {"agent", "expert", "manager", "admin"}


@pytest.fixture
def login_as(login_as, db):
    """Commit the test's setup first (the request's teardown rolls back the rest)."""

    def _login(user):
        db.commit()
        return login_as(user)

    return _login


@pytest.fixture
def published(make, drain):
    """``published(**fields)``: a published article, indexed."""

    def _make(**fields):
        article = make.article(publish=True, **fields)
        drain()
        return article

    return _make


def html(resp) -> str:
    return resp.get_data(as_text=True)


def count(db, model, *where) -> int:
    return db.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


# --- search and article pages per role ---------------------------------------------------

@pytest.mark.parametrize("role", ROLES)
def test_knowledge_pages_are_for_staff_and_requesters(make, login_as, published, role):
    article = published(audience="public")
    client = login_as(make.user(Role(role)))
    expected = 403 if role == "vendor" else 200
    assert client.get("/kb/?q=printer").status_code == expected
    assert client.get(f"/kb/articles/{article.id}").status_code == expected


def test_search_highlights_matches_and_hides_drafts_from_agents(make, login_as, published,
                                                               drain):
    article = published(title="Boarding pass printer jams at the gate")
    draft = make.article(title="Printer draft nobody reviewed")
    drain()
    resp = login_as(make.agent()).get("/kb/?q=printer")
    assert resp.status_code == 200
    body = html(resp)
    assert f"/kb/articles/{article.id}" in body
    assert f"/kb/articles/{draft.id}" not in body
    assert re.search(r"<mark>[Pp]rinter</mark>", body)
    assert "1 article found" in body


def test_editors_can_search_drafts(make, login_as, drain):
    draft = make.article(title="Printer draft waiting for review")
    drain()
    body = html(login_as(make.expert()).get("/kb/?q=printer&status=draft"))
    assert f"/kb/articles/{draft.id}" in body


def test_requester_sees_only_public_published_articles(make, login_as, published, drain):
    public = published(title="Printer jams: what you can do", audience="public")
    internal = published(title="Printer jams: desk procedure")
    draft = make.article(title="Printer draft", audience="public")
    drain()
    client = login_as(make.requester())
    body = html(client.get("/kb/?q=printer"))
    assert f"/kb/articles/{public.id}" in body
    assert f"/kb/articles/{internal.id}" not in body
    assert f"/kb/articles/{draft.id}" not in body
    assert client.get(f"/kb/articles/{internal.id}").status_code == 404
    assert client.get(f"/kb/articles/{draft.id}").status_code == 404
    assert client.get(f"/kb/articles/{public.id}").status_code == 200


def test_user_text_and_highlights_are_escaped(make, login_as, published):
    article = published(title="Printer <script>alert(1)</script> jams",
                        resolution="Press <b>reset</b> & wait")
    client = login_as(make.agent())
    for url in ("/kb/?q=printer", f"/kb/articles/{article.id}"):
        body = html(client.get(url))
        assert "<script>alert(1)" not in body
        assert "&lt;script&gt;alert(1)" in body
    assert "Press &lt;b&gt;reset&lt;/b&gt; &amp; wait" in body


def test_safe_highlight_keeps_only_mark_tags():
    dirty = 'a <mark>b&amp;c</mark> <img src=x onerror=alert(1)> <mark><script>x</script>'
    clean = str(queries.safe_highlight(dirty))
    assert clean == ("a <mark>b&amp;c</mark> &lt;img src=x onerror=alert(1)&gt; "
                     "<mark>&lt;script&gt;x&lt;/script&gt;</mark>")
    assert str(queries.safe_highlight("already &lt;escaped&gt;")) == "already &lt;escaped&gt;"


def test_empty_search_lists_the_most_used_articles(make, login_as, db, published):
    article = published(title="Most used fix")
    db.execute(sa.update(Article).where(Article.id == article.id).values(use_count=7))
    body = html(login_as(make.agent()).get("/kb/"))
    assert "Most used now" in body and "Most used fix" in body


def test_bad_search_input_is_a_clean_answer(make, login_as, published):
    published()
    client = login_as(make.agent())
    assert client.get('/kb/?q=title:"(((').status_code == 200
    assert client.get("/kb/?q=" + "x" * 300).status_code == 422
    assert client.get("/kb/?q=printer&page=0").status_code == 422


def test_unreadable_index_says_rebuilding(make, login_as, published, kb_dir, app):
    published()
    from servicedesk.knowledge import indexing

    indexing.forget_index(app)
    (kb_dir / "CURRENT").write_text("garbage")
    body = html(login_as(make.agent()).get("/kb/?q=printer"))
    assert "being rebuilt" in body


# --- article page: views, votes, must-read -------------------------------------------------

def test_article_page_counts_views_and_shows_the_workaround(make, login_as, db, published):
    article = published(is_known_error=True, resolution="Reseat the paper roll.")
    client = login_as(make.agent())
    body = html(client.get(f"/kb/articles/{article.id}"))
    client.get(f"/kb/articles/{article.id}")
    db.refresh(article)
    assert article.view_count == 2
    assert "Workaround" in body and "Reseat the paper roll." in body


def test_vote_then_change_the_vote(make, login_as, db, published):
    article = published()
    client = login_as(make.agent())
    resp = client.post(f"/kb/articles/{article.id}/vote", data={"helpful": "yes"})
    assert resp.status_code == 302
    db.refresh(article)
    assert (article.helpful_count, article.unhelpful_count) == (1, 0)
    client.post(f"/kb/articles/{article.id}/vote", data={"helpful": "no"})
    db.refresh(article)
    assert (article.helpful_count, article.unhelpful_count) == (0, 1)
    assert 'aria-pressed="true">Not helpful' in html(client.get(f"/kb/articles/{article.id}"))


def test_requester_votes_on_a_public_article(make, login_as, db, published):
    article = published(audience="public")
    resp = login_as(make.requester()).post(f"/kb/articles/{article.id}/vote",
                                           data={"helpful": "yes"})
    assert resp.status_code == 302
    db.refresh(article)
    assert article.helpful_count == 1


def test_bad_vote_changes_nothing(make, login_as, db, published):
    article = published()
    resp = login_as(make.agent()).post(f"/kb/articles/{article.id}/vote",
                                       data={"helpful": "maybe"})
    assert resp.status_code == 303  # flashed on the page it came from
    db.refresh(article)
    assert (article.helpful_count, article.unhelpful_count) == (0, 0)


def test_must_read_banner_until_acknowledged_and_managers_see_who_is_missing(
        make, login_as, db, published):
    article = published(title="New gate printer firmware: read before your shift",
                        is_must_read=True)
    agent = make.agent(name="Ana Agent")
    manager = make.manager()
    client = login_as(agent)
    assert "New gate printer firmware" in html(client.get("/queue"))

    login_as(manager)
    assert 'href="/kb/must-read"' in html(client.get("/kb/"))
    body = html(client.get("/kb/must-read"))
    assert "Ana Agent" in body

    login_as(agent)
    resp = client.post(f"/kb/articles/{article.id}/acknowledge")
    assert resp.status_code == 302
    assert count(db, MustReadAck, MustReadAck.user_id == agent.id) == 1
    assert "New gate printer firmware" not in html(client.get("/queue"))
    login_as(manager)
    assert "Ana Agent" not in html(client.get("/kb/must-read"))


@pytest.mark.parametrize("role", ["agent", "expert", "requester"])
def test_must_read_page_is_for_managers(make, login_as, role):
    assert login_as(make.user(Role(role))).get("/kb/must-read").status_code == 403


# --- editor, workflow, history -------------------------------------------------------------

def article_form(**overrides):
    data = {"title": "Kiosk shows a blank screen", "symptoms": "Kiosk 4 is black.",
            "cause": "", "resolution": "Hold the power button for 10 seconds.", "body": "",
            "tags": "kiosk, screen", "language": "en", "audience": "internal", "note": ""}
    data.update(overrides)
    return data


def test_agent_drafts_an_expert_publishes(make, login_as, db):
    agent, expert = make.agent(), make.expert()
    client = login_as(agent)
    resp = client.post("/kb/articles/new", data=article_form())
    assert resp.status_code == 302
    article = db.scalar(sa.select(Article).where(Article.title == "Kiosk shows a blank screen"))
    assert article.status is ArticleStatus.draft and article.tags == ["kiosk", "screen"]
    assert "Publish" not in html(client.get(f"/kb/articles/{article.id}"))

    client.post(f"/kb/articles/{article.id}/workflow",
                data={"action": "submit", "version": article.version})
    db.refresh(article)
    assert article.status is ArticleStatus.in_review

    login_as(expert)
    page = html(client.get(f"/kb/articles/{article.id}"))
    assert ">Publish</button>" in page
    client.post(f"/kb/articles/{article.id}/workflow",
                data={"action": "publish", "version": article.version})
    db.refresh(article)
    assert article.status is ArticleStatus.published and article.reviewer_id == expert.id


def test_author_cannot_publish_own_article(make, login_as, db):
    expert = make.expert()
    article = make.article(author=expert)
    resp = login_as(expert).post(f"/kb/articles/{article.id}/workflow",
                                 data={"action": "publish", "version": article.version})
    assert resp.status_code == 303
    db.refresh(article)
    assert article.status is ArticleStatus.draft


def test_editor_form_errors_name_the_field(make, login_as, db):
    resp = login_as(make.agent()).post("/kb/articles/new", data=article_form(title=""))
    assert resp.status_code == 422
    assert 'id="title-error"' in html(resp)
    assert count(db, Article) == 0


def test_stale_edit_is_a_conflict_and_keeps_the_text(make, login_as, db):
    expert = make.expert()
    article = make.article()
    old_version = article.version
    services.update_article(db, article, actor=expert, now=article.updated_at, title="Changed")
    resp = login_as(expert).post(f"/kb/articles/{article.id}/edit", data=article_form(
        title="My edit", version=old_version))
    assert resp.status_code == 409
    assert "My edit" in html(resp)
    db.refresh(article)
    assert article.title == "Changed"


def test_history_shows_a_word_diff(make, login_as, db):
    expert = make.expert()
    article = make.article(resolution="Open the tray and reseat the roll.")
    client = login_as(expert)
    client.post(f"/kb/articles/{article.id}/edit", data=article_form(
        title=article.title, symptoms=article.symptoms,
        resolution="Open the tray, clean the sensor and reseat the roll.",
        version=article.version, note="sensor step"))
    body = html(client.get(f"/kb/articles/{article.id}/history"))
    assert "sensor step" in body
    assert "<ins>" in body and "sensor" in body
    assert "v1" in body and "v2" in body


def test_word_diff_escapes_and_marks_changes():
    diff = str(queries.word_diff("reset the <b>printer</b>", "reset the <i>printer</i> now"))
    assert "<b>" not in diff and "<i>" not in diff
    assert "<del>&lt;b&gt;printer&lt;/b&gt;</del>" in diff
    assert "<ins>&lt;i&gt;printer&lt;/i&gt; now</ins>" in diff
    assert str(queries.word_diff("打印机卡纸", "打印机缺纸")) == "打印机<del>卡</del><ins>缺</ins>纸"


# --- ticket page panel and "create article from this ticket" --------------------------------

def resolve(db, ticket, actor, notes="Cleared the jam and reseated the roll."):
    from servicedesk.tickets import services as tickets

    tickets.change_status(db, ticket, Status.resolved, actor=actor, now=ticket.created_at,
                          resolution_code="workaround", resolution_notes=notes)


def test_ticket_panel_shows_known_errors_and_suggestions(make, login_as, published):
    service = make.service(name="Gate printing")
    known = published(title="Gate printers reject cards after firmware 4.2",
                      is_known_error=True, service_ids=[service.id],
                      resolution="Roll back to firmware 4.1.")
    suggested = published(title="Boarding pass printer jams every second pass")
    ticket = make.ticket(title="Printer jams at B12",
                         description="The boarding pass printer jams.", service_id=service.id)
    body = html(login_as(make.agent()).get(f"/tickets/{ticket.id}"))
    panel = body[body.index('id="knowledge"'):]
    assert "Known errors on Gate printing" in panel and known.title in panel
    assert "Roll back to firmware 4.1." in panel
    assert f"/kb/articles/{suggested.id}" in panel
    assert panel.count(f'href="/kb/articles/{known.id}"') == 2  # number + title, listed once
    assert "Create article from this ticket" not in panel


def test_ticket_page_with_an_unreadable_index_queues_a_rebuild(make, login_as, db, published,
                                                               kb_dir, app):
    from servicedesk.knowledge import indexing
    from servicedesk.knowledge.models import IndexOutbox, OutboxOp

    published()
    ticket = make.ticket(title="Printer jams", description="The printer jams.")
    indexing.forget_index(app)
    (kb_dir / "CURRENT").write_text("garbage")
    resp = login_as(make.agent()).get(f"/tickets/{ticket.id}")
    assert resp.status_code == 200 and "being rebuilt" in html(resp)
    db.rollback()  # see what the request committed, not this test's session
    assert count(db, IndexOutbox, IndexOutbox.op == OutboxOp.rebuild) == 1


def test_link_and_resolve_from_the_ticket_panel(make, login_as, db, published):
    article = published()
    agent = make.agent()
    ticket = make.ticket(actor=agent)
    client = login_as(agent)
    resp = client.post(f"/kb/tickets/{ticket.id}/articles",
                       data={"article_id": article.id, "resolve": "0"})
    assert resp.status_code == 302
    assert count(db, ArticleUse, ArticleUse.ticket_id == ticket.id) == 1
    client.post(f"/kb/tickets/{ticket.id}/articles",
                data={"article_id": article.id, "resolve": "1", "version": ticket.version})
    db.refresh(ticket)
    assert ticket.status is Status.resolved
    assert services.is_kb_assisted_fcr(db, ticket)


def test_expert_creates_an_article_from_a_resolved_ticket(make, login_as, db):
    expert = make.expert()
    ticket = make.ticket(title="VPN drops every hour", description="Since the update.")
    resolve(db, ticket, expert, notes="Renew the client certificate.")
    client = login_as(expert)
    assert "Create article from this ticket" in html(client.get(f"/tickets/{ticket.id}"))
    resp = client.post(f"/kb/tickets/{ticket.id}/draft")
    article = db.scalar(sa.select(Article).where(Article.source_ticket_id == ticket.id))
    assert resp.status_code == 302 and resp.headers["Location"].endswith(
        f"/kb/articles/{article.id}/edit")
    assert article.title == "VPN drops every hour"
    assert article.resolution == "Renew the client certificate."
    assert "VPN drops every hour" in html(client.get(f"/kb/articles/{article.id}/edit"))


def test_agents_do_not_create_articles_from_tickets(make, login_as, db):
    agent = make.agent()
    ticket = make.ticket()
    resolve(db, ticket, agent)
    client = login_as(agent)
    assert "Create article from this ticket" not in html(client.get(f"/tickets/{ticket.id}"))
    assert client.post(f"/kb/tickets/{ticket.id}/draft").status_code == 303
    assert count(db, Article) == 0


# --- intake form: suggestions, link, resolved with this article ------------------------------

def intake_data(**overrides):
    data = {"caller_email": "mia.chen@example.com", "caller_name": "Mia Chen",
            "caller_phone": "", "channel": "phone", "service_id": "", "category_id": "",
            "impact": "3", "urgency": "3", "priority": "", "priority_reason": "",
            "title": "Printer jams at gate B12", "description": "Jams every second pass.",
            "group_id": "", "assignee_id": ""}
    data.update(overrides)
    return data


def test_intake_suggestions_fragment_shows_the_workaround(make, login_as, published):
    article = published(title="Boarding pass printer jams",
                        resolution="Open the tray & reseat the roll.")
    client = login_as(make.agent())
    resp = client.get("/kb/suggestions", query_string={
        "title": "printer jams", "description": "at gate B12"})
    assert resp.status_code == 200
    body = html(resp)
    assert f'data-kb-article="{article.id}"' in body
    assert "Open the tray &amp; reseat the roll." in body
    assert "Resolved with this article" in body
    assert 'data-kb-results="1"' in body
    assert "No matching article" in html(client.get("/kb/suggestions?title=zzqx"))


@pytest.mark.parametrize("role", ["requester", "vendor"])
def test_intake_suggestions_are_for_staff(make, login_as, role):
    resp = login_as(make.user(Role(role))).get("/kb/suggestions?title=printer")
    assert resp.status_code == 403


def test_intake_page_has_the_suggestion_panel(make, login_as):
    body = html(login_as(make.agent()).get("/tickets/new"))
    assert 'data-kb-suggest="/kb/suggestions"' in body
    assert 'name="kb_resolve"' in body and "js/kb.js" in body


def test_resolved_with_this_article_is_a_kb_assisted_first_contact_resolution(
        make, login_as, db, published):
    article = published(title="Boarding pass printer jams")
    agent = make.agent()
    resp = login_as(agent).post("/tickets/new", data=intake_data(kb_resolve=str(article.id)))
    assert resp.status_code == 302
    ticket = db.scalar(sa.select(Ticket).order_by(Ticket.id.desc()))
    assert ticket.status is Status.resolved
    assert ticket.is_first_contact_resolution
    assert services.is_kb_assisted_fcr(db, ticket)
    db.refresh(article)
    assert article.use_count == 1


def test_intake_links_chosen_articles(make, login_as, db, published):
    first, second = published(title="Printer jams"), published(title="Printer offline")
    resp = login_as(make.agent()).post("/tickets/new", data=intake_data(
        kb_link=[str(first.id), str(second.id)]))
    assert resp.status_code == 302
    ticket = db.scalar(sa.select(Ticket).order_by(Ticket.id.desc()))
    assert ticket.status is Status.new
    assert {u.article_id for u in services.articles_for_ticket(db, ticket)} == {
        first.id, second.id}


@pytest.mark.parametrize("bad", ["999999", "abc"])
def test_intake_with_an_unknown_article_logs_nothing(make, login_as, db, bad):
    resp = login_as(make.agent()).post("/tickets/new", data=intake_data(kb_resolve=bad))
    assert resp.status_code == 422
    assert count(db, Ticket) == 0
    assert "does not exist" in html(resp)


def test_intake_cannot_use_a_draft(make, login_as, db):
    draft = make.article()
    resp = login_as(make.agent()).post("/tickets/new", data=intake_data(
        kb_link=str(draft.id)))
    assert resp.status_code == 422
    assert count(db, Ticket) == 0


# --- portal self-service --------------------------------------------------------------------

def portal_data(**overrides):
    data = {"title": "Printer jams", "description": "The printer at desk 4 jams.",
            "service_id": "", "impact": "3", "urgency": "3"}
    data.update(overrides)
    return data


def test_portal_suggests_public_articles_only(make, login_as, published):
    public = published(title="Printer jams: what you can do", audience="public")
    internal = published(title="Printer jams: desk procedure")
    client = login_as(make.requester())
    assert 'data-kb-mode="portal"' in html(client.get("/portal/new"))
    body = html(client.get("/kb/portal/suggestions?title=printer+jams"))
    assert f'data-kb-article="{public.id}"' in body
    assert f'data-kb-article="{internal.id}"' not in body
    assert "This solved it" in body
    assert login_as(make.agent()).get(
        "/kb/portal/suggestions?title=printer").status_code == 403


def test_this_solved_it_records_a_deflection_and_no_ticket(make, login_as, db, published):
    article = published(title="Printer jams: what you can do", audience="public")
    requester = make.requester()
    resp = login_as(requester).post("/kb/portal/solved", data={
        "article_id": article.id, "q": "printer jams at desk 4", "kb_results": "2"})
    assert resp.status_code == 302
    search = db.scalar(sa.select(PortalSearch))
    assert (search.query, search.results_count, search.is_deflected, search.article_id) == (
        "printer jams at desk 4", 2, True, article.id)
    assert search.requester_id == requester.id
    assert count(db, Ticket) == 0


def test_requester_cannot_deflect_with_an_internal_article(make, login_as, db, published):
    internal = published(audience=Audience.internal.value)
    resp = login_as(make.requester()).post("/kb/portal/solved", data={
        "article_id": internal.id, "q": "printer"})
    assert resp.status_code == 404
    assert count(db, PortalSearch) == 0


def test_logging_a_ticket_keeps_the_search_that_did_not_deflect(make, login_as, db):
    requester = make.requester()
    resp = login_as(requester).post("/portal/new", data=portal_data(
        kb_query="printer jams desk 4", kb_results="3"))
    assert resp.status_code == 302
    search = db.scalar(sa.select(PortalSearch))
    assert (search.query, search.results_count, search.is_deflected) == (
        "printer jams desk 4", 3, False)
    assert count(db, Ticket) == 1


def test_portal_ticket_without_a_search_records_none(make, login_as, db):
    resp = login_as(make.requester()).post("/portal/new", data=portal_data())
    assert resp.status_code == 302
    assert count(db, PortalSearch) == 0
