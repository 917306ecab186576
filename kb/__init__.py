"""The knowledge-base search engine: a small interface over a Whoosh index.

kb knows nothing of Flask or of the application's models: it indexes plain ``ArticleDoc``
values (or dicts of their fields) into a directory and answers searches. Callers never import
whoosh or jieba. Typical use::

    import kb

    index = kb.open_index(instance_path / "kb-index")        # once per process
    index.search("vpn timeout", now=now, audience={"public"}, statuses={"published"})
    index.suggest(title + "\\n" + description, now=now, statuses={"published"})

    # in the single indexer process (outbox consumer, CLI):
    index.upsert([kb.ArticleDoc(id=7, title="...", ...)])
    index.delete([8])
    kb.rebuild_index(path, all_docs, progress=bar.update)

Failure modes the application handles: ``IndexUnavailable`` (missing, corrupt or outdated
index: show "search is being rebuilt" and run a rebuild), ``IndexBusy`` (another writer kept
the lock: leave the outbox entry for the next run), ``InvalidDocument`` (a field of an article
failed validation; ``.field`` names it).

Writes: one writer at a time, enforced by a lock file (see ``kb.index``). Web workers must not
write: they record an outbox entry and the indexer applies it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from kb import _whoosh  # noqa: F401  (speed fixes to Whoosh, see the module)
from kb.errors import IndexBusy, IndexUnavailable, InvalidDocument, KBError
from kb.index import REBUILD_LIMITMB, WRITE_TIMEOUT, IndexDirectory, KnowledgeIndex
from kb.schema import AUDIENCES, ArticleDoc
from kb.search import (
    DOMINANCE_RATIO,
    MAX_QUERY_LENGTH,
    MAX_SUGGEST_LENGTH,
    Hit,
    SearchResults,
    usefulness,
)

__all__ = [
    "AUDIENCES",
    "DOMINANCE_RATIO",
    "MAX_QUERY_LENGTH",
    "MAX_SUGGEST_LENGTH",
    "ArticleDoc",
    "Hit",
    "IndexBusy",
    "IndexUnavailable",
    "InvalidDocument",
    "KBError",
    "KnowledgeIndex",
    "SearchResults",
    "open_index",
    "rebuild_index",
    "usefulness",
]


def open_index(path: str | os.PathLike[str], *, create: bool = True) -> KnowledgeIndex:
    """Open the index at ``path``, creating an empty one if the directory is missing or empty
    (unless ``create=False``).

    Raises IndexUnavailable if there is something at ``path`` that is not a readable index of
    the current format (corrupt files, a half-deleted directory, an older format). The
    directory is never modified in that case; ``rebuild_index`` replaces it.
    """
    directory = IndexDirectory(path)
    if create:
        try:
            directory.create_if_blank()
        except OSError as exc:
            raise IndexUnavailable(f"cannot create an index at {path}: {exc}") from exc
    index = KnowledgeIndex(directory)
    index.check()  # unreadable indexes fail here, not in the middle of a request
    return index


def rebuild_index(
    path: str | os.PathLike[str],
    docs: Iterable[ArticleDoc | Mapping[str, Any]],
    progress: Callable[[int], None] | None = None,
    *,
    procs: int | None = None,
    limitmb: int = REBUILD_LIMITMB,
    lock_timeout: float = 600.0,
) -> KnowledgeIndex:
    """Build a complete index of ``docs`` at ``path`` whatever is there now, and open it.

    The way out of IndexUnavailable. See ``KnowledgeIndex.rebuild`` for the parameters.
    """
    directory = IndexDirectory(path)
    index = KnowledgeIndex(directory)
    index.rebuild(docs, progress, procs=procs, limitmb=limitmb, lock_timeout=lock_timeout)
    index.doc_count()
    return index
