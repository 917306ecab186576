"""Exact top-N ranking over cached posting data, for queries made of plain terms.

Whoosh scores a query by walking a tree of matchers one document at a time, several Python
calls per posting: at 100,000 articles a common word matches tens of thousands of them and a
query cost hundreds of milliseconds. This module computes *the same ranking* (BM25F as
``whoosh.scoring.BM25F``, times the usefulness factor of ``kb.search``) another way:

* Per segment (segments never change) and term it keeps the term's postings once decoded: the
  BM25 term-frequency part of every posting (``tf*(K1+1) / (tf + K1*(1-B+B*len/avglen))``),
  the documents ordered by it (an *impact-ordered* list), and the documents as a bit set.
  The global factors (idf, query boosts) are applied per query. ``avglen`` is the field's
  average length rounded to a whole number, so a few writes do not invalidate these caches
  (the Whoosh path in ``kb.search`` rounds it the same way: both give the same scores).
* Where the segment has a postings sidecar (``kb.sidecar``, written with the segment), a
  word's ids, weights, impact order (by tf part times usefulness at the segment's latest use)
  and bit set are read from it instead of decoded; tf parts are then computed per document
  asked for (binary search), or for all postings at once (a dense array) when a query scores
  many matches. A query dated before that latest use decodes instead.
* Matching documents are counted with bit-set operations (AND / OR of the terms' bit sets and
  the filter's), which run in C.
* The top N: the union of the first L documents of every term's impact list is scored
  exactly. Impact lists are ordered by tf part times the document's usefulness factor at the
  time the list was built; usefulness only fades as time passes, so for a later query a
  document outside the union scores at most the query evaluated with every term at its L-th
  impact (times ``PREFERRED_BOOST`` when suggest prefers services). If the N-th best candidate
  beats that bound the answer is exact; otherwise L grows (and in the end every match is
  scored). Typically a few hundred documents are scored. Candidates that do not match are
  skipped via the set of matches (when it is small enough to hold); once deepening would
  visit more documents than scoring every match, every match is scored (conjunctions, whose
  bound is loose, go there at once when their matches are few): term by term over the match
  list, usefulness factors taken best text score first until the rest cannot reach the top.

Supported queries: ``Term`` on a scorable text field, ``And``, ``Or`` (no coordination
scale), ``DisjunctionMax`` (no tie-break), with boosts. Anything else (phrases, ``NOT``,
keyword fields) returns None from ``compile_query`` and goes the Whoosh way.
"""

from __future__ import annotations

import heapq
import threading
from array import array
from bisect import bisect_left
from operator import add, itemgetter, mul
from collections import OrderedDict
from itertools import accumulate, repeat

import numpy as np
from whoosh.query import And, DisjunctionMax, NullQuery, Or, Term
from whoosh.util.numeric import byte_to_length

from kb import sidecar

B = 0.75
K1 = 1.2

#: A segment's matches are all scored when there are at most this many.
DIRECT_LIMIT = 400
#: A sidecar word may get a dense score array when this many matches are scored in one go
#: (see ``_densify``).
DENSE_MIN = 500
DENSE_RATIO = 64
#: Conjunctions whose scan would switch to scoring every match after the first round score
#: every match at once (their bound seldom stops a scan early).
AND_DIRECT = True
AND_DIRECT_REACH = 4  # the next round (16, two rounds, measured no better at 100k)
#: Matches are held as a set (to skip non-matching candidates) up to this many.
MATCH_SET_LIMIT = 20000
#: Deepening stops and every match is scored once the next depth would visit this share of
#: the matches (per word).
DIRECT_SHARE = 2
#: First number of impact-ordered documents taken from each term's list.
FIRST_DEPTH = 128
#: Beyond this depth, every match is scored instead.
MAX_DEPTH = 8192
#: Bytes of decoded posting data kept in memory per process (least recently used go first).
CACHE_BYTES = 256 * 2**20


def rounded_average(searcher, fieldname: str) -> float:
    """The field's average length as used for scoring: rounded to a whole number (>= 1)."""
    parent = searcher.get_parent()
    return float(max(1, round(parent.avg_field_length(fieldname) or 1)))


# -- query trees ---------------------------------------------------------------------------------

