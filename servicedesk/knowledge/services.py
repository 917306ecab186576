"""Article lifecycle and use: write, review, publish, retire, link to tickets, vote, read.

Every function takes the session, the acting user and ``now``; it validates, changes rows,
writes an ``IndexOutbox`` row for every change the search index must see (same transaction),
flushes and never commits. Errors are DomainErrors naming the field.

Workflow (``TRANSITIONS``): draft -> in_review -> published -> retired, with in_review -> draft
(sent back) and draft -> published (a reviewer may publish a draft directly).

Who may do what (predicates in accounts/permissions.py): any staff member drafts; agents edit
only their own drafts; experts, managers and admins edit any article that is not retired,
publish and retire. **Four eyes:** a reviewer never publishes an article they wrote, except a
known error recorded through problem management (``problems.record_known_error``), which the
recording expert may publish at once because the desk needs the workaround now.
"""
from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from servicedesk.accounts import permissions
from servicedesk.accounts.models import Group, Role, User
from servicedesk.catalog.models import Service
from servicedesk.errors import (
    Conflict, InvalidTransition, NotFound, PermissionDenied, ValidationError,
)
from servicedesk.knowledge.indexing import enqueue
from servicedesk.knowledge.models import (
    Article, ArticleStatus, ArticleUse, ArticleVersion, ArticleVote, Audience, MustReadAck,
    OutboxOp, PortalSearch,
)
from servicedesk.tickets import services as tickets
from servicedesk.tickets.models import EventKind, ResolutionCode, Status, Ticket

TITLE_MAX = 200
TEXT_MAX = 50_000
NOTE_MAX = 500
TAGS_MAX = 20
TAG_MAX = 40
QUERY_MAX = 256
#: Text fields of an article (what a version snapshots, besides tags).
TEXT_FIELDS = ("title", "symptoms", "cause", "resolution", "body")
_LANGUAGE_RE = re.compile(r"^[a-z]{2,3}(-[a-z0-9]{2,8})?$")

S = ArticleStatus
TRANSITIONS: dict[ArticleStatus, frozenset[ArticleStatus]] = {
    S.draft: frozenset({S.in_review, S.published}),
    S.in_review: frozenset({S.draft, S.published}),
    S.published: frozenset({S.retired}),
    S.retired: frozenset(),
}


# --- validation helpers ------------------------------------------------------------------

def clean_text(value: Any, field: str, *, required: bool = False,
               max_len: int = TEXT_MAX) -> str:
    """Stripped text of at most ``max_len`` characters; ValidationError naming ``field``."""
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise ValidationError(f"{field} must be text.", field=field)
    value = value.strip()
    if required and not value:
        raise ValidationError(f"{field.capitalize()} is required.", field=field)
    if len(value) > max_len:
        raise ValidationError(f"{field.capitalize()} is too long ({len(value)} characters, "
                              f"{max_len} at most).", field=field)
    return value


def _tags(values: Any) -> list[str]:
    if values is None:
        return []
    if isinstance(values, str):
        values = values.split(",")
    if not isinstance(values, Iterable):
        raise ValidationError("Tags must be a list of words.", field="tags")
    tags: list[str] = []
    for value in values:
        if not isinstance(value, str):
            raise ValidationError("Tags must be a list of words.", field="tags")
        tag = " ".join(value.replace(",", " ").split()).lower()
        if len(tag) > TAG_MAX:
            raise ValidationError(f"Tag {tag[:20]!r}... is longer than {TAG_MAX} characters.",
                                  field="tags")
        if tag and tag not in tags:
            tags.append(tag)
    if len(tags) > TAGS_MAX:
        raise ValidationError(f"At most {TAGS_MAX} tags.", field="tags")
    return tags


def _language(value: Any) -> str:
    value = value.strip().lower() if isinstance(value, str) else value
    if not isinstance(value, str) or not _LANGUAGE_RE.match(value):
        raise ValidationError("Language must be a code such as en or zh.", field="language")
    return value


def _audience(value: Any) -> Audience:
    try:
        return Audience(getattr(value, "value", value))
    except ValueError:
        raise ValidationError("Audience must be internal or public.", field="audience") from None


