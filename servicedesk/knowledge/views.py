"""Knowledge pages: search, article, history with diffs, editor and workflow, must-read;
the intake form's live suggestions, the ticket page's panel and the portal's self-service.

Views parse a form, load the article (``load_visible_article``: 404 for what the user may not
read), call one service inside ``transaction(db.session)`` and redirect; DomainErrors from
POSTs become a flash on the previous page (``servicedesk.errors``). Vendor users have no
knowledge pages (403); requesters see public published articles only.

Two helpers are called from the ticket views in the same transaction as the ticket they
create: ``apply_intake_articles`` (links chosen on the intake form, "resolved with this
article") and ``record_portal_search`` (the portal's search terms when a ticket is logged).
"""
from __future__ import annotations

from functools import wraps

from flask import (
    Blueprint, abort, flash, g, redirect, render_template, request, url_for,
)
from flask_login import current_user, login_required
from werkzeug.datastructures import MultiDict

from servicedesk.accounts import permissions
from servicedesk.accounts.models import Role
from servicedesk.catalog.services import active_services
from servicedesk.clock import utcnow
from servicedesk.db import transaction
from servicedesk.errors import Conflict, NotFound, ValidationError
from servicedesk.extensions import db
from servicedesk.knowledge import queries, services
from servicedesk.knowledge.forms import (
    STATUS_LABELS, WORKFLOW_ACTIONS, ActionForm, ArticleForm, DeflectionForm,
    SearchForm, TicketArticleForm, VoteForm, WorkflowForm,
)
from servicedesk.knowledge.models import Article, ArticleStatus, PortalSearch
from servicedesk.tickets.forms import apply_domain_error
from servicedesk.tickets.models import Ticket
from servicedesk.tickets.queries import assignable_groups
from servicedesk.web.auth import role_required, staff_required

bp = Blueprint("knowledge", __name__, url_prefix="/kb")
bp.add_app_template_filter(queries.safe_highlight, "kb_highlight")

#: Longest text the live-suggestion endpoints read (title + description).
SUGGEST_TEXT_MAX = 2000
#: Intake form fields: articles to link, and the one the ticket was resolved with.
LINK_FIELD, RESOLVE_FIELD = "kb_link", "kb_resolve"
#: Portal form fields: the text last searched and how many articles it found.
PORTAL_QUERY_FIELD, PORTAL_RESULTS_FIELD = "kb_query", "kb_results"


def knowledge_user(view):
    """Staff and requesters; vendor users get 403."""

    @wraps(view)
    @login_required
    def wrapper(*args, **kwargs):
        if not queries.can_use_knowledge(current_user):
            abort(403)
        return view(*args, **kwargs)

    return wrapper


def _article(article_id: int) -> Article:
    try:
        return services.load_visible_article(db.session, current_user, article_id)
    except NotFound as exc:
        abort(404, exc.message)


# --- search ---------------------------------------------------------------------------------

@bp.get("/")
@knowledge_user
def search():
    form = SearchForm(formdata=MultiDict(
        [(k, v) for k, v in request.args.items(multi=True) if v.strip()]))
    service_names = queries.service_names(db.session)
    form.service.choices = [(s, s) for s in service_names]
    editor = permissions.can_review_articles(current_user)
    context = dict(form=form, editor=editor, outcome=None, page_url=_page_url,
                   popular=[], status_labels=STATUS_LABELS)
    if not form.validate():
        return render_template("knowledge/search.html", **context), 422
    q = (form.q.data or "").strip()
    now = utcnow()
    with transaction(db.session):  # an unreadable index queues a rebuild
        if q:
            context["outcome"] = services.search(
                db.session, current_user, q, now=now, page=form.page.data or 1,
                statuses=form.status.data if editor else None,
                service_names=form.service.data or None, languages=[form.language.data]
                if form.language.data else None, known_errors_only=form.known.data)
        else:
            context["popular"] = queries.popular(db.session, current_user)
    return render_template("knowledge/search.html", **context)


def _page_url(page: int) -> str:
    args = request.args.to_dict(flat=False)
    args["page"] = [str(page)]
    return url_for("knowledge.search", **args)


# --- article page ---------------------------------------------------------------------------

