"""Problem management: problems linking incidents, known errors, candidate problems.

Recording a known error writes its workaround into a known-error article (published at once
by default, see ``knowledge.services`` on the four-eyes exception) and links that article to
every linked incident, so the desk finds it on each ticket and in suggestions.

Candidate problems (``candidate_problems``): open incidents on the same service, created
within a time window, whose texts look alike are grouped for an expert to confirm.
"Look alike" is a token-overlap measure, deliberately simple and explainable: each ticket's
title + description is cut into the index's own terms (English stems, jieba words for
Chinese, stop words dropped) and two tickets are similar when the Jaccard overlap of their
term sets is at least ``min_similarity`` (default 0.3). Groups are the connected components
of that similarity graph with at least two tickets (single-link clustering), largest first.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from kb.analyzers import iter_terms
from servicedesk.accounts import permissions
from servicedesk.accounts.models import User
from servicedesk.catalog.models import Service
from servicedesk.errors import Conflict, InvalidTransition, PermissionDenied, ValidationError
from servicedesk.knowledge import services as articles
from servicedesk.knowledge.models import (
    Article, Audience, Problem, ProblemStatus, problem_incidents,
)
from servicedesk.tickets import services as tickets
from servicedesk.tickets.models import OPEN_STATUSES, EventKind, Ticket

DEFAULT_WINDOW = timedelta(days=2)
DEFAULT_MIN_SIMILARITY = 0.3
MAX_CANDIDATE_TICKETS = 2000


def _require_editor(actor: User) -> None:
    if not permissions.can_review_articles(actor):
        raise PermissionDenied("Only experts and managers manage problems.")


def _tickets(session: Session, ids: Any) -> list[Ticket]:
    return articles.load_rows(session, Ticket, ids, "incident_ids")


def list_problems(session: Session, *, statuses: Iterable[Any] = (), page: int = 1,
                  per_page: int = 25) -> articles.Page:
    """Problems, newest first, one page (``statuses`` empty: any status)."""
    query = sa.select(Problem)
    statuses = [ProblemStatus(getattr(s, "value", s)) for s in statuses]
    if statuses:
        query = query.where(Problem.status.in_(statuses))
    total = session.scalar(sa.select(sa.func.count()).select_from(query.subquery()))
    items = list(session.scalars(query.order_by(Problem.id.desc())
                                 .limit(per_page).offset((page - 1) * per_page)))
    return articles.Page(items=items, page=page, per_page=per_page, total=total)


def create_problem(session: Session, *, actor: User, now: datetime, title: Any,
                   description: Any = "", service_id: Any = None,
                   incident_ids: Any = ()) -> Problem:
    """Open a problem record, optionally linking incidents at once."""
    _require_editor(actor)
    title = articles.clean_text(title, "title", required=True, max_len=articles.TITLE_MAX)
    description = articles.clean_text(description, "description")
    service = None
    if service_id is not None:
        service = (articles.load_rows(session, Service, [service_id], "service_id") or [None])[0]
    problem = Problem(title=title, description=description, service=service,
                      created_by=actor, created_at=now, updated_at=now,
                      status=ProblemStatus.open)
    session.add(problem)
    session.flush()
    link_incidents(session, problem, incident_ids, actor=actor, now=now)
    return problem


def check_version(problem: Problem, expected_version: int | None) -> None:
    if expected_version is not None and expected_version != problem.version:
        raise Conflict(f"{problem.number} was changed by someone else since you opened it; "
                       "reload it. Nothing was saved.",
                       fields={"version": f"stale: current version is {problem.version}"})


def link_incidents(session: Session, problem: Problem, incident_ids: Any, *, actor: User,
                   now: datetime, expected_version: int | None = None) -> list[Ticket]:
    """Link incidents (idempotent); each gets a history row and, once the problem is a known
    error, its article. Returns the newly linked tickets."""
    _require_editor(actor)
    check_version(problem, expected_version)
    linked = {t.id for t in problem.incidents}
    new = [t for t in _tickets(session, incident_ids) if t.id not in linked]
    known = problem.known_error_article
    for ticket in new:
        problem.incidents.append(ticket)
        tickets.record_event(session, ticket, EventKind.linked, actor=actor, now=now,
                             field="problem", new=problem.number, body=problem.title)
        if known is not None and known.is_published:
            articles.link_article(session, ticket, known, actor=actor, now=now)
    if new:
        problem.updated_at = now
    session.flush()
    return new


def record_known_error(session: Session, problem: Problem, *, actor: User, now: datetime,
                       root_cause: Any, workaround: Any, publish: bool = True,
                       is_must_read: bool = True, audience: Any = Audience.internal,
                       expected_version: int | None = None) -> Article:
    """Known error: store root cause and workaround, write a known-error article (published
    unless ``publish`` is False; must-read by default, pushing it to the desk) and link it to
    every linked incident."""
    _require_editor(actor)
    check_version(problem, expected_version)
    if problem.status is ProblemStatus.resolved:
        raise InvalidTransition("The problem is resolved.",
                                fields={"status": "not allowed from resolved"})
    root_cause = articles.clean_text(root_cause, "root_cause", required=True)
    workaround = articles.clean_text(workaround, "workaround", required=True)
    problem.root_cause, problem.workaround = root_cause, workaround
    problem.status = ProblemStatus.known_error
    problem.known_error_at = problem.updated_at = now
    article = articles.create_article(
        session, actor=actor, now=now, title=f"Known error: {problem.title}"[:articles.TITLE_MAX],
        symptoms=problem.description, cause=root_cause, resolution=workaround,
        audience=audience, service_ids=[problem.service_id] if problem.service_id else [],
        is_known_error=True, is_must_read=bool(is_must_read), problem=problem,
        note=f"known error of {problem.number}")
    if publish:
        articles.publish(session, article, actor=actor, now=now, allow_own=True)
        for ticket in problem.incidents:
            articles.link_article(session, ticket, article, actor=actor, now=now)
    session.flush()
    return article


def resolve_problem(session: Session, problem: Problem, *, actor: User, now: datetime,
                    expected_version: int | None = None) -> Problem:
    """The root cause is removed: the problem is resolved."""
    _require_editor(actor)
    check_version(problem, expected_version)
    if problem.status is ProblemStatus.resolved:
        raise InvalidTransition("The problem is already resolved.",
                                fields={"status": "not allowed from resolved"})
    problem.status = ProblemStatus.resolved
    problem.resolved_at = problem.updated_at = now
    session.flush()
    return problem


def known_errors_for_service(session: Session, service_id: int | None) -> list[Article]:
    """Published known-error articles of a service (for the ticket page), newest first."""
    if service_id is None:
        return []
    return list(session.scalars(
        sa.select(Article).where(Article.is_known_error.is_(True),
                                 Article.status == articles.S.published,
                                 Article.services.any(Service.id == service_id))
        .order_by(Article.published_at.desc(), Article.id.desc())))


# --- candidate problems ---------------------------------------------------------------------

@dataclass(frozen=True)
class Candidate:
    """Open incidents of one service that look alike (a problem to confirm)."""

    service: Service
    tickets: list[Ticket]
    #: Mean Jaccard similarity of the linked pairs.
    similarity: float
    #: Terms shared by at least half of the tickets, most common first.
    common_terms: list[str]


def ticket_terms(ticket: Ticket) -> frozenset[str]:
    """The searchable terms of a ticket's title and description."""
    return frozenset(term for term, *_ in iter_terms(f"{ticket.title}\n{ticket.description}"))


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0


