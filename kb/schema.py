"""What an article looks like to the index: the document dataclass and the Whoosh schema.

All text of an article is indexed into **one** field, ``content``, with a weight per part
(``FIELD_WEIGHTS``)::

    title 4.0 > symptoms 2.5 > keywords (tags + services as words) 2.0 > resolution 1.5
      > body 1.0 > cause 0.8

A term's weight in an article is the sum of the weights of its occurrences, which is what BM25F
does with per-field weights (one length normalisation instead of one per field). A single field
keeps queries to one posting list per word: searching six separately boosted fields made every
query six times the work, too slow for pure-Python Whoosh at 100,000 articles. Parts are
separated by a position gap so a phrase never spans two of them. Changing the weights needs a
rebuild (bump ``SCHEMA_REVISION``).

``title`` is also indexed on its own (for ``title:`` queries). ``tags`` and ``services`` are
KEYWORD fields (lower-cased, comma-separated) for exact filtering; ``status``, ``audience`` and
``language`` are ID fields and ``is_known_error`` a BOOLEAN, all filterable. Usefulness figures
live in per-document columns (not indexed), read at query time by the ranking in
``kb.search``. The text of every part is stored for snippets.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from collections import defaultdict

from whoosh import columns, fields, formats

from kb.analyzers import ANALYZER_VERSION, MixedAnalyzer, iter_terms
from kb.errors import InvalidDocument

#: Bump when the fields change; with ANALYZER_VERSION it forms the on-disk format version.
SCHEMA_REVISION = 2
FORMAT_VERSION = f"{SCHEMA_REVISION}.{ANALYZER_VERSION}"

AUDIENCES = frozenset({"internal", "public"})

#: Weight of each part of an article in the ``content`` field.
FIELD_WEIGHTS = {
    "title": 4.0,
    "symptoms": 2.5,
    "keywords": 2.0,
    "resolution": 1.5,
    "body": 1.0,
    "cause": 0.8,
}
#: The field searched by default.
CONTENT = "content"
#: Fields a query may search (the default one and ``title:``); synonyms apply to these.
TEXT_FIELDS = (CONTENT, "title")
#: Stored text fields a snippet may be cut from, in order of preference.
SNIPPET_FIELDS = ("symptoms", "resolution", "body", "cause")
#: Positions left empty between parts, so phrases do not run from one part into the next.
PART_GAP = 100

MAX_TEXT_LENGTH = 100_000


@dataclasses.dataclass(frozen=True)
class ArticleDoc:
    """One article as the index sees it: plain values, no ORM object.

    Datetimes must be timezone-aware. ``uses`` counts times the article resolved a ticket,
    ``helpful``/``unhelpful`` are vote counts and ``last_used_at`` the latest use: together the
    usefulness signal of the ranking (see ``kb.search``).
    """

    id: int
    title: str
    symptoms: str = ""
    cause: str = ""
    resolution: str = ""
    body: str = ""
    tags: tuple[str, ...] | list[str] = ()
    services: tuple[str, ...] | list[str] = ()
    language: str = "en"
    status: str = "published"
    audience: str = "internal"
    is_known_error: bool = False
    uses: int = 0
    helpful: int = 0
    unhelpful: int = 0
    last_used_at: datetime | None = None
    updated_at: datetime | None = None

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> ArticleDoc:
        """Build a document from a dict; unknown keys are an error, missing ones take defaults."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise InvalidDocument(unknown[0], "unknown article field")
        return cls(**dict(data))


class WeightedText(fields.TEXT):
    """A text field fed with ``[(text, weight), ...]``: each part's terms count ``weight``
    times toward the term weight BM25 scores (positions and lengths count them once)."""

    def index(self, value, **kwargs):
        if isinstance(value, str):
            value = [(value, 1.0)]
        positions: dict[str, list[int]] = defaultdict(list)
        weights: dict[str, float] = defaultdict(float)
        pos = 0
        for text, weight in value:
            for term, _, _ in iter_terms(text):
                positions[term].append(pos)
                weights[term] += weight
                pos += 1
            pos += PART_GAP
        encode = self.format.encode
        for term, poslist in positions.items():
            tbytes = _TERM_BYTES.get(term)
            if tbytes is None:
                tbytes = term.encode("utf-8")
                if len(_TERM_BYTES) < 200_000:
                    _TERM_BYTES[term] = tbytes
            yield tbytes, len(poslist), weights[term], encode(poslist)


#: Encoded terms, shared: the writer's posting pool holds one per posting (millions in a
#: rebuild), so equal terms share one bytes object.
_TERM_BYTES: dict[str, bytes] = {}


