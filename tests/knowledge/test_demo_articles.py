"""The demo's knowledge base: articles through the services, usage, a known error, searchable."""
from __future__ import annotations

import sqlalchemy as sa

from servicedesk import demo
from servicedesk.knowledge import indexing, services
from servicedesk.knowledge.demo import ARTICLES
from servicedesk.knowledge.models import (
    Article, ArticleStatus, ArticleUse, PortalSearch, Problem,
)


def test_demo_articles_are_published_used_and_searchable(app, db, clock, kb_dir):
    summary = demo.seed(db, now=clock.now(), tickets=60)
    db.commit()  # leaving the app context below rolls back uncommitted work
    articles = db.scalars(sa.select(Article)).all()
    assert len(articles) == len(ARTICLES) + 1 >= 40  # + the known error
    statuses = {a.status for a in articles}
    assert statuses == set(ArticleStatus)
    assert sum(a.language == "zh" for a in articles) >= 6
    assert all(a.reviewer_id != a.author_id for a in articles
               if a.status is ArticleStatus.published and not a.is_known_error)
    assert all(a.services for a in articles)
    uses = db.scalars(sa.select(ArticleUse).where(ArticleUse.is_resolution.is_(True))).all()
    assert uses and all(u.created_at == u.ticket.resolved_at for u in uses if u.ticket.resolved_at
                        and u.article.is_known_error is False)
    problem = db.scalar(sa.select(Problem))
    assert problem.known_error_article.is_must_read and len(problem.incidents) >= 4
    assert "knowledge articles" in summary and problem.number in summary

    assert indexing.rebuild(db, index_dir=kb_dir, now=clock.now(), procs=1) == len(articles) - 1
    agent = db.scalar(sa.select(demo.User).where(demo.User.email == "agent@demo.test"))
    with app.app_context():
        hits = services.search(db, agent, "卡纸", now=clock.now()).hits
        assert hits and hits[0].title == "登机牌打印机卡纸"
        suggested = services.suggest(db, agent, "kiosk frozen, touch screen does nothing",
                                     now=clock.now()).hits
        assert suggested[0].title == "Check-in kiosk frozen on the welcome screen"
    assert services.must_read_feed(db, agent)


def test_demo_portal_searches_show_deflections_and_gaps(db, clock):
    """Requesters' self-service searches: some solved by a public article (no ticket), some
    not, and some that found nothing (what the managers should write next)."""
    demo.seed(db, now=clock.now(), tickets=60)
    searches = db.scalars(sa.select(PortalSearch)).all()
    assert len(searches) >= 20
    deflected = [s for s in searches if s.is_deflected]
    assert deflected and len(deflected) < len(searches)
    for s in deflected:
        assert s.article.audience.value == "public" and s.article.status is ArticleStatus.published
        assert s.results_count >= 1 and s.deflected_at > s.created_at
    gaps = {s.query for s in searches if s.results_count == 0}
    assert "parking permit" in gaps and not any(s.is_deflected for s in searches
                                                if s.query in gaps)
    assert all(s.requester.role is demo.Role.requester for s in searches)
    assert all(s.created_at <= clock.now() for s in searches)
