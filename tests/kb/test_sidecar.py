"""Postings sidecars (kb.sidecar): written with every segment, used by kb.fastrank, never a
wrong result.

The fixed corpus is small, so the sidecar's document-frequency threshold is lowered while
the index is built (otherwise no word would get sidecar data). Results with the sidecars
must equal Whoosh's matchers (as in test_fastrank); a missing, foreign, damaged or
unreadable sidecar must be ignored (same results, decoded from Whoosh's postings).
"""

from __future__ import annotations

import dataclasses
import glob
import os
import shutil

import pytest

import kb
import kb.search as search
from kb import fastrank, sidecar
from kb._whoosh import GroupingPool
from tests.kb.corpus import NOW
from tests.kb.test_fastrank import (FILTERS, QUERIES, _both, _copies, _summary,
                                    assert_numpy_scoring_is_exact)

SUGGEST_TEXTS = ["The boarding pass printer at gate B12 jams, agent cannot board",
                 "VPN keeps disconnecting with a timeout after login",
                 "登机口的打印机卡纸，请现场工程师检查"]


def _build(path):
    docs = _copies()
    index = kb.rebuild_index(path, docs[: len(docs) // 2])
    index.upsert(docs[len(docs) // 2:])
    index.upsert([dataclasses.replace(d, uses=d.uses + 5, last_used_at=NOW)
                  for d in docs[::17]])
    index.delete([d.id for d in docs[5::23]])
    return index


@pytest.fixture(scope="module")
def side_index(tmp_path_factory):
    """A multi-segment index whose segments have sidecars (threshold lowered)."""
    saved = sidecar.MIN_DF
    sidecar.MIN_DF = 2
    try:
        index = _build(tmp_path_factory.mktemp("sidecar") / "index")
    finally:
        sidecar.MIN_DF = saved
    yield index
    index.close()


@pytest.fixture
def fresh(monkeypatch):
    """Empty posting caches and open sidecars before and after; count sidecar loads."""
    fastrank.clear_cache()
    sidecar.forget_all()
    used = []
    real = fastrank._sidecar_term

    def spy(*args):
        data = real(*args)
        used.append(data is not None)
        return data

    monkeypatch.setattr(fastrank, "_sidecar_term", spy)
    yield used
    fastrank.clear_cache()
    sidecar.forget_all()


def _sidecar_files(index) -> list[str]:
    return sorted(glob.glob(str(index.path / "gen-*" / f"*{sidecar.EXTENSION}")))


def _segment_ids(index) -> list[str]:
    with index._holder.use() as searcher:
        return [leaf.segment().segment_id() for leaf, _ in searcher.reader().leaf_readers()]


def _compare(index, monkeypatch, queries=QUERIES, filters_list=FILTERS):
    for filters in filters_list:
        for query in queries:
            fast, slow, _ = _both(monkeypatch, lambda: index.search(
                query, now=NOW, limit=10, **filters))
            assert _summary(fast) == _summary(slow), (query, filters)
            assert fast.total >= slow.total
    for text in SUGGEST_TEXTS:
        fast, slow, _ = _both(monkeypatch, lambda: index.suggest(
            text, now=NOW, statuses={"published"}, prefer_services=("VPN",), limit=8))
        assert _summary(fast) == _summary(slow), text


def test_every_live_segment_written_by_kb_has_a_sidecar(side_index):
    names = {os.path.basename(p)[: -len(sidecar.EXTENSION)] for p in _sidecar_files(side_index)}
    segments = _segment_ids(side_index)
    assert len(segments) >= 2
    assert set(segments) <= names


@pytest.mark.parametrize("mode", ["default", "deepening", "every-match-dense"])
def test_ranking_with_sidecars_equals_whoosh(side_index, monkeypatch, fresh, mode):
    if mode == "deepening":  # candidates from depth 1, deepening by 4: every checkpoint
        monkeypatch.setattr(fastrank, "DIRECT_LIMIT", 0)  # bound is exercised
        monkeypatch.setattr(fastrank, "FIRST_DEPTH", 1)
    if mode == "every-match-dense":  # every match scored, sidecar words made dense first
        monkeypatch.setattr(fastrank, "DIRECT_LIMIT", 10**9)
        monkeypatch.setattr(fastrank, "DENSE_MIN", 1)
        monkeypatch.setattr(fastrank, "DENSE_RATIO", 10**6)
    _compare(side_index, monkeypatch)
    assert sum(fresh) > 20  # the sidecars were used


@pytest.mark.parametrize("dense", [False, True], ids=["sidecar-words", "dense-words"])
def test_numpy_scoring_of_sidecar_words_is_exact(side_index, monkeypatch, fresh, dense):
    monkeypatch.setattr(fastrank, "DIRECT_LIMIT", 10**9)  # every match scored
    if dense:  # sidecar words made dense first; else looked up in their sorted ids
        monkeypatch.setattr(fastrank, "DENSE_MIN", 1)
        monkeypatch.setattr(fastrank, "DENSE_RATIO", 10**6)
    assert_numpy_scoring_is_exact(side_index, monkeypatch)
    assert sum(fresh) > 20  # the sidecars were used


def test_other_average_length_keeps_bounds_valid(side_index, monkeypatch, fresh):
    # The index's average grows or shrinks after the sidecars were written: scores use the
    # new average on both paths, sidecar bounds are scaled and must stay exact.
    monkeypatch.setattr(fastrank, "DIRECT_LIMIT", 0)
    monkeypatch.setattr(fastrank, "FIRST_DEPTH", 1)
    real = fastrank.rounded_average
    for shift in (+7.0, -3.0):
        fastrank.clear_cache()
        monkeypatch.setattr(fastrank, "rounded_average",
                            lambda s, f, shift=shift: max(1.0, real(s, f) + shift))
        _compare(side_index, monkeypatch, QUERIES[:12], FILTERS[:2])
    assert sum(fresh) > 0


def _copy_index(src, dst):
    shutil.copytree(src.path, dst)
    return kb.open_index(dst, create=False)


def test_missing_sidecars_fall_back(side_index, tmp_path, monkeypatch, fresh):
    index = _copy_index(side_index, tmp_path / "copy")
    try:
        for path in _sidecar_files(index):
            os.remove(path)
        _compare(index, monkeypatch, QUERIES[:10], FILTERS[:2])
        assert not any(fresh)
    finally:
        index.close()


def test_damaged_sidecar_blocks_fall_back(side_index, tmp_path, monkeypatch, fresh):
    index = _copy_index(side_index, tmp_path / "copy")
    try:
        for path in _sidecar_files(index):
            with open(path, "r+b") as fh:
                size = os.path.getsize(path)
                # Overwrite the term data after the header (CRC mismatch for those words).
                fh.seek(size // 2)
                fh.write(b"\xff" * min(4096, size // 2))
        _compare(index, monkeypatch, QUERIES[:12], FILTERS[:2])
    finally:
        index.close()


@pytest.mark.parametrize("damage", ["garbage", "truncated", "empty"])
def test_unreadable_sidecars_are_ignored(side_index, tmp_path, monkeypatch, fresh, damage):
    index = _copy_index(side_index, tmp_path / "copy")
    try:
        for path in _sidecar_files(index):
            if damage == "garbage":
                data = b"not a sidecar" * 50
            elif damage == "truncated":
                with open(path, "rb") as fh:
                    data = fh.read(40)
            else:
                data = b""
            with open(path, "wb") as fh:
                fh.write(data)
        _compare(index, monkeypatch, QUERIES[:10], FILTERS[:2])
        assert not any(fresh)
    finally:
        index.close()


def test_a_foreign_sidecar_is_not_used(side_index, tmp_path, monkeypatch, fresh):
    # Another segment's sidecar under this segment's name (say, a stale copy): its header
    # names the other segment, so it is ignored.
    index = _copy_index(side_index, tmp_path / "copy")
    try:
        files = _sidecar_files(index)
        assert len(files) >= 2
        first = files[0]
        for other in files[1:]:
            shutil.copyfile(first, other)
        owners = {os.path.basename(first)[: -len(sidecar.EXTENSION)]}
        _compare(index, monkeypatch, QUERIES[:10], FILTERS[:2])
        with index._holder.use() as searcher:
            for leaf, _ in searcher.reader().leaf_readers():
                key = fastrank.segment_key(leaf)
                found = sidecar.open_for(fastrank._folder(leaf), key, fastrank.MAX_DEPTH)
                assert (found is not None) == (key[0] in owners)
    finally:
        index.close()


def test_merged_segments_get_a_fresh_sidecar_and_old_ones_go(tmp_path, monkeypatch, fresh):
    monkeypatch.setattr(sidecar, "MIN_DF", 2)
    index = _build(tmp_path / "index")
    try:
        before = set(_sidecar_files(index))
        # An optimising write merges every segment into one; Whoosh deletes the files of
        # the segments it replaced, sidecars included.
        from whoosh.writing import OPTIMIZE
        with index._directory.write_lock():
            ix = index._directory.open_generation(index._directory.read_pointer())
            writer = ix.writer()
            writer.commit(mergetype=OPTIMIZE)
        segments = _segment_ids(index)
        after = set(_sidecar_files(index))
        assert len(segments) == 1
        assert {os.path.basename(p)[: -len(sidecar.EXTENSION)] for p in after} == set(segments)
        assert not before & after
        _compare(index, monkeypatch, QUERIES[:12], FILTERS[:2])
        assert any(fresh)
    finally:
        index.close()


def test_grouping_pool_yields_whoosh_order(tmp_path):
    from whoosh.filedb.filestore import FileStorage
    from whoosh.writing import PostingPool

    storage = FileStorage(str(tmp_path))
    items = []
    for doc in range(60):
        for term in (b"b", b"a", b"c%d" % (doc % 7)):
            items.append(("content", term, doc, 1.0 + doc % 3, b"v%d" % doc))
        items.append(("title", b"a", doc, 2.0, b""))
    items.append(("content", b"a", 3, 9.0, b"late"))  # out of docnum order: sorted
    items.append(("spell", b"z", 0, 1, None))
    items.append(("spell", b"z", 0, 1, None))
    expected = sorted(items)
    for limitmb in (64, 0.001):  # in memory, and spilled to runs every few postings
        pool = GroupingPool(storage, None, limitmb=limitmb)
        for item in items:
            pool.add(item)
        assert list(pool.items()) == expected
        assert pool.spilled == (limitmb < 1)
        pool.cleanup()
    reference = PostingPool(storage, None, limitmb=64)
    for item in items:
        reference.add(item)
    assert list(reference.items()) == expected


def test_queries_dated_before_a_sidecars_latest_use_do_not_use_its_order(
        side_index, monkeypatch, fresh):
    # The order bounds usefulness from the segment's latest use on; an earlier query time
    # decodes the words instead (and ranks exactly).
    from datetime import timedelta

    with side_index._holder.use() as searcher:
        refs = [sidecar.open_for(fastrank._folder(leaf), fastrank.segment_key(leaf),
                                 fastrank.MAX_DEPTH).ref
                for leaf, _ in searcher.reader().leaf_readers()]
    assert min(refs) > 0
    earlier = NOW - timedelta(days=60)
    assert earlier.timestamp() < min(refs)
    for query in QUERIES[:10]:
        fast, slow, _ = _both(monkeypatch, lambda: side_index.search(query, now=earlier))
        assert _summary(fast) == _summary(slow), query
    assert not any(fresh)
    # Later queries use it again (the cached decoded data is replaced once stale).
    later = NOW + timedelta(days=3)
    for query in QUERIES[:10]:
        fast, slow, _ = _both(monkeypatch, lambda: side_index.search(query, now=later))
        assert _summary(fast) == _summary(slow), query
    assert any(fresh)


def _segment_files(index, extensions=(".pst", ".trm")) -> list[bytes]:
    with index._holder.use() as searcher:
        out = []
        for leaf, _ in searcher.reader().leaf_readers():
            segment = leaf.segment()
            storage = segment.open_compound_file(leaf._storage.b) if segment.is_compound() \
                else leaf._storage
            for ext in extensions:
                with storage.open_file(segment.make_filename(ext)) as fh:
                    out.append(fh.read())
        return out


def test_grouped_posting_writes_equal_whoosh_bytes(tmp_path, monkeypatch):
    # The block-wise writer produces byte-identical postings and term files.
    import kb._whoosh as patched

    docs = _copies()
    files = {}
    for grouped in (True, False):
        monkeypatch.setattr(patched, "GROUPED_WRITES", grouped)
        index = kb.rebuild_index(tmp_path / f"index-{grouped}", docs, procs=1)
        try:
            files[grouped] = _segment_files(index)
        finally:
            index.close()
    assert len(files[True]) == 2 and all(files[True])
    assert files[True] == files[False]


def test_sidecar_article_ids_match_the_id_column(side_index, fresh):
    from array import array

    with side_index._holder.use() as searcher:
        for leaf, _ in searcher.reader().leaf_readers():
            side = sidecar.open_for(fastrank._folder(leaf), fastrank.segment_key(leaf),
                                    fastrank.MAX_DEPTH)
            column = leaf.column_reader("id")
            expected = array("q", (int(v) for v in column))
            assert side.article_ids() == expected
            assert fastrank.article_ids(leaf, fastrank.segment_key(leaf)) == expected


def test_field_lengths_read_in_one_go_equal_the_column(side_index):
    with side_index._holder.use() as searcher:
        for leaf, _ in searcher.reader().leaf_readers():
            perdoc = leaf._perdoc
            for name in ("content", "title"):
                fast = perdoc.field_lengths(name)
                column = perdoc._cached_reader(f"_{name}_len", perdoc_lengths_column())
                slow = bytes(column[d] for d in range(leaf.doc_count_all()))
                assert fast == slow and len(fast) == leaf.doc_count_all()


def perdoc_lengths_column():
    from whoosh.codec import whoosh3

    return whoosh3.LENGTHS_COLUMN
