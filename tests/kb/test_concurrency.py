"""Several processes writing one index: every update lands, none is lost."""

import multiprocessing

import kb
from tests.kb.corpus import NOW

WRITERS = 4
DOCS_PER_WRITER = 12

_fork = multiprocessing.get_context("fork")


def article(doc_id, word):
    return kb.ArticleDoc(id=doc_id, title=f"Concurrent article {doc_id}", body=word)


def _write_one_by_one(path, writer_no):
    index = kb.open_index(path)
    base = (writer_no + 1) * 1000
    for i in range(DOCS_PER_WRITER):
        index.upsert([article(base + i, f"writer{writer_no}")], timeout=60)
    # Overwrite one of our own and delete another: updates and deletes race too.
    index.upsert([kb.ArticleDoc(id=base, title="Rewritten", body=f"writer{writer_no}")])
    index.delete([base + 1], timeout=60)


def _run(processes):
    for process in processes:
        process.start()
    for process in processes:
        process.join(120)
    assert [p.exitcode for p in processes] == [0] * len(processes)


def test_parallel_writer_processes_lose_no_update(index_path):
    kb.open_index(index_path).close()
    _run([_fork.Process(target=_write_one_by_one, args=(index_path, n)) for n in range(WRITERS)])

    index = kb.open_index(index_path)
    bases = [(n + 1) * 1000 for n in range(WRITERS)]
    expected = {base + i for base in bases for i in range(DOCS_PER_WRITER)}
    expected -= {base + 1 for base in bases}
    assert index.ids() == expected
    for n in range(WRITERS):
        hits = index.search(f"writer{n}", now=NOW, limit=50).hits
        assert len(hits) == DOCS_PER_WRITER - 1
        assert [h.title for h in hits if h.id == bases[n]] == ["Rewritten"]


def _read_while_others_write(path, done):
    """Open the index and search it again and again until the writers are done: a commit in
    another process must never make opening or searching fail."""
    while not done.is_set():
        index = kb.open_index(path)
        index.search("writer0", now=NOW, limit=5)
        index.close()


def test_readers_opening_the_index_while_writers_commit_never_fail(index_path):
    kb.open_index(index_path).close()
    done = _fork.Event()
    readers = [_fork.Process(target=_read_while_others_write, args=(index_path, done))
               for _ in range(2)]
    for reader in readers:
        reader.start()
    _run([_fork.Process(target=_write_one_by_one, args=(index_path, n)) for n in range(2)])
    done.set()
    for reader in readers:
        reader.join(60)
    assert [r.exitcode for r in readers] == [0, 0]


def _rebuild(path, locked, go):
    def docs():
        yield article(1, "rebuilt")
        locked.set()  # the rebuild holds the write lock while it reads its input
        go.wait(60)
        for doc_id in range(2, 200):
            yield article(doc_id, "rebuilt")

    kb.open_index(path).rebuild(docs(), procs=1)


def _write_during_rebuild(path, writer_no, locked, started):
    locked.wait(60)
    started.release()
    index = kb.open_index(path)
    for i in range(3):
        index.upsert([article(10_000 + writer_no * 10 + i, "during")], timeout=60)


def test_updates_sent_during_a_rebuild_are_applied_after_it(index_path):
    index = kb.open_index(index_path)
    index.upsert([article(9_999, "before")])
    locked, go = _fork.Event(), _fork.Event()
    started = _fork.Semaphore(0)
    rebuild = _fork.Process(target=_rebuild, args=(index_path, locked, go))
    writers = [
        _fork.Process(target=_write_during_rebuild, args=(index_path, n, locked, started))
        for n in range(3)
    ]
    for process in [rebuild, *writers]:
        process.start()
    for _ in writers:
        assert started.acquire(timeout=60)
    go.set()
    for process in [rebuild, *writers]:
        process.join(120)
    assert [p.exitcode for p in [rebuild, *writers]] == [0, 0, 0, 0]

    during = {10_000 + n * 10 + i for n in range(3) for i in range(3)}
    # The rebuild's input replaced the old content; nothing sent during it was lost.
    assert index.ids() == set(range(1, 200)) | during
