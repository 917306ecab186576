"""Queries, filters, ranking, snippets and typo-tolerant suggestions over the article index.

Ranking
=======
Text relevance first: Whoosh's BM25F (B=0.75, K1=1.2) scores the query against the weighted
``content`` field (``kb.schema.FIELD_WEIGHTS``: title > symptoms > keywords > resolution > body
> cause). That *text score* is multiplied by a bounded *usefulness* factor::

    age_days    = (now - last_used_at) / 1 day              (never used: recent_uses = 0)
    recent_uses = uses * 0.5 ** (age_days / USE_HALF_LIFE_DAYS)
    use_signal  = min(1, log1p(recent_uses) / log1p(USE_SATURATION))        in [0, 1]
    vote_signal = (helpful - unhelpful) / (helpful + unhelpful + 2)          in (-1, 1)
    usefulness  = 1 + W_USE * use_signal + W_VOTE * vote_signal             in (0.9, 1.35]
    final       = text_score * usefulness

with ``W_USE = 0.25``, ``W_VOTE = 0.10``, ``USE_HALF_LIFE_DAYS = 30``, ``USE_SATURATION = 50``.
``uses`` should count uses in a recent window (the application passes uses of the last
``RECENT_USE_WINDOW_DAYS``); the half-life on ``last_used_at`` then fades articles nobody
reaches for any more, so what is asked *now* rises ("seasonal re-ordering"). ``now`` is always
passed in by the caller; kb never reads the clock.

Usefulness never beats clearly better text relevance: the factor lies in
``(MIN_BOOST, MAX_BOOST] = (0.9, 1.35]``, so an article whose text score is more than
``DOMINANCE_RATIO = 1.5`` times another's always ranks above it, whatever their usage and
votes. Usefulness re-orders articles of comparable relevance. Equal final scores go to the
lower article id.

BM25F's average field length is the field's average rounded to a whole number of terms (so
that a few writes do not change the score of every document and cached postings stay valid;
it differs from the exact average by at most half a term).

How it is computed: queries made of plain terms (words, their synonyms, AND/OR; what the
search box and ``suggest`` produce) are ranked by ``kb.fastrank``: exact top N from cached,
impact-ordered postings, matches counted with bit sets, typically a few hundred documents
scored instead of every match. Other queries (phrases, NOT, ``tags:`` and other keyword
fields) go through Whoosh's matchers, where the factor is applied inside the scorer (every
term score of a document is multiplied by the document's factor, which multiplies the sum).
Both give the same hits, order and scores (``tests/kb/test_fastrank.py``); the totals of
``kb.fastrank`` are exact, Whoosh's collector may undercount large result sets slightly.
``suggest`` may multiply articles of the ticket's own services by ``PREFERRED_BOOST`` as well.

Per-candidate costs are kept small: each segment's usage columns are memoised across queries
(segments never change), and restrictions (status/audience/service/language) are sets of
allowed documents cached per segment state, not a query intersected with every search.

Queries
=======
``search`` accepts Whoosh syntax (``"phrases"``, ``AND``/``OR``/``NOT``, ``(groups)``,
``title:``/``tags:``/``services:`` prefixes); words are ANDed. Input is cleaned first (control
characters dropped, NFKC, at most ``MAX_QUERY_LENGTH`` characters) and Chinese runs are cut
into words so each word is looked up on its own. Anything the parser rejects is retried
as plain words; a query of only stop words or syntax finds nothing. Never raises on user text.
When the AND query finds nothing: misspelt words are corrected from the index's vocabulary
(``corrected_query`` says so), then the words are ORed (``relaxed``). Synonyms
(``kb.synonyms``) are expanded at query time.

``suggest`` takes the free text of the intake form (title + description), keeps its
``SUGGEST_MAX_TERMS`` rarest known terms (after correcting misspellings), ORs them and ranks the
same way, preferring the ticket's services when given. Words in more than
``SUGGEST_COMMON_SHARE`` of a large index are left out while rarer words remain: at 100,000
articles an OR with a word found in half of them scored tens of thousands of articles (seconds
per suggestion) to tell little.
"""

from __future__ import annotations

import dataclasses
import html
import math
import re
import unicodedata
import weakref
from collections import OrderedDict
from collections.abc import Iterable
from datetime import datetime

from whoosh import collectors, qparser, scoring
from whoosh.matching import DisjunctionMaxMatcher, RequireMatcher
from whoosh.query import (
    QueryError,
    And,
    AndNot,
    DisjunctionMax,
    NullQuery,
    Or,
    Query,
    Require,
    Term,
)
from whoosh.support.levenshtein import damerau_levenshtein

from kb import _whoosh, fastrank
from kb.analyzers import (
    CHINESE_STOP_WORDS,
    STOP_WORDS_ALL,
    iter_terms,
    jieba_tokenizer,
    stem,
)
from kb.schema import (
    CONTENT,
    QUERY_SCHEMA,
    SNIPPET_FIELDS,
    TEXT_FIELDS,
    normalise_label,
)
from kb.synonyms import SYNONYM_BOOST, synonym_map

# -- limits ------------------------------------------------------------------------------------

