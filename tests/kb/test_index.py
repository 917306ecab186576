"""Writing, rebuilding and recovering the index directory."""

import os
import threading
from datetime import datetime

import pytest

import kb
from kb.index import IndexDirectory
from tests.kb.corpus import NOW, by_id, corpus


def found(index, query, **filters):
    return [hit.id for hit in index.search(query, now=NOW, **filters).hits]


def test_open_creates_an_empty_index(index_path):
    index = kb.open_index(index_path)
    assert index.doc_count() == 0
    assert index.search("printer", now=NOW).hits == []
    assert (index_path / "CURRENT").read_text().startswith("gen-000001 ")


def test_open_without_create_refuses_a_missing_index(index_path):
    with pytest.raises(kb.IndexUnavailable):
        kb.open_index(index_path, create=False)
    assert not index_path.exists()


def test_upsert_then_search_then_reopen(index_path, empty_index):
    assert empty_index.upsert([by_id(1), by_id(41)]) == 2
    assert found(empty_index, "printer jam") == [1]
    reopened = kb.open_index(index_path)
    assert reopened.doc_count() == 2
    assert reopened.ids() == {1, 41}


def test_upsert_accepts_dicts(empty_index):
    empty_index.upsert([{"id": 9, "title": "Reset your password", "audience": "public"}])
    assert found(empty_index, "password", audience={"public"}) == [9]


def test_upsert_replaces_by_id(empty_index):
    empty_index.upsert([by_id(7)])
    empty_index.upsert([kb.ArticleDoc(id=7, title="Token expired on the VPN portal")])
    assert empty_index.doc_count() == 1
    assert found(empty_index, "disconnects") == []
    assert found(empty_index, "token expired") == [7]


