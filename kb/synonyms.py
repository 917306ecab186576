"""Query-time synonyms: each group lists words that mean the same thing to the service desk.

A query term found in a group also matches the other members, at ``SYNONYM_BOOST`` of its
weight, so an article using the query's own word still ranks first. Groups may mix English and
Chinese. Members are analyzed like query text (so "Wi-Fi", "wifi" and "WiFi" are one member);
a member that analyzes to more than one term (e.g. "boarding pass") is ignored, because Whoosh
expands terms, not phrases. Synonyms apply at query time only: editing this list needs no
rebuild.
"""

from __future__ import annotations

from functools import lru_cache

SYNONYM_BOOST = 0.7

SYNONYM_GROUPS: tuple[tuple[str, ...], ...] = (
    ("pc", "computer", "workstation", "电脑", "计算机", "工作站"),
    ("wifi", "wireless", "wlan", "无线", "无线网络"),
    ("login", "logon", "signin", "登录", "登陆"),
    ("password", "passcode", "pwd", "密码", "口令"),
    ("email", "mail", "mailbox", "邮件", "邮箱"),
    ("printer", "打印机"),
    ("baggage", "luggage", "行李"),
    ("screen", "display", "monitor", "屏幕", "显示屏"),
    ("network", "lan", "网络"),
    ("freeze", "frozen", "hang", "死机"),
    ("reset", "重置"),
    ("account", "账号", "帐号", "账户"),
    ("pos", "till", "收银机"),
    ("radar", "雷达"),
    ("fuel", "燃油"),
    ("catering", "配餐"),
    ("slow", "sluggish", "缓慢", "卡顿"),
)


@lru_cache(maxsize=1)
def synonym_map() -> dict[str, tuple[str, ...]]:
    """Map each analyzed member term to the analyzed terms of the other members of its group."""
    from kb.analyzers import analyze

    def term_of(word: str) -> str | None:
        terms = analyze(word, query=True)
        if len(terms) == 1:
            return terms[0]
        # A CJK word comes back with its sub-words first and itself last: keep the whole word.
        if terms and all(t in terms[-1] for t in terms) and terms[-1] == word:
            return terms[-1]
        return None

    mapping: dict[str, list[str]] = {}
    for group in SYNONYM_GROUPS:
        terms = []
        for word in group:
            term = term_of(word)
            if term is not None and term not in terms:
                terms.append(term)
        for term in terms:
            others = mapping.setdefault(term, [])
            others.extend(t for t in terms if t != term and t not in others)
    return {term: tuple(others) for term, others in mapping.items()}