def load_rows(session: Session, model, ids: Any, field: str) -> list:
    """Rows of ``model`` for a list of ids, in that order; an unknown id names ``field``."""
    if ids is None:
        return []
    if isinstance(ids, (str, bytes)) or not isinstance(ids, Iterable):
        raise ValidationError(f"{field} must be a list of ids.", field=field)
    ids = list(dict.fromkeys(ids))
    if any(isinstance(i, bool) or not isinstance(i, int) for i in ids):
        raise ValidationError(f"{field} must be a list of ids.", field=field)
    rows = session.scalars(sa.select(model).where(model.id.in_(ids))).all() if ids else []
    missing = sorted(set(ids) - {row.id for row in rows})
    if missing:
        raise ValidationError(f"Unknown id {missing[0]} in {field}.", field=field)
    by_id = {row.id: row for row in rows}
    return [by_id[i] for i in ids]


def _add_unique(session: Session, row) -> bool:
    """Insert ``row`` in a savepoint; False (nothing inserted) if a concurrent request already
    inserted its twin (unique constraint), instead of failing the whole transaction."""
    try:
        with session.begin_nested():
            session.add(row)
    except sa.exc.IntegrityError:
        return False
    return True


def check_version(article: Article, expected_version: int | None) -> None:
    """Refuse to act on an article someone changed since the caller read it."""
    if expected_version is not None and expected_version != article.version:
        raise Conflict(f"{article.number} was changed by someone else since you opened it; "
                       "reload it. Nothing was saved.",
                       fields={"version": f"stale: current version is {article.version}"})


def load_visible_article(session: Session, user: User, article_id: int) -> Article:
    """The article if ``user`` may read it; NotFound otherwise (no existence leak)."""
    article = session.get(Article, article_id)
    if article is None or not permissions.can_view_article(user, article):
        raise NotFound(f"Article {article_id} not found.")
    return article


# --- writing ------------------------------------------------------------------------------

def _clean_fields(session: Session, raw: dict[str, Any]) -> dict[str, Any]:
    cleaned: dict[str, Any] = {}
    for name, value in raw.items():
        if name == "title":
            cleaned[name] = clean_text(value, "title", required=True, max_len=TITLE_MAX)
        elif name in TEXT_FIELDS:
            cleaned[name] = clean_text(value, name)
        elif name == "tags":
            cleaned[name] = _tags(value)
        elif name == "language":
            cleaned[name] = _language(value)
        elif name == "audience":
            cleaned[name] = _audience(value)
        elif name == "service_ids":
            cleaned["services"] = load_rows(session, Service, value, "service_ids")
        elif name == "must_read_group_ids":
            cleaned["must_read_groups"] = load_rows(session, Group, value, "must_read_group_ids")
        elif name in ("is_must_read", "is_known_error"):
            if not isinstance(value, bool):
                raise ValidationError(f"{name} must be true or false.", field=name)
            cleaned[name] = value
        else:
            raise ValidationError(f"Unknown article field {name!r}.", field=name)
    return cleaned


def _snapshot(session: Session, article: Article, actor: User, now: datetime,
              note: str) -> ArticleVersion:
    number = (article.versions[-1].number + 1) if article.versions else 1
    version = ArticleVersion(article=article, number=number, editor=actor, created_at=now,
                             note=note, tags=list(article.tags or []),
                             **{name: getattr(article, name) for name in TEXT_FIELDS})
    session.add(version)
    article.revision = number
    return version


def create_article(session: Session, *, actor: User, now: datetime, title: Any,
                   symptoms: Any = "", cause: Any = "", resolution: Any = "", body: Any = "",
                   tags: Any = (), language: Any = "en", audience: Any = Audience.internal,
                   service_ids: Any = (), is_must_read: bool = False,
                   must_read_group_ids: Any = (), is_known_error: bool = False,
                   source_ticket: Ticket | None = None, problem=None,
                   note: Any = "") -> Article:
    """A new draft by ``actor`` with its first version; queued for indexing."""
    if not permissions.can_write_articles(actor):
        raise PermissionDenied("Only service-desk staff write knowledge articles.")
    fields = _clean_fields(session, dict(
        title=title, symptoms=symptoms, cause=cause, resolution=resolution, body=body,
        tags=tags, language=language, audience=audience, service_ids=service_ids,
        is_must_read=is_must_read, must_read_group_ids=must_read_group_ids,
        is_known_error=is_known_error))
    note = clean_text(note, "note", max_len=NOTE_MAX)
    article = Article(author=actor, status=ArticleStatus.draft, created_at=now, updated_at=now,
                      source_ticket=source_ticket, problem=problem, **fields)
    session.add(article)
    _snapshot(session, article, actor, now, note or "created")
    session.flush()
    enqueue(session, article.id, OutboxOp.upsert, now)
    return article