#: Longest search query kept (characters, after cleaning); the rest is dropped.
MAX_QUERY_LENGTH = 256
#: Longest intake text ``suggest`` looks at.
MAX_SUGGEST_LENGTH = 2000
#: At most this many distinct terms of the intake text are searched.
SUGGEST_MAX_TERMS = 12
#: ``suggest`` leaves out words found in more than this share of the articles (and in more
#: than SUGGEST_COMMON_MIN_DOCS of them) while rarer words remain: they say little about the
#: problem and cost most (every article holding them is scored).
SUGGEST_COMMON_SHARE = 0.05
SUGGEST_COMMON_MIN_DOCS = 500
MAX_LIMIT = 100
#: Deepest result served: page * limit beyond this returns no hits (total is still given).
MAX_RESULT_WINDOW = 1000

# -- ranking -----------------------------------------------------------------------------------

W_USE = 0.25
W_VOTE = 0.10
USE_HALF_LIFE_DAYS = 30.0
USE_SATURATION = 50
RECENT_USE_WINDOW_DAYS = 90
#: ``suggest``: articles of the ticket's own services count this much more.
PREFERRED_BOOST = 1.5
#: ``suggest``: weight of a word corrected from a misspelling, relative to a typed word.
CORRECTION_BOOST = 0.6
#: ``suggest``: words of intake text that say nothing about the problem.
INTAKE_FILLER = frozenset(
    stem(word)
    for word in """
    help issue issues problem problems work working works worked user users customer
    customers ticket say says said report reports reported agent agents urgent asap please
    thanks need needs want wants tried try still again today yesterday morning afternoon
    """.split()
)
MAX_BOOST = 1 + W_USE + W_VOTE
MIN_BOOST = 1 - W_VOTE
DOMINANCE_RATIO = MAX_BOOST / MIN_BOOST

# -- snippets ----------------------------------------------------------------------------------

SNIPPET_CHARS = 200
ELLIPSIS = "\u2026"

_CONTROL_RE = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff"
    "\ud800-\udfff\ufff0-\uffff]"
)
_SPACE_RE = re.compile(r"\s+")
_CJK_RUN_RE = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_CJK_CHAR_RE = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
# Plain alphabetic words, not field prefixes ("title:") -- the candidates for spelling fixes.
_ALPHA_WORD_RE = re.compile(r"(?<![\w:.\-'])[A-Za-z]{3,}(?![\w:.\-'])")
_SYNTAX_RE = re.compile(r"[\"'()\[\]{}^~*?:\\+!<>=]|\b(?:AND|OR|NOT|ANDNOT|ANDMAYBE|TO)\b")
_OPERATORS = frozenset({"AND", "OR", "NOT", "ANDNOT", "ANDMAYBE", "TO"})


class _RequireMatcher(RequireMatcher):
    # whoosh-reloaded 2.7.5 calls _find_next() after skipping blocks even when both sides
    # already sit on the same document, which trips an assertion in IntersectionMatcher.
    def skip_to_quality(self, minquality):
        skipped = self.a.skip_to_quality(minquality)
        a, b = self.a, self.b
        if a.is_active() and b.is_active() and a.id() != b.id():
            self.child._find_next()
        return skipped


class _Require(Require):
    """``Require`` (filter without scoring) with the block-skipping fix above."""

    matcherclass = _RequireMatcher


class _DisMaxMatcher(DisjunctionMaxMatcher):
    # whoosh-reloaded 2.7.5 scores a document with the max of *both* sides even when only one
    # side is on that document; score only the side(s) actually matching it.
    def score(self):
        a, b = self.a, self.b
        if not a.is_active():
            return b.score()
        if not b.is_active():
            return a.score()
        a_id, b_id = a.id(), b.id()
        if a_id < b_id:
            return a.score()
        if b_id < a_id:
            return b.score()
        return max(a.score(), b.score())


class _DisjunctionMax(DisjunctionMax):
    """``DisjunctionMax`` (best alternative's score, not their sum) with the fix above."""

    def _matcher(self, subs, searcher, context):
        reader = searcher.reader()
        return self._tree_matcher(
            subs,
            _DisMaxMatcher,
            searcher,
            context,
            lambda q: q.estimate_size(reader),
            tiebreak=self.tiebreak,
        )


@dataclasses.dataclass(frozen=True)
class Hit:
    """One ranked article. ``*_html`` strings are HTML-escaped except for ``<mark>`` tags."""

    id: int
    score: float
    text_score: float
    title: str
    title_html: str
    snippet_html: str
    snippet_field: str | None
    language: str
    status: str
    audience: str
    is_known_error: bool
    tags: tuple[str, ...]
    services: tuple[str, ...]


@dataclasses.dataclass(frozen=True)
class SearchResults:
    """A page of hits. ``total`` counts every match; ``corrected_query`` is set when the
    results are for a spelling-corrected query, ``relaxed`` when words were ORed."""

    hits: list[Hit]
    total: int
    page: int
    limit: int
    query: str
    corrected_query: str | None = None
    relaxed: bool = False

    @property
    def pages(self) -> int:
        return max(1, math.ceil(min(self.total, MAX_RESULT_WINDOW) / self.limit))


