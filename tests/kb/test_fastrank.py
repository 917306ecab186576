"""kb.fastrank ranks exactly as Whoosh's matchers do: same hits, order, scores and totals.

The corpus is the fixed one, copied several times with varied usage (so that equal text
scores and equal final scores occur), spread over several segments with deletions (a bulk
build, then upserts and deletes). Every query runs both ways and the results must agree; with
the candidate depth forced down to 1 the bound-and-deepen path is exercised too.
"""

from __future__ import annotations

import dataclasses
import random
from datetime import timedelta

import pytest

import kb
import kb.search as search
from kb import fastrank
from tests.kb.corpus import NOW, corpus

COPIES = 4
QUERIES = [
    "printer", "printer jams", "boarding pass printer", "vpn timeout", "baggage belt stopped",
    "password reset", "wifi", "wi-fi password", "radar display freezes", "打印机", "卡纸",
    "打印机卡纸", "登机牌 打印机", "行李转盘 停止", "printer OR vpn", "title:printer",
    "fuel", "screen", "outlook", "login", "slow computer", "paper jam at the gate",
    "prnter jams",  # misspelt: corrected, then the AND query
    "vpn printer radar",  # nothing has all three: relaxed to OR
    '"boarding pass"',  # a phrase: Whoosh's way for both
    "printer NOT gate",
]
FILTERS = [
    {},
    {"statuses": {"published"}},
    {"audience": {"public"}, "statuses": {"published"}},
    {"languages": {"zh"}},
    {"services": {"departure control", "baggage handling"}},
    {"known_errors_only": True},
]


def _copies() -> list[kb.ArticleDoc]:
    rng = random.Random(7)
    docs = []
    base = corpus()
    for copy in range(COPIES):
        for doc in base:
            uses = rng.choice([0, 0, 1, 3, 12])
            docs.append(dataclasses.replace(
                doc, id=copy * 1000 + doc.id, uses=uses,
                helpful=rng.choice([0, 2]), unhelpful=rng.choice([0, 1]),
                last_used_at=NOW - timedelta(days=rng.choice([1, 40])) if uses else None,
                status=rng.choice(["published", "published", "draft"]),
                audience=rng.choice(["internal", "public"])))
    return docs


