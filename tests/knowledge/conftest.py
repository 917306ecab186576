"""Knowledge fixtures: an index directory per test and a drain helper."""
from __future__ import annotations

import pytest

from servicedesk.knowledge import indexing


@pytest.fixture
def kb_dir(app, tmp_path):
    """Point the app at a fresh index directory for this test (and forget the cached one)."""
    path = tmp_path / "kb-index"
    saved = app.config["KB_INDEX_DIR"]
    app.config["KB_INDEX_DIR"] = str(path)
    indexing.forget_index(app)
    yield path
    indexing.forget_index(app)
    app.config["KB_INDEX_DIR"] = saved


@pytest.fixture
def drain(db, clock, kb_dir):
    """``drain()`` applies the outbox to this test's index directory."""
    return lambda **kw: indexing.drain(db, now=clock.now(), index_dir=kb_dir, **kw)