@dataclasses.dataclass(frozen=True)
class Filters:
    """Restrictions every hit must meet. ``None`` means "any"; an empty set matches nothing."""

    audience: frozenset[str] | None = None
    statuses: frozenset[str] | None = None
    services: frozenset[str] | None = None
    languages: frozenset[str] | None = None
    known_errors_only: bool = False
    exclude_ids: frozenset[int] = frozenset()

    @classmethod
    def build(
        cls,
        *,
        audience: Iterable[str] | None = None,
        statuses: Iterable[str] | None = None,
        services: Iterable[str] | None = None,
        languages: Iterable[str] | None = None,
        known_errors_only: bool = False,
        exclude_ids: Iterable[int] = (),
    ) -> Filters:
        def norm(values, name):
            if values is None:
                return None
            if isinstance(values, str):
                raise TypeError(f"{name} must be a collection of strings, not a string")
            return frozenset(normalise_label(str(v)) for v in values)

        return cls(
            audience=norm(audience, "audience"),
            statuses=norm(statuses, "statuses"),
            services=norm(services, "services"),
            languages=norm(languages, "languages"),
            known_errors_only=bool(known_errors_only),
            exclude_ids=frozenset(int(i) for i in exclude_ids),
        )

    @property
    def impossible(self) -> bool:
        return any(
            s is not None and not s
            for s in (self.audience, self.statuses, self.services, self.languages)
        )

    def required(self) -> Query | None:
        """The restrictions as one query (None: no restriction but the excluded ids)."""
        required = []
        for fieldname, values in (
            ("audience", self.audience),
            ("status", self.statuses),
            ("services", self.services),
            ("language", self.languages),
        ):
            if values is not None:
                terms = [Term(fieldname, v) for v in sorted(values)]
                required.append(terms[0] if len(terms) == 1 else Or(terms))
        if self.known_errors_only:
            required.append(Term("is_known_error", True))
        if not required:
            return None
        return required[0] if len(required) == 1 else And(required)

    def apply(self, q: Query, *, restrict: bool = True) -> Query:
        """``q`` with the restrictions (unless ``restrict=False``) and exclusions applied."""
        required = self.required() if restrict else None
        if required is not None:
            q = _Require(q, required)
        if self.exclude_ids:
            q = AndNot(q, Or([Term("id", str(i)) for i in sorted(self.exclude_ids)]))
        return q


# -- cleaning and parsing ----------------------------------------------------------------------


def clean_query(text: object, max_length: int = MAX_QUERY_LENGTH) -> str:
    """Normalise user text: NFKC, no control characters, single spaces, at most max_length."""
    if text is None:
        return ""
    if not isinstance(text, str):
        text = str(text)
    text = text[: max_length * 4]
    text = _CONTROL_RE.sub(" ", text)
    text = unicodedata.normalize("NFKC", text)
    text = _SPACE_RE.sub(" ", text).strip()
    if len(text) > max_length:
        cut = text[:max_length]
        # Do not leave half a word behind.
        if text[max_length].isalnum() and " " in cut:
            cut = cut.rsplit(" ", 1)[0]
        text = cut.strip()
    return text


def _segment_chinese(text: str) -> str:
    """Put spaces between Chinese words so each can match a different field."""
    tokenizer = jieba_tokenizer()

    def split(match):
        return " " + " ".join(tokenizer.cut(match.group(), HMM=True)) + " "

    return _SPACE_RE.sub(" ", _CJK_RUN_RE.sub(split, text)).strip()


def _make_parser(group) -> qparser.QueryParser:
    parser = qparser.QueryParser(CONTENT, QUERY_SCHEMA, group=group)
    # Wildcards and ranges can expand to thousands of terms: not worth their latency here.
    for plugin in (qparser.WildcardPlugin, qparser.RangePlugin, qparser.EveryPlugin):
        parser.remove_plugin_class(plugin)
    return parser


_AND_PARSER = _make_parser(qparser.AndGroup)
_OR_PARSER = _make_parser(qparser.OrGroup)


def parse_query(text: str, *, any_word: bool = False) -> Query | None:
    """Parse cleaned text into a Whoosh query with synonyms; None if nothing is searchable."""
    parser = _OR_PARSER if any_word else _AND_PARSER
    segmented = _segment_chinese(text)
    try:
        q = parser.parse(segmented)
    except Exception:  # Whoosh's parser has many failure modes; fall back to plain words.
        try:
            q = parser.parse(_SPACE_RE.sub(" ", _SYNTAX_RE.sub(" ", segmented)))
        except Exception:
            return None
    if q is None or isinstance(q, type(NullQuery)):
        return None
    return expand_synonyms(q)


def expand_synonyms(q: Query) -> Query:
    """Let each text term with synonyms also match them, at SYNONYM_BOOST of its weight."""
    synonyms = synonym_map()

    def alternatives(term: Term) -> list[Term]:
        return [
            Term(term.fieldname, other, boost=term.boost * SYNONYM_BOOST)
            for other in synonyms.get(term.text, ())
        ]

    def rewrite(node: Query) -> Query:
        if isinstance(node, Term):
            if node.fieldname in TEXT_FIELDS and node.text in synonyms:
                # Max, not sum: an article using three synonyms is not three times as relevant.
                return _DisjunctionMax([node, *alternatives(node)])
            return node
        if isinstance(node, And) and _is_cjk_word_group(node):
            # A Chinese word arrives as its sub-words plus itself (打印 印机 打印机): the
            # synonyms of the whole word (printer) replace the whole group, not one sub-word.
            whole = max(node.subqueries, key=lambda t: len(t.text))
            if whole.text in synonyms:
                return _DisjunctionMax([node, *alternatives(whole)])
            return node
        if node.is_leaf():
            return node
        return node.apply(rewrite)

    return rewrite(q)