def update_article(session: Session, article: Article, *, actor: User, now: datetime,
                   expected_version: int | None = None, note: Any = "",
                   **changes: Any) -> Article:
    """Change the given fields; a text or tag change writes a new version. Published
    articles stay published (editors fix them in place) and are re-indexed."""
    if not permissions.can_edit_article(actor, article):
        raise PermissionDenied("You cannot edit this article."
                               if article.status is not S.retired
                               else "A retired article cannot be edited.")
    check_version(article, expected_version)
    fields = _clean_fields(session, changes)
    note = clean_text(note, "note", max_len=NOTE_MAX)
    changed_text = False
    changed = False
    for name, value in fields.items():
        current = getattr(article, name)
        if name in ("services", "must_read_groups"):
            same = [r.id for r in current] == [r.id for r in value]
        else:
            same = current == value
        if same:
            continue
        setattr(article, name, value)
        changed = True
        changed_text |= name in TEXT_FIELDS or name == "tags"
    if changed:
        article.updated_at = now
        if changed_text:
            _snapshot(session, article, actor, now, note)
        session.flush()
        enqueue(session, article.id, OutboxOp.upsert, now)
    return article


def _transition(session: Session, article: Article, target: ArticleStatus, actor: User,
                now: datetime, expected_version: int | None) -> None:
    check_version(article, expected_version)
    if target not in TRANSITIONS[article.status]:
        raise InvalidTransition(
            f"An article cannot go from {article.status.label} to {target.label}.",
            fields={"status": f"not allowed from {article.status.value}"})
    article.status = target
    article.updated_at = now


def submit_for_review(session: Session, article: Article, *, actor: User, now: datetime,
                      expected_version: int | None = None) -> Article:
    """Draft -> in review (the author, or an editor)."""
    if not permissions.can_edit_article(actor, article):
        raise PermissionDenied("Only the author or a reviewer can submit this article.")
    _transition(session, article, S.in_review, actor, now, expected_version)
    session.flush()
    enqueue(session, article.id, OutboxOp.upsert, now)
    return article


def send_back(session: Session, article: Article, *, actor: User, now: datetime,
              expected_version: int | None = None) -> Article:
    """In review -> draft (a reviewer asks the author for changes)."""
    if not permissions.can_review_articles(actor):
        raise PermissionDenied("Only experts and managers review articles.")
    if article.status is not S.in_review:
        raise InvalidTransition("Only an article in review can be sent back.",
                                fields={"status": f"not allowed from {article.status.value}"})
    _transition(session, article, S.draft, actor, now, expected_version)
    session.flush()
    enqueue(session, article.id, OutboxOp.upsert, now)
    return article


def publish(session: Session, article: Article, *, actor: User, now: datetime,
            expected_version: int | None = None, allow_own: bool = False) -> Article:
    """Publish a draft or reviewed article: ``actor`` becomes its reviewer.

    Reviewers are experts, managers or admins and not the author (four eyes), unless
    ``allow_own`` (known errors recorded by problem management). A must-read article is
    pushed again to everyone (acknowledgements refer to the published revision).
    """
    if not permissions.can_review_articles(actor):
        raise PermissionDenied("Only experts and managers publish articles.")
    if article.author_id == actor.id and not allow_own:
        raise PermissionDenied("Another expert or a manager must review and publish your "
                               "article (four-eyes rule).")
    if not article.resolution.strip() and not article.body.strip():
        raise ValidationError("Write the resolution (or body) before publishing.",
                              field="resolution")
    _transition(session, article, S.published, actor, now, expected_version)
    article.reviewer = actor
    article.published_at = now
    article.published_revision = article.revision
    session.flush()
    enqueue(session, article.id, OutboxOp.upsert, now)
    return article


