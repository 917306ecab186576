"""Article lifecycle, versions, permissions, use on tickets, votes, must-read, portal."""
from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from servicedesk.accounts import permissions
from servicedesk.errors import (
    Conflict, InvalidTransition, NotFound, PermissionDenied, ValidationError,
)
from servicedesk.knowledge import services
from servicedesk.knowledge.models import (
    Article, ArticleStatus, ArticleUse, IndexOutbox, OutboxOp,
)
from servicedesk.tickets import services as tickets
from servicedesk.tickets.models import EventKind, ResolutionCode, Status


def outbox(db):
    return [(r.article_id, r.op)
            for r in db.scalars(sa.select(IndexOutbox).order_by(IndexOutbox.id))]


# --- writing and versions ---------------------------------------------------------------------

def test_create_writes_draft_first_version_and_outbox_row(db, make, clock):
    agent, service = make.agent(), make.service(name="Gate printers")
    article = services.create_article(
        db, actor=agent, now=clock.now(), title="  Printer jams ", symptoms="Jams",
        resolution="Reseat", tags=["Printer", "printer", " Gate  B "], language="EN",
        service_ids=[service.id])
    assert article.status is ArticleStatus.draft
    assert article.title == "Printer jams"
    assert article.tags == ["printer", "gate b"]
    assert article.language == "en"
    assert [s.name for s in article.services] == ["Gate printers"]
    assert [(v.number, v.editor_id, v.title) for v in article.versions] == [
        (1, agent.id, "Printer jams")]
    assert outbox(db) == [(article.id, OutboxOp.upsert)]


@pytest.mark.parametrize("field, value", [
    ("title", ""), ("title", "x" * 201), ("title", 42), ("tags", [1]), ("tags", ["x" * 41]),
    ("tags", [f"t{i}" for i in range(21)]), ("language", "english!"), ("audience", "secret"),
    ("service_ids", [999999]), ("service_ids", ["1"]), ("must_read_group_ids", [999999]),
    ("is_must_read", "yes"), ("body", "x" * 50_001),
])
def test_create_rejects_bad_fields_naming_them(db, make, clock, field, value):
    kwargs = {"title": "Valid title", field: value}
    with pytest.raises(ValidationError) as exc:
        services.create_article(db, actor=make.agent(), now=clock.now(), **kwargs)
    assert field in exc.value.fields
    assert db.scalar(sa.select(sa.func.count()).select_from(Article)) == 0


def test_requesters_and_vendors_cannot_write(db, make, clock):
    for user in (make.requester(), make.vendor_user()):
        with pytest.raises(PermissionDenied):
            services.create_article(db, actor=user, now=clock.now(), title="x")


def test_each_text_edit_is_a_version_and_diffable(db, make, clock):
    agent = make.agent()
    article = make.article(author=agent)
    clock.advance(minutes=5)
    services.update_article(db, article, actor=agent, now=clock.now(),
                            resolution="Replace the roll.", note="better fix")
    services.update_article(db, article, actor=agent, now=clock.now(), is_must_read=True)
    assert [v.number for v in article.versions] == [1, 2]  # flag change: no text version
    assert article.revision == 2
    assert article.versions[1].note == "better fix"
    assert article.versions[0].resolution.startswith("Open the tray")
    diff = services.diff_versions(article, 1, 2)
    assert "-Open the tray" in diff and "+Replace the roll." in diff
    with pytest.raises(ValidationError) as exc:
        services.diff_versions(article, 1, 9)
    assert "to" in exc.value.fields


def test_unchanged_update_writes_nothing(db, make, clock):
    agent = make.agent()
    article = make.article(author=agent)
    before = len(outbox(db))
    services.update_article(db, article, actor=agent, now=clock.now(), title=article.title)
    assert len(article.versions) == 1 and len(outbox(db)) == before


def test_stale_version_is_a_conflict(db, make, clock):
    agent = make.agent()
    article = make.article(author=agent)
    with pytest.raises(Conflict):
        services.update_article(db, article, actor=agent, now=clock.now(),
                                expected_version=article.version + 1, title="Other")
    assert article.title == "Gate printer jams"


