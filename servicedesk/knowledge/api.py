"""/api/v1/kb: knowledge-base search, suggestions, articles and their workflow, problems.

Visibility: requesters and vendor users read public published articles only; agents read
published articles and their own drafts; experts, managers and admins read everything.
Writes: staff draft; experts/managers/admins edit any article, publish (four eyes), retire and
manage problems. Every view: parse -> load (404 if not visible) -> permission (in the service)
-> one ``transaction`` -> serialize.
"""
from __future__ import annotations

from datetime import timedelta

from flask import current_app, url_for

from servicedesk.accounts import permissions
from servicedesk.accounts.models import Role
from servicedesk.clock import utcnow
from servicedesk.db import transaction
from servicedesk.errors import NotFound
from servicedesk.extensions import db
from servicedesk.knowledge import indexing, problems, schemas as s, services
from servicedesk.knowledge.models import Article, PortalSearch, Problem
from servicedesk.web.api import ID, api_blueprint, api_user, documented, parse_body, parse_query

bp = api_blueprint("knowledge_api", __name__, url_prefix="/kb")

STAFF = "staff (agent, expert, manager, admin)"
EDITORS = "experts, managers, admins"
ARTICLE = f"/articles/<{ID}:article_id>"
PROBLEM = f"/problems/<{ID}:problem_id>"
TAG = "knowledge"


@bp.after_app_request
def _sync_index(response):
    """KB_SYNC_INDEX (demo/dev): apply this request's index changes now."""
    indexing.sync_after_request(current_app._get_current_object())
    return response


def _json(model) -> dict:
    return model.model_dump(mode="json")


def _article(article_id: int) -> Article:
    return services.load_visible_article(db.session, api_user(), article_id)


def _problem(problem_id: int) -> Problem:
    permissions.ensure(permissions.can_review_articles(api_user()),
                       "Only experts and managers see problems.")
    problem = db.session.get(Problem, problem_id)
    if problem is None:
        raise NotFound(f"Problem {problem_id} not found.")
    return problem


def _ticket(ticket_id: int):
    return permissions.load_visible_ticket(db.session, api_user(), ticket_id)


# --- search and suggest ----------------------------------------------------------------------

@bp.get("/search")
@documented(
    "Search articles",
    description="Ranked by text relevance, then usefulness (recent resolutions, votes). "
                "Highlighted snippets. Any text is accepted: syntax the engine rejects is "
                "searched as plain words. state 'rebuilding' means the index is being rebuilt "
                "(no results yet). Requesters' searches are logged (search_id) for "
                "self-service reporting.",
    query=s.SearchQuery, response=s.SearchOut, tag=TAG)
def search():
    args = parse_query(s.SearchQuery)
    user, now = api_user(), utcnow()
    with transaction(db.session):
        outcome = services.search(
            db.session, user, args.q, now=now, page=args.page, limit=args.per_page,
            statuses=args.status or None, service_names=args.service or None,
            languages=args.language or None, known_errors_only=args.known_errors)
        search_id = None
        if user.role is Role.requester and args.q.strip() and not outcome.rebuilding:
            search_id = services.log_portal_search(
                db.session, requester=user, query=args.q, now=now,
                results_count=outcome.results.total).id
        out = _json(s.search_out(outcome, args.q, search_id))
    return out


def _suggest(args: s.SuggestIn) -> dict:
    user, now = api_user(), utcnow()
    ticket = _ticket(args.ticket_id) if args.ticket_id else None
    with transaction(db.session):
        outcome = services.suggest(db.session, user, args.text, now=now,
                                   service_id=args.service_id, ticket=ticket, limit=args.limit)
        return _json(s.search_out(outcome, args.text[:200]))


@bp.get("/suggest")
@documented(
    "Suggest articles for ticket text (short text)",
    description="Articles for the title + description being typed, typo tolerant, preferring "
                "the ticket's service; each with its workaround. For long text use POST.",
    query=s.SuggestIn, response=s.SearchOut, tag=TAG)
def suggest_get():
    return _suggest(parse_query(s.SuggestIn))


@bp.post("/suggest")
@documented("Suggest articles for ticket text",
            description="Same as GET, with the text in a JSON body (no URL length limit).",
            body=s.SuggestIn, response=s.SearchOut, tag=TAG)
def suggest_post():
    return _suggest(parse_body(s.SuggestIn))


@bp.post(f"/searches/<{ID}:search_id>/deflected")
@documented("This solved it", description="The requester's portal search needed no ticket: "
            "counts a deflection with the article that answered it.",
            body=s.DeflectIn, response=s.DeflectOut, errors=(403,), roles="requesters",
            tag=TAG)