def retire(session: Session, article: Article, *, actor: User, now: datetime,
           expected_version: int | None = None) -> Article:
    """Published -> retired: no longer found by search or suggested."""
    if not permissions.can_review_articles(actor):
        raise PermissionDenied("Only experts and managers retire articles.")
    _transition(session, article, S.retired, actor, now, expected_version)
    article.retired_at = now
    session.flush()
    enqueue(session, article.id, OutboxOp.upsert, now)
    return article


def article_from_ticket(session: Session, ticket: Ticket, *, actor: User,
                        now: datetime) -> Article:
    """A draft prefilled from a resolved ticket (title, description as symptoms, resolution
    notes, service), linked to it; the ticket's history records it."""
    if not permissions.can_review_articles(actor):
        raise PermissionDenied("Only experts and managers turn tickets into articles.")
    if ticket.status not in (Status.resolved, Status.closed):
        raise ValidationError("Only a resolved or closed ticket can become an article.",
                              field="ticket_id")
    article = create_article(
        session, actor=actor, now=now, title=ticket.title[:TITLE_MAX],
        symptoms=ticket.description, resolution=ticket.resolution_notes or "",
        service_ids=[ticket.service_id] if ticket.service_id else [],
        source_ticket=ticket, note=f"from {ticket.number}")
    _link(session, ticket, article, actor, now)
    tickets.record_event(session, ticket, EventKind.knowledge, actor=actor, now=now,
                         field="article_drafted", new=article.number, body=article.title)
    session.flush()
    return article


# --- use on tickets -------------------------------------------------------------------------

def _link(session: Session, ticket: Ticket, article: Article, actor: User,
          now: datetime) -> tuple[ArticleUse, bool]:
    use = session.scalar(sa.select(ArticleUse).where(ArticleUse.article_id == article.id,
                                                     ArticleUse.ticket_id == ticket.id))
    if use is not None:
        return use, False
    use = ArticleUse(article_id=article.id, ticket_id=ticket.id, user_id=actor.id,
                     created_at=now)
    if not _add_unique(session, use):  # linked at the same moment by someone else
        return session.scalar(sa.select(ArticleUse).where(
            ArticleUse.article_id == article.id, ArticleUse.ticket_id == ticket.id)), False
    return use, True


def _require_usable(article: Article) -> None:
    if article.status is not S.published:
        raise ValidationError("Only a published article can be used on a ticket.",
                              field="article_id")


def link_article(session: Session, ticket: Ticket, article: Article, *, actor: User,
                 now: datetime) -> ArticleUse:
    """Attach a published article to a ticket (idempotent); written to the ticket history."""
    if not permissions.can_edit_ticket(actor):
        raise PermissionDenied("Only service-desk staff link articles to tickets.")
    _require_usable(article)
    use, created = _link(session, ticket, article, actor, now)
    if created:
        tickets.record_event(session, ticket, EventKind.knowledge, actor=actor, now=now,
                             field="article", new=article.number, body=article.title)
    session.flush()
    return use


def resolve_with_article(session: Session, ticket: Ticket, article: Article, *, actor: User,
                         now: datetime, expected_version: int | None = None,
                         notes: Any = None) -> Ticket:
    """Resolve ``ticket`` with the article's workaround (resolution code: known error or
    workaround), count a use of the article, and record it as the resolution.

    The ticket's own first-contact rule decides ``is_first_contact_resolution``; a ticket
    resolved at first contact with an article is a KB-assisted FCR (``is_kb_assisted_fcr``).
    """
    _require_usable(article)
    tickets.check_version(ticket, expected_version)
    use = link_article(session, ticket, article, actor=actor, now=now)
    code = ResolutionCode.known_error if article.is_known_error else ResolutionCode.workaround
    text = notes if isinstance(notes, str) and notes.strip() else \
        f"Resolved with {article.number} {article.title}: {article.resolution}".strip()
    tickets.change_status(session, ticket, Status.resolved, actor=actor, now=now,
                          expected_version=expected_version, resolution_code=code.value,
                          resolution_notes=text[:tickets.TEXT_MAX])
    if not use.is_resolution:
        use.is_resolution = True
        _bump(session, article, use_count=1, last_used_at=now)
        enqueue(session, article.id, OutboxOp.upsert, now)
    session.flush()
    return ticket


