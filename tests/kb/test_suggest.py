"""Suggestions for the ticket being typed at the intake form."""

import kb
from tests.kb.corpus import NOW

PUBLISHED = {"published"}


def suggested(index, text, **kwargs):
    return [hit.id for hit in index.suggest(text, now=NOW, statuses=PUBLISHED, **kwargs).hits]


def test_english_description(corpus_index):
    text = (
        "Gate B7: agent says the boarding pass printer keeps jamming after two passes, the "
        "light is blinking orange"
    )
    assert suggested(corpus_index, text)[0] == 1


def test_chinese_description(corpus_index):
    text = "旅客反映到达大厅的行李转盘不转了，行李堆在一起"
    assert suggested(corpus_index, text)[0] == 42


def test_mixed_description(corpus_index):
    text = "Outlook 提示邮箱已满, user cannot receive mail"
    assert suggested(corpus_index, text)[0] == 63


def test_misspelt_description(corpus_index):
    results = corpus_index.suggest(
        "contractor says the vpn keeps disconecting evry hour", now=NOW, statuses=PUBLISHED
    )
    assert results.hits[0].id == 7
    assert "every hour" in results.corrected_query


def test_preferred_service_ranks_its_articles_first(empty_index):
    empty_index.upsert(
        [
            # Same text length in both, so only the preferred service separates them.
            kb.ArticleDoc(id=1, title="Label printer offline", services=["Baggage"]),
            kb.ArticleDoc(id=2, title="Label printer offline", services=["POS"]),
            kb.ArticleDoc(
                id=3,
                title="Shift handover notes",
                body="Among other things the label printer was offline once.",
                services=["POS"],
            ),
        ]
    )
    text = "label printer offline at the counter"
    assert suggested(empty_index, text) == [1, 2, 3]
    assert suggested(empty_index, text, prefer_services=["pos"]) == [2, 1, 3]
    assert suggested(empty_index, text, prefer_services=["Baggage", "Parking"]) == [
        1,
        2,
        3,
    ]


def test_already_linked_articles_are_excluded(corpus_index):
    text = "radar picture frozen on the controller position"
    assert suggested(corpus_index, text)[0] == 5
    assert 5 not in suggested(corpus_index, text, exclude_ids=[5])


def test_filters_apply(corpus_index):
    text = "vpn disconnects every hour, also error 809 at the hotel"
    hits = corpus_index.suggest(text, now=NOW, statuses=PUBLISHED, audience={"public"}).hits
    assert hits and all(hit.audience == "public" for hit in hits)


def test_limit(corpus_index):
    assert len(suggested(corpus_index, "printer", limit=2)) == 2


def test_snippet_shows_the_workaround(corpus_index):
    hit = corpus_index.suggest("docking guidance shows stop too early", now=NOW).hits[0]
    assert hit.id == 16
    assert hit.snippet_field == "resolution"
    assert "marshal" in hit.snippet_html


def test_nothing_to_go_on_suggests_nothing(corpus_index):
    assert suggested(corpus_index, "") == []
    assert suggested(corpus_index, "please help, it does not work") == []


def test_long_description_is_handled(corpus_index):
    text = "The radar display freezes. " + "Lorem ipsum dolor sit amet. " * 2000
    assert suggested(corpus_index, text)[0] == 5


def test_suggest_on_an_empty_index(empty_index):
    assert empty_index.suggest("printer jam", now=NOW).hits == []


def test_very_common_words_are_left_out_while_rarer_ones_remain(empty_index, monkeypatch):
    from kb import search

    monkeypatch.setattr(search, "SUGGEST_COMMON_MIN_DOCS", 1)
    monkeypatch.setattr(search, "SUGGEST_COMMON_SHARE", 0.5)
    docs = [kb.ArticleDoc(id=i, title=f"Office printer {i}", resolution="Restart it.")
            for i in range(1, 9)]
    docs.append(kb.ArticleDoc(id=9, title="Printer paper jam", resolution="Open the tray."))
    empty_index.upsert(docs)
    found = empty_index.suggest("the printer has a paper jam", now=NOW)
    assert [h.id for h in found.hits] == [9] and found.total == 1  # "printer": 9 of 9
    only_common = empty_index.suggest("printer", now=NOW)  # nothing rarer: kept
    assert only_common.total == 9
