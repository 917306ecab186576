"""What the benches share: a fresh, empty database of either kind for one run.

    from _db import database          # bench/ is on sys.path when a bench runs as a script

    with database("sqlite", "sweep") as url: ...
"""
from __future__ import annotations

import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator


@contextmanager
def database(kind: str, name: str, keep: str | None = None) -> Iterator[str]:
    """The SQLAlchemy URL of a fresh, empty database of ``kind``, removed afterwards: a
    temporary SQLite file ``<name>.db``, or a scratch PostgreSQL database ``sd_<name>bench_...``
    on the server the tests use (``tests.postgres.scratch``). ``keep``: an existing database
    URL to use instead and leave in place (built once, timed many times)."""
    if keep:
        yield keep
    elif kind == "sqlite":
        with tempfile.TemporaryDirectory(prefix=f"sd_{name}_") as folder:
            yield f"sqlite:///{Path(folder) / f'{name}.db'}"
    elif kind == "postgresql":
        from tests.postgres.scratch import scratch_database, unreachable_reason

        reason = unreachable_reason()
        if reason:
            raise SystemExit(f"cannot run the PostgreSQL part: {reason}")
        with scratch_database(f"sd_{name}bench") as url:
            yield url
    else:
        raise SystemExit(f"unknown database {kind!r}: use sqlite or postgresql")