def import_use(session: Session, ticket: Ticket, article: Article, *, user_id: int,
               at: datetime, resolved: bool) -> ArticleUse:
    """Record a past use (history import, demo data): no ticket event, counters updated."""
    use = ArticleUse(article_id=article.id, ticket_id=ticket.id, user_id=user_id,
                     created_at=at, is_resolution=resolved)
    session.add(use)
    if resolved:
        last = article.last_used_at
        _bump(session, article, use_count=1, last_used_at=max(at, last) if last else at)
        enqueue(session, article.id, OutboxOp.upsert, at)
    session.flush()
    return use


def is_kb_assisted_fcr(session: Session, ticket: Ticket) -> bool:
    """Resolved at first contact with a knowledge article."""
    return bool(ticket.is_first_contact_resolution) and session.scalar(
        sa.select(sa.func.count()).select_from(ArticleUse).where(
            ArticleUse.ticket_id == ticket.id, ArticleUse.is_resolution.is_(True))) > 0


def kb_assisted_fcr_clause() -> sa.ColumnElement[bool]:
    """WHERE clause on ``tickets`` for KB-assisted first-contact resolutions (reports)."""
    return sa.and_(Ticket.is_first_contact_resolution.is_(True), sa.exists().where(
        ArticleUse.ticket_id == Ticket.id, ArticleUse.is_resolution.is_(True)))


def articles_for_ticket(session: Session, ticket: Ticket) -> list[ArticleUse]:
    """Articles linked to a ticket, oldest link first."""
    return list(session.scalars(sa.select(ArticleUse).where(ArticleUse.ticket_id == ticket.id)
                                .order_by(ArticleUse.id)))


# --- counters, votes, must-read -------------------------------------------------------------

def _bump(session: Session, article: Article, **values: Any) -> None:
    """Counter updates in SQL (``n = n + 1``) that leave the optimistic-lock version alone, so
    readers and voters never make an editor's save fail."""
    assignments = {}
    for name, value in values.items():
        column = getattr(Article, name)
        assignments[name] = column + value if isinstance(value, int) else value
    session.execute(sa.update(Article).where(Article.id == article.id).values(**assignments)
                    .execution_options(synchronize_session=False))
    session.expire(article, list(values))


def record_view(session: Session, article: Article, *, actor: User, now: datetime) -> None:
    """Count one view (not part of ranking, so not re-indexed)."""
    _bump(session, article, view_count=1)


def vote(session: Session, article: Article, *, actor: User, helpful: Any,
         now: datetime) -> ArticleVote:
    """Record ``actor``'s helpful / not helpful vote; a second vote replaces the first."""
    if not isinstance(helpful, bool):
        raise ValidationError("helpful must be true or false.", field="helpful")
    if article.status is not S.published:
        raise ValidationError("Only published articles can be voted on.", field="article_id")
    existing = session.scalar(sa.select(ArticleVote).where(
        ArticleVote.article_id == article.id, ArticleVote.user_id == actor.id))
    if existing is not None and existing.is_helpful == helpful:
        return existing
    delta = {"helpful_count": 0, "unhelpful_count": 0}
    if existing is not None:
        delta["helpful_count" if existing.is_helpful else "unhelpful_count"] -= 1
        existing.is_helpful, existing.created_at = helpful, now
        row = existing
    else:
        row = ArticleVote(article_id=article.id, user_id=actor.id, is_helpful=helpful,
                          created_at=now)
        if not _add_unique(session, row):
            raise Conflict("Your vote on this article was recorded at the same moment from "
                           "elsewhere; reload and vote again.")
    delta["helpful_count" if helpful else "unhelpful_count"] += 1
    _bump(session, article, **delta)
    enqueue(session, article.id, OutboxOp.upsert, now)
    session.flush()
    return row


def must_read_targets_clause(article: Article) -> sa.ColumnElement[bool]:
    """WHERE clause on ``users``: who must read ``article`` (its groups' members, or every
    active agent, expert and manager when it names no group)."""
    active = User.is_active_account.is_(True)
    if article.must_read_groups:
        group_ids = [g.id for g in article.must_read_groups]
        return sa.and_(active, User.groups.any(Group.id.in_(group_ids)))
    return sa.and_(active, User.role.in_([Role.agent, Role.expert, Role.manager]))


