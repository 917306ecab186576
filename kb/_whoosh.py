"""Small speed fixes to whoosh-reloaded 2.7.5, applied once when kb is imported.

Field lengths
-------------

``W3PerDocReader.doc_field_length`` is called for every posting of every field while a segment
is written (and for every scored document at query time). For a field without lengths (not
scorable: ``spell``, ``tags``, the ID fields) it checked the file system each time (a ``stat``
per posting), and for the others it went through the column reader per document. Here the
lengths of a field are read once per segment reader into a ``bytes`` (one byte per document,
Whoosh's own encoding, copied from the column file in one read) and "no lengths" is
remembered. Results are identical.

Posting pool
------------
A segment writer collects every posting ``(field, term, docnum, weight, value)`` in a pool
and writes them sorted by field and term. Whoosh's pool keeps one flat list, sorts all of it
(tuple comparisons over millions of postings) and, past ``limitmb``, pickles sorted runs to
temporary files and merges them back posting by posting: at 100,000 articles that spill cost
a third of a rebuild's CPU. ``GroupingPool`` groups postings by (field, term) as they arrive
(documents arrive in docnum order, so each group is already sorted; a group that is not is
sorted), sorts only the distinct terms, and spills sorted runs the way Whoosh does only past
its own ``limitmb`` estimate. It yields the same postings in the same order.

Numeric columns
---------------
``numeric_column`` reads a whole per-document numeric column of a segment (the usage figures
the ranking multiplies in) into an ``array`` with one read, instead of one file read and one
``struct`` unpack per document asked for.

Sidecars
--------
When a segment writer has flushed its postings from an unspilled pool, it builds the
segment's postings sidecar (``kb.sidecar``) from the pool's groups and writes it next to the
segment once the segment's files are assembled.
"""

from __future__ import annotations

import sys
from array import array
from itertools import repeat
from operator import itemgetter

from whoosh import columns, writing
from whoosh.codec import whoosh3
from whoosh.util.numeric import byte_to_length

from kb import sidecar

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
        elif type(column) is columns.NumericColumn.Reader and column._typecode == "B":
            # One unsigned byte per document, stored contiguously; documents past the
            # stored count have the default 0 (what column[d] answers for them).
            count = max(0, min(column._count, self._doccount))
            lengths = bytes(column._dbfile.get(column._basepos, count)) \
                + bytes(self._doccount - count)
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


def numeric_column(reader, fieldname: str) -> array | None:
    """Every document's value of a ``NumericColumn`` field in one segment reader, as an
    ``array`` (documents past the stored count, or a segment without the column, take the
    column's default); None where the column is of another kind (read it per document)."""
    count = reader.doc_count_all()
    column = reader.column_reader(fieldname, translate=False)
    if type(column) is columns.EmptyColumnReader:
        typecode = reader.schema[fieldname].column_type._typecode
        return array(typecode, repeat(column._default, count))
    if type(column) is not columns.NumericColumn.Reader:
        return None
    values = array(column._typecode)
    if values.itemsize != column._fixedlen:  # a platform size other than struct's standard
        return None
    stored = max(0, min(column._count, count))
    values.frombytes(column._dbfile.get(column._basepos, stored * column._fixedlen))
    if sys.byteorder == "little":  # stored big-endian ("!")
        values.byteswap()
    values.extend(repeat(column._default, count - stored))
    return values


class GroupingPool(writing.PostingPool):
    """Whoosh's posting pool, grouping postings by (field, term) instead of sorting them all
    (see the module docstring). Same interface and output as ``whoosh.writing.PostingPool``."""

    #: Estimated bytes per pooled posting besides its value bytes (tuple, list slot, int,
    #: float); Whoosh's own estimate is similar.
    POSTING_BYTES = 160
    TERM_BYTES = 200

    def __init__(self, tempstore, segment, limitmb=128, **kwargs):
        super().__init__(tempstore, segment, limitmb=limitmb, **kwargs)
        self.groups: dict[tuple, list] = {}
        self._unsorted: set[tuple] = set()
        self.spilled = False

    def add(self, item):
        key = (item[0], item[1])
        group = self.groups.get(key)
        value = item[4]
        size = self.POSTING_BYTES + (len(value) if value else 0)
        if group is None:
            self.groups[key] = [item]
            self.fieldnames.add(item[0])
            size += self.TERM_BYTES + len(item[1])
        else:
            if item[2] <= group[-1][2]:
                self._unsorted.add(key)
            group.append(item)
        self.currentsize += size
        if self.currentsize > self.limit:
            self.save()

    def sorted_groups(self):
        """((field, term), postings) in Whoosh's order, each group sorted."""
        groups, unsorted = self.groups, self._unsorted
        for key in sorted(groups):
            group = groups[key]
            if key in unsorted:
                group.sort()
                unsorted.discard(key)
            yield key, group

    def _sorted_items(self):
        for _, group in self.sorted_groups():
            yield from group

    def save(self):
        if not self.groups:
            return
        path, f = self._new_run()
        self._write_run(f, self._sorted_items())
        self._add_run(path)
        self.groups, self._unsorted = {}, set()
        self.currentsize = 0
        self.spilled = True

    def items(self, maxfiles=128):
        if not self.runs:
            return self._sorted_items()
        self.save()
        if maxfiles < len(self.runs):
            self.reduce_to(maxfiles, maxfiles)
        runs = self.runs
        self.runs = []
        return self._merge_runs(runs)

    def cleanup(self):
        super().cleanup()
        self.groups, self._unsorted = {}, set()


_USAGE_FIELDS = ("uses", "helpful", "unhelpful", "last_used")


