"""Knowledge figures: resolutions with articles, portal deflections, search gaps, must-read."""
from __future__ import annotations

from servicedesk.knowledge import services as kb
from servicedesk.knowledge.models import Audience
from servicedesk.reports import queries as q
from tests.reports.conftest import PERIOD, at


def test_knowledge_figures(db, make, clock):
    team = make.group(tier=1)
    readers = [make.agent(groups=[team]) for _ in range(3)]
    clock.set(at(2, 20, 9))
    a = make.article(publish=True, title="Belt restart", is_must_read=True,
                     must_read_group_ids=[team.id], audience=Audience.public)
    b = make.article(publish=True, title="Printer roll")
    t1, t2, t3, t4, t5 = (make.ticket() for _ in range(5))
    # resolutions with an article: a x2 and b x1 in the period; one link without resolving;
    # one resolution the week before (not counted)
    kb.import_use(db, t1, a, user_id=readers[0].id, at=at(3, 2, 10), resolved=True)
    kb.import_use(db, t2, a, user_id=readers[0].id, at=at(3, 6, 23, 59), resolved=True)
    kb.import_use(db, t3, b, user_id=readers[0].id, at=at(3, 3, 10), resolved=True)
    kb.import_use(db, t4, b, user_id=readers[0].id, at=at(3, 3, 11), resolved=False)
    kb.import_use(db, t5, b, user_id=readers[0].id, at=at(2, 27, 11), resolved=True)
    # portal: 5 searches in the period (one answered), 3 found nothing; one the week before
    requester = make.requester()
    for query, results, when in (("WiFi", 0, at(3, 2, 9)), ("wifi", 0, at(3, 4, 9)),
                                 ("lounge", 0, at(3, 4, 10)), ("printer", 3, at(3, 5, 9)),
                                 ("wifi", 0, at(2, 26, 9))):
        kb.log_portal_search(db, requester=requester, query=query,
                                      results_count=results, now=when)
    belt = kb.log_portal_search(db, requester=requester, query="belt", results_count=2,
                                now=at(3, 5, 10))
    kb.mark_deflected(db, belt, a, requester=requester, now=at(3, 5, 10, 5))
    # must-read: 2 of the 3 group members acknowledged the current revision
    for reader in readers[:2]:
        kb.acknowledge(db, a, actor=reader, now=at(3, 3, 9))

    k = q.knowledge(db, PERIOD)
    assert (k["resolutions"], k["articles"]) == (3, 2)
    assert [(r["article_id"], r["resolutions"]) for r in k["top"]] == [(a.id, 2), (b.id, 1)]
    assert (k["searches"], k["deflected"], k["deflection_rate"]) == (5, 1, 20.0)
    assert k["gaps"] == [{"query": "wifi", "searches": 2}, {"query": "lounge", "searches": 1}]
    assert k["must_read"] == [{"article_id": a.id, "title": "Belt restart", "targets": 3,
                               "acknowledged": 2, "percent": 66.7}]