def _is_target(session: Session, article: Article, user: User) -> bool:
    return session.scalar(sa.select(sa.func.count()).select_from(User).where(
        User.id == user.id, must_read_targets_clause(article))) > 0


def acknowledge(session: Session, article: Article, *, actor: User,
                now: datetime) -> MustReadAck:
    """``actor`` has read the current published revision of a must-read article
    (idempotent)."""
    if not (article.is_must_read and article.status is S.published):
        raise ValidationError("This article is not a must-read broadcast.", field="article_id")
    ack = session.scalar(sa.select(MustReadAck).where(
        MustReadAck.article_id == article.id, MustReadAck.user_id == actor.id,
        MustReadAck.revision == article.published_revision))
    if ack is None:
        ack = MustReadAck(article_id=article.id, user_id=actor.id,
                          revision=article.published_revision, acknowledged_at=now)
        if not _add_unique(session, ack):  # a double click from two tabs: already done
            return session.scalar(sa.select(MustReadAck).where(
                MustReadAck.article_id == article.id, MustReadAck.user_id == actor.id,
                MustReadAck.revision == article.published_revision))
    return ack


def _acked(user_id_column) -> sa.ColumnElement[bool]:
    return sa.exists().where(MustReadAck.article_id == Article.id,
                             MustReadAck.user_id == user_id_column,
                             MustReadAck.revision == Article.published_revision)


def must_read_feed(session: Session, user: User) -> list[Article]:
    """Published must-read articles targeted to ``user`` that they have not acknowledged
    (current revision), newest first."""
    if not user.is_staff:
        return []
    candidates = session.scalars(
        sa.select(Article).where(Article.is_must_read.is_(True),
                                 Article.status == S.published, ~_acked(user.id))
        .options(selectinload(Article.must_read_groups))  # one query, not one per article
        .order_by(Article.published_at.desc(), Article.id.desc())).all()
    member_of = {g.id for g in user.groups}
    return [a for a in candidates
            if (not a.must_read_groups and user.role in (Role.agent, Role.expert,
                                                         Role.manager))
            or any(g.id in member_of for g in a.must_read_groups)]


def not_acknowledged(session: Session, article: Article) -> list[User]:
    """Targeted users who have not acknowledged the current revision, by name."""
    if not article.is_must_read or article.status is not S.published:
        return []
    acked = sa.select(MustReadAck.user_id).where(
        MustReadAck.article_id == article.id,
        MustReadAck.revision == article.published_revision)
    return list(session.scalars(sa.select(User).where(
        must_read_targets_clause(article), User.id.not_in(acked)).order_by(User.name)))


# --- portal self-service ---------------------------------------------------------------------

def log_portal_search(session: Session, *, requester: User, query: Any, results_count: int,
                      now: datetime) -> PortalSearch:
    """Keep a requester's self-service search (managers read what is searched and not found)."""
    query = clean_text(query, "q", required=True, max_len=QUERY_MAX)
    row = PortalSearch(requester=requester, query=query, results_count=int(results_count),
                       created_at=now)
    session.add(row)
    session.flush()
    return row


def mark_deflected(session: Session, search: PortalSearch, article: Article, *,
                   requester: User, now: datetime) -> PortalSearch:
    """"This solved it": the search needed no ticket; counted once, on the requester's own
    search, with a public published article."""
    if search.requester_id != requester.id:
        raise NotFound(f"Search {search.id} not found.")
    if not permissions.can_view_article(requester, article) or article.status is not S.published:
        raise ValidationError("No such public article.", field="article_id")
    if not search.is_deflected:
        search.is_deflected = True
        search.article_id = article.id
        search.deflected_at = now
        session.flush()
    return search


# --- search (read side) ---------------------------------------------------------------------

def searchable_filters(user: User, statuses: Iterable[str] | None = None) -> dict[str, Any]:
    """Index filters for ``user``: requesters and vendors see public published articles,
    agents published ones, editors any status they ask for (published by default)."""
    if not user.is_staff:
        return {"audience": ["public"], "statuses": ["published"]}
    if permissions.can_review_articles(user) and statuses:
        return {"statuses": [getattr(s, "value", s) for s in statuses]}
    return {"statuses": ["published"]}


