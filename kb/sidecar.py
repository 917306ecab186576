"""Per-segment postings sidecar: ranking data of a segment's common words, precomputed when
the segment is written, so that a word's first search in a process costs no decoding.

Why: ``kb.fastrank`` ranks from decoded posting data (scores by document, an impact-ordered
list, a bit set). Decoding a common word from Whoosh's posting blocks (pickled tuples with
positions, per-posting Python objects) and ordering it costs 60 to 170 ms at 100,000 articles,
paid the first time a process searches that word. The writer has every posting of the
segment in memory, grouped by word, just before writing it (``kb._whoosh``'s posting pool),
so it writes this file next to the segment at almost no cost, and a searcher reads a word's
part with a few ``array.frombytes`` calls.

File ``<segment id>.kbside`` in the segment's directory (written after the segment's files
are assembled, so it is not part of the compound file; Whoosh deletes it with the segment's
other files when a merge drops the segment)::

    MAGIC (8 bytes) | header length (uint32 LE) | header (pickle) | term blocks

The header names the segment (id and document count) (a sidecar of another segment is never
used), the byte order, ``MAX_DEPTH``, and per field the average length ``a0`` the impact order
was computed with; per term (field, text): document frequency, offset, lengths and a CRC-32
of its block. A term block holds, as raw arrays:

* ``ids``: the documents holding the word, ascending (uint32), and ``weights``: Whoosh's
  term weight in each (float32, exactly what Whoosh stores and decodes);
* ``order``: the first ``min(df, MAX_DEPTH)`` documents by ``tf part(a0) * usefulness(doc,
  ref)``, best first (uint32), where ``ref`` (in the header) is the latest use of any document
  of the segment and ``tf part`` is BM25's term-frequency part with average length ``a0``;
* ``checkpoints``: that key at positions 0, 1, 3, 7, ... (2^k - 1) of the order (float64);
* ``bits`` (common words only): the bit set of ``ids`` (little-endian bytes).

After the term blocks, the article id of every document (int64), so that a fresh process
does not decode the segment's ``id`` column either.

Exactness: scores are always computed at query time from ``ids``/``weights`` with the query's
own average length and usefulness, as on the Whoosh path. The order only serves the bound
"a document after position p scores at most checkpoint(p)": with the query's average ``a``,
``tf part(a) <= tf part(a0) * max(1, a / a0)``, and for ``now >= ref`` usefulness(now) <=
usefulness(ref) (it only fades with time), so the searcher multiplies checkpoints by
``max(1, a / a0)`` and the bound stays valid. A query dated before ``ref`` does not use the
order (its words are decoded from Whoosh's postings). As time passes after ``ref`` the bound
loosens (the scan may go deeper, results stay exact) until a merge or rebuild rewrites it. A missing, foreign,
unreadable or corrupt sidecar (bad header, wrong segment, CRC mismatch) is ignored and the
word is decoded from Whoosh's postings as before: never a wrong result.
"""

from __future__ import annotations

import os
import pickle
import struct
import sys
import threading
import zlib
from array import array
from collections import deque
from itertools import repeat
from operator import add, itemgetter, mul, neg, truediv

MAGIC = b"KBSIDE\x01\n"
VERSION = 1
EXTENSION = ".kbside"
#: Fields whose words get sidecar data (the scorable text fields kb.fastrank ranks).
FIELDS = ("content", "title")
#: Words in fewer documents of a segment than this are decoded from Whoosh's postings
#: (cheap enough: a few hundred postings).
MIN_DF = 256
#: Bit sets are stored for words in at least this share of the segment (below that they are
#: built from ``ids`` when loaded, which is cheaper than the bytes they would take).
BITS_SHARE = 1 / 64

_U32 = struct.Struct("<I")


# -- writing (in the index writer) -----------------------------------------------------------


def _checkpoints(keys_in_order) -> array:
    out = array("d")
    p = 1
    n = len(keys_in_order)
    while p - 1 < n:
        out.append(keys_in_order[p - 1])
        p *= 2
    return out


