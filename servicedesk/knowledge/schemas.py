"""Knowledge API shapes: request models (strict) and response models + serializers."""
from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import pydantic
from pydantic import StrictBool

import kb
from servicedesk.accounts import permissions
from servicedesk.accounts.models import User
from servicedesk.knowledge import services
from servicedesk.knowledge.indexing import SearchOutcome
from servicedesk.knowledge.models import (
    Article, ArticleStatus, ArticleVersion, Audience, Problem, ProblemStatus,
)
from servicedesk.tickets.schemas import ServiceRef
from servicedesk.web.api import (
    MAX_ID, ApiModel, GroupRef, Id, OutModel, PageNumber, UserRef, Version, group_ref, text,
    user_ref,
)

Title = text(services.TITLE_MAX)
Text = text(services.TEXT_MAX, min_length=0)
Note = text(services.NOTE_MAX, min_length=0)
Tag = text(services.TAG_MAX)
QueryId = Annotated[int, pydantic.Field(ge=1, le=MAX_ID)]
Language = Annotated[str, pydantic.Field(strict=True, pattern=r"^[a-z]{2,3}(-[a-z0-9]{2,8})?$")]


# --- requests --------------------------------------------------------------------------------

class ArticleFieldsIn(ApiModel):
    symptoms: Text = ""
    cause: Text = ""
    resolution: Text = ""
    """The fix or workaround the desk applies."""
    body: Text = ""
    tags: Annotated[list[Tag], pydantic.Field(max_length=services.TAGS_MAX)] = []
    language: Language = "en"
    audience: Audience = Audience.internal
    """public articles are also shown to requesters in the portal."""
    service_ids: Annotated[list[Id], pydantic.Field(max_length=100)] = []
    is_must_read: StrictBool = False
    """Pushed to the desk when published, until each person acknowledges it."""
    must_read_group_ids: Annotated[list[Id], pydantic.Field(max_length=100)] = []
    """Groups it is pushed to; none: every agent, expert and manager."""
    is_known_error: StrictBool = False


class ArticleCreate(ArticleFieldsIn):
    """A new draft."""

    title: Title


class ArticleUpdate(ApiModel):
    """Change some fields of an article; send the version you read."""

    version: Version
    note: Note = ""
    """Why the change was made (kept with the version)."""
    title: Title | None = None
    symptoms: Text | None = None
    cause: Text | None = None
    resolution: Text | None = None
    body: Text | None = None
    tags: Annotated[list[Tag], pydantic.Field(max_length=services.TAGS_MAX)] | None = None
    language: Language | None = None
    audience: Audience | None = None
    service_ids: Annotated[list[Id], pydantic.Field(max_length=100)] | None = None
    is_must_read: StrictBool | None = None
    must_read_group_ids: Annotated[list[Id], pydantic.Field(max_length=100)] | None = None
    is_known_error: StrictBool | None = None

    def changes(self) -> dict:
        return {name: getattr(self, name) for name in self.model_fields_set
                if name not in ("version", "note")}


class VersionIn(ApiModel):
    """The optimistic-lock version you read (optional)."""

    version: Version | None = None


class FromTicketIn(ApiModel):
    ticket_id: Id


class UseIn(ApiModel):
    ticket_id: Id


class ResolveIn(ApiModel):
    """Resolve the ticket with this article (send the ticket version you read)."""

    ticket_id: Id
    ticket_version: Version | None = None
    notes: text(20_000) | None = None
    """Resolution notes; default: the article's number, title and resolution."""


class VoteIn(ApiModel):
    helpful: StrictBool


class SearchQuery(ApiModel):
    q: Annotated[str, pydantic.Field(max_length=kb.MAX_QUERY_LENGTH)] = ""
    """Words (English or Chinese), "phrases", AND/OR/NOT, title:/tags:/services: prefixes."""
    page: PageNumber = 1
    per_page: Annotated[int, pydantic.Field(ge=1, le=50)] = 10
    status: list[ArticleStatus] = []
    """Experts and managers only (default published)."""
    service: list[Annotated[str, pydantic.Field(max_length=120)]] = []
    """Service names; articles of any of them."""
    language: list[Language] = []
    known_errors: bool = False


class SuggestIn(ApiModel):
    """The text of a ticket being typed (title + description)."""

    text: Annotated[str, pydantic.Field(max_length=20_000)] = ""
    service_id: QueryId | None = None
    ticket_id: QueryId | None = None
    """Leave out articles already linked to this ticket."""
    limit: Annotated[int, pydantic.Field(ge=1, le=20)] = 5