def deflected(search_id: int):
    body = parse_body(s.DeflectIn)
    user = api_user()
    permissions.ensure(user.role is Role.requester, "Only requesters report deflections.")
    search = db.session.get(PortalSearch, search_id)
    if search is None:
        raise NotFound(f"Search {search_id} not found.")
    article = _article(body.article_id)
    with transaction(db.session):
        services.mark_deflected(db.session, search, article, requester=user, now=utcnow())
        out = _json(s.DeflectOut(search_id=search.id, is_deflected=search.is_deflected,
                                 article_id=search.article_id))
    return out


# --- articles --------------------------------------------------------------------------------

@bp.get("/articles")
@documented("List articles", description="Articles you may read, latest change first.",
            query=s.ArticleListQuery, response=s.ArticleList, tag=TAG)
def list_articles():
    args = parse_query(s.ArticleListQuery)
    user = api_user()
    page = services.list_articles(db.session, user, statuses=args.status, mine=args.mine,
                                  page=args.page, per_page=args.per_page)
    return {"items": [_json(s.article_out(a, user)) for a in page.items], "page": page.page,
            "per_page": page.per_page, "total": page.total, "pages": page.pages}


@bp.post("/articles")
@documented("Draft an article", body=s.ArticleCreate, response=s.ArticleOut, status=201,
            errors=(403,), roles=STAFF, tag=TAG)
def create_article():
    body = parse_body(s.ArticleCreate)
    user = api_user()
    with transaction(db.session):
        article = services.create_article(db.session, actor=user, now=utcnow(),
                                          **body.model_dump())
        out = _json(s.article_out(article, user))
    return out, 201, {"Location": url_for("knowledge_api.get_article", article_id=out["id"])}


@bp.post("/articles/from-ticket")
@documented("Draft an article from a resolved ticket",
            description="Prefilled from the ticket's title, description, resolution notes and "
                        "service, and linked to the ticket.",
            body=s.FromTicketIn, response=s.ArticleOut, status=201, errors=(403,),
            roles=EDITORS, tag=TAG)
def article_from_ticket():
    body = parse_body(s.FromTicketIn)
    user = api_user()
    ticket = _ticket(body.ticket_id)
    with transaction(db.session):
        article = services.article_from_ticket(db.session, ticket, actor=user, now=utcnow())
        out = _json(s.article_out(article, user))
    return out, 201, {"Location": url_for("knowledge_api.get_article", article_id=out["id"])}


@bp.get(ARTICLE)
@documented("Get an article", description="Counts a view, like the article page.",
            response=s.ArticleOut, tag=TAG)
def get_article(article_id: int):
    article, user = _article(article_id), api_user()
    with transaction(db.session):
        services.record_view(db.session, article, actor=user, now=utcnow())
        out = _json(s.article_out(article, user))
    return out


@bp.patch(ARTICLE)
@documented("Edit an article", description="Text or tag changes write a new version. Send "
            "the version you read: 409 if someone changed it since.",
            body=s.ArticleUpdate, response=s.ArticleOut, errors=(403, 409), roles=STAFF,
            tag=TAG)
def update_article(article_id: int):
    body = parse_body(s.ArticleUpdate)
    article, user = _article(article_id), api_user()
    with transaction(db.session):
        services.update_article(db.session, article, actor=user, now=utcnow(),
                                expected_version=body.version, note=body.note,
                                **body.changes())
        out = _json(s.article_out(article, user))
    return out


def _workflow(article_id: int, action) -> dict:
    body = parse_body(s.VersionIn)
    article, user = _article(article_id), api_user()
    with transaction(db.session):
        action(db.session, article, actor=user, now=utcnow(), expected_version=body.version)
        out = _json(s.article_out(article, user))
    return out


@bp.post(ARTICLE + "/submit")
@documented("Submit a draft for review", body=s.VersionIn, response=s.ArticleOut,
            errors=(403, 409), roles="the author or an editor", tag=TAG)
def submit_article(article_id: int):
    return _workflow(article_id, services.submit_for_review)


@bp.post(ARTICLE + "/send-back")
@documented("Send an article in review back to draft", body=s.VersionIn,
            response=s.ArticleOut, errors=(403, 409), roles=EDITORS, tag=TAG)
def send_back_article(article_id: int):
    return _workflow(article_id, services.send_back)


@bp.post(ARTICLE + "/publish")
@documented("Publish an article", description="By an expert, manager or admin who is not its "
            "author (four eyes). Must-read articles are pushed to the desk.",
            body=s.VersionIn, response=s.ArticleOut, errors=(403, 409), roles=EDITORS,
            tag=TAG)
def publish_article(article_id: int):
    return _workflow(article_id, services.publish)