def build_schema() -> fields.Schema:
    """Return the Whoosh schema of the article index."""
    text = MixedAnalyzer()
    return fields.Schema(
        id=fields.ID(stored=True, unique=True, sortable=True),
        content=WeightedText(analyzer=text),
        title=fields.TEXT(analyzer=text, stored=True),
        symptoms=fields.STORED(),
        cause=fields.STORED(),
        resolution=fields.STORED(),
        body=fields.STORED(),
        # Unstemmed words of the title, symptoms and keywords: the vocabulary for corrections.
        spell=fields.FieldType(
            formats.Existence(), analyzer=MixedAnalyzer(stem_words=False, cjk=False), scorable=False
        ),
        tags=fields.KEYWORD(stored=True, lowercase=True, commas=True),
        services=fields.KEYWORD(stored=True, lowercase=True, commas=True),
        language=fields.ID(stored=True),
        status=fields.ID(stored=True),
        audience=fields.ID(stored=True),
        is_known_error=fields.BOOLEAN(stored=True),
        uses=fields.COLUMN(columns.NumericColumn("I")),
        helpful=fields.COLUMN(columns.NumericColumn("I")),
        unhelpful=fields.COLUMN(columns.NumericColumn("I")),
        #: Seconds since the epoch, 0 = never used.
        last_used=fields.COLUMN(columns.NumericColumn("q")),
        updated=fields.COLUMN(columns.NumericColumn("q")),
    )


SCHEMA = build_schema()

#: Fields a user may name in a query ("title:vpn", "tags:printer"); status, audience and the
#: like are only reachable through the search filters, never through query syntax.
QUERY_FIELDS = TEXT_FIELDS + ("tags", "services")
QUERY_SCHEMA = fields.Schema(**{name: SCHEMA[name] for name in QUERY_FIELDS})


def _text(doc_field: str, value: Any, *, required: bool = False) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise InvalidDocument(doc_field, "must be a string")
    if required and not value.strip():
        raise InvalidDocument(doc_field, "must not be empty")
    # Lone surrogates cannot be encoded by the index; replace them instead of failing later.
    return value[:MAX_TEXT_LENGTH].encode("utf-8", "replace").decode("utf-8")


def _labels(doc_field: str, values: Any) -> list[str]:
    if values is None:
        return []
    if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
        raise InvalidDocument(doc_field, "must be a list of strings")
    labels = []
    for value in values:
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            raise InvalidDocument(doc_field, "must be a list of strings")
        label = normalise_label(str(value))
        if label and label not in labels:
            labels.append(label)
    return labels


def normalise_label(value: str) -> str:
    """Lower-case a tag or service label and drop commas (the KEYWORD separator)."""
    return " ".join(value.replace(",", " ").split()).lower()


def _count(doc_field: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidDocument(doc_field, "must be a non-negative integer")
    return min(value, 2**32 - 1)


def _epoch(doc_field: str, value: Any) -> int:
    if value is None:
        return 0
    if not isinstance(value, datetime):
        raise InvalidDocument(doc_field, "must be a datetime or None")
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidDocument(doc_field, "must be timezone-aware")
    return int(value.timestamp())


def _choice(doc_field: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip() or "," in value:
        raise InvalidDocument(doc_field, "must be a non-empty string without commas")
    return value.strip().lower()


def coerce_document(doc: ArticleDoc | Mapping[str, Any]) -> ArticleDoc:
    """Accept an ArticleDoc or a mapping of its fields; raise InvalidDocument naming the field."""
    if isinstance(doc, Mapping):
        doc = ArticleDoc.from_mapping(doc)
    elif not isinstance(doc, ArticleDoc):
        raise InvalidDocument("doc", f"expected ArticleDoc or mapping, got {type(doc).__name__}")
    return doc


def document_fields(doc: ArticleDoc) -> dict[str, Any]:
    """Validate ``doc`` and return the keyword arguments for a Whoosh ``update_document``."""
    if isinstance(doc.id, bool) or not isinstance(doc.id, int) or doc.id <= 0:
        raise InvalidDocument("id", "must be a positive integer")
    audience = _choice("audience", doc.audience)
    if audience not in AUDIENCES:
        raise InvalidDocument("audience", f"must be one of {sorted(AUDIENCES)}")
    if not isinstance(doc.is_known_error, bool):
        raise InvalidDocument("is_known_error", "must be a boolean")
    title = _text("title", doc.title, required=True)
    texts = {name: _text(name, getattr(doc, name)) for name in SNIPPET_FIELDS}
    tags = _labels("tags", doc.tags)
    services = _labels("services", doc.services)
    keywords = " ".join(tags + services)
    parts = {"title": title, "keywords": keywords, **texts}
    return {
        "id": str(doc.id),
        "content": [(parts[name], weight) for name, weight in FIELD_WEIGHTS.items() if parts[name]],
        "title": title,
        **texts,
        "spell": " ".join((title, texts["symptoms"], keywords)),
        "tags": ",".join(tags),
        "services": ",".join(services),
        "language": _choice("language", doc.language),
        "status": _choice("status", doc.status),
        "audience": audience,
        "is_known_error": doc.is_known_error,
        "uses": _count("uses", doc.uses),
        "helpful": _count("helpful", doc.helpful),
        "unhelpful": _count("unhelpful", doc.unhelpful),
        "last_used": _epoch("last_used_at", doc.last_used_at),
        "updated": _epoch("updated_at", doc.updated_at),
    }
