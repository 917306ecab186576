"""kb fixtures: indexes on temporary directories, no Flask app."""

from __future__ import annotations

import pytest

import kb
from tests.kb.corpus import corpus


@pytest.fixture(scope="module")
def corpus_index(tmp_path_factory):
    """The fixed corpus, indexed once per test module. Tests using it must not write."""
    index = kb.rebuild_index(tmp_path_factory.mktemp("corpus") / "index", corpus())
    yield index
    index.close()


@pytest.fixture
def index_path(tmp_path):
    return tmp_path / "index"


@pytest.fixture
def empty_index(index_path):
    index = kb.open_index(index_path)
    yield index
    index.close()