def candidate_problems(session: Session, *, now: datetime, window: timedelta = DEFAULT_WINDOW,
                       min_similarity: float = DEFAULT_MIN_SIMILARITY,
                       service_id: int | None = None) -> list[Candidate]:
    """Groups of look-alike open incidents created in the last ``window`` per service that
    are not yet linked to a problem; largest groups first."""
    if not 0 < min_similarity <= 1:
        raise ValidationError("min_similarity must be in (0, 1].", field="min_similarity")
    linked = sa.select(problem_incidents.c.ticket_id)
    query = (sa.select(Ticket).where(Ticket.status.in_(OPEN_STATUSES),
                                     Ticket.service_id.is_not(None),
                                     Ticket.created_at >= now - window,
                                     Ticket.id.not_in(linked))
             .order_by(Ticket.service_id, Ticket.id).limit(MAX_CANDIDATE_TICKETS))
    if service_id is not None:
        query = query.where(Ticket.service_id == service_id)
    by_service: dict[int, list[Ticket]] = {}
    for ticket in session.scalars(query):
        by_service.setdefault(ticket.service_id, []).append(ticket)
    found = []
    for group in by_service.values():
        found.extend(_cluster(group, min_similarity))
    return sorted(found, key=lambda c: (-len(c.tickets), -c.similarity, c.tickets[0].id))


def _cluster(group: list[Ticket], min_similarity: float) -> Iterable[Candidate]:
    terms = [ticket_terms(t) for t in group]
    parent = list(range(len(group)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    edges: dict[int, list[float]] = {}
    for i in range(len(group)):
        for j in range(i + 1, len(group)):
            similarity = jaccard(terms[i], terms[j])
            if similarity >= min_similarity:
                parent[root(i)] = root(j)
                edges.setdefault(i, []).append(similarity)
    members: dict[int, list[int]] = {}
    for i in range(len(group)):
        members.setdefault(root(i), []).append(i)
    for indexes in members.values():
        if len(indexes) < 2:
            continue
        sims = [s for i in indexes for s in edges.get(i, [])]
        counts: dict[str, int] = {}
        for i in indexes:
            for term in terms[i]:
                counts[term] = counts.get(term, 0) + 1
        common = sorted((t for t, n in counts.items() if n * 2 >= len(indexes)),
                        key=lambda t: (-counts[t], t))[:8]
        yield Candidate(service=group[indexes[0]].service,
                        tickets=[group[i] for i in indexes],
                        similarity=round(sum(sims) / len(sims), 3), common_terms=common)