class _Node:
    __slots__ = ("kind", "boost", "children", "fieldname", "text")

    def __init__(self, kind, boost=1.0, children=(), fieldname=None, text=None):
        self.kind, self.boost, self.children = kind, boost, tuple(children)
        self.fieldname, self.text = fieldname, text

    def terms(self):
        if self.kind == "term":
            yield self
        for child in self.children:
            yield from child.terms()


def compile_query(q, scorable: frozenset[str]) -> _Node | None:
    """A tree for ``q`` if this module can rank it, else None."""
    if isinstance(q, Term):
        if q.fieldname not in scorable or not isinstance(q.text, str):
            return None
        return _Node("term", q.boost, fieldname=q.fieldname, text=q.text)
    if type(q) is And:  # not subclasses such as Ordered
        kind = "and"
    elif type(q) is Or and not getattr(q, "scale", None) and not getattr(q, "minmatch", 0):
        kind = "or"
    elif isinstance(q, DisjunctionMax) and not q.tiebreak:
        kind = "max"
    else:
        return None
    children = []
    for sub in q.subqueries:
        if sub is NullQuery or isinstance(sub, type(NullQuery)):
            continue
        node = compile_query(sub, scorable)
        if node is None:
            return None
        children.append(node)
    if not children:
        return None
    return _Node(kind, q.boost, children)


# -- per segment data ------------------------------------------------------------------------------

class _Sparse(dict):
    """Scores of a rare term: a dict answering 0.0 for documents without the term."""

    __slots__ = ()

    def __missing__(self, key):
        return 0.0


class TermData:
    """One term in one segment: tf parts by document, impact order, bit set."""

    __slots__ = ("scores", "order", "impacts", "bits", "size", "nbytes", "built_at",
                 "from_sidecar")

    def __init__(self, scores, order, impacts, bits, size):
        self.scores, self.order, self.impacts, self.bits = scores, order, impacts, bits
        self.size = size
        self.built_at = 0.0
        self.from_sidecar = False
        if isinstance(scores, array):
            scores_bytes = 8 * len(scores)
        elif isinstance(scores, _SideScores):  # may become dense (see _densify)
            scores_bytes = 8 * max(scores.n, len(scores.norms))
        else:
            scores_bytes = 100 * len(scores)
        self.nbytes = 200 + scores_bytes + 12 * len(order) + bits.bit_length() // 8


class _SideScores:
    """tf parts of a word loaded from a sidecar: computed per document asked for (binary
    search in the ascending ids), with the same expression as the decoded path."""

    __slots__ = ("ids", "weights", "norms", "n")

    def __init__(self, ids, weights, norms):
        self.ids, self.weights, self.norms, self.n = ids, weights, norms, len(ids)

    def __getitem__(self, d):
        ids = self.ids
        i = bisect_left(ids, d)
        if i < self.n and ids[i] == d:
            w = self.weights[i]
            return w * (K1 + 1) / (w + self.norms[d])
        return 0.0


class _Checkpoints:
    """Impact bounds of a sidecar order: position i answers the stored key at the largest
    position 2^k - 1 <= i (keys never grow along the order, so that bounds position i), times
    ``scale`` (the average-length correction, see ``kb.sidecar``)."""

    __slots__ = ("values", "length", "scale")

    def __init__(self, values, length, scale):
        self.values, self.length, self.scale = values, length, scale

    def __len__(self):
        return self.length

    def __getitem__(self, i):
        if not 0 <= i < self.length:
            raise IndexError(i)
        k = min((i + 1).bit_length() - 1, len(self.values) - 1)
        return self.values[k] * self.scale


_EMPTY = TermData(_Sparse(), array("i"), array("d"), 0, 0)
_cache: OrderedDict[tuple, object] = OrderedDict()
_cache_bytes = 0
_cache_lock = threading.Lock()


def _cached(key, size_of, build):
    global _cache_bytes
    with _cache_lock:
        value = _cache.get(key)
        if value is not None:
            _cache.move_to_end(key)
            return value
    value = build()
    with _cache_lock:
        if key not in _cache:
            _cache[key] = value
            _cache_bytes += size_of(value)
            while _cache_bytes > CACHE_BYTES and len(_cache) > 1:
                _, old = _cache.popitem(last=False)
                _cache_bytes -= size_of(old)
    return value


def clear_cache() -> None:
    global _cache_bytes
    with _cache_lock:
        _cache.clear()
        _cache_bytes = 0


