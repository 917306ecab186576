"""Usefulness re-orders articles of comparable relevance and never beats clearly better text."""

import math
from datetime import timedelta

from hypothesis import given
from hypothesis import strategies as st

import kb
from kb.search import MAX_BOOST, MIN_BOOST, usefulness
from tests.kb.corpus import NOW

DAY = 86400.0


def twin(doc_id, **usage):
    return kb.ArticleDoc(
        id=doc_id,
        title="Baggage belt stopped",
        symptoms="The reclaim belt stops with an emergency stop fault.",
        resolution="Release the emergency stop and restart the belt.",
        **usage,
    )


def order(index, query="baggage belt stopped", now=NOW):
    return [hit.id for hit in index.search(query, now=now).hits]


def test_equal_text_ranks_the_more_used_article_first(empty_index):
    empty_index.upsert([twin(1), twin(2, uses=12, last_used_at=NOW - timedelta(days=1))])
    assert order(empty_index) == [2, 1]
    empty_index.upsert([twin(1, uses=30, last_used_at=NOW - timedelta(hours=2))])
    assert order(empty_index) == [1, 2]


def test_equal_text_and_no_usage_falls_back_to_lower_id(empty_index):
    empty_index.upsert([twin(5), twin(3), twin(4)])
    assert order(empty_index) == [3, 4, 5]


def test_recent_use_beats_old_heavy_use(empty_index):
    empty_index.upsert(
        [
            twin(1, uses=40, last_used_at=NOW - timedelta(days=365)),
            twin(2, uses=5, last_used_at=NOW - timedelta(days=2)),
        ]
    )
    assert order(empty_index) == [2, 1]
    # Seen from a year earlier, the first article's uses were fresh.
    assert order(empty_index, now=NOW - timedelta(days=364)) == [1, 2]


def test_helpful_votes_lift_and_unhelpful_votes_sink(empty_index):
    empty_index.upsert([twin(1, helpful=0, unhelpful=9), twin(2), twin(3, helpful=9)])
    assert order(empty_index) == [3, 2, 1]


def test_usefulness_never_beats_clearly_better_text(empty_index):
    strong = kb.ArticleDoc(
        id=1,
        title="Baggage belt stopped at reclaim",
        symptoms="Baggage belt stopped with an emergency stop fault.",
        resolution="Restart the baggage belt.",
    )
    weak = kb.ArticleDoc(
        id=2,
        title="Terminal operations handbook",
        body="Chapter 12 covers escalation contacts, shift handover, and what to do when a "
        "baggage belt has stopped, among forty other topics of the terminal duty manager.",
        uses=100_000,
        helpful=10_000,
        unhelpful=0,
        last_used_at=NOW,
    )
    empty_index.upsert([strong, weak])
    hits = empty_index.search("baggage belt stopped", now=NOW).hits
    assert [hit.id for hit in hits] == [1, 2]
    assert hits[0].text_score > hits[1].text_score * kb.DOMINANCE_RATIO  # the premise
    # The weak article got (almost) every possible boost.
    assert math.isclose(hits[1].score / hits[1].text_score, MAX_BOOST, rel_tol=1e-3)


def test_scores_report_text_and_final(empty_index):
    empty_index.upsert([twin(1, uses=3, helpful=2, last_used_at=NOW)])
    hit = empty_index.search("belt", now=NOW).hits[0]
    expected = usefulness(3, 2, 0, NOW.timestamp(), NOW.timestamp())
    assert math.isclose(hit.score, hit.text_score * expected)


counts = st.integers(min_value=0, max_value=10**9)
ages = st.floats(min_value=0, max_value=3650 * DAY)


@given(counts, counts, counts, ages, st.booleans())
def test_usefulness_is_bounded(uses, helpful, unhelpful, age, never_used):
    now = 2_000_000_000.0
    last_used = 0.0 if never_used else now - age
    factor = usefulness(uses, helpful, unhelpful, last_used, now)
    assert MIN_BOOST < factor <= MAX_BOOST


@given(st.floats(min_value=0.01, max_value=1e6), st.floats(min_value=1.0001, max_value=100),
       counts, counts, counts, counts, counts, counts, ages, ages)
def test_dominance_ratio_holds_for_any_usage(weak_text, ratio, u1, h1, n1, u2, h2, n2, a1, a2):
    now = 2_000_000_000.0
    strong_text = weak_text * kb.DOMINANCE_RATIO * ratio
    strong = strong_text * usefulness(u1, h1, n1, now - a1, now)
    weak = weak_text * usefulness(u2, h2, n2, now - a2, now)
    assert strong > weak


def test_ranking_is_exact_beyond_the_first_candidate_pool(empty_index):
    # 300 articles matching one word with varied text scores and usage; the engine's top 25
    # must equal a brute-force ranking of every match.
    docs = []
    for i in range(1, 301):
        filler = " ".join(f"w{j}" for j in range(i % 37))
        docs.append(
            kb.ArticleDoc(
                id=i,
                title=f"radar note {i}",
                body=("radar " * (1 + i % 5)) + filler,
                uses=(i * 7) % 60,
                helpful=i % 11,
                unhelpful=i % 3,
                last_used_at=NOW - timedelta(days=i % 90),
            )
        )
    empty_index.upsert(docs)
    results = empty_index.search("radar", now=NOW, limit=25)
    by_id = {doc.id: doc for doc in docs}
    everything = empty_index.search("radar", now=NOW, limit=100, page=1).hits
    everything += empty_index.search("radar", now=NOW, limit=100, page=2).hits
    everything += empty_index.search("radar", now=NOW, limit=100, page=3).hits
    assert len(everything) == 300
    brute = sorted(
        everything,
        key=lambda h: (
            -h.text_score
            * usefulness(
                by_id[h.id].uses,
                by_id[h.id].helpful,
                by_id[h.id].unhelpful,
                by_id[h.id].last_used_at.timestamp(),
                NOW.timestamp(),
            ),
            -h.text_score,
            h.id,
        ),
    )
    assert [h.id for h in results.hits] == [h.id for h in brute[:25]]