@bp.post(ARTICLE + "/retire")
@documented("Retire a published article", body=s.VersionIn, response=s.ArticleOut,
            errors=(403, 409), roles=EDITORS, tag=TAG)
def retire_article(article_id: int):
    return _workflow(article_id, services.retire)


@bp.get(ARTICLE + "/versions")
@documented("An article's versions", description="Every edit, oldest first, full text.",
            response=s.VersionList, tag=TAG)
def list_versions(article_id: int):
    article = _article(article_id)
    permissions.ensure(api_user().is_staff, "Only staff see an article's history.")
    return _json(s.VersionList(items=[s.version_out(v) for v in article.versions]))


@bp.get(ARTICLE + "/diff")
@documented("Diff two versions", description="Default: the latest version against the one "
            "before it.", query=s.DiffQuery, response=s.DiffOut, roles=STAFF, tag=TAG)
def diff_versions(article_id: int):
    args = parse_query(s.DiffQuery)
    article = _article(article_id)
    permissions.ensure(api_user().is_staff, "Only staff see an article's history.")
    new = args.new or article.revision
    old = args.old or max(1, new - 1)
    return _json(s.DiffOut(from_number=old, to_number=new,
                           diff=services.diff_versions(article, old, new)))


@bp.put(ARTICLE + "/vote")
@documented("Vote helpful / not helpful", description="One vote per person; voting again "
            "replaces it.", body=s.VoteIn, response=s.VoteOut, tag=TAG)
def vote(article_id: int):
    body = parse_body(s.VoteIn)
    article, user = _article(article_id), api_user()
    with transaction(db.session):
        row = services.vote(db.session, article, actor=user, helpful=body.helpful,
                            now=utcnow())
        out = _json(s.VoteOut(article_id=article.id, helpful=row.is_helpful,
                              helpful_count=article.helpful_count,
                              unhelpful_count=article.unhelpful_count))
    return out


@bp.post(ARTICLE + "/acknowledge")
@documented("Acknowledge a must-read article", response=s.AckOut, roles=STAFF, tag=TAG)
def acknowledge(article_id: int):
    article, user = _article(article_id), api_user()
    permissions.ensure(user.is_staff, "Must-read broadcasts are for staff.")
    with transaction(db.session):
        ack = services.acknowledge(db.session, article, actor=user, now=utcnow())
        out = _json(s.AckOut(article_id=article.id, revision=ack.revision,
                             acknowledged_at=ack.acknowledged_at))
    return out


@bp.get(ARTICLE + "/unacknowledged")
@documented("Who has not acknowledged a must-read article", response=s.UserList,
            roles="managers, admins", errors=(403,), tag=TAG)
def unacknowledged(article_id: int):
    article = _article(article_id)
    permissions.ensure(permissions.can_manage_must_read(api_user()),
                       "Only managers see who has not acknowledged.")
    users = services.not_acknowledged(db.session, article)
    return _json(s.UserList(items=[{"id": u.id, "name": u.name} for u in users]))


@bp.get("/must-read")
@documented("My must-read feed", description="Published must-read articles for you that you "
            "have not acknowledged, newest first.", response=s.MustReadList, tag=TAG)
def must_read():
    user = api_user()
    feed = services.must_read_feed(db.session, user)
    return _json(s.MustReadList(items=[s.article_out(a, user) for a in feed]))


@bp.post(ARTICLE + "/uses")
@documented("Link an article to a ticket", body=s.UseIn, response=s.UseOut, status=201,
            errors=(403,), roles=STAFF, tag=TAG)
def link_article(article_id: int):
    body = parse_body(s.UseIn)
    article, user = _article(article_id), api_user()
    ticket = _ticket(body.ticket_id)
    with transaction(db.session):
        use = services.link_article(db.session, ticket, article, actor=user, now=utcnow())
        out = _json(s.UseOut(article_id=article.id, ticket_id=ticket.id,
                             is_resolution=use.is_resolution, created_at=use.created_at))
    return out, 201


@bp.post(ARTICLE + "/resolve")
@documented("Resolve a ticket with this article",
            description="Resolves the ticket with the article's workaround (resolution code "
                        "workaround or known_error) and counts a use. At first contact it is a "
                        "KB-assisted first-contact resolution.",
            body=s.ResolveIn, response=s.UseOut, errors=(403, 409), roles=STAFF, tag=TAG)