def search(session: Session, user: User, query: str, *, now: datetime, page: int = 1,
           limit: int = 10, statuses: Iterable[str] | None = None,
           service_names: Iterable[str] | None = None, languages: Iterable[str] | None = None,
           known_errors_only: bool = False):
    """Ranked, highlighted articles ``user`` may read (``indexing.SearchOutcome``)."""
    from servicedesk.knowledge.indexing import query_index

    filters = searchable_filters(user, statuses)
    return query_index(
        session,
        lambda index: index.search(query, now=now, page=page, limit=limit,
                                   services=service_names, languages=languages,
                                   known_errors_only=known_errors_only, **filters),
        now=now, visible=lambda a: permissions.can_view_article(user, a))


def suggest(session: Session, user: User, text: str, *, now: datetime,
            service_id: int | None = None, ticket: Ticket | None = None, limit: int = 5):
    """Published articles for the text of a ticket being typed, preferring its service and
    leaving out articles already linked to ``ticket``."""
    from servicedesk.knowledge.indexing import query_index

    prefer = []
    if service_id is not None:
        service = session.get(Service, service_id)
        if service is None:
            raise ValidationError(f"No service with id {service_id}.", field="service_id")
        prefer = [service.name]
    linked = [u.article_id for u in articles_for_ticket(session, ticket)] if ticket else []
    filters = searchable_filters(user)
    return query_index(
        session,
        lambda index: index.suggest(text, now=now, limit=limit, prefer_services=prefer,
                                    exclude_ids=linked, **filters),
        now=now, visible=lambda a: permissions.can_view_article(user, a))


# --- reading articles -----------------------------------------------------------------------

def can_publish(user: User, article: Article) -> bool:
    """Whether ``publish`` would accept ``user`` for ``article`` now (for buttons)."""
    return (permissions.can_review_articles(user) and article.author_id != user.id
            and S.published in TRANSITIONS[article.status])


def visible_articles_clause(user: User) -> sa.ColumnElement[bool]:
    """WHERE clause on ``articles`` matching ``permissions.can_view_article``."""
    if permissions.can_review_articles(user):
        return sa.true()
    if user.is_staff:
        return sa.or_(Article.status == S.published, Article.author_id == user.id)
    return sa.and_(Article.status == S.published, Article.audience == Audience.public)


@dataclass(frozen=True)
class Page:
    items: list
    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def list_articles(session: Session, user: User, *, statuses: Iterable[Any] = (),
                  mine: bool = False, page: int = 1, per_page: int = 25) -> Page:
    """Articles ``user`` may read, latest change first."""
    query = sa.select(Article).where(visible_articles_clause(user))
    statuses = [ArticleStatus(getattr(s, "value", s)) for s in statuses]
    if statuses:
        query = query.where(Article.status.in_(statuses))
    if mine:
        query = query.where(Article.author_id == user.id)
    total = session.scalar(sa.select(sa.func.count()).select_from(query.subquery()))
    items = list(session.scalars(query.order_by(Article.updated_at.desc(), Article.id.desc())
                                 .limit(per_page).offset((page - 1) * per_page)))
    return Page(items=items, page=page, per_page=per_page, total=total)


def get_version(article: Article, number: Any, field: str = "number") -> ArticleVersion:
    for version in article.versions:
        if version.number == number:
            return version
    raise ValidationError(f"{article.number} has no version {number}.", field=field)


def diff_versions(article: Article, old: int, new: int) -> str:
    """Unified diff of two versions' text (title, symptoms, cause, resolution, body, tags)."""
    a, b = get_version(article, old, "from"), get_version(article, new, "to")

    def lines(v: ArticleVersion) -> list[str]:
        out = []
        for name in TEXT_FIELDS:
            out.append(f"## {name}")
            out.extend((getattr(v, name) or "").splitlines())
        out.append("## tags")
        out.append(", ".join(v.tags or []))
        return out

    return "\n".join(difflib.unified_diff(lines(a), lines(b), f"version {old}",
                                          f"version {new}", lineterm=""))