def _is_cjk_word_group(node: And) -> bool:
    subs = node.subqueries
    if len(subs) < 2 or not all(isinstance(s, Term) for s in subs):
        return False
    if len({s.fieldname for s in subs}) != 1 or subs[0].fieldname not in TEXT_FIELDS:
        return False
    texts = [s.text for s in subs if isinstance(s.text, str)]
    if len(texts) != len(subs) or not _CJK_CHAR_RE.search(texts[0]):
        return False
    whole = max(texts, key=len)
    return all(t in whole for t in texts)


def query_terms(q: Query) -> frozenset[str]:
    """The text-field terms of a query (for highlighting)."""
    terms = set()
    for fieldname, text in q.iter_all_terms():
        if fieldname in TEXT_FIELDS and isinstance(text, str):
            terms.add(text)
    return frozenset(terms)


# -- spelling ----------------------------------------------------------------------------------


def _known(reader, term: str) -> bool:
    return reader.doc_frequency(CONTENT, term) > 0


def _best_correction(reader, word: str) -> str | None:
    # Whoosh's automaton counts a transposition ("bleu") as two edits, so allow two from four
    # letters on; candidates are then ranked by true Damerau-Levenshtein distance.
    maxdist = 1 if len(word) <= 3 else 2
    counts: dict[str, int] = {}
    for leaf, _ in reader.leaf_readers():
        try:
            candidates = list(leaf.terms_within("spell", word, maxdist, prefix=1))
        except Exception:  # a segment without spelling terms has no cursor for the field
            continue
        for candidate in candidates:
            counts[candidate] = counts.get(candidate, 0) + leaf.doc_frequency("spell", candidate)
    best = None
    for candidate, count in counts.items():
        if candidate == word or not _known(reader, stem(candidate)):
            continue
        key = (damerau_levenshtein(word, candidate), -count, candidate)
        if best is None or key < best[0]:
            best = (key, candidate)
    return best[1] if best else None


def correct_spelling(reader, text: str, ignore: frozenset[str] = frozenset()) -> str | None:
    """Return ``text`` with unknown alphabetic words replaced by the closest indexed word,
    or None if nothing needed (or could be) corrected. Words whose stem is in ``ignore``
    are left alone."""
    synonyms = synonym_map()
    pieces, last, changed = [], 0, False
    for match in _ALPHA_WORD_RE.finditer(text):
        raw = match.group()
        word = raw.lower()
        if raw in _OPERATORS or word in STOP_WORDS_ALL:
            continue
        term = stem(word)
        if term in ignore or term in synonyms or _known(reader, term):
            continue
        fix = _best_correction(reader, word)
        if fix is None:
            continue
        pieces.append(text[last : match.start()])
        pieces.append(fix)
        last = match.end()
        changed = True
    if not changed:
        return None
    pieces.append(text[last:])
    return "".join(pieces)


# -- ranking -----------------------------------------------------------------------------------


def usefulness(uses: int, helpful: int, unhelpful: int, last_used: float, now: float) -> float:
    """The usefulness factor of the module docstring (epoch seconds in, factor out)."""
    if uses > 0 and last_used > 0:
        age_days = max(0.0, now - last_used) / 86400.0
        recent = uses * 0.5 ** (age_days / USE_HALF_LIFE_DAYS)
        use_signal = min(1.0, math.log1p(recent) / math.log1p(USE_SATURATION))
    else:
        use_signal = 0.0
    vote_signal = (helpful - unhelpful) / (helpful + unhelpful + 2)
    return 1.0 + W_USE * use_signal + W_VOTE * vote_signal


def _epoch(now: datetime) -> float:
    if not isinstance(now, datetime) or now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be a timezone-aware datetime")
    return now.timestamp()


class _UsefulnessWeighting(scoring.BM25F):
    """BM25F whose every term score is multiplied by the document's usefulness factor.

    Scores sum (or take the max) over terms, so the document's final score is its text score
    times the factor. Upper bounds are scaled by the largest possible factor, which keeps
    Whoosh's block skipping exact. One instance per query (it caches factors per document).
    """

    def __init__(self, now: float, preferred: Query | None):
        super().__init__()
        self.now = now
        self.preferred = preferred
        self.top = MAX_BOOST * (PREFERRED_BOOST if preferred is not None else 1.0)
        self._segments: dict[int, _SegmentFactors] = {}

    def factors(self, searcher) -> _SegmentFactors:
        key = id(searcher.reader())
        segment = self._segments.get(key)
        if segment is None:
            segment = self._segments[key] = _SegmentFactors(searcher, self.now, self.preferred)
        return segment

    def scorer(self, searcher, fieldname, text, qf=1):
        inner = super().scorer(searcher, fieldname, text, qf=qf)
        if hasattr(inner, "avgfl"):  # the rounded average, as kb.fastrank uses
            inner.avgfl = fastrank.rounded_average(searcher, fieldname)
        return _UsefulnessScorer(inner, self.factors(searcher), self.top)