def resolve_with_article(article_id: int):
    body = parse_body(s.ResolveIn)
    article, user = _article(article_id), api_user()
    ticket = _ticket(body.ticket_id)
    permissions.ensure(permissions.can_edit_ticket(user), "Only staff resolve tickets.")
    with transaction(db.session):
        services.resolve_with_article(db.session, ticket, article, actor=user, now=utcnow(),
                                      expected_version=body.ticket_version, notes=body.notes)
        use = next(u for u in services.articles_for_ticket(db.session, ticket)
                   if u.article_id == article.id)
        out = _json(s.UseOut(article_id=article.id, ticket_id=ticket.id,
                             is_resolution=use.is_resolution, created_at=use.created_at))
    return out


# --- problems --------------------------------------------------------------------------------

@bp.get("/problems")
@documented("List problems", description="Newest first, a page at a time.",
            query=s.ProblemListQuery, response=s.ProblemList, roles=EDITORS, errors=(403,),
            tag=TAG)
def list_problems():
    args = parse_query(s.ProblemListQuery)
    permissions.ensure(permissions.can_review_articles(api_user()),
                       "Only experts and managers see problems.")
    page = problems.list_problems(db.session, statuses=args.status, page=args.page,
                                  per_page=args.per_page)
    return _json(s.ProblemList(items=[s.problem_out(p) for p in page.items], page=page.page,
                               per_page=page.per_page, total=page.total, pages=page.pages))


@bp.post("/problems")
@documented("Open a problem", body=s.ProblemCreate, response=s.ProblemOut, status=201,
            errors=(403,), roles=EDITORS, tag=TAG)
def create_problem():
    body = parse_body(s.ProblemCreate)
    with transaction(db.session):
        problem = problems.create_problem(db.session, actor=api_user(), now=utcnow(),
                                          **body.model_dump())
        out = _json(s.problem_out(problem))
    return out, 201, {"Location": url_for("knowledge_api.get_problem", problem_id=out["id"])}


@bp.get("/problems/candidates")
@documented("Candidate problems", description="Open incidents of one service, created in the "
            "window, whose texts overlap (Jaccard of their terms >= min_similarity), grouped.",
            query=s.CandidateQuery, response=s.CandidateList, roles=EDITORS, errors=(403,),
            tag=TAG)
def candidate_problems():
    args = parse_query(s.CandidateQuery)
    permissions.ensure(permissions.can_review_articles(api_user()),
                       "Only experts and managers see problems.")
    found = problems.candidate_problems(
        db.session, now=utcnow(), window=timedelta(hours=args.window_hours),
        min_similarity=args.min_similarity, service_id=args.service_id)
    return _json(s.CandidateList(items=[
        s.CandidateOut(service=s.ServiceRef(id=c.service.id, name=c.service.name),
                       tickets=[s.ticket_ref(t) for t in c.tickets], similarity=c.similarity,
                       common_terms=c.common_terms) for c in found]))


@bp.get(PROBLEM)
@documented("Get a problem", response=s.ProblemOut, roles=EDITORS, errors=(403,), tag=TAG)
def get_problem(problem_id: int):
    return _json(s.problem_out(_problem(problem_id)))


@bp.post(PROBLEM + "/incidents")
@documented("Link incidents to a problem", body=s.IncidentsIn, response=s.ProblemOut,
            errors=(403, 409), roles=EDITORS, tag=TAG)
def link_incidents(problem_id: int):
    body = parse_body(s.IncidentsIn)
    problem = _problem(problem_id)
    with transaction(db.session):
        problems.link_incidents(db.session, problem, body.incident_ids, actor=api_user(),
                                now=utcnow(), expected_version=body.version)
        out = _json(s.problem_out(problem))
    return out


@bp.post(PROBLEM + "/known-error")
@documented("Record a known error", description="Stores root cause and workaround, writes a "
            "known-error article (published unless publish=false; must-read by default) and "
            "links it to every linked incident.",
            body=s.KnownErrorIn, response=s.ProblemOut, errors=(403, 409), roles=EDITORS,
            tag=TAG)
def record_known_error(problem_id: int):
    body = parse_body(s.KnownErrorIn)
    problem = _problem(problem_id)
    with transaction(db.session):
        problems.record_known_error(
            db.session, problem, actor=api_user(), now=utcnow(), root_cause=body.root_cause,
            workaround=body.workaround, publish=body.publish, is_must_read=body.is_must_read,
            audience=body.audience, expected_version=body.version)
        out = _json(s.problem_out(problem))
    return out


@bp.post(PROBLEM + "/resolve")
@documented("Resolve a problem", body=s.VersionIn, response=s.ProblemOut, errors=(403, 409),
            roles=EDITORS, tag=TAG)
def resolve_problem(problem_id: int):
    body = parse_body(s.VersionIn)
    problem = _problem(problem_id)
    with transaction(db.session):
        problems.resolve_problem(db.session, problem, actor=api_user(), now=utcnow(),
                                 expected_version=body.version)
        out = _json(s.problem_out(problem))
    return out