@pytest.fixture(scope="module")
def segmented_index(tmp_path_factory):
    docs = _copies()
    path = tmp_path_factory.mktemp("fastrank") / "index"
    index = kb.rebuild_index(path, docs[: len(docs) // 2])
    index.upsert(docs[len(docs) // 2 : len(docs) * 3 // 4])
    index.upsert(docs[len(docs) * 3 // 4 :])
    # Replaced and deleted documents leave deletions in the older segments.
    index.upsert([dataclasses.replace(d, uses=d.uses + 5, last_used_at=NOW)
                  for d in docs[:: 17]])
    index.delete([d.id for d in docs[5 :: 23]])
    yield index
    index.close()


def _both(monkeypatch, run):
    results = {}
    calls = []
    real = fastrank.rank_segment

    def counting(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(fastrank, "rank_segment", counting)
    for fast in (True, False):
        monkeypatch.setattr(search, "USE_FAST_RANKING", fast)
        results[fast] = run()
    return results[True], results[False], bool(calls)


def _summary(results: kb.SearchResults):
    return (results.corrected_query, results.relaxed,
            [(h.id, round(h.score, 9), round(h.text_score, 9)) for h in results.hits])


def _exact_total(index, results: kb.SearchResults, filters: dict) -> int:
    """Every match of the query the results are for, counted without ranking."""
    q = search.parse_query(results.corrected_query or results.query, any_word=results.relaxed)
    q = search.Filters.build(**filters).apply(q)
    with index._holder.use() as searcher:
        return len(list(searcher.docs_for_query(q)))


@pytest.fixture(params=["default", "deepening", "trimmed"])
def depth(request, monkeypatch):
    """Default limits; candidates from depth 1 deepening by 4; lists kept 4 deep (then every
    match is scored)."""
    fastrank.clear_cache()
    if request.param != "default":
        monkeypatch.setattr(fastrank, "DIRECT_LIMIT", 0)
        monkeypatch.setattr(fastrank, "FIRST_DEPTH", 1)
    if request.param == "trimmed":
        monkeypatch.setattr(fastrank, "MAX_DEPTH", 4)
    yield request.param
    fastrank.clear_cache()


def test_the_index_has_several_segments_with_deletions(segmented_index):
    with segmented_index._holder.use() as searcher:
        leaves = searcher.reader().leaf_readers()
        assert len(leaves) >= 2
        assert any(reader.has_deletions() for reader, _ in leaves)


@pytest.mark.parametrize("filters", FILTERS, ids=lambda f: ",".join(f) or "none")
def test_search_ranks_exactly_like_whoosh(segmented_index, monkeypatch, depth, filters):
    used_fast = False
    for query in QUERIES:
        for page, limit in ((1, 10), (2, 7)):
            fast, slow, used = _both(monkeypatch, lambda: segmented_index.search(
                query, now=NOW, page=page, limit=limit, **filters))
            assert _summary(fast) == _summary(slow), (query, page)
            # Whoosh's collector may undercount once its minimum score rises (it drops
            # sub-queries that cannot reach the top); fastrank counts every match.
            assert fast.total == _exact_total(segmented_index, fast, filters) >= slow.total
            used_fast |= used
    assert used_fast


def test_results_have_hits_and_ties(segmented_index, monkeypatch):
    # The comparison above is meaningful: queries find many articles, equal scores occur.
    results = segmented_index.search("printer", now=NOW, limit=50)
    assert results.total > 20
    scores = [round(h.text_score, 9) for h in results.hits]
    assert len(set(scores)) < len(scores)


@pytest.mark.parametrize("prefer", [(), ("Departure Control",), ("VPN", "Wi-Fi")])
def test_suggest_ranks_exactly_like_whoosh(segmented_index, monkeypatch, depth, prefer):
    texts = ["The boarding pass printer at gate B12 jams, agent cannot board",
             "VPN keeps disconnecting with a timeout after login",
             "登机口的打印机卡纸，请现场工程师检查", "prnter jams again at the gate"]
    for text in texts:
        fast, slow, used = _both(monkeypatch, lambda: segmented_index.suggest(
            text, now=NOW, statuses={"published"}, prefer_services=prefer,
            exclude_ids={1, 1001, 2002}, limit=8))
        assert _summary(fast) == _summary(slow), text
        assert used
        assert not {1, 1001, 2002} & {h.id for h in fast.hits}


def test_queries_outside_its_scope_go_the_whoosh_way():
    from whoosh.query import Not, Phrase, Term

    assert fastrank.compile_query(Phrase("content", ["a", "b"]), frozenset({"content"})) is None
    assert fastrank.compile_query(Term("tags", "x"), frozenset({"content"})) is None
    assert fastrank.compile_query(Not(Term("content", "x")), frozenset({"content"})) is None
    assert fastrank.compile_query(Term("content", "x"), frozenset({"content"})) is not None


def test_bit_sets_round_trip():
    docs = [0, 1, 7, 8, 9, 63, 64, 1000, 4097]
    assert fastrank.docs_of(fastrank.bits_of(docs)) == docs
    assert fastrank.docs_of(0) == [] and fastrank.bits_of([]) == 0


@pytest.mark.parametrize("filters", [{}, {"audience": {"public"}}])
def test_cached_restrictions_follow_deletions(index_path, monkeypatch, filters):
    index = kb.rebuild_index(index_path, _copies())
    try:
        before = index.search("printer", now=NOW, **filters)
        gone = [h.id for h in before.hits[:2]]
        index.delete(gone)
        fast, slow, used = _both(monkeypatch, lambda: index.search("printer", now=NOW,
                                                                   **filters))
        assert used and _summary(fast) == _summary(slow)
        assert fast.total == before.total - 2
        assert not set(gone) & {h.id for h in fast.hits}
    finally:
        index.close()


def assert_numpy_scoring_is_exact(index, monkeypatch):
    """Every-match scoring runs in numpy for trees of ANDs, ORs and maxes of words; the
    element-by-element path must give the very same floats (not just rounded alike)."""
    queries = QUERIES + ["printer vpn", "boarding pass printer jams at the gate"]

    def run():
        fastrank.clear_cache()
        out = []
        for query in queries:
            results = index.search(query, now=NOW, limit=25)
            out.append((results.total, [(h.id, h.score, h.text_score) for h in results.hits]))
        return out

    arrays = run()
    with monkeypatch.context() as patch:
        patch.setattr(fastrank, "_zeros_work", lambda node, complete=True: False)
        assert run() == arrays
    assert any(hits for _, hits in arrays)


def test_numpy_scoring_equals_the_scalar_path_exactly(segmented_index, monkeypatch, depth):
    assert_numpy_scoring_is_exact(segmented_index, monkeypatch)


def test_numpy_docs_of_matches_the_bits():
    rng = random.Random(3)
    for size in (1, 7, 8, 9, 64, 1000, 50_000):
        docs = sorted(rng.sample(range(size * 2), size))
        assert fastrank.docs_of(fastrank.bits_of(docs)) == docs
        assert fastrank.docs_array(fastrank.bits_of(docs)).tolist() == docs


def test_usage_columns_read_whole_equal_the_per_document_reads(segmented_index):
    from kb._whoosh import numeric_column

    with segmented_index._holder.use() as searcher:
        for reader, _ in searcher.reader().leaf_readers():
            for name in ("uses", "helpful", "unhelpful", "last_used"):
                column = reader.column_reader(name)
                values = numeric_column(reader, name)
                assert values is not None
                assert list(values) == [column[d] for d in range(reader.doc_count_all())]
        assert any(numeric_column(r, "uses").count(0) < r.doc_count_all()
                   for r, _ in searcher.reader().leaf_readers())