def test_who_may_edit(db, make, clock):
    author, other_agent, expert = make.agent(), make.agent(), make.expert()
    article = make.article(author=author)
    with pytest.raises(PermissionDenied):
        services.update_article(db, article, actor=other_agent, now=clock.now(), title="x")
    services.update_article(db, article, actor=expert, now=clock.now(), title="By expert")
    services.submit_for_review(db, article, actor=author, now=clock.now())
    with pytest.raises(PermissionDenied):  # agents edit drafts only
        services.update_article(db, article, actor=author, now=clock.now(), title="y")


# --- workflow -------------------------------------------------------------------------------

def test_review_and_publish_by_another_expert(db, make, clock):
    author, reviewer = make.expert(), make.expert()
    article = make.article(author=author)
    services.submit_for_review(db, article, actor=author, now=clock.now())
    assert article.status is ArticleStatus.in_review
    with pytest.raises(PermissionDenied, match="four-eyes"):
        services.publish(db, article, actor=author, now=clock.now())
    services.send_back(db, article, actor=reviewer, now=clock.now())
    assert article.status is ArticleStatus.draft
    services.publish(db, article, actor=reviewer, now=clock.now())
    assert article.status is ArticleStatus.published
    assert article.reviewer_id == reviewer.id and article.published_revision == 1
    services.retire(db, article, actor=reviewer, now=clock.now())
    assert article.status is ArticleStatus.retired
    with pytest.raises(InvalidTransition):
        services.publish(db, article, actor=make.manager(), now=clock.now())
    with pytest.raises(PermissionDenied):
        services.update_article(db, article, actor=reviewer, now=clock.now(), title="z")


def test_agents_cannot_publish_or_retire(db, make, clock):
    article = make.article()
    with pytest.raises(PermissionDenied):
        services.publish(db, article, actor=make.agent(), now=clock.now())
    kb_published = make.article(publish=True)
    with pytest.raises(PermissionDenied):
        services.retire(db, kb_published, actor=make.agent(), now=clock.now())


def test_publish_needs_a_resolution(db, make, clock):
    article = make.article(resolution="")
    with pytest.raises(ValidationError) as exc:
        services.publish(db, article, actor=make.expert(), now=clock.now())
    assert "resolution" in exc.value.fields


def test_visibility_predicates(db, make, clock):
    author, other_agent, expert = make.agent(), make.agent(), make.expert()
    requester, vendor = make.requester(), make.vendor_user()
    draft = make.article(author=author)
    internal = make.article(publish=True)
    public = make.article(publish=True, audience="public")
    see = permissions.can_view_article
    assert see(author, draft) and see(expert, draft) and not see(other_agent, draft)
    assert see(other_agent, internal) and not see(requester, internal)
    assert not see(vendor, internal)
    assert see(requester, public) and see(vendor, public)
    assert not see(requester, draft)
    with pytest.raises(NotFound):
        services.load_visible_article(db, requester, internal.id)
    visible = {a.id for a in services.list_articles(db, other_agent).items}
    assert visible == {internal.id, public.id}
    assert {a.id for a in services.list_articles(db, requester).items} == {public.id}
    assert {a.id for a in services.list_articles(db, author, mine=True).items} == {draft.id}


# --- tickets --------------------------------------------------------------------------------

def resolved_ticket(make, db, clock, **kw):
    agent = make.agent()
    ticket = make.ticket(actor=agent, service_id=make.service().id, **kw)
    tickets.change_status(db, ticket, Status.resolved, actor=agent, now=clock.now(),
                          resolution_code="fixed", resolution_notes="Reseated the roll.")
    return ticket


def test_article_from_resolved_ticket(db, make, clock):
    ticket = resolved_ticket(make, db, clock)
    expert = make.expert()
    article = services.article_from_ticket(db, ticket, actor=expert, now=clock.now())
    assert (article.title, article.symptoms, article.resolution) == (
        ticket.title, ticket.description, "Reseated the roll.")
    assert [s.id for s in article.services] == [ticket.service_id]
    assert article.source_ticket_id == ticket.id and article.status is ArticleStatus.draft
    assert [u.article_id for u in services.articles_for_ticket(db, ticket)] == [article.id]
    assert ticket.events[-1].kind is EventKind.knowledge