def test_delete(empty_index):
    empty_index.upsert([by_id(1), by_id(2), by_id(3)])
    assert empty_index.delete([2, 999]) == 1
    assert empty_index.ids() == {1, 3}
    assert 2 not in found(empty_index, "bag tag")
    assert empty_index.delete([]) == 0


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"id": 0}, "id"),
        ({"id": "12"}, "id"),
        ({"id": True}, "id"),
        ({"title": "  "}, "title"),
        ({"title": None}, "title"),
        ({"audience": "everyone"}, "audience"),
        ({"status": ""}, "status"),
        ({"tags": "vpn,wifi"}, "tags"),
        ({"services": [None]}, "services"),
        ({"uses": -1}, "uses"),
        ({"helpful": 1.5}, "helpful"),
        ({"is_known_error": "yes"}, "is_known_error"),
        ({"last_used_at": datetime(2025, 1, 1)}, "last_used_at"),
        ({"updated_at": "2025-01-01"}, "updated_at"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_invalid_document_names_the_field_and_writes_nothing(empty_index, changes, field):
    good = {"id": 1, "title": "Printer jam"}
    with pytest.raises(kb.InvalidDocument) as exc:
        empty_index.upsert([good, {**good, "id": 2, **changes}])
    assert exc.value.field == field
    assert empty_index.doc_count() == 0


def test_labels_are_normalised(empty_index):
    empty_index.upsert([kb.ArticleDoc(id=1, title="x", tags=[" VPN ", "vpn", "Bag, Tag"])])
    hit = empty_index.search("x", now=NOW).hits
    assert hit == [] or hit[0].tags == ("vpn", "bag tag")
    assert found(empty_index, "tags:vpn") == [1]


def test_search_requires_an_aware_now(corpus_index):
    with pytest.raises(ValueError):
        corpus_index.search("vpn", now=datetime(2025, 1, 1))


@pytest.mark.parametrize(("limit", "page"), [(0, 1), (10, 0), (-1, 1), ("10", 1)])
def test_bad_paging_arguments_are_programming_errors(corpus_index, limit, page):
    with pytest.raises(ValueError):
        corpus_index.search("vpn", now=NOW, limit=limit, page=page)


def test_pages_beyond_the_result_window_are_empty_but_counted(corpus_index):
    results = corpus_index.search("printer", now=NOW, limit=100, page=11)
    assert results.hits == [] and results.total > 0


def test_another_index_object_sees_writes_after_refresh(index_path, empty_index):
    reader = kb.open_index(index_path)
    assert reader.doc_count() == 0
    empty_index.upsert([by_id(3)])
    assert found(reader, "baggage belt") == [3]
    empty_index.delete([3])
    assert found(reader, "baggage belt") == []


def test_rebuild_replaces_everything_and_reports_progress(index_path, empty_index):
    empty_index.upsert([kb.ArticleDoc(id=500, title="Stale article about printers")])
    seen = []
    count = empty_index.rebuild(corpus(), progress=seen.append)
    assert count == len(corpus())
    assert seen[-1] == count
    assert empty_index.doc_count() == count
    assert 500 not in empty_index.ids()
    assert found(empty_index, "卡纸", statuses={"published"}) == [41]


def test_rebuild_swaps_generations_and_keeps_only_the_previous_one(index_path, empty_index):
    other = kb.open_index(index_path)
    for round_ in range(3):
        empty_index.rebuild([kb.ArticleDoc(id=round_ + 1, title=f"round {round_}")])
    assert IndexDirectory(index_path).generations() == ["gen-000003", "gen-000004"]
    assert other.ids() == {3}  # an index object opened before the swaps follows them


def test_failed_rebuild_leaves_the_live_index_untouched(index_path, empty_index):
    empty_index.upsert([by_id(1)])

    def docs():
        yield by_id(2)
        raise RuntimeError("database went away")

    with pytest.raises(RuntimeError):
        empty_index.rebuild(docs())
    assert empty_index.ids() == {1}
    assert IndexDirectory(index_path).generations() == ["gen-000001"]


def test_rebuild_rejects_duplicate_ids(empty_index):
    with pytest.raises(ValueError):
        empty_index.rebuild([by_id(1), by_id(1)])


def test_rebuild_index_works_on_a_missing_directory(index_path):
    index = kb.rebuild_index(index_path, [by_id(5)])
    assert index.ids() == {5}


def _garbage_pointer(path):
    (path / "CURRENT").write_bytes(b"\x00\xffnot a pointer")


def _pointer_to_nowhere(path):
    (path / "CURRENT").write_text("gen-000099 " + (path / "CURRENT").read_text().split()[1])


def _old_format(path):
    (path / "CURRENT").write_text("gen-000001 0.0\n")


def _pointer_removed(path):
    (path / "CURRENT").unlink()


def _toc_garbage(path):
    for name in os.listdir(path / "gen-000001"):
        if name.endswith(".toc"):
            (path / "gen-000001" / name).write_bytes(b"garbage" * 10)


def _segments_truncated(path):
    for name in os.listdir(path / "gen-000001"):
        if not name.endswith(".toc"):
            with open(path / "gen-000001" / name, "r+b") as fh:
                fh.truncate(7)


def _generation_emptied(path):
    for name in os.listdir(path / "gen-000001"):
        os.unlink(path / "gen-000001" / name)


@pytest.mark.parametrize(
    "damage",
    [
        _garbage_pointer,
        _pointer_to_nowhere,
        _old_format,
        _pointer_removed,
        _toc_garbage,
        _segments_truncated,
        _generation_emptied,
    ],
)
def test_damaged_index_is_unavailable_until_rebuilt(index_path, damage):
    first = kb.open_index(index_path)
    first.upsert(corpus()[:10])
    first.close()
    damage(index_path)

    with pytest.raises(kb.IndexUnavailable):
        kb.open_index(index_path)
    with pytest.raises(kb.IndexUnavailable):
        kb.open_index(index_path, create=False)

    rebuilt = kb.rebuild_index(index_path, corpus())
    assert rebuilt.doc_count() == len(corpus())
    assert found(kb.open_index(index_path), "卡纸", statuses={"published"}) == [41]


def test_open_index_turns_a_pointer_lost_under_a_running_index_into_unavailable(
    index_path, empty_index
):
    empty_index.upsert([by_id(1)])
    _garbage_pointer(index_path)
    with pytest.raises(kb.IndexUnavailable):
        empty_index.search("printer", now=NOW)
    with pytest.raises(kb.IndexUnavailable):
        empty_index.upsert([by_id(2)])
    empty_index.rebuild([by_id(2)])
    assert empty_index.ids() == {2}


def test_directory_with_foreign_files_is_not_taken_over(index_path):
    index_path.mkdir()
    (index_path / "notes.txt").write_text("not an index")
    with pytest.raises(kb.IndexUnavailable):
        kb.open_index(index_path)
    assert (index_path / "notes.txt").exists()


def test_writer_gives_up_with_index_busy_when_the_lock_is_held(index_path, empty_index):
    with IndexDirectory(index_path).write_lock():
        with pytest.raises(kb.IndexBusy):
            empty_index.upsert([by_id(1)], timeout=0.05)
        with pytest.raises(kb.IndexBusy):
            empty_index.delete([1], timeout=0)
    assert empty_index.doc_count() == 0
    empty_index.upsert([by_id(1)])
    assert empty_index.ids() == {1}


def test_threads_can_share_one_index_object_while_it_is_written(empty_index):
    empty_index.upsert(corpus()[:20])
    errors = []

    def reader():
        try:
            for _ in range(12):
                assert empty_index.search("printer", now=NOW).total >= 1
                empty_index.suggest("radar display frozen", now=NOW)
        except Exception as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=reader) for _ in range(4)]
    for thread in threads:
        thread.start()
    try:
        for doc in corpus()[20:30]:
            empty_index.upsert([doc])
    finally:
        for thread in threads:
            thread.join()
    assert errors == []
    assert empty_index.doc_count() == 30


def test_a_file_vanishing_while_the_index_opens_is_retried(monkeypatch):
    """A writer in another process commits while a reader opens the index: Whoosh deletes
    the previous table of contents, so the reader's open fails with FileNotFoundError once;
    opening again reads the new one. A file that stays missing is still IndexUnavailable."""
    from kb import index as kb_index

    monkeypatch.setattr(kb_index.time, "sleep", lambda seconds: None)
    calls = []

    def open_racing_a_commit():
        calls.append(1)
        if len(calls) < 3:
            raise FileNotFoundError(2, "No such file or directory", "_MAIN_0.toc")
        return "opened"

    assert kb_index._guarded(open_racing_a_commit, "cannot open") == "opened"
    assert len(calls) == 3

    def always_missing():
        calls.append(1)
        raise FileNotFoundError(2, "No such file or directory", "_MAIN_7.toc")

    calls.clear()
    with pytest.raises(kb.IndexUnavailable, match="_MAIN_7.toc"):
        kb_index._guarded(always_missing, "cannot open")
    assert len(calls) == kb_index.OPEN_ATTEMPTS

    def corrupt():
        calls.append(1)
        raise EOFError("truncated")

    calls.clear()
    with pytest.raises(kb.IndexUnavailable, match="truncated"):
        kb_index._guarded(corrupt, "cannot open")
    assert len(calls) == 1  # damage is not retried