def segment_key(reader) -> tuple | None:
    segment = getattr(reader, "segment", lambda: None)()
    if segment is None:
        return None
    return (segment.segment_id(), reader.doc_count_all())


def _norms(reader, seg_key, fieldname: str, avglen: float):
    """K1 * (1 - B + B * length / avglen) for every document of the segment."""

    def build():
        count = reader.doc_count_all()
        table = [K1 * ((1 - B) + B * byte_to_length(b) / avglen) for b in range(256)]
        table[0] = K1 * ((1 - B) + B * 1 / avglen)  # Whoosh's default length for "none"
        lengths = _length_bytes(reader, fieldname, count)
        return array("d", map(table.__getitem__, lengths))

    return _cached(("norms", seg_key, fieldname, avglen), lambda a: 8 * len(a), build)


def _length_bytes(reader, fieldname, count):
    perdoc = getattr(reader, "_perdoc", None)
    lengths = perdoc.field_lengths(fieldname) if perdoc is not None else None
    return lengths or bytes(count)


def _raw_postings(reader, fieldname: str, text: str):
    """(docnums, weights) of a term in one segment, deleted documents included."""
    from whoosh.codec.whoosh3 import W3LeafMatcher

    if (fieldname, text) not in reader:
        return [], []
    tbytes = reader._text_to_bytes(fieldname, text)
    matcher = reader._terms.matcher(fieldname, tbytes, reader.schema[fieldname].format)
    ids: list[int] = []
    weights: list[float] = []
    if isinstance(matcher, W3LeafMatcher) and not matcher._byteids:
        # Whoosh's own block decoding, with the id deltas summed in C (accumulate) rather
        # than by its generator.
        while True:
            matcher._read_data()
            ids.extend(accumulate(matcher._data[0]))
            matcher._read_weights()
            weights.extend(matcher._weights)
            if matcher._lastblock:
                break
            matcher._goto(matcher._nextoffset)
    else:
        while matcher.is_active():
            ids.append(matcher.id())
            weights.append(matcher.weight())
            matcher.next()
    return ids, weights


def bits_of(docnums) -> int:
    """A bit set (Python int) of the given document numbers."""
    docnums = list(docnums)
    if not docnums:
        return 0
    buf = bytearray((max(docnums) >> 3) + 1)
    for d in docnums:
        buf[d >> 3] |= 1 << (d & 7)
    return int.from_bytes(buf, "little")


def docs_of(bits: int) -> list[int]:
    """The document numbers in a bit set, ascending."""
    return docs_array(bits).tolist()


