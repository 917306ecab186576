"""Read side of the knowledge base for the pages: who searches what, panels, diffs.

Searches go through ``services.search`` / ``services.suggest`` (role filters, "rebuilding"
when the index cannot be read, only hits the user may see in the database). Nothing here
writes.
"""
from __future__ import annotations

import difflib
import html
import re
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from markupsafe import Markup, escape
from sqlalchemy.orm import Session

from servicedesk.accounts import permissions
from servicedesk.accounts.models import Role, User
from servicedesk.catalog.models import Service
from servicedesk.knowledge import problems, services
from servicedesk.knowledge.indexing import SearchOutcome
from servicedesk.knowledge.models import (
    Article, ArticleStatus, ArticleUse, ArticleVersion, ArticleVote, Audience,
)
from servicedesk.knowledge.services import TEXT_FIELDS, articles_for_ticket, must_read_feed
from servicedesk.tickets.models import Ticket

SUGGEST_LIMIT = 5
PANEL_LIMIT = 5


def can_use_knowledge(user: User) -> bool:
    """Knowledge pages are for staff and requesters; vendor users have none."""
    return user.is_staff or user.role is Role.requester


# --- ticket page ----------------------------------------------------------------------------

@dataclass
class TicketPanel:
    """The knowledge panel of a ticket page."""

    linked: list[ArticleUse]
    known_errors: list[Article]
    suggested: SearchOutcome | None
    #: Suggested articles not shown again (already listed as known errors).
    skip: set[int] = field(default_factory=set)
    can_draft: bool = False
    can_link: bool = False
    resolved_with: set[int] = field(default_factory=set)

    @property
    def suggestions(self) -> list[tuple]:
        """(hit, article) of the suggested articles to show."""
        if self.suggested is None:
            return []
        pairs = [(h, self.suggested.articles[h.id]) for h in self.suggested.hits
                 if h.id not in self.skip]
        return pairs[:PANEL_LIMIT]


def ticket_panel(session: Session, user: User, ticket: Ticket, *, now: datetime) -> TicketPanel:
    """Linked articles, the service's known errors and suggestions from the ticket's text
    (excluding what is already linked or listed as a known error)."""
    linked = articles_for_ticket(session, ticket)
    known = [a for a in problems.known_errors_for_service(session, ticket.service_id)
             if permissions.can_view_article(user, a)][:PANEL_LIMIT]
    suggested = services.suggest(session, user, f"{ticket.title}\n{ticket.description}",
                                 now=now, service_id=ticket.service_id, ticket=ticket,
                                 limit=PANEL_LIMIT + len(known))
    return TicketPanel(
        linked=linked, known_errors=known, suggested=suggested,
        skip={a.id for a in known},
        can_draft=permissions.can_review_articles(user) and ticket.status.value in (
            "resolved", "closed"),
        can_link=permissions.can_edit_ticket(user) and ticket.is_open,
        resolved_with={use.article_id for use in linked if use.is_resolution})


# --- article page ---------------------------------------------------------------------------

def my_vote(session: Session, user: User, article: Article) -> bool | None:
    """``user``'s current vote on ``article`` (True helpful, False not, None no vote)."""
    return session.scalar(sa.select(ArticleVote.is_helpful).where(
        ArticleVote.article_id == article.id, ArticleVote.user_id == user.id))


def must_read_pending(session: Session, user: User, article: Article) -> bool:
    """Whether ``article`` waits for ``user``'s acknowledgement."""
    return any(a.id == article.id for a in must_read_feed(session, user))


def popular(session: Session, user: User, limit: int = 10) -> list[Article]:
    """The published articles ``user`` may read that resolved the most tickets, most recently
    used first among equals (the search page before anything is typed)."""
    query = sa.select(Article).where(Article.status == ArticleStatus.published)
    if not user.is_staff:
        query = query.where(Article.audience == Audience.public)
    return list(session.scalars(query.order_by(
        Article.use_count.desc(), Article.last_used_at.desc().nulls_last(),
        Article.helpful_count.desc(), Article.id).limit(limit)))