#: Usage columns of recently used segments: segment key -> {docnum: (uses, helpful,
#: unhelpful, last_used)}, or the factor itself for a document never used (it does not
#: depend on the time then). Segments are immutable, so their values never go stale; reading
#: four Whoosh columns per scored document was a third of a query's time.
_SEGMENT_USAGE: OrderedDict[tuple, dict[int, tuple]] = OrderedDict()
_SEGMENT_USAGE_MAX = 64
_USAGE_COLUMNS = ("uses", "helpful", "unhelpful", "last_used")


#: The same segments' usage columns, each read whole into an array (``_whoosh.numeric_column``):
#: a document's figures are then four array lookups instead of four file reads.
_SEGMENT_COLUMNS: OrderedDict[tuple, list] = OrderedDict()


def _segment_key(reader) -> tuple | None:
    segment = getattr(reader, "segment", lambda: None)()
    return None if segment is None else (segment.segment_id(), reader.doc_count_all())


def _bounded(memo: OrderedDict, key, build):
    value = memo.get(key)
    if value is None:
        value = memo[key] = build()
        while len(memo) > _SEGMENT_USAGE_MAX:
            memo.popitem(last=False)
    return value


def _segment_usage(reader) -> dict[int, tuple]:
    """The (shared, growing) memo of one segment's usage columns."""
    key = _segment_key(reader)
    if key is None:  # not a plain segment reader: do not share
        return {}
    return _bounded(_SEGMENT_USAGE, key, dict)


def _usage_columns(reader) -> list:
    """The usage columns of a segment, indexable by docnum: whole arrays where they could be
    read so (kept per segment), else Whoosh's column readers."""

    def read():
        arrays = [_whoosh.numeric_column(reader, n) for n in _USAGE_COLUMNS]
        return [reader.column_reader(n) if a is None else a
                for n, a in zip(_USAGE_COLUMNS, arrays)]

    key = _segment_key(reader)
    return read() if key is None else _bounded(_SEGMENT_COLUMNS, key, read)


class _SegmentFactors:
    """Usefulness factors of one segment's documents (segment-local docnums), memoised."""

    def __init__(self, searcher, now: float, preferred: Query | None):
        self.reader = searcher.reader()
        self.columns = None
        self.usage = _segment_usage(self.reader)
        self.now = now
        self.preferred = (
            frozenset(searcher.docs_for_query(preferred)) if preferred is not None else ()
        )
        self.cache: dict[int, float] = {}

    def _load(self, docnum: int):
        """The memo entry of a document: its factor if it does not depend on the time (never
        used: votes only), else its raw usage figures."""
        if self.columns is None:
            self.columns = _usage_columns(self.reader)
        raw = tuple(c[docnum] for c in self.columns)
        entry = raw if raw[0] > 0 and raw[3] > 0 else usefulness(*raw, 0.0)
        self.usage[docnum] = entry
        return entry

    def __call__(self, docnum: int) -> float:
        factor = self.cache.get(docnum)
        if factor is None:
            entry = self.usage.get(docnum)
            if entry is None:
                entry = self._load(docnum)
            factor = entry if entry.__class__ is float else usefulness(*entry, self.now)
            if docnum in self.preferred:
                factor *= PREFERRED_BOOST
            self.cache[docnum] = factor
        return factor


class _UsefulnessScorer(scoring.BaseScorer):
    def __init__(self, inner, factors: _SegmentFactors, top: float):
        self.inner = inner
        self.factors = factors
        self.top = top

    def supports_block_quality(self):
        return self.inner.supports_block_quality()

    def score(self, matcher):
        return self.inner.score(matcher) * self.factors(matcher.id())

    def max_quality(self):
        return self.inner.max_quality() * self.top

    def block_quality(self, matcher):
        return self.inner.block_quality(matcher) * self.top


#: A restriction that keeps at least this share of the index is checked per candidate against
#: a cached set of allowed documents; a narrower one is intersected with the query instead
#: (then walking the filter's own postings is the cheaper way).
BROAD_FILTER_SHARE = 0.2
#: Whoosh's block-quality skipping. Off: on this data it skipped little (common words have
#: similar bounds in every block) and it forces a second full pass to count the matches,
#: which cost a third of an AND query at 100,000 articles; one pass scores and counts.
USE_BLOCK_QUALITY = False
#: Rank plain term queries with ``kb.fastrank`` (same results, a fraction of the work).
USE_FAST_RANKING = True
_FILTER_SETS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _allowed_docs(searcher, filters: Filters) -> set[int] | None:
    """Global docnums meeting a broad restriction, cached per searcher (the index at one
    moment); None when the restriction is narrow or absent (see BROAD_FILTER_SHARE)."""
    required = filters.required()
    if required is None:
        return None
    key = (filters.audience, filters.statuses, filters.services, filters.languages,
           filters.known_errors_only)
    cache = _FILTER_SETS.setdefault(searcher, {})
    if key not in cache:
        docs = set(searcher.docs_for_query(required))  # never changed after this
        cache[key] = docs if len(docs) >= BROAD_FILTER_SHARE * searcher.doc_count_all() \
            else None
    return cache[key]


def _top_collector(window: int, allow: set[int] | None, usequality: bool = True):
    # A few more than needed, so that exactly equal scores can be ordered by article id.
    top = collectors.TopCollector(limit=window + max(window, 10), usequality=usequality)
    return top if allow is None else collectors.FilterCollector(top, allow=allow)