@bp.get("/articles/<int(max=2147483647):article_id>")
@knowledge_user
def show(article_id: int):
    article = _article(article_id)
    with transaction(db.session):
        services.record_view(db.session, article, actor=current_user, now=utcnow())
    return render_template(
        "knowledge/article.html", article=article,
        my_vote=queries.my_vote(db.session, current_user, article),
        must_read_pending=queries.must_read_pending(db.session, current_user, article),
        actions=_workflow_actions(article), can_edit=permissions.can_edit_article(
            current_user, article) and current_user.is_staff,
        workflow_form=WorkflowForm(formdata=None, data={"version": article.version}),
        vote_form=VoteForm(formdata=None), ack_form=ActionForm(formdata=None),
        used_on=queries.used_on(db.session, article) if current_user.is_staff else [],
        not_acked=services.not_acknowledged(db.session, article)
        if permissions.can_manage_must_read(current_user) else None)


def _workflow_actions(article: Article) -> list[tuple[str, str, str]]:
    """(action, label, css) of the workflow buttons ``current_user`` may press."""
    user, status = current_user, article.status
    allowed = []
    if status is ArticleStatus.draft and permissions.can_edit_article(user, article) \
            and user.is_staff:
        allowed.append("submit")
    if status is ArticleStatus.in_review and permissions.can_review_articles(user):
        allowed.append("send_back")
    if services.can_publish(user, article):
        allowed.append("publish")
    if status is ArticleStatus.published and permissions.can_review_articles(user):
        allowed.append("retire")
    return [(a, *WORKFLOW_ACTIONS[a]) for a in allowed]


WORKFLOW = {"submit": services.submit_for_review, "send_back": services.send_back,
            "publish": services.publish, "retire": services.retire}


@bp.post("/articles/<int(max=2147483647):article_id>/workflow")
@staff_required
def workflow(article_id: int):
    article = _article(article_id)
    form = WorkflowForm()
    if not form.validate_on_submit() or form.action.data not in WORKFLOW:
        raise ValidationError("Choose a workflow action.", field="action")
    with transaction(db.session):
        WORKFLOW[form.action.data](db.session, article, actor=current_user, now=utcnow(),
                                   expected_version=form.version.data)
    flash(f"{article.number} is now {article.status.label}.", "success")
    return redirect(url_for("knowledge.show", article_id=article.id))


@bp.post("/articles/<int(max=2147483647):article_id>/vote")
@knowledge_user
def vote(article_id: int):
    article = _article(article_id)
    form = VoteForm()
    if not form.validate_on_submit():
        raise ValidationError("Say whether the article was helpful.", field="helpful")
    with transaction(db.session):
        services.vote(db.session, article, actor=current_user,
                      helpful=form.helpful.data == "yes", now=utcnow())
    flash("Thank you for your feedback.", "success")
    return redirect(url_for("knowledge.show", article_id=article.id) + "#feedback")


@bp.post("/articles/<int(max=2147483647):article_id>/acknowledge")
@staff_required
def acknowledge(article_id: int):
    article = _article(article_id)
    if not ActionForm().validate_on_submit():
        abort(400, "The form expired; reload the page.")
    with transaction(db.session):
        services.acknowledge(db.session, article, actor=current_user, now=utcnow())
    flash(f"Thank you: {article.number} is acknowledged.", "success")
    return redirect(url_for("knowledge.show", article_id=article.id))


@bp.get("/articles/<int(max=2147483647):article_id>/history")
@staff_required
def history(article_id: int):
    article = _article(article_id)
    pair = queries.version_pair(article, request.args.get("old", type=int),
                                request.args.get("new", type=int))
    diffs = queries.diff_versions(*pair) if pair else []
    return render_template("knowledge/history.html", article=article, pair=pair, diffs=diffs)


# --- editor ---------------------------------------------------------------------------------

def _fill_choices(form: ArticleForm) -> None:
    form.service_ids.choices = [(s.id, s.name) for s in active_services(db.session)]
    form.must_read_group_ids.choices = [(g.id, g.name) for g in assignable_groups(db.session)]


@bp.route("/articles/new", methods=["GET", "POST"])
@staff_required
def new():
    form = ArticleForm()
    _fill_choices(form)
    if form.validate_on_submit():
        try:
            with transaction(db.session):
                article = services.create_article(db.session, actor=current_user, now=utcnow(),
                                                  note=form.note.data, **form.service_data())
        except ValidationError as exc:
            apply_domain_error(form, exc)
        else:
            flash(f"{article.number} saved as a draft.", "success")
            return redirect(url_for("knowledge.show", article_id=article.id))
    status = 422 if request.method == "POST" else 200
    return render_template("knowledge/edit.html", form=form, article=None), status