def _bits_bytes(ids, count: int) -> bytes:
    """The bit set of ``ids`` as little-endian bytes (bit d of byte d >> 3)."""
    buf = bytearray(b"0") * count
    deque(map(buf.__setitem__, ids, repeat(49)), 0)
    buf.reverse()
    value = int(buf, 2) if count else 0
    return value.to_bytes((count + 7) // 8, "little")


def build(groups, segment_id: str, doc_count: int, lengths_of, factors, ref: float,
          averages: dict[str, float], max_depth: int, k1: float, b: float,
          byte_to_length, article_ids: array | None = None) -> bytes | None:
    """The sidecar of one segment, or None if no word qualifies.

    ``groups``: iterable of ((fieldname, tbytes), postings) with postings a list of Whoosh
    pool items ``(fieldname, tbytes, docnum, weight, vbytes)`` in ascending docnum order;
    ``lengths_of(fieldname)``: one length byte per document; ``factors``: every document's
    usefulness at time ``ref`` (epoch seconds); ``averages``: the segment's rounded average length per field.
    """
    k = k1 + 1
    terms = {}
    blocks = []
    offset = 0
    tables = {}
    for (fieldname, tbytes), postings in groups:
        df = len(postings)
        if df < MIN_DF or fieldname not in averages:
            continue
        if fieldname not in tables:
            a0 = averages[fieldname]
            table = [k1 * ((1 - b) + b * byte_to_length(x) / a0) for x in range(256)]
            table[0] = k1 * ((1 - b) + b * 1 / a0)
            lengths = lengths_of(fieldname)
            tables[fieldname] = array("d", map(table.__getitem__, lengths)) if lengths \
                else array("d", repeat(table[0], doc_count))
        norms = tables[fieldname]
        ids = array("I", map(itemgetter(2), postings))
        weights = array("f", map(itemgetter(3), postings))
        parts = list(map(truediv, map(mul, weights, repeat(k)),
                         map(add, weights, map(norms.__getitem__, ids))))
        negkeys = list(map(neg, map(mul, parts, map(factors.__getitem__, ids))))
        ranked = sorted(range(df), key=negkeys.__getitem__)[:max_depth]
        order = array("I", map(ids.__getitem__, ranked))
        checkpoints = _checkpoints([-negkeys[i] for i in ranked[: _cp_len(len(ranked))]])
        bits = _bits_bytes(ids, doc_count) if df >= BITS_SHARE * doc_count else b""
        block = b"".join((ids.tobytes(), weights.tobytes(), order.tobytes(),
                          checkpoints.tobytes(), bits))
        terms[(fieldname, tbytes.decode("utf-8"))] = (
            df, offset, len(order), len(checkpoints), len(bits), zlib.crc32(block))
        blocks.append(block)
        offset += len(block)
    if not terms:
        return None
    ids_entry = None
    if article_ids is not None and len(article_ids) == doc_count:
        block = array("q", article_ids).tobytes()
        ids_entry = (offset, len(block), zlib.crc32(block))
        blocks.append(block)
        offset += len(block)
    header = pickle.dumps({
        "version": VERSION,
        "byteorder": sys.byteorder,
        "segment": segment_id,
        "doc_count": doc_count,
        "max_depth": max_depth,
        "ref": float(ref),
        "averages": dict(averages),
        "terms": terms,
        "article_ids": ids_entry,
    }, protocol=4)
    return b"".join((MAGIC, _U32.pack(len(header)), header, *blocks))


def _cp_len(n: int) -> int:
    """Keys needed for the checkpoints of an order of length n (positions up to 2^k - 1)."""
    p = 1
    while p * 2 - 1 < n:
        p *= 2
    return p


def path_for(folder: str, segment_id: str) -> str:
    return os.path.join(folder, segment_id + EXTENSION)


def write(folder: str, segment_id: str, data: bytes) -> None:
    """Write a sidecar atomically (a reader sees the whole file or none)."""
    final = path_for(folder, segment_id)
    tmp = os.path.join(folder, f".{segment_id}.{os.getpid()}.kbside.tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
    os.replace(tmp, final)


# -- reading (in searchers) ------------------------------------------------------------------


class Sidecar:
    """An open sidecar of one segment (read-only, thread-safe: positional reads)."""

    def __init__(self, path: str, segment_id: str, doc_count: int, max_depth: int):
        fd = os.open(path, os.O_RDONLY)
        try:
            head = os.pread(fd, len(MAGIC) + 4, 0)
            if len(head) != len(MAGIC) + 4 or head[: len(MAGIC)] != MAGIC:
                raise ValueError("not a kb sidecar")
            (hlen,) = _U32.unpack(head[len(MAGIC):])
            size = os.fstat(fd).st_size
            if hlen > size:
                raise ValueError("truncated sidecar header")
            header = pickle.loads(os.pread(fd, hlen, len(MAGIC) + 4))
            if (not isinstance(header, dict) or header.get("version") != VERSION
                    or header.get("byteorder") != sys.byteorder
                    or header.get("segment") != segment_id
                    or header.get("doc_count") != doc_count
                    or header.get("max_depth") != max_depth):
                raise ValueError("sidecar of another segment, format or build")
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd
        self._base = len(MAGIC) + 4 + hlen
        self._size = size
        self.terms: dict = header["terms"]
        self.averages: dict = header["averages"]
        self.ref: float = float(header["ref"])
        self._article_ids = header.get("article_ids")
        self.doc_count = doc_count
        self._lock = threading.Lock()

    def close(self) -> None:
        with self._lock:
            if self._fd >= 0:
                os.close(self._fd)
                self._fd = -1

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass

    def _read(self, offset: int, length: int, crc: int) -> bytes | None:
        start = self._base + offset
        if start + length > self._size:
            return None
        with self._lock:
            if self._fd < 0:
                return None
            block = os.pread(self._fd, length, start)
        if len(block) != length or zlib.crc32(block) != crc:
            return None
        return block

    def article_ids(self) -> array | None:
        """The article id of every document of the segment (None if not stored or damaged)."""
        if not self._article_ids:
            return None
        block = self._read(*self._article_ids)
        if block is None or len(block) != 8 * self.doc_count:
            return None
        ids = array("q")
        ids.frombytes(block)
        return ids

    def has(self, fieldname: str, text: str) -> bool:
        return (fieldname, text) in self.terms

    def load(self, fieldname: str, text: str):
        """(ids, weights, order, checkpoints, bits bytes) of a word, or None if the word has
        no block here or its block is damaged."""
        entry = self.terms.get((fieldname, text))
        if entry is None:
            return None
        df, offset, norder, ncp, nbits, crc = entry
        length = 8 * df + 4 * norder + 8 * ncp + nbits
        block = self._read(offset, length, crc)
        if block is None:
            return None
        view = memoryview(block)
        ids = array("I")
        ids.frombytes(view[: 4 * df])
        weights = array("f")
        weights.frombytes(view[4 * df: 8 * df])
        order = array("I")
        order.frombytes(view[8 * df: 8 * df + 4 * norder])
        checkpoints = array("d")
        pos = 8 * df + 4 * norder
        checkpoints.frombytes(view[pos: pos + 8 * ncp])
        bits = bytes(view[pos + 8 * ncp:])
        return ids, weights, order, checkpoints, bits


_open: dict[tuple, object] = {}
_open_lock = threading.Lock()
_OPEN_MAX = 64
_MISSING = object()


def open_for(folder: str | None, seg_key: tuple, max_depth: int) -> Sidecar | None:
    """The sidecar of a segment (``seg_key`` = (segment id, document count)), cached per
    process; None if there is none or it is unusable (the caller decodes Whoosh's postings)."""
    if folder is None:
        return None
    key = (folder, seg_key, max_depth)
    with _open_lock:
        found = _open.get(key)
    if found is not None:
        return None if found is _MISSING else found
    try:
        found = Sidecar(path_for(folder, seg_key[0]), seg_key[0], seg_key[1], max_depth)
    except (OSError, ValueError, EOFError, pickle.UnpicklingError, struct.error,
            AttributeError, TypeError, IndexError, KeyError, ImportError):
        found = _MISSING
    with _open_lock:
        if key not in _open:
            if len(_open) >= _OPEN_MAX:
                _open.pop(next(iter(_open)))
            _open[key] = found
        found = _open[key]
    return None if found is _MISSING else found


def forget_all() -> None:
    """Drop every cached open sidecar (tests)."""
    with _open_lock:
        _open.clear()


def bits_from(ids, count: int) -> int:
    """The bit set (int) of ``ids`` < ``count``."""
    if not ids:
        return 0
    return int.from_bytes(_bits_bytes(ids, max(count, ids[-1] + 1)), "little")