def test_article_from_open_ticket_or_by_agent_is_refused(db, make, clock):
    with pytest.raises(ValidationError):
        services.article_from_ticket(db, make.ticket(), actor=make.expert(), now=clock.now())
    with pytest.raises(PermissionDenied):
        services.article_from_ticket(db, resolved_ticket(make, db, clock), actor=make.agent(),
                                     now=clock.now())


def test_resolve_with_article_is_kb_assisted_fcr(db, make, clock):
    agent = make.agent()
    article = make.article(publish=True)
    ticket = make.ticket(actor=agent)
    services.resolve_with_article(db, ticket, article, actor=agent, now=clock.now(),
                                  expected_version=ticket.version)
    assert ticket.status is Status.resolved
    assert ticket.resolution_code is ResolutionCode.workaround
    assert article.number in ticket.resolution_notes
    assert ticket.is_first_contact_resolution
    assert services.is_kb_assisted_fcr(db, ticket)
    assert db.scalar(sa.select(sa.func.count()).select_from(sa.select(ArticleUse.id).where(
        ArticleUse.ticket_id == ticket.id).subquery())) == 1
    db.refresh(article)
    assert (article.use_count, article.last_used_at) == (1, clock.now())
    kb_fcr = db.scalars(sa.select(sa.literal(1)).select_from(type(ticket))
                        .where(services.kb_assisted_fcr_clause())).all()
    assert kb_fcr == [1]


def test_resolve_by_expert_is_not_fcr_and_drafts_cannot_be_used(db, make, clock):
    article = make.article(publish=True)
    expert = make.expert()
    ticket = make.ticket()
    services.resolve_with_article(db, ticket, article, actor=expert, now=clock.now())
    assert not services.is_kb_assisted_fcr(db, ticket)
    with pytest.raises(ValidationError):
        services.link_article(db, make.ticket(), make.article(), actor=expert, now=clock.now())


def test_resolving_a_stale_ticket_fails_before_linking(db, make, clock):
    article = make.article(publish=True)
    ticket = make.ticket()
    with pytest.raises(Conflict):
        services.resolve_with_article(db, ticket, article, actor=make.agent(), now=clock.now(),
                                      expected_version=ticket.version + 3)
    assert services.articles_for_ticket(db, ticket) == []


# --- counters, votes, must-read --------------------------------------------------------------

def test_votes_one_per_user_and_replaceable(db, make, clock):
    article = make.article(publish=True)
    requester, agent = make.requester(), make.agent()
    services.vote(db, article, actor=requester, helpful=True, now=clock.now())
    services.vote(db, article, actor=agent, helpful=True, now=clock.now())
    services.vote(db, article, actor=agent, helpful=False, now=clock.now())
    services.vote(db, article, actor=agent, helpful=False, now=clock.now())
    db.refresh(article)
    assert (article.helpful_count, article.unhelpful_count) == (1, 1)
    with pytest.raises(ValidationError):
        services.vote(db, article, actor=agent, helpful="yes", now=clock.now())


def test_views_do_not_bump_the_lock_version(db, make, clock):
    article = make.article(publish=True)
    version = article.version
    services.record_view(db, article, actor=make.agent(), now=clock.now())
    services.record_view(db, article, actor=make.agent(), now=clock.now())
    assert (article.view_count, article.version) == (2, version)


def test_must_read_feed_ack_and_who_has_not(db, make, clock):
    agent1, agent2, requester = make.agent(name="A"), make.agent(name="B"), make.requester()
    article = make.article(publish=True, is_must_read=True)
    assert services.must_read_feed(db, agent1) == [article]
    assert services.must_read_feed(db, requester) == []
    services.acknowledge(db, article, actor=agent1, now=clock.now())
    services.acknowledge(db, article, actor=agent1, now=clock.now())  # idempotent
    assert services.must_read_feed(db, agent1) == []
    missing = services.not_acknowledged(db, article)
    assert agent2 in missing and agent1 not in missing and requester not in missing


def test_must_read_for_chosen_groups_only(db, make, clock):
    group = make.group()
    member, outsider = make.agent(groups=[group]), make.agent()
    article = make.article(publish=True, is_must_read=True, must_read_group_ids=[group.id])
    assert services.must_read_feed(db, member) == [article]
    assert services.must_read_feed(db, outsider) == []
    assert services.not_acknowledged(db, article) == [member]