def _ranked(searcher, q: Query, now: float, window: int, preferred: Query | None = None,
            filters: Filters | None = None):
    """Return ([(final, text, id, docnum)] best first, at most ``window`` long, total)."""
    reader = searcher.reader()
    if not reader.doc_count():
        return [], 0
    filters = filters or Filters()
    if USE_FAST_RANKING:
        fast = _fast_ranked(searcher, q, now, window, preferred, filters)
        if fast is not None:
            return fast
    return _whoosh_ranked(searcher, q, now, window, preferred, filters)


def _leaves(searcher):
    if searcher.subsearchers is None:
        return [(searcher, 0)]
    return list(searcher.subsearchers)


_LEAF_FILTERS: OrderedDict[tuple, tuple[int, set[int], int]] = OrderedDict()
_LEAF_FILTERS_MAX = 128


def _leaf_allowed(leaf, seg_key, filters: Filters) -> tuple[set[int], int]:
    """Local docnums of one segment meeting the restrictions (deleted ones left out), as a
    set and a bit set; cached per segment and restriction. A segment's documents never
    change, they can only be deleted: after a write the cached set loses the deleted ones."""
    reader = leaf.reader()
    key = (seg_key, filters.audience, filters.statuses, filters.services, filters.languages,
           filters.known_errors_only)
    live = reader.doc_count()
    found = _LEAF_FILTERS.get(key)
    if found is None:
        required = filters.required()
        docs = set(reader.all_doc_ids() if required is None else leaf.docs_for_query(required))
        found = (live, docs, fastrank.bits_of(docs))
    elif found[0] != live:
        gone = found[1].intersection(reader.deleted_docs_set)
        found = (live, found[1] - gone, found[2] & ~fastrank.bits_of(gone))
    _LEAF_FILTERS[key] = found
    _LEAF_FILTERS.move_to_end(key)
    while len(_LEAF_FILTERS) > _LEAF_FILTERS_MAX:
        _LEAF_FILTERS.popitem(last=False)
    return found[1], found[2]


def _fast_ranked(searcher, q, now, window, preferred, filters):
    """``_ranked`` by ``kb.fastrank`` (same scores); None if it cannot run this query."""
    tree = fastrank.compile_query(q, TEXT_FIELDS)
    if tree is None:
        return None
    leaves = _leaves(searcher)
    keys = [fastrank.segment_key(leaf.reader()) for leaf, _ in leaves]
    if None in keys:
        return None
    terms = list(tree.terms())
    weights = {id(t): searcher.idf(t.fieldname, t.text) for t in terms}
    averages = {name: fastrank.rounded_average(searcher, name)
                for name in {t.fieldname for t in terms}}
    weighting = _UsefulnessWeighting(now, preferred)
    plain = _UsefulnessWeighting(now, None) if preferred is not None else weighting
    # Impact lists include each document's usefulness; only the service preference is not.
    max_factor = PREFERRED_BOOST if preferred is not None else 1.0
    rows, total = [], 0
    for (leaf, offset), seg_key in zip(leaves, keys):
        reader = leaf.reader()
        usefulness_at = plain.factors(leaf)
        data = {id(t): fastrank.term_data(reader, seg_key, t.fieldname, t.text,
                                          averages[t.fieldname], now, usefulness_at)
                for t in terms}
        allowed, allowed_bits = _leaf_allowed(leaf, seg_key, filters)
        if filters.exclude_ids:
            excluded = set(leaf.docs_for_query(
                Or([Term("id", str(i)) for i in sorted(filters.exclude_ids)])))
            if excluded:
                allowed = allowed - excluded
                allowed_bits &= ~fastrank.bits_of(excluded)
        ids_of = fastrank.article_ids(reader, seg_key).__getitem__
        best, count = fastrank.rank_segment(
            tree, data, weights, allowed, allowed_bits, weighting.factors(leaf), max_factor,
            window, ids_of, factor_cap=MAX_BOOST * max_factor)
        total += count
        rows.extend((final, text, ids_of(d), offset + d) for final, text, d in best)
    rows.sort(key=lambda r: (-r[0], r[2]))
    return rows[:window], total


def _whoosh_ranked(searcher, q, now, window, preferred, filters):
    """``_ranked`` by Whoosh's matchers: any query."""
    reader = searcher.reader()
    allow = _allowed_docs(searcher, filters)
    q = filters.apply(q, restrict=allow is None)
    weighting = _UsefulnessWeighting(now, preferred)
    collector = _top_collector(window, allow, usequality=USE_BLOCK_QUALITY)
    context = searcher.context(weighting=weighting)
    try:
        searcher.search_with_collector(q, collector, context=context)
    except AssertionError:
        # Whoosh's block-skipping optimisation has had matcher bugs; the plain scan is
        # slower but exact.
        collector = _top_collector(window, allow, usequality=False)
        searcher.search_with_collector(q, collector, context=context)
    results = collector.results()
    ids = reader.column_reader("id")
    ranked = []
    for final, docnum in results.top_n:
        segment, local = _locate(searcher, docnum)
        factor = weighting.factors(segment)(local)
        ranked.append((final, final / factor, int(ids[docnum]), docnum))
    ranked.sort(key=lambda r: (-r[0], r[2]))
    return ranked[:window], len(results)


