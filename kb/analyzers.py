"""Text analysis for the knowledge base: English stemming plus Chinese word segmentation.

One analyzer serves every text field, at index time and at query time, so that what a document
is indexed under is exactly what a query looks for:

* The text is cut into runs of CJK ideographs and runs of other word characters.
* CJK runs are segmented with jieba in *search mode* (a word and its dictionary sub-words:
  ``打印机卡纸`` -> ``打印 印机 打印机 卡纸``), so an article about 打印机卡纸 is found by
  ``打印机`` and by ``卡纸``.
* Other words are NFKC-normalised, lower-cased and, if made of letters only, stemmed (Snowball
  English, "Porter2"). Compounds joined by ``-`` or
  ``.`` are indexed as their parts and as the joined form (``Wi-Fi`` -> ``wi fi wifi``,
  ``outlook.exe`` -> ``outlook exe outlook.exe``); a query uses only the joined form, so
  ``wi-fi`` finds "WiFi", "Wi-Fi" and "wifi" alike.
* English and Chinese stop words are dropped.

jieba is initialised lazily, once per process, with its logging silenced. It gets its own
``jieba.Tokenizer`` instance (the process-global one is left alone) with a few domain words so
that terms such as 登机牌 or 行李转盘 stay whole. Changing the word list, the stop words or the
rules above changes what is indexed: bump ``ANALYZER_VERSION`` so existing indexes are reported
as needing a rebuild.
"""

from __future__ import annotations

import gc
import logging
import re
import threading
import unicodedata
from typing import Iterator

from whoosh.analysis import Analyzer, Token
from whoosh.analysis.filters import STOP_WORDS
from whoosh.lang.porter2 import stem as porter2_stem

#: Part of the index format: an index built with another version must be rebuilt.
ANALYZER_VERSION = 2

# CJK Unified Ideographs (+ extension A and compatibility ideographs).
_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
# Either a run of ideographs, or a word made of non-CJK word characters, optionally joined by
# '-', '.', or an apostrophe to further word characters ("wi-fi", "10.0.0.1", "can't").
_TOKEN_RE = re.compile(
    rf"(?P<cjk>[{_CJK}]+)|(?P<word>[^\W{_CJK}]+(?:[-.'\u2019][^\W{_CJK}]+)*)"
)
_JOINERS_RE = re.compile(r"[-.'\u2019]")
_PIECE_RE = re.compile(r"[^-.'\u2019]+")

#: English stop words: Whoosh's list plus contractions and question words that carry no topic.
ENGLISH_STOP_WORDS = frozenset(STOP_WORDS) | frozenset(
    """
    i me my our ours he she they them their its was were been being do does did doing has had
    having how what why where which who whom there here than then so such very just also about
    into onto over under again all any both each few more most other some only own same too
    s t d ll m re ve cant cannot dont doesnt didnt isnt wont wasnt arent couldnt shouldnt im
    please hi hello thanks thank get got
    """.split()
)

#: Chinese function words and question particles.
CHINESE_STOP_WORDS = frozenset(
    """
    的 了 是 在 和 与 或 及 也 都 就 而 吗 呢 吧 啊 呀 么 着 过 把 被 给 对 从 到 为 让 之
    我 你 他 她 它 我们 你们 他们 这 那 这个 那个 一个 怎么 怎样 如何 什么 为什么 请 请问 一下
    """.split()
)

STOP_WORDS_ALL = ENGLISH_STOP_WORDS | CHINESE_STOP_WORDS

#: Domain words added to jieba's dictionary so they are not split into fragments.
DOMAIN_WORDS = (
    "登机牌",
    "卡纸",
    "行李转盘",
    "行李系统",
    "值机柜台",
    "自助值机",
    "离港系统",
    "航显",
    "航显屏",
    "泊位引导",
    "廊桥",
    "雷达显示",
    "加油系统",
    "收银机",
    "配餐系统",
    "蓝屏",
    "无线网络",
    "域账号",
    "工作站",
    "安检通道",
)

_jieba_lock = threading.Lock()
_jieba_tokenizer = None


def jieba_tokenizer():
    """Return the process-wide jieba tokenizer, initialising it (quietly) on first use."""
    global _jieba_tokenizer
    if _jieba_tokenizer is None:
        with _jieba_lock:
            if _jieba_tokenizer is None:
                import jieba

                jieba.setLogLevel(logging.WARNING)
                tokenizer = jieba.Tokenizer()
                # Unmarshalling the dictionary creates ~1M objects; with the cyclic GC on, each
                # collection walks the whole (in a big process, large) heap several times.
                enabled = gc.isenabled()
                gc.disable()
                try:
                    tokenizer.initialize()
                finally:
                    if enabled:
                        gc.enable()
                for word in DOMAIN_WORDS:
                    tokenizer.add_word(word, freq=20000)
                _jieba_tokenizer = tokenizer
    return _jieba_tokenizer


_stem_cache: dict[str, str] = {}