class ArticleListQuery(ApiModel):
    status: list[ArticleStatus] = []
    mine: bool = False
    """Only articles you wrote."""
    page: PageNumber = 1
    per_page: Annotated[int, pydantic.Field(ge=1, le=100)] = 25


class DiffQuery(ApiModel):
    old: QueryId | None = None
    """Version number to compare from (default: the one before ``new``)."""
    new: QueryId | None = None
    """Version number to compare to (default: the latest)."""


class DeflectIn(ApiModel):
    """"This solved it": the article that answered the portal search."""

    article_id: Id


class ProblemCreate(ApiModel):
    title: Title
    description: Text = ""
    service_id: Id | None = None
    incident_ids: Annotated[list[Id], pydantic.Field(max_length=500)] = []


class IncidentsIn(ApiModel):
    incident_ids: Annotated[list[Id], pydantic.Field(min_length=1, max_length=500)]
    version: Version | None = None


class KnownErrorIn(ApiModel):
    root_cause: text(services.TEXT_MAX)
    workaround: text(services.TEXT_MAX)
    publish: StrictBool = True
    """Publish the known-error article at once (else it stays a draft for review)."""
    is_must_read: StrictBool = True
    audience: Audience = Audience.internal
    version: Version | None = None


class ProblemListQuery(ApiModel):
    status: list[ProblemStatus] = []
    page: PageNumber = 1
    per_page: Annotated[int, pydantic.Field(ge=1, le=100)] = 25


class CandidateQuery(ApiModel):
    service_id: QueryId | None = None
    window_hours: Annotated[int, pydantic.Field(ge=1, le=24 * 90)] = 48
    min_similarity: Annotated[float, pydantic.Field(gt=0, le=1)] = 0.3


# --- responses -------------------------------------------------------------------------------

class ArticleOut(OutModel):
    id: int
    number: str
    title: str
    symptoms: str
    cause: str
    resolution: str
    body: str
    tags: list[str]
    language: str
    audience: Audience
    status: ArticleStatus
    author: UserRef | None
    reviewer: UserRef | None
    services: list[ServiceRef]
    is_must_read: bool
    must_read_groups: list[GroupRef]
    is_known_error: bool
    problem_id: int | None
    source_ticket_id: int | None
    revision: int
    """Number of the latest version."""
    published_revision: int | None
    view_count: int
    use_count: int
    helpful_count: int
    unhelpful_count: int
    last_used_at: datetime | None
    created_at: datetime
    updated_at: datetime
    published_at: datetime | None
    version: int
    """Optimistic-lock version: send it back with changes."""
    can_edit: bool
    can_publish: bool


class ArticleList(OutModel):
    items: list[ArticleOut]
    page: int
    per_page: int
    total: int
    pages: int


class VersionOut(OutModel):
    number: int
    editor: UserRef | None
    created_at: datetime
    note: str
    title: str
    symptoms: str
    cause: str
    resolution: str
    body: str
    tags: list[str]


class VersionList(OutModel):
    items: list[VersionOut]


class DiffOut(OutModel):
    from_number: int
    to_number: int
    diff: str
    """Unified diff of the two versions' text."""


class HitOut(OutModel):
    id: int
    number: str
    title: str
    title_html: str
    """HTML-escaped title with matches in <mark>."""
    snippet_html: str
    """HTML-escaped excerpt with matches in <mark>."""
    resolution: str
    """The workaround, to show inline."""
    score: float
    status: str
    audience: str
    language: str
    is_known_error: bool
    tags: list[str]
    services: list[str]


class SearchOut(OutModel):
    state: Literal["ok", "rebuilding"]
    """"rebuilding": the index cannot be read now and is being rebuilt; try again shortly."""
    query: str
    corrected_query: str | None
    relaxed: bool
    """True when no article had every word and any-word matches are shown."""
    total: int
    page: int
    pages: int
    items: list[HitOut]
    search_id: int | None = None
    """Requesters: the logged portal search, to report "this solved it"."""


class UseOut(OutModel):
    article_id: int
    ticket_id: int
    is_resolution: bool
    created_at: datetime


class VoteOut(OutModel):
    article_id: int
    helpful: bool
    helpful_count: int
    unhelpful_count: int


class AckOut(OutModel):
    article_id: int
    revision: int
    acknowledged_at: datetime