def _build_sidecar(writer, pdr) -> bytes | None:
    """The sidecar of the segment ``writer`` just flushed (None if not applicable)."""
    pool = writer.pool
    schema = writer.schema
    if not isinstance(pool, GroupingPool) or pool.spilled or pool.runs:
        return None
    if any(name not in schema for name in _USAGE_FIELDS + sidecar.FIELDS):
        return None
    from kb import fastrank
    from kb.search import usefulness

    count = pdr.doc_count_all()
    if not count:
        return None
    columns = [list(pdr.column_reader(name, schema[name].column_type))
               if pdr.has_column(name) else [0] * count for name in _USAGE_FIELDS]
    # The impact order's usefulness is taken at the segment's latest use: usefulness only
    # fades as time passes, so it bounds the factor of any query at or after that time.
    ref = float(max((last for u, last in zip(columns[0], columns[3]) if u > 0 and last > 0),
                    default=0))
    factors = [usefulness(u, h, n, last, ref) for u, h, n, last in zip(*columns)]
    averages = {}
    for name in sidecar.FIELDS:
        total = pdr.field_length(name) or 0
        averages[name] = float(max(1, round(total / count or 1)))

    def lengths_of(name):
        return pdr.field_lengths(name) or b""

    article_ids = None
    if "id" in schema and pdr.has_column("id"):
        column = pdr.column_reader("id", schema["id"].column_type)
        article_ids = array("q", (int(v) if v else 0 for v in column))
    groups = ((key, group) for key, group in pool.sorted_groups()
              if key[0] in sidecar.FIELDS)
    return sidecar.build(groups, writer.get_segment().segment_id(), count, lengths_of,
                         factors, ref, averages, fastrank.MAX_DEPTH, fastrank.K1, fastrank.B,
                         byte_to_length, article_ids)


def _grouped_writable(writer) -> bool:
    pool = writer.pool
    if not isinstance(pool, GroupingPool) or pool.spilled or pool.runs:
        return False
    if type(writer.fieldwriter) is not whoosh3.W3FieldWriter \
            or type(writer.codec) is not whoosh3.W3Codec:
        return False
    # Whoosh's "spelling word" postings (docnum -1) take the generic path.
    return all(group[0][2] >= 0 for group in pool.groups.values())


def _add_postings_grouped(fieldwriter, schema, lengths, groups) -> None:
    """``FieldWriter.add_postings`` for the grouping pool: whole blocks at a time.

    Writes exactly what Whoosh's per-posting loop writes (same blocks, statistics and term
    infos), but fills each block's arrays with C-level ``map`` calls instead of several
    Python calls per posting.
    """
    fieldname = None
    postwriter = None
    for (name, btext), group in groups:
        if name != fieldname:
            if fieldname is not None:
                fieldwriter.finish_field()
            fieldname = name
            fieldwriter.start_field(name, schema[name])
            postwriter = fieldwriter._postwriter
            assert type(postwriter) is whoosh3.W3PostingsWriter and not postwriter._byteids
            lens = (lengths.field_lengths(name) if lengths is not None else b"") or b""
            limit = postwriter._blocklimit
        fieldwriter.start_term(btext)
        total = len(group)
        for start in range(0, total, limit):
            chunk = group[start:start + limit] if total > limit else group
            docs = array("I", map(_DOCNUM, chunk))
            weights_raw = list(map(_WEIGHT, chunk))
            postwriter._ids = docs
            postwriter._weights = array("f", weights_raw)
            postwriter._values = [v for v in map(_VALUE, chunk) if v]
            postwriter._maxweight = max(0, max(weights_raw))
            if lens:
                present = bytes(map(lens.__getitem__, docs)).replace(b"\0", b"")
                if present:
                    postwriter._minlength = byte_to_length(min(present))
                    postwriter._maxlength = byte_to_length(max(present))
                else:
                    postwriter._minlength, postwriter._maxlength = None, 0
            else:
                postwriter._minlength, postwriter._maxlength = None, 0
            if start + limit < total:
                postwriter._write_block()
        fieldwriter.finish_term()
    if fieldname is not None:
        fieldwriter.finish_field()


_DOCNUM, _WEIGHT, _VALUE = itemgetter(2), itemgetter(3), itemgetter(4)

#: Write postings block-wise from the grouping pool (False: Whoosh's per-posting loop).
GROUPED_WRITES = True


def _flush_segment(self):
    self.perdocwriter.close()
    pdr = self.per_document_reader() if self.codec.length_stats else None
    if GROUPED_WRITES and _grouped_writable(self):
        _add_postings_grouped(self.fieldwriter, self.schema, pdr, self.pool.sorted_groups())
    else:
        postings = self.pool.iter_postings()
        self.fieldwriter.add_postings(self.schema, pdr, postings)
    self.fieldwriter.close()
    try:
        if pdr is not None:
            self._kb_sidecar = _build_sidecar(self, pdr)
    finally:
        if pdr:
            pdr.close()


_original_finalize = writing.SegmentWriter._finalize_segment


def _finalize_segment(self):
    segment = _original_finalize(self)
    data = self.__dict__.pop("_kb_sidecar", None)
    folder = getattr(self.storage, "folder", None)
    if data and folder is not None:
        sidecar.write(folder, segment.segment_id(), data)
    return segment


def apply() -> None:
    if getattr(whoosh3.W3PerDocReader, "_kb_patched", False):
        return
    whoosh3.W3PerDocReader.doc_field_length = _doc_field_length
    whoosh3.W3PerDocReader.field_lengths = _field_lengths
    whoosh3.W3PerDocReader._kb_patched = True
    writing.PostingPool = GroupingPool
    writing.SegmentWriter._flush_segment = _flush_segment
    writing.SegmentWriter._finalize_segment = _finalize_segment


apply()
