import pytest

import kb
from tests.kb.corpus import NOW, corpus

STATUS = {doc.id: doc.status for doc in corpus()}


def ids(results):
    return [hit.id for hit in results.hits]


def test_public_audience_sees_only_public_articles(corpus_index):
    results = corpus_index.search("vpn", now=NOW, audience={"public"}, statuses={"published"})
    assert ids(results) and all(hit.audience == "public" for hit in results.hits)
    assert set(ids(results)) == {7, 8}


def test_internal_and_public_together(corpus_index):
    results = corpus_index.search(
        "vpn", now=NOW, audience={"public", "internal"}, statuses={"published"}
    )
    assert set(ids(results)) == {7, 8, 28, 44}


def test_published_only_hides_drafts_reviews_and_retired(corpus_index):
    everything = corpus_index.search("vpn 809", now=NOW)
    assert set(ids(everything)) == {8, 67}
    published = corpus_index.search("vpn 809", now=NOW, statuses={"published"})
    assert ids(published) == [8]


def test_status_filter_can_select_drafts(corpus_index):
    results = corpus_index.search("radar", now=NOW, statuses={"draft", "in_review"})
    assert ids(results) == [68]


def test_known_errors_only(corpus_index):
    results = corpus_index.search(
        "radar", now=NOW, statuses={"published"}, known_errors_only=True
    )
    assert ids(results) == [5, 43]  # 43 is the Chinese article (雷达: a synonym of radar)
    assert all(hit.is_known_error for hit in results.hits)


def test_services_filter_is_case_insensitive(corpus_index):
    results = corpus_index.search("printer", now=NOW, services={"pos"})
    assert ids(results) == [21]
    assert ids(corpus_index.search("printer", now=NOW, services={"POS"})) == [21]


def test_services_filter_matches_any_of_several(corpus_index):
    results = corpus_index.search("printer", now=NOW, services={"POS", "Printing"})
    assert set(ids(results)) == {21, 35, 36, 59}


def test_language_filter(corpus_index):
    results = corpus_index.search("vpn", now=NOW, languages={"zh"})
    assert ids(results) == [44]


def test_filters_combine(corpus_index):
    results = corpus_index.search(
        "password",
        now=NOW,
        audience={"public"},
        statuses={"published"},
        services={"Identity"},
        languages={"en"},
    )
    assert ids(results) == [9]


@pytest.mark.parametrize("empty", ["audience", "statuses", "services", "languages"])
def test_an_empty_filter_set_matches_nothing(corpus_index, empty):
    results = corpus_index.search("vpn", now=NOW, **{empty: set()})
    assert results.hits == [] and results.total == 0


def test_query_syntax_cannot_reach_filter_fields(corpus_index):
    # "status:draft" is not a field query for users: it is searched as two words.
    results = corpus_index.search("status:draft", now=NOW, statuses={"published"})
    assert all(STATUS[hit.id] == "published" for hit in results.hits)


def test_filters_apply_to_relaxed_and_corrected_queries(corpus_index):
    relaxed = corpus_index.search("radar catering", now=NOW, audience={"public"})
    assert relaxed.hits == []
    corrected = corpus_index.search("pasword", now=NOW, audience={"public"}, statuses={"published"})
    assert corrected.corrected_query == "password"
    assert all(hit.audience == "public" for hit in corrected.hits)


def test_cached_filter_sets_follow_index_changes(empty_index):
    """Broad restrictions are checked against a set cached per searcher: a write must make
    the next search see the new statuses."""
    docs = [kb.ArticleDoc(id=i, title=f"Gate printer jams {i}", resolution="Reseat the roll.",
                          status="published") for i in range(1, 6)]
    empty_index.upsert(docs)
    published = {"published"}
    assert sorted(h.id for h in empty_index.search("printer", now=NOW,
                                                   statuses=published).hits) == [1, 2, 3, 4, 5]
    empty_index.upsert([kb.ArticleDoc(**{**docs[1].__dict__, "status": "retired"})])
    assert sorted(h.id for h in empty_index.search("printer", now=NOW,
                                                   statuses=published).hits) == [1, 3, 4, 5]


def test_broad_and_narrow_restrictions_give_the_same_answer(corpus_index, monkeypatch):
    """The cached-set path (broad) and the intersection path (narrow) agree."""
    from kb import search

    query = dict(now=NOW, audience={"public", "internal"}, statuses={"published"}, limit=20)
    cached = [(h.id, round(h.score, 9)) for h in corpus_index.search("printer jams", **query).hits]
    monkeypatch.setattr(search, "BROAD_FILTER_SHARE", 2.0)  # nothing counts as broad
    search._FILTER_SETS.clear()
    intersected = [(h.id, round(h.score, 9))
                   for h in corpus_index.search("printer jams", **query).hits]
    search._FILTER_SETS.clear()
    assert cached and cached == intersected
