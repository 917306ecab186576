"""CSV export: rows are encoded as they are read, in chunks, so a million rows never sit in
memory (the generator is what the HTTP response streams)."""
from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from datetime import datetime
from decimal import Decimal

CHUNK_ROWS = 1000


def _cell(value) -> object:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value  # never let a spreadsheet run a cell as a formula
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    return value


def csv_chunks(columns: Iterable[str], rows: Iterable[tuple]) -> Iterator[str]:
    """The header, then the rows, as text chunks of about CHUNK_ROWS lines."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(columns)
    count = 0
    for row in rows:
        writer.writerow([_cell(v) for v in row])
        count += 1
        if count % CHUNK_ROWS == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def json_value(value) -> object:
    """A cell as JSON: ISO-8601 UTC times, money as a string, the rest as is."""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    return value