def test_must_read_feed_queries_do_not_grow_with_articles(db, make, clock):
    """The feed runs on every staff page: a fixed number of SELECTs, not one per article."""
    group = make.group()
    member = make.agent(groups=[group])

    def selects_for_feed() -> tuple[int, int]:
        db.expire_all()
        seen = []
        bind = db.connection()

        def record(conn, cursor, statement, *args):
            if statement.lstrip().upper().startswith("SELECT"):
                seen.append(statement)

        sa.event.listen(bind, "before_cursor_execute", record)
        try:
            feed = services.must_read_feed(db, member)
        finally:
            sa.event.remove(bind, "before_cursor_execute", record)
        return len(feed), len(seen)

    for _ in range(2):
        make.article(publish=True, is_must_read=True, must_read_group_ids=[group.id])
    two = selects_for_feed()
    for _ in range(4):
        make.article(publish=True, is_must_read=True, must_read_group_ids=[group.id])
    six = selects_for_feed()
    assert (two[0], six[0]) == (2, 6)
    assert six[1] == two[1]


def test_republished_must_read_is_pushed_again(db, make, clock):
    agent = make.agent()
    article = make.article(publish=True, is_must_read=True)
    services.acknowledge(db, article, actor=agent, now=clock.now())
    editor = make.expert()
    services.update_article(db, article, actor=editor, now=clock.now(), resolution="New fix")
    assert services.must_read_feed(db, agent) == []  # edit in place: same published revision
    article.status = ArticleStatus.draft  # a reviewer republishes the new text
    services.publish(db, article, actor=make.manager(), now=clock.now())
    assert services.must_read_feed(db, agent) == [article]


def test_acknowledging_a_plain_article_is_refused(db, make, clock):
    with pytest.raises(ValidationError):
        services.acknowledge(db, make.article(publish=True), actor=make.agent(), now=clock.now())


# --- portal ---------------------------------------------------------------------------------

def test_portal_search_and_deflection(db, make, clock):
    requester, other = make.requester(), make.requester()
    public = make.article(publish=True, audience="public")
    internal = make.article(publish=True)
    search = services.log_portal_search(db, requester=requester, query=" wifi ",
                                        results_count=3, now=clock.now())
    assert search.query == "wifi" and not search.is_deflected
    with pytest.raises(NotFound):
        services.mark_deflected(db, search, public, requester=other, now=clock.now())
    with pytest.raises(ValidationError):
        services.mark_deflected(db, search, internal, requester=requester, now=clock.now())
    clock.advance(minutes=1)
    services.mark_deflected(db, search, public, requester=requester, now=clock.now())
    assert search.is_deflected and search.article_id == public.id
    assert search.deflected_at == search.created_at + timedelta(minutes=1)
    with pytest.raises(ValidationError):
        services.log_portal_search(db, requester=requester, query="  ", results_count=0,
                                   now=clock.now())


def test_a_concurrent_twin_insert_is_absorbed_not_a_500(db, make, clock):
    """Two requests insert the same vote/link at once: the loser's savepoint rolls back and
    the transaction goes on (PostgreSQL; SQLite serialises writers anyway)."""
    from servicedesk.knowledge.models import ArticleVote

    article, agent = make.article(publish=True), make.agent()
    db.add(ArticleVote(article_id=article.id, user_id=agent.id, is_helpful=True,
                       created_at=clock.now()))
    db.flush()
    twin = ArticleVote(article_id=article.id, user_id=agent.id, is_helpful=False,
                       created_at=clock.now())
    assert services._add_unique(db, twin) is False
    votes = db.scalars(sa.select(ArticleVote).where(ArticleVote.article_id == article.id)).all()
    assert [v.is_helpful for v in votes] == [True]
    ticket = make.ticket()
    use = services.link_article(db, ticket, article, actor=agent, now=clock.now())
    assert services._add_unique(db, ArticleUse(article_id=article.id, ticket_id=ticket.id,
                                               user_id=agent.id, created_at=clock.now())) is False
    assert services.articles_for_ticket(db, ticket) == [use]
