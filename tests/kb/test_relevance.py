"""Relevance on the fixed corpus: the article a desk agent would pick must come first."""

import pytest

from tests.kb.corpus import NOW

PUBLISHED = {"published"}

FIRST = [
    # English
    ("boarding pass printer jam", 1),
    ("bag tag blank labels", 2),
    ("baggage belt stopped", 3),
    ("radar display frozen", 5),
    ("vpn disconnects every hour", 7),
    ("error 809", 8),
    ("reset password", 9),
    ("account locked", 10),
    ("outlook disconnected outbox", 11),
    ("email stuck in outbox", 11),
    ("docking guidance stop too early", 16),
    ("fuel meter not transmitting", 18),
    ("card payment declined", 20),
    ("catering passenger counts", 22),
    ("self service kiosk out of service", 33),
    ("gate reader rejects boarding pass", 34),
    # synonyms
    ("pc slow", 26),
    ("wireless no internet", 14),
    ("wifi no internet", 14),
    ("luggage carousel stopped", 3),
    ("登陆 账号锁定", 56),
    # typos
    ("pasword reset", 9),
    ("docking guidence", 16),
    ("bleu screen", 27),
    # Chinese
    ("打印机卡纸", 41),
    ("卡纸", 41),
    ("行李转盘", 42),
    ("雷达画面冻结", 43),
    ("重置密码", 45),
    ("航显 登机口错误", 52),
    ("收银机", 50),
    ("蓝屏", 54),
    ("登录离港系统", 56),
    # mixed
    ("VPN 断开", 44),
    ("outlook 邮箱已满", 63),
    ("mailbox full", 63),
    ("X光机", 57),
    ("证书警告", 65),
    ("SAP 报销 审批", 66),
]


@pytest.mark.parametrize(("query", "expected"), FIRST)
def test_expected_article_ranks_first(corpus_index, query, expected):
    results = corpus_index.search(query, now=NOW, statuses=PUBLISHED)
    assert [hit.id for hit in results.hits][:1] == [expected]


@pytest.mark.parametrize("query", ["打印机", "卡纸"])
def test_article_about_paper_jams_is_found_by_each_chinese_word(corpus_index, query):
    results = corpus_index.search(query, now=NOW, statuses=PUBLISHED)
    assert 41 in [hit.id for hit in results.hits]


def test_misspelt_query_reports_the_correction(corpus_index):
    results = corpus_index.search("pasword reset", now=NOW, statuses=PUBLISHED)
    assert results.corrected_query == "password reset"
    assert not results.relaxed


def test_correct_query_is_not_corrected(corpus_index):
    assert corpus_index.search("password reset", now=NOW).corrected_query is None


def test_words_are_anded_and_relaxed_to_or_only_when_nothing_matches_all(corpus_index):
    strict = corpus_index.search("radar display", now=NOW, statuses=PUBLISHED)
    assert not strict.relaxed
    assert {hit.id for hit in strict.hits} == {5, 6}
    loose = corpus_index.search("radar catering", now=NOW, statuses=PUBLISHED)
    assert loose.relaxed
    assert {5, 22} <= {hit.id for hit in loose.hits}


def test_english_query_also_finds_chinese_article_through_synonyms(corpus_index):
    results = corpus_index.search("printer", now=NOW, statuses=PUBLISHED, languages={"zh"})
    assert 41 in [hit.id for hit in results.hits]


def test_field_prefix_restricts_to_that_field(corpus_index):
    results = corpus_index.search("title:vpn", now=NOW, statuses=PUBLISHED)
    assert {hit.id for hit in results.hits} == {7, 8, 44}


def test_phrase_query(corpus_index):
    results = corpus_index.search('"shared mailbox"', now=NOW)
    assert [hit.id for hit in results.hits] == [12]


def test_highlights_mark_matches_and_escape_the_rest(corpus_index):
    hit = corpus_index.search("error 809", now=NOW, statuses=PUBLISHED).hits[0]
    assert hit.title_html == "VPN client <mark>error</mark> <mark>809</mark> on hotel networks"
    assert "<mark>809</mark>" in hit.snippet_html
    assert hit.snippet_field == "symptoms"


def test_chinese_highlight(corpus_index):
    hit = corpus_index.search("卡纸", now=NOW, statuses=PUBLISHED).hits[0]
    assert hit.title_html == "登机牌打印机<mark>卡纸</mark>"


def test_hit_carries_the_article_metadata(corpus_index):
    hit = corpus_index.search("vpn disconnects every hour", now=NOW).hits[0]
    assert (hit.id, hit.audience, hit.status, hit.language) == (7, "public", "published", "en")
    assert hit.is_known_error
    assert hit.services == ("vpn",)
    assert hit.tags == ("vpn", "timeout")


def test_paging(corpus_index):
    first = corpus_index.search("printer", now=NOW, limit=2, page=1)
    second = corpus_index.search("printer", now=NOW, limit=2, page=2)
    everything = corpus_index.search("printer", now=NOW, limit=20)
    assert first.total == second.total == everything.total
    assert [h.id for h in first.hits + second.hits] == [h.id for h in everything.hits[:4]]
    assert first.pages == (first.total + 1) // 2