def _locate(searcher, docnum: int):
    """The leaf searcher holding a top-level docnum, and the docnum within it."""
    if searcher.subsearchers is None:
        return searcher, docnum
    for subsearcher, offset in reversed(searcher.subsearchers):
        if docnum >= offset:
            return subsearcher, docnum - offset
    raise IndexError(docnum)


def _page_bounds(limit: int, page: int, max_limit: int = MAX_LIMIT) -> tuple[int, int]:
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise ValueError("limit must be a positive integer")
    if isinstance(page, bool) or not isinstance(page, int) or page < 1:
        raise ValueError("page must be a positive integer")
    return min(limit, max_limit), page


def _hits(searcher, ranked, terms, offset, limit, snippet_fields) -> list[Hit]:
    hits = []
    for final, text_score, _, docnum in ranked[offset : offset + limit]:
        stored = searcher.stored_fields(docnum)
        title = stored.get("title", "")
        snippet, field = best_snippet(stored, terms, snippet_fields)
        hits.append(
            Hit(
                id=int(stored["id"]),
                score=final,
                text_score=text_score,
                title=title,
                title_html=highlight(title, terms, whole=True),
                snippet_html=snippet,
                snippet_field=field,
                language=stored.get("language", ""),
                status=stored.get("status", ""),
                audience=stored.get("audience", ""),
                is_known_error=bool(stored.get("is_known_error", False)),
                tags=tuple(t for t in stored.get("tags", "").split(",") if t),
                services=tuple(s for s in stored.get("services", "").split(",") if s),
            )
        )
    return hits


def run_search(
    searcher,
    query: object,
    *,
    now: datetime,
    filters: Filters,
    limit: int = 10,
    page: int = 1,
) -> SearchResults:
    """Search (see the module docstring); never raises on user text."""
    now_epoch = _epoch(now)
    limit, page = _page_bounds(limit, page)
    cleaned = clean_query(query)
    empty = SearchResults(hits=[], total=0, page=page, limit=limit, query=cleaned)
    if not cleaned or filters.impossible:
        return empty
    strict = parse_query(cleaned)
    if strict is None:
        return empty
    offset = (page - 1) * limit
    window = min(offset + limit, MAX_RESULT_WINDOW)

    attempts = [(strict, None, False)]
    corrected = None

    def run(q):
        try:
            return _ranked(searcher, q, now_epoch, window, filters=filters)
        except QueryError:
            # Syntax the parser accepted but the index cannot run (a phrase on a keyword
            # field): search the plain words instead.
            plain = parse_query(_SPACE_RE.sub(" ", _SYNTAX_RE.sub(" ", cleaned)))
            if plain is None:
                return [], 0
            return _ranked(searcher, plain, now_epoch, window, filters=filters)

    ranked, total = run(strict)
    if not total:
        corrected = correct_spelling(searcher.reader(), cleaned)
        if corrected:
            fixed = parse_query(corrected)
            if fixed is not None:
                attempts.append((fixed, corrected, False))
                ranked, total = run(fixed)
    if not total:
        loose = parse_query(corrected or cleaned, any_word=True)
        if loose is not None and loose != attempts[-1][0]:
            attempts.append((loose, corrected, True))
            ranked, total = run(loose)
    q, corrected_query, relaxed = attempts[-1]
    if not total:
        return empty
    hits = []
    if offset < window:
        hits = _hits(searcher, ranked, query_terms(q), offset, limit, SNIPPET_FIELDS)
    return SearchResults(
        hits=hits,
        total=total,
        page=page,
        limit=limit,
        query=cleaned,
        corrected_query=corrected_query,
        relaxed=relaxed,
    )


def run_suggest(
    searcher,
    text: object,
    *,
    now: datetime,
    filters: Filters,
    limit: int = 5,
    prefer_services: Iterable[str] = (),
) -> SearchResults:
    """Articles matching the free text of a ticket being written (see the module docstring)."""
    now_epoch = _epoch(now)
    limit, _ = _page_bounds(limit, 1, max_limit=25)
    cleaned = clean_query(text, MAX_SUGGEST_LENGTH)
    empty = SearchResults(hits=[], total=0, page=1, limit=limit, query=cleaned)
    if not cleaned or filters.impossible:
        return empty
    reader = searcher.reader()
    corrected = correct_spelling(reader, cleaned, ignore=INTAKE_FILLER)
    typed = set(analyze_text(cleaned))
    frequencies: dict[str, int] = {}
    for term in analyze_text(corrected or cleaned):
        if term not in frequencies and term not in INTAKE_FILLER:
            frequencies[term] = reader.doc_frequency(CONTENT, term)
    # The rarest terms say most about the problem (and keep the OR query small).
    known = sorted((df, term) for term, df in frequencies.items() if df > 0)
    common = max(SUGGEST_COMMON_MIN_DOCS, SUGGEST_COMMON_SHARE * reader.doc_count())
    specific = [(df, term) for df, term in known if df <= common]
    terms = [term for _, term in (specific or known)[:SUGGEST_MAX_TERMS]]
    if not terms:
        return dataclasses.replace(empty, corrected_query=corrected)
    clauses = [
        Term(CONTENT, term, boost=1.0 if term in typed else CORRECTION_BOOST) for term in terms
    ]
    q = expand_synonyms(Or(clauses))
    services = sorted({normalise_label(str(s)) for s in prefer_services} - {""})
    preferred = Or([Term("services", s) for s in services]) if services else None
    ranked, total = _ranked(searcher, q, now_epoch, limit, preferred, filters)
    hits = _hits(searcher, ranked, query_terms(q), 0, limit, ("resolution", *SNIPPET_FIELDS))
    return SearchResults(
        hits=hits,
        total=total,
        page=1,
        limit=limit,
        query=cleaned,
        corrected_query=corrected,
        relaxed=True,
    )