@bp.route("/articles/<int(max=2147483647):article_id>/edit", methods=["GET", "POST"])
@staff_required
def edit(article_id: int):
    article = _article(article_id)
    permissions.ensure(permissions.can_edit_article(current_user, article),
                       "You cannot edit this article.")
    form = ArticleForm(obj=None, data=_article_data(article) if request.method == "GET"
                       else None)
    _fill_choices(form)
    http_status = 200
    if form.validate_on_submit():
        try:
            with transaction(db.session):
                services.update_article(db.session, article, actor=current_user, now=utcnow(),
                                        expected_version=form.version.data,
                                        note=form.note.data, **form.service_data())
        except ValidationError as exc:
            apply_domain_error(form, exc)
        except Conflict as exc:
            apply_domain_error(form, exc)
            form.version.data, form.version.raw_data = article.version, [str(article.version)]
            form.form_errors.append("Your text is kept below: compare with the current "
                                    "article, then save again to apply it.")
            http_status = 409
        else:
            flash(f"{article.number} saved.", "success")
            return redirect(url_for("knowledge.show", article_id=article.id))
    if request.method == "POST" and http_status == 200:
        http_status = 422
    return render_template("knowledge/edit.html", form=form, article=article), http_status


def _article_data(article: Article) -> dict:
    return dict(title=article.title, symptoms=article.symptoms, cause=article.cause,
                resolution=article.resolution, body=article.body,
                tags=", ".join(article.tags or []), language=article.language,
                audience=article.audience.value, service_ids=[s.id for s in article.services],
                is_known_error=article.is_known_error, is_must_read=article.is_must_read,
                must_read_group_ids=[g.id for g in article.must_read_groups],
                version=article.version)


# --- articles and tickets -----------------------------------------------------------------

def _staff_ticket(ticket_id: int) -> Ticket:
    try:
        ticket = permissions.load_visible_ticket(db.session, current_user, ticket_id)
    except NotFound as exc:
        abort(404, exc.message)
    return ticket


@bp.post("/tickets/<int(max=2147483647):ticket_id>/draft")
@staff_required
def draft_from_ticket(ticket_id: int):
    """Create article from this (resolved) ticket: a prefilled draft, then its editor."""
    ticket = _staff_ticket(ticket_id)
    if not ActionForm().validate_on_submit():
        abort(400, "The form expired; reload the page.")
    with transaction(db.session):
        article = services.article_from_ticket(db.session, ticket, actor=current_user,
                                               now=utcnow())
    flash(f"{article.number} drafted from {ticket.number}: complete it, then submit it "
          "for review.", "success")
    return redirect(url_for("knowledge.edit", article_id=article.id))


@bp.post("/tickets/<int(max=2147483647):ticket_id>/articles")
@staff_required
def use_on_ticket(ticket_id: int):
    """The ticket panel's buttons: link an article, or resolve the ticket with it."""
    ticket = _staff_ticket(ticket_id)
    form = TicketArticleForm()
    if not form.validate_on_submit():
        raise ValidationError("Choose an article.", field="article_id")
    article = _article(form.article_id.data)
    resolve = request.form.get("resolve") == "1"
    with transaction(db.session):
        if resolve:
            services.resolve_with_article(db.session, ticket, article, actor=current_user,
                                          now=utcnow(), expected_version=form.version.data)
        else:
            services.link_article(db.session, ticket, article, actor=current_user,
                                  now=utcnow())
    flash(f"{ticket.number} resolved with {article.number}." if resolve
          else f"{article.number} linked to {ticket.number}.", "success")
    return redirect(url_for("tickets.show", ticket_id=ticket.id))


def apply_intake_articles(session, ticket: Ticket, form: MultiDict, *, actor,
                          now) -> Article | None:
    """After the intake form created ``ticket`` (same transaction): link the articles the
    agent chose and, for "resolved with this article", resolve it at first contact.
    Returns the article it was resolved with, if any."""
    chosen = _article_ids(form.getlist(LINK_FIELD))
    resolve_ids = _article_ids([form.get(RESOLVE_FIELD, "")])
    resolved_with = None
    for article_id in chosen:
        services.link_article(session, ticket, _usable(session, actor, article_id),
                              actor=actor, now=now)
    if resolve_ids:
        resolved_with = _usable(session, actor, resolve_ids[0])
        services.resolve_with_article(session, ticket, resolved_with, actor=actor, now=now)
    return resolved_with


def resolved_note(ticket: Ticket, article: Article | None) -> str:
    """The end of the intake form's confirmation ("." or how it was resolved)."""
    if article is None:
        return "."
    how = "at first contact " if ticket.is_first_contact_resolution else ""
    return f" and resolved {how}with {article.number}."


