"""Knowledge-base records: articles with their versions, uses, votes and must-read
acknowledgements; the index outbox; problems; portal searches (self-service deflection).

The database is the source of truth; the Whoosh index (``kb/``) is derived from it through
``IndexOutbox`` rows written in the same transaction as each article change.
"""
from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from servicedesk.db import UTCDateTime, enum_column
from servicedesk.extensions import db


class ArticleStatus(str, enum.Enum):
    draft = "draft"
    in_review = "in_review"
    published = "published"
    retired = "retired"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ")


class Audience(str, enum.Enum):
    #: Staff only.
    internal = "internal"
    #: Also requesters (portal self-service) and vendor users.
    public = "public"


class OutboxOp(str, enum.Enum):
    upsert = "upsert"
    delete = "delete"
    #: Rebuild the whole index from the database (asked for when the index is unreadable).
    rebuild = "rebuild"


class ProblemStatus(str, enum.Enum):
    open = "open"
    known_error = "known_error"
    resolved = "resolved"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ")


article_services = sa.Table(
    "article_services",
    db.metadata,
    sa.Column("article_id", sa.ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("service_id", sa.ForeignKey("services.id", ondelete="CASCADE"), primary_key=True),
)

#: Groups a must-read article is pushed to (none: every agent, expert and manager).
article_must_read_groups = sa.Table(
    "article_must_read_groups",
    db.metadata,
    sa.Column("article_id", sa.ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("group_id", sa.ForeignKey("groups.id", ondelete="CASCADE"), primary_key=True),
)

problem_incidents = sa.Table(
    "problem_incidents",
    db.metadata,
    sa.Column("problem_id", sa.ForeignKey("problems.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("ticket_id", sa.ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True,
              index=True),
)


class Article(db.Model):
    """A knowledge article; every edit also writes an ArticleVersion."""

    __tablename__ = "articles"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(sa.String(200))
    symptoms: Mapped[str] = mapped_column(sa.Text, default="")
    cause: Mapped[str] = mapped_column(sa.Text, default="")
    #: The fix or workaround the desk applies.
    resolution: Mapped[str] = mapped_column(sa.Text, default="")
    body: Mapped[str] = mapped_column(sa.Text, default="")
    #: Lower-case labels, e.g. ["printer", "gate"].
    tags: Mapped[list] = mapped_column(sa.JSON, default=list)
    #: "en", "zh", ...
    language: Mapped[str] = mapped_column(sa.String(8), default="en")
    audience: Mapped[Audience] = mapped_column(enum_column(Audience), default=Audience.internal)
    status: Mapped[ArticleStatus] = mapped_column(enum_column(ArticleStatus),
                                                  default=ArticleStatus.draft)
    author_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    #: Who published it (an expert or manager, not the author: see services.publish).
    reviewer_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    #: Pushed to the desk on publication until each person acknowledges it.
    is_must_read: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    is_known_error: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    problem_id: Mapped[int | None] = mapped_column(sa.ForeignKey("problems.id"), index=True)
    #: The resolved ticket the article was written from.
    source_ticket_id: Mapped[int | None] = mapped_column(sa.ForeignKey("tickets.id"))
    #: Number of the ArticleVersion that was last published (must-read acks refer to it).
    published_revision: Mapped[int | None] = mapped_column(sa.Integer)
    #: Number of the latest ArticleVersion.
    revision: Mapped[int] = mapped_column(sa.Integer, default=1)
    view_count: Mapped[int] = mapped_column(sa.Integer, default=0)
    #: Times the article resolved a ticket.
    use_count: Mapped[int] = mapped_column(sa.Integer, default=0)
    helpful_count: Mapped[int] = mapped_column(sa.Integer, default=0)
    unhelpful_count: Mapped[int] = mapped_column(sa.Integer, default=0)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: Optimistic lock: bumped by every flush that changes the row.
    version: Mapped[int] = mapped_column(sa.Integer, default=1)

    author = relationship("User", foreign_keys=[author_id])
    reviewer = relationship("User", foreign_keys=[reviewer_id])
    services = relationship("Service", secondary=article_services, order_by="Service.name")
    must_read_groups = relationship("Group", secondary=article_must_read_groups,
                                    order_by="Group.name")
    problem: Mapped[Problem | None] = relationship(back_populates="articles")
    source_ticket = relationship("Ticket", foreign_keys=[source_ticket_id])
    versions: Mapped[list[ArticleVersion]] = relationship(
        back_populates="article", order_by="ArticleVersion.number",
        cascade="all, delete-orphan")

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        sa.Index("ix_articles_status_audience", "status", "audience"),
        sa.Index("ix_articles_author_status", "author_id", "status"),
        sa.CheckConstraint("view_count >= 0 AND use_count >= 0 AND helpful_count >= 0 "
                           "AND unhelpful_count >= 0", name="counters_positive"),
    )

    def __repr__(self) -> str:
        return f"<Article {self.id} {self.status.value} {self.title[:30]!r}>"

    @property
    def number(self) -> str:
        """Human reference, e.g. KB-000042."""
        return f"KB-{self.id:06d}" if self.id is not None else "KB-new"

    @property
    def is_published(self) -> bool:
        return self.status is ArticleStatus.published


class ArticleVersion(db.Model):
    """A full snapshot of an article's text after one edit (diff two to see the change)."""

    __tablename__ = "article_versions"

    id: Mapped[int] = mapped_column(primary_key=True)
    article_id: Mapped[int] = mapped_column(sa.ForeignKey("articles.id", ondelete="CASCADE"))
    #: 1, 2, 3 ... per article.
    number: Mapped[int] = mapped_column(sa.Integer)
    editor_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: Why the edit was made (optional).
    note: Mapped[str] = mapped_column(sa.String(500), default="")
    title: Mapped[str] = mapped_column(sa.String(200))
    symptoms: Mapped[str] = mapped_column(sa.Text, default="")
    cause: Mapped[str] = mapped_column(sa.Text, default="")
    resolution: Mapped[str] = mapped_column(sa.Text, default="")
    body: Mapped[str] = mapped_column(sa.Text, default="")
    tags: Mapped[list] = mapped_column(sa.JSON, default=list)

    article: Mapped[Article] = relationship(back_populates="versions")
    editor = relationship("User")

    __table_args__ = (sa.UniqueConstraint("article_id", "number",
                                          name="uq_article_versions_article_number"),)

    def __repr__(self) -> str:
        return f"<ArticleVersion {self.article_id}#{self.number}>"


class ArticleUse(db.Model):
    """An article linked to a ticket; ``is_resolution`` when the ticket was resolved with it."""

    __tablename__ = "article_uses"

    id: Mapped[int] = mapped_column(primary_key=True)
    article_id: Mapped[int] = mapped_column(sa.ForeignKey("articles.id", ondelete="CASCADE"))
    ticket_id: Mapped[int] = mapped_column(sa.ForeignKey("tickets.id", ondelete="CASCADE"),
                                           index=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: The ticket was resolved with this article (counts as a use for ranking).
    is_resolution: Mapped[bool] = mapped_column(sa.Boolean, default=False)

    article: Mapped[Article] = relationship()
    ticket = relationship("Ticket")
    user = relationship("User")

    __table_args__ = (
        sa.UniqueConstraint("article_id", "ticket_id", name="uq_article_uses_article_ticket"),
        sa.Index("ix_article_uses_article_created", "article_id", "created_at"),
    )

    def __repr__(self) -> str:
        return f"<ArticleUse article={self.article_id} ticket={self.ticket_id}>"


class ArticleVote(db.Model):
    """One helpful / not helpful vote per user and article (a new vote replaces the old)."""

    __tablename__ = "article_votes"

    id: Mapped[int] = mapped_column(primary_key=True)
    article_id: Mapped[int] = mapped_column(sa.ForeignKey("articles.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    is_helpful: Mapped[bool] = mapped_column(sa.Boolean)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (
        sa.UniqueConstraint("article_id", "user_id", name="uq_article_votes_article_user"),
    )

    def __repr__(self) -> str:
        return f"<ArticleVote article={self.article_id} user={self.user_id} {self.is_helpful}>"


class MustReadAck(db.Model):
    """A user acknowledged a published revision of a must-read article."""

    __tablename__ = "must_read_acks"

    id: Mapped[int] = mapped_column(primary_key=True)
    article_id: Mapped[int] = mapped_column(sa.ForeignKey("articles.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"),
                                         index=True)
    #: The article's ``published_revision`` that was read.
    revision: Mapped[int] = mapped_column(sa.Integer)
    acknowledged_at: Mapped[datetime] = mapped_column(UTCDateTime)

    user = relationship("User")

    __table_args__ = (
        sa.UniqueConstraint("article_id", "user_id", "revision",
                            name="uq_must_read_acks_article_user_revision"),
    )

    def __repr__(self) -> str:
        return f"<MustReadAck article={self.article_id}#{self.revision} user={self.user_id}>"


class IndexOutbox(db.Model):
    """A pending change for the search index, written in the article change's transaction.

    The indexer (``knowledge.indexing.drain``) applies rows in id order and deletes them; a
    failed attempt keeps the row with ``attempts`` and ``last_error`` for the next run.
    """

    __tablename__ = "index_outbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: None for a rebuild request.
    article_id: Mapped[int | None] = mapped_column(sa.Integer)
    op: Mapped[OutboxOp] = mapped_column(enum_column(OutboxOp))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(sa.Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    #: Not retried before this instant (backoff after failures); None: at once.
    retry_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    def __repr__(self) -> str:
        return f"<IndexOutbox {self.id} {self.op.value} article={self.article_id}>"


class Problem(db.Model):
    """The unknown (then known) cause of one or more incidents."""

    __tablename__ = "problems"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(sa.String(200))
    description: Mapped[str] = mapped_column(sa.Text, default="")
    status: Mapped[ProblemStatus] = mapped_column(enum_column(ProblemStatus),
                                                  default=ProblemStatus.open)
    root_cause: Mapped[str] = mapped_column(sa.Text, default="")
    workaround: Mapped[str] = mapped_column(sa.Text, default="")
    service_id: Mapped[int | None] = mapped_column(sa.ForeignKey("services.id"), index=True)
    created_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    known_error_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(sa.Integer, default=1)

    service = relationship("Service")
    created_by = relationship("User")
    incidents = relationship("Ticket", secondary=problem_incidents, order_by="Ticket.id")
    articles: Mapped[list[Article]] = relationship(back_populates="problem",
                                                   order_by="Article.id")

    __mapper_args__ = {"version_id_col": version}

    def __repr__(self) -> str:
        return f"<Problem {self.id} {self.status.value} {self.title[:30]!r}>"

    @property
    def number(self) -> str:
        return f"PRB-{self.id:06d}" if self.id is not None else "PRB-new"

    @property
    def known_error_article(self) -> Article | None:
        """The latest known-error article recorded for this problem."""
        known = [a for a in self.articles if a.is_known_error]
        return known[-1] if known else None


class PortalSearch(db.Model):
    """A requester's self-service search; ``is_deflected`` when an article solved it."""

    __tablename__ = "portal_searches"

    id: Mapped[int] = mapped_column(primary_key=True)
    requester_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    query: Mapped[str] = mapped_column(sa.String(256))
    results_count: Mapped[int] = mapped_column(sa.Integer)
    is_deflected: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    #: The article the requester said solved it.
    article_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("articles.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    deflected_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    requester = relationship("User")
    article = relationship("Article")

    __table_args__ = (
        sa.Index("ix_portal_searches_created_at", "created_at"),
        sa.Index("ix_portal_searches_requester_created", "requester_id", "created_at"),
    )

    def __repr__(self) -> str:
        return f"<PortalSearch {self.id} {self.query[:30]!r} deflected={self.is_deflected}>"
