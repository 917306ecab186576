"""Errors raised by the knowledge-base index. Callers catch these, never Whoosh's own."""


class KBError(Exception):
    """Base class of every error kb raises on purpose."""


class IndexUnavailable(KBError):
    """The index directory is missing, corrupt, unreadable or from an older format.

    The application keeps serving (search says "the index is rebuilding") and runs a rebuild;
    ``kb.rebuild_index(path, docs)`` works whatever state the directory is in.
    """


class IndexBusy(KBError):
    """Another writer held the index lock for longer than the caller's timeout.

    Nothing was written; retry later (the outbox entry stays pending).
    """


class InvalidDocument(KBError, ValueError):
    """An article document failed validation; ``field`` names the offending attribute."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message