def _article_ids(values: list[str]) -> list[int]:
    ids = []
    for value in values:
        value = (value or "").strip()
        if not value:
            continue
        if not value.isdigit() or len(value) > 10:
            raise ValidationError("That knowledge article does not exist.", field="article_id")
        ids.append(int(value))
    return list(dict.fromkeys(ids))


def _usable(session, actor, article_id: int) -> Article:
    try:
        return services.load_visible_article(session, actor, article_id)
    except NotFound:
        raise ValidationError(f"Knowledge article {article_id} does not exist.",
                              field="article_id") from None


@bp.get("/suggestions")
@staff_required
def suggestions():
    """The intake form's live suggestions (an HTML fragment the page's script inserts)."""
    text = _suggest_text()
    with transaction(db.session):
        outcome = services.suggest(
            db.session, current_user, text, now=utcnow(),
            service_id=request.args.get("service_id", type=int)) if text else None
    return render_template("knowledge/_suggestions.html", outcome=outcome, text=text,
                           mode="intake")


def _suggest_text() -> str:
    text = "\n".join(request.args.get(k, "") for k in ("title", "description", "q")).strip()
    if len(text) > SUGGEST_TEXT_MAX:
        text = text[:SUGGEST_TEXT_MAX]
    return text


@bp.app_template_global("kb_ticket_panel")
def ticket_panel(ticket: Ticket):
    """The ticket page's knowledge panel (called from templates/knowledge/_ticket_panel.html)."""
    if not current_user.is_staff:
        return None
    panel = queries.ticket_panel(db.session, current_user, ticket, now=utcnow())
    if panel.suggested is not None and panel.suggested.rebuilding:
        # The unreadable index queued a rebuild request in this (read-only) page's session:
        # commit it, or the indexer never hears of it.
        db.session.commit()
    return panel


# --- must-read ------------------------------------------------------------------------------

@bp.app_template_global("kb_must_read")
def must_read_feed() -> list[Article]:
    """Unacknowledged must-read articles of the signed-in staff member (once per request)."""
    if not (current_user.is_authenticated and current_user.is_staff):
        return []
    if "kb_must_read" not in g:
        g.kb_must_read = services.must_read_feed(db.session, current_user)
    return g.kb_must_read


@bp.get("/must-read")
@role_required(Role.manager, Role.admin)
def must_read():
    """Managers: each must-read article and who has not acknowledged it yet."""
    rows = [(a, services.not_acknowledged(db.session, a))
            for a in queries.must_read_articles(db.session)]
    return render_template("knowledge/must_read.html", rows=rows)


# --- portal self-service ------------------------------------------------------------------

@bp.get("/portal/suggestions")
@role_required(Role.requester)
def portal_suggestions():
    """Public articles for what the requester is typing (fragment for portal/new)."""
    text = _suggest_text()
    with transaction(db.session):
        outcome = services.suggest(db.session, current_user, text, now=utcnow()) \
            if text else None
    return render_template("knowledge/_suggestions.html", outcome=outcome, text=text,
                           mode="portal", deflect_form=DeflectionForm(formdata=None))


@bp.post("/portal/solved")
@role_required(Role.requester)
def portal_solved():
    """"This solved it": the search is kept as a deflection and no ticket is logged."""
    form = DeflectionForm()
    if not form.validate_on_submit():
        raise ValidationError("Choose the article that solved it.", field="article_id")
    article = _article(form.article_id.data)
    now = utcnow()
    with transaction(db.session):
        search = services.log_portal_search(db.session, requester=current_user,
                                            query=form.q.data, now=now,
                                            results_count=_results_count(request.form))
        services.mark_deflected(db.session, search, article, requester=current_user, now=now)
    flash(f"Glad \u201c{article.title}\u201d solved it. No ticket was needed; if the problem "
          "comes back, report it here.", "success")
    return redirect(url_for("knowledge.show", article_id=article.id))


def record_portal_search(session, form: MultiDict, *, requester, now) -> PortalSearch | None:
    """When the portal form logs a ticket (same transaction): keep the text the requester
    searched first and how many articles it found (a search that did not deflect)."""
    query = (form.get(PORTAL_QUERY_FIELD) or "").strip()[:services.QUERY_MAX]
    if not query:
        return None
    return services.log_portal_search(session, requester=requester, query=query,
                                       results_count=_results_count(form), now=now)


def _results_count(form: MultiDict) -> int:
    """How many articles the requester was shown (as the page reports it, bounded)."""
    value = (form.get(PORTAL_RESULTS_FIELD) or "").strip()
    return min(int(value), queries.SUGGEST_LIMIT) if value.isdigit() and len(value) < 4 else 0