def analyze_text(text: str) -> list[str]:
    """Query terms of free text (Chinese single-character function words dropped)."""
    return [
        term
        for term, _, _ in iter_terms(text, query=True)
        if not (len(term) == 1 and term in CHINESE_STOP_WORDS)
    ]


# -- snippets ----------------------------------------------------------------------------------


def _probes(terms: frozenset[str]) -> tuple[list[str], list[str]]:
    """Split highlight terms into CJK terms (found verbatim) and cheap prefixes of the rest."""
    cjk, prefixes = [], []
    for term in terms:
        if _CJK_CHAR_RE.search(term):
            cjk.append(term)
        else:
            prefixes.append(term[:-1] if len(term) > 3 else term)
    return cjk, prefixes


def _spans(text: str, terms: frozenset[str], cjk_terms: list[str]) -> list[tuple[int, int]]:
    """Character spans of ``text`` to mark, merged; no jieba needed (CJK terms are verbatim)."""
    spans = [(s, e) for term, s, e in iter_terms(text, cjk=False) if term in terms]
    for term in cjk_terms:
        start = text.find(term)
        while start >= 0 and len(spans) < 500:
            spans.append((start, start + len(term)))
            start = text.find(term, start + len(term))
    spans.sort()
    merged: list[list[int]] = []
    for s, e in spans:
        if merged and s <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], e)
        else:
            merged.append([s, e])
    return [(s, e) for s, e in merged]


def _render(text: str, spans: list[tuple[int, int]], start: int, end: int) -> str:
    out, pos = [], start
    for s, e in spans:
        if s < start or e > end:
            continue
        out.append(html.escape(_SPACE_RE.sub(" ", text[pos:s])))
        out.append("<mark>" + html.escape(_SPACE_RE.sub(" ", text[s:e])) + "</mark>")
        pos = e
    out.append(html.escape(_SPACE_RE.sub(" ", text[pos:end])))
    body = "".join(out).strip()
    return (ELLIPSIS if start > 0 else "") + body + (ELLIPSIS if end < len(text) else "")


def highlight(
    text: str, terms: frozenset[str], *, whole: bool = False, max_chars: int = SNIPPET_CHARS
) -> str:
    """HTML for ``text`` with matched terms in ``<mark>``; everything else escaped.

    ``whole=True`` marks the entire text (titles); otherwise a window of about
    ``max_chars`` around the densest cluster of matches (or the start of the text) is cut.
    """
    if not text:
        return ""
    cjk_terms, prefixes = _probes(terms)
    if whole:
        return _render(text, _spans(text, terms, cjk_terms), 0, len(text))
    lowered = text.lower()
    first = min(
        (p for p in (lowered.find(x) for x in (*cjk_terms, *prefixes)) if p >= 0), default=-1
    )
    if first < 0:
        return _render(text, [], 0, _cut(text, 0, max_chars))
    # Only the neighbourhood of the first possible match is analysed: snippets stay cheap.
    region_start = max(0, first - max_chars // 3)
    region_end = min(len(text), first + max_chars * 2)
    spans = [
        (s + region_start, e + region_start)
        for s, e in _spans(text[region_start:region_end], terms, cjk_terms)
    ]
    if not spans:
        return _render(text, [], 0, _cut(text, 0, max_chars))
    best_start, best_count, j = spans[0][0], 0, 0
    for i, (s, _) in enumerate(spans):
        while j < len(spans) and spans[j][1] <= s + max_chars:
            j += 1
        if j - i > best_count:
            best_start, best_count = s, j - i
    start = max(0, best_start - max_chars // 4)
    if start > 0:
        space = text.find(" ", start, best_start)
        if space >= 0 and not _CJK_CHAR_RE.match(text[start]):
            start = space + 1
    return _render(text, spans, start, _cut(text, start, max_chars))


def _cut(text: str, start: int, max_chars: int) -> str:
    end = min(len(text), start + max_chars)
    if end < len(text):
        space = text.rfind(" ", start + max_chars // 2, end)
        if space > 0:
            end = space
    return end


def best_snippet(stored: dict, terms: frozenset[str], fields: Iterable[str]):
    """The snippet of the first field (in ``fields`` order) with a match, else of the first
    non-empty field; returns ``(html, field)``."""
    cjk_terms, prefixes = _probes(terms)
    fallback = None
    for field in fields:
        text = stored.get(field) or ""
        if not text:
            continue
        if fallback is None:
            fallback = field
        lowered = text.lower()
        if any(p in lowered for p in cjk_terms) or any(p in lowered for p in prefixes):
            snippet = highlight(text, terms)
            if "<mark>" in snippet:
                return snippet, field
    if fallback is None:
        return "", None
    return highlight(stored[fallback], frozenset()), fallback