def docs_array(bits: int):
    """``docs_of`` as a numpy array (int64)."""
    if not bits:
        return np.zeros(0, dtype=np.int64)
    raw = np.frombuffer(bits.to_bytes((bits.bit_length() + 7) // 8, "little"), dtype=np.uint8)
    return np.flatnonzero(np.unpackbits(raw, bitorder="little"))


def article_ids(reader, seg_key) -> array:
    """The article id of every document of the segment (the ``id`` column, decoded once)."""

    def build():
        side = sidecar.open_for(_folder(reader), seg_key, MAX_DEPTH)
        stored = side.article_ids() if side is not None else None
        if stored is not None:
            return stored
        column = reader.column_reader("id")
        return array("q", (int(v) if v else 0 for v in column))

    return _cached(("ids", seg_key), lambda a: 8 * len(a), build)


#: Impact orders older than this (in the query's time) are rebuilt: usefulness fades with time,
#: so an old order stays a valid bound but grows loose.
IMPACT_REFRESH_SECONDS = 86400.0


def term_data(reader, seg_key, fieldname: str, text: str, avglen: float, now: float,
              usefulness_at) -> TermData:
    """The term's data in one segment; its impact order is by ``tf part * usefulness`` at the
    time it was built (``usefulness_at(docnum)`` for ``now``). Usefulness never grows as time
    passes, so for any later query time that product bounds what the document can score."""
    key = ("term", seg_key, fieldname, text, avglen)

    def build():
        data = _sidecar_term(reader, seg_key, fieldname, text, avglen, now)
        if data is not None:
            return data
        ids, weights = _raw_postings(reader, fieldname, text)
        if not ids:
            return _EMPTY
        norms = _norms(reader, seg_key, fieldname, avglen)
        k = K1 + 1
        parts = [w * k / (w + norms[d]) for d, w in zip(ids, weights)]
        count = reader.doc_count_all()
        if len(ids) * 12 >= count:  # a dense array is smaller than a dict
            scores = array("d", bytes(8 * count))
            for d, s in zip(ids, parts):
                scores[d] = s
        else:
            scores = _Sparse(zip(ids, parts))
        if len(ids) * 8 < count:  # a rare word: only its documents' factors are needed
            keys = [-s * usefulness_at(d) for d, s in zip(ids, parts)]
        else:
            factors = segment_factors(seg_key, count, now, usefulness_at)
            keys = [-s * factors[d] for d, s in zip(ids, parts)]
        # Best first, equal keys by docnum (ids ascend; the sort is stable); kept MAX_DEPTH
        # deep: deeper than that, every match is scored instead.
        ranked = sorted(range(len(ids)), key=keys.__getitem__)[:MAX_DEPTH]
        order = array("i", [ids[i] for i in ranked])
        impacts = array("d", [-keys[i] for i in ranked])
        data = TermData(scores, order, impacts, bits_of(ids), len(ids))
        data.built_at = now
        return data

    data = _cached(key, _nbytes, build)
    if data is _EMPTY:
        return data
    if data.from_sidecar:
        stale = now < data.built_at  # a sidecar's order holds from its ``ref`` time on
    else:
        stale = not (0 <= now - data.built_at <= IMPACT_REFRESH_SECONDS)
    if stale:
        _forget(key, _nbytes)
        data = _cached(key, _nbytes, build)
    return data


#: Slack on sidecar bounds against floating-point rounding (bounds are compared strictly).
_BOUND_SLACK = 1 + 1e-9


def _folder(reader) -> str | None:
    """The directory holding a segment reader's files (None if not on disk)."""
    storage = reader.storage() if hasattr(reader, "storage") else None
    for _ in range(3):
        folder = getattr(storage, "folder", None)
        if folder is not None:
            return folder
        storage = getattr(storage, "b", None)  # OverlayStorage(compound file, folder)
    return None


def _sidecar_term(reader, seg_key, fieldname: str, text: str, avglen: float, now: float):
    """The word's data from the segment's sidecar (None: no usable sidecar data)."""
    side = sidecar.open_for(_folder(reader), seg_key, MAX_DEPTH)
    if side is None or now < side.ref or not side.has(fieldname, text):
        return None
    a0 = side.averages.get(fieldname)
    loaded = side.load(fieldname, text)
    if loaded is None or not a0:
        return None
    ids, weights, order, checkpoints, bits = loaded
    norms = _norms(reader, seg_key, fieldname, avglen)
    scale = max(1.0, avglen / a0) * _BOUND_SLACK
    bitset = int.from_bytes(bits, "little") if bits else \
        sidecar.bits_from(ids, reader.doc_count_all())
    data = TermData(_SideScores(ids, weights, norms), order,
                    _Checkpoints(checkpoints, len(order), scale), bitset, len(ids))
    data.built_at = side.ref
    data.from_sidecar = True
    return data


def segment_factors(seg_key, count: int, now: float, usefulness_at) -> array:
    """Every document's usefulness factor at ``now`` (rebuilt like impact orders)."""
    key = ("factors", seg_key)

    def build():
        factors = array("d", (usefulness_at(d) for d in range(count)))
        return (now, factors)

    built_at, factors = _cached(key, _pair_bytes, build)
    if not (0 <= now - built_at <= IMPACT_REFRESH_SECONDS):
        _forget(key, _pair_bytes)
        built_at, factors = _cached(key, _pair_bytes, build)
    return factors


def _pair_bytes(pair) -> int:
    return 8 * len(pair[1])


def _nbytes(data: TermData) -> int:
    return data.nbytes


def _forget(key, size_of) -> None:
    global _cache_bytes
    with _cache_lock:
        old = _cache.pop(key, None)
        if old is not None:
            _cache_bytes -= size_of(old)


# -- ranking ---------------------------------------------------------------------------------------

def _bits(node, data) -> int:
    if node.kind == "term":
        return data[id(node)].bits
    parts = [_bits(c, data) for c in node.children]
    result = parts[0]
    if node.kind == "and":
        for p in parts[1:]:
            result &= p
            if not result:
                break
    else:
        for p in parts[1:]:
            result |= p
    return result


def _scorer(node, data, weights):
    """A function docnum -> score (None if the document does not match the node)."""
    if node.kind == "term":
        scores = data[id(node)].scores
        mult = weights[id(node)] * node.boost
        if isinstance(scores, _SideScores):
            ids, tf, norms, n, k = scores.ids, scores.weights, scores.norms, scores.n, K1 + 1

            def side_term(d):
                i = bisect_left(ids, d)
                if i < n and ids[i] == d:
                    w = tf[i]
                    return w * k / (w + norms[d]) * mult
                return None

            return side_term

        def term(d):
            s = scores[d]
            return s * mult if s else None

        return term
    subs = [_scorer(c, data, weights) for c in node.children]
    boost = node.boost
    if node.kind == "and":
        def conj(d):
            total = 0.0
            for f in subs:
                v = f(d)
                if v is None:
                    return None
                total += v
            return total * boost

        return conj
    if node.kind == "or":
        def disj(d):
            total = None
            for f in subs:
                v = f(d)
                if v is not None:
                    total = v if total is None else total + v
            return None if total is None else total * boost

        return disj

    def dismax(d):
        best = None
        for f in subs:
            v = f(d)
            if v is not None and (best is None or v > best):
                best = v
        return None if best is None else best * boost

    return dismax


def _bound(node, depth_bounds, weights) -> float:
    """Highest score a document outside the candidates can have."""
    if node.kind == "term":
        return depth_bounds[id(node)] * weights[id(node)] * node.boost
    values = [_bound(c, depth_bounds, weights) for c in node.children]
    total = max(values) if node.kind == "max" else sum(values)
    return total * node.boost


def rank_segment(tree, data, weights, allowed: set[int], allowed_bits: int, factor,
                 max_factor: float, window: int, ids_of, factor_cap: float | None = None):
    """Exact best ``window`` (final, text, docnum) of one segment, and its match count.

    ``data``: id(term node) -> TermData; ``weights``: id(term node) -> idf; ``factor(d)`` the
    usefulness factor; ``ids_of(d)`` the article id (tie-break: lower id first);
    ``factor_cap``: no factor exceeds it (None: unknown).
    """
    matches = _bits(tree, data) & allowed_bits
    count = matches.bit_count()
    if not count:
        return [], 0
    score = _scorer(tree, data, weights)
    terms = list(tree.terms())
    longest = max(data[id(t)].size for t in terms)

    def every_match():
        if count >= DENSE_MIN:
            _densify(terms, data, count)
        return _best_vector(docs_array(matches), tree, data, weights, factor, window, ids_of,
                            factor_cap)

    if count <= DIRECT_LIMIT or longest <= FIRST_DEPTH:
        return every_match(), count
    # Words present in this segment (absent synonyms visit nothing).
    visiting = sum(1 for t in terms if data[id(t)].size) or 1

    # Candidates that do not match (an AND's word missing, filtered out) are skipped without
    # scoring when the matches are few enough to hold as a set.
    match_docs = docs_of(matches) if count <= MATCH_SET_LIMIT else None
    candidates = set(match_docs) if match_docs is not None else allowed
    if AND_DIRECT and tree.kind == "and" and match_docs is not None \
            and FIRST_DEPTH * AND_DIRECT_REACH * visiting >= count * DIRECT_SHARE:
        # A conjunction's bound seldom stops the first round, and the second would already
        # visit more than scoring every match costs: score them straight away.
        return every_match(), count
    depth = FIRST_DEPTH
    scored: dict[int, tuple | None] = {}
    while True:
        for t in terms:
            for d in data[id(t)].order[:depth]:
                if d not in scored:
                    s = score(d) if d in candidates else None
                    scored[d] = (-(s * factor(d)), d, s) if s is not None else None
        rows = [r for r in scored.values() if r is not None]
        top = _order(rows, window, ids_of)
        bounds = {}
        for t in terms:
            impacts = data[id(t)].impacts
            bounds[id(t)] = impacts[depth - 1] if depth <= len(impacts) else 0.0
        limit = _bound(tree, bounds, weights) * max_factor
        if depth >= longest or (len(top) >= window and -top[-1][0] > limit):
            return [(-neg, s, d) for neg, d, s in top], count
        depth *= 4
        if depth > MAX_DEPTH or depth * visiting >= count * DIRECT_SHARE:
            # Scoring every match is now the cheaper (or the only) way.
            return every_match(), count


def _densify(terms, data, count: int) -> None:
    """Give sidecar words scoring ``count`` matches a dense score array (one numpy pass over
    their postings) instead of a binary search per document, when that pass costs at most
    ``DENSE_RATIO`` times the searches it saves in this query (it is kept for later ones)."""
    for t in terms:
        d = data[id(t)]
        scores = d.scores
        if isinstance(scores, _SideScores) and scores.n <= count * DENSE_RATIO:
            dense = array("d", bytes(8 * len(scores.norms)))
            ids = _np(scores.ids)
            w = _np(scores.weights).astype(np.float64)
            _np(dense)[ids] = w * (K1 + 1) / (w + _np(scores.norms)[ids])
            d.scores = dense


def _zeros_work(node, complete: bool = True) -> bool:
    """Whether ``_zero_vector`` gives ``node``'s scores for documents that all match it
    (``complete``): every boost is positive, and no AND sits under an OR or a max (where a
    document may miss one of its parts, and a zero sum could not tell)."""
    if node.boost <= 0:
        return False
    if node.kind == "term":
        return True
    if node.kind == "and" and not complete:
        return False
    return all(_zeros_work(c, complete and node.kind == "and") for c in node.children)


def _zero_vector(node, docs, data, weights):
    """``_vector`` as a numpy array over the array ``docs``, 0.0 meaning "no match", so
    that whole lists combine in C: a missing part adds 0.0 to a sum (which leaves it
    unchanged) and loses every max to a match's positive score. The element operations are
    the scalar path's, in its order, on the same IEEE doubles: the results are equal. Only
    for trees that ``_zeros_work`` accepts."""
    if node.kind == "term":
        scores = data[id(node)].scores
        mult = weights[id(node)] * node.boost
        if isinstance(scores, _SideScores):
            out = np.zeros(len(docs))
            if scores.n:
                ids = _np(scores.ids)
                pos = np.minimum(np.searchsorted(ids, docs), scores.n - 1)
                hit = ids[pos] == docs
                w = _np(scores.weights)[pos[hit]].astype(np.float64)
                out[hit] = w * (K1 + 1) / (w + _np(scores.norms)[docs[hit]]) * mult
            return out
        if isinstance(scores, array):
            return _np(scores)[docs] * mult
        return np.fromiter(map(scores.__getitem__, docs.tolist()), np.float64, len(docs)) * mult
    subs = [_zero_vector(c, docs, data, weights) for c in node.children]
    if node.kind == "max":
        combined = subs[0] if len(subs) == 1 else np.maximum.reduce(subs)
    else:  # and, or: (((0.0 + a) + b) + c), as conj() and disj() add
        combined = 0.0 + subs[0]
        for v in subs[1:]:
            combined += v
    return combined * node.boost


def _np(values: array):
    """A numpy view of an ``array.array`` (no copy)."""
    return np.frombuffer(values, dtype=values.typecode)


def _vector(node, docs, data, weights) -> list:
    """The scores ``_scorer(node)`` gives each of ``docs`` (None: no match), computed term by
    term over the whole list (same floating-point operations, in the same order)."""
    if node.kind == "term":
        scores = data[id(node)].scores
        mult = weights[id(node)] * node.boost
        if isinstance(scores, _SideScores):
            ids, tf, norms, n, k = scores.ids, scores.weights, scores.norms, scores.n, K1 + 1
            out = []
            append = out.append
            for i, d in zip(map(bisect_left, repeat(ids), docs), docs):
                if i < n and ids[i] == d:
                    w = tf[i]
                    append(w * k / (w + norms[d]) * mult)
                else:
                    append(None)
            return out
        return [s * mult if s else None for s in map(scores.__getitem__, docs)]
    subs = [_vector(c, docs, data, weights) for c in node.children]
    boost = node.boost
    if node.kind == "and" and not any(None in v for v in subs):
        # Every document has every part: (((0.0 + a) + b) + c) * boost, as conj() adds.
        total = map(add, repeat(0.0), subs[0])
        for v in subs[1:]:
            total = map(add, total, v)
        return list(map(mul, total, repeat(boost)))
    if node.kind == "and":
        out = []
        for values in zip(*subs):
            total = 0.0
            for v in values:
                if v is None:
                    total = None
                    break
                total += v
            out.append(None if total is None else total * boost)
        return out
    if node.kind == "or":
        out = []
        for values in zip(*subs):
            total = None
            for v in values:
                if v is not None:
                    total = v if total is None else total + v
            out.append(None if total is None else total * boost)
        return out
    out = []
    for values in zip(*subs):
        best = None
        for v in values:
            if v is not None and (best is None or v > best):
                best = v
        out.append(None if best is None else best * boost)
    return out


def _best_vector(docs, tree, data, weights, factor, window, ids_of, factor_cap=None):
    """``_best`` with the scores computed by ``_vector`` (``docs``: a numpy array); for the
    trees ``_zero_vector`` takes, every match's text score at once in numpy.

    With ``factor_cap`` the factors are taken best text score first (equal text scores in
    docnum order: a stable sort), and only until a text score times the cap falls below the
    ``window``-th final score found so far: every later document ends strictly below it
    (not even tied), so the result is the same."""
    if _zeros_work(tree):
        vec = _zero_vector(tree, docs, data, weights)
        matched = vec != 0.0
        if not matched.all():
            docs, vec = docs[matched], vec[matched]
        if factor_cap is None or len(vec) <= window:
            return _best_of(zip(vec.tolist(), docs.tolist()), factor, window, ids_of)
        order = np.argsort(-vec, kind="stable")
        return _best_first(_pairs(vec[order], docs[order]), factor, window, ids_of,
                           factor_cap)
    docs = docs.tolist()
    scored = [(s, d) for d, s in zip(docs, _vector(tree, docs, data, weights))
              if s is not None]
    if factor_cap is None or len(scored) <= window:
        return _best_of(scored, factor, window, ids_of)
    scored.sort(key=_TEXT, reverse=True)
    return _best_first(scored, factor, window, ids_of, factor_cap)


def _best_of(scored, factor, window, ids_of):
    """The best ``window`` (final, text, docnum) of (text, docnum) pairs, every factor taken."""
    rows = [(-(s * factor(d)), d, s) for s, d in scored]
    return [(-neg, s, d) for neg, d, s in _order(rows, window, ids_of)]


def _best_first(scored, factor, window, ids_of, factor_cap):
    """``_best_of`` for pairs in descending text order: stops once no later pair can reach
    the window (see ``_best_vector``)."""
    rows = []
    finals: list[float] = []  # min-heap of the best ``window`` finals so far
    for s, d in scored:
        if len(finals) == window and s * factor_cap < finals[0]:
            break
        final = s * factor(d)
        rows.append((-final, d, s))
        if len(finals) < window:
            heapq.heappush(finals, final)
        elif final > finals[0]:
            heapq.heapreplace(finals, final)
    return [(-neg, s, d) for neg, d, s in _order(rows, window, ids_of)]


_TEXT = itemgetter(0)
#: Pairs converted from numpy at a time (``_best_first`` seldom needs them all).
_CHUNK = 256


def _pairs(vec, docs):
    """(text, docnum) pairs of two numpy arrays as Python numbers, a chunk at a time."""
    for start in range(0, len(vec), _CHUNK):
        yield from zip(vec[start:start + _CHUNK].tolist(), docs[start:start + _CHUNK].tolist())


def _best(docs, score, factor, window, ids_of):
    rows = []
    for d in docs:
        s = score(d)
        if s is not None:
            rows.append((-(s * factor(d)), d, s))
    return [(-neg, s, d) for neg, d, s in _order(rows, window, ids_of)]


def _order(rows, window, ids_of):
    """The best ``window`` rows (-final, docnum, text), equal finals by lower article id."""
    top = heapq.nsmallest(window, rows)
    if not top:
        return top
    last = top[-1][0]
    ties = [r for r in rows if r[0] == last]
    rest = [r for r in top if r[0] != last]
    ties.sort(key=lambda r: ids_of(r[1]))
    top = rest + ties[: window - len(rest)]
    # Earlier equal groups (all inside the window) are ordered by article id as well.
    return sorted(top, key=lambda r: (r[0], ids_of(r[1])))
