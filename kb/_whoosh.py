"""Small speed fixes to whoosh-reloaded 2.7.5, applied once when kb is imported.

``W3PerDocReader.doc_field_length`` is called for every posting of every field while a segment
is written (and for every scored document at query time). For a field without lengths (not
scorable: ``spell``, ``tags``, the ID fields) it checked the file system each time (a ``stat``
per posting), and for the others it went through the column reader per document. Here the
lengths of a field are read once per segment reader into a ``bytes`` (one byte per document,
Whoosh's own encoding) and "no lengths" is remembered. Results are identical.
"""

from __future__ import annotations

from whoosh.codec import whoosh3
from whoosh.util.numeric import byte_to_length

_NO_LENGTHS = b""


def _field_lengths(self, fieldname: str) -> bytes | None:
    cache = self.__dict__.get("_kb_lengths")
    if cache is None:
        cache = self.__dict__["_kb_lengths"] = {}
    lengths = cache.get(fieldname)
    if lengths is None:
        column = self._cached_reader(whoosh3._lenfield(fieldname), whoosh3.LENGTHS_COLUMN)
        if column is None:
            lengths = _NO_LENGTHS
        else:
            lengths = bytes(column[d] for d in range(self._doccount))
        cache[fieldname] = lengths
    return lengths


def _doc_field_length(self, docnum, fieldname, default=0):
    if docnum > self._doccount:
        raise IndexError("Asked for docnum %r of %d" % (docnum, self._doccount))
    lengths = _field_lengths(self, fieldname)
    if lengths is _NO_LENGTHS:
        return default
    lbyte = lengths[docnum]
    if lbyte:
        return byte_to_length(lbyte)
    return None  # as Whoosh does for a zero length byte


def apply() -> None:
    if getattr(whoosh3.W3PerDocReader, "_kb_patched", False):
        return
    whoosh3.W3PerDocReader.doc_field_length = _doc_field_length
    whoosh3.W3PerDocReader.field_lengths = _field_lengths
    whoosh3.W3PerDocReader._kb_patched = True


apply()