def used_on(session: Session, article: Article, limit: int = 10) -> list[ArticleUse]:
    """The latest tickets the article was linked to or resolved (staff see them)."""
    return list(session.scalars(sa.select(ArticleUse).where(
        ArticleUse.article_id == article.id).order_by(ArticleUse.id.desc()).limit(limit)))


def must_read_articles(session: Session) -> list[Article]:
    """Published must-read articles, newest first (the managers' acknowledgement page)."""
    return list(session.scalars(sa.select(Article).where(
        Article.is_must_read.is_(True), Article.status == ArticleStatus.published)
        .order_by(Article.published_at.desc(), Article.id.desc())))


def service_names(session: Session) -> list[str]:
    return list(session.scalars(sa.select(Service.name).where(Service.is_active.is_(True))
                                .order_by(Service.name)))


def article_language_choices(session: Session) -> list[str]:
    rows = session.scalars(sa.select(Article.language).distinct().order_by(Article.language))
    return sorted({"en", "zh", *rows})


# --- versions and diffs -------------------------------------------------------------------

@dataclass(frozen=True)
class FieldDiff:
    """One field's change between two versions: ``rows`` of (kind, old_html, new_html)."""

    name: str
    changed: bool
    html: Markup


def version_pair(article: Article, old: int | None,
                 new: int | None) -> tuple[ArticleVersion, ArticleVersion] | None:
    """The two versions to compare (default: the previous and the latest); None if the
    article has a single version. Unknown numbers fall back to the defaults."""
    versions = {v.number: v for v in article.versions}
    if len(versions) < 2:
        return None
    numbers = sorted(versions)
    new_v = versions.get(new) or versions[numbers[-1]]
    old_v = versions.get(old) if old in versions and old != new_v.number else None
    if old_v is None:
        earlier = [n for n in numbers if n < new_v.number]
        old_v = versions[earlier[-1]] if earlier else versions[numbers[0]]
        if old_v is new_v:
            old_v = versions[numbers[1]]
    return old_v, new_v


def diff_versions(old: ArticleVersion, new: ArticleVersion) -> list[FieldDiff]:
    """Word-level differences per field, as escaped HTML with <del>/<ins> marks."""
    result = []
    for name in (*TEXT_FIELDS, "tags"):
        before, after = getattr(old, name), getattr(new, name)
        if name == "tags":
            before, after = ", ".join(before or []), ", ".join(after or [])
        result.append(FieldDiff(name=name, changed=(before or "") != (after or ""),
                                html=word_diff(before or "", after or "")))
    return result


_TOKEN_RE = re.compile(r"\s+|[\u3400-\u4dbf\u4e00-\u9fff]|[^\s\u3400-\u4dbf\u4e00-\u9fff]+")


def word_diff(before: str, after: str) -> Markup:
    """``after`` with words removed since ``before`` in <del> and added ones in <ins>
    (Chinese compared character by character); all text escaped."""
    a, b = _TOKEN_RE.findall(before), _TOKEN_RE.findall(after)
    out = []
    matcher = difflib.SequenceMatcher(a=a, b=b, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            out.append(escape("".join(a[i1:i2])))
            continue
        if i2 > i1:
            out.append(Markup("<del>{}</del>").format("".join(a[i1:i2])))
        if j2 > j1:
            out.append(Markup("<ins>{}</ins>").format("".join(b[j1:j2])))
    return Markup("").join(out)


# --- highlighted snippets -----------------------------------------------------------------

_MARK_RE = re.compile(r"(</?mark>)")


def safe_highlight(snippet_html: str | None) -> Markup:
    """kb's highlighted snippet made safe whatever it contains: every piece of text between
    ``<mark>``/``</mark>`` tags is unescaped and escaped again, so only those two tags survive
    and an already escaped text stays exactly as it was."""
    if not snippet_html:
        return Markup("")
    pieces, open_marks = [], 0
    for piece in _MARK_RE.split(snippet_html):
        if piece == "<mark>" and open_marks == 0:
            pieces.append(piece)
            open_marks = 1
        elif piece == "</mark>" and open_marks == 1:
            pieces.append(piece)
            open_marks = 0
        elif piece not in ("<mark>", "</mark>"):
            pieces.append(str(escape(html.unescape(piece))))
    if open_marks:
        pieces.append("</mark>")
    return Markup("".join(pieces))