#: jieba's segmentation of recently seen runs of ideographs (a run lies between punctuation:
#: a clause). Segmentation is a pure function of the run once the dictionary is loaded, and
#: articles repeat phrases ("重启设备后恢复"), so it is memoised like stems; bounded.
_cjk_words: dict[str, tuple] = {}
CJK_MEMO_SIZE = 50_000
CJK_MEMO_RUN_CHARS = 40


def stem(word: str) -> str:
    """Stem an ASCII word with Snowball English (Porter2) (memoised; words with digits or
    other scripts are returned unchanged)."""
    stemmed = _stem_cache.get(word)
    if stemmed is None:
        # Only plain letters: codes such as "0x1f3a" or "btp-0042" have nothing to stem (and
        # Porter2 on them is slow).
        stemmed = porter2_stem(word) if word.isascii() and word.isalpha() else word
        if len(_stem_cache) < 200_000:
            _stem_cache[word] = stemmed
    return stemmed


def _normalise(word: str) -> str:
    if not word.isascii():
        word = unicodedata.normalize("NFKC", word)
    return word.lower()


def iter_terms(
    text: str,
    *,
    query: bool = False,
    stem_words: bool = True,
    keep_stops: bool = False,
    cjk: bool = True,
) -> Iterator[tuple[str, int, int]]:
    """Yield ``(term, startchar, endchar)`` for each index term of ``text``.

    ``query=True`` applies the query-side rule for joined compounds (joined form only).
    ``stem_words=False`` keeps the surface form and ``cjk=False`` skips ideographs (both used
    for the spelling vocabulary, which only corrects alphabetic words).
    """
    stops = () if keep_stops else STOP_WORDS_ALL
    stems = _stem_cache
    for match in _TOKEN_RE.finditer(text):
        run, raw = match.groups()
        if run is not None:
            if not cjk:
                continue
            base = match.start()
            words = _cjk_words.get(run)
            if words is None:
                words = tuple(jieba_tokenizer().tokenize(run, mode="search"))
                if len(run) <= CJK_MEMO_RUN_CHARS and len(_cjk_words) < CJK_MEMO_SIZE:
                    _cjk_words[run] = words
            for word, start, end in words:
                if word not in stops:
                    yield word, base + start, base + end
            continue
        if not ("-" in raw or "." in raw or "'" in raw or "\u2019" in raw):
            word = raw.lower() if raw.isascii() else _normalise(raw)
            if word not in stops:
                if stem_words:
                    word = stems.get(word) or stem(word)
                yield word, match.start(), match.end()
            continue
        # A compound: "wi-fi", "10.0.0.1", "outlook.exe", "can't".
        yield from _compound_terms(raw, match.start(), query, stem_words, stops)


def _compound_terms(raw, start, query, stem_words, stops):
    separators = set(_JOINERS_RE.findall(raw))
    dotted = "." in separators
    # Hyphens and apostrophes vanish in the joined form ("wifi", "cant"); dots stay ("10.0.0.1").
    joined = _normalise(_JOINERS_RE.sub(lambda m: "." if m.group() == "." else "", raw))
    if not query and separators - {"'", "\u2019"}:
        for piece in _PIECE_RE.finditer(raw):
            part = _normalise(piece.group())
            # "10.0.0.1" and "v2.3" are looked up whole; their numeric pieces are noise.
            if part not in stops and not (dotted and part.isdigit()):
                yield (stem(part) if stem_words else part), start + piece.start(), start + piece.end()
    if joined not in stops:
        yield (stem(joined) if stem_words and not dotted else joined), start, start + len(raw)


def analyze(text: str, *, query: bool = False) -> list[str]:
    """Return the list of terms ``text`` is indexed (or, with ``query=True``, searched) under."""
    return [term for term, _, _ in iter_terms(text, query=query)]


class MixedAnalyzer(Analyzer):
    """Whoosh analyzer for mixed English/Chinese text (see the module docstring).

    Holds no state besides its options, so it pickles into the index's schema cheaply.
    """

    is_morph = True

    def __init__(self, stem_words: bool = True, cjk: bool = True):
        self.stem_words = stem_words
        self.cjk = cjk

    def has_morph(self):
        return self.stem_words

    def __call__(
        self,
        value,
        positions=False,
        chars=False,
        keeporiginal=False,
        removestops=True,
        start_pos=0,
        start_char=0,
        tokenize=True,
        mode="",
        no_morph=False,
        **kwargs,
    ):
        token = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        if not tokenize:
            token.original = token.text = value
            token.boost = 1.0
            token.pos = start_pos
            token.startchar, token.endchar = start_char, start_char + len(value)
            yield token
            return
        terms = iter_terms(
            value,
            query=(mode == "query"),
            stem_words=self.stem_words and not no_morph,
            keep_stops=not removestops,
            cjk=self.cjk,
        )
        for pos, (text, start, end) in enumerate(terms, start_pos):
            token.text = text
            token.boost = 1.0
            token.stopped = False
            if keeporiginal:
                token.original = text
            if positions:
                token.pos = pos
            if chars:
                token.startchar = start_char + start
                token.endchar = start_char + end
            yield token
