"""Whatever a user types, search and suggest answer (possibly with nothing) and never raise."""

import pytest

import kb
from tests.kb.corpus import NOW

BAD = [
    "",
    "   ",
    '"unbalanced quote',
    'printer "jam',
    "(((",
    "vpn)",
    ")(",
    "AND OR",
    "AND",
    "NOT",
    "OR vpn AND",
    "the of and to",
    "的 了 是",
    "*",
    "***",
    "?",
    "pri*",
    "[a TO",
    "{x TO y}",
    "^~",
    "vpn^",
    "vpn~",
    "\\",
    ":",
    "title:",
    "title:()",
    "unknownfield:value",
    'tags:"two words"',
    'services:"departure control"',
    "status:draft",
    "x" * 10_000,
    "vpn " * 5_000,
    "\x00\x01\x02 \x1b[31m red",
    "\ud800 lone surrogate",
    "\u202e reversed",
    "打印机\"卡纸",
    "😀🛫",
    "a" * 300 + " vpn",
    "!@#$%^&*()_+-=[]{}|;':\",./<>?",
    "NOT NOT NOT",
    "-vpn",
    "+vpn",
    "AND(OR)NOT",
]


@pytest.mark.parametrize("query", BAD)
def test_bad_query_never_raises(corpus_index, query):
    results = corpus_index.search(query, now=NOW)
    assert isinstance(results, kb.SearchResults)
    assert len(results.query) <= kb.MAX_QUERY_LENGTH
    assert results.total >= len(results.hits)
    suggestions = corpus_index.suggest(query, now=NOW)
    assert len(suggestions.query) <= kb.MAX_SUGGEST_LENGTH


@pytest.mark.parametrize("query", ["", "   ", "AND OR", "the of and to", "***", ":", "的 了"])
def test_query_with_nothing_searchable_finds_nothing(corpus_index, query):
    results = corpus_index.search(query, now=NOW)
    assert (results.hits, results.total) == ([], 0)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ('"boarding pass printer', 1),
        ("(error 809", 8),
        ("error\x00 809", 8),
        ("bag tag printer " + "x" * 10_000, 2),
        ("vpn client error 809 " * 200, 8),
        ('tags:"error 809"', 8),
        ("radar^ display~ frozen", 5),
    ],
)
def test_damaged_query_is_cleaned_and_still_finds(corpus_index, query, expected):
    results = corpus_index.search(query, now=NOW, statuses={"published"})
    assert [hit.id for hit in results.hits][:1] == [expected]


def test_query_is_truncated_to_the_maximum_length(corpus_index):
    results = corpus_index.search("radar " * 1000, now=NOW)
    assert len(results.query) <= kb.MAX_QUERY_LENGTH
    assert results.query.endswith("radar")


def test_user_text_in_articles_is_escaped_in_highlights(empty_index):
    empty_index.upsert(
        [
            kb.ArticleDoc(
                id=1,
                title="<script>alert(1)</script> printer & scanner",
                symptoms='Printer shows "<b>ERR</b>" & stops',
            )
        ]
    )
    hit = empty_index.search("printer", now=NOW).hits[0]
    assert hit.title_html == (
        "&lt;script&gt;alert(1)&lt;/script&gt; <mark>printer</mark> &amp; scanner"
    )
    assert hit.snippet_html == (
        "<mark>Printer</mark> shows &quot;&lt;b&gt;ERR&lt;/b&gt;&quot; &amp; stops"
    )