class UserList(OutModel):
    items: list[UserRef]


class MustReadList(OutModel):
    items: list[ArticleOut]


class DeflectOut(OutModel):
    search_id: int
    is_deflected: bool
    article_id: int | None


class IncidentRef(OutModel):
    id: int
    number: str
    title: str
    status: str


class ProblemOut(OutModel):
    id: int
    number: str
    title: str
    description: str
    status: ProblemStatus
    root_cause: str
    workaround: str
    service: ServiceRef | None
    created_by: UserRef | None
    incidents: list[IncidentRef]
    known_error_article_id: int | None
    created_at: datetime
    updated_at: datetime
    known_error_at: datetime | None
    resolved_at: datetime | None
    version: int


class ProblemList(OutModel):
    items: list[ProblemOut]
    page: int
    per_page: int
    total: int
    pages: int


class CandidateOut(OutModel):
    service: ServiceRef
    tickets: list[IncidentRef]
    similarity: float
    common_terms: list[str]


class CandidateList(OutModel):
    items: list[CandidateOut]


# --- serializers -----------------------------------------------------------------------------

def _service(service) -> ServiceRef | None:
    return None if service is None else ServiceRef(id=service.id, name=service.name)


def article_out(article: Article, user: User) -> ArticleOut:
    return ArticleOut(
        id=article.id, number=article.number, title=article.title, symptoms=article.symptoms,
        cause=article.cause, resolution=article.resolution, body=article.body,
        tags=list(article.tags or []), language=article.language, audience=article.audience,
        status=article.status, author=user_ref(article.author),
        reviewer=user_ref(article.reviewer),
        services=[_service(s) for s in article.services], is_must_read=article.is_must_read,
        must_read_groups=[group_ref(g) for g in article.must_read_groups],
        is_known_error=article.is_known_error, problem_id=article.problem_id,
        source_ticket_id=article.source_ticket_id, revision=article.revision,
        published_revision=article.published_revision, view_count=article.view_count,
        use_count=article.use_count, helpful_count=article.helpful_count,
        unhelpful_count=article.unhelpful_count, last_used_at=article.last_used_at,
        created_at=article.created_at, updated_at=article.updated_at,
        published_at=article.published_at, version=article.version,
        can_edit=permissions.can_edit_article(user, article),
        can_publish=services.can_publish(user, article))


def version_out(version: ArticleVersion) -> VersionOut:
    return VersionOut(number=version.number, editor=user_ref(version.editor),
                      created_at=version.created_at, note=version.note, title=version.title,
                      symptoms=version.symptoms, cause=version.cause,
                      resolution=version.resolution, body=version.body,
                      tags=list(version.tags or []))


def search_out(outcome: SearchOutcome, query: str, search_id: int | None = None) -> SearchOut:
    if outcome.rebuilding:
        return SearchOut(state="rebuilding", query=query, corrected_query=None, relaxed=False,
                         total=0, page=1, pages=1, items=[], search_id=search_id)
    results = outcome.results
    items = [HitOut(id=h.id, number=outcome.articles[h.id].number, title=h.title,
                    title_html=h.title_html, snippet_html=h.snippet_html,
                    resolution=outcome.articles[h.id].resolution, score=round(h.score, 4),
                    status=h.status, audience=h.audience, language=h.language,
                    is_known_error=h.is_known_error, tags=list(h.tags),
                    services=list(h.services))
             for h in outcome.hits]
    return SearchOut(state="ok", query=results.query, corrected_query=results.corrected_query,
                     relaxed=results.relaxed, total=results.total, page=results.page,
                     pages=results.pages, items=items, search_id=search_id)


def ticket_ref(ticket) -> IncidentRef:
    return IncidentRef(id=ticket.id, number=ticket.number, title=ticket.title,
                     status=ticket.status.value)


def problem_out(problem: Problem) -> ProblemOut:
    known = problem.known_error_article
    return ProblemOut(
        id=problem.id, number=problem.number, title=problem.title,
        description=problem.description, status=problem.status, root_cause=problem.root_cause,
        workaround=problem.workaround, service=_service(problem.service),
        created_by=user_ref(problem.created_by),
        incidents=[ticket_ref(t) for t in problem.incidents],
        known_error_article_id=known.id if known else None, created_at=problem.created_at,
        updated_at=problem.updated_at, known_error_at=problem.known_error_at,
        resolved_at=problem.resolved_at, version=problem.version)
